"""Bounds on the grader's own reading of one file (before any of the student's code runs): a verdict, not a hang.

Reading is the grader's work in its own process, so a file built to be slow to read (100,000 cells, a line
of 50 KB, code nested 100,000 deep) must end in a SubmissionError that names the bound, never in a
traceback or an unbounded wait. The batch's watchdog (grader/course/batch.py) bounds whole submissions.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from grader.results import clean_text

MAX_FILE_BYTES = 64 * 2**20  # a notebook with its outputs
MAX_CELLS = 2_000  # cells of a notebook or a .py export (the lecture's notebook has about 60)
MAX_CODE_CHARS = 2_000_000  # characters of code in one file (the lecture's notebook has about 30,000)
READ_SECONDS = 30.0  # reading and parsing one file, where a timer can interrupt it (the main thread)


def check_size(path: Path, error) -> None:
    """`error` (the SubmissionError class) for a file larger than MAX_FILE_BYTES; OSError as it comes."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise error(f"{path.name}: {size:,} bytes, more than the grader reads ({MAX_FILE_BYTES // 2**20} MiB)")


def check_cells(path: Path, cells: int, code_chars: int, error) -> None:
    """`error` for more cells or characters of code than the grader reads."""
    if cells > MAX_CELLS:
        raise error(f"{path.name}: {cells:,} cells, more than the grader reads ({MAX_CELLS:,})")
    if code_chars > MAX_CODE_CHARS:
        raise error(f"{path.name}: {code_chars:,} characters of code, more than the grader reads ({MAX_CODE_CHARS:,})")


def shown(path: Path) -> str:
    """A file's name as results show it: a file name need not be valid UTF-8."""
    return clean_text(path.name, 255)


@contextmanager
def bounded(path: Path, error, seconds: float = READ_SECONDS):
    """Turn a parser's RecursionError or MemoryError, or more than `seconds` in the body, into `error`.

    The time bound is a timer signal, so it holds only in the main thread (where `grade` and a batch's
    job process read); elsewhere the batch's watchdog bounds the submission.
    """
    timed = threading.current_thread() is threading.main_thread() and not signal.getitimer(signal.ITIMER_REAL)[0]

    class Overtime(error):
        pass

    def expire(signum, frame):
        raise Overtime(f"{path.name}: reading it took longer than {seconds:g} s; the grader gave up on it")

    previous = signal.signal(signal.SIGALRM, expire) if timed else None
    if timed:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except error as exc:  # its message names the file: valid UTF-8 from here on
        raise error(clean_text(str(exc), 4096)) from None
    except (RecursionError, MemoryError) as exc:  # nested or large beyond what the parser can hold
        raise error(f"{shown(path)}: too deeply nested or too large for the grader to read ({type(exc).__name__})") from None
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
