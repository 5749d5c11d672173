"""Who a student's child runs as, and making sure that nothing it started outlives its run.

As root (a CI job, a container) each run gets a uid of its own, RUN_UID_BASE + the child's pid:
RLIMIT_NPROC then counts exactly the run's processes, the child cannot write the grader's files
or read other processes' memory and environment, and every process of the run can be found and
killed by its uid, even after setsid(). The child also gets an empty network namespace and a
private filesystem view (grader/sandbox/fsview.py), and, where the worker may make them, cgroups of its
own (grader/sandbox/cgroups.py). In every case the worker is a child subreaper, so processes that escape
their group stay its descendants and are killed with the rest.
"""
from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox import cgroups, fsview

RUN_UID_BASE = 1_900_000_000  # no account lives up here; uid = base + pid is unique among live runs
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
_CLONE_NEWNET, _CLONE_NEWIPC = 0x40000000, 0x08000000
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
    view: bool = False  # the child makes its private filesystem view (grader/sandbox/fsview.py)
    joined: bool = False  # the worker put the child in the run's pids cgroup

    def for_pid(self, pid: int) -> "Confinement":
        """Fix the run's uid from the child's pid."""
        self.uid = RUN_UID_BASE + pid if self.privileged else None
        return self


def _prctl(option: int, value: int) -> bool:
    """prctl(2) with one argument; False if the kernel refuses."""
    return _libc.prctl(option, value, 0, 0, 0) == 0


def become_subreaper() -> None:
    """Orphans of a run (double fork, setsid) are re-parented to the worker, never to init."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


@functools.lru_cache(maxsize=1)
def _run_uids_exist() -> bool:
    """Whether every run uid (RUN_UID_BASE + any pid) exists here (a rootless container maps only a few)."""
    try:
        pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
        ranges = [tuple(map(int, line.split())) for line in Path("/proc/self/uid_map").read_text().splitlines()]
    except (OSError, ValueError):
        return False
    return any(inside <= RUN_UID_BASE and RUN_UID_BASE + pid_max <= inside + count for inside, _, count in ranges)


def prepare(workdir: str, lim: dict, tag: str) -> Confinement:
    """Before the fork: a confinement with this run's cgroups (the ones that can be made)."""
    conf = Confinement(workdir, privileged=os.geteuid() == 0)
    if conf.privileged and not _run_uids_exist():
        conf.privileged = False
        _warn_once(f"uids {RUN_UID_BASE}+ are not mapped in this user namespace: student code runs as root; "
                   "see SECURITY.md")
    if conf.privileged:
        conf.view = fsview.namespaces_allowed()  # both worked out once, in the worker
        if fsview.plan()[0] and not conf.view:
            conf.privileged = False  # another uid could not read Python's own files
            _warn_once("mount namespaces are not allowed and Python's files are not readable by other users "
                       f"({', '.join(fsview.plan()[0])}): student code runs as root; see SECURITY.md")
    conf.cgroups = cgroups.make(lim, tag)
    return conf


_warned: set = set()


def _warn_once(text: str) -> None:
    """A line in the worker's log (its stderr), once per worker."""
    if text not in _warned:
        _warned.add(text)
        print(f"[grader] warning: {text}", file=sys.stderr, flush=True)


def join(conf: Confinement, pid: int) -> None:
    """In the worker, right after the fork: put the child in the run's cgroups (its children follow).

    The child waits for this before the student's code runs (grader/sandbox/childloop.py's gate).
    """
    conf.joined = cgroups.join(conf.cgroups, pid).get("pids", False)


def enter(conf: Confinement, file_mb: int) -> None:
    """In the child, after the rlimits and before the student's code: unshare, drop privileges.

    As root: a private filesystem view (grader/sandbox/fsview.py) whose fresh working directory holds at
    most `file_mb` MiB (where mount namespaces are allowed), no network, and a uid of its own.
    """
    if conf.privileged and conf.view:
        try:
            fsview.open_view(conf.workdir, file_mb)
        except OSError as exc:
            raise IsolationError(f"could not make the child's filesystem view: {exc}") from None
    if conf.privileged:
        uid = conf.for_pid(os.getpid()).uid
        os.chown(conf.workdir, uid, uid)
        os.chdir(conf.workdir)
        _libc.unshare(_CLONE_NEWNET)  # no network at all (best effort: a container may forbid it)
        _libc.unshare(_CLONE_NEWIPC)  # System V IPC and POSIX queues of its own: they die with the run
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
    """Every process below `root` in the process tree."""
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


def _run_processes(conf: Confinement, table: dict) -> set:
    """Live processes of the run: by uid, by cgroup, and the worker's descendants."""
    me = os.getpid()
    mine = _descendants(table, me) | (cgroups.members(conf.cgroups) & table.keys())
    if conf.uid is not None:
        mine |= {pid for pid, row in table.items() if row[3] == conf.uid}
    return {pid for pid in mine if pid != me and table[pid][1] not in ("Z", "X")}


def alone(conf: Confinement, pid: int) -> bool:
    """Whether `pid` is the only live process of its run (a /proc scan, where no cgroup lists them)."""
    return _run_processes(conf, _processes()) == {pid}


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
    """SIGKILL the child and every process it started; return how many were still alive.

    Call it in the worker: every descendant of the calling process is taken to be part of the run.
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if conf.joined and conf.uid is not None:
        _await_exit(pid, 1.0)  # it leaves its cgroup when it has exited (unmapping its memory takes a few ms)
        if not cgroups.members({"pids": conf.cgroups["pids"]}):
            # every process of the run was in its pids cgroup from the start, and a process of its own
            # uid cannot leave it: an empty group means nothing of the run is alive (no /proc scan)
            return 0
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


def _await_exit(pid: int, timeout: float) -> None:
    """Wait (at most `timeout` s) until our child `pid` has exited, without reaping it."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


def usage(conf: Confinement, since: dict | None = None) -> dict:
    """Which limits the run's cgroups saw it hit (none without cgroups), since `counts()` was `since`."""
    return cgroups.usage(conf.cgroups, since)


def counts(conf: Confinement) -> dict:
    """The run's cgroup limit counters now (for usage(conf, since=...) after the next run)."""
    return cgroups.counts(conf.cgroups)


def cleanup(conf: Confinement) -> None:
    """After kill_all: remove the run's cgroups, and what its uid left in /tmp if it had no private view."""
    cgroups.remove(conf.cgroups)
    if conf.uid is None or conf.view:
        return
    for place in fsview.SHARED_TMP:
        fsview.clear(place, uid=conf.uid)
