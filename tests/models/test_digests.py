"""The digest cache: a file is re-hashed whenever anything about it may have changed."""

import hashlib
import os
import time

import pytest

from mlcask.models import digests


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCASK_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(digests, "SETTLED_NS", 0)  # a file written in the test counts as settled
    digests.forget()
    hashed = []
    real_hash = digests._hash
    monkeypatch.setattr(digests, "_hash", lambda file: hashed.append(file) or real_hash(file))
    yield hashed
    digests.forget()


def big_file(path, fill=b"a"):
    path.write_bytes(fill * digests.MIN_CACHED_SIZE)
    return path


def digest_of(path):
    return digests.file_sha256(path, os.lstat(path))


def test_an_unchanged_file_is_hashed_once_across_processes(cache, tmp_path):
    file = big_file(tmp_path / "model.ubj")
    expected = hashlib.sha256(file.read_bytes()).hexdigest()
    assert digest_of(file) == expected and digest_of(file) == expected
    assert len(cache) == 1
    cache_file = tmp_path / "home" / digests.CACHE_FILE_NAME
    assert oct(cache_file.stat().st_mode & 0o777) == "0o600"
    digests.forget()  # a new process: the entry comes from disk
    assert digest_of(file) == expected and len(cache) == 1


def test_same_size_rewrite_with_the_old_mtime_is_noticed(cache, tmp_path):
    file = big_file(tmp_path / "model.ubj")
    before = os.stat(file)
    first = digest_of(file)
    time.sleep(0.05)  # past the kernel's coarse timestamp tick (SETTLED_NS covers this outside tests)
    big_file(file, fill=b"b")  # same size
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))  # the mtime put back; the ctime moves
    assert digest_of(file) == hashlib.sha256(file.read_bytes()).hexdigest() != first
    assert len(cache) == 2


def test_a_file_replaced_by_another_is_noticed(cache, tmp_path):
    file = big_file(tmp_path / "model.ubj")
    first = digest_of(file)
    time.sleep(0.05)
    replacement = big_file(tmp_path / "other", fill=b"c")
    os.replace(replacement, file)
    assert digest_of(file) != first and len(cache) == 2


def test_a_freshly_written_file_is_not_cached(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(digests, "SETTLED_NS", 10**12)
    file = big_file(tmp_path / "model.ubj")
    digest_of(file)
    digest_of(file)
    assert len(cache) == 2


def test_the_cache_can_be_turned_off_and_small_files_skip_it(cache, tmp_path, monkeypatch):
    small = tmp_path / "MLmodel"
    small.write_text("flavors: {}\n")
    digest_of(small)
    digest_of(small)
    assert len(cache) == 2
    monkeypatch.setenv("MLCASK_DIGEST_CACHE", "0")
    file = big_file(tmp_path / "model.ubj")
    digest_of(file)
    digest_of(file)
    assert len(cache) == 4
