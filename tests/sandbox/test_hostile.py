"""The hostile suite: every case in tests/hostile/ gets its expected verdict, the batch runs to the end,
and the correct submission graded after each hostile one gets full marks.

The batch is benchmarks/bench_hostile.py run once, as a real subprocess, with a 2 s time limit;
each case's header says what its verdict must be:

    # exercise: N               graded as exercise N
    # needs: root               only checked when the grader runs as root (confinement, SECURITY.md)
    # expect-status: error      the exercise's status (complete, partial, incorrect, error, flagged)
    # expect-score: 0 | full    its score
    # expect-error: ...         in the exercise's error ("none": no error)
    # expect-integrity: ...     in one of its integrity flags ("none": no flag)
    # expect-output: ...        in what it printed (may repeat)
    # expect-no-output: ...     not in what it printed (may repeat)
    # expect-check: ...         in one of its checks' messages
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "hostile"
SECONDS = 3.0  # the time limit: memory_bomb touches its 512 MiB in 1.4-1.5 s on this machine (2 s was too close)
SECRET = "bpn-secret-" + secrets.token_hex(8)
HEADER = re.compile(r"^#\s*(exercise|needs|expect-[a-z-]+):\s*(.*?)\s*$", re.M)
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs the per-run uid and namespaces the grader sets up as root")
SUITE_BUDGET = 240.0  # seconds for the whole batch on a slow CI machine (54 cases: about 60 s here when idle, 90 s loaded)
REQUIRED = {  # the list: at least these cases exist
    "infinite_loop", "long_sleep", "memory_bomb", "fork_bomb", "sys_exit", "os_exit", "raise_systemexit",
    "segfault", "output_flood", "fake_pass", "patched_torch", "patched_grader", "backward", "read_grad",
    "lying_subclass", "huge_tensor", "workdir_files", "output_dir", "environment", "network",
    # issue 14: autograd out of reach, runs that stop themselves, what a run leaves behind
    "thread_autograd", "thread_pool_grad", "thread_raw", "backward_kernel_nll", "backward_kernel_tanh",
    "backward_kernel_variablefunctions", "backward_kernel_engine_nodes", "engine_instance", "torchscript_grad",
    "inference_mode_off", "fresh_interpreter_subprocess", "fresh_interpreter_execv", "fresh_interpreter_posix_spawn",
    "fresh_interpreter_multiprocessing", "import_ctypes_dunder", "import_ctypes_importlib", "import_ctypes_builtins",
    "self_signal_usr1", "self_signal_sigint", "leftover_files_1_write", "leftover_files_2_read", "sysv_shm_1_keep",
    "sysv_shm_2_find",
}


def expectations(path: Path) -> dict:
    """The header of a case: {key: [values]}."""
    found: dict = {}
    for key, value in HEADER.findall(path.read_text()):
        found.setdefault(key, []).append(value.replace("__SECRET__", SECRET))
    return found


CASE_NAMES = sorted(p.stem for p in CASES.glob("*.py"))


@pytest.fixture(scope="module")
def listener():
    """A TCP listener on this host that the network case tries to reach."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


@pytest.fixture(scope="module")
def batch(tmp_path_factory, listener, names_path):
    """Run the whole suite once as a batch in a subprocess; return its report and the output directory."""
    out = tmp_path_factory.mktemp("hostile-out")
    (out / "sentinel.txt").write_text("the grader's own file")
    env = dict(os.environ, BPN_HOSTILE_SECRET=SECRET, BACKPROP_NINJA_NAMES=str(names_path))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_hostile.py"), "--seconds", str(SECONDS),
                           "--out", str(out), "--port", str(listener.getsockname()[1])],
                          capture_output=True, text=True, env=env, timeout=600)
    report = json.loads((out / "hostile-results.json").read_text()) if (out / "hostile-results.json").exists() else {}
    return {"proc": proc, "report": report, "out": out, "cases": {c["case"]: c for c in report.get("cases", [])}}


def test_every_case_has_a_header_with_its_verdict():
    assert REQUIRED <= set(CASE_NAMES), f"missing hostile cases: {REQUIRED - set(CASE_NAMES)}"
    for name in CASE_NAMES:
        header = expectations(CASES / f"{name}.py")
        assert header.get("exercise") and header.get("expect-status"), f"{name}.py needs exercise and expect-status"


def test_the_batch_finishes_normally_within_its_budget(batch):
    proc = batch["proc"]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert sorted(batch["cases"]) == CASE_NAMES
    assert batch["report"]["seconds"] < SUITE_BUDGET


@pytest.mark.parametrize("name", CASE_NAMES)
def test_verdict(batch, name):
    """Each case's verdict is the one its header expects."""
    want = expectations(CASES / f"{name}.py")
    if want.get("needs", [""])[0].startswith("root") and os.geteuid() != 0:
        pytest.skip("this verdict relies on the confinement the grader sets up as root")
    entry = batch["cases"][name]
    assert "grader_error" not in entry, entry.get("grader_error")
    (ex,) = entry["result"]["exercises"]
    assert ex["id"] == int(want["exercise"][0])
    assert ex["status"] == want["expect-status"][0], (ex["status"], ex["error"], ex["integrity"])
    for score in want.get("expect-score", []):
        assert ex["score"] == (ex["max_score"] if score == "full" else float(score)), ex["error"]
    for error in want.get("expect-error", []):
        assert (ex["error"] == "") if error == "none" else (error in ex["error"]), ex["error"]
    for flag in want.get("expect-integrity", []):
        assert (ex["integrity"] == []) if flag == "none" else any(flag in f for f in ex["integrity"]), ex["integrity"]
    for text in want.get("expect-output", []):
        assert text in ex["output"], ex["output"][-500:]
    for text in want.get("expect-no-output", []):
        assert text not in ex["output"]
    for text in want.get("expect-check", []):
        assert any(text in c["message"] for c in ex["checks"]), [c["message"] for c in ex["checks"]]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_the_correct_submission_after_it_gets_full_marks(batch, name):
    after = batch["cases"][name]["correct_after"]
    assert after["max_score"] > 0 and after["score"] == after["max_score"]


def test_limits_are_named(batch):
    errors = {name: c["result"]["exercises"][0]["error"] for name, c in batch["cases"].items()}
    assert errors["infinite_loop"].startswith(f"stopped after {SECONDS:g} s: time limit")
    assert errors["memory_bomb"] == "stopped: memory limit 512 MiB"
    assert errors["fork_bomb"] == "stopped: process limit (64 processes)"
    assert errors["huge_answer"] == "stopped: the answer it sent back exceeds the answer size limit of 16 MiB"


def test_printed_output_is_capped(batch):
    ex = batch["cases"]["output_flood"]["result"]["exercises"][0]
    limit = batch["report"]["limits"]["output_bytes"]
    assert len(ex["output"].encode()) <= limit + 100 and ex["output"].endswith("output limit]")


def test_fake_lines_stay_in_the_students_output(batch):
    """The fake verdicts are in `output` (rendered apart, escaped) and nowhere in the grader's own fields."""
    ex = batch["cases"]["fake_pass"]["result"]["exercises"][0]
    assert "exact: True" in ex["output"]
    rest = json.dumps({k: v for k, v in ex.items() if k != "output"})
    assert "exact: True" not in rest and "total: 5 / 5" not in rest


def test_processes_that_escaped_the_group_are_gone(batch):
    output = batch["cases"]["escaping_processes"]["result"]["exercises"][0]["output"]
    uid, pids = re.search(r"uid: (\d+) escapees: ([\d ]*)", output).groups()
    assert pids.split(), "the case should have started processes"
    for pid in map(int, pids.split()):
        status = Path(f"/proc/{pid}/status")
        alive = status.exists() and any(line.split()[1:2] == [uid] for line in status.read_text().splitlines()
                                        if line.startswith("Uid:"))
        assert not alive, f"process {pid} of the run outlived it"


@ROOT_ONLY
def test_the_output_directory_is_untouched(batch):
    out = batch["out"]
    assert sorted(p.name for p in out.iterdir()) == ["hostile-results.json", "sentinel.txt"]
    assert (out / "sentinel.txt").read_text() == "the grader's own file"


def test_the_grader_package_is_untouched():
    assert not (ROOT / "grader" / "results.json").exists()


def test_the_secret_never_reaches_the_child(batch):
    assert SECRET not in json.dumps(batch["report"])


LEFTOVER_PLACES = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue", "/run", "/srv", "/")


@ROOT_ONLY
def test_nothing_a_run_left_is_on_the_host(batch):
    """leftover_files_* and sysv_shm_*: no file in a world-writable place, no System V segment outlives its run."""
    assert "leftover_files_1_write" in batch["cases"] and "sysv_shm_1_keep" in batch["cases"]
    for place in LEFTOVER_PLACES:
        assert not Path(place, "bpn-leftover-secret").exists(), place
    keys = [line.split()[0] for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    assert str(0x42504E31) not in keys


@ROOT_ONLY
def test_nothing_reached_the_listener(batch, listener):
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_the_command_line_exits_normally_on_a_fork_bomb(tmp_path, names_path):
    """`backprop-ninja grade` on a fork bomb: exit 1 (not passed), a JSON result, no traceback."""
    out = tmp_path / "result.json"
    proc = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(CASES / "fork_bomb.py"), "-e", "2",
                             "--time-limit", str(SECONDS), "--json", str(out), "--quiet", "--names", str(names_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr[-2000:]
    assert "Traceback" not in stderr
    result = json.loads(out.read_text())
    assert result["exercises"][0]["error"] == "stopped: process limit (64 processes)"
    with pytest.raises(ProcessLookupError):  # nothing is left in the command's process group
        os.killpg(proc.pid, signal.SIGKILL)
