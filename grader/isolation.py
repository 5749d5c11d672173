"""Who a student's child runs as, and making sure that nothing it started outlives its run.

As root (a CI job, a container) each run gets a uid of its own, RUN_UID_BASE + the child's pid:
RLIMIT_NPROC then counts exactly the run's processes, the child cannot write the grader's files
or read other processes' memory and environment, and every process of the run can be found and
killed by its uid, even after setsid(). The child also gets an empty network namespace. Where
cgroup v1 `pids` and `memory` controllers are writable, each run gets its own cgroups too, which
cap the run's processes and memory *together* (rlimits are per process). As another user, the
worker is a child subreaper instead, so escaped processes stay its descendants and are killed.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import fsview

RUN_UID_BASE = 1_900_000_000  # no account lives up here; uid = base + pid is unique among live runs
CGROUP_ROOT = Path("/sys/fs/cgroup")
MEMORY_SLACK_MB = 256  # the cgroup counts copy-on-write pages of the worker too; the rlimit fires first
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(RuntimeError):
    """The child could not be confined; a grader failure, never the student's."""


@dataclass
class Confinement:
    """One run's confinement, prepared by the worker before it forks the child."""

    workdir: str
    privileged: bool  # running as root: the child gets a uid of its own
    cgroups: dict = field(default_factory=dict)  # controller -> directory of this run's cgroup
    uid: int | None = None  # set once the child's pid is known (both sides compute it)
    private_tmp: bool = False  # in the child: /tmp, /var/tmp, /dev/shm and the workdir are private tmpfs

    def for_pid(self, pid: int) -> "Confinement":
        """Fix the run's uid from the child's pid."""
        self.uid = RUN_UID_BASE + pid if self.privileged else None
        return self


def _prctl(option: int, value: int) -> bool:
    return _libc.prctl(option, value, 0, 0, 0) == 0


def become_subreaper() -> None:
    """Orphans of a run (double fork, setsid) are re-parented to the worker, never to init."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup directory for a v1 controller, if it is mounted."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return CGROUP_ROOT / controller / path.lstrip("/")
    return None


def _write(path: Path, value) -> bool:
    try:
        path.write_text(str(value))
        return True
    except OSError:
        return False


def prepare(workdir: str, lim: dict, tag: str) -> Confinement:
    """Before the fork: a confinement with this run's cgroups (the ones that can be made)."""
    conf = Confinement(workdir, privileged=os.geteuid() == 0)
    if conf.privileged:
        fsview.plan()  # worked out once, in the worker
    settings = {"pids": {"pids.max": int(lim["processes"])},
                "memory": {"memory.limit_in_bytes": (int(lim["memory_mb"]) + MEMORY_SLACK_MB) << 20}}
    for controller, values in settings.items():
        parent = _own_cgroup(controller)
        if parent is None or not os.access(parent, os.W_OK):
            continue
        _sweep_stale(parent)
        path = parent / f"bpn-{tag}"
        try:
            path.mkdir()
        except OSError:
            continue
        if all(_write(path / name, value) for name, value in values.items()):
            conf.cgroups[controller] = str(path)
        else:
            _remove_cgroup(path)
    return conf


def _sweep_stale(parent: Path) -> None:
    """Remove the empty cgroups of workers that died before cleaning up (named bpn-<worker pid>-...)."""
    for path in parent.glob("bpn-*-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                path.rmdir()
            except OSError:
                pass


def enter(conf: Confinement, file_mb: int) -> None:
    """In the child, after the rlimits and before the student's code: join, unshare, drop privileges.

    As root: a private filesystem view (grader/fsview.py) whose fresh working directory holds at
    most `file_mb` MiB, no network, and a uid of its own. If mount namespaces are not allowed and
    Python is unreadable to other users, the child stays root (SECURITY.md says what that leaves).
    """
    for path in conf.cgroups.values():
        _write(Path(path) / "cgroup.procs", os.getpid())
    if conf.privileged:
        conf.private_tmp = fsview.open_view(conf.workdir, file_mb)
        conf.privileged = conf.private_tmp or not fsview.plan()[0]
    if conf.privileged:
        uid = conf.for_pid(os.getpid()).uid
        os.chown(conf.workdir, uid, uid)
        os.chdir(conf.workdir)
        _libc.unshare(_CLONE_NEWNET)  # no network at all (best effort: a container may forbid it)
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)  # setuid programs cannot give root back
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid):
            raise IsolationError("could not switch the child to its own uid")
        _prctl(_PR_SET_DUMPABLE, 1)  # the uid change cleared it: the child's /proc entries are its own again
    else:
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # if the worker dies, so does the child (set after the uid change)


def _processes() -> dict:
    """pid -> (ppid, state, start time, real uid) for every process visible in /proc."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            status = Path(f"/proc/{entry.name}/status").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        uid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:")), -1)
        table[int(entry.name)] = (int(fields[1]), fields[0], fields[19], uid)
    return table


def _descendants(table: dict, root: int) -> set:
    children: dict = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _cgroup_members(conf: Confinement) -> set:
    members = set()
    for path in conf.cgroups.values():
        try:
            members.update(int(p) for p in Path(path, "cgroup.procs").read_text().split())
        except (OSError, ValueError):
            pass
    return members


def _run_processes(conf: Confinement, table: dict) -> set:
    """Live processes of the run: by uid, by cgroup, and the worker's descendants."""
    me = os.getpid()
    mine = _descendants(table, me) | (_cgroup_members(conf) & table.keys())
    if conf.uid is not None:
        mine |= {pid for pid, row in table.items() if row[3] == conf.uid}
    return {pid for pid in mine if pid != me and table[pid][1] not in ("Z", "X")}


def _kill_uid(uid: int) -> None:
    """kill(-1) from a helper that *is* that uid: one atomic sweep of every process the uid owns."""
    if uid < RUN_UID_BASE:
        raise IsolationError(f"refusing to kill by uid {uid}")
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if os.getresuid() == (uid, uid, uid):  # never as anyone else: kill(-1) means everything
                os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(helper, 0)


def _kill_exactly(pid: int, start: str) -> None:
    """SIGKILL `pid` only if it is still the process that started at `start` (no pid reuse)."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2:].split()[19] == start:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reap(table: dict, keep: int) -> None:
    """Collect the zombies re-parented to the worker (never the run's main child: its status matters)."""
    me = os.getpid()
    for pid, (ppid, state, *_rest) in table.items():
        if ppid == me and pid != keep and state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def kill_all(conf: Confinement, pid: int) -> int:
    """SIGKILL the child and every process it started; return how many were still alive."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    killed = 0
    for attempt in range(200):
        table = _processes()
        alive = _run_processes(conf, table)
        _reap(table, keep=pid)
        if not alive:
            return killed
        killed = max(killed, len(alive - {pid}))
        if conf.uid is not None:
            _kill_uid(conf.uid)
        for other in alive:
            if other == pid:  # our own unreaped child: its pid cannot have been reused
                os.kill(pid, signal.SIGKILL)
            else:
                _kill_exactly(other, table[other][2])
        time.sleep(0.002 * min(attempt, 10))
    raise IsolationError(f"{len(alive)} processes of a run survived SIGKILL")


def usage(conf: Confinement) -> dict:
    """What the run's cgroups saw: did it hit the memory or the process limit?"""
    out = {"memory_limit": False, "process_limit": False}
    if "memory" in conf.cgroups:
        oom = _read(Path(conf.cgroups["memory"], "memory.oom_control"))
        counts = dict(line.split() for line in oom.splitlines() if len(line.split()) == 2)
        out["memory_limit"] = int(counts.get("oom_kill", 0)) > 0
    if "pids" in conf.cgroups:
        events = _read(Path(conf.cgroups["pids"], "pids.events")).split()
        out["process_limit"] = len(events) == 2 and events[0] == "max" and int(events[1]) > 0
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove_cgroup(path: Path) -> None:
    for attempt in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.002 * attempt)


def cleanup(conf: Confinement) -> None:
    """After kill_all: remove the run's cgroups and whatever its uid left in shared temporary places."""
    for path in conf.cgroups.values():
        _remove_cgroup(Path(path))
    if conf.uid is None:
        return
    for place in fsview.SHARED_TMP:  # only without a private view: the run's uid wrote to the real ones
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != conf.uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
