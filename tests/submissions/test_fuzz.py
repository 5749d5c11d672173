"""Bounded property-based fuzz of what the grader reads itself (issue 14): notebooks, .py files, archives.

Whatever the bytes, reading ends in a Submission or a SubmissionError (an archive: notes or an
ArchiveError), never another exception, within a few seconds, and nothing is written outside the
destination. A few hundred examples here; benchmarks/fuzz_readers.py runs many more and prints figures.
"""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.submissions import archive
from grader.submissions.reader import SubmissionError, load_submission

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name", "ignore::nbformat.validator.MissingIDFieldWarning")
EXAMPLES = int(os.environ.get("BPN_FUZZ_EXAMPLES", "120"))
SECONDS = 10.0  # per input, on a loaded machine (2 cores, load 12+); typical inputs take milliseconds, the worst ~1 s
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])

# pieces of the lecture's code and of what breaks parsers: regexes meet their worst case on runs of these
PIECES = ["dlogits", "dhprebn", " = ", "+= ", "-=", "==", "(", ")", "[", "]", ":", ",", ".", ".T", "#", "# Exercise 2",
          "## exercise 3", "%%time", "!ls", "?", "\\", "\n", "\n\n", " ", "    ", "\t", "for i in range(3):", "loss = ",
          "grads = [", "lr = 0.1", "p.data += -lr * g", "break", "continue", "None", "'", '"', "\ud800", "\x00", "é",
          "F.softmax(logits, 1)", "torch.zeros_like(logits)", "\r\n", "*", "_", ">"]
code_text = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=60).map("".join)
repeated = st.tuples(st.sampled_from(PIECES), st.integers(1, 20_000)).map(lambda p: p[0] * p[1])
source = st.one_of(code_text, repeated, st.lists(st.one_of(code_text, repeated), max_size=4).map("\n".join))


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _read(path: Path) -> None:
    started = time.monotonic()
    try:
        load_submission(path)
    except SubmissionError:
        pass
    assert time.monotonic() - started < SECONDS, f"reading took {time.monotonic() - started:.1f} s"


cells = st.lists(st.fixed_dictionaries({"cell_type": st.sampled_from(["code", "markdown", "raw"]), "source": source,
                                        "metadata": st.just({}), "outputs": st.just([]),
                                        "execution_count": st.none()}), max_size=12)
nesting = st.integers(0, 3000).map(lambda k: "[" * k + "]" * k)


@FUZZ
@given(cells=cells, deep=st.one_of(st.none(), nesting), cut=st.one_of(st.none(), st.integers(0, 5000)))
def test_notebook_reader(tmp_path_factory, cells, deep, cut):
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    if deep is not None:
        text = text.replace('"metadata": {}', '"metadata": {"x": ' + deep + "}", 1)
    if cut is not None:
        text = text[:cut]  # a truncated download
    path = tmp_path_factory.mktemp("nb") / "work.ipynb"
    path.write_bytes(_encode(text))
    _read(path)


@FUZZ
@given(text=source, raw=st.binary(max_size=64))
def test_py_reader(tmp_path_factory, text, raw):
    folder = tmp_path_factory.mktemp("py")
    (folder / "work.py").write_bytes(_encode(text))
    (folder / "raw.py").write_bytes(raw + _encode(text[:100]))
    _read(folder / "work.py")
    _read(folder / "raw.py")


member_name = st.one_of(st.sampled_from(["a", "a/", "a/b.py", "../x.py", "/abs.py", "C:/x.py", "./a", "a/../../b",
                                         ".hidden.py", "__MACOSX/._a.py", "ex2.py", "n" * 300 + ".py", "", "a\\b.py"]),
                        st.text(min_size=1, max_size=40))


@FUZZ
@given(members=st.lists(st.tuples(member_name, st.binary(max_size=256)), max_size=8),
       damage=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6))
def test_archive_extraction(tmp_path_factory, members, damage):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            try:
                zf.writestr(name, data)
            except (ValueError, UnicodeEncodeError, IndexError):  # names zipfile itself refuses to write
                pass
    data = bytearray(buf.getvalue())
    for at, byte in damage:  # lying sizes, broken headers, flipped flags
        if data:
            data[at % len(data)] = byte
    base = tmp_path_factory.mktemp("zip")
    (base / "student.zip").write_bytes(bytes(data))
    dest = base / "out"
    started = time.monotonic()
    try:
        notes = archive.extract(base / "student.zip", dest)
        assert all(isinstance(n, str) for n in notes)
    except archive.ArchiveError:
        pass
    assert time.monotonic() - started < SECONDS
    outside = [p for p in base.rglob("*") if p not in (base / "student.zip", dest) and dest not in p.parents]
    assert not outside, outside
