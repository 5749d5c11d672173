"""Grade a whole class: find the submissions, grade the changed ones in parallel, write every output.

    run_batch("submissions.zip", "out/", jobs=2)  ->  BatchResult

Parallelism: `jobs` job processes, each owning one warm Grader for its whole life (its worker
process has imported torch and built the dataset once, and forks an isolated, limited child for
every run of a student's code). Processes, not threads in this one: the job's own share of the
work (reading a notebook's cells with `ast`, comparing with autograd) is pure Python, so threads
would queue on the GIL, and CPython 3.11's `ast` keeps per-interpreter state that concurrent
parses corrupt ("AST constructor recursion depth mismatch"). Only plain data crosses: the files'
bytes in, SubmissionResult.to_dict() out. With `dask`, the same unit of work
(`work.grade_payload`) runs on a Dask cluster's workers instead.

Never losing work: each result is saved (store.Store) the moment it arrives; a submission whose
files, grader version and rubric are unchanged since its record was written is not graded again;
grades.csv, class.html and every scorecard are rendered from the records at the end.
"""
from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__, data
from grader.submissions import archive
from grader.course import identity, rubric, store as store_mod, summary as summary_mod, work
from grader.course.classreport import draw_heatmaps, preload, write_class_html, write_scorecards
from grader.course.export import write_grades_csv
from grader.report.scorecard import write_atomic
from grader.course.work import payload

GRADES_CSV, CLASS_HTML, BATCH_JSON = "grades.csv", "class.html", "batch.json"


class BatchError(Exception):
    """The batch cannot start (unreadable input, roster or archive); str(e) says why."""


@dataclass
class BatchResult:
    """What a batch did: counts, the grader failures to retry, and where the outputs are."""

    out_dir: Path
    submissions: int = 0
    graded: int = 0
    skipped: int = 0  # unchanged since their record was written
    failed: list = field(default_factory=list)  # (key, message): the grader failed, not the student
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C: the outputs hold what had finished
    warnings: list = field(default_factory=list)  # the roster's: people not on it, roster students with no submission

    @property
    def grades_csv(self) -> Path:
        return self.out_dir / GRADES_CSV

    @property
    def class_html(self) -> Path:
        return self.out_dir / CLASS_HTML


class Progress:
    """What the batch reports as it goes (the CLI draws a progress bar); this one says nothing."""

    def start(self, total: int, skipped: int) -> None:
        pass

    def advance(self, key: str, ok: bool) -> None:
        pass

    def stop(self) -> None:
        pass


def run_batch(input_path, out_dir, *, names=None, options=None, jobs: int = 1, roster=None, exercise: int | None = None,
              dask: str | None = None, title: str = "backprop-ninja class report", force: bool = False,
              progress: Progress | None = None, submission_seconds: float | None = None) -> BatchResult:
    """Grade every submission in `input_path` (a folder or a .zip export) into `out_dir`.

    Raises BatchError (bad input), data.DataError (no names.txt) and identity.IdentityError (bad roster);
    a grader failure on one submission is recorded in BatchResult.failed and the batch goes on.
    `submission_seconds`: the watchdog's bound on grading one submission (default: work.submission_seconds).
    """
    from grader.options import Options

    started = time.monotonic()
    options = options or Options()
    progress = progress or Progress()
    names_path = data.names_path(names)
    fingerprint = rubric.fingerprint(options)
    out = Path(out_dir)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)  # results are the grader's and each student's own
    result = BatchResult(out)
    store = store_mod.Store(out)
    with tempfile.TemporaryDirectory(prefix="bpn-batch-") as tmp:
        entries, result.notes = _discover(Path(input_path), Path(tmp))
        absent = identity.Roster.load(roster).apply(entries) if roster else []
        keys = {e.key: store_mod.cache_key(e, fingerprint, exercise) for e in entries}
        pending = [e for e in entries if force or not store.is_done(e.key, keys[e.key])]
        result.submissions, result.skipped = len(entries), len(entries) - len(pending)
        by_key = {e.key: e for e in entries}

        def on_result(job: dict, graded: dict | None, error: BaseException | None) -> None:
            entry = by_key[job["key"]]
            if graded is None:
                result.failed.append((entry.key, f"{type(error).__name__}: {error}"))
            else:
                graded["notes"] = [*entry.notes, *graded.get("notes", [])]
                try:  # storing is per submission too: one that cannot be written stops nobody else
                    store.save(entry, keys[entry.key], graded)
                    result.graded += 1
                except Exception as exc:  # noqa: BLE001
                    result.failed.append((entry.key, f"could not store the result: {type(exc).__name__}: {exc}"))
                    graded = None
                if graded is not None:  # now, while the jobs grade the others, and off the thread that feeds them
                    drawer.submit(_draw_quietly, graded)
            progress.advance(entry.key, graded is not None)

        progress.start(len(entries), result.skipped)
        drawer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bpn-maps")
        try:
            jobs_iter = (payload(e.key, e.names, e.files, exercise) for e in pending)
            bound = submission_seconds or work.submission_seconds(options, max((len(e.files) for e in pending), default=1))
            if pending and dask:
                from grader.course import dask_cluster

                dask_cluster.run(dask, jobs_iter, names_path, options, fingerprint, on_result, seconds=bound)
            elif pending:
                _run_local(jobs_iter, min(max(1, jobs), len(pending)), names_path, options, on_result, bound)
        except KeyboardInterrupt:  # keep what finished: grades.csv and class.html come from the saved records
            result.interrupted = True
        finally:
            progress.stop()
            drawer.shutdown(wait=True, cancel_futures=result.interrupted)
        records = {e.key: store.load(e.key) for e in entries}
        records = {k: r for k, r in records.items() if r and r.get("cache_key") == keys[k]}
        summary = summary_mod.summarise(entries, records, absent, options, title, exercise,
                                        failed=dict(result.failed), interrupted=result.interrupted)
        result.warnings = list(summary.warnings) + ([
            f"{len(absent)} on the roster with no submission: " + ", ".join(p.name or p.student_id or p.email for p in absent[:5])
            + (" …" if len(absent) > 5 else "") + " (in grades.csv, flagged \"no submission\")"] if absent else [])
        write_grades_csv(summary, out / GRADES_CSV)
        write_class_html(summary, out / CLASS_HTML)
        # each names its student, out of grades.csv's total
        result.failed.extend(write_scorecards(summary, records, store.folder))
    result.seconds = time.monotonic() - started
    _write_batch_json(result, options, out)
    return result


def _draw_quietly(graded: dict) -> None:
    """Draw a result's error maps for the scorecards written at the end (they reuse them from the cache)."""
    try:
        draw_heatmaps(graded)
    except Exception:  # noqa: BLE001 - the scorecard tries again at the end, and says so if it fails
        pass


def _discover(input_path: Path, tmp: Path) -> tuple[list, list]:
    """The entries of a folder, or of a .zip unpacked into `tmp`."""
    if input_path.is_dir():
        return identity.discover(input_path, tmp / "staging")
    if input_path.suffix.lower() != ".zip":
        raise BatchError(f"{input_path}: expected a folder or a .zip export")
    try:
        notes = archive.extract(input_path, tmp / "input")
    except archive.ArchiveError as exc:
        raise BatchError(str(exc)) from None
    entries, more = identity.discover(tmp / "input", tmp / "staging", zipped=True)
    return entries, notes + more


def _run_local(jobs_iter, n: int, names_path: Path, options, on_result, seconds: float) -> None:
    """`n` job processes, each with its own warm Grader, watched: each submission ends within `seconds` (jobs.py)."""
    from grader.course import jobs as jobs_mod

    jobs_mod.run(jobs_iter, n, names_path, options, on_result, seconds, on_drain=preload)


def _write_batch_json(result: BatchResult, options, out: Path) -> None:
    """What the last run did, and with which rubric (for the record; nothing reads it back)."""
    info = {"grader_version": __version__, "submissions": result.submissions, "graded": result.graded,
            "skipped": result.skipped, "failed": [{"key": k, "error": e} for k, e in result.failed],
            "notes": result.notes, "seconds": round(result.seconds, 2), "options": rubric.describe(options)}
    write_atomic(out / BATCH_JSON, json.dumps(info, indent=2) + "\n")
