"""The warm worker: imports torch and builds the dataset once, then forks confined children.

Protocol with the parent (grader/sandbox/runner.py): one JSON request per line on stdin; per request,
one JSON header line on stdout followed by `frame_size` raw bytes (the child's safetensors frame).
A request may name a session (one submission): its runs go to the same child, one after another,
until `{"end_session": true}` (no answer) or a request of another session (grader/sandbox/sessions.py).
Without a session, a run has a child of its own. The worker never computes autograd's gradients,
so no child can inherit them.
"""
from __future__ import annotations

import json
import os
import signal
import sys

import torch

from grader import data
from grader.sandbox import kernels, syscalls, tasks
from grader.sandbox.sessions import CHUNK, Sessions


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


def main(datasets: dict | None = None, task_modules=()) -> None:
    """Serve requests until stdin closes.

    `datasets` (names.txt -> Dataset): already built by the process this one forked from;
    `task_modules`: modules that register what a child can run besides exercises 1-3 (grader/sandbox/tasks.py).
    """
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints never corrupt the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    torch.set_num_threads(1)  # safe to fork, and bit-identical to the parent's forward pass
    kernels.seal()  # autograd's backward kernels and engine refuse, in every thread of every child (never undone)
    syscalls.program()  # the children's seccomp filter (no thread, no execve), compiled once
    datasets = dict(datasets or {})
    tasks.load(task_modules)  # before any child is forked, so no child imports them
    sessions: dict = {}  # names.txt -> Sessions

    def emit(line: bytes) -> None:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # a deeply nested progress line is just dropped
            return
        if isinstance(record, dict):
            proto_out.write(json.dumps({"progress": record}).encode() + b"\n")
            proto_out.flush()

    for request in _requests(0):
        if request.get("end_session"):  # no answer: the parent goes on
            try:
                for one in sessions.values():
                    one.end(fork_spare=True)
            except Exception as exc:  # noqa: BLE001 - told on the next request's answer, if it fails too
                print(f"[grader] ending a session failed: {exc}", file=sys.stderr, flush=True)
                sessions = {}
            continue
        try:
            names = request["names"]
            if names not in datasets:
                datasets[names] = data.load(names)
            if request.get("warmup"):
                header, frame = {"id": request.get("id"), "ready": True, "frame_size": 0}, b""
            else:
                if names not in sessions:
                    for other in sessions.values():
                        other.close()
                    sessions = {names: Sessions(datasets[names])}
                header, frame = sessions[names].run(request, emit, 0)
        except Exception as exc:  # a grader failure: the parent raises it
            for one in sessions.values():
                try:
                    one.close()
                except Exception:  # noqa: BLE001 - the children's pdeathsig still ends them
                    pass
            sessions = {}
            header, frame = {"id": request.get("id"), "grader_error": f"{type(exc).__name__}: {exc}", "frame_size": 0}, b""
        proto_out.write(json.dumps(header).encode() + b"\n" + frame)
        proto_out.flush()
    for one in sessions.values():  # stdin closed: the parent is done
        one.close()


if __name__ == "__main__":
    main(task_modules=sys.argv[1:])
