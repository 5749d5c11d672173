"""Limits per run: their defaults, their names in a verdict, and each one firing on a real child."""
from __future__ import annotations

import os
import re
import signal
import stat
import tempfile
import time
from pathlib import Path

import pytest

from grader.sandbox import cgroups, fsview, isolation
from grader.sandbox.limits import EXIT_NO_MEMORY, Limits, describe, fired, mib
from grader.model import PUBLIC
from grader.sandbox.runner import Sandbox

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="a uid of its own per run needs root")
CORRECT = "dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n\n"


@pytest.fixture(scope="module")
def sandbox(names_path):
    with Sandbox(names_path) as sb:
        yield sb


def run(sandbox, code, **limits):
    return sandbox.run(2, code, PUBLIC, Limits(**{"seconds": 5, **limits}))


def test_defaults():
    lim = Limits()
    assert (lim.seconds, lim.memory_mb, lim.processes) == (20.0, 2048, 64)
    assert (lim.output_bytes, lim.file_mb, lim.max_numel, lim.frame_bytes) == (64 * 1024, 64, 4_000_000, 64 * 1024 * 1024)
    assert set(lim.to_dict()) == {"seconds", "memory_mb", "processes", "output_bytes", "file_mb", "max_numel", "frame_bytes"}


def test_sizes_are_named_in_binary_units():
    assert (mib(2048), mib(512), mib(1536), mib(64.0)) == ("2 GiB", "512 MiB", "1.5 GiB", "64 MiB")


def test_which_limit_fired():
    none = {"memory_limit": False, "process_limit": False, "file_limit": False}
    assert fired(0, None, {}) == none
    assert fired(0, {"type": "MemoryError", "message": "MemoryError"}, {})["memory_limit"]
    assert fired(0, {"type": "RuntimeError", "message": "DefaultCPUAllocator: can't allocate memory: you tried"}, {})["memory_limit"]
    assert fired(EXIT_NO_MEMORY, None, {})["memory_limit"]
    assert fired(-9, None, {"memory_limit": True})["memory_limit"]
    assert fired(0, {"type": "BlockingIOError", "message": "BlockingIOError: [Errno 11] Resource temporarily unavailable"}, {})["process_limit"]
    assert fired(0, {"type": "OSError", "message": "OSError: [Errno 27] File too large"}, {})["file_limit"]
    assert fired(0, {"type": "ValueError", "message": "can't convert"}, {}) == none


@pytest.mark.parametrize("header, words", [
    ({"timed_out": True}, "stopped after 20 s: time limit"),
    ({"timed_out": True, "process_limit": True}, "stopped after 20 s: time limit; it also hit the process limit (64 processes)"),
    ({"memory_limit": True, "frame_size": 10}, "stopped: memory limit 2 GiB"),
    ({"process_limit": True, "frame_size": 10}, "stopped: process limit (64 processes)"),
    ({"file_limit": True, "frame_size": 10}, "stopped: file size limit 64 MiB"),
    ({"frame_too_large": True}, "stopped: the answer it sent back exceeds the answer size limit of 64 MiB"),
    ({"exit_code": -24}, "stopped: CPU time limit"),
    ({"exit_code": -11}, "the process was killed by SIGSEGV (a crash in native code, e.g. ctypes)"),
    ({"exit_code": 0, "frame_size": 0}, "the process exited (code 0) before finishing"),
    ({"exit_code": 0, "frame_size": 10}, ""),
])
def test_the_verdict_names_the_limit(header, words):
    text = describe(header, Limits())
    assert text.startswith(words) and (words or text == "")


def test_time_limit_kills_the_child_and_everything_it_started(sandbox):
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(3600)\n"
            "print('uid', os.getuid(), 'pids', ' '.join(p for p in os.listdir('/proc') if p.isdigit() "
            "and os.stat('/proc/' + p).st_uid == os.getuid()), flush=True)\nwhile True:\n    pass\n")
    out = run(sandbox, code, seconds=1)
    assert out.stopped == "stopped after 1 s: time limit"
    uid, pids = re.search(r"uid (\d+) pids ([\d ]+)", out.output).groups()
    for pid in pids.split():
        status = Path(f"/proc/{pid}/status")
        assert not (status.exists() and f"\t{uid}\t" in status.read_text()), f"{pid} outlived the run"


def test_memory_limit_is_named_and_relative_to_the_worker(sandbox):
    out = run(sandbox, "x = torch.empty(10**11)\n" + CORRECT, memory_mb=256)
    assert out.stopped == "stopped: memory limit 256 MiB" and out.error["lineno"] == 1
    out = run(sandbox, "x = torch.ones(100 * 2**20 // 4)\n" + CORRECT, memory_mb=256)  # torch alone is more
    assert out.stopped == "" and out.error is None


def test_process_limit_is_named(sandbox):
    out = run(sandbox, "import os\ndlogits = None\nfor _ in range(50):\n    if os.fork() == 0:\n        os.pause()\n",
              processes=8)
    assert out.stopped == "stopped: process limit (8 processes)"


def test_memory_of_all_the_runs_processes_counts_together(sandbox):
    """Six processes of 200 MiB each, under a 256 MiB limit: the run's cgroup stops them (rlimits could not)."""
    conf = isolation.prepare("/nonexistent", Limits().to_dict(), f"probe-{os.getpid()}")
    has_memory_cgroup = "memory" in conf.cgroups
    isolation.cleanup(conf)
    if not has_memory_cgroup:
        pytest.skip("no writable memory cgroup here")
    code = ("import os\nkids = []\nfor _ in range(6):\n    pid = os.fork()\n    if pid == 0:\n"
            "        x = torch.ones(200 * 2**20 // 4)\n        os.pause()\n    kids.append(pid)\n"
            "for pid in kids:\n    os.waitpid(pid, 0)\n")
    out = run(sandbox, code, memory_mb=256, seconds=10)
    assert "memory limit 256 MiB" in out.stopped


def test_a_runs_cgroups_cap_list_and_report_its_processes():
    groups = cgroups.make({"processes": 4, "memory_mb": 64}, f"test-{os.getpid()}")
    if "pids" not in groups:
        cgroups.remove(groups)
        pytest.skip("no writable pids cgroup here")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a child that joins, then forks until refused; never returns into pytest
        try:
            cgroups.join(groups)
            started = 0
            try:
                for _ in range(10):
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                    started += 1
            except OSError:
                pass
            os.write(w, bytes([started]))
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(w)
    started = os.read(r, 1)[0]
    os.close(r)
    try:
        assert started == 3  # 4 processes: the child and 3 more
        assert pid in cgroups.members(groups) and len(cgroups.members(groups)) == 4
        assert cgroups.usage(groups)["process_limit"]
    finally:
        while cgroups.members(groups):  # not isolation.kill_all: it takes every descendant of pytest for the run's
            for member in cgroups.members(groups):
                os.kill(member, signal.SIGKILL)
            time.sleep(0.01)
        os.waitpid(pid, 0)
        cgroups.remove(groups)
    assert not any(Path(path).exists() for path in groups.values())


def test_file_size_limit_is_named(sandbox):
    out = run(sandbox, "with open('big', 'wb') as f:\n    f.write(b'0' * (32 * 2**20))\n" + CORRECT, file_mb=8)
    assert out.stopped == "stopped: file size limit 8 MiB"


def test_answer_size_limit_is_named(sandbox):
    out = run(sandbox, "dlogits = torch.ones(1_000_000)\n", frame_bytes=1024 * 1024)
    assert out.stopped.startswith("stopped: the answer it sent back exceeds the answer size limit of 1 MiB")


def test_tensor_size_limit_is_described(sandbox):
    out = run(sandbox, "dlogits = torch.ones(2000)\n", max_numel=1000)
    assert out.meta["values"]["logits"] == {"kind": "too_large", "detail": "has 2000 elements, more than the limit of 1000"}


def test_a_runs_cgroups_are_removed_after_it(sandbox):
    run(sandbox, CORRECT)
    worker = sandbox._proc.pid
    assert not list(Path("/sys/fs/cgroup").glob(f"*/**/bpn-{worker}-*"))


@ROOT_ONLY
def test_as_root_the_child_is_confined(sandbox):
    code = ("import os, socket\nprint(os.getuid() >= %d, os.getgid() == os.getuid(), os.getgroups())\n"
            "st = os.statvfs('.')\nprint(st.f_blocks * st.f_frsize // 2**20)\n"
            "print(os.listdir('/tmp') == [os.path.basename(os.getcwd())] or sorted(os.listdir('/tmp')))\n"
            "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\nexcept OSError as e:\n    print(e.errno)\n"
            % isolation.RUN_UID_BASE) + CORRECT
    out = run(sandbox, code, file_mb=16)
    lines = out.output.split("\n")
    assert lines[0] == "True True []"
    assert lines[1] == "16"  # a private tmpfs of file_mb
    assert lines[2] == "True" or "bpn-worker-" in lines[2]  # only the run's own directory (and sys.path's)
    assert lines[3] == "101"  # ENETUNREACH: no network at all
    assert out.stopped == "" and out.error is None


@ROOT_ONLY
def test_as_root_pythons_files_are_reachable_and_the_rest_hidden(sandbox):
    hidden, _ = fsview.plan()
    code = "import encodings.idna, unicodedata, decimal, sqlite3\n" + "".join(
        f"print(sorted(os.listdir({d!r})))\n" for d in hidden) + CORRECT
    out = run(sandbox, "import os\n" + code)
    assert out.error is None, out.error
    for line, keep in zip(out.output.splitlines(), hidden.values()):
        assert line == str(sorted(keep))


def test_a_directory_others_cannot_enter_is_found():
    with tempfile.TemporaryDirectory(dir="/tmp") as top:
        os.chmod(top, 0o755)
        secret = Path(top) / "home"
        (secret / "pyenv" / "lib").mkdir(parents=True)
        secret.chmod(0o700)
        assert fsview._blocked([str(secret / "pyenv" / "lib")]) == {str(secret): {"pyenv"}}
        (secret / "pyenv").chmod(0o700)  # nested: each level is covered in turn
        assert fsview._blocked([str(secret / "pyenv" / "lib")]) == {str(secret): {"pyenv"}, str(secret / "pyenv"): {"lib"}}
        (secret / "pyenv").chmod(0o755)
        secret.chmod(0o755)
        assert stat.S_IMODE(secret.stat().st_mode) == 0o755 and fsview._blocked([str(secret / "pyenv" / "lib")]) == {}
