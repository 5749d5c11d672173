"""One unit of batch work: a submission's files as bytes in, its result as plain JSON data out.

The same function runs in a local job process and on a Dask worker, so both give identical
results; nothing but plain data (names, bytes, dicts) crosses between the batch and a worker.
"""
from __future__ import annotations

import gc
import os
import signal
import tempfile
import threading
import time
from pathlib import Path, PurePosixPath

from grader import __version__
from grader.results import SubmissionResult, clean_data
from grader.sandbox.runner import GraderError

NO_FILES = "no .py or .ipynb file in this submission"


class JobError(Exception):
    """The grader failed on one submission in a job process (not the student); str(e) says how."""


def payload(key: str, names: list[str], files: list[Path], exercise: int | None = None) -> dict:
    """What a worker needs to grade one submission (the files' bytes, never paths it cannot see)."""
    return {"key": key, "exercise": exercise, "files": [(name, Path(f).read_bytes()) for name, f in zip(names, files)]}


def local_name(name: str) -> str:
    """The file name a shown name is graded under: its last part (after a zip's ':'), made safe."""
    base = PurePosixPath(name.split(":")[-1].replace("\\", "/")).name.lstrip(".") or "submission.py"
    suffix = PurePosixPath(base).suffix[:8]
    return base if len(base.encode()) <= 120 else base[:60].encode()[:100].decode("utf-8", "ignore") + suffix


def grade_payload(grader, job: dict, retries: int = 1) -> dict:
    """Grade one payload with a warm Grader; student faults are in the result, grader faults raise GraderError."""
    names = [name for name, _ in job["files"]]
    if not names:
        return SubmissionResult(submission="", error=NO_FILES, grader_version=__version__).to_dict()
    for attempt in range(retries + 1):
        try:
            with tempfile.TemporaryDirectory(prefix="bpn-sub-") as tmp:
                paths = []
                for i, (name, data) in enumerate(job["files"]):
                    target = Path(tmp) / local_name(name)
                    if target.exists():  # two files of the same name in different folders
                        target = Path(tmp) / str(i) / local_name(name)
                        target.parent.mkdir()
                    target.write_bytes(data)
                    paths.append(target)
                # every exercise is found by its file's name, headers or names, then the one asked for kept:
                # grade(paths, exercise) would read each plain .py file of a student's folder as that exercise
                result = grader.grade(paths)  # the class's denominator is the union of its exercises (summary.py)
            break
        except GraderError:
            if attempt == retries:
                raise
            # the sandbox restarts its worker on the next call: give the submission one more chance
    result.submission = ", ".join(names)
    wanted = job.get("exercise")
    if wanted is not None:
        result.exercises = [ex for ex in result.exercises if ex.id == wanted]
        if not any(ex.found for ex in result.exercises) and not result.error:
            result.error = f"no exercise {wanted} found in this submission"
    return clean_data(result.to_dict())  # the boundary: what a student produced is valid UTF-8 and bounded


def submission_seconds(options, files: int = 1) -> float:
    """The batch watchdog's bound on one submission, end to end: every run at its limit, reading, and slack."""
    ex4, variants = options.ex4 or {}, len(options.variants)
    # exercise 4's limit as grader/training/run.py's Plan sets it (importing that module would import torch here)
    seconds = float(ex4.get("time_limit") or (1800.0 if ex4.get("full") else 60.0))
    runs = 3 * variants * (options.limits.seconds + 10.0)  # exercises 1-3: each run, a fresh child, the comparison
    # exercise 4, its hidden runs, autograd's own run, and a follow-through run per variant (grader/training/carry.py)
    training = 2 * seconds + (2 * variants - 1) * min(seconds, 60.0)
    return 120.0 + 30.0 * max(1, files) + runs + training


def job_main(conn, names, options) -> None:
    """A batch's job process (grader/course/jobs.py): warm a Grader, say so, then grade each job the pipe brings."""
    start_job_process(names, options)
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            break
        if job is None:
            break
        try:
            answer = ("ok", grade_payload(_grader, job))
        except Exception as exc:  # noqa: BLE001 - a grader failure on this submission: the batch reports it
            answer = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(answer)
    _grader.close()
    os._exit(0)


def warm_grader(names, options, sandbox=None, dataset=None):
    """A Grader whose worker is started and whose references are computed.

    torch runs on one thread in this process, so that every Grader computes the same
    (bit-identical) references wherever it runs, and parallel Graders do not compete for cores.
    The worker process starts first: it imports torch while this process does too.
    """
    from grader.training import CHILD_TASKS
    from grader.sandbox.runner import Sandbox

    if sandbox is None:
        sandbox = Sandbox(names, CHILD_TASKS)
        sandbox.start()
    import torch

    from grader.grading import Grader

    torch.set_num_threads(1)
    grader = Grader(names, options, sandbox=sandbox, dataset=dataset)
    try:
        grader.sandbox.warm()
        for variant in options.variants:
            grader.reference(variant)
    except BaseException:
        grader.close()
        raise
    return grader


# A local job process (batch --jobs N starts N of them): one warm Grader each, for its whole life.
_grader = None


def start_job_process(names, options) -> None:
    """The job process's initializer: warm its Grader; Ctrl-C is the batch's to handle, not ours.

    The worker is forked from this process right after torch is imported and the dataset built,
    so that it needs no import of its own: at that point this fresh process holds nothing else
    (no autograd gradient, no submission).
    """
    global _grader
    from multiprocessing.util import Finalize

    import torch

    from grader import data
    from grader.training import CHILD_TASKS
    from grader.sandbox.runner import Sandbox

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    dataset = data.load(names)
    sandbox = Sandbox(names, CHILD_TASKS)
    sandbox.start_forked(dataset)
    _watch_parent(os.getppid())  # a thread: started after the fork
    _grader = warm_grader(names, options, sandbox, dataset)
    # torch's modules, the dataset and the references live as long as the process: out of the collector's
    # sight, its full collections (one every few submissions) scan what grading allocates, not all of torch
    gc.freeze()
    Finalize(None, _grader.close, exitpriority=10)
    # last of all: skip the interpreter's teardown of torch (0.3 s a process, at the end of every batch)
    Finalize(None, os._exit, args=(0,), exitpriority=-100)


def grade_in_job_process(job: dict) -> dict:
    return grade_payload(_grader, job)


def _watch_parent(parent: int) -> None:
    """Exit when the batch process is gone (kill -9): the Grader's worker then sees its stdin close and exits too."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="bpn-parent-watch", daemon=True).start()
