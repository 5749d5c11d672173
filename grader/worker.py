"""The warm worker: imports torch and builds the dataset once, then forks one child per run.

Protocol with the parent (grader/sandbox.py): one JSON request per line on stdin; per request,
one JSON header line on stdout followed by `frame_size` raw bytes (the child's safetensors frame).
The worker never computes autograd's gradients, so no child can inherit them.
"""
from __future__ import annotations

import io
import json
import os
import selectors
import signal
import sys
import tempfile
import time

import torch

from . import data, limits as limits_mod, progress

CHUNK = 65536


def _read_available(fd: int, buf: bytearray, cap: int) -> tuple[bool, bool]:
    """Read what the pipe holds; keep at most `cap` bytes. Returns (eof, overflowed)."""
    try:
        chunk = os.read(fd, CHUNK)
    except BlockingIOError:
        return False, False
    if not chunk:
        return True, False
    room = cap - len(buf)
    if room > 0:
        buf.extend(chunk[:room])
    return False, len(chunk) > room


def _child(request: dict, ds, out_w: int, res_w: int, prog_w: int, workdir: str) -> None:
    """In the forked child: isolate, limit, grade, send the frame, exit. Never returns."""
    code = 0
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        # unbuffered, so what was printed before a crash or os._exit is still shown
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True, encoding="utf-8", errors="replace")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True, encoding="utf-8", errors="replace")
        keep = sorted({0, 1, 2, res_w, prog_w})
        for lo, hi in zip(keep, keep[1:] + [limits_mod.MAXFD]):
            os.closerange(lo + 1, hi)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(limits_mod.child_environment(workdir))
        tempfile.tempdir = workdir
        progress.attach(prog_w)
        limits_mod.apply(request["limits"])
        if request["exercise"] == 4:
            from .training import train_in_child as run
        else:
            from .child import grade_in_child as run
        frame = run(request, ds)
        sys.stdout.flush()
        sys.stderr.flush()
        view = memoryview(frame)
        while view:
            view = view[os.write(res_w, view):]
    except BaseException:  # noqa: BLE001 - report, then exit without a frame
        import traceback

        try:
            os.write(2, ("\n[grader] the run failed: " + traceback.format_exc(limit=3)).encode())
        except OSError:
            pass
        code = 70
    finally:
        os._exit(code)


def run_one(request: dict, ds, emit, stop_fd: int) -> tuple[dict, bytes]:
    """Fork a child for one request, enforce its wall time, collect output and frame.

    Progress lines from the child are passed to `emit`; a line on `stop_fd` asks the child to stop.
    """
    lim = request["limits"]
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    prog_r, prog_w = os.pipe()
    workdir = tempfile.mkdtemp(prefix="bpn-run-")
    limits_mod.prepare_workdir(workdir)
    sys.stdout.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        for fd in (out_r, res_r, prog_r):
            os.close(fd)
        _child(request, ds, out_w, res_w, prog_w, workdir)
    for fd in (out_w, res_w, prog_w):
        os.close(fd)
    output, frame, prog = bytearray(), bytearray(), bytearray()
    output_overflow = frame_overflow = timed_out = stop_sent = False
    sel = selectors.DefaultSelector()
    for fd in (out_r, res_r, prog_r):
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    sel.register(stop_fd, selectors.EVENT_READ)
    deadline = start + float(lim["seconds"])
    pipes = {out_r, res_r, prog_r}
    while pipes & set(sel.get_map()):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        for key, _ in sel.select(timeout=min(remaining, 0.5)):
            if key.fd == stop_fd:
                sel.unregister(stop_fd)  # a stop line, or the parent is gone: either way, stop
                os.read(stop_fd, CHUNK)
                if not stop_sent:
                    stop_sent = True
                    _signal_child(pid)
                continue
            if key.fd == prog_r:
                eof, _ = _read_available(prog_r, prog, 1 << 20)
                *lines, rest = prog.split(b"\n")
                prog[:] = rest
                for line in lines[-1:]:  # only the newest record matters
                    emit(line)
            else:
                is_out = key.fd == out_r
                eof, over = _read_available(key.fd, output if is_out else frame, lim["output_bytes"] if is_out else lim["frame_bytes"])
                output_overflow |= over and is_out
                frame_overflow |= over and not is_out
            if eof:
                sel.unregister(key.fd)
        if frame_overflow:
            break
    seconds = time.monotonic() - start
    limits_mod.kill_group(pid)
    _, status = os.waitpid(pid, 0)
    limits_mod.cleanup_workdir(workdir)
    for fd in (out_r, res_r, prog_r):
        os.close(fd)
    header = {
        "id": request.get("id"), "seconds": round(seconds, 4), "timed_out": timed_out, "stopped_by_user": stop_sent,
        "exit_code": os.waitstatus_to_exitcode(status), "output": output.decode("utf-8", "replace"),
        "output_truncated": output_overflow, "frame_too_large": frame_overflow,
        "frame_size": 0 if (frame_overflow or timed_out) else len(frame),
    }
    return header, (b"" if header["frame_size"] == 0 else bytes(frame))


def _signal_child(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        pass


def _requests(fd: int):
    """Yield JSON requests read from `fd` line by line (unbuffered, so select() on it stays truthful)."""
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                return
            buf += chunk
        line, _, buf = buf.partition(b"\n")
        if line.strip():
            request = json.loads(line)
            if not request.get("stop"):  # a stop that arrives between runs has nothing to stop
                yield request


def main() -> None:
    """Serve requests until stdin closes."""
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints never corrupt the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    torch.set_num_threads(1)  # safe to fork, and bit-identical to the parent's forward pass
    datasets: dict = {}
    def emit(line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        if isinstance(record, dict):
            proto_out.write(json.dumps({"progress": record}).encode() + b"\n")
            proto_out.flush()

    for request in _requests(0):
        try:
            names = request["names"]
            if names not in datasets:
                datasets[names] = data.load(names)
            if request.get("warmup"):
                header, frame = {"id": request.get("id"), "ready": True, "frame_size": 0}, b""
            else:
                header, frame = run_one(request, datasets[names], emit, 0)
        except Exception as exc:  # a grader failure: the parent raises it
            header, frame = {"id": request.get("id"), "grader_error": f"{type(exc).__name__}: {exc}", "frame_size": 0}, b""
        proto_out.write(json.dumps(header).encode() + b"\n" + frame)
        proto_out.flush()


if __name__ == "__main__":
    main()
