"""Grade a batch on an existing Dask distributed cluster (`batch --dask ADDRESS`).

Each Dask worker process holds one warm Grader, created on first use by a worker plugin that
also carries names.txt (so workers need no shared file system nor a download). Tasks take a
payload of plain bytes and return SubmissionResult.to_dict(); the client writes every output,
so the files are the same as a local run's.
"""
from __future__ import annotations

import itertools
import tempfile
import threading
import time
from pathlib import Path

from grader import __version__
from grader.course.work import grade_payload

try:
    from distributed import WorkerPlugin
except ImportError:  # the plugin class is only needed where dask is installed
    WorkerPlugin = object


class DaskUnavailable(Exception):
    """`--dask` without the optional dependency installed."""


class GraderPlugin(WorkerPlugin):
    """The warm Grader of one Dask worker process, closed when the worker stops.

    One Grader per process, used by one task at a time: a worker's threads would otherwise
    parse notebooks concurrently, which CPython 3.11's `ast` does not survive (see grader/course/batch.py).
    Start workers with one thread each and as many processes as cores:
    `dask worker ADDRESS --nworkers N --nthreads 1`.
    """

    def __init__(self, names_bytes: bytes, options, version: str = __version__):
        self.names_bytes = names_bytes
        self.options = options
        self.version = version
        self._grader = None
        self._lock = threading.Lock()
        self._dir = ""

    def __getstate__(self) -> dict:
        return {"names_bytes": self.names_bytes, "options": self.options, "version": self.version}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["names_bytes"], state["options"], state["version"])

    def setup(self, worker=None) -> None:
        if self.version != __version__:
            raise RuntimeError(f"this Dask worker has backprop-ninja {__version__}, the client {self.version}: "
                               "install the same version on every worker")
        from grader import data

        self._dir = tempfile.mkdtemp(prefix="bpn-dask-")
        path = Path(self._dir) / "names.txt"
        path.write_bytes(self.names_bytes)
        data.verify(path)

    def grade(self, job: dict) -> dict:
        """Grade one payload with this process's Grader (created on first use)."""
        from grader.course.work import warm_grader

        with self._lock:
            if not self._dir:
                self.setup()
            if self._grader is None:
                self._grader = warm_grader(Path(self._dir) / "names.txt", self.options)
            return grade_payload(self._grader, job)

    def teardown(self, worker=None) -> None:
        with self._lock:
            if self._grader is not None:
                self._grader.close()
                self._grader = None
        if self._dir:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)


def grade_on_worker(job: dict, plugin_name: str) -> dict:
    """The Dask task: grade one payload with this worker's Grader."""
    from distributed import get_worker

    return get_worker().plugins[plugin_name].grade(job)


def run(address: str, jobs, names_path: Path, options, fingerprint: str, on_result, timeout: float = 30.0,
        seconds: float | None = None) -> None:
    """Submit every job (a dict from work.payload, built lazily from the iterable) to the cluster at `address`.

    Calls on_result(job, result_dict, None) as each finishes, or on_result(job, None, exception). A job not
    done `seconds` after it could start (twice that after it was submitted: the cluster holds two per
    thread) is cancelled and gets a verdict row, as in a local batch (grader/course/jobs.py).
    """
    try:
        from distributed import Client, wait
    except ImportError:
        raise DaskUnavailable("--dask needs Dask distributed: pip install 'backprop-ninja[dask]'") from None
    from grader.course.jobs import verdict

    name = f"backprop-ninja-{__version__}-{fingerprint}"
    bound = 2 * seconds if seconds else float("inf")
    with Client(address, timeout=timeout) as client:
        client.register_plugin(GraderPlugin(names_path.read_bytes(), options), name=name)
        limit = max(8, 2 * sum(client.nthreads().values()))  # submissions held by the cluster at once
        todo, in_flight = iter(jobs), {}

        def submit(count: int) -> None:
            for job in itertools.islice(todo, count):
                future = client.submit(grade_on_worker, job, name, pure=False, retries=1)
                in_flight[future] = (job, time.monotonic() + bound)

        submit(limit)
        try:
            while in_flight:
                first = min(d for _, d in in_flight.values())
                try:
                    wait(list(in_flight), timeout=min(max(1.0, first - time.monotonic()), 3600.0), return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                for future, (job, deadline) in list(in_flight.items()):
                    if future.done():
                        del in_flight[future]
                        try:
                            result = future.result()
                        except Exception as exc:  # a grader failure on a worker: reported, the batch goes on
                            on_result(job, None, exc)
                        else:
                            on_result(job, result, None)
                        submit(1)
                    elif time.monotonic() > deadline:
                        del in_flight[future]
                        future.cancel()
                        on_result(job, verdict(job, f"grading this submission took longer than the batch's time limit "
                                                    f"of {seconds:g} s for one submission: the grader stopped it"), None)
                        submit(1)
        finally:
            if in_flight:
                client.cancel(list(in_flight))
