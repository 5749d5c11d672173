"""Who each submission belongs to: a course platform's export -> one Entry per submission, with its people.

Recognised (each entry of a folder is looked at on its own, so one batch may mix them):
  Gradescope  submission_metadata.yml + one submission_<id>/ folder per submission (group submissions too)
  Canvas      files named <name>[_late]_<user id>_<submission id>_<file name> (grouped by user id)
  Moodle      one folder per student: <Full Name>_<participant id>_assignsubmission_file_/
  plain       one file (.py, .ipynb, .zip) or one folder per student, named after the student
A roster CSV (see `Roster`) then overrides names, ids and emails and adds columns to grades.csv.
"""
from __future__ import annotations

import csv
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from grader.submissions import archive
from grader.submissions.files import FOLDER_SUFFIXES, SUBMISSION_SUFFIXES
from grader.results import clean_text

GRADESCOPE_METADATA = "submission_metadata.yml"
GRADESCOPE_FOLDER = re.compile(r"^submission_\d+$")
STUDENT_ZIP_FILES, STUDENT_ZIP_BYTES = 10_000, 512 * 2**20  # a student's own .zip: far less than a class export
CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_late)?_(?P<user>\d{3,})_(?P<sub>\d{3,})_(?P<file>.+)$", re.I)
MOODLE = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assign(?P<kind>submission|feedback)_(?P<plugin>[a-z]+)_$")


class IdentityError(Exception):
    """The input or the roster cannot be read; str(e) says which file and why."""


@dataclass
class Person:
    """A student as the course platform (or the roster) names them."""

    name: str = ""
    student_id: str = ""  # Canvas user id, Gradescope SID, Moodle participant id, or the roster's
    email: str = ""
    extra: dict = field(default_factory=dict)  # further roster columns, carried into grades.csv
    on_roster: bool | None = None  # with a roster: whether a row of it matched this person (None: no roster)

    def __post_init__(self) -> None:  # from file names and platforms' files: valid UTF-8, bounded
        self.name, self.student_id, self.email = (clean_text(v, 255) for v in (self.name, self.student_id, self.email))

    def to_dict(self) -> dict:
        return {"name": self.name, "student_id": self.student_id, "email": self.email, "extra": dict(self.extra)}


@dataclass
class Entry:
    """One submission to grade: its files and the people it belongs to (several for a group)."""

    key: str  # unique and safe as a file name: names the outputs in students/
    platform: str  # gradescope, canvas, moodle or folder
    origin: str  # what it is called in the input (a folder, a file, a user id)
    people: list[Person] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # the .py and .ipynb files to grade
    names: list[str] = field(default_factory=list)  # each file as shown to the student (relative to the input)
    submission_id: str = ""
    late: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.origin = clean_text(self.origin, 255)

    def to_dict(self) -> dict:
        return {"key": self.key, "platform": self.platform, "origin": self.origin, "submission_id": self.submission_id,
                "late": self.late, "people": [p.to_dict() for p in self.people], "files": list(self.names),
                "notes": list(self.notes)}


def slug(text: str, limit: int = 48) -> str:
    """ASCII, lower case, words joined by '-': safe in a file name and a URL."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))[:limit].strip("-") or "student"


def discover(root: str | Path, staging: str | Path, zipped: bool = False) -> tuple[list[Entry], list[str]]:
    """Entries found in the folder `root` (an unpacked export when `zipped`), and notes about what was skipped.

    A student's own .zip is unpacked under `staging`.
    """
    root, staging = Path(root), Path(staging)
    if zipped:
        while True:  # an export zipped with its folder: look inside it
            inside = [p for p in root.iterdir() if not archive.is_junk(p)]
            if len(inside) == 1 and inside[0].is_dir() and not MOODLE.match(inside[0].name):
                root = inside[0]
            else:
                break
    inside = [p for p in root.iterdir() if not archive.is_junk(p)]
    if len(inside) == 1 and inside[0].is_dir() and (inside[0] / GRADESCOPE_METADATA).is_file():
        root = inside[0]  # a folder holding the unzipped export's folder
    meta, notes = _gradescope_metadata(root)
    if meta is not None:
        entries, more = _gradescope(meta, staging)
        others = [p for p in root.iterdir() if p.name != GRADESCOPE_METADATA and not archive.is_junk(p)
                  and not (p.is_dir() and GRADESCOPE_FOLDER.match(p.name))]
        if others:  # a mixed folder: the rest is read entry by entry, and the layout is named as ambiguous
            plain, extra = _entries(root, staging, skip=lambda p: p.name == GRADESCOPE_METADATA or p.is_dir()
                                    and GRADESCOPE_FOLDER.match(p.name))
            entries, more = entries + plain, more + extra + [
                f"ambiguous layout: a Gradescope export with {len(others)} other entries "
                f"({', '.join(sorted(clean_text(p.name, 60) for p in others)[:5])}), each graded as a student of its own"]
        notes += more
    else:
        entries, more = _entries(root, staging)
        notes += more
    _unique_keys(entries)
    return entries, notes


def _gradescope_metadata(root: Path) -> tuple[Path | None, list[str]]:
    """Gradescope's metadata at the export's root, when the folder is laid out as its export; notes if not.

    Only the root counts (a submission_metadata.yml inside a student's folder is that student's file),
    and only with submission_<id>/ folders beside it that the metadata lists.
    """
    path = root / GRADESCOPE_METADATA
    if not path.is_file() or path.is_symlink():
        return None, []
    folders = {p.name for p in root.iterdir() if p.is_dir() and GRADESCOPE_FOLDER.match(p.name)}
    try:
        listed = set(_yaml(path)) if path.stat().st_size <= 16 * 2**20 else set()
    except IdentityError as exc:
        return None, [f"{exc}; the folder is read as one entry per student"]
    if not folders or not folders & {str(k) for k in listed}:
        return None, [f"{GRADESCOPE_METADATA} at the top does not describe the submission_<id> folders beside it: "
                      "not read as a Gradescope export (ambiguous layout)"]
    return path, []


def _yaml(path: Path) -> dict:
    """Gradescope's YAML, which may carry Ruby tags (!ruby/object:BigDecimal): those values become None."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise IdentityError(f"{path.name}: cannot read Gradescope's metadata ({exc})") from None
    if not isinstance(data, dict):
        raise IdentityError(f"{path.name}: not Gradescope's submission metadata (expected a mapping)")
    return data


def _gradescope(meta_path: Path, staging: Path) -> tuple[list[Entry], list[str]]:
    meta, root, notes, entries = _yaml(meta_path), meta_path.parent, [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and GRADESCOPE_FOLDER.match(p.name)):
        record = meta.get(folder.name) if isinstance(meta.get(folder.name), dict) else {}
        people = []
        for s in record.get(":submitters") or []:
            if isinstance(s, dict):
                people.append(Person(name=str(s.get(":name") or ""), student_id=str(s.get(":sid") or ""),
                                     email=str(s.get(":email") or "")))
        sub_id = folder.name.removeprefix("submission_")
        entry = Entry(key=_key(people[0].name if people else "", sub_id), platform="gradescope", origin=folder.name,
                      people=people, submission_id=sub_id)
        if not record:
            entry.notes.append(f"{folder.name} is not in {GRADESCOPE_METADATA}: its student is unknown")
        _collect(entry, folder, staging)
        entries.append(entry)
    return entries, notes


def _entries(root: Path, staging: Path, skip=lambda path: False) -> tuple[list[Entry], list[str]]:
    """Canvas files, Moodle folders and plain files/folders of one folder."""
    canvas: dict[str, Entry] = {}
    moodle: dict[str, Entry] = {}
    entries, notes = [], []
    for path in sorted(root.iterdir()):
        if archive.is_junk(path) or skip(path):
            continue
        if path.is_symlink():
            notes.append(f"skipped {clean_text(path.name, 200)}: a symbolic link")
            continue
        m = MOODLE.match(path.name) if path.is_dir() else None
        c = CANVAS.match(path.name) if path.is_file() else None
        if m:
            if m["kind"] == "feedback" or m["plugin"] != "file":
                continue  # feedback files and online text are not code
            entry = moodle.setdefault(m["pid"], Entry(key=_key(m["name"], m["pid"]), platform="moodle",
                                                       origin=path.name, people=[Person(m["name"], m["pid"])]))
            _collect(entry, path, staging)
        elif c:
            entry = canvas.setdefault(c["user"], Entry(key=_key(c["name"], c["user"]), platform="canvas",
                                                        origin=c["user"], people=[Person(c["name"], c["user"])],
                                                        submission_id=c["sub"]))
            entry.late |= bool(c["late"])
            _add_file(entry, path, c["file"], staging)
        elif path.is_dir() or path.suffix.lower() in FOLDER_SUFFIXES:
            entry = Entry(key=slug(path.stem if path.is_file() else path.name), platform="folder",
                          origin=path.name, people=[Person(name=path.stem if path.is_file() else path.name)])
            if path.is_dir():
                _collect(entry, path, staging)
            else:
                _add_file(entry, path, path.name, staging)
            entries.append(entry)
        else:
            notes.append(f"skipped {clean_text(path.name, 200)}: not a .py, .ipynb or .zip file, nor a student's folder")
    return sorted([*entries, *canvas.values(), *moodle.values()], key=lambda e: e.key), notes


def _key(name: str, ident: str) -> str:
    return f"{slug(name, 40)}-{slug(ident, 24)}" if ident else slug(name)


def _collect(entry: Entry, folder: Path, staging: Path) -> None:
    """Every submission file under a student's `folder` (a student's own .zip is unpacked)."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not any(archive.is_junk(Path(p)) for p in rel.parts):
            _add_file(entry, path, rel.as_posix(), staging)


def _add_file(entry: Entry, path: Path, shown: str, staging: Path) -> None:
    """Add one file; `shown` is its name as the student saved it (without Canvas's prefix)."""
    suffix, shown = path.suffix.lower(), clean_text(shown, 255)  # a file name need not be valid UTF-8
    if suffix in SUBMISSION_SUFFIXES:
        entry.files.append(path)
        entry.names.append(shown)
        return
    if suffix == ".zip":
        staging.mkdir(parents=True, exist_ok=True)
        dest = Path(tempfile.mkdtemp(prefix=f"{entry.key}-", dir=staging))
        try:
            entry.notes.extend(archive.extract(path, dest, STUDENT_ZIP_FILES, STUDENT_ZIP_BYTES))
        except archive.ArchiveError as exc:
            entry.notes.append(str(exc))
            return
        for inner in sorted(dest.rglob("*")):
            rel = inner.relative_to(dest)
            if inner.is_file() and inner.suffix.lower() in SUBMISSION_SUFFIXES and not any(archive.is_junk(Path(p)) for p in rel.parts):
                entry.files.append(inner)
                entry.names.append(clean_text(f"{shown}:{rel.as_posix()}", 400))
        return
    entry.notes.append(f"ignored {shown}: only .py and .ipynb files are graded")


def _unique_keys(entries: list[Entry]) -> None:
    """Make every key unique: a repeated key gets the first free -2, -3 ... that no other entry has or had."""
    taken, used = {e.key for e in entries}, set()
    for entry in entries:
        base, k = entry.key, 2
        while entry.key in used:
            entry.key, k = f"{base}-{k}", k + 1
            if entry.key in taken and entry.key not in used:  # another entry's own key: never take it
                entry.key = base
        used.add(entry.key)


@dataclass
class Roster:
    """A CSV that names the students. Header (any case): a column to match on, then what to set.

    Match columns, tried in this order: `submission` (a file or folder name as in the input, or a
    Gradescope submission_<id>), `key` (the output name in students/), `student_id`, `email`.
    Set columns: `name`, `student_id`, `email`; any other column is copied into grades.csv.
    Rows that match no submission still get a row in grades.csv, flagged "no submission".
    """

    rows: list[dict]
    path: str = ""

    @classmethod
    def load(cls, path: str | Path) -> "Roster":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise IdentityError(f"{path}: cannot read the roster ({exc})") from None
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise IdentityError(f"{path}: empty roster (expected a header line)")
        header = [re.sub(r"\W+", "_", (f or "").strip().lower()).strip("_") for f in reader.fieldnames]
        if not {"submission", "key", "student_id", "email"} & set(header):
            raise IdentityError(f"{path}: the roster needs a submission, key, student_id or email column "
                                f"(it has {', '.join(header)})")
        rows = []
        for raw in reader:
            row = {h: (v or "").strip() for h, v in zip(header, raw.values()) if h}
            if any(row.values()):
                rows.append(row)
        return cls(rows, str(path))

    def apply(self, entries: list[Entry]) -> list[Person]:
        """Override the entries' people in place; return the roster's people who submitted nothing.

        Each person of the entries gets `on_roster`: False for one no row matched (e.g. a group member missing
        from the roster), which class.html and grades.csv warn about.
        """
        for entry in entries:
            for person in entry.people:
                person.on_roster = False
        absent = []
        for row in self.rows:
            person = Person(row.get("name", ""), row.get("student_id", ""), row.get("email", ""),
                            {k: v for k, v in row.items() if k not in ("submission", "key", "name", "student_id", "email")})
            if not self._match(row, person, entries):
                absent.append(person)
        return absent

    @staticmethod
    def _match(row: dict, person: Person, entries: list[Entry]) -> bool:
        sub = row.get("submission", "")
        for entry in entries:
            if (sub and sub in (entry.origin, Path(entry.origin).stem, entry.submission_id)) or \
                    (row.get("key") and row["key"] == entry.key):
                entry.people = [_merge(entry.people[0] if entry.people else Person(), person)]
                return True
        for field_name in ("student_id", "email"):
            value = row.get(field_name, "").lower()
            if not value:
                continue
            for entry in entries:
                for i, p in enumerate(entry.people):
                    if getattr(p, field_name).lower() == value:
                        entry.people[i] = _merge(p, person)
                        return True
        return False


def _merge(found: Person, roster: Person) -> Person:
    """The roster's values where it has them, the platform's elsewhere."""
    return Person(roster.name or found.name, roster.student_id or found.student_id, roster.email or found.email,
                  {**found.extra, **roster.extra}, on_roster=True)
