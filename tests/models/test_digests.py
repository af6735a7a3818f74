"""The digest cache: a file is re-hashed whenever anything about it may have changed, and
the cache never vouches for a file whose reading can run code."""

import hashlib
import os
import time

import pytest

from mlcask.models import digests, integrity
from mlcask.models.pinned import identity


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Counts the bytes hashed by verification (one entry per hash of a file's content)."""
    monkeypatch.setenv("MLCASK_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(digests, "SETTLED_NS", 0)  # a file written in the test counts as settled
    digests.forget()
    hashed = []
    real = integrity.sha256
    monkeypatch.setattr(integrity, "sha256", lambda data: hashed.append(len(data)) or real(data))
    yield hashed
    digests.forget()


def big_file(path, fill=b"a"):
    path.write_bytes(fill * digests.MIN_CACHED_SIZE)
    return path


def check(file):
    """What verification does for one large file: look it up, else hash and remember it."""
    ident = identity(os.lstat(file))
    found = digests.lookup(ident)
    if found is not None:
        return found
    started = time.time_ns()
    digest = integrity.sha256(file.read_bytes())
    digests.remember(ident, digest, started)
    return digest


def test_an_unchanged_file_is_hashed_once_across_processes(cache, tmp_path):
    file = big_file(tmp_path / "model.ubj")
    expected = hashlib.sha256(file.read_bytes()).hexdigest()
    assert check(file) == expected and check(file) == expected
    assert len(cache) == 1
    cache_file = tmp_path / "home" / digests.CACHE_FILE_NAME
    assert oct(cache_file.stat().st_mode & 0o777) == "0o600"
    digests.forget()  # a new process: the entry comes from disk
    assert check(file) == expected and len(cache) == 1


def test_same_size_rewrite_with_the_old_mtime_is_noticed(cache, tmp_path):
    file = big_file(tmp_path / "model.ubj")
    before = os.stat(file)
    first = check(file)
    time.sleep(0.05)  # past the kernel's coarse timestamp tick (SETTLED_NS covers this outside tests)
    big_file(file, fill=b"b")  # same size
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))  # the mtime put back; the ctime moves
    assert check(file) == hashlib.sha256(file.read_bytes()).hexdigest() != first
    assert len(cache) == 2


def test_a_file_replaced_by_another_is_noticed(cache, tmp_path):
    file = big_file(tmp_path / "model.ubj")
    first = check(file)
    time.sleep(0.05)
    replacement = big_file(tmp_path / "other", fill=b"c")
    os.replace(replacement, file)
    assert check(file) != first and len(cache) == 2


def test_a_freshly_written_file_is_not_cached(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(digests, "SETTLED_NS", 10**12)
    file = big_file(tmp_path / "model.ubj")
    check(file)
    check(file)
    assert len(cache) == 2


def test_the_cache_can_be_turned_off_and_small_files_skip_it(cache, tmp_path, monkeypatch):
    small = tmp_path / "MLmodel"
    small.write_text("flavors: {}\n")
    check(small)
    check(small)
    assert len(cache) == 2
    monkeypatch.setenv("MLCASK_DIGEST_CACHE", "0")
    file = big_file(tmp_path / "model.ubj")
    check(file)
    check(file)
    assert len(cache) == 4


def test_a_cache_file_in_an_unsafe_home_is_ignored(cache, tmp_path):
    file = big_file(tmp_path / "model.ubj")
    check(file)
    home = tmp_path / "home"
    home.chmod(0o777)  # anyone could have planted the entries
    digests.forget()
    check(file)
    assert len(cache) == 2
    home.chmod(0o700)


def _saved_models(tmp_path, breast_cancer, xgb_classifier):
    import mlcask

    X, _ = breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=60, random_state=0, n_jobs=1).fit(X, breast_cancer[1])
    mlcask.sklearn.save_model(forest, tmp_path / "skops")
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "xgb")
    return forest


def test_loads_hash_code_bearing_files_every_time_and_native_data_once(cache, tmp_path, breast_cancer,
                                                                       xgb_classifier, monkeypatch):
    """A warm cache spares re-hashing XGBoost's native file, never a skops file."""
    import mlcask

    monkeypatch.setattr(digests, "MIN_CACHED_SIZE", 1024)  # the test models are small
    monkeypatch.setattr(integrity, "SMALL_FILE_BYTES", 1024, raising=False)
    from mlcask.models import pinned

    monkeypatch.setattr(pinned, "SMALL_FILE_BYTES", 1024)
    _saved_models(tmp_path, breast_cancer, xgb_classifier)
    skops_size = (tmp_path / "skops" / "model.skops").stat().st_size
    xgb_size = (tmp_path / "xgb" / "model.ubj").stat().st_size
    assert skops_size > 1024 and xgb_size > 1024
    for _ in range(2):
        cache.clear()
        mlcask.sklearn.load_model(tmp_path / "skops")
        mlcask.xgboost.load_model(tmp_path / "xgb")
        assert skops_size in cache  # the skops file is hashed from the bytes skops then reads, every load
        assert xgb_size not in cache  # saved here: the cache vouches for the native file
