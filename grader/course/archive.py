"""Unpack a course platform's .zip export: the safe extraction lives in grader/submissions/archive.py (grading uses it too)."""
from grader.submissions.archive import (  # noqa: F401
    ArchiveError,
    JUNK,
    MAX_FILES,
    MAX_FILE_BYTES,
    MAX_RATIO,
    MAX_TOTAL_BYTES,
    extract,
    is_junk,
    member_path,
    remove,
)
