"""Where the templates, stubs and reference solutions are: inside the wheel, or in a source checkout."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """`templates`, `exercises` or `solutions`: grader/_data/<name> when installed, else the repository's."""
    for candidate in (_HERE / "_data" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the grader's {name}/ folder is missing from this installation")
