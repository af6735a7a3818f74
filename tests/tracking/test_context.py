"""tracking.context: the URIs in effect, the current client, and refusals at set time."""

from __future__ import annotations

import os

import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking import context


@pytest.fixture
def clean(monkeypatch):
    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLCASK_REGISTRY_URI", "MLFLOW_REGISTRY_URI",
                 "MLCASK_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    context.reset()
    yield monkeypatch
    context.reset()


def test_set_beats_environment_beats_default(clean, tmp_path):
    assert context.get_tracking_uri().endswith("mlcask.db")
    clean.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert context.get_tracking_uri() == "http://127.0.0.1:5000"
    clean.setenv("MLCASK_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    assert context.get_tracking_uri() == f"sqlite:///{tmp_path / 'env.db'}"
    context.set_tracking_uri(f"sqlite:///{tmp_path / 'set.db'}")
    assert context.get_tracking_uri() == f"sqlite:///{tmp_path / 'set.db'}"
    context.reset()
    assert context.get_tracking_uri() == f"sqlite:///{tmp_path / 'env.db'}"


def test_registry_uri_follows_tracking_uri_unless_set(clean, tmp_path):
    context.set_tracking_uri(f"sqlite:///{tmp_path / 't.db'}")
    assert context.get_registry_uri() == f"sqlite:///{tmp_path / 't.db'}"
    clean.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{tmp_path / 'r.db'}")
    assert context.get_registry_uri() == f"sqlite:///{tmp_path / 'r.db'}"
    context.set_registry_uri(f"sqlite:///{tmp_path / 'r2.db'}")
    client = context.current_client()
    assert (client.tracking_uri, client.registry_uri) == (f"sqlite:///{tmp_path / 't.db'}",
                                                          f"sqlite:///{tmp_path / 'r2.db'}")


def test_current_client_is_reused_per_uri_pair(clean, tmp_path):
    context.set_tracking_uri(f"sqlite:///{tmp_path / 'a.db'}")
    first = context.current_client()
    assert context.current_client() is first
    context.set_tracking_uri(f"sqlite:///{tmp_path / 'b.db'}")
    assert context.current_client() is not first
    context.forget_clients()
    assert context.current_client().tracking_uri == f"sqlite:///{tmp_path / 'b.db'}"


@pytest.mark.parametrize("uri, message", [
    ("ftp://host/x", "scheme 'ftp:' is not supported"),
    ("http://", "a server URI needs a host"),
])
def test_bad_tracking_uri_is_refused_when_set(clean, uri, message):
    with pytest.raises(InvalidArgumentError, match=message):
        context.set_tracking_uri(uri)
    assert context.get_tracking_uri().endswith("mlcask.db")  # nothing changed


@pytest.mark.parametrize("root, message", [
    ("ftp://host/x", "Artifact root \\(MLCASK_ARTIFACT_ROOT\\) 'ftp://host/x': scheme 'ftp:' is not supported"),
    ("s3://b!/x", "expected a bucket name"),
    ("s3://bucket/../x", "key prefix"),
])
def test_bad_artifact_root_is_refused_when_the_uri_is_set(clean, tmp_path, root, message):
    clean.setenv("MLCASK_ARTIFACT_ROOT", root)
    with pytest.raises(InvalidArgumentError, match=message):
        context.set_tracking_uri(f"sqlite:///{tmp_path / 't.db'}")


def test_active_experiment_and_last_run_are_forgotten_by_reset(clean):
    context.set_active_experiment_id("7")
    context.set_last_active_run_id("abc")
    assert (context.active_experiment_id(), context.last_active_run_id()) == ("7", "abc")
    context.reset()
    assert (context.active_experiment_id(), context.last_active_run_id()) == (None, None)


def test_set_tracking_uri_none_forgets_it_and_unsets_the_environment(tmp_path, clean):
    uri = f"sqlite:///{tmp_path}/a.db"
    mlcask.set_tracking_uri(uri)
    assert os.environ["MLFLOW_TRACKING_URI"] == uri
    mlcask.set_tracking_uri(None)
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLCASK_TRACKING_URI" not in os.environ
    assert mlcask.get_tracking_uri() != uri


def test_set_tracking_uri_takes_a_path_as_a_file_uri(tmp_path, clean):
    mlcask.set_tracking_uri(tmp_path / "store")
    assert mlcask.get_tracking_uri() == (tmp_path / "store").as_uri()
