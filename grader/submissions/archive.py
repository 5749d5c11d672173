"""Unpack a course platform's .zip export (or a student's own .zip) safely: no path escapes, no zip bombs.

Here (below grading and course) so that `grade my_work.zip` and `batch` unpack the same way."""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from grader.submissions.files import SUBMISSION_SUFFIXES

MAX_FILES = 100_000
MAX_TOTAL_BYTES = 4 * 2**30  # everything unpacked from one archive
MAX_FILE_BYTES = 256 * 2**20  # one member
MAX_RATIO = 200  # uncompressed / compressed, for members larger than 1 MiB
JUNK = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db", "desktop.ini")


class ArchiveError(Exception):
    """An archive that cannot be unpacked safely; str(e) names it and says why."""


def member_path(name: str) -> PurePosixPath | None:
    """A member's path relative to the destination; None for one that would land outside it."""
    name = name.replace("\\", "/")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or name.startswith("/") or ".." in parts or (len(parts[0]) == 2 and parts[0][1] == ":"):
        return None
    return PurePosixPath(*parts)


def is_junk(path: Path) -> bool:
    """macOS resource forks, checkpoints and the like: never a student's work."""
    return path.name in JUNK or path.name.startswith("._") or path.name.startswith(".")


def extract(archive: str | os.PathLike, dest: str | os.PathLike, max_files: int = MAX_FILES,
            max_total: int = MAX_TOTAL_BYTES) -> list[str]:
    """Unpack `archive` into `dest` (created); returns notes about skipped members; ArchiveError if unsafe.

    A member that cannot be unpacked (a corrupt or lying header, a name too long or clashing with a
    folder of the same name, an encrypted member) is skipped with a note: it is the student's problem.
    """
    archive, dest = Path(archive), Path(dest)
    notes = []
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise ArchiveError(f"{archive.name}: not a readable .zip ({type(exc).__name__}: {exc})") from None
    with zf:
        members = zf.infolist()
        if len(members) > max_files:
            raise ArchiveError(f"{archive.name}: {len(members)} members, more than {max_files}")
        total = 0
        for info in members:
            if info.file_size > MAX_FILE_BYTES:
                raise ArchiveError(f"{archive.name}: {info.filename} unpacks to {info.file_size} bytes "
                                   f"(more than {MAX_FILE_BYTES // 2**20} MiB)")
            if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise ArchiveError(f"{archive.name}: {info.filename} is compressed "
                                   f"{info.file_size // max(info.compress_size, 1)}:1 (a zip bomb?)")
            total += info.file_size
            if total > max_total:
                raise ArchiveError(f"{archive.name}: unpacks to more than {max_total // 2**20} MiB")
            try:
                _member(zf, info, dest, archive.name, notes)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError,
                    NotImplementedError, zlib.error) as exc:
                notes.append(f"{archive.name}: could not unpack {info.filename[:100]!r} ({type(exc).__name__}: "
                             f"{getattr(exc, 'strerror', None) or str(exc)[:100]})")
    return notes


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, name: str, notes: list) -> None:
    """Unpack one member, or note why it is skipped; raises what unpacking it raised."""
    rel = member_path(info.filename)
    if rel is None:
        notes.append(f"{name}: skipped {info.filename!r} (it would unpack outside the folder)")
        return
    if any(p in JUNK or p.startswith("._") for p in rel.parts):
        return
    if info.is_dir():
        (dest / rel).mkdir(parents=True, exist_ok=True)
        return
    if stat.S_ISLNK(info.external_attr >> 16):
        notes.append(f"{name}: skipped symbolic link {info.filename!r}")
        return
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as src, open(target, "xb") as out:  # x: never over a file (or a folder) unpacked before
        try:
            _copy_limited(src, out, info.file_size)
        except BaseException:
            target.unlink(missing_ok=True)  # nothing half-written stays
            raise


def _copy_limited(src, out, declared: int) -> None:
    """Copy exactly the declared size (a lying header can neither make a member grow nor cut it silently)."""
    left = declared
    while True:
        chunk = src.read(min(1 << 20, left + 1))
        if not chunk:
            if left:
                raise ValueError(f"member is {left} bytes shorter than its header says")
            return
        if len(chunk) > left:
            raise ValueError("member is larger than its header says")
        left -= len(chunk)
        out.write(chunk)


def remove(path: str | os.PathLike) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def unpacked(files: list[Path]) -> Iterator[tuple[list[Path], list[str]]]:
    """(files, notes): each .zip among `files` replaced by the notebooks and .py files it holds, unpacked to a
    temporary folder that is removed on exit; an archive that cannot be unpacked safely is a note."""
    out, notes, temps = [], [], []
    try:
        for path in map(Path, files):
            if path.suffix.lower() != ".zip":
                out.append(path)
                continue
            dest = Path(tempfile.mkdtemp(prefix="bpn-zip-"))
            temps.append(dest)
            try:
                notes += extract(path, dest)
            except ArchiveError as exc:
                notes.append(str(exc))
                continue
            found = sorted(f for f in dest.rglob("*") if f.is_file() and f.suffix.lower() in SUBMISSION_SUFFIXES
                           and not any(is_junk(Path(part)) for part in f.relative_to(dest).parts))
            if not found:
                notes.append(f"{path.name}: no notebook or .py file inside")
            out += found
        yield out, notes
    finally:
        for dest in temps:
            remove(dest)
