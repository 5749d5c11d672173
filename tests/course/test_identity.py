"""grader/identity.py and grader/archive.py: who each submission belongs to, from real export layouts."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

from grader.submissions import archive
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


def test_a_de_duplicated_key_never_takes_another_students_own_key(tmp_path):
    root = files(tmp_path / "in", {"Alice Smith.py": "x = 1\n", "alice_smith.py": "x = 1\n",
                                   "alice-smith-2.py": "x = 1\n", "alice-smith-3/ex2.py": "x = 1\n"})
    entries, _ = discover(root, tmp_path / "s")
    keys = {e.origin: e.key for e in entries}
    assert len(set(keys.values())) == 4
    assert keys["alice-smith-2.py"] == "alice-smith-2" and keys["alice-smith-3"] == "alice-smith-3"
    assert {keys["Alice Smith.py"], keys["alice_smith.py"]} == {"alice-smith", "alice-smith-4"}


def test_metadata_in_one_students_folder_does_not_make_an_export(tmp_path):
    root = files(tmp_path / "in", {"ann.py": "x = 1\n", "bob/ex2.py": "x = 1\n",
                                   "mallory/submission_metadata.yml": GRADESCOPE_YML,
                                   "mallory/submission_101/ex2.py": "x = 1\n"})
    entries, _ = discover(root, tmp_path / "s")
    assert {e.key: e.platform for e in entries} == {"ann": "folder", "bob": "folder", "mallory": "folder"}
    assert by_key(entries)["mallory"].names == ["submission_101/ex2.py"]


def test_metadata_at_the_root_counts_only_beside_the_folders_it_lists(tmp_path):
    fake = files(tmp_path / "fake", {"submission_metadata.yml": "just: text\n", "ann.py": "x = 1\n"})
    entries, notes = discover(fake, tmp_path / "s1")
    assert [e.key for e in entries] == ["ann"] and "not read as a Gradescope export" in notes[0]
    mixed = files(tmp_path / "mixed", {"submission_metadata.yml": GRADESCOPE_YML, "submission_101/ex2.py": "x = 1\n",
                                       "zed.py": "x = 1\n"})
    entries, notes = discover(mixed, tmp_path / "s2")
    assert {e.key: e.platform for e in entries} == {"jane-doe-101": "gradescope", "zed": "folder"}
    assert any("ambiguous layout" in n and "zed.py" in n for n in notes)
    wrapped = tmp_path / "wrapped"
    (wrapped).mkdir()
    mixed.rename(wrapped / "export")  # a folder holding the unzipped export's folder
    assert {e.platform for e in discover(wrapped, tmp_path / "s3")[0]} == {"gradescope", "folder"}


def test_file_names_that_are_not_utf8_and_symbolic_links(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    (root / os.fsdecode(b"caf\xe9.py")).write_text("x = 1\n")
    (root / os.fsdecode(b"d\xffir")).mkdir()
    (root / os.fsdecode(b"d\xffir") / os.fsdecode(b"\xfe.py")).write_text("x = 1\n")
    (root / "link.py").symlink_to("/etc/passwd")
    entries, notes = discover(root, tmp_path / "s")
    for e in entries:
        json.dumps(e.to_dict(), ensure_ascii=False).encode("utf-8")  # valid UTF-8 throughout
    assert sorted(e.key for e in entries) == ["caf", "dir"]
    assert any("symbolic link" in n for n in notes)


@pytest.mark.parametrize("members, note", [
    ([("a", "x"), ("a/b.py", "1")], "could not unpack 'a/b.py'"),
    ([("a/b.py", "1"), ("a", "x")], "could not unpack 'a'"),
    ([("n" * 300 + ".py", "1")], "File name too long"),
    ([("/abs.py", "1"), ("../../up.py", "1"), ("C:/win.py", "1")], "would unpack outside the folder"),
])
def test_archive_members_that_cannot_be_unpacked_are_notes(tmp_path, members, note):
    path = tmp_path / "student.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members + [("ok.py", "dlogits = None\n")]:
            zf.writestr(name, data)
    notes = archive.extract(path, tmp_path / "out")
    assert any(note in n for n in notes), notes
    assert (tmp_path / "out" / "ok.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "student.zip"]


def test_a_member_whose_stated_size_is_false_is_a_note(tmp_path):
    path = tmp_path / "student.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.py", "dlogits = None\n")
        zf.writestr("lying.py", "x = 1\n" * 5000)
    data = bytearray(path.read_bytes())
    for sig, at in ((b"PK\x03\x04", 18), (b"PK\x01\x02", 20)):  # compressed size: cut to 20 bytes
        k = data.rfind(sig)
        data[k + at:k + at + 4] = (20).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    notes = archive.extract(path, tmp_path / "out")
    assert any("could not unpack 'lying.py'" in n for n in notes), notes
    assert not (tmp_path / "out" / "lying.py").exists() and (tmp_path / "out" / "ok.py").is_file()


def test_a_zip_whose_names_are_not_utf8_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "student.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.py", "1")
    data = bytearray(path.read_bytes().replace(b"ok.py", b"o\xff.py"))
    for sig, at in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
        data[data.find(sig) + at] |= 0x08  # the flag that says names are UTF-8
    path.write_bytes(bytes(data))
    with pytest.raises(archive.ArchiveError, match="not a readable .zip"):
        archive.extract(path, tmp_path / "out")
