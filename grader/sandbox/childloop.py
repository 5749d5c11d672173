"""In a forked child: confine it, then run each request the worker sends, one after another.

The worker side of the same child is grader/sandbox/sessions.py's Child; what one run of exercises 1-3
does is grader/sandbox/child.py's Session; exercise 4's is a task (grader/sandbox/tasks.py).
"""
from __future__ import annotations

import io
import json
import os
import sys
import tempfile

from grader.sandbox import limits as limits_mod, progress, syscalls, tasks, wire


def _gate(fd: int):
    """In the child: a callable that waits until the worker has put it in the run's cgroups.

    Called right before the student's code (grader/sandbox/child.py, a task): the worker's slow
    cgroup attach (~10 ms in the kernel) overlaps the child's own preparation.
    """
    def wait() -> None:
        if os.read(fd, 1) != b"\x01":
            raise RuntimeError("the worker could not put the run in its cgroups")
        os.close(fd)
    return wait


def serve(ds, pipes: dict, workdir: str, conf, lim: dict, training: bool) -> None:
    """In the forked child: isolate, limit, then run each request the worker sends, in turn. Never returns.

    The first byte on the result pipe says the child is confined and about to run the student's
    code: without it, the grader failed to start the run (an exception), not the student. Each
    run's answer follows as one record (grader/sandbox/wire.py's `record`); the child stops after a run
    that left it unfit for another (grader/sandbox/child.py's Session says when), or when the worker
    closes the request pipe.
    """
    from grader.sandbox import isolation

    code, me = 0, os.getpid()
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(pipes["out"], 1)
        os.dup2(pipes["out"], 2)
        # unbuffered, so what was printed before a crash or os._exit is still shown
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True, encoding="utf-8", errors="replace")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True, encoding="utf-8", errors="replace")
        res_w, req_r = pipes["res"], pipes["req"]
        keep = sorted({0, 1, 2, res_w, req_r, pipes["prog"], pipes["gate"]})
        for lo, hi in zip(keep, keep[1:] + [limits_mod.MAXFD]):
            os.closerange(lo + 1, hi)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(limits_mod.child_environment(workdir))
        tempfile.tempdir = workdir
        progress.attach(pipes["prog"])
        limits_mod.apply(lim, own_uid=conf.privileged)
        isolation.enter(conf, lim["file_mb"])
        syscalls.confine()  # from here on: no thread, no execve (grader/sandbox/syscalls.py)
        os.write(res_w, b"\x01")
        ready, session, first = _gate(pipes["gate"]), None, True
        if not training:  # ready for exercises 1-3 before the first request comes (a spare child waits here)
            from grader.sandbox.child import Session

            session = Session(workdir, own_uid=conf.privileged, n_words=len(ds.words))
        for request in _requests(req_r):
            if not first:
                limits_mod.next_run(lim)
            first = False
            if training:
                frame, again = tasks.run(request, ds, ready=ready), False
            else:
                frame, again = session.run(request, ds, ready=ready)
            ready = None
            if os.getpid() != me:  # a process the student's code forked: only the child itself answers
                os._exit(0)
            sys.stdout.flush()
            sys.stderr.flush()
            view = memoryview(wire.record(frame, again) if frame is not None else wire.oversized_record(request["limits"]["frame_bytes"]))
            while view:
                view = view[os.write(res_w, view):]
            if not again:
                break
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


def _requests(fd: int):
    """In the child: the requests the worker sends (8-byte length, then JSON), until it closes the pipe."""
    while True:
        head = _read_exactly(fd, 8)
        if len(head) < 8:
            return
        body = _read_exactly(fd, int.from_bytes(head, "little"))
        yield json.loads(body)


def _read_exactly(fd: int, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = os.read(fd, size - len(buf))
        if not chunk:
            break
        buf.extend(chunk)
    return bytes(buf)
