"""grader/batch.py end to end: 40 real submissions, a real kill -9 midway, re-runs, a zip, a Dask cluster."""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.course.batch import run_batch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "batch"))
import make_batch  # noqa: E402

RUBRIC = "[limits]\nseconds = 4\n"  # the endless loop costs 3 variants x 4 s, not 3 x 20 s


def batch_cmd(input_path, out, *extra) -> list[str]:
    return [sys.executable, "-m", "grader", "batch", str(input_path), "--out", str(out), "--jobs", "2", "-q", *extra]


def read_rows(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def records(out: Path) -> dict:
    return {p.stem: p.stat().st_mtime_ns for p in (out / "students").glob("*.json")}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The 40-submission batch, killed with SIGKILL once some results are saved, then run again to the end."""
    base = tmp_path_factory.mktemp("batch40")
    class_dir, out, rubric = base / "class", base / "out", base / "rubric.toml"
    students = make_batch.write(class_dir)
    rubric.write_text(RUBRIC)
    cmd = batch_cmd(class_dir, out, "--rubric", str(rubric))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(records(out)) < 10 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, f"the batch ended before it could be killed: {proc.stdout.read().decode()}"
        proc.send_signal(signal.SIGKILL)  # the batch process only: its workers are orphaned, as after a crash
        proc.wait()
    finally:
        time.sleep(0.5)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what is left of the process group this test started
        except ProcessLookupError:
            pass
    before = records(out)
    assert 10 <= len(before) < 40
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return {"class": class_dir, "out": out, "rubric": rubric, "students": students, "before": before, "rerun": rerun}


def test_kill_midway_then_rerun_completes_without_regrading(finished):
    rerun, before, out = finished["rerun"], finished["before"], finished["out"]
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"40 submissions: {40 - len(before)} graded, {len(before)} unchanged, 0 failed" in rerun.stdout
    after = records(out)
    assert len(after) == 40
    assert {k: after[k] for k in before} == before  # the finished ones were not written again
    keys = [row["key"] for row in read_rows(out)]
    assert sorted(keys) == sorted(finished["students"]) and len(keys) == len(set(keys)) == 40
    assert not list((out / "students").glob(".*"))  # no half-written file left behind


def test_grades_match_what_each_student_did(finished):
    rows = {row["key"]: row for row in read_rows(finished["out"])}
    header = list(next(iter(rows.values())))
    assert header[:6] == ["name", "student_id", "email", "platform", "submission_id", "key"]
    assert header[6:9] == ["total", "max", "percent"] and header[-2:] == ["flags", "scorecard"]
    assert [h for h in header if h.startswith("ex")] == ["ex1", "ex2", "ex3", "ex4"]
    possible = {1: 26.0, 2: 5.0, 3: 5.0, 4: float(rows["alan-turing"]["ex4"])}
    for name, student in finished["students"].items():
        row = rows[name]
        scored = {e for e in (1, 2, 3, 4) if float(row[f"ex{e}"]) > 0}
        assert scored == set(student.exercises), (name, row)
        if student.full:
            assert all(float(row[f"ex{e}"]) == possible[e] for e in student.exercises), (name, row)
        assert set(student.flags) <= set(row["flags"].split(";")), (name, row["flags"])
        assert float(row["total"]) == sum(float(row[f"ex{e}"]) for e in (1, 2, 3, 4))
        assert row["scorecard"] == f"students/{name}.html"


def test_every_student_has_a_scorecard_and_a_record(finished):
    out = finished["out"]
    for name in finished["students"]:
        record = json.loads((out / "students" / f"{name}.json").read_text())
        assert record["entry"]["key"] == name and len(record["cache_key"]) == 64
        html = (out / "students" / f"{name}.html").read_text()
        assert "backprop-ninja scorecard" in html
    page = (out / "class.html").read_text()
    assert "data:image/png;base64," in page and 'id="heatmap-ex1"' in page
    assert len(re.findall(r'<(?:div|a) class="cell', page)) == 26 + 1 + 1 + 8  # exercise 4: 7 gradients and the training check
    assert "radia-perlman" in page.split("Timeouts, crashes and integrity flags")[1].split("<h2>Students")[0]
    batch_info = json.loads((out / "batch.json").read_text())
    assert batch_info["options"]["limits"]["seconds"] == 4


def test_the_same_class_zipped_is_already_graded(finished, tmp_path):
    """A .zip of the folder finds the same students with the same files: nothing to grade, same grades.csv."""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(finished["class"].rglob("*")):
            if path.is_file():
                zf.write(path, "export/" + path.relative_to(finished["class"]).as_posix())
    before = (finished["out"] / "grades.csv").read_text()
    run = subprocess.run(batch_cmd(archive, finished["out"], "--rubric", str(finished["rubric"])),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 graded, 40 unchanged" in run.stdout
    assert (finished["out"] / "grades.csv").read_text() == before


def test_changed_or_damaged_records_are_graded_again(finished, names_path):
    """A changed file and a truncated record each cause a regrade; nothing else does (library call = CLI)."""
    from grader.course.rubric import load_rubric

    out, class_dir = finished["out"], finished["class"]
    (class_dir / "margaret-hamilton.py").write_text(make_batch.solution(2, "ex2_no_n"))
    (out / "students" / "rosalind-picard.json").write_text('{"schema": 1, "cache_')
    options = load_rubric(finished["rubric"])
    result = run_batch(class_dir, out, names=names_path, options=options, jobs=2)
    assert (result.graded, result.skipped, result.failed) == (2, 38, [])
    rows = {row["key"]: row for row in read_rows(out)}
    assert float(rows["margaret-hamilton"]["total"]) == 0 and float(rows["rosalind-picard"]["total"]) == 26


def test_a_grader_failure_is_reported_not_lost(tmp_path, names_path):
    """Code that kills the grading worker: the batch goes on, the row says 'not graded', a re-run retries it."""
    write = {"good.py": make_batch.solution(2),
             "killer.py": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + make_batch.solution(2)}
    for name, text in write.items():
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_text(text)
    from grader.grading import Options

    first = run_batch(tmp_path / "in", tmp_path / "out", names=names_path, options=Options(), jobs=1)
    rows = {row["key"]: row for row in read_rows(tmp_path / "out")}
    assert sorted(rows) == ["good", "killer"] and rows["good"]["total"] == "5"
    if first.failed:  # the sandbox let the child kill its worker: a grader failure, not the student's
        assert [k for k, _ in first.failed] == ["killer"] and rows["killer"]["flags"] == "not graded"
        again = run_batch(tmp_path / "in", tmp_path / "out", names=names_path, options=Options(), jobs=1)
        assert (again.skipped, len(again.failed)) == (1, 1)
    else:
        assert rows["killer"]["flags"] != "not graded"


def test_one_exercise_of_a_folder_of_stubs(tmp_path, names_path):
    """--exercise 2 grades exercise 2 only, found among the student's stubs by name (not every file as ex2)."""
    from grader.grading import Options

    for rel, content in make_batch.CLASS["ada-lovelace"][1].items():
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).write_text(content)
    (tmp_path / "in" / "bob.py").write_text(make_batch.solution(3))
    run_batch(tmp_path / "in", tmp_path / "out", names=names_path, options=Options(), jobs=1, exercise=2)
    rows = {row["key"]: row for row in read_rows(tmp_path / "out")}
    assert [h for h in rows["bob"] if h.startswith("ex")] == ["ex2"]
    assert (rows["ada-lovelace"]["total"], rows["ada-lovelace"]["max"]) == ("5", "5")
    assert rows["bob"]["total"] == "0" and rows["bob"]["flags"] == "unreadable"  # no exercise 2 in it


def test_dask_cluster_gives_identical_outputs(tmp_path, names_path):
    distributed = pytest.importorskip("distributed")
    picked = ["ada-lovelace", "claude-shannon", "margaret-hamilton", "ursula-franklin", "tim-berners-lee", "jean-sammet"]
    for name in picked:
        for rel, content in make_batch.CLASS[name][1].items():
            path = tmp_path / "in" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    from grader.grading import Options

    local = run_batch(tmp_path / "in", tmp_path / "local", names=names_path, options=Options(), jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_batch(tmp_path / "in", tmp_path / "dask", names=names_path, options=Options(),
                           dask=cluster.scheduler_address)
    assert (local.graded, remote.graded, remote.failed) == (6, 6, [])
    assert (tmp_path / "local" / "grades.csv").read_text() == (tmp_path / "dask" / "grades.csv").read_text()
    for name in picked:
        a, b = (json.loads((tmp_path / d / "students" / f"{name}.json").read_text()) for d in ("local", "dask"))
        assert strip_timing(a) == strip_timing(b), name


def strip_timing(record: dict) -> dict:
    """A record without what differs between two runs of the same grading: when, and how long."""
    result = dict(record["result"], timestamp=None)
    result["exercises"] = [dict(ex, seconds=None, extra=_no_timing(ex.get("extra"))) for ex in result["exercises"]]
    return dict(record, result=result)


def _no_timing(extra):
    if not isinstance(extra, dict):
        return extra
    return {k: v for k, v in extra.items() if not any(t in k for t in ("ms", "seconds", "speed", "summary"))}


def test_batch_and_gradescope_help_have_examples():
    from click.testing import CliRunner

    from grader.cli import cli

    for args in (["batch", "--help"], ["gradescope", "--help"], ["gradescope", "build", "--help"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0 and "Example" in result.output, args


def test_bad_input_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    run = subprocess.run([sys.executable, "-m", "grader", "batch", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "expected a folder or a .zip export" in run.stderr


def test_the_batch_process_itself_never_imports_torch(tmp_path, names_path):
    """Only job processes and workers import torch (0.8 s each): the command's own process stays light."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ada.py").write_text(make_batch.solution(2))
    script = ("import os, sys\nfrom grader.cli import main\n"
              # main() leaves by os._exit once matplotlib drew the class's histogram: say what was imported first
              "leave = os._exit\n"
              "os._exit = lambda code: (print('torch imported:', 'torch' in sys.modules, flush=True), leave(code))\n"
              f"sys.argv = ['backprop-ninja', 'batch', {str(tmp_path / 'in')!r}, '--out', {str(tmp_path / 'out')!r}, "
              f"'--jobs', '1', '-q', '--names', {str(names_path)!r}]\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\nprint('torch imported:', 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "torch imported: False" in done.stdout, done.stdout + done.stderr
    assert "1 graded" in done.stdout


HUNTER = """import gc
gc.unfreeze()  # the worker froze its objects: back into the lists get_objects() reads
for t in gc.get_objects():
    if isinstance(t, torch.Tensor) and tuple(t.shape) in ((32, 27), (32, 64)):
        print("hunt", repr(float((t.double() ** 2).sum())))
dlogits = torch.zeros(1)
"""


def test_a_batch_workers_memory_holds_no_autograd_gradient(tmp_path, names_path):
    """Batch workers are forked from their job process: before it computed any reference, so a student
    searching every object of its child finds no tensor equal to autograd's dlogits or dhprebn."""
    import torch

    from grader import data, model

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "hunter.py").write_text(HUNTER)
    result = run_batch(tmp_path / "in", tmp_path / "out", names=names_path, jobs=1)
    assert result.graded == 1
    record = json.loads((tmp_path / "out" / "students" / "hunter.json").read_text())
    output = next(e for e in record["result"]["exercises"] if e.get("found", True))["output"]
    seen = [float(line.split()[1]) for line in output.splitlines() if line.startswith("hunt ")]
    assert len(seen) > 5  # the hunt works: it sees the forward pass's tensors of those shapes
    grads = model.autograd_gradients(model.setup(data.load(names_path), model.PUBLIC), torch.float64)
    for name in ("logits", "hprebn"):
        secret = float((grads[name] ** 2).sum())
        assert not any(abs(v - secret) <= 1e-5 * secret for v in seen), name  # float32 or float64 alike
