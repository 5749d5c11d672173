"""Unpack a course platform's .zip export: the safe extraction lives in grader/submissions/archive.py (grading uses it too)."""
from grader.submissions.archive import (JUNK, MAX_FILE_BYTES, MAX_FILES, MAX_RATIO, MAX_TOTAL_BYTES,  # noqa: F401
                                        ArchiveError, extract, is_junk, member_path, remove)
