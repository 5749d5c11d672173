"""Grade a submission: run each exercise in the sandbox, compare with autograd in this process."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from grader import __version__, compare, data, model
from grader.submissions import archive, notebook, scan
from grader.submissions.files import expand, prefer
from grader.sandbox import reach, statements, wire
from grader.exercises import EXERCISES, Exercise, get as get_exercise
from grader.options import Options  # noqa: F401 - re-exported: grading.Options
from grader.results import ERROR, MISSING, PASS, CheckResult, ExerciseResult, SubmissionResult, clean_text
from grader.sandbox.runner import Outcome, Sandbox
from grader.submissions.reader import ExerciseCode, SubmissionError, load_submission
from grader.training import CHILD_TASKS
from grader.diagnosis import annotate, hints_for
from grader.diagnosis.generic import matmul_error
from grader.training.check import grade_training
from grader.verdicts import (Followed, changed_from, describe_failure, describe_variant,  # noqa: F401 - re-exported
                             follow_through, merge_variants, raised_from)

# The runs of one submission share a child (grader/sandbox/sessions.py), exercise 3 first: nothing exercise 1
# computes (its dlogits and dhprebn are exercises 2 and 3's answers) exists before they have run.
RUN_ORDER = (3, 2, 1, 4)


@dataclass
class Reference:
    """Autograd's answers for one variant: held by the parent only, never sent to a child."""

    setup: model.Setup
    grads32: dict
    grads64: dict


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while grading: `result` holds the exercises that had finished (the CLI still writes them)."""

    def __init__(self, result: SubmissionResult):
        super().__init__()
        self.result = result


@dataclass
class ExerciseRun:
    """One exercise's runs: as written on each variant (public first), then follow-through by variant name."""

    ex: Exercise
    code: ExerciseCode
    written: list = field(default_factory=list)  # [(variant, Outcome)]
    followed: dict = field(default_factory=dict)  # variant name -> Outcome of the follow-through run
    right: dict = field(default_factory=dict)  # variant name -> its checks, every one passed as written (no follow-through)


def followed(run: "ExerciseRun", variant) -> Outcome | None:
    """The follow-through run of `variant` when it finished with answers; None: that variant is graded as written."""
    ft = run.followed.get(variant.name)
    return ft if ft is not None and not ft.stopped and isinstance(ft.meta.get("values"), dict) else None


def placeholder_zeros(run: "ExerciseRun") -> bool:
    """Every gradient of a many-gradient exercise is an all-zero tensor: placeholders, not an attempt.

    (Two of exercise 1's gradients really are zero; zeros there count in a real attempt.)
    """
    if len(run.ex.graded) < 2 or not run.written:
        return False
    received = wire.answers(run.written[0][1].tensors, run.written[0][1].meta, run.ex.graded)
    return all(a.kind == "tensor" and a.tensor.numel() and not bool(a.tensor.any()) for a in received.values())


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

    def grade(self, paths, exercise: int | None = None, whole: bool | None = None) -> SubmissionResult:
        """Grade one student's files (a stub, a folder of stubs, a notebook); never raises for student faults.

        A notebook or a folder is graded out of all four exercises (a missing one scores 0 of its
        points, "not found"); a single stub out of its own exercise; `exercise` picks one. `whole`
        says which it is when the caller knows (a batch: every submission is a whole one).
        """
        result = SubmissionResult(submission=clean_text(", ".join(str(p) for p in paths)), grader_version=__version__)
        found, inferred = self.read(paths, exercise, result)
        whole = inferred if whole is None else whole
        if not found:
            result.error = "; ".join(result.notes) or "no exercise found"
        wanted = [ex_id for ex_id in sorted(found, key=RUN_ORDER.index) if exercise is None or ex_id == exercise]
        self._sessions += 1
        session = f"{os.getpid()}-{id(self)}-{self._sessions}"
        runs, graded = [ExerciseRun(get_exercise(ex_id), found[ex_id]) for ex_id in wanted if ex_id != 4], {}
        try:
            try:
                for variant in self.options.variants:  # every public run before any hidden one (private seeds)
                    for run in runs:
                        self.run_variant(run, variant, session)
            finally:
                self.sandbox.end_session()
            if 4 in wanted:
                graded[4] = grade_training(self, found[4])
            for run in runs:  # after every as-written run of the submission, each in a child that ends with it
                self.run_follow_through(run)
        except KeyboardInterrupt:  # keep the exercises whose every run finished
            for run in runs:
                if run.written and (len(run.written) == len(self.options.variants) or not run.code.attempted):
                    graded[run.ex.id] = self.assemble(run)
            result.exercises = [graded[k] for k in sorted(graded)]
            raise Interrupted(result) from None
        for run in runs:
            graded[run.ex.id] = self.assemble(run)
        expected = ({exercise} if exercise else set(EXERCISES)) if whole and found else set()  # nothing found: an error
        for ex_id in expected - set(graded):
            graded[ex_id] = self.not_found(ex_id)
        result.exercises = [graded[k] for k in sorted(graded)]
        return result

    def read(self, paths, exercise: int | None, result: SubmissionResult) -> tuple[dict, bool]:
        """({exercise id: ExerciseCode}, whether the work is a whole notebook or folder) for `paths`."""
        found: dict[int, ExerciseCode] = {}
        named = {Path(p) for p in paths}
        whole = any(Path(p).is_dir() or Path(p).suffix.lower() == ".zip" for p in paths)
        with archive.unpacked(expand(paths)) as (files, unpack_notes):  # a student's own .zip: its files
            result.notes.extend(unpack_notes)
            for path in files:
                try:  # --exercise N makes a file named on the command line exercise N; a folder's files say what they are
                    sub = load_submission(path, exercise if path in named else None)
                except SubmissionError as exc:
                    result.notes.append(str(exc))
                    whole = whole or path.suffix.lower() == ".ipynb"
                    continue
                whole = whole or sub.whole
                result.notes.extend(sub.notes)
                for ex_id, code in sub.exercises.items():
                    if ex_id in found:  # two files of one exercise: the one named like the stub wins
                        code, note = prefer(ex_id, found[ex_id], code)
                        result.notes.append(note)
                        result.duplicates.append(note)
                    found[ex_id] = code
        return found, whole

    def not_found(self, ex_id: int) -> ExerciseResult:
        """An exercise the notebook or folder does not hold: 0 of its points."""
        ex = get_exercise(ex_id)
        result = ExerciseResult(id=ex.id, title=ex.title, attempted=False, found=False,
                                notes=[f"exercise {ex.id} not found: no cell or file assigns {', '.join(ex.gradient_names[:3])}"
                                       + (" …" if len(ex.graded) > 3 else "")])
        result.checks = [CheckResult(name=name, status=MISSING, message="not found", expected_shape=None)
                         for name in (ex.graded + (("training",) if ex.id == 4 else ()))]
        self.score(ex, result)
        return result

    def grade_exercise(self, code: ExerciseCode, session: str | None = None) -> ExerciseResult:
        """Grade one exercise's code on every variant (runs of one `session` may share a child)."""
        if code.exercise == 4:
            return grade_training(self, code)
        run = self.run_as_written(code, session)
        if session is not None:
            self.sandbox.end_session()
        self.run_follow_through(run)
        return self.assemble(run)

    def run_as_written(self, code: ExerciseCode, session: str | None) -> "ExerciseRun":
        """The exercise as the student wrote it, on each variant (public first), as Jupyter would run it."""
        run = ExerciseRun(get_exercise(code.exercise), code)
        for variant in self.options.variants:
            self.run_variant(run, variant, session)
        return run

    def run_variant(self, run: "ExerciseRun", variant: model.Variant, session: str | None) -> None:
        """One as-written run; a hidden variant only after a public run that was attempted and sent answers back."""
        if run.written and (not run.code.attempted or not run.written[0][1].meta.get("values")):
            return  # not attempted, or the run sent nothing back: the hidden variants cannot change that
        options = {"checkers": list(run.code.checkers), "cells": run.code.cell_starts(),
                   "reach": scan.flagged_lines(run.code.code, tuple(run.code.cell_starts()))}
        outcome = self.sandbox.run(run.ex.id, run.code.code, variant, self.options.limits, options=options, session=session)
        run.written.append((variant, outcome))

    def run_follow_through(self, run: "ExerciseRun") -> None:
        """The follow-through runs (grader/sandbox/statements.py), one fresh child each; what they print is dropped."""
        if not (self.options.follow_through and len(run.ex.graded) > 1 and run.code.attempted):
            return
        options = {"checkers": list(run.code.checkers), "mode": "follow_through", "cells": run.code.cell_starts()}
        session = f"follow-through-{os.getpid()}-{id(run)}"  # a child of their own, shared by this exercise's variants
        try:
            for variant, outcome in run.written:
                if outcome.meta.get("values") is None:
                    continue
                checks = self.check_outcome(run.ex, outcome, variant, run.code, diagnose=False)
                if all(check.status == PASS for check in checks):  # right inputs would change nothing
                    run.right[variant.name] = checks
                    continue
                run.followed[variant.name] = self.sandbox.run(run.ex.id, run.code.code, variant, self.options.limits,
                                                              options=options, session=session)
        finally:
            self.sandbox.end_session()

    def assemble(self, run: "ExerciseRun") -> ExerciseResult:
        """The exercise's verdicts from its runs: per gradient (follow-through) or per run (as written)."""
        ex, code = run.ex, run.code
        result = ExerciseResult(id=ex.id, title=ex.title, source=code.source, notes=list(code.notes),
                                attempted=code.attempted)
        # a cause is diagnosed once, where the verdict is final: on the follow-through answer when there is one
        written = [(v, run.right.get(v.name) or self.check_outcome(ex, o, v, code, diagnose=followed(run, v) is None))
                   for v, o in run.written]
        result.seconds = sum(o.seconds for _, o in run.written)
        self.describe_run(result, run.written[0][1], code)
        if run.followed or run.right:
            parsed = statements.parse_quietly(code.code, notebook.parse, code.cell_starts())
            result.checks, result.fix_first = self.follow(run, written, parsed)
            outcome = run.written[0][1]
            line, wrong = outcome.error.get("lineno") if outcome.error else None, {c.name for c in result.checks if not c.passed}
            told = any(st.lineno <= line <= st.end_lineno and {n for n in wrong if "d" + n in st.writes} for st in parsed) \
                if isinstance(line, int) else False
            if told and not outcome.stopped and not outcome.error.get("integrity"):
                result.error = ""  # told once, on the row of the gradient whose statement raised (not if it was assigned again)
        else:
            result.checks = merge_variants(written, private=self.options.private_variants)
        if placeholder_zeros(run):
            result.attempted, result.fix_first = False, []
            result.notes.append("every gradient is all zeros (torch.zeros_like placeholders): nothing to grade yet")
            for check in result.checks:
                check.status, check.cause, check.upstream, check.message = MISSING, "", [], "all zeros: not attempted yet"
        self.score(ex, result)
        return result

    def follow(self, run: "ExerciseRun", written: list, parsed: list) -> tuple[list, list]:
        """Follow-through verdicts (grader/verdicts.py) from both runs of every variant; `parsed`: the code's statements."""
        ex, code = run.ex, run.code
        writers = {name: statements.writer_lines(parsed, name, code.renamed.get("d" + name)) for name in ex.graded}
        reads = {name: {r[1:] for st in parsed if "d" + name in st.writes for r in st.reads
                        if r.startswith("d") and r[1:] in ex.graded} for name in ex.graded}
        per_variant = []
        for (variant, outcome), (_, checks) in zip(run.written, written):
            ft = followed(run, variant)
            if ft is None:
                followed_checks, raised, ft_meta = {}, {}, {}  # no follow-through answer: as written for this variant
            else:
                ref = self.reference(variant)
                received = wire.answers(ft.tensors, ft.meta, ex.graded)
                followed_checks = {name: annotate(compare.compare(name, received[name], ref.grads32[name], ref.grads64[name],
                                                           variant.batch_size, self.options.tolerance),
                                           ex.id, received[name], ref.setup, ref.grads32, ref.grads64, self.options.hints,
                                           getattr(self.ds, "itos", None), failed=())
                            for name in ex.graded if received[name].kind != "missing"}
                raised, ft_meta = raised_from(ft.meta, ex.graded), ft.meta
            errors = {e["lineno"]: e.get("message", "") for e in outcome.meta.get("errors") or []
                      if isinstance(e, dict) and isinstance(e.get("lineno"), int)}
            per_variant.append(Followed(variant, checks, followed_checks, raised,
                                        changed_from(outcome.meta, ft_meta, graded=ex.graded), errors))
        checks, first = follow_through(per_variant, code, writers, reads, statements.aliases(parsed, ex.graded),
                                       private=self.options.private_variants)
        for check in checks:
            if check.status == ERROR and check.cause and not check.diagnosis:  # a matmul whose shapes do not fit
                check.diagnosis = matmul_error(check.name, check.message, check.code) or ""
            if check.status != PASS and not check.hints and self.options.hints:  # rows told from the run as written
                check.hints = hints_for(ex.id, check.name)
        return checks, first

    def describe_run(self, result: ExerciseResult, outcome: Outcome, code: ExerciseCode) -> None:
        """What the public run printed, where it stopped, what it skipped, whether it used autograd."""
        limit = self.options.limits.output_bytes
        result.output = outcome.output + (f"\n[output truncated at {limit // 1024} KiB: output limit]" if outcome.output_truncated else "")
        result.error = describe_failure(outcome, code)
        result.timed_out = bool(outcome.meta.get("timed_out"))
        errors = [e for e in outcome.meta.get("errors") or [] if isinstance(e, dict)]
        result.crashed = bool(errors)
        if len(errors) > 1 and not outcome.stopped:
            result.notes.extend(f"{code.locate(e['lineno'])}: {e.get('message', 'an error')} (the rest of that cell did not run)"
                                for e in errors[1:] if isinstance(e.get("lineno"), int))
        for warning in outcome.meta.get("warnings") or []:
            if isinstance(warning, dict) and isinstance(warning.get("lineno"), int):
                result.notes.append(f"{code.locate(warning['lineno'])}: {warning.get('message', '')} "
                                    "(skipped: that line assigns nothing)")
        found = dict(scan.scan(code.code, cell_starts=tuple(code.cell_starts())))
        for line in reach.unreached(found, outcome.meta.get("reached")):  # flagged code that never ran
            result.notes.append(f"{code.locate(line)}: {found.pop(line)}, in code that never ran (not counted; for the instructor)")
        if outcome.error and outcome.error.get("integrity"):
            found[outcome.error.get("lineno")] = outcome.error.get("message", "uses autograd")
            result.error = ""
        if not code.attempted:
            found = {}  # an untouched template (the lecture's starter keeps loss.backward() live) is no attempt to cheat
        result.integrity = [f"{code.locate(line)}: {text}" if isinstance(line, int) else text
                            for line, text in sorted(found.items(), key=lambda kv: kv[0] or 0)]

    def check_outcome(self, ex: Exercise, outcome: Outcome, variant: model.Variant, code: ExerciseCode,
                      diagnose: bool = True) -> list[CheckResult]:
        """Compare what one run sent back with autograd's gradients for that variant (and diagnose a failure)."""
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
                before = "nothing of your code ran" if code.nothing_ran(outcome.error) else "your code stopped before it"
                check.message = f"d{name} was never assigned: " + (before if public else stopped)
            elif check.status != PASS and stopped and not public:
                where = stopped if stopped.startswith("stopped") else f"your code stopped at {stopped}"
                check.message = f"{where}; {check.message}"
            if check.status in (MISSING, ERROR) and "d" + name in code.hints:  # near names: "did you mean `dlogits_fast` ...?"
                check.message = f"{check.message}; {code.hints['d' + name]}"
            check.variant = variant.name
            if diagnose:
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

