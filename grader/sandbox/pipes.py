"""The worker's side of a child's pipes and signals: non-blocking reads with a cap, the stop and where-is-it signals."""
from __future__ import annotations

import os
import signal

CHUNK = 65536


def read_available(fd: int, buf: bytearray, cap: int) -> tuple[bool, bool]:
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


def drain(fd: int, buf: bytearray, cap: int) -> tuple[bool, bool]:
    """Read all that a pipe holds now (non-blocking). Returns (eof, overflowed)."""
    overflow = False
    while True:
        before = len(buf)
        eof, over = read_available(fd, buf, cap)
        overflow |= over
        if eof or (len(buf) == before and not over):
            return eof, overflow


def reap_orphans() -> None:
    """Collect what is left of the run's processes re-parented to the worker (all dead by now)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def ask_where(pid: int) -> bool:
    """Ask the child which line of the student's it is running (SIGUSR2; it answers on the progress pipe)."""
    try:
        os.kill(pid, signal.SIGUSR2)
    except OSError:
        pass
    return True


def signal_stop(pid: int) -> None:
    """Ask the child to stop early and keep what it measured (SIGUSR1, grader/sandbox/progress.py)."""
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        pass
