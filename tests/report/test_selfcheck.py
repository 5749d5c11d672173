"""check(N) in a student's own namespace: the same verdicts, shown inline."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from grader import check, model
from grader.sandbox.child import lecture_namespace

ROOT = Path(__file__).resolve().parents[2]


def notebook_namespace(dataset):
    """What a student's kernel holds after the lecture's forward pass."""
    s, values = model.forward_values(dataset)
    ns = lecture_namespace(dataset, s, values)
    ns["dhpreact"] = model.manual_dhpreact(s, values)
    return ns


def test_reference_solutions_pass_their_self_check(dataset):
    for ex_id, stub in ((1, "ex1_backprop_one_by_one.py"), (2, "ex2_cross_entropy.py"), (3, "ex3_batchnorm.py")):
        ns = notebook_namespace(dataset)
        exec((ROOT / "solutions" / stub).read_text(), ns)
        shown = check(ex_id, ns)
        assert shown.result.status == "complete", repr(shown)
        assert "exact:" in repr(shown) and "<table" in shown._repr_html_()


def test_self_check_uses_the_same_shape_rule(dataset):
    ns = notebook_namespace(dataset)
    ns["dlogits"] = (F.softmax(ns["logits"], 1) / 32).sum(0, keepdim=True)
    c = check(2, ns).result.checks[0]
    assert c.status == "fail" and "(1, 27)" in c.message


def test_self_check_reads_the_callers_globals(dataset):
    ns = notebook_namespace(dataset)
    ns["dlogits"] = None
    code = "from grader import check\nshown = check(2)\n"
    exec(code, ns)
    assert ns["shown"].result.status == "not attempted"


def test_self_check_html_styles_only_its_own_output(dataset):
    """In Jupyter the output sits in the student's notebook: no rule of its <style> may reach outside it."""
    import re

    ns = notebook_namespace(dataset)
    exec((ROOT / "solutions" / "ex2_cross_entropy.py").read_text(), ns)
    html = check(2, ns)._repr_html_()
    assert html.lstrip().startswith('<div class="backprop-ninja-selfcheck">')
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    style = re.sub(r"@media[^{]*\{", "", style)  # the rules inside a media block are checked like the others
    selectors = [s.strip() for head in re.findall(r"([^{}]+)\{[^{}]*\}", style) for s in head.split(",") if s.strip()]
    assert len(selectors) > 30
    outside = [s for s in selectors if not (s == ".backprop-ninja-selfcheck" or s.startswith(".backprop-ninja-selfcheck "))]
    assert outside == []
    assert '"Segoe UI"' in style and "&#34;" not in style  # the CSS is not HTML-escaped


def test_self_check_names_the_cause_and_shows_hints_on_request(dataset):
    ns = notebook_namespace(dataset)
    exec((ROOT / "solutions" / "ex2_cross_entropy.py").read_text().replace("dlogits /= n", ""), ns)
    plain, hinted = check(2, ns), check(2, ns, hint=True)
    assert "likely cause" in repr(plain) and "n = 32 times too large" in repr(plain) and "hint 1" not in repr(plain)
    assert "hint 3:" in repr(hinted) and "Hint 1 of 3" in hinted._repr_html_()
    assert len(check(2, ns, hint=1).result.checks[0].hints) == 1
