"""names.txt: checksum, precedence of --names / env / cache, download, the lecture's splits."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from grader import data


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private user cache directory, so tests never touch the real one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(data.NAMES_ENV, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def served(tmp_path, names_path):
    """names.txt (and a corrupt copy) served over HTTP on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    shutil.copyfile(names_path, root / "names.txt")
    (root / "bad.txt").write_text("emma\nolivia\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_verify_accepts_the_lecture_file(names_path):
    assert data.verify(names_path) == names_path


def test_wrong_checksum_is_refused_with_the_reason(tmp_path):
    fake = tmp_path / "names.txt"
    fake.write_text("emma\nolivia\n")
    with pytest.raises(data.DataError, match="refused, sha256 is .*not the lecture's names.txt"):
        data.verify(fake)


def test_explicit_path_wins_over_environment(tmp_path, names_path, monkeypatch):
    monkeypatch.setenv(data.NAMES_ENV, str(tmp_path / "missing.txt"))
    assert data.names_path(names_path) == names_path.resolve()
    with pytest.raises(data.DataError, match="no such file"):
        data.names_path()


def test_offline_without_a_copy_says_how_to_provide_it(cache_dir, monkeypatch):
    monkeypatch.setattr(data, "NAMES_URL", "http://127.0.0.1:9/names.txt")
    monkeypatch.setattr(data.download, "__defaults__", ("http://127.0.0.1:9/names.txt", 2.0))
    with pytest.raises(data.DataError) as info:
        data.names_path()
    message = str(info.value)
    assert "--names PATH" in message and data.NAMES_ENV in message and "\n" not in message


def test_download_verifies_and_caches(cache_dir, served):
    path = data.download(data.cache_path(), url=f"{served}/names.txt")
    assert path == data.cache_path() and path.is_file()
    assert data.names_path() == path  # the cache is used from now on


def test_download_with_wrong_checksum_is_not_kept(cache_dir, served):
    with pytest.raises(data.DataError, match="not kept"):
        data.download(data.cache_path(), url=f"{served}/bad.txt")
    assert not data.cache_path().exists()


def test_corrupt_cache_is_not_trusted(cache_dir, monkeypatch):
    data.cache_path().parent.mkdir(parents=True)
    data.cache_path().write_text("tampered\n")
    monkeypatch.setattr(data.download, "__defaults__", ("http://127.0.0.1:9/names.txt", 2.0))
    with pytest.raises(data.DataError, match="could not be downloaded"):
        data.names_path()
    assert not data.cache_path().exists()


def test_lecture_splits(dataset):
    assert len(dataset.words) == 32033
    assert dataset.vocab_size == 27 and dataset.itos[0] == "." and dataset.stoi["a"] == 1
    assert tuple(dataset.Xtr.shape) == (182625, 3)
    assert dataset.Xtr.shape[0] + dataset.Xdev.shape[0] + dataset.Xte.shape[0] == len("".join(dataset.words)) + len(dataset.words)


def test_the_quick_build_gives_the_lectures_tensors(dataset):
    """load() builds the splits with a flat list; the lecture's build_dataset (what students call) gives the same."""
    import torch

    n1, n2 = int(0.8 * len(dataset.words)), int(0.9 * len(dataset.words))
    for words, (X, Y) in ((dataset.words[:n1], (dataset.Xtr, dataset.Ytr)), (dataset.words[n1:n2], (dataset.Xdev, dataset.Ydev)),
                          (dataset.words[n2:], (dataset.Xte, dataset.Yte))):
        X2, Y2 = data.build_dataset(words, dataset.stoi)
        assert X.dtype == X2.dtype == torch.int64 and torch.equal(X, X2) and torch.equal(Y, Y2)


def test_cached_dataset_equals_the_built_one_and_a_damaged_cache_is_rebuilt(cache_dir, names_path):
    import torch

    built = data.load(names_path, cache=False)
    first = data.load(names_path)  # builds and writes the cache
    assert data.dataset_cache_path().is_file() and str(cache_dir) in str(data.dataset_cache_path())
    cached = data.load(names_path)
    for ds in (first, cached):
        assert ds.words == built.words and ds.stoi == built.stoi and ds.itos == built.itos
        assert all(torch.equal(getattr(ds, k), getattr(built, k)) for k in data.SPLITS)
    data.dataset_cache_path().write_bytes(b"garbage")
    assert data._read_cache(data.dataset_cache_path()) is None
    assert torch.equal(data.load(names_path).Xtr, built.Xtr)
