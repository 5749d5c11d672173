"""The terminal view: the lecture's `cmp` lines, coloured verdicts, totals."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape

STYLE = {"pass": "bold green", "fail": "bold red", "missing": "dim", "error": "bold yellow",
         "complete": "bold green", "partial": "bold yellow", "incorrect": "bold red", "not attempted": "dim",
         "flagged": "bold magenta"}


def cmp_line(check) -> str:
    """`logprobs        | exact: True  | approximate: True  | maxdiff: 0.0`, as the lecture prints it."""
    exact = "-" if check.exact is None else str(check.exact)
    approx = "-" if check.approximate is None else str(check.approximate)
    maxdiff = "-" if check.maxdiff is None else repr(check.maxdiff)
    return f"{check.name:15s} | exact: {exact:5s} | approximate: {approx:5s} | maxdiff: {maxdiff}"


MISSING_RUN = 3  # this many MISSING rows in a row with the same reason print as one line


def runs(checks) -> list[list]:
    """The checks in order, consecutive MISSING ones with the same reason grouped together."""
    out: list[list] = []
    for check in checks:
        if out and check.status == "missing" and out[-1][0].status == "missing" and _unnamed(out[-1][0]) == _unnamed(check):
            out[-1].append(check)
        else:
            out.append([check])
    return out


def _unnamed(check) -> str:
    """A check's message without its own name, so that the same reason for dW1 and db1 compares equal."""
    return check.message.replace(check.label, "this gradient")


def print_result(result, console: Console | None = None) -> None:
    """Print a SubmissionResult: per exercise a cmp table with verdicts, then the total."""
    console = console or Console(highlight=False, soft_wrap=True)
    if result.error:
        console.print(f"[bold red]could not grade[/]: {escape(result.error)}")
    for note in result.notes:
        if note not in result.error:  # the error already says it
            console.print(f"[dim]note:[/] {escape(note)}")
    for ex in result.exercises:
        style = STYLE.get(ex.status, "bold")
        console.print()
        console.print(f"[bold]Exercise {ex.id}: {escape(ex.title)}[/]  [{style}]{ex.status}[/]  "
                      f"{ex.score:g}/{ex.max_score:g}" + (f"  [dim]({escape(ex.source)})[/]" if ex.source else ""))
        if ex.error:
            console.print(f"  [yellow]your code stopped:[/] {escape(ex.error)}")
        for flag in ex.integrity:
            console.print(f"  [magenta]uses autograd:[/] {escape(flag)}" + ("  [magenta](scores 0)[/]" if ex.zeroed else ""))
        for note in ex.notes:
            console.print(f"  [dim]note: {escape(note)}[/]")
        if ex.fix_first:
            console.print("  [bold red]fix first[/] (the lines whose own formula is wrong):")
            for line in ex.fix_first:
                console.print(f"    {escape(line)}")
        if ex.status == "not attempted":
            names = ", ".join(c.label for c in ex.checks[:3]) + (" …" if len(ex.checks) > 3 else "")
            console.print(f"  [dim]nothing to grade yet: {escape(names)} still None or never assigned[/]")
            continue
        for line in ex.extra.get("summary", []):
            console.print(f"  {escape(line)}")
        inherited = {}
        for run in runs(ex.checks):
            check = run[0]
            st = STYLE.get(check.status, "bold")
            if len(run) >= MISSING_RUN:
                console.print(f"{escape(run[0].label)} … {escape(run[-1].label)}: {len(run)} gradients | [{st}]MISSING[/]")
                console.print(f"    [dim]{escape(_unnamed(check))}[/]")
                continue
            for check in run:
                st = STYLE.get(check.status, "bold")
                if check.cause == "inherited":  # right given right inputs: one line below the table says why
                    ups = ", ".join("d" + u for u in check.upstream) or "an earlier line"
                    inherited.setdefault(ups, []).append(check.label)
                    console.print(f"[dim]{escape(cmp_line(check))} | {check.status.upper():7s} inherits {escape(ups)}[/]")
                    continue
                console.print(f"{escape(cmp_line(check))} | [{st}]{check.status.upper():7s}[/]")
                if check.status != "pass" or "round-off" in check.message or "keepdim" in check.message:
                    console.print(f"    [dim]{escape(check.message)}[/]")
                if check.diagnosis:
                    console.print(f"    [bold]likely cause:[/] {escape(check.diagnosis)}")
        for ups, labels in inherited.items():
            console.print(f"  [dim]{len(labels)} gradient{'s' if len(labels) > 1 else ''} right given right inputs "
                          f"(they count): their cmp lines are off only because they inherit {escape(ups)}[/]")
    console.print()
    total_style = "bold green" if result.passed else "bold red"
    console.print(f"[{total_style}]total: {result.score:g} / {result.max_score:g} ({result.percent:.1f}%)[/]")
