"""Limits on one run of a student's code: defaults, and applying them inside the child."""
from __future__ import annotations

import os
import resource
import shutil
import signal
from dataclasses import asdict, dataclass

MAXFD = 4096


@dataclass(frozen=True)
class Limits:
    """What one run of a student's exercise may use; every field can be set in a rubric."""

    seconds: float = 20.0  # wall time; the child and everything it started are killed
    memory_mb: int = 2048  # address space the student's code may add to the worker's
    processes: int = 64  # processes (and threads) the child may start
    output_bytes: int = 64 * 1024  # what it prints is kept up to this, the rest dropped
    file_mb: int = 64  # largest file it may write (in its own temporary directory)
    max_numel: int = 4_000_000  # largest tensor it may send back
    frame_bytes: int = 64 * 1024 * 1024  # largest answer it may send back

    def to_dict(self) -> dict:
        return asdict(self)


def child_environment(workdir: str) -> dict:
    """The clean environment a student's code sees: nothing of the grader's."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _vm_bytes() -> int:
    """The worker's current address space, which the child inherits."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def apply(lim: dict) -> None:
    """Inside the child, before the student's code: set rlimits."""
    mem = _vm_bytes() + int(lim["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(float(lim["seconds"])) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    fsize = int(lim["file_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = int(lim["processes"])
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def prepare_workdir(workdir: str) -> None:
    """Make the child's fresh working directory."""
    os.chmod(workdir, 0o700)


def kill_group(pid: int) -> None:
    """Kill the child's process group (it is its own session leader)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def cleanup_workdir(workdir: str) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
