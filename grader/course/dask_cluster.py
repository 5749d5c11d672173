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


def run(address: str, jobs, names_path: Path, options, fingerprint: str, on_result, timeout: float = 30.0) -> None:
    """Submit every job (a dict from work.payload, built lazily from the iterable) to the cluster at `address`.

    Calls on_result(job, result_dict, None) as each finishes, or on_result(job, None, exception).
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise DaskUnavailable("--dask needs Dask distributed: pip install 'backprop-ninja[dask]'") from None
    name = f"backprop-ninja-{__version__}-{fingerprint}"
    with Client(address, timeout=timeout) as client:
        client.register_plugin(GraderPlugin(names_path.read_bytes(), options), name=name)
        limit = max(8, 2 * sum(client.nthreads().values()))  # submissions held by the cluster at once
        todo, in_flight, finished = iter(jobs), {}, as_completed()

        def submit(count: int) -> None:
            for job in itertools.islice(todo, count):
                future = client.submit(grade_on_worker, job, name, pure=False, retries=1)
                in_flight[future] = job
                finished.add(future)

        submit(limit)
        try:
            for future in finished:
                job = in_flight.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # a grader failure on a worker: reported for this submission, batch goes on
                    on_result(job, None, exc)
                else:
                    on_result(job, result, None)
                submit(1)
        finally:
            if in_flight:
                client.cancel(list(in_flight))
