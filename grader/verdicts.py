"""How the runs of one exercise become verdicts: a stop said in one sentence, hidden variants merged,
and follow-through grading (error carried forward): each gradient judged on its own statements.

Used by grader/grading.py (exercises 1-3) and grader/training/check.py (exercise 4); imports the core only.
"""
from __future__ import annotations

import dataclasses
import re

from grader.exercises import EX1_NAMES
from grader.options import PUBLIC
from grader.results import CHANGED, ERROR, FAIL, INHERITED, MISSING, OWN, PASS, CheckResult

# literals that only work at the public sizes: batch 32 (n), n - 1, 64 hidden units, 30 = block_size * n_embd
SIZE_LITERALS = {32: "the public batch size: use n", 31: "n - 1 at the public batch size: use n - 1",
                 64: "the public hidden size: use n_hidden or the tensor's shape",
                 30: "block_size * n_embd at the public sizes: use the tensor's shape"}
_TYPE = re.compile(r"^[A-Za-z_][\w.]{0,60}$")


def describe_failure(outcome, code) -> str:
    """One sentence for why the student's code did not finish, with cell and line; '' if it did.

    `outcome`: a sandbox Outcome; `code`: the ExerciseCode that ran (its `locate` gives cell and line).
    """
    if outcome.stopped:
        line = outcome.meta.get("running_line")
        if outcome.meta.get("timed_out") and isinstance(line, int):
            return f"{outcome.stopped}, while running {code.locate(line)}: `{_line(code, line)}`"
        return outcome.stopped
    err = outcome.error
    if not err:
        return ""
    where = code.locate(err["lineno"]) if isinstance(err.get("lineno"), int) else "somewhere in your code"
    message = _before_assigned(err, code) or str(err.get("message", "an error"))
    if err.get("type") in ("SyntaxError", "IndentationError", "TabError"):  # "... after 'for' statement on line 5"
        message = _ON_LINE.sub(lambda m: f"at {code.locate(int(m.group(1)))}", message)
    return f"{where}: {message}"


_ON_LINE = re.compile(r"\bon line (\d+)\b")


def _before_assigned(err: dict, code) -> str:
    """'uses `demb` before your code assigns it (cell 12, line 40)': a NameError on a name (the child's error says
    which: grader/sandbox/running.py) that the code assigns further down, or a gradient it never computes."""
    name, kind = err.get("undefined"), err.get("type") or "NameError"
    if not (isinstance(name, str) and name.isidentifier() and isinstance(err.get("lineno"), int)):
        return ""
    later = code.assigned_after(name, err["lineno"])
    if later:
        return f"uses `{name}` before your code assigns it ({code.locate(later)}) ({kind})"
    if name[:1] == "d" and name[1:] in EX1_NAMES:  # e.g. a training loop that reads exercise 1's demb
        return f"uses `{name}`, a gradient your code never computes before this line ({kind})"
    return ""


GENERIC = {FAIL: "its values are wrong there", ERROR: "your code raised an error or stopped there",
           MISSING: "it was not assigned there"}


def merge_variants(per_variant: list, private: bool = False) -> list[CheckResult]:
    """A check passes only if it passes on every variant; a hidden failure is reported without its values.

    `private` (an exam's own seeds): a hidden failure says only what kind it is, nothing the
    student's code produced there (no exception text, no maxdiff a crafted answer could encode).
    """
    public_variant, public = per_variant[0]
    merged = []
    for i, check in enumerate(public):
        final = check
        if check.status == PASS:
            for variant, checks in per_variant[1:]:
                hidden = checks[i]
                if hidden.status != PASS:
                    final = dataclasses.replace(
                        check, status=hidden.status, variant=variant.name, cause=hidden.cause or check.cause,
                        upstream=list(hidden.upstream), location=hidden.location or check.location,
                        code=hidden.code or check.code, error_map=[], error_map_alt="",  # a map would show the hidden batch
                        diagnosis="" if private else hidden.diagnosis, hints=list(hidden.hints),
                        message=f"passes the public seed but fails on {describe_variant(variant)} "
                                f"(hidden variant {variant.name}): "
                                + (GENERIC.get(hidden.status, "it fails there") if private else hidden.message))
                    break
        merged.append(final)
    return merged


def describe_variant(variant) -> str:
    """What is different about a hidden variant ('a batch of 17 and another seed'), never its seed."""
    parts = []
    if variant.batch_size != PUBLIC.batch_size:
        parts.append(f"a batch of {variant.batch_size}")
    if variant.n_hidden != PUBLIC.n_hidden:
        parts.append(f"{variant.n_hidden} hidden units")
    if variant.n_embd != PUBLIC.n_embd:
        parts.append(f"{variant.n_embd}-dimensional embeddings")
    if variant.seed != PUBLIC.seed:
        parts.append("another seed")
    if not parts:
        return "the public sizes"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclasses.dataclass
class Followed:
    """One variant's two runs of an exercise, as plain data: checks of the run as written, and of follow-through."""

    variant: object
    written: list  # CheckResult per graded name, the as-written answers
    followed: dict  # name -> CheckResult of the answer given right inputs (names whose last statement ran)
    raised: dict  # name -> [line, exception type]: its own statement raised (follow-through run)
    changed: dict  # name -> line that changed it after its last statement (either run)
    errors: dict  # line -> the as-written run's message for an exception there (the public run only)


def raised_from(meta: dict, graded) -> dict:
    """The follow-through run's `raised`, checked: {name: [line, type]} with an int line and a plain type name."""
    out = {}
    for name, value in (meta.get("raised") or {}).items() if isinstance(meta.get("raised"), dict) else ():
        if name in graded and isinstance(value, list) and len(value) == 2 and isinstance(value[0], int):
            kind = value[1] if isinstance(value[1], str) and _TYPE.match(value[1]) else "an exception"
            out[name] = [value[0], kind]
    return out


def changed_from(*metas, graded) -> dict:
    """{name: line} from either run's `changed` ([last line, line] as written, line in follow-through)."""
    out = {}
    for meta in metas:
        changed = meta.get("changed") if isinstance(meta.get("changed"), dict) else {}
        for name, value in changed.items():
            line = value[-1] if isinstance(value, list) and value else value
            if name in graded and isinstance(line, int):
                out.setdefault(name, line)
    return out


def follow_through(per_variant: list[Followed], code, writers: dict, reads: dict,
                   aliases: dict | None = None, private: bool = False) -> tuple[list[CheckResult], list[str]]:
    """Each gradient judged on its own statements given right inputs, merged over variants; and the "fix first" lines.

    `writers`: name -> first lines of the statements that write d<name>; `reads`: name -> the graded
    names those statements read. A gradient passes when its own statements give the right value from
    right inputs on every variant and nothing changes it afterwards; a wrong cmp line that comes only
    from a wrong upstream gradient is "inherited" and costs nothing.
    """
    judged = []
    for run in per_variant:
        public = run.variant is per_variant[0].variant
        verdicts = {c.name: _judge(c, run, code, writers, public, aliases or {}) for c in run.written}
        for name, check in verdicts.items():
            if check.cause == INHERITED:
                stopped = _stopped_by(name, check, run, verdicts, writers)
                check.upstream = sorted(stopped or _roots(name, verdicts, reads, set()), key=list(verdicts).index)
                first = min(run.errors, default=None)
                check.message = _inherited_message(check, run.written, verdicts, code.locate(first) if first else "",
                                                   bool(stopped))
        judged.append((run.variant, [verdicts[c.name] for c in run.written]))
    checks = merge_variants(judged, private)
    return checks, fix_first(checks, code, writers)


def _judge(aw: CheckResult, run: Followed, code, writers: dict, public: bool, aliases: dict) -> CheckResult:
    name = aw.name
    lines = writers.get(name) or []
    if not lines:
        return aw  # never written: missing as it is
    where = _where(code, lines)
    own = dataclasses.replace(aw, status=FAIL, cause=OWN, location=where, code=_quote(code, lines), upstream=[],
                              diagnosis="", error_map=[], error_map_alt="")  # a cause is told from right inputs only
    if name in run.raised:
        line, kind = run.raised[name]
        own.location, own.code = code.locate(line), _quote(code, [line])
        text = run.errors.get(line)
        text = text[len(kind) + 2:] if text and text.startswith(kind + ": ") else text
        own.message = f"{code.locate(line)} raised {kind}" + (f": {text}" if text else "")
        own.message += "" if public else _literal_hint(code, lines)
        own.status = ERROR
        return own
    ft = run.followed.get(name)
    if ft is None or ft.status == MISSING:
        return aw  # no follow-through answer (that run stopped), or still None (not attempted): as written
    if ft.status != PASS:
        own.message = ft.message + ("" if public else _literal_hint(code, lines))
        own.diagnosis, own.hints = ft.diagnosis, list(ft.hints or aw.hints)  # grader/diagnosis, given right inputs
        own.error_map, own.error_map_alt = ft.error_map, ft.error_map_alt
        return own
    if name in run.changed:
        own.cause = CHANGED
        later, alias = run.changed[name], aliases.get(name)
        own.message = (f"d{name} was right when {code.locate(lines[-1])} set it, but {code.locate(later)} "
                       f"(`{_line(code, later)}`) changed it afterwards")
        if alias and alias < later:
            own.location, own.code = code.locate(alias), _line(code, alias)
            own.message += (f": {code.locate(alias)} (`{_line(code, alias)}`) makes a second name for the same tensor, "
                            f"so changing one changes d{name} too; use .clone() there")
        else:
            own.location, own.code = code.locate(later), _line(code, later)
            own.message += "; change a copy (.clone()) instead"
        return own
    if aw.status == PASS:
        return aw
    return dataclasses.replace(aw, status=PASS, cause=INHERITED, location=where, code=_quote(code, lines),
                               diagnosis="", hints=[], error_map=[], error_map_alt="")


def _stopped_by(name: str, check: CheckResult, run: Followed, verdicts: dict, writers: dict) -> set:
    """A gradient that never ran as written because an earlier statement of its cell raised: that statement's gradients."""
    if check.exact is not None or not writers.get(name):
        return set()
    before = [line for line in run.errors if line < writers[name][0]]
    if not before:
        return set()
    line = max(before)
    return {other for other, v in verdicts.items() if v.status != PASS and line in writers.get(other, ())}


def _roots(name: str, verdicts: dict, reads: dict, seen: set) -> set:
    """The gradients whose own mistakes `name` inherits (through other inheriting ones)."""
    seen.add(name)
    roots = set()
    for up in reads.get(name, ()):
        if up == name or up in seen or up not in verdicts:
            continue
        v = verdicts[up]
        if v.status != PASS:
            roots.add(up)
        elif v.cause == INHERITED:
            roots |= _roots(up, verdicts, reads, seen)
    return roots


def _inherited_message(check: CheckResult, written: list, verdicts: dict, first_error: str, stopped: bool) -> str:
    aw = next(c for c in written if c.name == check.name)
    ups = " and ".join(f"d{u}" + (f" ({verdicts[u].location})" if verdicts[u].location else "") for u in check.upstream)
    if stopped:
        where = " and ".join(verdicts[u].location for u in check.upstream)
        return (f"right given right inputs; in your run it never ran: {where} raised before it "
                "(a cell stops at its first error)")
    if not ups and aw.exact is None and first_error:
        return (f"right given right inputs; in your run it never ran: {first_error} raised before it "
                "(a cell stops at its first error)")
    if not ups:
        return f"right given right inputs; in your run it comes out different because of an earlier line ({aw.message})"
    if aw.status == PASS:
        return aw.message
    if aw.exact is None:
        return f"right given a correct {ups}; in your run it could not be computed: fix {ups} first"
    return f"right, but inherits a wrong {ups}: fix that first"


def fix_first(checks: list[CheckResult], code, writers: dict) -> list[str]:
    """The lines whose own formula is wrong, in order, quoted with cell and line (one entry per place)."""
    places: dict = {}
    for c in checks:
        if c.cause in (OWN, CHANGED) and c.status != PASS and c.location:
            places.setdefault((c.location, c.code), []).append(c)
    out = []
    for (location, quoted), cs in places.items():
        names = ", ".join(c.label for c in cs)
        what = "is changed after it was finished" if all(c.cause == CHANGED for c in cs) else "is wrong here"
        out.append(f"{location}: `{quoted}` ({names} {what})")
    return out


def place(code, lines: list[int]) -> tuple[str, str]:
    """Where `lines` are ("cell 12, line 7") and the statements quoted, as a row and the "fix first" list show them."""
    return _where(code, lines), _quote(code, lines)


def _where(code, lines: list[int]) -> str:
    where = [code.locate(line) for line in lines[-3:]]
    return where[0] if len(where) == 1 else ", ".join(where[:-1]) + " and " + where[-1]


def _line(code, lineno: int) -> str:
    lines = code.code.splitlines()
    text = lines[lineno - 1].strip() if 1 <= lineno <= len(lines) else ""
    return text if len(text) <= 90 else text[:87] + "..."


def _quote(code, lines: list[int]) -> str:
    return " / ".join(_line(code, line) for line in lines[-3:])


def _literal_hint(code, lines: list[int]) -> str:
    """'; the line hard-codes 32 (the public batch size: use n)' when a statement holds such a literal."""
    for line in lines:
        for literal, meaning in SIZE_LITERALS.items():
            if re.search(rf"(?<![\w.]){literal}(?![\w.])", _line(code, line)):
                return f"; {code.locate(line)} hard-codes {literal} ({meaning})"
    return ""
