"""Diagnosis benchmark: does grader.diagnosis name the cause of one-line mistakes, and never of a correct answer?

A corpus of one-line mistakes across exercises 1-4 (the grader's own reference code with one line broken, run here
in-process as benchmarks/tolerance_study.py does; never student code). Each mistake's gradient is computed from
correct inputs (only its own line is broken) and diagnosed; it is *named* when the diagnosis's id is one of the
causes the mistake expects. Then every correct style of the tolerance study runs through the catalogue, ungated
(diagnosis.matches, which does not ask whether the answer passes), on many seeds: any match is a false diagnosis.

    python benchmarks/bench_diagnosis.py                 # the corpus, then the correct styles on 50 seeds
    python benchmarks/bench_diagnosis.py --seeds 200

Exits 1 if fewer than 90% are named or there is any false diagnosis.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader import compare, data, model  # noqa: E402
from grader.diagnosis import cause as dg  # noqa: E402
from grader.diagnosis.generic import matmul_error  # noqa: E402
from grader.results import PASS  # noqa: E402
from grader.sandbox import child  # noqa: E402


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ts = _load("tolerance_study")
HIDDEN17 = model.Variant(name="hidden-1", seed=1337, batch_size=17)
EX4_VARIANT = model.Variant(n_hidden=200)  # exercise 4's network (grader/training/loop.py)
EX4_INTERMEDIATES = ("logits", "h", "hpreact", "hprebn", "embcat", "emb")


@dataclass(frozen=True)
class Mistake:
    """A one-line mistake: the code it makes, the gradient it breaks, the diagnosis ids that name its cause."""

    label: str
    exercise: int
    grad: str
    code: str
    expect: tuple
    variant: model.Variant = model.PUBLIC


def corpus() -> list[Mistake]:
    ref1, ref2, ref3 = (ts.reference(s) for s in ("ex1_backprop_one_by_one.py", "ex2_cross_entropy.py", "ex3_batchnorm.py"))
    m = ts.mutate
    dc_loop = ("dC = torch.zeros_like(C)\nfor k in range(Xb.shape[0]):\n    for j in range(Xb.shape[1]):\n"
               "        ix = Xb[k, j]\n        dC[ix] += demb[k, j]\n")

    def e1(label, grad, old, new, *expect, variant=model.PUBLIC):
        return Mistake(label, 1, grad, m(ref1, (old, new)), expect, variant)

    def e2(label, old, new, *expect, variant=model.PUBLIC):
        return Mistake(label, 2, "logits", m(ref2, (old, new)), expect, variant)

    def e3(label, old, new, *expect):
        return Mistake(label, 3, "hprebn", m(ref3, (old, new)), expect)

    def e4(label, grad, *expect, **steps):
        return Mistake(label, 4, grad, ts.ex4(**steps), expect, EX4_VARIANT)

    return [
        e1("dlogprobs: missing 1/n", "logprobs", ts.L_DLOGPROBS, "dlogprobs[range(n), Yb] = -1.0", "factor:n"),
        e1("dlogprobs: sign flipped", "logprobs", ts.L_DLOGPROBS, "dlogprobs[range(n), Yb] = 1.0 / n", "sign"),
        e1("dlogprobs: -1/n everywhere", "logprobs", ts.L_DLOGPROBS, "dlogprobs[:, :] = -1.0 / n", "dlogprobs-everywhere"),
        e1("dlogprobs: hard-coded 32 (batch 17)", "logprobs", ts.L_DLOGPROBS, "dlogprobs[range(n), Yb] = -1.0 / 32",
           "hardcoded:32", variant=HIDDEN17),
        e1("dprobs: times probs", "probs", ts.L_DPROBS, "dprobs = probs * dlogprobs", "dprobs-times-probs"),
        e1("dprobs: sign flipped", "probs", ts.L_DPROBS, "dprobs = (-1.0 / probs) * dlogprobs", "sign"),
        e1("dcounts_sum_inv: dropped keepdim", "counts_sum_inv", ts.L_DCSI, "dcounts_sum_inv = (counts * dprobs).sum(1)", "keepdim"),
        e1("dcounts_sum_inv: sum over dim 0", "counts_sum_inv", ts.L_DCSI,
           "dcounts_sum_inv = (counts * dprobs).sum(0, keepdim=True)", "wrong-dim"),
        e1("dcounts_sum_inv: no sum", "counts_sum_inv", ts.L_DCSI, "dcounts_sum_inv = counts * dprobs", "missing-sum"),
        e1("dcounts_sum: sign flipped", "counts_sum", ts.L_DCS, "dcounts_sum = (counts_sum**-2) * dcounts_sum_inv", "sign"),
        e1("dcounts_sum: power -1", "counts_sum", ts.L_DCS, "dcounts_sum = (-counts_sum**-1) * dcounts_sum_inv",
           "dcounts-sum-inv-power", "extra:counts_sum"),
        e1("dcounts_sum = dcounts_sum_inv (no local derivative)", "counts_sum", ts.L_DCS, "dcounts_sum = dcounts_sum_inv",
           "other:counts_sum_inv"),
        e1("dcounts: missing the counts_sum branch", "counts", ts.L_DCOUNTS2, "", "branch-only:probs"),
        e1("dcounts: only the counts_sum branch", "counts", "dcounts = counts_sum_inv * dprobs",
           "dcounts = torch.zeros_like(counts)", "branch-only:counts_sum"),
        e1("dnorm_logits = dcounts (forgot the exp)", "norm_logits", "dnorm_logits = counts * dcounts",
           "dnorm_logits = dcounts", "missing:counts", "other:counts"),
        e1("dnorm_logits: norm_logits for counts", "norm_logits", "dnorm_logits = counts * dcounts",
           "dnorm_logits = norm_logits * dcounts", "dnorm-logits-times-norm-logits"),
        e1("dlogit_maxes: from dcounts", "logit_maxes", ts.L_DLMAX, "dlogit_maxes = (-dcounts).sum(1, keepdim=True)",
           "dlogit-maxes-dcounts"),
        e1("dlogit_maxes: sum over dim 0", "logit_maxes", ts.L_DLMAX, "dlogit_maxes = (-dnorm_logits).sum(0, keepdim=True)",
           "wrong-dim"),
        e1("dh: extra tanh derivative", "h", "dh = dlogits @ W2.T", "dh = dlogits @ W2.T * (1.0 - h**2)", "extra:1 - h**2"),
        e1("dW2: missing transpose", "W2", ts.L_DW2, "dW2 = dlogits.T @ h", "transposed"),
        e1("dW2: view instead of transpose", "W2", ts.L_DW2, "dW2 = (dlogits.T @ h).view(W2.shape)", "view-not-transpose"),
        e1("dW2: hpreact for h", "W2", ts.L_DW2, "dW2 = hpreact.T @ dlogits", "dW2-from-hpreact"),
        e1("db2: extra keepdim", "b2", ts.L_DB2, "db2 = dlogits.sum(0, keepdim=True)", "keepdim"),
        e1("db2: sum over dim 1", "b2", ts.L_DB2, "db2 = dlogits.sum(1)", "wrong-dim"),
        e1("db2: mean instead of sum", "b2", ts.L_DB2, "db2 = dlogits.mean(0)", "factor:1/n"),
        e1("dhpreact = dh (forgot 1 - h**2)", "hpreact", ts.L_DHPREACT, "dhpreact = dh", "missing:1 - h**2"),
        e1("dhpreact = h * dh", "hpreact", ts.L_DHPREACT, "dhpreact = h * dh", "dhpreact-times-h"),
        e1("dhpreact: tanh' from hpreact", "hpreact", ts.L_DHPREACT, "dhpreact = (1.0 - hpreact**2) * dh",
           "dhpreact-from-hpreact"),
        e1("dbngain: bndiff for bnraw", "bngain", ts.L_DBNGAIN, "dbngain = (bndiff * dhpreact).sum(0, keepdim=True)",
           "dbngain-bndiff"),
        e1("dbngain: no sum", "bngain", ts.L_DBNGAIN, "dbngain = bnraw * dhpreact", "missing-sum"),
        e1("dbnraw: missing bngain", "bnraw", "dbnraw = bngain * dhpreact", "dbnraw = dhpreact", "missing:bngain"),
        e1("dbnbias: sum over dim 1", "bnbias", ts.L_DBNBIAS, "dbnbias = dhpreact.sum(1, keepdim=True)", "wrong-dim"),
        e1("dbnvar_inv: bnraw for bndiff", "bnvar_inv", ts.L_DBNVARINV, "dbnvar_inv = (bnraw * dbnraw).sum(0, keepdim=True)",
           "dbnvar-inv-bnraw"),
        e1("dbnvar: power -0.5", "bnvar", ts.L_DBNVAR, "dbnvar = (-0.5 * (bnvar + 1e-5) ** -0.5) * dbnvar_inv",
           "dbnvar-power", "extra:bnvar + 1e-5"),
        e1("dbnvar = dbnvar_inv (no local derivative)", "bnvar", ts.L_DBNVAR, "dbnvar = dbnvar_inv", "other:bnvar_inv"),
        e1("dbnvar: sign flipped", "bnvar", ts.L_DBNVAR, "dbnvar = (0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv", "sign"),
        e1("dbndiff2: n instead of n-1", "bndiff2", ts.L_DBNDIFF2, "dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar",
           "factor:(n-1)/n"),
        e1("dbndiff2: hard-coded 31 (batch 17)", "bndiff2", ts.L_DBNDIFF2,
           "dbndiff2 = (1.0 / 31) * torch.ones_like(bndiff2) * dbnvar", "hardcoded:31", variant=HIDDEN17),
        e1("dbndiff2: not broadcast", "bndiff2", ts.L_DBNDIFF2, "dbndiff2 = (1.0 / (n - 1)) * dbnvar",
           "dbndiff2-not-broadcast", "not-broadcast"),
        e1("dbndiff: missing the bndiff2 branch", "bndiff", ts.L_DBNDIFF_2, "", "branch-only:bnraw"),
        e1("dbndiff: missing the 2", "bndiff", ts.L_DBNDIFF_2, "dbndiff += bndiff * dbndiff2\n", "dbndiff-no-two"),
        e1("dbnmeani: sign flipped", "bnmeani", ts.L_DBNMEANI, "dbnmeani = dbndiff.sum(0, keepdim=True)", "sign"),
        e1("dbnmeani: sum over dim 1", "bnmeani", ts.L_DBNMEANI, "dbnmeani = (-dbndiff).sum(1, keepdim=True)", "wrong-dim"),
        e1("dhprebn: missing the bnmeani branch", "hprebn", ts.L_DHPREBN2, "", "branch-only:bndiff", "bn-missing-mean-term"),
        e1("dhprebn: missing 1/n in the bnmeani branch", "hprebn", ts.L_DHPREBN2,
           "dhprebn += torch.ones_like(hprebn) * dbnmeani\n", "dhprebn-bnmeani-no-1/n"),
        e1("dembcat: dhpreact for dhprebn", "embcat", ts.L_DEMBCAT, "dembcat = dhpreact @ W1.T", "dembcat-from-dhpreact"),
        e1("dW1: missing transpose", "W1", ts.L_DW1, "dW1 = dhprebn.T @ embcat", "transposed"),
        e1("dW1: dhpreact for dhprebn", "W1", ts.L_DW1, "dW1 = embcat.T @ dhpreact", "dW1-from-dhpreact"),
        e1("db1: extra keepdim", "b1", ts.L_DB1, "db1 = dhprebn.sum(0, keepdim=True)", "keepdim"),
        e1("demb: view in the wrong order", "emb", ts.L_DEMB,
           "demb = dembcat.view(n, emb.shape[2], emb.shape[1]).transpose(1, 2)", "demb-view-order"),
        e1("dC: = instead of += (repeated characters)", "C", ts.L_DC, "dC[ix] = demb[k, j]", "dC-assigned", "repeated"),
        e1("dC: loop misses the last example", "C", ts.L_DC_LOOP, "for k in range(Xb.shape[0] - 1):",
           "dC-misses-last-example"),
        e1("dC: index_add_ over Xb.T", "C", dc_loop,
           "dC = torch.zeros_like(C).index_add_(0, Xb.T.reshape(-1), demb.view(-1, C.shape[1]))\n", "dC-xb-transposed"),
        # exercise 2
        e2("dlogits: missing 1/n", "dlogits /= n", "", "factor:n"),
        e2("dlogits: n-1 instead of n", "dlogits /= n", "dlogits /= n - 1", "factor:n/(n-1)"),
        e2("dlogits: sign flipped", "dlogits /= n", "dlogits /= -n", "sign"),
        e2("dlogits: hard-coded 32 (batch 17)", "dlogits /= n", "dlogits /= 32", "hardcoded:32", variant=HIDDEN17),
        e2("dlogits: no -1 at the target", "dlogits[range(n), Yb] -= 1\n", "", "dlogits-no-minus-one", "targets"),
        e2("dlogits: -1 on every row", "dlogits[range(n), Yb] -= 1", "dlogits[:, Yb] -= 1", "dlogits-minus-one-every-row"),
        e2("dlogits: softmax over dim 0", "F.softmax(logits, 1)", "F.softmax(logits, 0)", "dlogits-softmax-dim0"),
        # exercise 3
        e3("dhprebn: missing 1/n", " / n * (", " * (", "factor:n"),
        e3("dhprebn: n instead of n-1", "n / (n - 1) * bnraw", "bnraw", "bn-n-for-n-1"),
        e3("dhprebn: missing the bnmeani term", " - dhpreact.sum(0)", "", "bn-missing-mean-term"),
        e3("dhprebn: missing the bnvar term", " - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0)", "", "bn-missing-var-term"),
        e3("dhprebn: sign flipped", "dhprebn = bngain", "dhprebn = -bngain", "sign"),
        e3("dhprebn: bnvar term summed over dim 1", "(dhpreact * bnraw).sum(0)", "(dhpreact * bnraw).sum(1, keepdim=True)",
           "bn-var-term-wrong-dim"),
        e3("dhprebn: missing bngain", "bngain * bnvar_inv", "bnvar_inv", "missing:bngain"),
        e3("dhprebn: missing bnvar_inv", "bngain * bnvar_inv", "bngain", "missing:bnvar_inv"),
        e3("dhprebn: sign of the bnvar term", "- n / (n - 1)", "+ n / (n - 1)", "bn-var-term-sign"),
        # exercise 4: the seven parameter gradients and the block's intermediates
        e4("dC[Xb] += demb (repeated characters lost)", "C", "dC-assigned", "repeated",
           dC="dC = torch.zeros_like(C)\ndC[Xb] += demb"),
        e4("dC: index_add_ of dembcat rows by Xb[:, 0]", "C", "dC-first-position",
           dC="dC = torch.zeros_like(C).index_add_(0, Xb[:, 0], dembcat[:, :C.shape[1]])"),
        e4("dW1: missing transpose", "W1", "transposed", dW1="dW1 = dhprebn.T @ embcat"),
        e4("dW1: view instead of transpose", "W1", "view-not-transpose", dW1="dW1 = (dhprebn.T @ embcat).view(W1.shape)"),
        e4("db1: extra keepdim", "b1", "keepdim", db1="db1 = dhprebn.sum(0, keepdim=True)"),
        e4("db1: from dhpreact (skips batchnorm)", "b1", "db1-from-dhpreact", db1="db1 = dhpreact.sum(0)"),
        e4("dW2: sign flipped", "W2", "sign", dW2="dW2 = -(h.T @ dlogits)"),
        e4("db2: extra keepdim", "b2", "keepdim", db2="db2 = dlogits.sum(0, keepdim=True)"),
        e4("dbnbias: sum over dim 1", "bnbias", "wrong-dim", dbnbias="dbnbias = dhpreact.sum(1, keepdim=True)"),
        e4("dbngain: no sum", "bngain", "missing-sum", dbngain="dbngain = bnraw * dhpreact"),
        e4("dlogits: missing 1/n", "logits", "factor:n", dlogits="dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1"),
        e4("dhpreact = dh", "hpreact", "missing:1 - h**2", dhpreact="dhpreact = dh"),
        e4("dhprebn: missing the bnmeani term", "hprebn", "bn-missing-mean-term",
           dhprebn=ts.EX3_FORMULA.replace(" - dhpreact.sum(0)", "")),
        e4("dhprebn: n instead of n-1", "hprebn", "bn-n-for-n-1", dhprebn=ts.EX3_FORMULA.replace("n / (n - 1) * bnraw", "bnraw")),
        e4("dembcat: dhpreact for dhprebn", "embcat", "dembcat-from-dhpreact", dembcat="dembcat = dhpreact @ W1.T"),
        e4("dbngain: bndiff for bnraw", "bngain", "dbngain-bndiff", dbngain="dbngain = (bndiff * dhpreact).sum(0, keepdim=True)"),
    ]


CRASHES = (  # lines that raise instead of answering: diagnosed from the exception (generic.matmul_error)
    ("dh = dlogits @ W2 (no .T)", "h", "dh = dlogits @ W2"),
    ("dembcat = dhprebn @ W1 (no .T)", "embcat", "dembcat = dhprebn @ W1"),
)


class Variants:
    """The forward pass, autograd's gradients and the lecture namespace of each variant, computed once."""

    def __init__(self, ds):
        self.ds, self._cache = ds, {}

    def get(self, variant: model.Variant):
        if variant not in self._cache:
            s, values = model.forward_values(self.ds, variant)
            base = child.lecture_namespace(self.ds, s, values)
            base["dhpreact"] = model.manual_dhpreact(s, values)  # exercise 3's given (the others overwrite it)
            self._cache[variant] = (s, model.autograd_gradients(s), model.autograd_gradients(s, torch.float64), base)
        return self._cache[variant]


@dataclass
class Outcome:
    """One mistake's result: compare's verdict, the diagnosis, whether it named the cause."""

    mistake: Mistake
    status: str  # compare's verdict on the mistaken gradient
    finding: object  # diagnosis.Finding or None
    named: bool


def run_mistake(mk: Mistake, variants: Variants) -> Outcome:
    s, g32, g64, base = variants.get(mk.variant)
    ns = dict(base)
    if mk.exercise != 3:
        ns.pop("dhpreact")
    with model.single_thread():
        try:
            exec(compile(mk.code, f"<{mk.label}>", "exec"), ns)
        except RuntimeError:  # a later line trips over the broken gradient's shape: the gradient itself is there
            pass
    answer = ts._answer(ns, "d" + mk.grad)
    check = compare.compare(mk.grad, answer, g32[mk.grad], g64[mk.grad], mk.variant.batch_size)
    finding = dg.explain(mk.grad, answer, s, g32, g64) if check.status != PASS else None
    named = finding is not None and finding.id in mk.expect
    return Outcome(mk, check.status, finding, named)


def run_crash(label: str, grad: str, line: str, variants: Variants) -> tuple[str, bool]:
    _, _, _, base = variants.get(model.PUBLIC)
    ns = dict(base)
    for prior in ts.EX4_STEPS.values():  # everything the line reads, computed correctly
        exec(prior, ns)
    try:
        exec(line, ns)
    except RuntimeError as exc:
        sentence = matmul_error(grad, str(exc), line)
        return sentence or "", sentence is not None
    return "", False


def study_mistakes(variants: Variants) -> list[tuple]:
    """The tolerance study's wrong variants (written before the catalogue): (label, gradient, diagnosis or None) for
    the first gradient each one breaks, in backward order (the broken line's own gradient)."""
    out = []
    order = {1: ts.EX1_NAMES, 2: ("logits",), 3: ("hprebn",), 4: ts.EX4_NAMES}
    for sol in ts.all_solutions():
        if sol.correct or (sol.exercise == 4 and sol.label.startswith(("dlogits", "dhprebn"))):
            continue  # exercise 4's broken intermediates: the study grades only the parameters they feed
        variant = EX4_VARIANT if sol.exercise == 4 else model.PUBLIC
        s, g32, g64, base = variants.get(variant)
        ns = dict(base)
        if sol.exercise != 3:
            ns.pop("dhpreact")
        ns, _ = ts.run_solution(sol, ns, compile(sol.code, sol.label, "exec"))
        name = next(x for x in order[sol.exercise] if x in sol.fails)
        out.append((f"ex{sol.exercise} {sol.label}", name, dg.explain(name, ts._answer(ns, "d" + name), s, g32, g64)))
    return out


def false_diagnoses(ds, seeds: int) -> tuple[int, int, list]:
    """Every correct style of the tolerance study, every gradient, on `seeds` seeds and a few other shapes:
    (checks, matches of any wrong form or test, examples)."""
    solutions = [s for s in ts.all_solutions() if s.correct]
    compiled = [compile(s.code, f"<{s.label}>", "exec") for s in solutions]
    checks, false, examples = 0, 0, []
    with model.single_thread():
        for variant in ts.configs(seeds, max(1, seeds // 20)):
            for sol, code in zip(solutions, compiled):
                v = ts.model.Variant(**{**variant.to_dict(), "n_hidden": 200}) if sol.exercise == 4 and \
                    variant.n_hidden == 64 else variant
                s, values = model.forward_values(ds, v)
                g32, g64 = model.autograd_gradients(s), model.autograd_gradients(s, torch.float64)
                base = child.lecture_namespace(ds, s, values)
                if sol.exercise == 3:
                    base["dhpreact"] = model.manual_dhpreact(s, values)
                ns, _ = ts.run_solution(sol, base, code)
                ctx = dg.context(s, g32, g64)
                names = set(sol.passes) | (set(EX4_INTERMEDIATES) if sol.exercise == 4 else set())
                for name in sorted(names):
                    answer = ns.get("d" + name)
                    if not isinstance(answer, torch.Tensor):
                        continue
                    checks += 1
                    found = dg.matches(ctx, name, answer.detach().double(), first=False)
                    if found or dg.explain(name, answer, s, g32, g64):
                        false += 1
                        examples.append((v.name, sol.label, name, [f.id for f in found]))
    return checks, false, examples


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=50, help="seeds for the correct styles (default 50)")
    parser.add_argument("--names", help="path to names.txt (default: $BACKPROP_NINJA_NAMES or the cache)")
    args = parser.parse_args(argv)
    ds = data.load(args.names)
    variants = Variants(ds)
    start = time.perf_counter()
    outcomes = [run_mistake(mk, variants) for mk in corpus()]
    for o in outcomes:
        mark = "named " if o.named else ("PASSES" if o.status == PASS else "MISSED")
        said = o.finding.sentence if o.finding else "(no diagnosis)"
        print(f"ex{o.mistake.exercise} {mark} {o.mistake.label:<48} d{o.mistake.grad:<15} "
              f"{o.finding.id if o.finding else '-':<28} {said}")
    crashes = [run_crash(*c, variants) for c in CRASHES]
    for (label, grad, _), (sentence, ok) in zip(CRASHES, crashes):
        print(f"ex1 {'named ' if ok else 'MISSED'} {label:<48} d{grad:<15} {'matmul':<28} {sentence}")
    total = len(outcomes) + len(crashes)
    named = sum(o.named for o in outcomes) + sum(ok for _, ok in crashes)
    unfailed = [o for o in outcomes if o.status == PASS]
    by_ex = {}
    for o in outcomes:
        by_ex.setdefault(o.mistake.exercise, [0, 0])
        by_ex[o.mistake.exercise][0] += o.named
        by_ex[o.mistake.exercise][1] += 1
    print()
    print(f"mistakes: {total}, named: {named} ({100 * named / total:.1f}%); "
          + ", ".join(f"exercise {k}: {a}/{b}" for k, (a, b) in sorted(by_ex.items()))
          + f", crashes {sum(ok for _, ok in crashes)}/{len(crashes)}")
    if unfailed:
        print(f"!! {len(unfailed)} mistakes pass compare (not mistakes): " + "; ".join(o.mistake.label for o in unfailed))
    print(f"corpus: {time.perf_counter() - start:.1f} s")
    print()
    held = study_mistakes(variants)
    for label, name, finding in held:
        print(f"{'named ' if finding else 'NONE  '} {label:<60} d{name:<15} {finding.sentence if finding else ''}")
    print(f"the tolerance study's wrong variants (written before the catalogue; judge the sentences above): "
          f"{sum(f is not None for _, _, f in held)} of {len(held)} get a diagnosis")
    start = time.perf_counter()
    checks, false, examples = false_diagnoses(ds, args.seeds)
    print(f"correct styles: {checks} gradients checked on {args.seeds} seeds + other shapes, "
          f"false diagnoses: {false} ({time.perf_counter() - start:.1f} s)")
    for ex in examples[:10]:
        print("   !!", ex)
    return 0 if named >= 0.9 * total and not false and not unfailed else 1


if __name__ == "__main__":
    sys.exit(main())
