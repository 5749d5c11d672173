"""Autograd out of reach in the child whatever the spelling (the static scan is not involved here):
backward kernels and the engine sealed at the dispatcher (grader/sandbox/kernels.py), no thread and no
execve (grader/sandbox/syscalls.py), read-only mounts and an IPC namespace of its own (grader/sandbox/fsview.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.model import PUBLIC
from grader.sandbox import syscalls
from grader.sandbox.limits import Limits
from grader.sandbox.runner import Sandbox

ROOT = Path(__file__).resolve().parents[2]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs the namespaces the grader sets up as root")
SECCOMP = pytest.mark.skipif(not syscalls.available(), reason="no seccomp binding (pyseccomp, libseccomp2)")


@pytest.fixture(scope="module")
def sandbox(names_path):
    with Sandbox(names_path) as sb:
        yield sb


def run(sandbox, code, exercise=2):
    return sandbox.run(exercise, textwrap.dedent(code), PUBLIC, Limits(seconds=10))


def _in_fresh_process(code: str) -> str:
    """Run `code` in a new interpreter (sealing is for good: never in the test process)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_sealing_refuses_every_backward_kernel_and_the_engine_in_any_thread_and_keeps_the_forward_pass():
    out = _in_fresh_process("""
        import threading, torch, torch.nn.functional as F
        from grader.sandbox import kernels
        x, y = torch.randn(32, 27), torch.randint(0, 27, (32,))
        before = F.cross_entropy(torch.tanh(x), y)
        names = kernels.seal()
        print("sealed", len(names) > 200, "nll_loss_backward" in names, kernels.sealed())
        print("forward", torch.equal(before, F.cross_entropy(torch.tanh(x), y)))
        def attempt(f):
            try:
                f()
                return "ESCAPED"
            except RuntimeError as exc:
                return type(exc).__name__
        p = F.log_softmax(x, 1)
        print("kernel", attempt(lambda: torch.ops.aten._log_softmax_backward_data(p, p, 1, torch.float32)),
              attempt(lambda: torch._C._VariableFunctions._log_softmax_backward_data(p, p, 1, torch.float32)),
              attempt(lambda: torch.ops.aten.tanh_backward.default(x, x)))
        found = []
        def steal():  # grad mode is on in a new thread: the engine itself must refuse
            w = torch.nn.Parameter(torch.randn(27, 27))
            loss = (x @ w).square().sum()
            engine = torch._C._ImperativeEngine()
            found.append(attempt(lambda: engine.run_backward((loss,), (torch.ones(()),), False, False, (w,), True, False)))
            found.append(attempt(lambda: torch.autograd.grad(loss, w)))
        t = threading.Thread(target=steal); t.start(); t.join()
        print("thread", *found)
    """)
    assert "sealed True True True" in out and "forward True" in out
    assert "kernel IntegrityError IntegrityError IntegrityError" in out
    assert "thread IntegrityError IntegrityError" in out


@SECCOMP
def test_the_filter_refuses_threads_and_programs_but_not_fork():
    out = _in_fresh_process("""
        import ctypes, os, subprocess, sys, threading
        from grader.sandbox import syscalls
        pid = os.fork()
        if pid == 0:
            ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # no_new_privs, as the child has
            syscalls.confine()
            print("confined", syscalls.confined(), flush=True)
            for name, f in (("thread", lambda: threading.Thread(target=print).start()),
                            ("subprocess", lambda: subprocess.run(["/bin/true"])),
                            ("posix_spawn", lambda: os.posix_spawn("/bin/true", ["true"], {})),
                            ("execv", lambda: os.execv("/bin/true", ["true"]))):
                try:
                    f()
                    print(name, "ESCAPED", flush=True)
                except (OSError, RuntimeError) as exc:
                    print(name, "refused", flush=True)
            child = os.fork()
            if child == 0:
                os._exit(7)
            print("fork", os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
    """)
    assert "confined True" in out and "ESCAPED" not in out
    assert all(f"{name} refused" in out for name in ("thread", "subprocess", "posix_spawn", "execv"))
    assert "fork 7" in out


def test_a_backward_kernel_in_the_child_is_an_integrity_error(sandbox):
    out = run(sandbox, """
        p = F.log_softmax(logits, 1)
        dlogits = torch.ops.aten._log_softmax_backward_data(p, p, 1, torch.float32)
    """)
    assert out.error["integrity"] and "aten::_log_softmax_backward_data" in out.error["message"]


@SECCOMP
def test_a_thread_in_the_child_cannot_start_and_exercise_4_still_trains(sandbox):
    out = run(sandbox, """
        import threading
        try:
            threading.Thread(target=print).start()
            print("thread started")
        except RuntimeError as exc:
            print("refused:", exc)
        torch.set_num_threads(8)  # the child keeps one thread: torch starts none
        dlogits = torch.ones(4000, 4000) @ torch.ones(4000, 1)
    """)
    assert "refused: can't start new thread" in out.output and out.error is None and out.stopped == ""


@SECCOMP
def test_a_fresh_interpreter_cannot_start_in_the_child(sandbox):
    out = run(sandbox, """
        import os, sys
        os.execv(sys.executable, [sys.executable, "-c", "print('escaped')"])
    """)
    (warning,) = out.meta["warnings"]  # a failing call statement: the code went on
    assert "Operation not permitted" in warning["message"] and "escaped" not in out.output


@ROOT_ONLY
def test_world_writable_places_are_read_only_or_private_and_ipc_is_the_runs_own(sandbox):
    out = run(sandbox, """
        import os
        for place in ("/run/lock", "/var/tmp", "/dev/shm", "/tmp", "/"):
            try:
                open(os.path.join(place, "bpn-probe"), "w").close()
                print("wrote", place, os.stat(place).st_dev)
            except OSError as exc:
                print("refused", place, exc.strerror)
        print("ipc", os.readlink("/proc/self/ns/ipc"))
        dlogits = None
    """)
    assert "refused /run/lock Read-only file system" in out.output and "refused / Read-only" in out.output
    assert "wrote /tmp" in out.output and not Path("/run/lock/bpn-probe").exists()
    assert os.readlink("/proc/self/ns/ipc") not in out.output
