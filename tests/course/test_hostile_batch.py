"""A hostile batch (issue 14): submissions and archives built to break a batch, mixed with correct classmates.

The batch must finish, grades.csv must have every row exactly once, every correct classmate full marks,
and each hostile submission a clear verdict. Real files, a real batch, real job processes.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from grader.course.batch import run_batch
from grader.options import Limits, Options

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "batch"))
import make_batch  # noqa: E402

GOOD = make_batch.solution(2)
CORRECT = ("alice-smith", "alice-smith-2", "alice-smith-3", "spaces", "caf", "zip-file-then-folder",
           "zip-folder-then-file", "zip-long-name", "zip-escape", "zip-lying-size", "semaphores", "own-metadata")
SEMAPHORES = '''import os
try:  # zeros over every shared mapping this process inherited (a pool's semaphores live in /dev/shm)
    with open("/proc/self/maps") as f:
        maps = [line.split() for line in f.read().splitlines()]
    with open("/proc/self/mem", "r+b", buffering=0) as mem:
        for fields in maps:
            if len(fields) > 5 and ("/dev/shm" in fields[5] or "sem." in fields[5]):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                mem.seek(start)
                mem.write(bytes(end - start))
except OSError:
    pass
'''
FAKE_RECORD = '''import json, os
from safetensors.torch import save
meta = {"values": {"dlogits": {"kind": "tensor"}}, "warnings": 5,
        "error": {"integrity": True, "lineno": [1], "message": {"a": "\\\\ud800" * 3}}, "deep": []}
for _ in range(5000):
    meta = {"a": meta}
frame = save({"dlogits": torch.zeros(3)}, metadata={"meta": json.dumps(meta)})
record = bytes([1]) + len(frame).to_bytes(8, "little") + frame
for fd in range(3, 64):
    try:
        os.write(fd, record)
    except OSError:
        pass
'''


def _zip(path: Path, members: list, flag_utf8: bool = False) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)


def _lying_size(path: Path) -> None:
    """A member whose headers claim more bytes than its data holds (zipfile then raises EOFError or zlib errors)."""
    _zip(path, [("ex2.py", GOOD), ("broken.py", "x = 1\n" * 5000)])
    data = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        k = data.rfind(sig)
        data[k + at:k + at + 4] = (10**6).to_bytes(4, "little")
        data[k + at - 4:k + at] = (len(data) // 50).to_bytes(4, "little")  # compressed size cut short too
    path.write_bytes(bytes(data))


def build_class(root: Path) -> None:
    root.mkdir()
    for name in ("Alice Smith.py", "alice_smith.py", "alice-smith-2.py"):
        (root / name).write_text(GOOD)
    (root / "surrogate.py").write_text("dlogits = torch.zeros_like(logits)\nraise ValueError('bad \\ud800 surrogate')\n")
    (root / "huge_message.py").write_text("dlogits = torch.zeros_like(logits)\nraise ValueError('x' * 20_000_000)\n")
    (root / "deep_attribute.py").write_text("dlogits = (logits\n" + ".T" * 100_000 + ")\n")
    (root / "fake_record.py").write_text("dlogits = torch.zeros_like(logits)\n" + FAKE_RECORD)
    (root / "semaphores.py").write_text(SEMAPHORES + GOOD)
    (root / "spaces.py").write_text(GOOD + " " * 50_000 + "\n")
    os.makedirs(root / "deep_metadata")
    nb = json.loads(make_batch.notebook({2: GOOD}))
    (root / "deep_metadata" / "work.ipynb").write_text(json.dumps(nb).replace('"metadata": {', '"metadata": {"x": '
                                                       + "[" * 100_000 + "]" * 100_000 + ", ", 1))
    cells = [{"cell_type": "code", "metadata": {}, "source": f"x{i} = {i}", "outputs": [], "execution_count": None}
             for i in range(16_000)] + [{"cell_type": "code", "metadata": {}, "source": GOOD, "outputs": [],
                                         "execution_count": None}]
    (root / "many_cells.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (root / os.fsdecode(b"caf\xe9.py")).write_text(GOOD)  # not UTF-8: the file system only has bytes
    _zip(root / "zip_file_then_folder.zip", [("a", "x"), ("a/b.py", "1"), ("ex2.py", GOOD)])
    _zip(root / "zip_folder_then_file.zip", [("a/b.py", "1"), ("a", "x"), ("ex2.py", GOOD)])
    _zip(root / "zip_long_name.zip", [("n" * 300 + ".py", "1"), ("ex2.py", GOOD)])
    _zip(root / "zip_escape.zip", [("/tmp/bpn-escaped.py", "1"), ("../../escaped.py", "1"), ("ex2.py", GOOD)])
    _zip(root / "zip_bomb.zip", [("bomb.py", b"\0" * (64 * 2**20))])
    _lying_size(root / "zip_lying_size.zip")
    bad = root / "zip_bad_utf8.zip"
    _zip(bad, [("ok.py", GOOD)])
    data = bytearray(bad.read_bytes().replace(b"ok.py", b"o\xff.py"))
    for sig, at in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
        data[data.find(sig) + at] |= 0x08  # the "names are UTF-8" flag
    bad.write_bytes(bytes(data))
    own = root / "own_metadata"  # a student's folder with Gradescope's file in it: not an export
    (own / "submission_1").mkdir(parents=True)
    (own / "submission_metadata.yml").write_text("submission_1:\n  :submitters:\n  - :name: Nobody\n")
    (own / "ex2.py").write_text(GOOD)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, names_path):
    base = tmp_path_factory.mktemp("hostile-batch")
    build_class(base / "class")
    options = Options(limits=Limits(seconds=10.0))
    result = run_batch(base / "class", base / "out", names=names_path, options=options, jobs=2)
    with open(base / "out" / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    records = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (base / "out" / "students").glob("*.json")}
    return {"result": result, "rows": rows, "records": records, "out": base / "out"}


def test_the_batch_finishes_with_every_row_exactly_once(hostile):
    keys = [row["key"] for row in hostile["rows"]]
    assert len(keys) == len(set(keys)) == hostile["result"].submissions == 20, keys
    assert not hostile["result"].failed, hostile["result"].failed
    (hostile["out"] / "class.html").read_text(encoding="utf-8")
    for page in (hostile["out"] / "students").glob("*.html"):
        page.read_text(encoding="utf-8")  # valid UTF-8 everywhere: no lone surrogate got through


def test_every_correct_classmate_has_full_marks(hostile):
    rows = {row["key"]: row for row in hostile["rows"]}
    for key in CORRECT:
        match = [k for k in rows if k == key or k.startswith(key)]
        assert match, (key, sorted(rows))
        assert rows[match[0]]["total"] == rows[match[0]]["max"] == "5", (key, rows[match[0]])


def test_same_named_students_never_share_a_key_or_a_scorecard(hostile):
    people = {r["entry"]["origin"]: r["entry"]["key"] for r in hostile["records"].values()}
    assert {people["Alice Smith.py"], people["alice_smith.py"], people["alice-smith-2.py"]} == \
        {"alice-smith", "alice-smith-2", "alice-smith-3"}
    assert people["alice-smith-2.py"] == "alice-smith-2"


def _verdict(hostile, key: str) -> str:
    result = hostile["records"][key]["result"]
    return " | ".join([result["error"], *result["notes"], *(e["error"] for e in result["exercises"]),
                       *(f for e in result["exercises"] for f in e["integrity"])])


@pytest.mark.parametrize("key, says", [
    ("surrogate", "ValueError: bad \ufffd surrogate"),
    ("huge-message", "more characters cut by the grader"),
    ("deep-attribute", "before finishing"),  # the child cannot compile it: it ends, the grader reads it as text
    ("deep-metadata", "too deeply nested"),
    ("many-cells", "16,001 cells, more than the grader reads (2,000)"),
    ("zip-bomb", "zip bomb"),
    ("zip-bad-utf8", "not a readable .zip"),
    ("zip-file-then-folder", "could not unpack 'a/b.py'"),
    ("zip-folder-then-file", "could not unpack 'a'"),
    ("zip-long-name", "File name too long"),
    ("zip-escape", "it would unpack outside the folder"),
    ("zip-lying-size", "could not unpack 'broken.py'"),
])
def test_each_hostile_submission_has_a_clear_verdict(hostile, key, says):
    assert says in _verdict(hostile, key)
    assert len(json.dumps(hostile["records"][key])) < 2_000_000


def test_a_fake_record_is_just_a_wrong_answer(hostile):
    result = hostile["records"]["fake-record"]["result"]
    assert result["score"] == 0 and len(json.dumps(result)) < 200_000


def test_a_students_own_metadata_file_does_not_make_the_class_a_gradescope_export(hostile):
    assert all(r["entry"]["platform"] == "folder" for r in hostile["records"].values())
    assert not list(Path("/tmp").glob("bpn-escaped.py"))


def test_the_watchdog_gives_a_verdict_and_the_batch_goes_on(tmp_path, names_path):
    """A submission still grading after the bound: its job process is replaced, it gets a verdict row."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "slow.py").write_text("import time\ntime.sleep(300)\ndlogits = 0\n")
    (tmp_path / "in" / "good.py").write_text(GOOD)
    options = Options(limits=Limits(seconds=120.0))
    result = run_batch(tmp_path / "in", tmp_path / "out", names=names_path, options=options, jobs=1,
                       submission_seconds=20.0)
    rows = {row["key"]: row for row in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))}
    assert sorted(rows) == ["good", "slow"] and not result.failed
    assert rows["good"]["total"] == "5"
    record = json.loads((tmp_path / "out" / "students" / "slow.json").read_text())
    assert "took longer than the batch's time limit of 20 s" in record["result"]["error"]
    assert "timeout" in rows["slow"]["flags"]
