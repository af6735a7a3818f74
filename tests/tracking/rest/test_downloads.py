"""The private download cache of remote model folders (:mod:`mlcask.tracking.downloads`), exercised with
a local artifact folder as the "remote" (any repository serves): cached while unchanged, downloaded again
when changed, verified before it lands, private folders, never inside MLCASK_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, ModelNotFoundError
from mlcask.models.integrity import ModelIntegrityError
from mlcask.tracking import downloads


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache" / "models"
    monkeypatch.setenv("MLCASK_MODEL_CACHE", str(folder))
    return folder


@pytest.fixture
def saved_model(tmp_path):
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    model = LinearRegression().fit(X, X.sum(axis=1))
    folder = tmp_path / "remote" / "model"
    mlcask.sklearn.save_model(model, str(folder))
    return folder, X


def test_download_caches_and_follows_changes(cache, saved_model):
    folder, X = saved_model
    first = downloads.download_model(folder.as_uri())
    assert first.parent.parent == cache and (first / "MLmodel").is_file()
    assert (cache.stat().st_mode & 0o777) == 0o700 and (first.parent.stat().st_mode & 0o777) == 0o700
    assert downloads.download_model(folder.as_uri()) == first
    loaded = mlcask.sklearn.load_model(str(first))
    assert np.allclose(loaded.predict(X), X.sum(axis=1))
    # The remote model is saved again (new files and manifest): a new version is downloaded.
    mlcask.sklearn.save_model(mlcask.sklearn.load_model(str(folder)), str(folder.parent / "again"))
    os.rename(folder, folder.parent / "old")
    os.rename(folder.parent / "again", folder)
    second = downloads.download_model(folder.as_uri())
    assert second != first and second.parent == first.parent
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".staging-")]


def test_a_copy_that_does_not_match_its_manifest_is_not_cached(cache, saved_model):
    folder, _ = saved_model
    (folder / "requirements.txt").write_text("something-else==1\n")
    with pytest.raises(ModelIntegrityError):
        downloads.download_model(folder.as_uri())
    entry = downloads.model_cache_folder(folder.as_uri())
    assert list(entry.iterdir()) == []


def test_not_a_model(cache, tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("a")
    with pytest.raises(ModelNotFoundError, match="no MLmodel"):
        downloads.download_model((tmp_path / "files").as_uri())


def test_cache_inside_mlcask_home_is_refused(monkeypatch, saved_model):
    folder, _ = saved_model
    monkeypatch.setenv("MLCASK_MODEL_CACHE", str(Path(os.environ["MLCASK_HOME"]) / "models"))
    with pytest.raises(InvalidArgumentError, match="mlcask home"):
        downloads.download_model(folder.as_uri())


def test_a_linked_cache_folder_is_refused(tmp_path, monkeypatch, saved_model):
    folder, _ = saved_model
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "linked")
    monkeypatch.setenv("MLCASK_MODEL_CACHE", str(tmp_path / "linked"))
    with pytest.raises(downloads.UnsafeCacheError, match="not a real folder"):
        downloads.download_model(folder.as_uri())


def test_default_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("MLCASK_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert downloads.cache_root() == tmp_path / "xdg" / "mlcask" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert downloads.cache_root() == Path.home() / ".cache" / "mlcask" / "models"


def test_entries_are_keyed_by_uri_and_server():
    a = downloads.model_cache_folder("mlflow-artifacts:/1/m/artifacts", "http://one:5000")
    b = downloads.model_cache_folder("mlflow-artifacts:/1/m/artifacts", "http://two:5000")
    c = downloads.model_cache_folder("mlflow-artifacts:/1/m/artifacts", "http://user:pw@one:5000")
    assert a != b and a == c
