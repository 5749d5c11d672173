"""Shared fixtures: the real names.txt, one warm Grader for the session, temporary submissions."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_NAMES = ROOT.parent / "shared" / "data" / "names.txt"
os.environ.setdefault("BACKPROP_NINJA_NAMES", str(SHARED_NAMES))
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


@pytest.fixture(scope="session")
def names_path() -> Path:
    path = Path(os.environ["BACKPROP_NINJA_NAMES"])
    assert path.is_file(), f"tests need names.txt at {path}"
    return path


@pytest.fixture(scope="session")
def dataset(names_path):
    from grader import data

    return data.load(names_path)


@pytest.fixture(scope="session")
def grader(names_path):
    """One Grader (and so one warm worker) for the whole test session."""
    from grader.grading import Grader

    with Grader(names_path) as g:
        yield g


@pytest.fixture
def write(tmp_path):
    """Write a submission file and return its path: write("ex2.py", code)."""
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return _write
