"""Inside a child: report progress to the worker, and notice when the grader asks to stop (Ctrl-C)."""
from __future__ import annotations

import json
import os
import signal

_fd: int | None = None
_stop = False


def attach(fd: int) -> None:
    """Called by the worker in the child: progress lines go to `fd`; SIGUSR1 asks to stop."""
    global _fd
    _fd = fd
    signal.signal(signal.SIGUSR1, _on_stop)


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
