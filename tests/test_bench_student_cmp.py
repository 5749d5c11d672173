"""benchmarks/bench_student_cmp.py on fixture notebooks whose saved outputs hold the student's own cmp lines."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "tests" / "fixtures" / "notebooks"


def test_it_sets_the_students_own_cmp_lines_beside_the_verdicts(tmp_path):
    for name in ("answer.ipynb", "outputs_contradict.ipynb"):  # the lecture's answers; outputs from code since removed
        shutil.copy(NOTEBOOKS / name, tmp_path / name)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_student_cmp.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "## answer: 44/44" in proc.stdout
    assert "ex2 logits: their cmp pass (maxdiff 0.0); ours missing: dlogits is None" in proc.stdout
    assert "2 notebooks, 8 cmp lines set beside the grader's verdicts, 2 disagree (" in proc.stdout
