"""A TOML rubric -> grading Options; the defaults, and a fingerprint that names a rubric in the batch cache.

Every key is optional; a missing key keeps its default (docs/rubric.md lists them all):

    [exercises.1]          # points per check of exercise 1 (default 1; exercises 2 and 3: 5)
    points = 1.0
    [exercises.1.checks]   # per-check overrides, by gradient name (with or without its "d")
    dC = 2.0

    [tolerance]
    policy = "roundoff"    # "roundoff" | "allclose" | "exact"
    factor = 16.0          # roundoff: multiple of autograd's own float32 error
    rtol = 1e-5            # allclose
    atol = 1e-8            # allclose

    [variants]
    hidden = true          # also grade the hidden variants (a check must pass on every one)
    seeds = [...]          # an exam's own hidden seeds (private: nothing of those runs is shown)

    [limits]               # per run of a student's code
    seconds = 20.0
    memory_mb = 2048

    [integrity]
    zero_exercise = true   # an exercise whose code uses autograd scores 0

    [grading]
    follow_through = true  # each gradient graded on its own statements, given right inputs

    [report]
    hints = true           # a failing check shows three levels of hints (scorecard, JSON, check())

    [ex4]                  # exercise 4: steps of the quick check, its time limit, or the full 200,000 steps
    steps = 200
    time_limit = 300.0
    full = false
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from grader import options as opts
from grader.exercises import EXERCISES
from grader.options import Limits
from grader.options import Options

SECTIONS = ("exercises", "tolerance", "variants", "limits", "integrity", "grading", "report", "ex4")
# ex4 keys that change how the terminal looks, not the grade, and ex4 defaults: left out of the fingerprint
_UI_KEYS = ("progress",)
_EX4_DEFAULTS = {"full": False}


class RubricError(Exception):
    """The rubric file cannot be read or says something invalid; str(e) names the file and the key."""


def load_rubric(path: str | os.PathLike) -> Options:
    """Read a TOML rubric into Options; RubricError (naming the key) for anything invalid."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RubricError(f"{path}: cannot read the rubric ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise RubricError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: not valid TOML ({exc})") from None
    try:
        return from_dict(raw)
    except RubricError as exc:
        raise RubricError(f"{path}: {exc}") from None


def from_dict(raw: dict) -> Options:
    """Options from a parsed rubric (the TOML's tables); RubricError for unknown keys or bad values."""
    _known("", raw, SECTIONS)
    options = Options()
    _exercises(options, _table(raw, "exercises"))
    options.tolerance = _tolerance(_table(raw, "tolerance"))
    variants = _table(raw, "variants")
    _known("variants", variants, ("hidden", "seeds"))
    if "seeds" in variants:  # an exam's own hidden seeds: never in the grader's source, never told to students
        seeds = variants["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                                 and 0 <= s < 2**63 for s in seeds):
            raise RubricError("variants.seeds: a non-empty list of integers (0 <= seed < 2**63)")
        options.variants = (opts.PUBLIC, *opts.private_variants(seeds))
        options.private_variants = True
    if not _bool(variants, "variants", "hidden", True):
        options.variants = (opts.PUBLIC,)
    limits = _table(raw, "limits")
    fields = {f.name: f for f in dataclasses.fields(Limits)}
    _known("limits", limits, fields)
    changes = {}
    for key, value in limits.items():
        kind = float if fields[key].type in ("float", float) else int
        changes[key] = _number(value, f"limits.{key}", positive=True, integer=kind is int)
    options.limits = dataclasses.replace(options.limits, **changes)
    integrity = _table(raw, "integrity")
    _known("integrity", integrity, ("zero_exercise",))
    options.integrity_zeroes = _bool(integrity, "integrity", "zero_exercise", True)
    grading = _table(raw, "grading")
    _known("grading", grading, ("follow_through",))
    options.follow_through = _bool(grading, "grading", "follow_through", True)
    report = _table(raw, "report")
    _known("report", report, ("hints",))
    options.hints = _bool(report, "report", "hints", True)
    ex4 = _table(raw, "ex4")
    _known("ex4", ex4, ("steps", "time_limit", "full"))
    if "steps" in ex4:
        options.ex4["steps"] = _number(ex4["steps"], "ex4.steps", positive=True, integer=True)
    if "time_limit" in ex4:
        options.ex4["time_limit"] = _number(ex4["time_limit"], "ex4.time_limit", positive=True)
    if "full" in ex4:
        options.ex4["full"] = _bool(ex4, "ex4", "full", False)
    return options


def _exercises(options: Options, table: dict) -> None:
    """[exercises.N] points and [exercises.N.checks] into options.points / options.check_points."""
    for key, section in table.items():
        if str(key) not in {str(i) for i in EXERCISES}:
            raise RubricError(f"exercises.{key}: there is no exercise {key!r}; exercises are 1, 2, 3 and 4")
        ex = EXERCISES[int(key)]
        if not isinstance(section, dict):
            raise RubricError(f"exercises.{key}: expected a table ([exercises.{key}])")
        _known(f"exercises.{key}", section, ("points", "checks"))
        if "points" in section:
            options.points[ex.id] = _number(section["points"], f"exercises.{key}.points")
        checks = section.get("checks", {})
        if not isinstance(checks, dict):
            raise RubricError(f"exercises.{key}.checks: expected a table of gradient = points")
        for name, value in checks.items():
            bare = name[1:] if name.startswith("d") and name[1:] in ex.graded else name
            if bare not in ex.graded:
                raise RubricError(f"exercises.{key}.checks.{name}: exercise {ex.id} grades no such gradient "
                                  f"(it grades {', '.join(ex.gradient_names)})")
            options.check_points[(ex.id, bare)] = _number(value, f"exercises.{key}.checks.{name}")


def _tolerance(table: dict) -> opts.Tolerance:
    _known("tolerance", table, ("policy", "factor", "rtol", "atol"))
    policy = table.get("policy", "roundoff")
    if policy not in opts.POLICIES:
        raise RubricError(f"tolerance.policy: {policy!r} is not one of {', '.join(map(repr, opts.POLICIES))}")
    values = {k: _number(table[k], f"tolerance.{k}") for k in ("factor", "rtol", "atol") if k in table}
    return opts.Tolerance(policy=policy, **values)


def _table(raw: dict, key: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise RubricError(f"{key}: expected a table ([{key}])")
    return value


def _known(where: str, table: dict, allowed) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        prefix = f"{where}." if where else ""
        raise RubricError(f"unknown key {prefix}{unknown[0]} (known: {', '.join(sorted(allowed))})")


def _bool(table: dict, where: str, key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise RubricError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _number(value, where: str, positive: bool = False, integer: bool = False) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RubricError(f"{where}: expected a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise RubricError(f"{where}: must be {'positive' if positive else 'zero or more'}, got {value!r}")
    if integer:
        if value != int(value):
            raise RubricError(f"{where}: expected a whole number, got {value!r}")
        return int(value)
    return float(value)


def describe(options: Options) -> dict:
    """Options as plain JSON data: what the fingerprint hashes, and what a batch records."""
    return {
        "variants": [v.to_dict() for v in options.variants],
        "limits": options.limits.to_dict(),
        "points": {str(ex.id): float(options.points.get(ex.id, ex.points)) for ex in EXERCISES.values()},
        "check_points": {f"{ex}.{name}": float(v) for (ex, name), v in sorted(options.check_points.items())},
        "tolerance": dataclasses.asdict(options.tolerance),
        "integrity_zeroes": options.integrity_zeroes,
        **({} if options.follow_through else {"follow_through": False}),  # the default keeps old fingerprints
        **({} if options.hints else {"hints": False}),  # only when off: fingerprints of earlier rubrics stay the same
        "ex4": {k: v for k, v in sorted(options.ex4.items())
                if k not in _UI_KEYS and not (k in _EX4_DEFAULTS and v == _EX4_DEFAULTS[k])},
    }


def fingerprint(options: Options) -> str:
    """A short hash of everything in the Options that can change a grade."""
    text = json.dumps(describe(options), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
