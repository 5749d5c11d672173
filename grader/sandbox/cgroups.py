"""A run's own cgroup v1 `pids` and `memory` groups, where the worker may make them.

Rlimits are per process; these cap the run's processes and memory *together*, list every process
of the run (even one that left its process group), and say afterwards whether a limit was hit.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
MEMORY_SLACK_MB = 256  # the cgroup also counts pages the child copies from the worker; the rlimit fires first


def _own(controller: str) -> Path | None:
    """This process's cgroup directory for a v1 controller, if it is mounted."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return ROOT / controller / path.lstrip("/")
    return None


def _write(path: Path, value) -> bool:
    """Write one cgroup file; False if the kernel refuses."""
    try:
        path.write_text(str(value))
        return True
    except OSError:
        return False


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _sweep_stale(parent: Path) -> None:
    """Remove the empty cgroups of workers that died before cleaning up (named bpn-<worker pid>-...)."""
    for path in parent.glob("bpn-*-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                path.rmdir()
            except OSError:
                pass


def make(lim: dict, tag: str) -> dict:
    """Before the fork: controller -> directory of this run's new cgroup, for those that could be made."""
    settings = {"pids": {"pids.max": int(lim["processes"])},
                "memory": {"memory.limit_in_bytes": (int(lim["memory_mb"]) + MEMORY_SLACK_MB) << 20}}
    made = {}
    for controller, values in settings.items():
        parent = _own(controller)
        if parent is None or not os.access(parent, os.W_OK):
            continue
        _sweep_stale(parent)
        path = parent / f"bpn-{tag}"
        try:
            path.mkdir()
        except OSError:
            continue
        if all(_write(path / name, value) for name, value in values.items()):
            made[controller] = str(path)
        else:
            remove({controller: str(path)})
    return made


def join(groups: dict, pid: int | None = None) -> dict:
    """Move a process (this one by default) into the run's cgroups (its later children follow).

    Returns controller -> whether the move succeeded.
    """
    return {controller: _write(Path(path) / "cgroup.procs", os.getpid() if pid is None else pid)
            for controller, path in groups.items()}


def members(groups: dict) -> set:
    """Every process in the run's cgroups."""
    found = set()
    for path in groups.values():
        try:
            found.update(int(p) for p in Path(path, "cgroup.procs").read_text().split())
        except (OSError, ValueError):
            pass
    return found


def counts(groups: dict) -> dict:
    """How often the run's cgroups have hit a limit so far: OOM kills and refused forks."""
    out = {"oom_kill": 0, "pids_max": 0}
    if "memory" in groups:
        oom = _read(Path(groups["memory"], "memory.oom_control"))
        found = dict(line.split() for line in oom.splitlines() if len(line.split()) == 2)
        out["oom_kill"] = int(found.get("oom_kill", 0))
    if "pids" in groups:
        events = _read(Path(groups["pids"], "pids.events")).split()
        if len(events) == 2 and events[0] == "max":
            out["pids_max"] = int(events[1])
    return out


def usage(groups: dict, since: dict | None = None) -> dict:
    """Whether the run hit its memory limit (an OOM kill) or its process limit (a refused fork).

    `since`: counts() taken before the run, when its child ran other runs before it.
    """
    now, before = counts(groups), since or {}
    return {"memory_limit": now["oom_kill"] > before.get("oom_kill", 0),
            "process_limit": now["pids_max"] > before.get("pids_max", 0)}


def remove(groups: dict) -> None:
    """After every process of the run is dead: remove its cgroups."""
    for path in map(Path, groups.values()):
        for attempt in range(50):
            try:
                path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.002 * attempt)
