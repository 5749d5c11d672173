"""names.txt (find, download, checksum, cache) -> vocabulary -> the lecture's splits."""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path

import platformdirs

NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
NAMES_ENV = "BACKPROP_NINJA_NAMES"
BLOCK_SIZE = 3
DATASET_FORMAT = 1  # bump when the cached tensors' layout changes
SPLITS = ("Xtr", "Ytr", "Xdev", "Ydev", "Xte", "Yte")


class DataError(Exception):
    """names.txt cannot be found, fetched or trusted; the message says what to do."""


def cache_path() -> Path:
    """Where the downloaded names.txt lives (the user's cache directory)."""
    return Path(platformdirs.user_cache_dir("backprop-ninja")) / "names.txt"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(path: Path) -> Path:
    """Return `path` if it is the lecture's names.txt, else raise DataError saying why."""
    if not path.is_file():
        raise DataError(f"{path}: no such file (names.txt is expected here)")
    digest = sha256(path)
    if digest != NAMES_SHA256:
        raise DataError(
            f"{path}: refused, sha256 is {digest[:16]}..., expected {NAMES_SHA256[:16]}...: "
            "this is not the lecture's names.txt (32,033 names)"
        )
    return path


def download(dest: Path, url: str = NAMES_URL, timeout: float = 20.0) -> Path:
    """Fetch names.txt into `dest`, verifying the checksum before it is kept."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(
            f"names.txt is not cached and could not be downloaded from {url} ({reason}); "
            f"download it yourself and pass --names PATH or set {NAMES_ENV}=PATH"
        ) from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != NAMES_SHA256:
        raise DataError(f"downloaded names.txt from {url} has sha256 {digest[:16]}..., expected {NAMES_SHA256[:16]}...; not kept")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    tmp.write_bytes(payload)
    tmp.replace(dest)
    return dest


def names_path(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve names.txt: `explicit` (--names), then $BACKPROP_NINJA_NAMES, then the cache, then a download."""
    chosen = explicit or os.environ.get(NAMES_ENV)
    if chosen:
        return verify(Path(chosen).expanduser().resolve())
    cached = cache_path()
    if cached.is_file():
        try:
            return verify(cached)
        except DataError:
            cached.unlink()  # a corrupt cache is replaced, not trusted
    return verify(download(cached))


@dataclass(frozen=True)
class Dataset:
    """The lecture's data: words, vocabulary and the 80/10/10 splits (tensors are int64)."""

    words: list
    stoi: dict
    itos: dict
    block_size: int
    Xtr: object
    Ytr: object
    Xdev: object
    Ydev: object
    Xte: object
    Yte: object

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def names(self) -> dict:
        """The names the lecture notebook defines in its data cells."""
        return {
            "words": list(self.words), "chars": sorted(k for k in self.stoi if k != "."),
            "stoi": dict(self.stoi), "itos": dict(self.itos), "vocab_size": self.vocab_size,
            "block_size": self.block_size, "build_dataset": self.build_dataset,
            "n1": int(0.8 * len(self.words)), "n2": int(0.9 * len(self.words)),
            "Xtr": self.Xtr, "Ytr": self.Ytr, "Xdev": self.Xdev, "Ydev": self.Ydev,
            "Xte": self.Xte, "Yte": self.Yte,
        }

    def build_dataset(self, words):
        return build_dataset(words, self.stoi, self.block_size)


def build_dataset(words, stoi, block_size=BLOCK_SIZE):
    """The lecture's build_dataset: every (context, next character) pair."""
    import torch

    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    return torch.tensor(X), torch.tensor(Y)


def _build_quickly(words, stoi, block_size=BLOCK_SIZE):
    """build_dataset's tensors, six times faster (one flat list; every worker builds them at start-up)."""
    import torch

    X, Y = [], []
    for w in words:
        ids = [0] * block_size + [stoi[ch] for ch in w] + [0]
        for i in range(len(ids) - block_size):
            X.extend(ids[i:i + block_size])
        Y.extend(ids[block_size:])
    return torch.tensor(X, dtype=torch.long).view(-1, block_size), torch.tensor(Y, dtype=torch.long)


def load(path: str | os.PathLike | None = None, cache: bool = True) -> Dataset:
    """The lecture's dataset from names.txt (random.seed(42), shuffle, 80/10/10).

    names.txt is verified to be the lecture's file, so its splits are always the same tensors:
    with `cache`, they are read from the user cache directory (built and written there once).
    """
    source = names_path(path)
    if cache:
        cached = _read_cache(dataset_cache_path())
        if cached is not None:
            return cached
    ds = _build(source.read_text().splitlines())
    if cache:
        _write_cache(ds, dataset_cache_path())
    return ds


def _build(words: list) -> Dataset:
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    rng = random.Random(42)  # the lecture's random.seed(42); random.shuffle, without touching the global RNG
    rng.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    Xtr, Ytr = _build_quickly(words[:n1], stoi)
    Xdev, Ydev = _build_quickly(words[n1:n2], stoi)
    Xte, Yte = _build_quickly(words[n2:], stoi)
    return Dataset(words, stoi, itos, BLOCK_SIZE, Xtr, Ytr, Xdev, Ydev, Xte, Yte)


def dataset_cache_path() -> Path:
    """The built splits of the lecture's names.txt (keyed by its checksum and this cache's format)."""
    return Path(platformdirs.user_cache_dir("backprop-ninja")) / f"dataset-{NAMES_SHA256[:16]}-v{DATASET_FORMAT}.safetensors"


def _write_cache(ds: Dataset, dest: Path) -> None:
    """Keep the splits and the shuffled words (best effort: a read-only cache only costs time)."""
    import torch
    from safetensors.torch import save_file

    tensors = {k: getattr(ds, k).contiguous() for k in SPLITS}
    tensors["words"] = torch.frombuffer(bytearray("\n".join(ds.words).encode()), dtype=torch.uint8)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(f".{os.getpid()}.part")
        save_file(tensors, str(tmp))
        tmp.replace(dest)
    except OSError:
        pass


def _read_cache(src: Path) -> Dataset | None:
    """The cached dataset, or None if there is none or it is not consistent (then it is rebuilt)."""
    if not src.is_file():
        return None
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        t = load_file(str(src))
        text = bytes(t.pop("words").numpy()).decode("ascii")
    except (SafetensorError, OSError, KeyError, UnicodeDecodeError, ValueError):
        return None
    words, chars = text.split("\n"), sorted(set(text) - {"\n"})
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    rows = len(text) + 1  # every word and its closing "."
    ok = set(t) == set(SPLITS) and all(v.dtype == torch.int64 for v in t.values()) and len(chars) == 26 \
        and all(t[x].dim() == 2 and t[x].shape == (len(t[y]), BLOCK_SIZE) for x, y in zip(SPLITS[::2], SPLITS[1::2])) \
        and sum(len(t[y]) for y in SPLITS[1::2]) == rows
    if not ok:
        return None
    return Dataset(words, stoi, {i: s for s, i in stoi.items()}, BLOCK_SIZE, *(t[k] for k in SPLITS))
