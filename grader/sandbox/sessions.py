"""The worker's side of its children: fork and confine one, send it runs, enforce their limits, end it.

A session is the runs of one submission (its token) in one child (grader/sandbox/childloop.py inside it),
ended when the token changes, after a run that ended abnormally or left the child unfit, and after
limits.SESSION_RUNS runs; a spare child is forked ahead for the next submission. See SECURITY.md.
"""
from __future__ import annotations

import gc
import json
import os
import selectors
import sys
import tempfile
import time

from grader import model
from grader.sandbox import limits as limits_mod, pipes as pipe_io, tasks, wire

CHUNK = pipe_io.CHUNK
DRAIN_SECONDS = 2.0  # after the run is killed, what its pipes still hold
WHERE_SECONDS = 0.1  # at the time limit: how long the child has to say which line is running


class Child:
    """One forked, confined child and the runs it does one after another (a session).

    Its runs share the child's start-up cost (fork, confinement, guards), never a namespace
    (grader/sandbox/child.py's Session). Sessions.run re-runs, in a fresh child, a run that hit a limit or
    crashed when it was not its child's first: every limit and crash a student is told about
    happened in a child that ran nothing before.
    """

    def __init__(self, ds, lim: dict, token: str | None, variants: list, training: bool = False):
        from grader.sandbox import child, childloop, guards, isolation  # noqa: F401 - imported once here, so no child imports them

        self.token, self.lim, self.runs, self.open, self.training = token, lim, 0, True, training
        fds = {name: os.pipe() for name in ("out", "res", "prog", "gate", "req")}  # (read end, write end)
        self.workdir = tempfile.mkdtemp(prefix="bpn-run-")
        limits_mod.prepare_workdir(self.workdir)
        isolation.become_subreaper()
        self.conf = isolation.prepare(self.workdir, self.lim, tag=f"{os.getpid()}-{time.monotonic_ns()}")
        # the guards and the CPU shim, installed here once: a child that installed them itself would copy
        # every page of torch's modules it touched (~10 ms). The worker needs no autograd and no GPU.
        child.cpu_only()
        guards.install()
        for variant in variants:
            child.forward_values(ds, model.Variant(**variant))  # the given forward pass, once per variant
        child.lecture_random_state(len(ds.words))
        gc.freeze()  # the worker's objects leave the collector's lists: fewer pages copied in the child
        sys.stdout.flush()
        self.started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            for name in ("out", "res", "prog", "req"):
                os.close(fds[name][0] if name != "req" else fds[name][1])
            os.close(fds["gate"][1])
            childloop.serve(ds, {"out": fds["out"][1], "res": fds["res"][1], "prog": fds["prog"][1], "gate": fds["gate"][0],
                        "req": fds["req"][0]}, self.workdir, self.conf, self.lim, training)
        self.pid = pid
        self.conf.for_pid(pid)
        for name in ("out", "res", "prog"):
            os.close(fds[name][1])
        os.close(fds["gate"][0])
        os.close(fds["req"][0])
        self.out_r, self.res_r, self.prog_r, self.req_w = fds["out"][0], fds["res"][0], fds["prog"][0], fds["req"][1]
        isolation.join(self.conf, pid)  # before the gate opens: the student's code starts inside the run's cgroups
        try:
            os.write(fds["gate"][1], b"\x01")
        except OSError:
            pass  # the child is already gone
        os.close(fds["gate"][1])
        for fd in (self.out_r, self.res_r, self.prog_r, self.req_w):
            os.set_blocking(fd, False)
        try:
            self.exit_fd = os.pidfd_open(pid)  # readable once the child has exited
        except OSError:
            self.exit_fd = None  # an old kernel: poll for the exit instead
        self.exited, self.ready, self.res, self._exit_code = False, False, bytearray(), 0

    def fits(self, request: dict, token: str | None) -> bool:
        """Whether `request` may run in this child: same submission, same limits, a child fit for more."""
        return (self.open and token is not None and token == self.token and request["limits"] == self.lim
                and not self.training and not tasks.has(request["exercise"]) and self.runs < limits_mod.SESSION_RUNS)

    def adopt(self, request: dict, token: str | None) -> bool:
        """A spare child (forked ahead, no run yet) takes a new session's first run, if it may and is alive."""
        if not (self.open and self.runs == 0 and request["limits"] == self.lim and not tasks.has(request["exercise"])
                and self._alone()):
            return False
        self.token, self.started = token, time.monotonic()  # its time starts now, not when it was forked
        return True

    def run(self, request: dict, emit, stop_fd: int) -> tuple[dict, bytes]:
        """Send one request, enforce its wall time, collect its output and answer.

        Progress lines from the child are passed to `emit`; a line on `stop_fd` asks the child to stop.
        When the run ends abnormally (time, limits, a crash, a stop), every process of the child is
        killed and the session is over. Raises IsolationError when the child could not be confined.
        """
        from grader.sandbox import isolation

        lim, index = self.lim, self.runs
        self.runs += 1
        start = self.started if index == 0 else time.monotonic()
        counts_before = isolation.counts(self.conf) if index else None
        body = json.dumps(request).encode()
        outgoing = memoryview(len(body).to_bytes(8, "little") + body)
        output, prog = bytearray(), bytearray()
        output_overflow = frame_overflow = timed_out = stop_sent = False
        sel = selectors.DefaultSelector()
        for fd in (self.out_r, self.res_r, self.prog_r, stop_fd):
            sel.register(fd, selectors.EVENT_READ)
        sel.register(self.req_w, selectors.EVENT_WRITE)
        if self.exit_fd is not None:
            sel.register(self.exit_fd, selectors.EVENT_READ)
        deadline = start + float(lim["seconds"])
        pipes = {self.out_r, self.res_r, self.prog_r}
        ended = killed_at = record = asked = None
        while record is None and (pipes & set(sel.get_map()) or not (self.exited or killed_at is not None)):
            now = time.monotonic()
            if self.exit_fd is None and not self.exited:
                self.exited = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            if killed_at is None and asked is None and now >= deadline and not (self.exited or frame_overflow):
                asked = pipe_io.ask_where(self.pid)  # which line is running: the verdict names it (grader/sandbox/progress.py)
                deadline = now + WHERE_SECONDS
            if killed_at is None and (self.exited or frame_overflow or now >= deadline):
                timed_out = not self.exited and not frame_overflow
                ended = ended or now
                isolation.kill_all(self.conf, self.pid)  # the rest of the run: nothing outlives it
                killed_at = now
            if killed_at is not None and now - killed_at > DRAIN_SECONDS:
                break
            wait = deadline - now if killed_at is None else killed_at + DRAIN_SECONDS - now
            for key, _ in sel.select(timeout=max(0.0, min(wait, 0.5 if self.exit_fd is not None else 0.05))):
                if key.fd == self.req_w:
                    try:
                        outgoing = outgoing[os.write(self.req_w, outgoing):]
                    except OSError:  # the child is gone: its exit says the rest
                        outgoing = outgoing[:0]
                    if not outgoing:
                        sel.unregister(self.req_w)
                    continue
                if key.fd == self.exit_fd:
                    sel.unregister(self.exit_fd)
                    self.exited, ended = True, ended or time.monotonic()
                    continue
                if key.fd == stop_fd:
                    sel.unregister(stop_fd)  # a stop line, or the parent is gone: either way, stop
                    os.read(stop_fd, CHUNK)
                    if not stop_sent and killed_at is None:
                        stop_sent = True
                        pipe_io.signal_stop(self.pid)
                    continue
                if key.fd == self.prog_r:
                    eof, _ = pipe_io.read_available(self.prog_r, prog, 1 << 20)
                    self._emit(prog, emit)
                elif key.fd == self.out_r:
                    eof, over = pipe_io.read_available(self.out_r, output, lim["output_bytes"])
                    output_overflow |= over
                else:
                    eof, over = pipe_io.read_available(self.res_r, self.res, lim["frame_bytes"] + 64)
                    frame_overflow |= over
                    record, frame_overflow = self._take_record(frame_overflow)
                if eof:
                    sel.unregister(key.fd)
        sel.close()
        seconds = (ended or time.monotonic()) - start
        if record is not None:  # what the run printed is in the pipe before its answer
            _, over = pipe_io.drain(self.out_r, output, lim["output_bytes"])
            output_overflow |= over
            pipe_io.drain(self.prog_r, prog, 1 << 20)
            self._emit(prog, emit)
        if not self.ready and not timed_out and not stop_sent:
            self.close()
            raise isolation.IsolationError(f"the run could not start: {output[-800:].decode('utf-8', 'replace')}")
        frame, again = record if record is not None else (b"", False)
        if frame_overflow or timed_out:
            frame = b""
        usage = isolation.usage(self.conf, counts_before)  # before close() removes the cgroups
        exit_code = 0
        if record is None or stop_sent or not again or not self._alone():
            exit_code = self.close()
        exit_code = exit_code if record is None else 0  # a run that answered finished, whatever ends its child after
        header = {
            "id": request.get("id"), "seconds": round(seconds, 4), "timed_out": timed_out, "stopped_by_user": stop_sent,
            "exit_code": exit_code, "output": output.decode("utf-8", "replace"),
            "output_truncated": output_overflow, "frame_too_large": frame_overflow, "frame_size": len(frame),
            "run_index": index,
        }
        error = None
        if frame:
            try:
                error = wire.decode_meta(bytes(frame), lim["frame_bytes"]).get("error")
            except wire.FrameError:
                pass
        header.update(limits_mod.fired(exit_code, error if isinstance(error, dict) else None, usage))
        if limits_mod.abnormal(header):
            self.close()  # the next run starts in a fresh child
        return header, bytes(frame)

    @staticmethod
    def _emit(prog: bytearray, emit) -> None:
        *lines, rest = prog.split(b"\n")
        prog[:] = rest
        for line in lines[-1:]:  # only the newest record matters
            emit(line)

    def _take_record(self, overflow: bool):
        """(record or None, overflow): a complete record from the result pipe, once it is all there."""
        if not self.ready and self.res[:1] == b"\x01":
            del self.res[:1]
            self.ready = True
        if not self.ready or overflow:
            return None, overflow
        size = wire.record_size(self.res)
        if size is None:
            return None, False
        if size - wire.RECORD_HEAD > self.lim["frame_bytes"]:
            return None, True
        if len(self.res) < size:
            return None, False
        frame, again = wire.split_record(bytes(self.res[:size]))
        del self.res[:size]
        return (frame, again), False

    def _alone(self) -> bool:
        """The child is alive and is the only process of its run (nothing it started lives on)."""
        from grader.sandbox import cgroups, isolation

        if self.exited or os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return False
        if self.conf.joined and self.conf.uid is not None:
            return cgroups.members({"pids": self.conf.cgroups["pids"]}) == {self.pid}
        return isolation.alone(self.conf, self.pid)

    def close(self) -> int:
        """End the session: kill every process of the child, remove what it left; its exit code."""
        from grader.sandbox import isolation

        if not self.open:
            return self._exit_code
        self.open = False
        for fd in (self.req_w,):
            os.close(fd)
        isolation.kill_all(self.conf, self.pid)
        _, status = os.waitpid(self.pid, 0)
        pipe_io.reap_orphans()
        isolation.cleanup(self.conf)
        limits_mod.cleanup_workdir(self.workdir)
        for fd in (self.out_r, self.res_r, self.prog_r) + ((self.exit_fd,) if self.exit_fd is not None else ()):
            os.close(fd)
        self._exit_code = os.waitstatus_to_exitcode(status)
        return self._exit_code


class Sessions:
    """The worker's live child, reused by the runs of one submission (its session token), and a spare.

    When a session ends, the next child is forked at once (the spare): its fork, confinement and
    guards happen while the parent reads the next submission, not while the parent waits.
    """

    def __init__(self, ds) -> None:
        self.ds = ds
        self.live: Child | None = None
        self.spare: Child | None = None
        self.variants: list = []  # every variant of exercises 1-3 seen: their forward passes are made before a fork

    def run(self, request: dict, emit, stop_fd: int) -> tuple[dict, bytes]:
        token = request.get("session")
        if not tasks.has(request["exercise"]) and request["variant"] not in self.variants:
            self.variants.append(request["variant"])
        if self.live is not None and not self.live.fits(request, token):
            self.end()
        if self.live is None:
            self.live = self._new(request, token)
        header, frame = self.live.run(request, emit, stop_fd)
        if header["run_index"] > 0 and limits_mod.crashed(header):
            # what stopped it may be what the session's earlier runs left behind (memory): again, alone
            self.end()
            self.live = self._new(request, token, spare=False)
            header, frame = self.live.run(request, emit, stop_fd)
        if not self.live.open or token is None:
            self.end()
        return header, frame

    def _new(self, request: dict, token: str | None, spare: bool = True) -> Child:
        """The spare child if it can take `request`, else a new one."""
        if spare and self.spare is not None:
            child, self.spare = self.spare, None
            if child.adopt(request, token):
                return child
            child.close()
        training = tasks.has(request["exercise"])  # exercise 4: a child of its own
        return Child(self.ds, request["limits"], token, [] if training else self.variants, training)

    def end(self, fork_spare: bool = False) -> None:
        """Kill the live child, if any; with `fork_spare`, fork the next session's child now."""
        if self.live is not None:
            live, self.live = self.live, None
            live.close()
            if fork_spare and not live.training and self.spare is None:
                self.spare = Child(self.ds, live.lim, None, self.variants)

    def close(self) -> None:
        """Kill both children (the worker is leaving)."""
        self.end()
        if self.spare is not None:
            spare, self.spare = self.spare, None
            spare.close()
