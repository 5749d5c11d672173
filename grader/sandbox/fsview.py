"""The filesystem a child with a uid of its own sees: Python's files reachable, private places not, no disk.

In a mount namespace of its own (made while the child is still root):
- each directory other users cannot enter on the way to Python's files (pyenv under /root, mode
  0700) is covered by an empty tmpfs with only what Python needs bound back (/root/.pyenv), so
  the child can import the standard library while the rest of /root stays hidden;
- every mount is remounted read-only (in this namespace only): /run/lock, /var/lock, /dev/mqueue and
  any other world-writable place on disk can be read but not written;
- /tmp, /var/tmp and /dev/shm are covered by small private tmpfs (paths Python needs, e.g. a venv
  in /tmp, are bound back), and the run's working directory is made inside the new /tmp: what
  the student writes never reaches the disk, is capped in size, and vanishes with the run.
"""
from __future__ import annotations

import ctypes
import functools
import itertools
import os
import shutil
import stat
import sys
from pathlib import Path

SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_MOVE, _MS_REC, _MS_PRIVATE = 2, 4, 4096, 8192, 16384, 1 << 18
_CLONE_NEWNS = 0x00020000
_libc = ctypes.CDLL(None, use_errno=True)
_labels = itertools.count()


def needed_paths() -> list[str]:
    """What the student's code may have to read: the interpreter, the standard library, sys.path."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(sys.executable), *sys.path}
    return sorted(os.path.realpath(p) for p in paths if p and os.path.isabs(p) and os.path.exists(p))


def _blocked(paths: list[str]) -> dict[str, set[str]]:
    """Directories other users cannot enter on the way to `paths`, with the entries to bind back."""
    out: dict[str, set[str]] = {}
    for path in paths:
        parts = Path(path).parts
        for depth in range(1, len(parts)):
            here = os.path.join(*parts[:depth])
            try:
                mode = os.stat(here).st_mode
            except OSError:
                break
            if not mode & stat.S_IXOTH:  # covered, and its entry on the way bound back (which may be covered in turn)
                out.setdefault(here, set()).add(parts[depth])
    return out


@functools.lru_cache(maxsize=1)
def plan() -> tuple[dict, dict]:
    """(directories to hide, shared temporary directories to replace), each -> entries to bind back."""
    paths = needed_paths()
    hide = {k: frozenset(v) for k, v in _blocked(paths).items()}
    tmp = {}
    for place in SHARED_TMP:
        real = os.path.realpath(place)
        if os.path.isdir(real) and real not in hide:
            tmp[real] = frozenset(Path(p).relative_to(real).parts[0] for p in paths
                                  if p.startswith(real + "/") and p != real)
    return hide, tmp


@functools.lru_cache(maxsize=1)
def namespaces_allowed() -> bool:
    """Whether this process may make mount namespaces (probed once, in a throw-away child)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _libc.unshare(_CLONE_NEWNS) == 0 else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2); OSError naming the target when the kernel refuses."""
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _cover(directory: str, keep, options: str, staging: int) -> None:
    """Mount a tmpfs over `directory`, with the real entries in `keep` bound back at their places.

    `staging` is a directory fd: its /proc/self/fd path still leads there once /tmp is covered.
    """
    stages = []
    for name in sorted(keep):
        label = str(next(_labels))
        os.mkdir(label, 0o700, dir_fd=staging)
        stage = f"/proc/self/fd/{staging}/{label}"
        _mount(os.path.join(directory, name), stage, None, _MS_BIND | _MS_REC)
        stages.append((name, stage))
    _mount("tmpfs", directory, "tmpfs", _MS_NOSUID | _MS_NODEV, options)
    for name, stage in stages:
        target = os.path.join(directory, name)
        os.mkdir(target, 0o755)
        _mount(stage, target, None, _MS_MOVE)


def open_view(workdir: str, size_mb: int) -> None:
    """In the child, as root: enter the private view and recreate `workdir` (empty) inside it.

    Raises OSError when it cannot (the caller must not go on: the child is still root).
    """
    hide, tmp = plan()
    if _libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    staging = None
    try:
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        mounts = _mount_points()
        stage = os.path.join(workdir, ".view")  # in the real workdir, which the parent removes
        os.mkdir(stage, 0o700)
        _mount("tmpfs", stage, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0700,size=64k")  # stays writable
        staging = os.open(stage, os.O_PATH | os.O_DIRECTORY)
        for point, flags in mounts:  # every place on disk (/run/lock, /var/tmp, ...) becomes read-only
            _read_only(point, flags)
        for directory in sorted(hide, key=len):
            _cover(directory, hide[directory], "mode=0755,size=64k", staging)
        for directory, keep in tmp.items():
            _cover(directory, keep, f"mode=1777,size={int(size_mb)}m,nr_inodes=65536", staging)
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        if not any(workdir.startswith(d + "/") for d in tmp):
            _mount("tmpfs", workdir, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=0700,size={int(size_mb)}m")
    finally:
        if staging is not None:
            os.close(staging)


_FLAGS = {"nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048, "relatime": 1 << 21}
_MS_RDONLY, _MS_REMOUNT = 1, 32


def _mount_points() -> list[tuple[str, int]]:
    """Every mount of this namespace (mount point, its flags to keep), from /proc/self/mountinfo."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")  # \040 for a space
            flags = sum(_FLAGS.get(opt, 0) for opt in fields[5].split(","))
            out.append((point, flags))
    return out


def _read_only(point: str, flags: int) -> None:
    """Remount one mount read-only in this namespace, keeping its other flags (locked ones must stay)."""
    try:
        _mount(None, point, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags)
    except OSError:
        pass  # gone, or a mount the kernel will not change (already read-only, or under another's control)


def clear(place: str, uid: int | None = None, keep: str = "") -> None:
    """Remove the entries of `place` (only those owned by `uid`, when given), never `keep` or a folder above it."""
    try:
        entries = list(os.scandir(place))
    except OSError:
        return
    for entry in entries:
        try:
            if keep and (entry.path == keep or keep.startswith(entry.path + "/")):
                continue
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass
