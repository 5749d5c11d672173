"""A batch's records -> plain data: one Row per student (grades.csv), and the class's statistics (class.html)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from grader.exercises import EXERCISES
from grader.results import CRASHED, PASS, TRAINING

# a submission's flags, in the order grades.csv lists them
TIMEOUT, CRASH, INTEGRITY, UNREADABLE, LATE, NOT_GRADED, NO_SUBMISSION, DUPLICATE, NOT_ON_ROSTER = (
    "timeout", "crash", "integrity", "unreadable", "late", "not graded", "no submission", "duplicate", "not on roster")
FLAG_ORDER = (NO_SUBMISSION, NOT_GRADED, UNREADABLE, TIMEOUT, CRASH, INTEGRITY, DUPLICATE, LATE, NOT_ON_ROSTER)


@dataclass
class Row:
    """One student: who, the total, each exercise's score, flags, and where the scorecard is."""

    key: str
    name: str
    student_id: str = ""
    email: str = ""
    platform: str = ""
    submission_id: str = ""
    extra: dict = field(default_factory=dict)
    total: float | None = None  # None: nothing was graded (no submission, or the grader failed)
    exercises: dict = field(default_factory=dict)  # exercise id -> score
    flags: list = field(default_factory=list)
    scorecard: str = ""  # relative to the output folder


@dataclass
class CheckRate:
    """How many of the submissions that attempted an exercise pass one of its checks."""

    exercise: int
    name: str
    passed: int = 0
    attempted: int = 0
    failing: list = field(default_factory=list)  # (who, scorecard link) of each attempt that does not pass

    @property
    def rate(self) -> float | None:
        return self.passed / self.attempted if self.attempted else None

    @property
    def label(self) -> str:
        """d<name> for a gradient, the bare name for another check (exercise 4's training)."""
        return self.name if self.name == TRAINING else f"d{self.name}"

    @property
    def anchor(self) -> str:
        """The id of class.html's list of the students who fail this check."""
        return f"fail-ex{self.exercise}-{self.name}"


@dataclass
class Incident:
    """A timeout, a crash, an integrity flag, an unreadable file or a grader failure, for class.html."""

    kind: str
    key: str
    who: str
    detail: str
    exercise: int | None = None
    scorecard: str = ""


@dataclass
class ClassSummary:
    """Everything class.html shows."""

    title: str
    rows: list[Row]
    exercises: list[int]  # the exercises this batch graded
    possible: dict  # exercise id -> max score
    rates: list[CheckRate]
    incidents: list[Incident]
    submissions: int = 0
    histogram: str = ""  # a data: URI (PNG), filled in by classreport
    options: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)  # e.g. a group member missing from the roster
    interrupted: bool = False  # the batch was stopped (Ctrl-C) before every submission was graded

    @property
    def max_total(self) -> float:
        return sum(self.possible.get(e, 0.0) for e in self.exercises)

    @property
    def graded_totals(self) -> list[float]:
        return [r.total for r in self.rows if r.total is not None]

    @property
    def percents(self) -> list[float]:
        top = self.max_total
        return [100.0 * t / top for t in self.graded_totals] if top else []

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.graded_totals) if self.graded_totals else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.graded_totals) if self.graded_totals else None

    def rates_of(self, exercise: int) -> list[CheckRate]:
        return [r for r in self.rates if r.exercise == exercise]

    def count(self, kind: str) -> int:
        return sum(1 for r in self.rows if kind in r.flags)

    def flagged(self, kind: str) -> list[Row]:
        return [r for r in self.rows if kind in r.flags]


def submission_flags(result: dict, late: bool = False) -> list[str]:
    """The flags of one graded submission (a SubmissionResult.to_dict())."""
    found = set()
    if result.get("error"):  # the batch's watchdog stopped it, or its files could not be read
        found.add(TIMEOUT if is_timeout(result["error"]) else UNREADABLE)
    for ex in result.get("exercises", []):
        if ex.get("integrity"):
            found.add(INTEGRITY)
        if ex.get("error"):
            found.add(TIMEOUT if is_timeout(ex["error"]) else CRASH)
        elif ex.get("status") == CRASHED:
            found.add(CRASH)
    if result.get("duplicates"):  # two files of one exercise (issue 13)
        found.add(DUPLICATE)
    if late:
        found.add(LATE)
    return [f for f in FLAG_ORDER if f in found]


def is_timeout(error: str) -> bool:
    return "time limit" in error


def possible_points(options, exercises) -> dict:
    """Each exercise's max score under the rubric (from its checks; exercise 4's extra checks come from records)."""
    out = {}
    for ex_id in exercises:
        ex = EXERCISES.get(ex_id)
        if ex is None:
            continue
        base = float(options.points.get(ex.id, ex.points))
        out[ex.id] = sum(float(options.check_points.get((ex.id, n), base)) for n in ex.graded)
    return out


def summarise(entries, records: dict, absent, options, title: str = "backprop-ninja class report",
              exercise: int | None = None, failed: dict | None = None, interrupted: bool = False) -> ClassSummary:
    """Rows, pass rates and incidents from the entries (identity.Entry), their records by key, and absent people.

    A submission with no record is "not graded": `failed` (key -> message) says where the grader failed on it;
    otherwise, when the batch was `interrupted`, it was never reached.
    """
    failed = failed or {}
    results = {k: r["result"] for k, r in records.items() if r}
    seen = sorted({ex["id"] for res in results.values() for ex in res.get("exercises", [])})
    exercises = [exercise] if exercise else (seen or [1, 2, 3])
    possible = possible_points(options, exercises)
    rates: dict[tuple, CheckRate] = {}
    for ex_id in exercises:
        for name in EXERCISES[ex_id].graded if ex_id in EXERCISES else ():
            rates[(ex_id, name)] = CheckRate(ex_id, name)
    rows, incidents, warnings = [], [], []
    for entry in entries:
        result = results.get(entry.key)
        link = f"students/{entry.key}.html" if result is not None else ""
        flags = submission_flags(result, entry.late) if result is not None else [NOT_GRADED]
        scores = {}
        if result is not None:
            for ex in result.get("exercises", []):
                if ex["id"] not in exercises:
                    continue
                scores[ex["id"]] = float(ex["score"])
                possible[ex["id"]] = max(possible.get(ex["id"], 0.0), float(ex["max_score"]))
                for check in ex.get("checks", []):
                    rate = rates.setdefault((ex["id"], check["name"]), CheckRate(ex["id"], check["name"]))
                    if ex.get("attempted", True):
                        rate.attempted += 1
                        rate.passed += check["status"] == PASS
                        if check["status"] != PASS:
                            rate.failing.append((_who(entry), link))
        who = _who(entry)
        strangers = [p for p in entry.people if p.on_roster is False]
        for p in strangers:
            warnings.append(f"{p.name or p.student_id or p.email} ({entry.origin}"
                            + (f", a group of {len(entry.people)}" if len(entry.people) > 1 else "") + ") is not on the roster")
        incidents.extend(_incidents(entry.key, who, result, link, _why_not_graded(failed.get(entry.key), interrupted)))
        for person in entry.people or [None]:
            rows.append(Row(key=entry.key, name=person.name if person else entry.origin,
                            student_id=person.student_id if person else "", email=person.email if person else "",
                            platform=entry.platform, submission_id=entry.submission_id,
                            extra=dict(person.extra) if person else {},
                            total=sum(scores.values()) if result is not None else None,
                            exercises=scores, flags=list(flags) + ([NOT_ON_ROSTER] if person and person.on_roster is False else []),
                            scorecard=link))
    for person in absent:
        rows.append(Row(key="", name=person.name, student_id=person.student_id, email=person.email,
                        extra=dict(person.extra), flags=[NO_SUBMISSION]))
    ordered = sorted(rates.values(), key=lambda r: (r.exercise, _check_order(r)))
    return ClassSummary(title=title, rows=rows, exercises=exercises, possible=possible, rates=ordered,
                        incidents=incidents, submissions=len(entries), warnings=warnings, interrupted=interrupted)


def _who(entry) -> str:
    return ", ".join(p.name or p.student_id or p.email for p in entry.people) or entry.origin


def _check_order(rate: CheckRate) -> int:
    graded = EXERCISES[rate.exercise].graded if rate.exercise in EXERCISES else ()
    return graded.index(rate.name) if rate.name in graded else len(graded)


def _why_not_graded(failure: str | None, interrupted: bool) -> str:
    """What an instructor is told of a submission with no record: the grader's failure, or the Ctrl-C before it."""
    if failure is None and interrupted:
        return "the batch was interrupted (Ctrl-C) before this submission was graded; run the same command again " \
               "to grade it (what was graded is kept)"
    return ("the grader failed on this submission (not the student's fault)" + (f": {failure}" if failure else "")
            + "; re-run the batch to retry it")


def _incidents(key: str, who: str, result: dict | None, link: str, why: str = "") -> list[Incident]:
    if result is None:
        return [Incident(NOT_GRADED, key, who, why or _why_not_graded(None, False))]
    found = []
    if result.get("error"):
        found.append(Incident(UNREADABLE, key, who, result["error"], scorecard=link))
    for ex in result.get("exercises", []):
        if ex.get("error"):
            kind = TIMEOUT if is_timeout(ex["error"]) else CRASH
            found.append(Incident(kind, key, who, ex["error"], ex["id"], link))
        for flag in ex.get("integrity", []):
            found.append(Incident(INTEGRITY, key, who, flag, ex["id"], link))
    return found
