"""Grade a batch on an existing Dask distributed cluster (`batch --dask ADDRESS`).

Each Dask worker thread holds one warm Grader, created on first use by a worker plugin that
also carries names.txt (so workers need no shared file system nor a download). Tasks take a
payload of plain bytes and return SubmissionResult.to_dict(); the client writes every output,
so the files are the same as a local run's.
"""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from . import __version__
from .work import grade_payload

try:
    from distributed import WorkerPlugin
except ImportError:  # the plugin class is only needed where dask is installed
    WorkerPlugin = object


class DaskUnavailable(Exception):
    """`--dask` without the optional dependency installed."""


class GraderPlugin(WorkerPlugin):
    """Warm Graders on one Dask worker: one per worker thread, closed when the worker stops."""

    def __init__(self, names_bytes: bytes, options, version: str = __version__):
        self.names_bytes = names_bytes
        self.options = options
        self.version = version
        self._graders: dict = {}
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
        from . import data

        self._dir = tempfile.mkdtemp(prefix="bpn-dask-")
        path = Path(self._dir) / "names.txt"
        path.write_bytes(self.names_bytes)
        data.verify(path)

    def grader(self):
        """This thread's warm Grader (created on first use)."""
        from .work import warm_grader

        ident = threading.get_ident()
        with self._lock:
            if not self._dir:
                self.setup()
            grader = self._graders.get(ident)
        if grader is None:
            grader = warm_grader(Path(self._dir) / "names.txt", self.options)
            with self._lock:
                self._graders[ident] = grader
        return grader

    def teardown(self, worker=None) -> None:
        with self._lock:
            graders, self._graders = list(self._graders.values()), {}
        for grader in graders:
            grader.close()
        if self._dir:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)


def grade_on_worker(job: dict, plugin_name: str) -> dict:
    """The Dask task: grade one payload with this worker's Grader."""
    from distributed import get_worker

    return grade_payload(get_worker().plugins[plugin_name].grader(), job)


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
        futures = {}
        for job in jobs:
            futures[client.submit(grade_on_worker, job, name, pure=False, retries=1)] = job
        try:
            for future in as_completed(futures):
                job = futures.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # a grader failure on a worker: reported for this submission, batch goes on
                    on_result(job, None, exc)
                else:
                    on_result(job, result, None)
        finally:
            if futures:
                client.cancel(list(futures))
