"""grader/identity.py and grader/archive.py: who each submission belongs to, from real export layouts."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.course import archive
from grader.course.identity import IdentityError, Roster, discover, slug

GRADESCOPE_YML = """\
submission_101:
  :submitters:
  - :name: Jane Doe
    :sid: '2001'
    :email: jane@uni.edu
  :created_at: 2024-03-01 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.1e2
  :history: []
submission_102:
  :submitters:
  - :name: Ali Ben
    :sid: '2002'
    :email: ali@uni.edu
  - :name: Bo Chen
    :sid: '2003'
    :email: bo@uni.edu
  :created_at: 2024-03-01 11:00:00.000000000 -08:00
"""


def files(root: Path, layout: dict) -> Path:
    for rel, text in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


def zip_folder(folder: Path, dest: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return dest


def by_key(entries):
    return {e.key: e for e in entries}


def test_canvas_names(tmp_path):
    root = files(tmp_path / "in", {
        "doejane_12345_678901_ex1_backprop_one_by_one.py": "dlogprobs = None\n",
        "doejane_12345_678901_ex2_cross_entropy-1.py": "dlogits = None\n",
        "benali_late_22222_678950_backprop.ipynb": "{}",
    })
    entries, notes = discover(root, tmp_path / "staging")
    found = by_key(entries)
    assert set(found) == {"doejane-12345", "benali-22222"}
    jane = found["doejane-12345"]
    assert jane.platform == "canvas" and jane.submission_id == "678901" and not jane.late
    assert jane.people[0].student_id == "12345"
    assert jane.names == ["ex1_backprop_one_by_one.py", "ex2_cross_entropy-1.py"]  # Canvas's prefix removed
    assert found["benali-22222"].late
    assert notes == []


def test_moodle_folders(tmp_path):
    root = files(tmp_path / "in", {
        "Jane Doe_4711_assignsubmission_file_/ex2_cross_entropy.py": "dlogits = None\n",
        "Jane Doe_4711_assignsubmission_file_/sub/ex3_batchnorm.py": "dhprebn = None\n",
        "Jane Doe_4711_assignsubmission_onlinetext_/onlinetext.html": "<p>hi</p>",
        "Zoë Ünal_4712_assignsubmission_file_/notebook.ipynb": "{}",
    })
    entries, _ = discover(root, tmp_path / "staging")
    found = by_key(entries)
    assert set(found) == {"jane-doe-4711", "zoe-unal-4712"}
    jane = found["jane-doe-4711"]
    assert jane.platform == "moodle" and jane.people[0].name == "Jane Doe" and jane.people[0].student_id == "4711"
    assert jane.names == ["ex2_cross_entropy.py", "sub/ex3_batchnorm.py"]
    assert found["zoe-unal-4712"].people[0].name == "Zoë Ünal"


def test_gradescope_export_zip_with_group(tmp_path):
    folder = files(tmp_path / "export", {
        "assignment_9_export/submission_metadata.yml": GRADESCOPE_YML,
        "assignment_9_export/submission_101/ex2_cross_entropy.py": "dlogits = None\n",
        "assignment_9_export/submission_102/work/backprop.ipynb": "{}",
        "assignment_9_export/submission_103/ex2.py": "dlogits = None\n",
    })
    zipped = zip_folder(folder, tmp_path / "export.zip")
    unpacked = tmp_path / "unpacked"
    assert archive.extract(zipped, unpacked) == []
    entries, _ = discover(unpacked, tmp_path / "staging", zipped=True)
    found = by_key(entries)
    assert set(found) == {"jane-doe-101", "ali-ben-102", "student-103"}
    assert [p.email for p in found["ali-ben-102"].people] == ["ali@uni.edu", "bo@uni.edu"]
    assert found["jane-doe-101"].people[0].student_id == "2001"
    assert found["ali-ben-102"].names == ["work/backprop.ipynb"]
    assert "not in submission_metadata.yml" in found["student-103"].notes[0]


def test_plain_folder_mixes_files_folders_zips_and_skips_junk(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("ex2_cross_entropy.py", "dlogits = None\n")
        zf.writestr("__MACOSX/._ex2_cross_entropy.py", "junk")
        zf.writestr("../../evil.py", "boom")
    root = files(tmp_path / "in", {
        "alice.ipynb": "{}",
        "bob/ex1_backprop_one_by_one.py": "x = 1\n",
        "bob/.ipynb_checkpoints/ex1-checkpoint.py": "old\n",
        "bob/answers.pdf": b"%PDF",
        "carol.zip": inner.read_bytes(),
        "roster.csv": "name\n",
        ".DS_Store": b"\0",
    })
    entries, notes = discover(root, tmp_path / "staging")
    found = by_key(entries)
    assert set(found) == {"alice", "bob", "carol"}
    assert found["bob"].names == ["ex1_backprop_one_by_one.py"]
    assert any("answers.pdf" in n for n in found["bob"].notes)
    assert found["carol"].names == ["carol.zip:ex2_cross_entropy.py"]
    assert any("evil.py" in n for n in found["carol"].notes)
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "staging").parent.joinpath("evil.py").exists()
    assert notes == ["skipped roster.csv: not a .py, .ipynb or .zip file, nor a student's folder"]


def test_keys_are_unique_and_stable(tmp_path):
    root = files(tmp_path / "in", {"Al.py": "x = 1\n", "al/ex2.py": "x = 1\n", "AL.ipynb": "{}"})
    first = [e.key for e in discover(root, tmp_path / "s1")[0]]
    again = [e.key for e in discover(root, tmp_path / "s2")[0]]
    assert sorted(first) == ["al", "al-2", "al-3"]
    assert first == again


def test_roster_overrides_and_reports_absentees(tmp_path):
    root = files(tmp_path / "in", {
        "doejane_12345_678901_ex2.py": "x = 1\n",
        "bob.py": "x = 1\n",
        "Carl Sagan_99_assignsubmission_file_/ex2.py": "x = 1\n",
    })
    roster = files(tmp_path, {"roster.csv": (
        "Submission,Name,Student ID,Email,Section\n"
        "bob.py,Robert Tables,S-7,bob@uni.edu,B\n"
        ",Jane Doe,12345,jane@uni.edu,A\n"
        ",Carl Sagan,,carl@uni.edu,A\n"
        ",Nobody Here,S-9,nobody@uni.edu,C\n")}) / "roster.csv"
    entries, _ = discover(root, tmp_path / "staging")
    absent = Roster.load(roster).apply(entries)
    found = by_key(entries)
    bob = found["bob"].people[0]
    assert (bob.name, bob.student_id, bob.email, bob.extra) == ("Robert Tables", "S-7", "bob@uni.edu", {"section": "B"})
    jane = found["doejane-12345"].people[0]
    assert (jane.name, jane.email, jane.extra) == ("Jane Doe", "jane@uni.edu", {"section": "A"})
    assert [p.name for p in absent] == ["Carl Sagan", "Nobody Here"]  # Carl matches by email only, and has none


def test_roster_errors(tmp_path):
    with pytest.raises(IdentityError, match="needs a submission, key, student_id or email column"):
        Roster.load(files(tmp_path, {"r.csv": "first,last\nA,B\n"}) / "r.csv")
    with pytest.raises(IdentityError, match="cannot read"):
        Roster.load(tmp_path / "missing.csv")


def test_zip_bomb_and_corrupt_zip_are_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.py", b"0" * (8 * 2**20))
    with pytest.raises(archive.ArchiveError, match="zip bomb"):
        archive.extract(bomb, tmp_path / "out")
    bad = files(tmp_path, {"bad.zip": b"PK\x03\x04 not a zip"}) / "bad.zip"
    with pytest.raises(archive.ArchiveError, match="not a readable .zip"):
        archive.extract(bad, tmp_path / "out2")


def test_slug():
    assert slug("Zoë  O'Brien-Ünal") == "zoe-o-brien-unal"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("李") == "student"
