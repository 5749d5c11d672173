"""The packages depend downward only: cli -> course -> grading -> training -> sandbox, submissions, report, diagnosis -> core."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "grader"
# what each part may import besides itself (the core is exercises, data, model, compare, options, results, ...)
ALLOWED = {
    "core": {"core"},
    "submissions": {"core"},
    "sandbox": {"core"},
    "report": {"core", "diagnosis"},
    "diagnosis": {"core"},
    "training": {"core", "sandbox", "submissions", "diagnosis"},
    "grading": {"core", "sandbox", "submissions", "training", "diagnosis"},
    "course": {"core", "sandbox", "submissions", "training", "grading", "report", "diagnosis"},
    "cli": {"core", "sandbox", "submissions", "training", "grading", "report", "course", "diagnosis"},
}
PACKAGES = ("submissions", "sandbox", "diagnosis", "training", "course", "report", "cli")
FACADE = {"grader", "grader.__main__"}  # `from grader import check` and `python -m grader` reach the top on purpose


def part(module: str) -> str:
    """grader.sandbox.child -> sandbox; grader.grading -> grading; grader.compare -> core."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    if len(parts) > 1 and parts[1] == "grading":
        return "grading"
    return "core"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported(path: Path):
    """Every grader module `path` imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "grader":
            for alias in node.names:  # `from grader.sandbox import wire` imports grader.sandbox.wire
                full = f"{node.module}.{alias.name}"
                yield full if part(full) == part(node.module) or node.module == "grader" else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "grader")


def test_every_import_points_downward():
    upward = []
    for path in sorted(GRADER.rglob("*.py")):
        name = module_name(path)
        if name in FACADE:
            continue
        for target in imported(path):
            if target == "grader.__version__" or target == "grader":
                continue
            if part(target) != part(name) and part(target) not in ALLOWED[part(name)]:
                upward.append(f"{name} imports {target}")
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


@pytest.mark.parametrize("package", ["grader.submissions", "grader.sandbox", "grader.diagnosis", "grader.report", "grader.training",
                                     "grader.grading", "grader.course", "grader.cli"])
def test_each_package_imports_nothing_above_it_in_a_fresh_interpreter(package):
    mine = part(package)
    # import every module of the package (lazy imports included: each module is imported for real)
    modules = [module_name(p) for p in (GRADER / package.split(".")[1]).rglob("*.py")] if mine in PACKAGES else [package]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('grader.'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = [m for m in out.stdout.split() if m not in FACADE]
    above = [m for m in loaded if part(m) != mine and part(m) not in ALLOWED[mine]]
    assert not above, f"importing {package} loads {above}"


def test_top_level_is_small_and_modules_are_short():
    top = sorted(p.name for p in GRADER.glob("*.py"))
    assert len(top) <= 12, top
    long = {str(p.relative_to(ROOT)): n for p in GRADER.rglob("*.py") if (n := len(p.read_text().splitlines())) > 350}
    assert not long, long


def test_each_package_says_what_it_is_for_and_what_it_may_import():
    for package in PACKAGES:
        doc = ast.get_docstring(ast.parse((GRADER / package / "__init__.py").read_text())) or ""
        assert "import" in doc and len(doc.splitlines()) >= 2, package
