"""Build Gradescope's autograder zip: setup.sh and run_autograder at its root, the grader and names.txt inside.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once when it builds the image,
then run_autograder for each submission (files in /autograder/submission), which must leave
/autograder/results/results.json. names.txt travels in the zip (checked against its checksum
now), so grading never downloads anything.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import stat
import zipfile
from pathlib import Path

from grader import __version__, data
from grader.resources import resource_dir

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PACKAGE = Path(__file__).resolve().parents[1]  # grader/, the whole package

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (backprop-ninja {version}).
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
if ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
# CPU-only torch: Gradescope has no GPU, and the CUDA build is gigabytes
/autograder/venv/bin/pip install --index-url "{torch_index}" "torch=={torch}"
/autograder/venv/bin/pip install -r requirements.txt
# check the install now rather than on the first submission
PYTHONPATH="$PWD" /autograder/venv/bin/python -m grader --version
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: grade /autograder/submission into results.json.
# A results.json is always written, even when the grader itself cannot start.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
SOURCE="$ROOT/source"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# every notebook and .py file the student uploaded, at any depth
mapfile -d '' FILES < <(find "$ROOT/submission" -type f \\( -name '*.py' -o -name '*.ipynb' \\) \\
  -not -path '*/.ipynb_checkpoints/*' -not -path '*/__MACOSX/*' -print0 | sort -z)
if [ "${{#FILES[@]}}" -eq 0 ]; then
  FILES=("$ROOT/submission")  # the grader says what is missing, in results.json
fi
cd "$SOURCE" || exit 0
PYTHONPATH="$SOURCE" "$PYTHON" -m grader grade "${{FILES[@]}}" --names "$SOURCE/names.txt" {rubric}\\
  --gradescope "$RESULTS" --quiet
status=$?
if [ ! -s "$RESULTS" ]; then
  cat > "$RESULTS" <<EOF
{{"score": 0.0, "execution_time": 0, "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
 "output": "The autograder could not run (exit status $status). This is not a problem with your code; please tell the course staff."}}
EOF
fi
exit 0
"""


def requirements() -> list[str]:
    """The grader's runtime dependencies (from its installed metadata), torch excepted (setup.sh pins it)."""
    try:
        requires = importlib.metadata.requires("backprop-ninja") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    keep = [r for r in requires if "extra ==" not in r and not re.match(r"torch\b", r)]
    return keep or ["click>=8.1", "jinja2>=3.1", "rich>=13", "nbformat>=5.9", "platformdirs>=3",
                    "safetensors>=0.4", "numpy>=1.24", "matplotlib>=3.7", "pyyaml>=6",
                    'tomli>=2; python_version < "3.11"']


def _torch_version() -> str:
    import torch

    return torch.__version__.split("+")[0]


def build_autograder(out_path: str | os.PathLike, names=None, rubric=None, torch_index: str = TORCH_CPU_INDEX) -> Path:
    """Write the autograder zip to `out_path`; DataError without a verified names.txt, RubricError for a bad rubric."""
    names_path = data.names_path(names)
    if rubric:
        from grader.course.rubric import load_rubric

        load_rubric(rubric)  # refuse a broken rubric now, not on the students' first submission
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        _script(zf, "setup.sh", SETUP_SH.format(version=__version__, torch=_torch_version(), torch_index=torch_index))
        _script(zf, "run_autograder", RUN_AUTOGRADER.format(rubric='--rubric "$SOURCE/rubric.toml" ' if rubric else ""))
        zf.writestr("requirements.txt", "\n".join(requirements()) + "\n")
        zf.write(names_path, "names.txt")
        if rubric:
            zf.write(rubric, "rubric.toml")
        for path in sorted(PACKAGE.rglob("*")):
            rel = path.relative_to(PACKAGE)
            if path.is_file() and "__pycache__" not in rel.parts and rel.parts[0] != "_data" and path.suffix != ".pyc":
                zf.write(path, f"grader/{rel.as_posix()}")
        for name in ("templates", "exercises", "solutions"):  # as in the wheel: grader/_data/<name>
            folder = resource_dir(name)
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, f"grader/_data/{name}/{path.relative_to(folder).as_posix()}")
    os.replace(tmp, out_path)
    return out_path


def _script(zf: zipfile.ZipFile, name: str, text: str) -> None:
    """An executable file at the zip's root (Gradescope keeps the mode bits)."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, text)
