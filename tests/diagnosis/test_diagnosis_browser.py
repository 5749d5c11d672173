"""A scorecard with a diagnosis, hints and an error heatmap in headless Chromium, at laptop and phone width.

Needs Debian's chromium (`apt-get install -y chromium`); skipped, saying so, where it is not installed. Set
BACKPROP_NINJA_SCREENSHOTS=DIR to keep the screenshots and look at them.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.report.scorecard import write_html

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)")
CONSOLE = re.compile(r":(?:INFO|WARNING|ERROR):CONSOLE[^\]]*\] (.*)")
# after load: the natural width of every image, and whether the page is wider than the window (a horizontal scroll)
PROBE = ('<script>addEventListener("load", () => { const b = document.body; b.dataset.widths = [...document.images]'
         '.map(i => i.naturalWidth).join(","); b.dataset.overflow = String(document.documentElement.scrollWidth > '
         'innerWidth); });</script></body>')


def chromium(page: Path, profile: Path, width: int, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", f"--window-size={width},3000",
           *args, page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def scorecard(grader, tmp_path_factory):
    """A graded submission with a diagnosed dC (and its heatmap) and dlogits, every <details> opened."""
    base = tmp_path_factory.mktemp("diagnosis-browser")
    ex1 = (ROOT / "solutions" / "ex1_backprop_one_by_one.py").read_text().replace("dC[ix] += demb[k, j]", "dC[ix] = demb[k, j]")
    (base / "ex1_backprop_one_by_one.py").write_text(ex1)
    (base / "ex2_cross_entropy.py").write_text("dlogits = F.softmax(logits, 1)\ndlogits /= n\n")
    result = grader.grade([base / "ex1_backprop_one_by_one.py", base / "ex2_cross_entropy.py"])
    checks = {(ex.id, c.name): c for ex in result.exercises for c in ex.checks}
    assert checks[(1, "C")].diagnosis and checks[(1, "C")].error_map and checks[(2, "logits")].diagnosis
    page = write_html(result, base / "scorecard.html")
    opened = base / "opened.html"
    opened.write_text(page.read_text().replace("<details", "<details open").replace("</body>", PROBE))
    return page, opened


def test_the_scorecard_shows_cause_hints_and_heatmap_collapsed(scorecard):
    html = scorecard[0].read_text()
    assert html.count("Likely cause:") == 2 and "Hint 1 of 3: the forward pass" in html
    assert 'src="data:image/png;base64,' in html and 'alt="Heatmap of |your dC' in html
    assert "<details open" not in html  # hints stay collapsed until clicked


@pytest.mark.parametrize("width", [1280, 390])
def test_it_renders_at_laptop_and_phone_width(scorecard, tmp_path, width):
    _, opened = scorecard
    png = tmp_path / f"diagnosis-{width}.png"
    proc = chromium(opened, tmp_path / "profile", width, f"--screenshot={png}")
    assert CONSOLE.findall(proc.stderr) == []
    dom = chromium(opened, tmp_path / "profile2", width, "--dump-dom").stdout
    widths = re.search(r'data-widths="([^"]*)"', dom).group(1).split(",")
    assert len(widths) >= 1 and all(int(w) > 100 for w in widths), widths  # every heatmap decoded
    assert 'data-overflow="false"' in dom  # nothing wider than a phone's screen
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (width, 3000)
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or ()) > 50
    keep = os.environ.get("BACKPROP_NINJA_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
