"""The warm worker: imports torch and builds the dataset once, then forks one child per run.

Protocol with the parent (grader/sandbox.py): one JSON request per line on stdin; per request,
one JSON header line on stdout followed by `frame_size` raw bytes (the child's safetensors frame).
The worker never computes autograd's gradients, so no child can inherit them.
"""
from __future__ import annotations

import gc
import io
import json
import os
import selectors
import signal
import sys
import tempfile
import time

import torch

from . import data, limits as limits_mod, model, progress

CHUNK = 65536
DRAIN_SECONDS = 2.0  # after the run is killed, what its pipes still hold


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


def _gate(fd: int):
    """In the child: a callable that waits until the worker has put it in the run's cgroups.

    Called right before the student's code (grader/child.py, training.py): the worker's slow
    cgroup attach (~10 ms in the kernel) overlaps the child's own preparation.
    """
    def wait() -> None:
        if os.read(fd, 1) != b"\x01":
            raise RuntimeError("the worker could not put the run in its cgroups")
        os.close(fd)
    return wait


def _child(request: dict, ds, out_w: int, res_w: int, prog_w: int, gate_r: int, workdir: str, conf) -> None:
    """In the forked child: isolate, limit, grade, send the frame, exit. Never returns.

    The first byte on the result pipe says the child is confined and about to run the student's
    code: without it, the grader failed to start the run (an exception), not the student.
    """
    from . import isolation

    code, me = 0, os.getpid()
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        # unbuffered, so what was printed before a crash or os._exit is still shown
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True, encoding="utf-8", errors="replace")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True, encoding="utf-8", errors="replace")
        keep = sorted({0, 1, 2, res_w, prog_w, gate_r})
        for lo, hi in zip(keep, keep[1:] + [limits_mod.MAXFD]):
            os.closerange(lo + 1, hi)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(limits_mod.child_environment(workdir))
        tempfile.tempdir = workdir
        progress.attach(prog_w)
        limits_mod.apply(request["limits"], own_uid=conf.privileged)
        isolation.enter(conf, request["limits"]["file_mb"])
        if request["exercise"] == 4:
            from .training import train_in_child as run
        else:
            from .child import grade_in_child as run
        os.write(res_w, b"\x01")
        frame = run(request, ds, ready=_gate(gate_r))
        if os.getpid() != me:  # a process the student's code forked: only the child itself answers
            os._exit(0)
        sys.stdout.flush()
        sys.stderr.flush()
        view = memoryview(frame)
        while view:
            view = view[os.write(res_w, view):]
    except BaseException as exc:  # noqa: BLE001 - report, then exit without a frame
        if os.getpid() != me:
            os._exit(0)
        code = limits_mod.EXIT_NO_MEMORY if limits_mod.is_memory_error(exc) else limits_mod.EXIT_FAILED
        try:
            import traceback

            os.write(2, ("\n[grader] the run failed: " + traceback.format_exc(limit=3)).encode())
        except BaseException:  # noqa: BLE001 - out of memory even for the message
            pass
    finally:
        os._exit(code)


def run_one(request: dict, ds, emit, stop_fd: int) -> tuple[dict, bytes]:
    """Fork a child for one request, enforce its wall time, collect output and frame.

    Progress lines from the child are passed to `emit`; a line on `stop_fd` asks the child to stop.
    When the child exits, times out or overflows, every process of the run is killed (grader/isolation.py),
    then the pipes are drained. Raises IsolationError when the child could not even be confined.
    """
    from . import child, guards, isolation, training, wire  # noqa: F401 - imported once here, so no child imports them

    lim = request["limits"]
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    prog_r, prog_w = os.pipe()
    gate_r, gate_w = os.pipe()
    workdir = tempfile.mkdtemp(prefix="bpn-run-")
    limits_mod.prepare_workdir(workdir)
    isolation.become_subreaper()
    conf = isolation.prepare(workdir, lim, tag=f"{os.getpid()}-{time.monotonic_ns()}")
    guards.prepare()  # where torch exposes autograd: found once here, not in every child
    if request["exercise"] != 4:
        child.forward_values(ds, model.Variant(**request["variant"]))  # the given forward pass, once per variant
    gc.freeze()  # the worker's objects leave the collector's lists: fewer pages copied in the child
    sys.stdout.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        for fd in (out_r, res_r, prog_r, gate_w):
            os.close(fd)
        _child(request, ds, out_w, res_w, prog_w, gate_r, workdir, conf)
    conf.for_pid(pid)
    for fd in (out_w, res_w, prog_w, gate_r):
        os.close(fd)
    isolation.join(conf, pid)  # before the gate opens: the student's code starts inside the run's cgroups
    try:
        os.write(gate_w, b"\x01")
    except OSError:
        pass  # the child is already gone
    os.close(gate_w)
    output, frame, prog = bytearray(), bytearray(), bytearray()
    output_overflow = frame_overflow = timed_out = stop_sent = exited = False
    sel = selectors.DefaultSelector()
    for fd in (out_r, res_r, prog_r):
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    sel.register(stop_fd, selectors.EVENT_READ)
    try:
        exit_fd = os.pidfd_open(pid)  # readable once the child has exited
        sel.register(exit_fd, selectors.EVENT_READ)
    except OSError:
        exit_fd = None  # an old kernel: poll for the exit instead
    deadline = start + float(lim["seconds"])
    pipes = {out_r, res_r, prog_r}
    ended = killed_at = None
    while pipes & set(sel.get_map()) or not (exited or killed_at is not None):  # closed pipes alone do not end a run
        now = time.monotonic()
        if exit_fd is None and not exited:
            exited = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        if killed_at is None and (exited or frame_overflow or now >= deadline):
            timed_out = not exited and not frame_overflow
            ended = ended or now
            isolation.kill_all(conf, pid)  # the rest of the run: nothing outlives it
            killed_at = now
        if killed_at is not None and now - killed_at > DRAIN_SECONDS:
            break
        wait = deadline - now if killed_at is None else killed_at + DRAIN_SECONDS - now
        for key, _ in sel.select(timeout=max(0.0, min(wait, 0.5 if exit_fd is not None else 0.05))):
            if key.fd == exit_fd:
                sel.unregister(exit_fd)
                exited, ended = True, ended or time.monotonic()
                continue
            if key.fd == stop_fd:
                sel.unregister(stop_fd)  # a stop line, or the parent is gone: either way, stop
                os.read(stop_fd, CHUNK)
                if not stop_sent and killed_at is None:
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
                eof, over = _read_available(key.fd, output if is_out else frame, lim["output_bytes"] if is_out else lim["frame_bytes"] + 1)
                output_overflow |= over and is_out
                frame_overflow |= over and not is_out
            if eof:
                sel.unregister(key.fd)
    seconds = (ended or time.monotonic()) - start
    if killed_at is None:
        isolation.kill_all(conf, pid)
    _, status = os.waitpid(pid, 0)
    _reap_orphans()
    usage = isolation.usage(conf)
    isolation.cleanup(conf)
    limits_mod.cleanup_workdir(workdir)
    for fd in (out_r, res_r, prog_r) + ((exit_fd,) if exit_fd is not None else ()):
        os.close(fd)
    exit_code = os.waitstatus_to_exitcode(status)
    ready = frame[:1] == b"\x01"
    del frame[:1]
    if not ready and not timed_out and not stop_sent:
        raise isolation.IsolationError(f"the run could not start (exit code {exit_code}): {output[-800:].decode('utf-8', 'replace')}")
    header = {
        "id": request.get("id"), "seconds": round(seconds, 4), "timed_out": timed_out, "stopped_by_user": stop_sent,
        "exit_code": exit_code, "output": output.decode("utf-8", "replace"),
        "output_truncated": output_overflow, "frame_too_large": frame_overflow,
        "frame_size": 0 if (frame_overflow or timed_out) else len(frame),
    }
    error = None
    if header["frame_size"]:
        try:
            error = wire.decode(bytes(frame), lim["frame_bytes"])[1].get("error")
        except wire.FrameError:
            pass
    header.update(limits_mod.fired(exit_code, error if isinstance(error, dict) else None, usage))
    return header, (b"" if header["frame_size"] == 0 else bytes(frame))


def _reap_orphans() -> None:
    """Collect what is left of the run's processes re-parented to the worker (all dead by now)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


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
