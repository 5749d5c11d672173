"""A batch's per-student results on disk: one JSON record and one HTML scorecard per submission.

The record is written atomically the moment a submission is graded, so it is the proof that a
submission is done: a batch killed at any moment leaves each submission either finished (record
present, with the cache key of what was graded) or not started. grades.csv, class.html and the
scorecards are rendered from the records at the end (grader/course/classreport.py): each
scorecard once, naming its student, out of the class's total.

    DIR/students/<key>.json   {"schema", "cache_key", "entry": identity, "result": SubmissionResult.to_dict()}
    DIR/students/<key>.html   the student's scorecard
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grader import __version__
from grader.report import scorecard as report
from grader.course.identity import Entry

SCHEMA = 1
STUDENTS = "students"


def cache_key(entry: Entry, rubric_fingerprint: str, exercise: int | None = None) -> str:
    """What a result depends on: the files' names and bytes, the grader's version and the rubric."""
    h = hashlib.sha256()
    h.update(json.dumps([SCHEMA, __version__, rubric_fingerprint, exercise]).encode())
    for name, path in sorted(zip(entry.names, entry.files)):
        h.update(b"\0" + name.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


class Store:
    """The students/ folder of a batch's output directory."""

    def __init__(self, out_dir: str | Path):
        self.out = Path(out_dir)
        self.folder = self.out / STUDENTS

    def json_path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def html_path(self, key: str) -> Path:
        return self.folder / f"{key}.html"

    def load(self, key: str) -> dict | None:
        """The record for `key`, or None if there is none or it cannot be read."""
        try:
            record = json.loads(self.json_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("schema") != SCHEMA or not isinstance(record.get("result"), dict):
            return None
        return record

    def is_done(self, key: str, cache_key: str) -> bool:
        """True when `key` was graded from exactly these files, grader and rubric (its record says so)."""
        record = self.load(key)
        return record is not None and record.get("cache_key") == cache_key

    def save(self, entry: Entry, cache_key: str, result: dict) -> dict:
        """Write the record (atomically); return it. The scorecard is rendered from it at the end of the batch."""
        record = {"schema": SCHEMA, "cache_key": cache_key, "entry": entry.to_dict(), "result": result}
        # compact: json.dumps with indent takes the pure-Python encoder, ~10x slower for a record like this
        report.write_atomic(self.json_path(entry.key), json.dumps(record, separators=(",", ":")) + "\n")
        return record
