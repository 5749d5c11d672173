"""How the runs of one exercise become verdicts: a stop said in one sentence, hidden variants merged.

Used by grader/grading.py (exercises 1-3) and grader/training/check.py (exercise 4); imports the core only.
"""
from __future__ import annotations

from grader.options import PUBLIC
from grader.results import PASS, CheckResult


def describe_failure(outcome, code) -> str:
    """One sentence for why the student's code did not finish, with cell and line; '' if it did.

    `outcome`: a sandbox Outcome; `code`: the ExerciseCode that ran (its `locate` gives cell and line).
    """
    if outcome.stopped:
        return outcome.stopped
    err = outcome.error
    if not err:
        return ""
    where = code.locate(err["lineno"]) if isinstance(err.get("lineno"), int) else "somewhere in your code"
    return f"{where}: {err.get('message', 'an error')}"


def merge_variants(per_variant: list) -> list[CheckResult]:
    """A check passes only if it passes on every variant; a hidden failure is reported without its values."""
    public_variant, public = per_variant[0]
    merged = []
    for i, check in enumerate(public):
        final = check
        if check.status == PASS:
            for variant, checks in per_variant[1:]:
                hidden = checks[i]
                if hidden.status != PASS:
                    final = CheckResult(name=check.name, status=hidden.status, shape=check.shape,
                                        expected_shape=check.expected_shape, exact=check.exact,
                                        approximate=check.approximate, maxdiff=check.maxdiff, variant=variant.name,
                                        diagnosis=hidden.diagnosis, hints=hidden.hints,  # no error map: it would show the hidden batch
                                        message=f"passes the public seed but fails on {describe_variant(variant)} "
                                                f"(hidden variant {variant.name}): {hidden.message}")
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
