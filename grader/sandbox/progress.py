"""Inside a child: report progress to the worker, and notice when the grader asks to stop (Ctrl-C)."""
from __future__ import annotations

import json
import os
import signal

STUDENT_FILE = "<submission>"  # the file name the student's code is compiled under
WHERE = signal.SIGUSR2  # the worker asks which line is running, right before a time limit ends the run
_fd: int | None = None
_stop = False


def attach(fd: int) -> None:
    """Called by the worker in the child: progress lines go to `fd`; SIGUSR1 asks to stop; SIGUSR2 asks where."""
    global _fd
    _fd = fd
    signal.signal(signal.SIGUSR1, _on_stop)
    signal.signal(WHERE, _on_where)


def _on_where(signum, frame) -> None:
    """Report the line of the student's code that is running (the innermost one), for a time-limit verdict."""
    while frame is not None:
        if frame.f_code.co_filename == STUDENT_FILE:
            report(running_line=frame.f_lineno)
            return
        frame = frame.f_back


def _on_stop(signum, frame) -> None:
    global _stop
    _stop = True


def reset() -> None:
    """A new run in the same child: no stop asked yet."""
    global _stop
    _stop = False


def stop_requested() -> bool:
    """True once the grader asked the run to stop early (keep what was measured so far)."""
    return _stop


def report(**fields) -> None:
    """Send one progress record (JSON-able fields) to the worker; never fails the run."""
    if _fd is None:
        return
    try:
        os.write(_fd, json.dumps(fields).encode() + b"\n")
    except (OSError, TypeError, ValueError):
        pass
