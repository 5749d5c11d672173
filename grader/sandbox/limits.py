"""Limits on one run of a student's code: applying them inside the child, naming the ones that fired (defaults: grader/options.py)."""
from __future__ import annotations

import errno
import os
import resource
import shutil
import signal

from grader.options import Limits  # noqa: F401 - the defaults live with the other options; re-exported here

MAXFD = 4096
EXIT_FAILED = 70  # the grader's own code in the child failed (after the student's ran)
EXIT_NO_MEMORY = 71  # ... and it failed for lack of memory: the memory limit
SESSION_RUNS = 16  # most runs one child does one after another (grader/sandbox/sessions.py)
_MEMORY_MESSAGES = ("can't allocate memory", "cannot allocate memory", "out of memory")


def mib(megabytes: float) -> str:
    """2048 -> '2 GiB', 300 -> '300 MiB'."""
    return f"{megabytes / 1024:g} GiB" if megabytes >= 1024 and megabytes % 256 == 0 else f"{megabytes:g} MiB"


def child_environment(workdir: str) -> dict:
    """The clean environment a student's code sees: nothing of the grader's."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _vm_bytes() -> int:
    """The worker's current address space, which the child inherits (torch alone is ~1 GiB of it)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _processes_of(uid: int) -> int:
    """How many processes this uid has now (RLIMIT_NPROC counts them all, not only the run's)."""
    count = 0
    for entry in os.scandir("/proc"):
        try:
            count += entry.name.isdigit() and entry.stat().st_uid == uid
        except OSError:
            pass
    return count


def apply(lim: dict, own_uid: bool) -> None:
    """Inside the child, before the student's code: set rlimits.

    `own_uid`: the child is about to switch to a uid of its own, so RLIMIT_NPROC counts only
    the run's processes; otherwise the user's other processes are added to the allowance.
    """
    mem = _vm_bytes() + int(lim["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = _cpu_seconds(lim)  # a backstop: the wall-time limit fires first
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu * SESSION_RUNS))
    fsize = int(lim["file_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = int(lim["processes"]) + (0 if own_uid else _processes_of(os.getuid()))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _cpu_seconds(lim: dict) -> int:
    return int(float(lim["seconds"])) + 2


def next_run(lim: dict) -> None:
    """Inside a child, before its next run: the CPU backstop again counts from now."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (min(hard, int(used.ru_utime + used.ru_stime) + _cpu_seconds(lim)), hard))


def is_memory_error(exc: BaseException) -> bool:
    """An exception that means an allocation failed (Python's MemoryError, torch's allocator)."""
    return isinstance(exc, MemoryError) or any(m in str(exc).lower() for m in _MEMORY_MESSAGES)


def fired(exit_code: int, error: dict | None, usage: dict) -> dict:
    """Which limits stopped the run, from its exit code, the student's error and its cgroups."""
    kind = str((error or {}).get("type", ""))
    message = str((error or {}).get("message", "")).lower()
    memory = (exit_code == EXIT_NO_MEMORY or kind == "MemoryError"
              or any(m in message for m in _MEMORY_MESSAGES) or usage.get("memory_limit", False))
    processes = (kind == "BlockingIOError" and f"errno {errno.EAGAIN}]" in message) or usage.get("process_limit", False)
    files = kind in ("OSError", "IOError") and any(f"errno {e}]" in message for e in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT))
    return {"memory_limit": bool(memory), "process_limit": bool(processes), "file_limit": files}


def abnormal(header: dict) -> bool:
    """A run that did not answer normally: a limit, a timeout, a crash, an exit, a stop."""
    return bool(header["timed_out"] or header["stopped_by_user"] or header["frame_too_large"] or not header["frame_size"]
                or header["memory_limit"] or header["process_limit"] or header["file_limit"])


def crashed(header: dict) -> bool:
    """An abnormal run that hit a memory, process or file limit, or exited without answering.

    Not a timeout, a stop or an oversized answer: those are the run's own doing (the child was fit
    when it began, no thread or process of earlier runs left).
    """
    return abnormal(header) and not (header["timed_out"] or header["stopped_by_user"] or header["frame_too_large"])


def describe(header: dict, lim) -> str:
    """Name the limit that stopped the run or the way the child ended; '' when it finished normally."""
    also = []
    if header.get("memory_limit"):
        also.append(f"memory limit {mib(lim.memory_mb)}")
    if header.get("process_limit"):
        also.append(f"process limit ({lim.processes} processes)")
    if header.get("file_limit"):
        also.append(f"file size limit {mib(lim.file_mb)}")
    if header.get("timed_out"):
        return f"stopped after {lim.seconds:g} s: time limit" + "".join(f"; it also hit the {a}" for a in also)
    if header.get("frame_too_large"):
        return f"stopped: the answer it sent back exceeds the answer size limit of {mib(lim.frame_bytes / 2**20)}"
    if also:
        return "stopped: " + " and ".join(also)
    code = header.get("exit_code", 0)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        if name == "SIGXCPU":
            return "stopped: CPU time limit"
        if name == "SIGXFSZ":
            return f"stopped: file size limit {mib(lim.file_mb)}"
        native = " (a crash in native code, e.g. ctypes)" if name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL") else ""
        return f"the process was killed by {name}{native}"
    if header.get("frame_size", 0) == 0:
        return f"the process exited (code {code}) before finishing: os._exit or a crash skipped the rest"
    return ""


def prepare_workdir(workdir: str) -> None:
    """Make the child's fresh working directory (the child chowns it to its own uid)."""
    os.chmod(workdir, 0o700)


def cleanup_workdir(workdir: str) -> None:
    """Remove the working directory and whatever the student left in it."""
    shutil.rmtree(workdir, ignore_errors=True)
