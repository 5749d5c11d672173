"""The batch's job processes and its watchdog: each submission is graded within a bound, whatever it does.

A job process is a fresh interpreter (spawn) owning one warm Grader; it talks to the batch over one
pipe (a socketpair) and shares no queue, lock or semaphore with it. So the grader's worker, forked
from the job process, and the children forked from that worker inherit nothing a student's code could
corrupt to stall the batch (a pool's semaphores, overwritten with zeros through /proc/self/mem, hung
the whole batch). The batch's own process watches every job: a submission not graded within its bound,
or whose job process dies twice, gets a verdict row, and its job process is replaced by a fresh one.
"""
from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from multiprocessing.connection import wait

from grader import __version__
from grader.course import work
from grader.results import SubmissionResult

WARMUP_SECONDS = 600.0  # a job process importing torch and computing the references, on a loaded machine
MAX_STARTS = 4  # job processes that may die before they are ready, beyond one per job, before the batch gives up


class JobProcess:
    """One job process and the submission it is grading (if any)."""

    def __init__(self, ctx, names_path, options):
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=work.job_main, args=(theirs, str(names_path), options), name="bpn-job",
                                daemon=True)
        self.proc.start()
        theirs.close()
        self.job, self.deadline, self.ready = None, 0.0, False

    def give(self, job: dict, seconds: float) -> None:
        self.conn.send(job)
        self.job, self.deadline = job, time.monotonic() + seconds + (0.0 if self.ready else WARMUP_SECONDS)

    def stop(self, wait_seconds: float = 0.0) -> None:
        """End the process (politely first when `wait_seconds`): its worker sees its pipe close and exits too."""
        if wait_seconds and self.proc.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(wait_seconds)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)
        self.conn.close()


def verdict(job: dict, message: str) -> dict:
    """A submission's result when the batch, not the grader's reading of it, had to stop it."""
    names = ", ".join(name for name, _ in job["files"])
    return SubmissionResult(submission=names, error=message, grader_version=__version__).to_dict()


def run(jobs_iter, n: int, names_path, options, on_result, seconds: float, on_drain=None) -> None:
    """Grade every job on `n` job processes; on_result(job, result, error) for each, as it ends.

    `on_drain()` is called (in a thread) once the last job has been handed out: cores free up from then on.
    """
    ctx = multiprocessing.get_context("spawn")
    todo, again, starts = iter(jobs_iter), [], 0
    presses = _count_ctrl_c()  # the first Ctrl-C is a flag, read between results: it can land nowhere half-done
    pool, stopping = [], False

    def feed(slot: JobProcess) -> None:
        nonlocal on_drain
        job = again.pop() if again else next(todo, None)
        if job is not None:
            slot.give(job, seconds)
        elif on_drain is not None:
            threading.Thread(target=on_drain, name="bpn-drain", daemon=True).start()
            on_drain = None

    try:
        pool.extend(JobProcess(ctx, names_path, options) for _ in range(n))
        while True:
            stopping = stopping or presses.count > 0
            for slot in pool:
                if slot.job is None and not stopping:
                    feed(slot)
            busy = [s for s in pool if s.job is not None]
            if not busy:
                break
            try:
                wait([s.conn for s in busy] + [s.proc.sentinel for s in busy],
                     max(0.0, min(s.deadline for s in busy) - time.monotonic()))
                for k, slot in enumerate(pool):
                    if slot.job is None:
                        continue
                    stopping = stopping or presses.count > 0
                    message, died = _poll(slot)
                    if message is not None and message[0] == "ready":
                        slot.ready, slot.deadline = True, time.monotonic() + seconds
                    elif message is not None:
                        job, slot.job = slot.job, None
                        if not stopping:  # its next submission first: the job process grades while on_result runs
                            feed(slot)
                        kind, value = message
                        on_result(job, value if kind == "ok" else None, None if kind == "ok" else work.JobError(value))
                    elif died or time.monotonic() > slot.deadline:
                        job, was_ready = slot.job, slot.ready
                        slot.stop()
                        starts += 0 if was_ready else 1
                        if starts > n + MAX_STARTS:
                            raise work.JobError("the batch's job processes keep dying before they are ready; "
                                                f"their last exit code: {slot.proc.exitcode}")
                        pool[k] = JobProcess(ctx, names_path, options)
                        if died and (not was_ready or not job.get("retried")):
                            again.append({**job, "retried": was_ready or job.get("retried", False)})
                        elif died:
                            on_result(job, verdict(job, "the grader's job process died twice while grading this "
                                                        f"submission (exit code {slot.proc.exitcode})"), None)
                        else:
                            on_result(job, verdict(job, f"grading this submission took longer than the batch's time "
                                                        f"limit of {seconds:g} s for one submission: the grader "
                                                        "stopped it"), None)
            except KeyboardInterrupt:  # Ctrl-C: hand out nothing more; what is running finishes; twice: stop now
                if stopping or presses.count > 1:
                    raise
                stopping = True
        if stopping or presses.count:
            raise KeyboardInterrupt  # after what was running has finished and been saved, as before
    finally:
        presses.restore()
        for slot in pool:
            slot.stop(wait_seconds=5.0 if slot.job is None else 0.0)


class _count_ctrl_c:
    """Count SIGINTs in the main thread: the first is only counted, the second raises KeyboardInterrupt (stop now)."""

    def __init__(self) -> None:
        self.count, self.previous = 0, None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._press)

    def _press(self, signum, frame) -> None:
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _poll(slot: JobProcess):
    """(message or None, died): what the job process sent, or whether it is gone."""
    try:
        if slot.conn.poll():
            return slot.conn.recv(), False
    except (EOFError, OSError):
        return None, True
    return None, not slot.proc.is_alive()
