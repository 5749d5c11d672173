"""The scorecard of a follow-through result: "fix first" above each table, inherited rows secondary."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.report import scorecard

ROOT = Path(__file__).resolve().parents[2]
EX1 = (ROOT / "solutions" / "ex1_backprop_one_by_one.py").read_text()


@pytest.fixture(scope="module")
def card(grader, tmp_path_factory):
    code = EX1.replace("dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0")
    path = tmp_path_factory.mktemp("card") / "ex1.py"
    path.write_text(code)
    result = grader.grade([path], exercise=1)
    return result, scorecard.scorecard_html(result)


def test_fix_first_comes_before_the_table_and_quotes_the_line(card):
    _, html = card
    assert html.index("Fix first") < html.index('<table class="checks">')
    assert "line 6 and line 7" in html and "dlogprobs[range(n), Yb] = -1.0" in html


def test_inherited_rows_are_secondary_and_carry_no_repeated_hint(card):
    result, html = card
    rows = re.findall(r'<tr class="([^"]*)">', html)
    assert rows.count("pass secondary") == 25 and rows.count("fail") == 1
    secondary = [row for row in html.split("<tr")[1:] if row.startswith(' class="pass secondary"')]
    assert len(secondary) == 25 and not any("1/n" in row for row in secondary)  # one cause, told on its own row only
    assert result.to_dict()["exercises"][0]["fix_first"] == result.exercise(1).fix_first


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed")
def test_a_student_sees_the_fix_first_list_in_a_browser(card, tmp_path):
    _, html = card
    page = tmp_path / "card.html"
    page.write_text(html)
    for width in (1280, 390):
        png = tmp_path / f"card-{width}.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}",
                        f"--window-size={width},1400", f"--screenshot={png}", page.as_uri()],
                       capture_output=True, timeout=120, check=False)
        assert png.is_file() and png.stat().st_size > 10_000
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                              "--no-first-run", f"--user-data-dir={tmp_path / 'q'}", f"--window-size={width},1400",
                              "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
        assert "Fix first" in dom
