"""Fuzz the grader's own readers (notebooks, .py files, student archives) with many examples and print figures.

    python benchmarks/fuzz_readers.py                  # 1,000 examples per reader
    python benchmarks/fuzz_readers.py --examples 5000

First it times the three inputs issue 14 found slow (a 50 KB line of spaces: 111 s; 16,000 one-line cells:
52 s; 100,000 cells: 103 s and 663 MB, before the fix), then runs the properties of
tests/submissions/test_fuzz.py with more examples: every input must end in a result or the reader's own
error, and the slowest input is printed. Timings are noisy on a shared machine: run it more than once.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "tests" / "submissions"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from hypothesis import given  # noqa: E402

import test_fuzz  # noqa: E402
from grader.submissions import archive  # noqa: E402
from grader.submissions.reader import SubmissionError, load_submission  # noqa: E402


def _notebook(n: int) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "source": f"x{i} = {i}", "outputs": [], "execution_count": None}
             for i in range(n)] + [{"cell_type": "code", "metadata": {}, "source": "dlogits = 0", "outputs": [],
                                    "execution_count": None}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


SLOW = {  # issue 14's three slow inputs, and a notebook at the cell limit
    "50 KB line of spaces (.py)": ("spaces.py", lambda: "dlogits = 0\n" + " " * 50_000 + "\n"),
    "16,000 one-line cells (.ipynb)": ("cells16k.ipynb", lambda: _notebook(16_000)),
    "100,000 cells (.ipynb)": ("cells100k.ipynb", lambda: _notebook(100_000)),
    "2,000 cells, the limit (.ipynb)": ("cells2k.ipynb", lambda: _notebook(1_999)),
}


def time_slow_inputs(folder: Path) -> None:
    for label, (name, make) in SLOW.items():
        path = folder / name
        path.write_text(make())
        started = time.monotonic()
        try:
            load_submission(path)
            verdict = "read"
        except SubmissionError as exc:
            verdict = str(exc).split(": ", 1)[1][:60]
        print(f"  {label:34s} {time.monotonic() - started:7.2f} s   {verdict}")


def fuzz(examples: int, folder: Path) -> None:
    times = {"notebook": [], "py": [], "archive": []}

    def timed(kind, path, read):
        started = time.monotonic()
        try:
            read(path)
        except (SubmissionError, archive.ArchiveError):
            pass
        times[kind].append(time.monotonic() - started)

    settings = test_fuzz.settings(test_fuzz.FUZZ, max_examples=examples)

    @settings
    @given(cells=test_fuzz.cells, deep=test_fuzz.st.one_of(test_fuzz.st.none(), test_fuzz.nesting))
    def notebooks(cells, deep):
        text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
        if deep is not None:
            text = text.replace('"metadata": {}', '"metadata": {"x": ' + deep + "}", 1)
        (folder / "f.ipynb").write_bytes(test_fuzz._encode(text))
        timed("notebook", folder / "f.ipynb", load_submission)

    @settings
    @given(text=test_fuzz.source)
    def scripts(text):
        (folder / "f.py").write_bytes(test_fuzz._encode(text))
        timed("py", folder / "f.py", load_submission)

    @settings
    @given(members=test_fuzz.st.lists(test_fuzz.st.tuples(test_fuzz.member_name, test_fuzz.st.binary(max_size=256)),
                                      max_size=8))
    def archives(members):
        import io
        import shutil
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in members:
                try:
                    zf.writestr(name, data)
                except (ValueError, UnicodeEncodeError, IndexError):
                    pass
        (folder / "f.zip").write_bytes(buf.getvalue())
        shutil.rmtree(folder / "out", ignore_errors=True)
        timed("archive", folder / "f.zip", lambda p: archive.extract(p, folder / "out"))

    import warnings

    warnings.simplefilter("ignore")
    for run in (notebooks, scripts, archives):
        run()
    for kind, seconds in times.items():
        seconds.sort()
        print(f"  {kind:9s} {len(seconds):6d} inputs   median {1000 * seconds[len(seconds) // 2]:7.1f} ms   "
              f"slowest {seconds[-1]:6.2f} s   total {sum(seconds):7.1f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="examples per reader (default 1000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bpn-fuzz-") as tmp:
        print("issue 14's slow inputs:")
        time_slow_inputs(Path(tmp))
        print(f"fuzz, {args.examples} examples per reader (never a traceback; the slowest input shown):")
        fuzz(args.examples, Path(tmp))
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
