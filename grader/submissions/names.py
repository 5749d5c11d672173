"""The student's own names: forward tensors renamed in their forward pass (`yb` for `Yb`), answers under a near name.

Their forward pass is never run: a name of theirs is recognised by the shape of the statement that
assigns it (`a = torch.tanh(hpreact)` is the lecture's `h = torch.tanh(hpreact)`), and the exercise
gets `a = h` before its code, bound to the grader's own tensors. An answer under a near name
(`dlogits_fast`, `dbnvarinv`) is graded as the lecture's when it is the only candidate.
"""
from __future__ import annotations

import ast
import re
from collections import Counter

from grader.submissions.notebook import (ALL_WRITES, EX1_GRADS, EX4_GRADS, GRADED, LECTURE, Info, _statements, names_read,
                                         parse, writes_of)

# the lecture's statements that name a tensor (its chunked forward pass, the batch, exercise 4's loop)
_LECTURE_CODE = """
n_embd = 10
n_hidden = 64
n_hidden = 200
batch_size = 32
n = batch_size
C = torch.randn((vocab_size, n_embd), generator=g)
W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5/3)/((n_embd * block_size)**0.5)
ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
Xb, Yb = Xtr[ix], Ytr[ix]
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hprebn = embcat @ W1 + b1
bnmeani = 1/n*hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5)**-0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()
bnmean = hprebn.mean(0, keepdim=True)
bnvar = hprebn.var(0, keepdim=True, unbiased=True)
bnraw = (hprebn - bnmean) * bnvar_inv
loss = F.cross_entropy(logits, Yb)
"""
# the same statements as students also write them (another spelling of the same tensor)
_LECTURE_FORMS = """
Xb, Yb = Xtr[ix], Ytr[ix]
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
embcat = emb.view(n, -1)
embcat = emb.view(batch_size, -1)
embcat = emb.view(-1, n_embd * block_size)
embcat = emb.view(emb.shape[0], n_embd * block_size)
embcat = emb.reshape(emb.shape[0], -1)
embcat = emb.reshape(n, -1)
hprebn = embcat.matmul(W1) + b1
hprebn = torch.matmul(embcat, W1) + b1
bnmeani = hprebn.sum(0, keepdim=True) / n
bnmeani = 1/n*hprebn.sum(0, keepdims=True)
bndiff2 = bndiff * bndiff
bndiff2 = bndiff.pow(2)
bnvar = bndiff2.sum(0, keepdim=True) / (n-1)
bnvar = 1/(n-1)*bndiff2.sum(0, keepdims=True)
bnvar_inv = 1/torch.sqrt(bnvar + 1e-5)
bnvar_inv = torch.rsqrt(bnvar + 1e-5)
bnvar_inv = (bnvar + 1e-5).rsqrt()
bnvar_inv = (bnvar + 1e-5)**(-0.5)
hpreact = bnraw * bngain + bnbias
h = hpreact.tanh()
logits = h.matmul(W2) + b2
logit_maxes = logits.max(1, keepdim=True)[0]
logit_maxes = logits.max(dim=1, keepdim=True).values
logit_maxes = logits.max(dim=1, keepdim=True)[0]
logit_maxes = torch.max(logits, 1, keepdim=True).values
counts = torch.exp(norm_logits)
counts_sum = counts.sum(1, keepdim=True)
counts_sum = counts.sum(dim=1, keepdim=True)
counts_sum = counts.sum(-1, keepdim=True)
counts_sum_inv = 1/counts_sum
counts_sum_inv = counts_sum.reciprocal()
counts_sum_inv = counts_sum**(-1)
probs = counts_sum_inv * counts
logprobs = torch.log(probs)
loss = -logprobs[range(n), Yb].mean()
loss = -logprobs[torch.arange(n), Yb].mean()
"""
# what an exercise's code is given under the lecture's names (grader/sandbox/child.py, grader/training/loop.py)
_GIVEN_1_3 = (LECTURE - {"bnmean", "max_steps", "lossi", "i", "lr", "p", "t", "k", "j", "plt", "nn", "words",
                         "chars", "build_dataset", "n1", "n2"}) | {"dhpreact"}
_GIVEN_4 = {"C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "parameters", "Xb", "Yb", "n", "batch_size", "n_embd",
            "n_hidden", "vocab_size", "block_size", "emb", "embcat", "hprebn", "bnmean", "bnvar", "bnvar_inv", "bnraw",
            "hpreact", "h", "logits", "loss", "i", "lr", "max_steps", "torch", "F"}
_SUFFIX = re.compile(r"_?(?:fast|new|manual|mine|my|hand|final|alt|better|v?\d|ex\d|onego|one_go)$", re.I)


def _shape(stmt: ast.stmt) -> tuple[str, list[str]]:
    """(the statement with every name blanked, its names in order): no copy of the tree is made."""
    ids: list[str] = []

    def dump(node) -> str:
        if isinstance(node, ast.Name):
            ids.append(node.id)
            return "_"
        if isinstance(node, ast.AST):
            return f"{type(node).__name__}({','.join(dump(getattr(node, f, None)) for f in node._fields)})"
        if isinstance(node, list):
            return f"[{','.join(map(dump, node))}]"
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            return repr(float(node))  # 1/n and 1.0/n, 1e-5 and 0.00001: one spelling
        return repr(node)
    return dump(stmt), ids


_TABLE: dict[str, list[list[str]]] = {}
for _stmt in ast.parse(_LECTURE_CODE + _LECTURE_FORMS).body:
    _key, _ids = _shape(_stmt)
    if _ids not in _TABLE.setdefault(_key, []):
        _TABLE[_key].append(_ids)


def _candidates(stmt: ast.stmt) -> bool:
    """An assignment of plain names that is not a gradient."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return False
    target = stmt.targets[0]
    names = [target] if isinstance(target, ast.Name) else getattr(target, "elts", [None])
    return all(isinstance(t, ast.Name) and t.id not in ALL_WRITES and not _gradient_like(t.id) for t in names)


def _gradient_like(name: str) -> bool:
    return name.startswith("d") and (name[1:] in LECTURE or name[1:2] == "_")


def forward_aliases(infos: list[Info]) -> dict[str, str]:
    """The student's name -> the lecture's, learnt from their forward statements (in document order)."""
    aliases: dict[str, str] = {}
    for info in infos:
        if info.tree is None:
            continue
        for stmt in (s for s in _statements(info.tree) if _candidates(s)):
            key, ids = _shape(stmt)
            fits = [ref for ref in _TABLE.get(key, []) if all(_agrees(s, r, aliases) for s, r in zip(ids, ref))]
            if len(fits) != 1 or len(set(zip(ids, fits[0]))) != len(set(ids)):
                continue  # no statement of the lecture, several, or one name standing for two of the lecture's
            for mine, ref in zip(ids, fits[0]):
                if mine != ref and mine not in LECTURE and mine not in ALL_WRITES:
                    aliases[mine] = ref
    return aliases


def student_aliases(infos: list[Info]) -> dict[str, str]:
    """The student's names -> the lecture's: their forward tensors (forward_aliases), their gradients (cmp_pairs)."""
    aliases = forward_aliases(infos)
    aliases.update(cmp_pairs(infos, aliases))
    return aliases


def cmp_pairs(infos: list[Info], aliases: dict[str, str]) -> dict[str, str]:
    """The student's gradient names their own cmp calls pair with the lecture's: `cmp('logprobs', dL_dlp, logprobs)`
    makes dL_dlp their dlogprobs. A call of any name counts when it reads (a label, a name, a forward tensor);
    a name paired with two gradients, or a gradient with two names, is left out."""
    pairs: dict[str, set] = {}
    for info in infos:
        for node in _calls(info.tree):
            args = list(node.args) + [k.value for k in node.keywords if k.arg in ("dt", "t")]
            if len(args) < 3 or not (isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)) \
                    or not all(isinstance(a, ast.Name) for a in args[1:3]):
                continue
            mine, forward = args[1].id, aliases.get(args[2].id, args[2].id)
            if "d" + forward in EX1_GRADS + EX4_GRADS and mine != "d" + forward and mine not in ALL_WRITES | LECTURE:
                pairs.setdefault(mine, set()).add("d" + forward)
    single = {mine: next(iter(t)) for mine, t in pairs.items() if len(t) == 1}
    names_of = Counter(single.values())
    return {mine: target for mine, target in single.items() if names_of[target] == 1}


def _calls(tree: ast.AST | None):
    """The calls of the top-level statements of `tree` (a cmp call is never inside a function's body here)."""
    for stmt in _statements(tree) if tree is not None else ():
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            yield stmt.value


def _agrees(mine: str, ref: str, aliases: dict[str, str]) -> bool:
    """A name of the student can stand for the lecture's `ref` (a lecture name stands only for itself)."""
    if mine in LECTURE or mine in ALL_WRITES:
        return mine == ref
    return aliases.get(mine, ref) == ref


def _flat(name: str) -> str:
    return name.lower().replace("_", "")


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by one inserted, deleted or replaced character."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:k] + long[k + 1:] == short for k in range(len(long)))


def close(mine: str, graded: str, aliases: dict[str, str] | None = None) -> bool:
    """`mine` is a near name of the gradient `graded`: dlogits_fast, dh_prebn, dbnvarinv, dnorms_logits, dbnsqdiff (aliased)."""
    if mine == graded or mine in ALL_WRITES:
        return False
    if aliases and aliases.get(mine) == graded:  # paired with it by the student's own cmp call (cmp_pairs)
        return True
    if not mine.startswith("d"):
        return False
    if aliases and aliases.get(mine[1:]) == graded[1:]:
        return True
    flat, target = _flat(mine), _flat(graded)
    stripped = _flat(_SUFFIX.sub("", mine))
    return flat == target or stripped == target or len(target) >= 6 and _one_edit(flat, target)


def near_names(names: set[str], exercise: int | None = None, aliases: dict[str, str] | None = None) -> dict[str, list[str]]:
    """graded name -> the names in `names` close to it (for exercise `exercise`, or any)."""
    graded = GRADED[exercise] if exercise else EX1_GRADS + EX4_GRADS
    out: dict[str, list[str]] = {}
    for target in graded:
        hits = sorted(n for n in names if close(n, target, aliases))
        if hits:
            out[target] = hits
    return out


def given(exercise: int) -> set[str]:
    """The lecture's names an exercise's code is given."""
    return _GIVEN_4 if exercise == 4 else _GIVEN_1_3


def adapt(code: str, exercise: int, aliases: dict[str, str]) -> tuple[list[str], dict[str, str], list[str], dict[str, str]]:
    """What an exercise's code needs around it: (lines before it, answers renamed, notes, hints per gradient).

    Before: `yb = Yb` for each of the student's forward names the code reads. Renamed: dlogits ->
    dlogits_fast when the code never assigns dlogits but exactly one near name (or the name its cmp
    call pairs with it); several near names give a hint ("did you mean ...?") instead.
    """
    try:
        tree = parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep to parse: nothing to adapt
        return [], {}, [], {}
    done = {w.name for w in writes_of(tree) if w.kind != "placeholder"}
    before = [f"{mine} = {ref}" for mine, ref in sorted(aliases.items())
              if mine in names_read(tree) and ref in given(exercise) and mine not in done]
    renamed, notes, hints = {}, [], {}
    missing = {n for n in GRADED[exercise] if n not in done}
    for target, hits in near_names(done, exercise, aliases).items():
        if target not in missing:
            continue
        if len(hits) == 1:
            renamed[target] = hits[0]
            notes.append(f"graded `{hits[0]}` as `{target}`")
        else:
            hints[target] = "did you mean " + " or ".join(f"`{h}`" for h in hits) + "?"
            notes.append(f"{target} is never assigned; {hints[target]}")
    graded_as = [f"graded `{mine}` as `{target}`" for target, mine in renamed.items()]
    if len(graded_as) > 3:  # your own naming throughout: one note
        notes = [n for n in notes if n not in graded_as] + [
            f"your names for {len(graded_as)} gradients are graded as the lecture's (your cmp calls or the names say which): "
            + ", ".join(n.removeprefix("graded ") for n in graded_as[:4]) + ", …"]
    if before:
        notes.append("your names for the lecture's tensors are bound to the grader's: " +
                     ", ".join(line.replace(" = ", " is ") for line in before))
    return before, renamed, notes, hints
