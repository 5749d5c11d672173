"""`check(N)` inside a student's own notebook: self-study feedback from the notebook's variables.

It runs in the student's kernel (so it is not a grade; `backprop-ninja grade` is): it rebuilds
autograd's gradients from the notebook's parameters and minibatch (float32 and float64, so the same
float32-aware verdict applies) and shows the table inline, as HTML in Jupyter and as `cmp` lines
elsewhere.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import torch

from grader import compare, model
from grader.diagnosis import annotate
from grader.exercises import get as get_exercise
from grader.results import ExerciseResult

_NEEDED = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "Xb", "Yb")


@dataclass
class SelfCheck:
    """The result of check(N), displayed inline."""

    result: ExerciseResult

    def __repr__(self) -> str:
        from grader.report.console import cmp_line

        ex = self.result
        lines = [f"Exercise {ex.id}: {ex.title}  {ex.status}  {ex.score:g}/{ex.max_score:g}"]
        lines += [f"  {note}" for note in ex.notes]
        for c in ex.checks:
            lines.append(f"{cmp_line(c)} | {c.status.upper()}")
            if c.status != "pass":
                lines.append(f"    {c.message}")
                lines += [f"    likely cause: {c.diagnosis}"] * bool(c.diagnosis)
                lines += [f"    off: {c.error_map_alt}"] * bool(c.error_map_alt)
                lines += [f"    hint {k}: {h}" for k, h in enumerate(c.hints, 1)]
        lines.append("(self-check in your own kernel; the official grade comes from `backprop-ninja grade`)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from grader.report.scorecard import environment, render

        css = environment().loader.get_source(environment(), "_style.css")[0]
        return render("selfcheck.html.j2", ex=self.result, css=scope_css(css, f".{SCOPE}"))


SCOPE = "backprop-ninja-selfcheck"  # the class of the output's wrapper: its styles apply inside it only


def scope_css(css: str, scope: str) -> str:
    """Every rule of `css` limited to the element `scope` and what it holds (the notebook around it is untouched).

    `:root`, `html` and `body` become `scope` itself; `*` becomes `scope *`; @media blocks are scoped inside.
    """
    import re

    out, i = [], 0
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    while i < len(css):
        brace = css.find("{", i)
        if brace < 0:
            break
        head = css[i:brace].strip()
        if head.startswith("@"):  # a block of rules: scope what is inside
            depth, j = 1, brace + 1
            while depth and j < len(css):
                depth += {"{": 1, "}": -1}.get(css[j], 0)
                j += 1
            out.append(f"{head} {{\n{scope_css(css[brace + 1:j - 1], scope)}}}\n")
            i = j
            continue
        end = css.find("}", brace)
        selectors = [_scoped(sel.strip(), scope) for sel in head.split(",") if sel.strip()]
        out.append(f"{', '.join(selectors)} {{{css[brace + 1:end]}}}\n")
        i = end + 1
    return "".join(out)


def _scoped(selector: str, scope: str) -> str:
    import re

    first, _, rest = selector.partition(" ")
    if first in (":root", "html", "body"):
        return f"{scope} {rest}".strip() if rest else scope
    return f"{scope} {selector}" if not re.match(r"^(:root|html|body)\b", selector) else scope


def _user_namespace(depth: int) -> dict:
    """The notebook's variables: IPython's user namespace, else the caller's globals."""
    try:
        ip = get_ipython()  # noqa: F821 - defined inside IPython only
        return ip.user_ns
    except NameError:
        return sys._getframe(depth).f_globals


def _setup_from(ns: dict) -> model.Setup:
    missing = [name for name in _NEEDED if name not in ns]
    if missing:
        raise NameError(f"check() needs the lecture's {', '.join(missing)} in your notebook: run the cells above first")
    params = {k: torch.as_tensor(ns[k]).detach().float().cpu() for k in model.PARAMETER_NAMES}
    Xb, Yb = torch.as_tensor(ns["Xb"]).cpu(), torch.as_tensor(ns["Yb"]).cpu()
    return model.Setup(model.Variant(batch_size=int(Xb.shape[0]), n_hidden=int(params["W1"].shape[1])),
                       params, torch.arange(len(Xb)), Xb, Yb, torch.Generator())


def check(exercise: int, namespace: dict | None = None, hint: bool | int = False) -> SelfCheck:
    """Compare the notebook's d<name> variables of `exercise` with autograd; returns a displayable table.

    A failing gradient names its likely cause; `hint=True` adds its three hints (`hint=1` or 2: only the first levels).
    """
    ex = get_exercise(exercise)
    ns = namespace if namespace is not None else _user_namespace(3)
    s = _setup_from(ns)
    g32, g64 = model.autograd_gradients(s), model.autograd_gradients(s, torch.float64)
    result = ExerciseResult(id=ex.id, title=ex.title)
    if ex.id == 4:
        result.notes.append("exercise 4: checks grads at the notebook's current parameters and last batch "
                            "(run it right after the backward pass, before the update)")
        grads = ns.get("grads")
        if isinstance(grads, (list, tuple)) and len(grads) == len(ex.graded):
            ns = {**ns, **{"d" + name: g for name, g in zip(ex.graded, grads)}}
    for name in ex.graded:
        value = ns.get("d" + name, compare.Answer("missing"))
        if not isinstance(value, compare.Answer):
            value = compare.Answer("tensor", value.detach().cpu()) if isinstance(value, torch.Tensor) else \
                compare.Answer("none") if value is None else compare.Answer("other", type_name=type(value).__name__)
        check_result = compare.compare(name, value, g32[name], g64[name], int(s.Xb.shape[0]))
        levels = 3 if hint is True else int(hint or 0)
        annotate(check_result, ex.id, value, s, g32, g64, hints=bool(levels),
                 failed={c.name for c in result.checks if not c.passed})
        check_result.hints = check_result.hints[:levels]
        check_result.max_score = ex.points
        check_result.score = ex.points if check_result.passed else 0.0
        result.checks.append(check_result)
    result.attempted = any(c.status != "missing" for c in result.checks)
    return SelfCheck(result)
