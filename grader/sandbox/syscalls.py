"""In the child, once it is confined: no new thread and no new program, enforced by the kernel (seccomp).

Grad mode is per thread and on in a new thread, and a fresh interpreter has no guards at all: a
thread or an `execve` is how a student's code would reach autograd in spite of the guards
(grader/sandbox/guards.py) and the sealed kernels (grader/sandbox/kernels.py). The filter, loaded
through libseccomp (PyPI `pyseccomp`, Debian `libseccomp2`), refuses:

- `clone` with CLONE_THREAD (a thread: `threading`, `_thread`, a thread pool), or with CLONE_VM but
  not CLONE_VFORK (a task sharing the child's memory) -> EPERM;
- `clone3` -> ENOSYS, so the C library falls back to `clone`, whose flags the filter can read;
- `execve`, `execveat` (subprocess, os.exec*, os.posix_spawn, multiprocessing's spawn) -> EPERM.

`fork()` stays allowed (the process limit counts those processes, and a forked copy has the
guards too). A filter cannot be removed once loaded, and it is inherited by every process the child
starts. torch's own threads: the child runs with one intra-op thread, so torch starts none.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os
import sys
import tempfile

CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x00000100, 0x00004000, 0x00010000
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_libc = ctypes.CDLL(None, use_errno=True)


@functools.lru_cache(maxsize=1)
def _binding():
    """pyseccomp, imported in the worker (before any fork); None if it or libseccomp is missing."""
    try:
        import pyseccomp
    except (ImportError, OSError, RuntimeError):
        return None
    return pyseccomp


def available() -> bool:
    """Whether the filter can be loaded here (the worker warns once when it cannot)."""
    return _binding() is not None


@functools.lru_cache(maxsize=1)
def program() -> bytes:
    """The filter compiled to classic BPF, once per worker (libseccomp takes ~20 ms; loading it, ~0.1 ms)."""
    sc = _binding()
    if sc is None:
        print("[grader] warning: no seccomp binding (pyseccomp, libseccomp2): student code may start threads "
              "and programs; see SECURITY.md", file=sys.stderr, flush=True)
        return b""
    denied = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(sc.ALLOW)
    f.add_rule(denied, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, CLONE_THREAD))
    f.add_rule(denied, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_VM | CLONE_VFORK, CLONE_VM))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for name in ("execve", "execveat"):
        f.add_rule(denied, name)
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def confine() -> bool:
    """Load the filter into this process (the child, after no_new_privs is set). False if there is no binding."""
    code = program()
    if not code:
        return False
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _Program(len(code) // 8, ctypes.addressof(buf))
    if _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"could not load the seccomp filter: {os.strerror(err)}")
    return True


def confined() -> bool:
    """Whether this process runs under a seccomp filter (/proc/self/status says so)."""
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            return any(line.split() == ["Seccomp:", "2"] for line in status)
    except OSError:
        return False
