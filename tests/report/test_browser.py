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


def screenshot(page: Path, png: Path, profile: Path, size: str = "1200,2000", extra: list | None = None) -> list[str]:
    """Load `page` in a fresh headless Chromium, save a screenshot; return what the page logged to its console."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", f"--window-size={size}",
           f"--screenshot={png}", *(extra or []), page.resolve().as_uri()]
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


# --- layout at a laptop's and a phone's width: screenshots, and a probe for anything wider than the page ---

# Headless Chromium will not make a window narrower than ~500 px, so each page is shown in an iframe of the
# width under test (media queries follow the iframe) and probed from the page around it.
FRAME = """<!doctype html><html><body style="margin:0">
<iframe id="f" src="PAGE" style="width:WIDTHpx;height:2400px;border:0;display:block"></iframe>
<script>
document.getElementById("f").addEventListener("load", () => {
  const doc = document.getElementById("f").contentDocument, win = doc.defaultView;
  const vw = doc.documentElement.clientWidth, wide = [];
  const clipped = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    const o = win.getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll" || o === "hidden") return true; } return false; };
  for (const el of doc.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > vw + 1 || r.left < -1) && !clipped(el))
      wide.push(el.tagName.toLowerCase() + "." + el.className + " " + Math.round(r.left) + ".." + Math.round(r.right));
  }
  const out = document.createElement("pre");
  out.id = "layout-probe";
  out.style.display = "none";
  out.textContent = JSON.stringify({viewport: vw, scrollWidth: doc.documentElement.scrollWidth, wide: wide});
  document.body.appendChild(out);
});
</script></body></html>"""


def framed(page: Path, width: int) -> Path:
    frame = page.with_name(f".frame-{width}-{page.stem}.html")
    frame.write_text(FRAME.replace("PAGE", page.name).replace("WIDTH", str(width)))
    return frame


def layout(page: Path, tmp_path: Path, width: int) -> dict:
    """`page` at `width` px in headless Chromium: the viewport, its scroll width and every element wider than it."""
    import html
    import json

    frame = framed(page, width)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
           "--disable-extensions", "--allow-file-access-from-files", f"--user-data-dir={tmp_path / f'profile-dom-{width}'}",
           f"--window-size={width + 40},2400", "--virtual-time-budget=5000", "--dump-dom", frame.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="layout-probe"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stdout[-1000:] + proc.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


def assert_fits(page: Path, tmp_path: Path, shots: Path) -> None:
    """At 1280 and 390 px: no element wider than the viewport (outside a scrolling box), and a screenshot to look at."""
    for width in (1280, 390):
        found = layout(page, tmp_path, width)
        assert width - 20 <= found["viewport"] <= width, found  # the iframe's width (less a scroll bar)
        assert found["wide"] == [] and found["scrollWidth"] <= found["viewport"], (page.name, width, found)
        png = shots / f"{page.stem}-{width}.png"
        screenshot(framed(page, width), png, tmp_path / f"profile-{width}", size=f"{width + 40},2400",
                   extra=["--allow-file-access-from-files"])
        assert png.stat().st_size > 5000


def test_probe_sees_an_element_wider_than_the_page(tmp_path):
    """The layout check is not vacuous: a 2000 px wide table is reported."""
    page = tmp_path / "wide.html"
    page.write_text("<!doctype html><html><body><table style='width:2000px'><tr><td>x</td></tr></table></body></html>")
    assert layout(page, tmp_path, 390)["wide"]


@pytest.fixture(scope="module")
def course_pages(tmp_path_factory, names_path):
    """A batch as a course runs it: a roster (names, IDs, someone who submitted nothing), failures, a crash
    with a long message, an unreadable file; and an exercise-4 scorecard whose gradients fail."""
    from grader.grading import Grader, Options
    from grader.report.scorecard import write_html

    base = tmp_path_factory.mktemp("course-pages")
    sol = {n: (ROOT / "solutions" / n).read_text() for n in ("ex1_backprop_one_by_one.py", "ex2_cross_entropy.py",
                                                            "ex3_batchnorm.py", "ex4_training.py")}
    files = {
        "ada/ex1_backprop_one_by_one.py": sol["ex1_backprop_one_by_one.py"],
        "ada/ex2_cross_entropy.py": sol["ex2_cross_entropy.py"],
        "ada/ex3_batchnorm.py": sol["ex3_batchnorm.py"],
        "bob/ex1_backprop_one_by_one.py": sol["ex1_backprop_one_by_one.py"].replace("dW2 = h.T @ dlogits", "dW2 = h.T @ dlogits * 2")
        .replace("dbnmeani = (-dbndiff).sum(0, keepdim=True)", "dbnmeani = (-dbndiff).sum(0)"),
        "bob/ex3_batchnorm.py": sol["ex3_batchnorm.py"].replace("(n * dhpreact", "((n - 1) * dhpreact"),
        "cy.py": "dlogits = undefined_name_" + "x" * 120 + "\n",
        "dee/ex2_cross_entropy.py": sol["ex2_cross_entropy.py"].replace("dlogits /= n", "dlogits /= 32"),
        "eve.ipynb": "{not json",
    }
    for rel, text in files.items():
        (base / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / "in" / rel).write_text(text)
    roster = base / "roster.csv"
    roster.write_text("submission,name,student_id,email\nada,Ada Lovelace,S1001,ada@uni.edu\nbob,Bob Tables,S1002,bob@uni.edu\n"
                      ",Al Absent,S1009,al@uni.edu\n")
    options = Options()
    options.variants = options.variants[:1]
    run_batch(base / "in", base / "out", names=names_path, options=options, jobs=2, roster=roster)
    ex4 = base / "ex4_training.py"
    ex4.write_text(sol["ex4_training.py"].replace("dW2 = h.T @ dlogits", "dW2 = h.T @ dlogits * 1.01"))
    options = Options()
    options.variants = options.variants[:1]
    options.ex4 = {**options.ex4, "steps": 1000}
    with Grader(names_path, options=options) as grader:
        write_html(grader.grade([ex4]), base / "ex4.html")
    shots = ROOT / "tests" / "report" / "screenshots"  # left for a person to look at (git-ignored)
    shots.mkdir(exist_ok=True)
    return base, shots


def test_class_report_fits_1280_and_390_px(course_pages, tmp_path):
    base, shots = course_pages
    assert_fits(base / "out" / "class.html", tmp_path, shots)


def test_failing_scorecard_from_a_batch_fits_and_names_the_student(course_pages, tmp_path):
    base, shots = course_pages
    page = base / "out" / "students" / "bob.html"
    html = page.read_text()
    assert "<title>Scorecard · Bob Tables (S1002)</title>" in html
    import csv

    row = next(r for r in csv.DictReader((base / "out" / "grades.csv").open()) if r["name"] == "Bob Tables")
    assert f"/ {row['max']}</span>" in html  # the same denominator as grades.csv
    assert "not submitted" in html  # exercise 2, which others submitted, counts 0 here
    assert_fits(page, tmp_path, shots)


def test_exercise_4_card_fits(course_pages, tmp_path):
    base, shots = course_pages
    html = (base / "ex4.html").read_text()
    assert "maxdiff" in html and 'class="plot wide"' in html
    assert_fits(base / "ex4.html", tmp_path, shots)


def test_class_report_cells_count_and_link_to_who_fails(course_pages):
    base, _ = course_pages
    html = (base / "out" / "class.html").read_text()
    assert re.search(r'<a class="cell mono" href="#fail-ex1-W2"[^>]*>\s*dW2<span class="rate">50%</span><span class="count">1/2 pass</span>', html)
    assert re.search(r'<li id="fail-ex1-W2">.*?<a href="students/bob.html">Bob Tables</a>', html, re.S)
    assert "1 crash" in html and "1 crashes" not in html and "0 timeouts" in html
    assert "No submission (1):</strong>" in html and "Al Absent" in html


def test_colour_scale_tells_40_from_60_percent():
    from grader.course.classreport import heat

    def rgb(colour):
        return [int(colour[i:i + 2], 16) for i in (1, 3, 5)]

    a, b = rgb(heat(0.4)), rgb(heat(0.6))
    assert sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5 > 60
    assert heat(0.0) != heat(0.39) and heat(1.0) != heat(0.79)
