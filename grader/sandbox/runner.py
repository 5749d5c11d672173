"""The parent's side of running student code: a warm worker process, one forked child per run.

The parent never runs a student's code and never unpickles what a child sends: a run returns
the child's safetensors frame parsed into plain tensors, its printed output, and how it ended.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.sandbox.limits import MAXFD, Limits

if TYPE_CHECKING:  # importing torch here would delay starting the worker (grader/course/work.py starts it first)
    from grader.model import Variant

GRACE_SECONDS = 60.0  # on top of a run's own limit, before the worker itself is presumed stuck
WARMUP_SECONDS = 300.0  # importing torch and building the dataset, on a slow machine


class GraderError(Exception):
    """The grader itself failed (not the student's code)."""


@dataclass
class Outcome:
    """How one run of a student's code ended, and what it sent back."""

    tensors: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    output: str = ""
    output_truncated: bool = False
    seconds: float = 0.0
    stopped: str = ""  # why the run did not finish normally, said for a student; "" when it did

    @property
    def error(self) -> dict | None:
        """The exception in the student's code, as the child described it."""
        err = self.meta.get("error")
        return err if isinstance(err, dict) else None


def _stopped(header: dict, lim: Limits) -> str:
    """Name the limit or the way the child ended (grader/sandbox/limits.py words it)."""
    from grader.sandbox.limits import describe

    return describe(header, lim)


class ForkedWorker:
    """grader/sandbox/worker.py's main() in a fork of this process, with the part of Popen's interface Sandbox uses."""

    def __init__(self, env: dict, cwd: str, stderr, datasets: dict, task_modules=()):
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        log = stderr.fileno()
        pid = os.fork()
        if pid == 0:  # the worker: the pipes as stdin/stdout, the log as stderr, nothing else of ours
            try:
                os.dup2(in_r, 0)
                os.dup2(out_w, 1)
                os.dup2(log, 2)
                os.closerange(3, MAXFD)
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                sys.stdin = None  # worker.main() reads descriptor 0 itself
                sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)
                from grader.sandbox import worker

                worker.main(datasets, task_modules)
            finally:
                os._exit(0)
        os.close(in_r)
        os.close(out_w)
        self.pid, self.returncode = pid, None
        self.stdin, self.stdout = os.fdopen(in_w, "wb"), os.fdopen(out_r, "rb")

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode


class Sandbox:
    """A warm worker that runs student code in isolated children. Use as a context manager."""

    def __init__(self, names: str | os.PathLike, tasks: tuple = ()):
        """`tasks`: modules the worker imports that register what a child can run besides exercises 1-3."""
        self.names = str(Path(names).resolve())
        self.tasks = tuple(tasks)
        self._proc: subprocess.Popen | ForkedWorker | None = None
        self._home = tempfile.mkdtemp(prefix="bpn-worker-")
        self._stderr = open(Path(self._home) / "worker.log", "w+b")
        self._requests = 0
        self._buf = bytearray()
        self._warming = False

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _environment(self) -> dict:
        package_root = str(Path(__file__).resolve().parents[2])  # the folder holding grader/
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": package_root, "HOME": self._home,
                "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}

    def _start(self) -> None:
        self._proc = subprocess.Popen([sys.executable, "-m", "grader.sandbox.worker", *self.tasks], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr, cwd=self._home,
                                      env=self._environment())
        self._buf = bytearray()
        self._send({"warmup": True, "names": self.names})  # import torch and build the dataset now
        self._warming = True

    def start(self) -> None:
        """Start the worker now; it imports torch and builds its dataset while the caller goes on."""
        if self._proc is None or self._proc.poll() is not None:
            self._start()

    def start_forked(self, dataset) -> None:
        """Start the worker as a fork of this process, which has imported torch and built `dataset` already.

        Saves the worker its own import of torch (~0.8 s of a core). Only for a process that holds
        nothing a student's code may see, above all no autograd gradient: a batch job process calls
        it first thing (grader/course/work.py). A worker that dies is replaced by start(), never by a fork.
        """
        if self._proc is not None and self._proc.poll() is None:
            return
        self._proc = ForkedWorker(self._environment(), self._home, self._stderr, {self.names: dataset}, self.tasks)
        self._buf = bytearray()

    def warm(self) -> None:
        """Start the worker and wait until it is ready."""
        self._call({"warmup": True, "names": self.names}, timeout=300.0)

    def run(self, exercise: int, code: str, variant: Variant, limits: Limits, options: dict | None = None,
            on_progress=None, session: str | None = None) -> Outcome:
        """Run one exercise's code on one variant; student failures are data in the Outcome.

        `on_progress(record)` receives the child's progress records; Ctrl-C during the run asks the
        child to stop early and still returns what it measured (a second Ctrl-C raises).
        `session`: runs of one submission that name the same session may share a child (never its
        namespace); end it with end_session(). Without one, the run has a child of its own.
        """
        request = {"exercise": exercise, "code": code, "variant": variant.to_dict(), "limits": limits.to_dict(),
                   "names": self.names, "options": options or {}, "session": session}
        running = {}

        def progress(record: dict) -> None:
            if isinstance(record.get("running_line"), int):  # asked at the time limit (grader/sandbox/progress.py)
                running["line"] = record["running_line"]
            elif on_progress is not None:
                on_progress(record)

        header, frame = self._call(request, timeout=limits.seconds + GRACE_SECONDS, on_progress=progress)
        out = Outcome(output=header.get("output", ""), output_truncated=bool(header.get("output_truncated")),
                      seconds=float(header.get("seconds", 0.0)), stopped=_stopped(header, limits))
        if frame:
            from grader.sandbox import wire

            try:
                out.tensors, meta = wire.decode(frame, limits.frame_bytes)
                out.meta.update(meta)
            except wire.FrameError as exc:
                out.stopped = out.stopped or f"its answer could not be read: {exc}"
        # the worker's word, never the child's: only the grader knows whether it asked the run to stop, or timed it out
        out.meta["stopped_by_user"] = bool(header.get("stopped_by_user"))
        out.meta["timed_out"] = bool(header.get("timed_out"))
        out.meta.pop("running_line", None)
        if out.meta["timed_out"] and "line" in running:
            out.meta["running_line"] = running["line"]
        return out

    def end_session(self) -> None:
        """Kill the child a session's runs shared (the worker answers nothing)."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._send({"end_session": True})
            except OSError:
                self._kill()

    def _send(self, message: dict) -> None:
        self._proc.stdin.write(json.dumps(message).encode() + b"\n")
        self._proc.stdin.flush()

    def _call(self, request: dict, timeout: float, on_progress=None) -> tuple[dict, bytes]:
        self.start()
        self._requests += 1
        request["id"] = self._requests
        interrupted = False
        try:
            if self._warming:  # the warm-up answer comes first
                self._warming = False
                json.loads(self._read_until(lambda b: b"\n" in b, WARMUP_SECONDS, take_line=True))
            self._send(request)
            while True:
                try:
                    header = json.loads(self._read_until(lambda b: b"\n" in b, timeout, take_line=True))
                except KeyboardInterrupt:
                    if interrupted:
                        raise
                    interrupted = True
                    self._send({"stop": True})
                    continue
                if "progress" not in header:
                    break
                if on_progress is not None:
                    on_progress(header["progress"])
            size = int(header.get("frame_size", 0))
            frame = self._read_until(lambda b: len(b) >= size, timeout, take=size)
        except (OSError, ValueError, GraderError) as exc:
            self._kill()
            raise GraderError(f"the grading worker failed ({exc}); its log: {self._log_tail()}") from None
        except KeyboardInterrupt:
            self._kill()
            raise
        if "grader_error" in header:
            raise GraderError(header["grader_error"])
        return header, frame

    def _read_until(self, done, timeout: float, take_line: bool = False, take: int = 0) -> bytes:
        """Read the worker's stdout into the buffer until `done(buffer)`; return a line or `take` bytes."""
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while not done(self._buf):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise GraderError(f"no answer from the worker in {timeout:g} s")
                if sel.select(timeout=remaining):
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        raise GraderError("the worker exited")
                    self._buf.extend(chunk)
        if take_line:
            line, _, rest = bytes(self._buf).partition(b"\n")
            self._buf = bytearray(rest)
            return line
        out = bytes(self._buf[:take])
        del self._buf[:take]
        return out

    def _log_tail(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-600:].decode("utf-8", "replace").strip() or "(empty)"

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                pipe.close()
            self._proc = None

    def close(self) -> None:
        """Stop the worker."""
        self._kill()  # the worker holds nothing worth a graceful exit; tearing torch down takes ~0.5 s
        self._stderr.close()
        import shutil

        shutil.rmtree(self._home, ignore_errors=True)
