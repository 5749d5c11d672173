"""Results as plain data: one check, one exercise, one submission; `to_dict()` is the JSON schema."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from dataclasses import dataclass, field

# a check's status
PASS, FAIL, MISSING, ERROR = "pass", "fail", "missing", "error"
TRAINING = "training"  # exercise 4's check of the training itself (not a gradient)
# an exercise's status
COMPLETE, PARTIAL, INCORRECT, NOT_ATTEMPTED, CRASHED, FLAGGED, TIMEOUT, NOT_FOUND = (
    "complete", "partial", "incorrect", "not attempted", "error", "flagged", "timeout", "not found")
# why a gradient's cmp line is not right (follow-through grading, grader/verdicts.py)
OWN, INHERITED, CHANGED = "own", "inherited", "changed"


@dataclass
class CheckResult:
    """One graded tensor, compared with autograd the way the lecture's `cmp` does, plus a verdict."""

    name: str
    status: str
    exact: bool | None = None
    approximate: bool | None = None
    maxdiff: float | None = None
    shape: list | None = None
    expected_shape: list | None = None
    message: str = ""
    score: float = 0.0
    max_score: float = 1.0
    variant: str = "public"  # the variant the verdict comes from (the first that failed)
    cause: str = ""  # "own" (its own statements are wrong), "inherited" (right, given right inputs), "changed"
    upstream: list = field(default_factory=list)  # inherited: the gradients whose mistakes it inherits
    location: str = ""  # where its own statements are ("cell 12, line 7")
    code: str = ""  # those statements, quoted
    # grader/diagnosis: the named cause of a wrong answer, hints, and where it is off (a 2-D gradient)
    diagnosis: str = ""  # one sentence, or "" when no cause is known
    hints: list = field(default_factory=list)  # three levels, each closer to the answer
    error_map: list = field(default_factory=list)  # |answer - autograd| / tolerance, pooled to at most 32 x 32
    error_map_alt: str = ""  # the same in words ("off in column 5 only")

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def label(self) -> str:
        """How a page names the check: d<name> for a gradient, the bare name for exercise 4's training check."""
        return self.name if self.name == TRAINING else "d" + self.name

    def to_dict(self) -> dict:
        """Every field, lists copied (what dataclasses.asdict gives, without its deepcopy of each value: ~100 a submission)."""
        return {name: _copied(getattr(self, name)) for name in _CHECK_FIELDS}


_CHECK_FIELDS = tuple(f.name for f in dataclasses.fields(CheckResult))


def _copied(value):
    """A field's value for to_dict(): lists and dicts copied all the way down, anything else as it is."""
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


@dataclass
class ExerciseResult:
    """One exercise of one submission: its checks, what the student's code printed, what went wrong."""

    id: int
    title: str
    checks: list[CheckResult] = field(default_factory=list)
    attempted: bool = True
    error: str = ""  # an exception or a limit in the student's code, with its cell/line
    output: str = ""  # what the student's code printed (truncated)
    notes: list[str] = field(default_factory=list)
    source: str = ""
    seconds: float = 0.0
    integrity: list[str] = field(default_factory=list)  # uses of autograd found, with cell/line
    zeroed: bool = False  # the rubric zeroes an exercise with integrity flags, and it has some
    extra: dict = field(default_factory=dict)  # exercise-specific data (e.g. exercise 4's training)
    fix_first: list[str] = field(default_factory=list)  # the lines whose own formula is wrong, quoted
    timed_out: bool = False  # a time limit stopped the student's code
    crashed: bool = False  # a statement of the student's raised (its cell stopped there)
    found: bool = True  # False: a notebook or folder without this exercise (it scores 0 of its points)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)

    @property
    def status(self) -> str:
        if not self.found:
            return NOT_FOUND
        if not self.attempted:
            return NOT_ATTEMPTED
        if self.zeroed:
            return FLAGGED
        if self.checks and all(c.passed for c in self.checks):
            return COMPLETE
        if self.timed_out:
            return TIMEOUT
        if any(c.passed for c in self.checks):
            return PARTIAL
        return CRASHED if self.error or self.crashed else INCORRECT

    def counts(self) -> dict:
        out = {PASS: 0, FAIL: 0, MISSING: 0, ERROR: 0}
        for c in self.checks:
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def to_dict(self) -> dict:
        return {
            "id": self.id, "title": self.title, "score": self.score, "max_score": self.max_score,
            "status": self.status, "attempted": self.attempted, "error": self.error,
            "output": self.output, "notes": list(self.notes), "source": self.source,
            "integrity": list(self.integrity), "seconds": round(self.seconds, 3),
            "checks": [c.to_dict() for c in self.checks], **({"extra": self.extra} if self.extra else {}),
            "fix_first": list(self.fix_first), "timed_out": self.timed_out, "crashed": self.crashed, "found": self.found,
        }


@dataclass
class SubmissionResult:
    """A whole submission: every exercise graded, with totals."""

    submission: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""  # the file could not be read at all
    grader_version: str = ""
    duplicates: list[str] = field(default_factory=list)  # two files of one exercise: which one was graded (issue 13)
    timestamp: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    @property
    def passed(self) -> bool:
        """True when every graded check passed (the `grade` command's exit 0)."""
        return not self.error and bool(self.exercises) and all(e.status == COMPLETE for e in self.exercises)

    def exercise(self, id: int) -> ExerciseResult | None:
        return next((e for e in self.exercises if e.id == id), None)

    def to_dict(self) -> dict:
        return {
            "submission": self.submission, "score": self.score, "max_score": self.max_score,
            "percent": round(self.percent, 2), "passed": self.passed, "error": self.error,
            "notes": list(self.notes), "grader_version": self.grader_version, "timestamp": self.timestamp,
            "exercises": [e.to_dict() for e in self.exercises], "duplicates": list(self.duplicates),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionResult":
        """The inverse of to_dict() (a batch record, or what a Dask worker sent back); derived fields are recomputed."""
        exercises = []
        for ex in data.get("exercises", []):
            fields = _init_fields(ExerciseResult, ex)
            fields.update(checks=[CheckResult(**_init_fields(CheckResult, c)) for c in ex.get("checks", [])],
                          zeroed=ex.get("status") == FLAGGED)
            exercises.append(ExerciseResult(**fields))
        return cls(**{**_init_fields(cls, data), "exercises": exercises})


def _init_fields(cls, data: dict) -> dict:
    """The keys of `data` that are init fields of the dataclass `cls` (score, status ... are derived)."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {k: v for k, v in data.items() if k in names}


# Student-produced text (messages, output, notes, file names) enters a result through clean_text/clean_data:
# valid UTF-8 once stored (a lone surrogate would break JSON files, HTML, grades.csv) and of bounded size.
TEXT_LIMIT = 1 << 20  # characters of one string kept in a result (the printed output has its own, smaller limit)
DEPTH_LIMIT = 32  # nesting kept in data that came from a student's process
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text, limit: int = TEXT_LIMIT) -> str:
    """`text` as a string safe to store and show: lone surrogates become U+FFFD, at most `limit` characters kept."""
    text = text if isinstance(text, str) else str(text)
    if len(text) > limit:
        text = f"{text[:limit]}\n[... {len(text) - limit:,} more characters cut by the grader]"
    return _SURROGATE.sub("\ufffd", text)


def clean_data(value, limit: int = TEXT_LIMIT, depth: int = DEPTH_LIMIT, items: int = 100_000):
    """JSON-like data with every string (keys too) cleaned, at most `items` entries per container, nesting cut at `depth`."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth <= 0:
        return None
    if isinstance(value, dict):
        return {clean_text(k, limit): clean_data(v, limit, depth - 1, items) for k, v in list(value.items())[:items]}
    if isinstance(value, (list, tuple)):
        return [clean_data(v, limit, depth - 1, items) for v in value[:items]]
    return clean_text(value, limit)
