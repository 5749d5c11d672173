"""class.html and a scorecard in headless Chromium: the page renders (a screenshot) with no console error.

Needs Debian's chromium (`apt-get install -y chromium`); skipped, saying so, where it is not installed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.course.batch import run_batch

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
CONSOLE = re.compile(r":(?:INFO|WARNING|ERROR):CONSOLE[^\]]*\] (.*)")


def screenshot(page: Path, png: Path, profile: Path, size: str = "1200,2000") -> list[str]:
    """Load `page` in a fresh headless Chromium, save a screenshot; return what the page logged to its console."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", f"--window-size={size}",
           f"--screenshot={png}", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return CONSOLE.findall(proc.stderr)


def assert_rendered(png: Path) -> None:
    """A real page: a PNG of the window's size, with more than a blank background in it."""
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (1200, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the screenshot is (nearly) blank"


@pytest.fixture(scope="module")
def pages(tmp_path_factory, names_path):
    """A small real batch: a correct student, a partly correct one, one whose code crashes, one unreadable."""
    from grader.grading import Options

    base = tmp_path_factory.mktemp("browser")
    sol = {n: (ROOT / "solutions" / n).read_text() for n in ("ex1_backprop_one_by_one.py", "ex2_cross_entropy.py",
                                                            "ex3_batchnorm.py")}
    files = {
        "ada/ex1_backprop_one_by_one.py": sol["ex1_backprop_one_by_one.py"],
        "ada/ex2_cross_entropy.py": sol["ex2_cross_entropy.py"],
        "ada/ex3_batchnorm.py": sol["ex3_batchnorm.py"],
        "bob/ex1_backprop_one_by_one.py": sol["ex1_backprop_one_by_one.py"].replace("dW2 = h.T @ dlogits", "dW2 = h.T @ dlogits * 2"),
        "cy.py": "dlogits = undefined_name\n",
        "<script>alert(1)</script>.ipynb": "{not json",
    }
    for rel, text in files.items():
        (base / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / "in" / rel).write_text(text)
    options = Options()
    options.variants = options.variants[:1]
    result = run_batch(base / "in", base / "out", names=names_path, options=options, jobs=2)
    assert result.graded == 4
    return base


def test_console_errors_are_caught(tmp_path):
    """The check below is not vacuous: a page that logs an error is seen."""
    page = tmp_path / "bad.html"
    page.write_text("<!doctype html><p>x</p><script>console.error('boom'); missingFunction();</script>")
    logged = screenshot(page, tmp_path / "bad.png", tmp_path / "profile")
    assert any("boom" in line for line in logged) and any("missingFunction" in line for line in logged)


def test_class_report_renders_without_console_errors(pages, tmp_path):
    png = tmp_path / "class.png"
    assert screenshot(pages / "out" / "class.html", png, tmp_path / "profile") == []
    assert_rendered(png)
    html = (pages / "out" / "class.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html  # a hostile file name is text


def test_scorecard_renders_without_console_errors(pages, tmp_path):
    png = tmp_path / "scorecard.png"
    assert screenshot(pages / "out" / "students" / "bob.html", png, tmp_path / "profile") == []
    assert_rendered(png)
