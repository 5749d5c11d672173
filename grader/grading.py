"""Grade a submission: run each exercise in the sandbox, compare with autograd in this process."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from grader import __version__, compare, data, model
from grader.submissions import scan
from grader.sandbox import wire
from grader.exercises import Exercise, get as get_exercise
from grader.options import Options  # noqa: F401 - re-exported: grading.Options
from grader.results import ERROR, MISSING, PASS, CheckResult, ExerciseResult, SubmissionResult
from grader.sandbox.runner import Outcome, Sandbox
from grader.submissions.reader import ExerciseCode, SubmissionError, load_submission
from grader.training import CHILD_TASKS
from grader.diagnosis import annotate
from grader.training.check import grade_training
from grader.verdicts import describe_failure, describe_variant, merge_variants  # noqa: F401 - re-exported

SUBMISSION_SUFFIXES = (".py", ".ipynb")
# The runs of one submission share a child (grader/sandbox/sessions.py), exercise 3 first: nothing exercise 1
# computes (its dlogits and dhprebn are exercises 2 and 3's answers) exists before they have run.
RUN_ORDER = (3, 2, 1, 4)


@dataclass
class Reference:
    """Autograd's answers for one variant: held by the parent only, never sent to a child."""

    setup: model.Setup
    grads32: dict
    grads64: dict


class Grader:
    """Grades submissions; holds the dataset, autograd's references and a warm sandbox."""

    def __init__(self, names: str | os.PathLike | None = None, options: Options | None = None,
                 sandbox: Sandbox | None = None, dataset=None):
        self.names = data.names_path(names)
        self.options = options or Options()
        self.sandbox = sandbox or Sandbox(self.names, CHILD_TASKS)
        self.sandbox.start()  # the worker warms up on the other core while this process builds its dataset
        self.ds = dataset if dataset is not None else data.load(self.names)
        self._references: dict = {}
        self._sessions = 0

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sandbox.close()

    def reference(self, variant: model.Variant) -> Reference:
        """Autograd's float32 and float64 gradients for `variant` (cached)."""
        if variant not in self._references:
            s = model.setup(self.ds, variant)
            self._references[variant] = Reference(s, model.autograd_gradients(s), model.autograd_gradients(s, torch.float64))
        return self._references[variant]

    def grade(self, paths, exercise: int | None = None) -> SubmissionResult:
        """Grade one student's files (a stub, a folder of stubs, a notebook); never raises for student faults."""
        result = SubmissionResult(submission=", ".join(str(p) for p in paths), grader_version=__version__)
        found: dict[int, ExerciseCode] = {}
        named = {Path(p) for p in paths}
        for path in expand(paths):
            try:  # --exercise N makes a file named on the command line exercise N; a folder's files say what they are
                sub = load_submission(path, exercise if path in named else None)
            except SubmissionError as exc:
                result.notes.append(str(exc))
                continue
            result.notes.extend(sub.notes)
            for ex_id, code in sub.exercises.items():
                if ex_id in found:
                    result.notes.append(f"exercise {ex_id} appears in {found[ex_id].source} and {code.source}; the last one counts")
                found[ex_id] = code
        if not found:
            result.error = "; ".join(result.notes) or "no exercise found"
        self._sessions += 1
        session = f"{os.getpid()}-{id(self)}-{self._sessions}"
        try:
            for ex_id in sorted(found, key=RUN_ORDER.index):
                if exercise is None or ex_id == exercise:
                    result.exercises.append(self.grade_exercise(found[ex_id], session))
        finally:
            self.sandbox.end_session()
        result.exercises.sort(key=lambda ex: ex.id)
        return result

    def grade_exercise(self, code: ExerciseCode, session: str | None = None) -> ExerciseResult:
        """Grade one exercise's code on every variant (runs of one `session` may share a child)."""
        ex = get_exercise(code.exercise)
        if ex.id == 4:
            return grade_training(self, code)
        result = ExerciseResult(id=ex.id, title=ex.title, source=code.source, notes=list(code.notes),
                                attempted=code.attempted)
        per_variant = []
        for variant in self.options.variants:
            outcome = self.sandbox.run(ex.id, code.code, variant, self.options.limits,
                                       options={"checkers": list(code.checkers)}, session=session)
            per_variant.append((variant, self.check_outcome(ex, outcome, variant, code)))
            result.seconds += outcome.seconds
            if variant is self.options.variants[0]:
                self.describe_run(result, outcome, code)
                if not code.attempted or not outcome.meta.get("values"):
                    break  # not attempted, or the run sent nothing back: the hidden variants cannot change that
        result.checks = merge_variants(per_variant)
        self.score(ex, result)
        return result

    def describe_run(self, result: ExerciseResult, outcome: Outcome, code: ExerciseCode) -> None:
        """What the public run printed, where it stopped, what it skipped, whether it used autograd."""
        limit = self.options.limits.output_bytes
        result.output = outcome.output + (f"\n[output truncated at {limit // 1024} KiB: output limit]" if outcome.output_truncated else "")
        result.error = describe_failure(outcome, code)
        for warning in outcome.meta.get("warnings") or []:
            if isinstance(warning, dict) and isinstance(warning.get("lineno"), int):
                result.notes.append(f"{code.locate(warning['lineno'])}: {warning.get('message', '')} "
                                    "(skipped: that line assigns nothing)")
        found = dict(scan.scan(code.code))
        if outcome.error and outcome.error.get("integrity"):
            found[outcome.error.get("lineno")] = outcome.error.get("message", "uses autograd")
            result.error = ""
        if not code.attempted:
            found = {}  # an untouched template (the lecture's starter keeps loss.backward() live) is no attempt to cheat
        result.integrity = [f"{code.locate(line)}: {text}" if isinstance(line, int) else text
                            for line, text in sorted(found.items(), key=lambda kv: kv[0] or 0)]

    def check_outcome(self, ex: Exercise, outcome: Outcome, variant: model.Variant, code: ExerciseCode) -> list[CheckResult]:
        """Compare what one run sent back with autograd's gradients for that variant."""
        ref = self.reference(variant)
        received = wire.answers(outcome.tensors, outcome.meta, ex.graded)
        stopped = describe_failure(outcome, code)
        checks = []
        for name in ex.graded:
            check = compare.compare(name, received[name], ref.grads32[name], ref.grads64[name], variant.batch_size,
                                    self.options.tolerance)
            public = variant == self.options.variants[0]  # its stop is told once, above the table
            if check.status == MISSING and stopped and received[name].kind == "missing":
                check.status = ERROR
                check.message = f"d{name} was never assigned: " + ("your code stopped before it" if public else stopped)
            elif check.status != PASS and stopped and not public:
                where = stopped if stopped.startswith("stopped") else f"your code stopped at {stopped}"
                check.message = f"{where}; {check.message}"
            check.variant = variant.name
            annotate(check, ex.id, received[name], ref.setup, ref.grads32, ref.grads64, self.options.hints,
                     getattr(self.ds, "itos", None), failed={c.name for c in checks if c.status != PASS})
            checks.append(check)
        return checks

    def score(self, ex: Exercise, result: ExerciseResult) -> None:
        """Points per check; an integrity flag zeroes the exercise when the options say so."""
        points = float(self.options.points.get(ex.id, ex.points))
        result.zeroed = zero = bool(result.integrity) and self.options.integrity_zeroes
        for check in result.checks:
            check.max_score = float(self.options.check_points.get((ex.id, check.name), points))
            check.score = check.max_score if check.status == PASS and not zero else 0.0


def expand(paths) -> list[Path]:
    """Files to grade: each path itself, or the submission files directly inside a folder."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.suffix in SUBMISSION_SUFFIXES and f.is_file()))
        else:
            files.append(p)
    return files
