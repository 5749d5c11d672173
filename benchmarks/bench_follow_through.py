"""Follow-through grading on one-line mistakes: what each costs, which gradients it blames, which line is named.

Each mistake is the reference solution with one line changed, the way students make them (a missing
factor, a sign, a transpose, a missing sum, a dropped keepdim, a missing branch, a wrong local
derivative, an alias, a hard-coded size, a crash). Every one is graded through the real sandbox, as
`backprop-ninja grade` does, and the script prints per mistake: the points lost, the gradients whose
own statements are wrong (expected) against the ones the grader blamed, and whether the "fix first"
list names exactly the changed line.

    python benchmarks/bench_follow_through.py            # all mistakes
    python benchmarks/bench_follow_through.py --only dW2  # the ones whose label contains dW2
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOL = {n: (ROOT / "solutions" / f).read_text() for n, f in
       ((1, "ex1_backprop_one_by_one.py"), (2, "ex2_cross_entropy.py"), (3, "ex3_batchnorm.py"), (4, "ex4_training.py"))}


@dataclass
class Mistake:
    label: str
    exercise: int
    old: str
    new: str
    blamed: tuple  # the gradients whose own statements are wrong (those that must lose their points)
    line_named: bool = True  # the fix-first list must name the changed line (exercise 1)


def ex1(label, old, new, *blamed):
    return Mistake(label, 1, old, new, blamed)


MISTAKES = [
    ex1("dlogprobs: missing 1/n", "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0", "logprobs"),
    ex1("dlogprobs: sign flipped", "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = 1.0 / n", "logprobs"),
    ex1("dlogprobs: hard-coded 32", "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0 / 32", "logprobs"),
    ex1("dlogprobs: range(32) (crashes at batch 17)", "dlogprobs[range(n), Yb] = -1.0 / n",
        "dlogprobs[range(32), Yb] = -1.0 / n", "logprobs"),
    ex1("dprobs: local derivative probs instead of 1/probs", "dprobs = (1.0 / probs) * dlogprobs",
        "dprobs = probs * dlogprobs", "probs"),
    ex1("dcounts_sum_inv: dropped keepdim (crashes downstream? no: broadcasts wrong)",
        "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)", "dcounts_sum_inv = (counts * dprobs).sum(1)",
        "counts_sum_inv"),
    ex1("dcounts_sum_inv: summed over the wrong dimension", "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)",
        "dcounts_sum_inv = (counts * dprobs).sum(0, keepdim=True)", "counts_sum_inv"),
    ex1("dcounts_sum: sign flipped", "dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv",
        "dcounts_sum = (counts_sum**-2) * dcounts_sum_inv", "counts_sum"),
    ex1("dcounts: missing the counts_sum branch", "dcounts += torch.ones_like(counts) * dcounts_sum", "", "counts"),
    ex1("dnorm_logits: forgot the exp's derivative", "dnorm_logits = counts * dcounts", "dnorm_logits = dcounts",
        "norm_logits"),
    ex1("dlogit_maxes: chain rule without counts", "dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)",
        "dlogit_maxes = (-dcounts).sum(1, keepdim=True)", "logit_maxes"),
    ex1("dlogits: missing the logit_maxes branch",
        "dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes", ""),
    ex1("dh: missing transpose (crashes)", "dh = dlogits @ W2.T", "dh = dlogits @ W2", "h"),
    ex1("dW2: missing transpose", "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", "W2"),
    ex1("db2: extra keepdim", "db2 = dlogits.sum(0)", "db2 = dlogits.sum(0, keepdim=True)", "b2"),
    ex1("db2: summed over the wrong dimension (crashes? no: wrong shape)", "db2 = dlogits.sum(0)",
        "db2 = dlogits.sum(1)", "b2"),
    ex1("dhpreact: forgot 1 - h**2", "dhpreact = (1.0 - h**2) * dh", "dhpreact = dh", "hpreact"),
    ex1("dhpreact: tanh' from hpreact", "dhpreact = (1.0 - h**2) * dh", "dhpreact = (1.0 - hpreact**2) * dh", "hpreact"),
    ex1("dbngain: bnraw missing", "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
        "dbngain = dhpreact.sum(0, keepdim=True)", "bngain"),
    ex1("dbnraw: without bngain", "dbnraw = bngain * dhpreact", "dbnraw = dhpreact", "bnraw"),
    ex1("dbnvar_inv: summed over dim 1", "dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)",
        "dbnvar_inv = (bndiff * dbnraw).sum(1, keepdim=True)", "bnvar_inv"),
    ex1("dbnvar: sign flipped", "dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv",
        "dbnvar = (0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv", "bnvar"),
    ex1("dbndiff2: n instead of n-1", "dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar",
        "dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar", "bndiff2"),
    ex1("dbndiff2: hard-coded 31", "dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar",
        "dbndiff2 = (1.0 / 31) * torch.ones_like(bndiff2) * dbnvar", "bndiff2"),
    ex1("dbndiff: missing the bndiff2 branch", "dbndiff += (2 * bndiff) * dbndiff2", "", "bndiff"),
    ex1("dhprebn = dbndiff (alias, no clone)", "dhprebn = dbndiff.clone()", "dhprebn = dbndiff", "bndiff"),
    ex1("dbnmeani: sign flipped", "dbnmeani = (-dbndiff).sum(0, keepdim=True)",
        "dbnmeani = (dbndiff).sum(0, keepdim=True)", "bnmeani"),
    ex1("dhprebn: missing 1/n in the bnmeani branch", "dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)",
        "dhprebn += torch.ones_like(hprebn) * dbnmeani", "hprebn"),
    ex1("dembcat: missing transpose (crashes)", "dembcat = dhprebn @ W1.T", "dembcat = dhprebn @ W1", "embcat"),
    ex1("dW1: missing transpose", "dW1 = embcat.T @ dhprebn", "dW1 = dhprebn.T @ embcat", "W1"),
    ex1("db1: extra keepdim", "db1 = dhprebn.sum(0)", "db1 = dhprebn.sum(0, keepdim=True)", "b1"),
    ex1("demb: view(32, 3, 10) (crashes at batch 17)", "demb = dembcat.view(emb.shape)", "demb = dembcat.view(32, 3, 10)",
        "emb"),
    ex1("dC: = instead of += (repeated characters)", "dC[ix] += demb[k, j]", "dC[ix] = demb[k, j]", "C"),
    ex1("a scratch line that raises (costs nothing)", "dh = dlogits @ W2.T", "dh = dlogits @ W2.T\nprint(undefined)"),
    Mistake("ex2: no -1 at the target", 2, "dlogits[range(n), Yb] -= 1", "", ("logits",), False),
    Mistake("ex2: missing 1/n", 2, "dlogits /= n", "", ("logits",), False),
    Mistake("ex3: missing n/(n-1)", 3, "n / (n - 1)", "1", ("hprebn",), False),
    Mistake("ex4: db2 with keepdim", 4, "db2 = dlogits.sum(0)", "db2 = dlogits.sum(0, keepdim=True)", ("b2", "training"), False),
    Mistake("ex4: dW2 transposed (crashes)", 4, "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", ("W2", "training"), False),
    # a wrong intermediate of the block costs the training row only: each parameter's gradient is right given right inputs
    Mistake("ex4: dlogits missing 1/n", 4, "dlogits /= n\n", "", ("training",), False),
    Mistake("ex4: dlogits hard-coded 32 (batch 17)", 4, "dlogits /= n", "dlogits /= 32", ("training",), False),
    Mistake("ex4: dhprebn n for n-1", 4, "n/(n-1)*bnraw", "1.0*bnraw", ("training",), False),
    Mistake("ex4: dhpreact without 1 - h**2", 4, "dhpreact = (1.0 - h**2) * dh", "dhpreact = dh", ("training",), False),
]


def changed_line(text: str, old: str) -> int:
    """1-based line of `old` in the reference text (the line a student changed)."""
    return text[:text.index(old)].count("\n") + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="grade only the mistakes whose label contains this")
    parser.add_argument("--names", default=None)
    args = parser.parse_args()
    from grader.grading import Grader

    import tempfile

    exact_cost = named = total = 0
    start = time.perf_counter()
    with Grader(args.names) as grader, tempfile.TemporaryDirectory() as tmp:
        print(f"{'mistake':58s} {'lost':>5s}  {'expected blame':24s} {'blamed':30s} line named")
        for m in MISTAKES:
            if args.only and args.only not in m.label:
                continue
            ref = SOL[m.exercise]
            if m.old not in ref:
                print(f"{m.label}: the reference has no line {m.old!r}")
                return 2
            path = Path(tmp) / f"ex{m.exercise}_{total}.py"
            path.write_text(ref.replace(m.old, m.new, 1))
            ex = grader.grade([path], exercise=m.exercise).exercise(m.exercise)
            blamed = tuple(c.name for c in ex.checks if c.status != "pass")
            lost = ex.max_score - ex.score
            expected_cost = sum(c.max_score for c in ex.checks if c.name in m.blamed)
            ok_cost = set(blamed) == set(m.blamed) and abs(lost - expected_cost) < 1e-9
            line = changed_line(ref, m.old)
            if not m.new and m.blamed and m.line_named:  # a deleted line: the gradient's statement that is left is the one to fix
                line = changed_line(ref, next(x for x in ref.splitlines() if x.startswith("d" + m.blamed[0] + " ")))
            if m.line_named:
                ok_line = (not m.blamed and not ex.fix_first) or (
                    len(ex.fix_first) == 1 and (f"line {line}:" in ex.fix_first[0] or f"line {line} " in ex.fix_first[0]))
            else:
                ok_line = None
            total += 1
            exact_cost += ok_cost
            named += bool(ok_line) if ok_line is not None else 0
            mark = "-" if ok_line is None else ("yes" if ok_line else f"NO {ex.fix_first}")
            print(f"{m.label[:58]:58s} {lost:5g}  {','.join(m.blamed) or '-':24s} "
                  f"{','.join(blamed) or '-':30s} {mark}{'' if ok_cost else '   <- cost differs'}")
    ex1_total = sum(1 for m in MISTAKES if m.line_named and (not args.only or args.only in m.label))
    print(f"\n{total} mistakes graded in {time.perf_counter() - start:.1f} s")
    print(f"cost exactly the points of the gradients whose own statements are wrong: {exact_cost} of {total}")
    print(f"exercise 1: the 'fix first' list names exactly the changed line: {named} of {ex1_total}")
    return 0 if exact_cost == total and named == ex1_total else 1


if __name__ == "__main__":
    sys.exit(main())
