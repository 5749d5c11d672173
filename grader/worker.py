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

from . import data, limits as limits_mod

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


def _child(request: dict, ds, out_w: int, res_w: int, workdir: str) -> None:
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
        keep = sorted({0, 1, 2, res_w})
        for lo, hi in zip(keep, keep[1:] + [limits_mod.MAXFD]):
            os.closerange(lo + 1, hi)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(limits_mod.child_environment(workdir))
        tempfile.tempdir = workdir
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


def run_one(request: dict, ds) -> tuple[dict, bytes]:
    """Fork a child for one request, enforce its wall time, collect output and frame."""
    lim = request["limits"]
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    workdir = tempfile.mkdtemp(prefix="bpn-run-")
    limits_mod.prepare_workdir(workdir)
    sys.stdout.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(res_r)
        _child(request, ds, out_w, res_w, workdir)
    os.close(out_w)
    os.close(res_w)
    output, frame = bytearray(), bytearray()
    output_overflow = frame_overflow = timed_out = False
    sel = selectors.DefaultSelector()
    for fd in (out_r, res_r):
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    deadline = start + float(lim["seconds"])
    while sel.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        for key, _ in sel.select(timeout=min(remaining, 0.5)):
            is_out = key.fd == out_r
            eof, over = _read_available(key.fd, output if is_out else frame, lim["output_bytes"] if is_out else lim["frame_bytes"])
            if is_out:
                output_overflow |= over
            else:
                frame_overflow |= over
            if eof:
                sel.unregister(key.fd)
        if frame_overflow:
            break
    seconds = time.monotonic() - start
    limits_mod.kill_group(pid)
    _, status = os.waitpid(pid, 0)
    limits_mod.cleanup_workdir(workdir)
    for fd in (out_r, res_r):
        os.close(fd)
    header = {
        "id": request.get("id"), "seconds": round(seconds, 4), "timed_out": timed_out,
        "exit_code": os.waitstatus_to_exitcode(status), "output": output.decode("utf-8", "replace"),
        "output_truncated": output_overflow, "frame_too_large": frame_overflow,
        "frame_size": 0 if (frame_overflow or timed_out) else len(frame),
    }
    return header, (b"" if header["frame_size"] == 0 else bytes(frame))


def main() -> None:
    """Serve requests until stdin closes."""
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints never corrupt the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    torch.set_num_threads(1)  # safe to fork, and bit-identical to the parent's forward pass
    datasets: dict = {}
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            names = request["names"]
            if names not in datasets:
                datasets[names] = data.load(names)
            if request.get("warmup"):
                header, frame = {"id": request.get("id"), "ready": True, "frame_size": 0}, b""
            else:
                header, frame = run_one(request, datasets[names])
        except Exception as exc:  # a grader failure: the parent raises it
            header, frame = {"id": request.get("id"), "grader_error": f"{type(exc).__name__}: {exc}", "frame_size": 0}, b""
        proto_out.write(json.dumps(header).encode() + b"\n" + frame)
        proto_out.flush()


if __name__ == "__main__":
    main()
