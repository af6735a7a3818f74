"""The model registry store, on SQLite and PostgreSQL (the ``store_uri`` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from mlcask.entities import ModelVersion, ModelVersionTag, RegisteredModelTag
from mlcask.exceptions import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    InvalidArgumentError,
    MlcaskException,
)
from mlcask.tracking.registry_store import PagedList, SqlRegistryStore
from mlcask.tracking.store import schema
from mlcask.tracking.store.db import engine_for


@pytest.fixture
def store(store_uri):
    return SqlRegistryStore(store_uri)


def raises(code, *fragments):
    """pytest.raises for an MlcaskException with ``code`` whose message holds every fragment."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(MlcaskException)
            self.info = self._ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self._ctx.__exit__(*exc)
            error = self.info.value
            assert error.error_code == code, error.message
            for fragment in fragments:
                assert fragment in error.message, (fragment, error.message)
            return suppressed

    return _Check()


def count(store_uri, table, **where):
    with engine_for(store_uri).connect() as conn:
        query = sa.select(sa.func.count()).select_from(table).where(*[table.c[k] == v for k, v in where.items()])
        return conn.execute(query).scalar()


def with_versions(store, name="m", n=3, **kwargs):
    store.create_registered_model(name)
    return [store.create_model_version(name, f"/models/{name}/{i}", **kwargs) for i in range(1, n + 1)]


# -- registered models --------------------------------------------------------------------------
def test_create_and_get_registered_model(store):
    created = store.create_registered_model("fraud", [RegisteredModelTag("team", "risk")], "Detects fraud")
    assert created.name == "fraud" and created.description == "Detects fraud"
    assert created.tags == {"team": "risk"} and created.aliases == {} and created.latest_versions == []
    assert created.creation_timestamp == created.last_updated_timestamp
    assert abs(created.creation_timestamp - time.time() * 1000) < 60_000
    got = store.get_registered_model("fraud")
    assert got == created


def test_create_registered_model_takes_a_tag_dict(store):
    assert store.create_registered_model("m", {"a": "1", "b": None}).tags == {"a": "1", "b": None}
    assert store.get_registered_model("m").tags == {"a": "1", "b": None}


def test_create_registered_model_twice_is_refused(store):
    store.create_registered_model("m")
    with raises(RESOURCE_ALREADY_EXISTS, "Registered Model (name=m) already exists"):
        store.create_registered_model("m", {"t": "v"})
    assert count(store.store_uri, schema.registered_model_tags) == 0


@pytest.mark.parametrize("name, fragment", [
    ("", "Missing value for required parameter 'name'"),
    ("   ", "Missing value for required parameter 'name'"),
    (None, "Missing value for required parameter 'name'"),
    ("a/b", "cannot contain '/' or ':'"),
    ("a:b", "cannot contain '/' or ':'"),
    ("..", "would resolve to"),
    ("x" * 257, "the limit is 256"),
])
def test_invalid_model_names_are_refused(store, name, fragment):
    with raises(INVALID_PARAMETER_VALUE, fragment):
        store.create_registered_model(name)
    with raises(INVALID_PARAMETER_VALUE, fragment):
        store.get_registered_model(name)


def test_invalid_tags_are_refused(store):
    with raises(INVALID_PARAMETER_VALUE, "Invalid tag key 'bad|key'"):
        store.create_registered_model("m", {"bad|key": "v"})
    with raises(INVALID_PARAMETER_VALUE, "tag 'k'", "5000"):
        store.create_registered_model("m", {"k": "x" * 5001})
    with raises(INVALID_PARAMETER_VALUE, "description", "5000"):
        store.create_registered_model("m", description="x" * 5001)
    assert count(store.store_uri, schema.registered_models) == 0


def test_get_missing_registered_model(store):
    with raises(RESOURCE_DOES_NOT_EXIST, "Registered Model with name=nope not found"):
        store.get_registered_model("nope")


def test_registered_model_shows_aliases_and_latest_version_per_stage(store):
    with_versions(store, n=4)
    store.transition_model_version_stage("m", 1, "Production")
    store.transition_model_version_stage("m", 2, "staging")
    store.set_registered_model_alias("m", "champion", 1)
    store.set_registered_model_alias("m", "challenger", "2")
    model = store.get_registered_model("m")
    assert model.aliases == {"challenger": "2", "champion": "1"}
    latest = {mv.current_stage: mv.version for mv in model.latest_versions}
    assert latest == {"Production": "1", "Staging": "2", "None": "4"}
    production = next(mv for mv in model.latest_versions if mv.version == "1")
    assert production.aliases == ["champion"]


def test_update_registered_model(store):
    created = store.create_registered_model("m", description="old")
    time.sleep(0.002)
    updated = store.update_registered_model("m", "new")
    assert updated.description == "new" and updated.last_updated_timestamp > created.last_updated_timestamp
    assert store.get_registered_model("m").description == "new"
    assert store.update_registered_model("m", None).description is None
    with raises(RESOURCE_DOES_NOT_EXIST, "name=nope not found"):
        store.update_registered_model("nope", "x")


def test_rename_registered_model_carries_versions_tags_and_aliases(store):
    with_versions(store, "old", n=2, tags={"k": "v"})
    store.set_registered_model_tag("old", RegisteredModelTag("team", "a"))
    store.set_registered_model_alias("old", "champion", 2)
    renamed = store.rename_registered_model("old", "new")
    assert renamed.name == "new" and renamed.tags == {"team": "a"} and renamed.aliases == {"champion": "2"}
    version = store.get_model_version("new", 2)
    assert version.name == "new" and version.tags == {"k": "v"} and version.aliases == ["champion"]
    assert store.get_model_version_by_alias("new", "champion").version == "2"
    assert store.create_model_version("new", "/x").version == "3"
    with raises(RESOURCE_DOES_NOT_EXIST, "name=old not found"):
        store.get_registered_model("old")
    assert count(store.store_uri, schema.model_versions, name="old") == 0


def test_rename_refusals(store):
    store.create_registered_model("a")
    store.create_registered_model("b")
    with raises(RESOURCE_ALREADY_EXISTS, "Cannot rename registered model 'a' to 'b'", "(name=b) already exists"):
        store.rename_registered_model("a", "b")
    with raises(RESOURCE_DOES_NOT_EXIST, "name=nope not found"):
        store.rename_registered_model("nope", "c")
    with raises(INVALID_PARAMETER_VALUE, "'new_name'"):
        store.rename_registered_model("a", "")
    with raises(INVALID_PARAMETER_VALUE, "cannot contain '/'"):
        store.rename_registered_model("a", "x/y")
    assert store.rename_registered_model("a", "a").name == "a"


def test_delete_registered_model_removes_everything(store):
    with_versions(store, n=2, tags={"k": "v"})
    store.set_registered_model_tag("m", RegisteredModelTag("t", "v"))
    store.set_registered_model_alias("m", "champion", 1)
    store.delete_registered_model("m")
    for table in (schema.registered_models, schema.model_versions, schema.model_version_tags,
                  schema.registered_model_tags, schema.registered_model_aliases):
        assert count(store.store_uri, table) == 0, table.name
    with raises(RESOURCE_DOES_NOT_EXIST, "name=m not found"):
        store.delete_registered_model("m")
    store.create_registered_model("m")
    assert store.create_model_version("m", "/again").version == "1"


def test_registered_model_tags(store):
    store.create_registered_model("m", {"a": "1"})
    store.set_registered_model_tag("m", RegisteredModelTag("a", "2"))
    store.set_registered_model_tag("m", RegisteredModelTag("b", "3"))
    assert store.get_registered_model("m").tags == {"a": "2", "b": "3"}
    store.delete_registered_model_tag("m", "a")
    store.delete_registered_model_tag("m", "never-set")
    assert store.get_registered_model("m").tags == {"b": "3"}
    with raises(RESOURCE_DOES_NOT_EXIST, "name=nope not found"):
        store.set_registered_model_tag("nope", RegisteredModelTag("a", "1"))
    with raises(RESOURCE_DOES_NOT_EXIST, "name=nope not found"):
        store.delete_registered_model_tag("nope", "a")
    with raises(INVALID_PARAMETER_VALUE, "../a"):
        store.set_registered_model_tag("m", RegisteredModelTag("../a", "1"))
    with raises(INVALID_PARAMETER_VALUE, "None"):
        store.delete_registered_model_tag("m", None)


def test_get_latest_versions(store):
    with_versions(store, n=5)
    store.transition_model_version_stage("m", 2, "Production")
    store.transition_model_version_stage("m", 3, "Staging")
    store.delete_model_version("m", 5)
    assert [(v.version, v.current_stage) for v in store.get_latest_versions("m")] == [
        ("2", "Production"), ("3", "Staging"), ("4", "None")]
    assert [v.version for v in store.get_latest_versions("m", ["production", "STAGING"])] == ["2", "3"]
    assert store.get_latest_versions("m", ["Archived"]) == []
    assert [v.version for v in store.get_latest_versions("m", [])] == ["2", "3", "4"]
    with raises(INVALID_PARAMETER_VALUE, "Invalid model version stage: 'Prod'", "Production"):
        store.get_latest_versions("m", ["Prod"])
    with raises(RESOURCE_DOES_NOT_EXIST, "name=nope not found"):
        store.get_latest_versions("nope")


# -- model versions -----------------------------------------------------------------------------
def test_create_model_version(store):
    model = store.create_registered_model("m")
    time.sleep(0.002)
    version = store.create_model_version("m", "s3://bucket/model", run_id="run1",
                                         tags=[ModelVersionTag("k", "v")], description="first", model_id="m-abc")
    assert isinstance(version, ModelVersion)
    assert (version.name, version.version, version.source, version.run_id, version.model_id) == (
        "m", "1", "s3://bucket/model", "run1", "m-abc")
    assert version.tags == {"k": "v"} and version.description == "first" and version.aliases == []
    assert version.status == "READY" and version.current_stage == "None"
    assert store.get_model_version("m", "1") == version
    bumped = store.get_registered_model("m")
    assert bumped.last_updated_timestamp == version.creation_timestamp > model.last_updated_timestamp
    assert [store.create_model_version("m", "/x").version for _ in range(2)] == ["2", "3"]


def test_create_model_version_needs_the_registered_model(store):
    with raises(RESOURCE_DOES_NOT_EXIST, "Registered Model with name=nope not found",
                "create_registered_model('nope')"):
        store.create_model_version("nope", "/x")
    assert count(store.store_uri, schema.model_versions) == 0


def test_create_model_version_refusals(store):
    store.create_registered_model("m")
    with raises(INVALID_PARAMETER_VALUE, "The value of tag 'k' cannot be None"):
        store.create_model_version("m", "/x", tags={"k": None})
    with raises(INVALID_PARAMETER_VALUE, "source", "non-empty"):
        store.create_model_version("m", "")
    with raises(INVALID_PARAMETER_VALUE, "The source", "500"):
        store.create_model_version("m", "/" + "x" * 500)
    assert count(store.store_uri, schema.model_versions) == 0
    assert store.create_model_version("m", "/ok").version == "1"


def test_get_model_version_refusals(store):
    with_versions(store, n=2)
    store.delete_model_version("m", 2)
    store.create_model_version("m", "/3")
    with raises(RESOURCE_DOES_NOT_EXIST, "Model Version (name=m, version=2) not found", "has versions 1, 3"):
        store.get_model_version("m", 2)
    with raises(RESOURCE_DOES_NOT_EXIST, "Model Version (name=m, version=9) not found"):
        store.get_model_version("m", "9")
    with raises(INVALID_PARAMETER_VALUE, "Parameter 'version' must be an integer, got 'one'"):
        store.get_model_version("m", "one")
    with raises(RESOURCE_DOES_NOT_EXIST, "no registered model named 'nope'"):
        store.get_model_version("nope", 1)
    store.create_registered_model("empty")
    with raises(RESOURCE_DOES_NOT_EXIST, "model 'empty' has no versions yet"):
        store.get_model_version("empty", 1)


def test_update_model_version(store):
    with_versions(store, n=1)
    before = store.get_registered_model("m").last_updated_timestamp
    time.sleep(0.002)
    updated = store.update_model_version("m", 1, "better")
    assert updated.description == "better" and updated.last_updated_timestamp > updated.creation_timestamp
    assert store.get_model_version("m", 1).description == "better"
    assert store.get_registered_model("m").last_updated_timestamp == before  # as MLflow: the model is not bumped
    with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=2) not found"):
        store.update_model_version("m", 2, "x")


def test_delete_model_version(store):
    with_versions(store, n=3, tags={"k": "v"})
    store.set_registered_model_alias("m", "champion", 3)
    store.set_registered_model_alias("m", "other", 1)
    time.sleep(0.002)
    store.delete_model_version("m", "3")
    with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=3) not found"):
        store.get_model_version("m", 3)
    model = store.get_registered_model("m")
    assert model.aliases == {"other": "1"}
    assert model.last_updated_timestamp > store.get_model_version("m", 1).creation_timestamp
    assert count(store.store_uri, schema.model_version_tags, version=3) == 0
    # As in MLflow a number is never reused: the next version is 4.
    assert store.create_model_version("m", "/4").version == "4"
    assert store.get_model_version_by_alias("m", "latest").version == "4"
    with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=3) not found"):
        store.delete_model_version("m", 3)
    for call in (lambda: store.update_model_version("m", 3, "x"),
                 lambda: store.set_model_version_tag("m", 3, ModelVersionTag("a", "b")),
                 lambda: store.set_registered_model_alias("m", "a", 3),
                 lambda: store.get_model_version_download_uri("m", 3),
                 lambda: store.transition_model_version_stage("m", 3, "Production")):
        with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=3) not found"):
            call()


def test_transition_model_version_stage(store):
    with_versions(store, n=3)
    store.transition_model_version_stage("m", 1, "Production")
    moved = store.transition_model_version_stage("m", 2, "production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert store.get_model_version("m", 1).current_stage == "Archived"
    with raises(INVALID_PARAMETER_VALUE, "archive_existing_versions=True needs an active stage"):
        store.transition_model_version_stage("m", 3, "Archived", archive_existing_versions=True)
    with raises(INVALID_PARAMETER_VALUE, "Invalid model version stage: 'Live'"):
        store.transition_model_version_stage("m", 3, "Live")


def test_model_version_tags(store):
    with_versions(store, n=1, tags={"a": "1"})
    store.set_model_version_tag("m", 1, ModelVersionTag("a", "2"))
    store.set_model_version_tag("m", "1", ModelVersionTag("b", "3"))
    assert store.get_model_version("m", 1).tags == {"a": "2", "b": "3"}
    store.delete_model_version_tag("m", 1, "a")
    store.delete_model_version_tag("m", 1, "never-set")
    assert store.get_model_version("m", 1).tags == {"b": "3"}
    with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=2) not found"):
        store.set_model_version_tag("m", 2, ModelVersionTag("a", "1"))
    with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=2) not found"):
        store.delete_model_version_tag("m", 2, "a")
    with raises(INVALID_PARAMETER_VALUE, "The value of tag 'a' cannot be None"):
        store.set_model_version_tag("m", 1, ModelVersionTag("a", None))
    with raises(INVALID_PARAMETER_VALUE, "Invalid tag key"):
        store.set_model_version_tag("m", 1, ModelVersionTag("a|b", "1"))


def test_concurrent_registrations_from_threads_are_numbered_without_gaps(store):
    store.create_registered_model("m")
    barrier = threading.Barrier(4)
    got: list[str] = []
    errors: list[BaseException] = []

    def register(worker):
        barrier.wait()
        for i in range(5):
            try:
                got.append(store.create_model_version("m", f"/w{worker}/{i}").version)
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=register, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(got, key=int) == [str(n) for n in range(1, 21)]
    assert store.get_model_version_by_alias("m", "latest").version == "20"


_WORKER = """
import os, sys, time
from mlcask.tracking.registry_store import SqlRegistryStore
uri, worker, go = sys.argv[1], sys.argv[2], sys.argv[3]
store = SqlRegistryStore(uri)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
print(" ".join(store.create_model_version("m", f"/p{worker}/{i}").version for i in range(5)))
"""


def test_concurrent_registrations_from_processes_are_numbered_without_gaps(store, tmp_path):
    store.create_registered_model("m")
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [subprocess.Popen([sys.executable, "-c", _WORKER, store.store_uri, str(w), str(go)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for w in range(4)]
    for process in processes:  # every process has imported mlcask and opened the store: start together
        assert process.stdout.readline().strip() == "ready", process.communicate(timeout=60)[1]
    go.touch()
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err
    got = [number for out, _ in outputs for number in out.split()]
    assert sorted(got, key=int) == [str(n) for n in range(1, 21)]


def _register_three(store):
    for _ in range(3):
        store.create_model_version("m", "/forked")
    assert store.get_model_version_by_alias("m", "latest").version == "4"


def test_a_forked_process_uses_its_own_connections(store):
    import multiprocessing

    with_versions(store, n=1)
    store.get_model_version("m", 1)  # the parent holds pooled connections
    child = multiprocessing.get_context("fork").Process(target=_register_three, args=(store,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert store.get_model_version_by_alias("m", "latest").version == "4"
    assert store.create_model_version("m", "/parent").version == "5"


# -- download URIs and copies -------------------------------------------------------------------
def _logged_model(store_uri, model_id, location, run_id="run7"):
    with engine_for(store_uri).begin() as conn:
        experiment_id = conn.execute(schema.experiments.insert().values(
            name=f"e-{model_id}", lifecycle_stage="active")).inserted_primary_key[0]
        conn.execute(schema.logged_models.insert().values(
            model_id=model_id, experiment_id=experiment_id, name="model", artifact_location=location,
            creation_timestamp_ms=1, last_updated_timestamp_ms=1, status="READY", lifecycle_stage="active",
            source_run_id=run_id))


def test_download_uri_of_a_plain_source(store):
    with_versions(store, n=1)
    assert store.get_model_version_download_uri("m", 1) == "/models/m/1"
    with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=5) not found"):
        store.get_model_version_download_uri("m", 5)


def test_version_from_a_logged_model(store):
    _logged_model(store.store_uri, "m-abc", "/artifacts/1/models/m-abc/artifacts")
    store.create_registered_model("m")
    version = store.create_model_version("m", "models:/m-abc", model_id="m-abc")
    assert version.run_id == "run7"  # taken from the logged model, as MLflow does
    assert version.source == "models:/m-abc"
    assert store.get_model_version_download_uri("m", 1) == "/artifacts/1/models/m-abc/artifacts"
    assert store.create_model_version("m", "/x", model_id="m-abc").run_id == "run7"
    assert store.create_model_version("m", "/x", run_id="mine", model_id="m-abc").run_id == "mine"


def test_version_from_a_missing_model_uri_is_refused(store):
    store.create_registered_model("m")
    with raises(RESOURCE_DOES_NOT_EXIST, "'models:/ghost/1' points at no model version"):
        store.create_model_version("m", "models:/ghost/1")


def test_copy_model_version(store):
    _logged_model(store.store_uri, "m-abc", "/artifacts/m-abc")
    store.create_registered_model("src")
    store.create_model_version("src", "/first")
    original = store.create_model_version("src", "models:/m-abc", run_id="r1", tags={"k": "v"},
                                          description="desc", model_id="m-abc")
    copy = store.copy_model_version(original, "dst")
    assert (copy.name, copy.version, copy.source) == ("dst", "1", "models:/src/2")
    assert (copy.run_id, copy.model_id, copy.tags, copy.description) == ("r1", "m-abc", {"k": "v"}, "desc")
    assert store.get_registered_model("dst").latest_versions[0].version == "1"
    assert store.get_model_version_download_uri("dst", 1) == "/artifacts/m-abc"
    assert store.copy_model_version(store.get_model_version("src", 1), "dst").version == "2"
    assert store.get_model_version_download_uri("dst", 2) == "/first"
    # A copy of a copy, and copies that outlive their source version.
    third = store.copy_model_version(store.get_model_version("dst", 2), "third")
    assert third.source == "models:/dst/2"
    store.delete_model_version("src", 1)
    assert store.get_model_version_download_uri("third", 1) == "/first"


def test_copy_of_a_missing_version_is_refused(store):
    store.create_registered_model("src")
    ghost = ModelVersion(name="src", version="7", creation_timestamp=0, last_updated_timestamp=0, source="/x")
    with raises(RESOURCE_DOES_NOT_EXIST, "Cannot copy version 7 of 'src' to 'dst'", "points at no model version"):
        store.copy_model_version(ghost, "dst")


# -- aliases ------------------------------------------------------------------------------------
def test_alias_set_get_move_delete(store):
    with_versions(store, n=3)
    store.set_registered_model_alias("m", "champion", 1)
    version = store.get_model_version_by_alias("m", "champion")
    assert (version.version, version.aliases, version.source) == ("1", ["champion"], "/models/m/1")
    store.set_registered_model_alias("m", "champion", "3")  # moves
    store.set_registered_model_alias("m", "backup", 3)
    moved = store.get_model_version_by_alias("m", "champion")
    assert moved.version == "3" and moved.aliases == ["backup", "champion"]
    assert store.get_model_version("m", 1).aliases == []
    store.delete_registered_model_alias("m", "champion")
    store.delete_registered_model_alias("m", "never-set")
    assert store.get_registered_model("m").aliases == {"backup": "3"}
    with raises(RESOURCE_DOES_NOT_EXIST, "alias champion not found on model 'm'", "backup -> version 3"):
        store.get_model_version_by_alias("m", "champion")


def test_alias_on_a_version_with_tags_reads_each_once(store):
    with_versions(store, n=1, tags={"a": "1", "b": "2", "c": "3"})
    for alias in ("x", "y"):
        store.set_registered_model_alias("m", alias, 1)
    version = store.get_model_version_by_alias("m", "y")
    assert version.tags == {"a": "1", "b": "2", "c": "3"} and version.aliases == ["x", "y"]


def test_latest_alias(store):
    with_versions(store, n=3)
    store.transition_model_version_stage("m", 2, "Production")
    assert store.get_model_version_by_alias("m", "latest").version == "3"
    assert store.get_model_version_by_alias("m", "LaTeSt").version == "3"
    store.create_registered_model("empty")
    with raises(RESOURCE_DOES_NOT_EXIST, "Latest version not found for model empty"):
        store.get_model_version_by_alias("empty", "latest")


@pytest.mark.parametrize("alias, fragment", [
    ("latest", "'latest' is reserved"), ("Latest", "is reserved"), ("v1", "'v1' is reserved"),
    ("V12", "'V12' is reserved"), ("", "cannot be empty"), ("has space", "Invalid alias name: 'has space'"),
    ("a.b", "Invalid alias name"), ("x" * 256, "the limit is 255"),
])
def test_invalid_aliases_are_refused(store, alias, fragment):
    with_versions(store, n=1)
    with raises(INVALID_PARAMETER_VALUE, fragment):
        store.set_registered_model_alias("m", alias, 1)


def test_alias_refusals(store):
    with_versions(store, n=1)
    store.set_registered_model_alias("m", "v1x", 1)  # only v<digits> is reserved
    store.set_registered_model_alias("m", "ok-Alias_2", 1)
    with raises(RESOURCE_DOES_NOT_EXIST, "(name=m, version=2) not found"):
        store.set_registered_model_alias("m", "a", 2)
    with raises(RESOURCE_DOES_NOT_EXIST, "no registered model named 'nope'"):
        store.set_registered_model_alias("nope", "a", 1)
    with raises(RESOURCE_DOES_NOT_EXIST, "name=nope not found"):
        store.delete_registered_model_alias("nope", "a")
    with raises(RESOURCE_DOES_NOT_EXIST, "name=nope not found"):
        store.get_model_version_by_alias("nope", "a")
    with raises(INVALID_PARAMETER_VALUE, "Invalid alias name"):
        store.get_model_version_by_alias("m", "a b")
    store.create_registered_model("bare")
    with raises(RESOURCE_DOES_NOT_EXIST, "alias a not found on model 'bare'", "Its aliases: none"):
        store.get_model_version_by_alias("bare", "a")


# -- search -------------------------------------------------------------------------------------
@pytest.fixture
def catalogue(store):
    for name, team in (("fraud-a", "risk"), ("fraud-b", "risk"), ("churn", "growth")):
        store.create_registered_model(name, {"team": team})
        for i in (1, 2):
            store.create_model_version(name, f"/m/{name}/{i}", run_id=f"run-{name}-{i}", tags={"n": str(i)})
    store.delete_model_version("churn", 2)
    return store


def test_search_registered_models(catalogue):
    result = catalogue.search_registered_models()
    assert isinstance(result, PagedList) and result.token is None
    assert [m.name for m in result] == ["churn", "fraud-a", "fraud-b"]
    assert result[1].tags == {"team": "risk"} and [v.version for v in result[1].latest_versions] == ["2"]
    assert [m.name for m in catalogue.search_registered_models("name LIKE 'fraud%'")] == ["fraud-a", "fraud-b"]
    assert [m.name for m in catalogue.search_registered_models("tags.team = 'growth'")] == ["churn"]
    assert [m.name for m in catalogue.search_registered_models(order_by=["name DESC"])] == [
        "fraud-b", "fraud-a", "churn"]


def test_search_registered_models_pages(catalogue):
    first = catalogue.search_registered_models(max_results=2)
    assert [m.name for m in first] == ["churn", "fraud-a"] and first.token
    second = catalogue.search_registered_models(max_results=2, page_token=first.token)
    assert [m.name for m in second] == ["fraud-b"] and second.token is None


def test_search_model_versions(catalogue):
    result = catalogue.search_model_versions("name = 'fraud-a'")
    assert [(v.name, v.version) for v in result] == [("fraud-a", "2"), ("fraud-a", "1")]
    assert result[0].tags == {"n": "2"} and result.token is None
    every = catalogue.search_model_versions()
    assert len(every) == 5 and ("churn", "2") not in [(v.name, v.version) for v in every]
    found = catalogue.search_model_versions("run_id IN ('run-churn-1', 'run-fraud-b-2')",
                                            order_by=["name ASC"])
    assert [(v.name, v.version) for v in found] == [("churn", "1"), ("fraud-b", "2")]
    assert [v.version for v in catalogue.search_model_versions("tags.n = '1' AND name = 'fraud-b'")] == ["1"]


def test_search_model_versions_pages(catalogue):
    seen, token = [], None
    while True:
        page = catalogue.search_model_versions(max_results=2, page_token=token, order_by=["name", "version_number"])
        seen += [(v.name, int(v.version)) for v in page]
        token = page.token
        if token is None:
            break
    assert seen == [("churn", 1), ("fraud-a", 1), ("fraud-a", 2), ("fraud-b", 1), ("fraud-b", 2)]


def test_search_refusals(catalogue):
    with pytest.raises(InvalidArgumentError):
        catalogue.search_registered_models("name ~ 'x'")
    with pytest.raises(InvalidArgumentError):
        catalogue.search_model_versions("nonsense = 1")
    with raises(INVALID_PARAMETER_VALUE, "max_results", "at most 1000"):
        catalogue.search_registered_models(max_results=1001)
    with raises(INVALID_PARAMETER_VALUE, "max_results", "positive integer"):
        catalogue.search_model_versions(max_results=0)
    with raises(INVALID_PARAMETER_VALUE, "Invalid page token"):
        catalogue.search_model_versions(page_token="not-a-token")
