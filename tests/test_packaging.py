"""A non-editable install works from any directory: templates, stubs and solutions travel in the wheel."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (path,) = out.glob("backprop_ninja-*.whl")
    return path


def test_wheel_carries_templates_stubs_and_solutions(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "exercises", "solutions"):
        expected = {f"grader/_data/{folder}/{p.name}" for p in (ROOT / folder).iterdir() if p.is_file()}
        assert expected and expected <= names, folder
    assert not any(n.endswith("names.txt") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "backprop-ninja = grader.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_grades_from_another_directory(wheel, tmp_path, names_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "BACKPROP_NINJA_NAMES": str(names_path)}
    done = subprocess.run([sys.executable, "-m", "grader", "check-solutions"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(target) in done.stdout and "all full marks" in done.stdout
    done = subprocess.run([sys.executable, "-m", "grader", "start", "work"], cwd=elsewhere, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0 and (elsewhere / "work" / "ex2_cross_entropy.py").is_file()
