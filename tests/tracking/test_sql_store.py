"""SqlTrackingStore on SQLite and PostgreSQL: every method, every rule, every error message."""

from __future__ import annotations

import math
import re
import sys
import time

import pytest
import sqlalchemy as sa

from mlcask.entities import (
    Dataset,
    DatasetInput,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModelStatus,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlcask.exceptions import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    InvalidArgumentError,
    MlcaskException,
)
from mlcask.tracking.store import schema
from mlcask.tracking.store.db import DatabaseError, engine_for
from mlcask.tracking.store.sql_store import PagedList, SqlTrackingStore

NAME_RE = re.compile(r"^[a-z]+-[a-z]+-\d{1,3}$")


@pytest.fixture
def store(store_uri, artifact_root):
    return SqlTrackingStore(store_uri, str(artifact_root))


@pytest.fixture
def run_id(store):
    return store.create_run("0", "ann", 1000, [], "r").info.run_id


def rows(store, table, **where):
    statement = sa.select(table).where(*[table.c[k] == v for k, v in where.items()])
    with engine_for(store.store_uri).connect() as connection:
        return [dict(r._mapping) for r in connection.execute(statement)]


def raises(error_code, message):
    """pytest.raises for an MlcaskException with this code and message fragment."""
    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(MlcaskException)
            self.info = self._ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self._ctx.__exit__(*exc)
            assert message in str(self.info.value), str(self.info.value)
            assert self.info.value.error_code == error_code
            return handled
    return _Check()


# -- experiments ----------------------------------------------------------------------------------
def test_default_experiment(store, store_uri, artifact_root):
    default = store.get_experiment("0")
    assert (default.experiment_id, default.name, default.lifecycle_stage) == ("0", "Default", "active")
    assert default.artifact_location == f"{artifact_root}/0"
    assert store.get_experiment(None).experiment_id == "0"
    SqlTrackingStore(store_uri, str(artifact_root))  # a second store does not add another
    assert len(rows(store, schema.experiments)) == 1


def test_create_and_get_experiment(store, artifact_root):
    experiment_id = store.create_experiment("fraud", tags={"team": "risk"})
    assert experiment_id == "1"
    experiment = store.get_experiment(experiment_id)
    assert experiment.name == "fraud"
    assert experiment.artifact_location == f"{artifact_root}/1"
    assert experiment.tags == {"team": "risk"}
    assert experiment.creation_time == experiment.last_update_time > 0
    assert store.get_experiment_by_name("fraud") == experiment
    assert store.get_experiment_by_name("nope") is None
    other = store.create_experiment("other", "s3://bucket/x", [ExperimentTag("a", "1"), ExperimentTag("b", "2")])
    assert store.get_experiment(other).artifact_location == "s3://bucket/x"
    assert store.get_experiment(other).tags == {"a": "1", "b": "2"}


def test_relative_artifact_location_becomes_absolute(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    experiment_id = store.create_experiment("rel", "arts")
    assert store.get_experiment(experiment_id).artifact_location == str(tmp_path / "arts")


def test_create_experiment_errors(store):
    store.create_experiment("taken")
    with raises(RESOURCE_ALREADY_EXISTS, "Experiment(name=taken) already exists."):
        store.create_experiment("taken")
    gone = store.create_experiment("gone")
    store.delete_experiment(gone)
    with raises(RESOURCE_ALREADY_EXISTS, "a deleted experiment has this name. Restore it"):
        store.create_experiment("gone")
    with raises(INVALID_PARAMETER_VALUE, "an experiment needs a non-empty name"):
        store.create_experiment("")
    with raises(INVALID_PARAMETER_VALUE, "cannot be a runs:/ URI"):
        store.create_experiment("x", "runs:/abc/artifacts")
    with raises(INVALID_PARAMETER_VALUE, "Invalid experiment tag key 'bad!'"):
        store.create_experiment("x", tags={"bad!": "1"})
    with raises(INVALID_PARAMETER_VALUE, "Experiment tags must be a dict or a list"):
        store.create_experiment("x", tags=5)
    assert store.get_experiment_by_name("x") is None  # nothing half-created


def test_get_experiment_errors(store):
    with raises(RESOURCE_DOES_NOT_EXIST, "No Experiment with id=42 exists."):
        store.get_experiment("42")
    with raises(INVALID_PARAMETER_VALUE, "Invalid experiment id 'abc'"):
        store.get_experiment("abc")


def test_delete_and_restore_experiment(store):
    experiment_id = store.create_experiment("e")
    run_a = store.create_run(experiment_id, "u", 1, [], "a").info.run_id
    run_b = store.create_run(experiment_id, "u", 2, [], "b").info.run_id
    store.delete_experiment(experiment_id)
    assert store.get_experiment(experiment_id).lifecycle_stage == "deleted"
    for run in (run_a, run_b):
        assert store.get_run(run).info.lifecycle_stage == "deleted"
        assert rows(store, schema.runs, run_uuid=run)[0]["deleted_time"] > 0
    with raises(INVALID_PARAMETER_VALUE, f"Experiment {experiment_id} ('e') is already deleted."):
        store.delete_experiment(experiment_id)
    with raises(INVALID_PARAMETER_VALUE, "Cannot create a run in experiment 1 ('e'): it is deleted"):
        store.create_run(experiment_id, "u", 3, [], None)
    store.restore_experiment(experiment_id)
    assert store.get_experiment(experiment_id).lifecycle_stage == "active"
    assert store.get_run(run_a).info.lifecycle_stage == "active"
    assert rows(store, schema.runs, run_uuid=run_a)[0]["deleted_time"] is None
    with raises(INVALID_PARAMETER_VALUE, "is not deleted; only a deleted experiment can be restored"):
        store.restore_experiment(experiment_id)
    with raises(RESOURCE_DOES_NOT_EXIST, "No Experiment with id=9 exists."):
        store.delete_experiment("9")
    with raises(RESOURCE_DOES_NOT_EXIST, "No Experiment with id=9 exists."):
        store.restore_experiment("9")


def test_rename_experiment(store):
    experiment_id = store.create_experiment("old")
    store.create_experiment("taken")
    store.rename_experiment(experiment_id, "new")
    assert store.get_experiment(experiment_id).name == "new"
    store.rename_experiment(experiment_id, "new")  # same name: nothing to do
    with raises(RESOURCE_ALREADY_EXISTS, "Experiment(name=taken) already exists."):
        store.rename_experiment(experiment_id, "taken")
    with raises(INVALID_PARAMETER_VALUE, "Invalid experiment name"):
        store.rename_experiment(experiment_id, "")
    store.delete_experiment(experiment_id)
    with raises(INVALID_PARAMETER_VALUE, "Cannot rename it: experiment 1 ('new') is deleted"):
        store.rename_experiment(experiment_id, "newer")


def test_experiment_tags(store):
    experiment_id = store.create_experiment("e")
    store.set_experiment_tag(experiment_id, ExperimentTag("k", "v1"))
    store.set_experiment_tag(experiment_id, ExperimentTag("k", "v2"))
    assert store.get_experiment(experiment_id).tags == {"k": "v2"}
    store.delete_experiment_tag(experiment_id, "k")
    assert store.get_experiment(experiment_id).tags == {}
    with raises(RESOURCE_DOES_NOT_EXIST, "No tag with name: k in experiment with id 1."):
        store.delete_experiment_tag(experiment_id, "k")
    with raises(INVALID_PARAMETER_VALUE, "Experiment tag 'k' value 'x"):
        store.set_experiment_tag(experiment_id, ExperimentTag("k", "x" * 5001))
    with raises(RESOURCE_DOES_NOT_EXIST, "No Experiment with id=7 exists."):
        store.set_experiment_tag("7", ExperimentTag("k", "v"))
    store.delete_experiment(experiment_id)
    with raises(INVALID_PARAMETER_VALUE, "Cannot set tag 'k': experiment 1 ('e') is deleted"):
        store.set_experiment_tag(experiment_id, ExperimentTag("k", "v"))


def test_search_experiments(store):
    for name in ("a", "b", "c"):
        store.create_experiment(name, tags={"kind": "letter"})
    store.delete_experiment(store.get_experiment_by_name("c").experiment_id)
    assert [e.name for e in store.search_experiments(order_by=["name ASC"])] == ["Default", "a", "b"]
    assert [e.name for e in store.search_experiments(ViewType.DELETED_ONLY)] == ["c"]
    assert len(store.search_experiments(ViewType.ALL)) == 4
    found = store.search_experiments(filter_string="tags.kind = 'letter'", order_by=["name DESC"])
    assert [e.name for e in found] == ["b", "a"]
    assert found[0].tags == {"kind": "letter"}
    first = store.search_experiments(max_results=2, order_by=["name ASC"])
    assert isinstance(first, PagedList) and [e.name for e in first] == ["Default", "a"] and first.token
    second = store.search_experiments(max_results=2, order_by=["name ASC"], page_token=first.token)
    assert [e.name for e in second] == ["b"] and second.token is None
    with raises(INVALID_PARAMETER_VALUE, "max_results: it must be at most 50000"):
        store.search_experiments(max_results=50001)
    with raises(INVALID_PARAMETER_VALUE, "Invalid page token 'garbage'"):
        store.search_experiments(page_token="garbage")
    with pytest.raises(InvalidArgumentError):
        store.search_experiments(filter_string="name ~~ 'a'")


# -- runs -----------------------------------------------------------------------------------------
def test_create_run(store, artifact_root):
    experiment_id = store.create_experiment("e")
    run = store.create_run(experiment_id, "ann", 1234, [RunTag("team", "core")], "first")
    info = run.info
    assert re.fullmatch(r"[0-9a-f]{32}", info.run_id) and info.run_uuid == info.run_id
    assert (info.experiment_id, info.run_name, info.user_id, info.status, info.start_time, info.end_time) == (
        experiment_id, "first", "ann", "RUNNING", 1234, None)
    assert info.artifact_uri == f"{artifact_root}/1/{info.run_id}/artifacts"
    assert info.lifecycle_stage == "active"
    assert run.data.tags == {"team": "core", "mlflow.runName": "first"}
    assert store.get_run(info.run_id) == run


def test_create_run_names(store):
    generated = store.create_run("0", "u", 1, [], None)
    assert NAME_RE.match(generated.info.run_name), generated.info.run_name
    assert generated.data.tags["mlflow.runName"] == generated.info.run_name
    from_tag = store.create_run("0", "u", 1, {"mlflow.runName": "tagged"}, None)
    assert from_tag.info.run_name == "tagged"
    same = store.create_run("0", "u", 1, [RunTag("mlflow.runName", "x")], "x")
    assert same.info.run_name == "x"
    with raises(INVALID_PARAMETER_VALUE, "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                                         "different values (run_name='a', mlflow.runName='b')."):
        store.create_run("0", "u", 1, [RunTag("mlflow.runName", "b")], "a")
    with raises(INVALID_PARAMETER_VALUE, "Run name 'n"):
        store.create_run("0", "u", 1, [], "n" * 251)
    before = int(time.time() * 1000)
    assert store.create_run(None, None, None, None, None).info.start_time >= before  # defaults: "0", now


def test_create_run_errors(store):
    with raises(RESOURCE_DOES_NOT_EXIST, "No Experiment with id=5 exists."):
        store.create_run("5", "u", 1, [], None)
    with raises(INVALID_PARAMETER_VALUE, "Invalid tag key 'no*way'"):
        store.create_run("0", "u", 1, [RunTag("no*way", "x")], None)
    with raises(INVALID_PARAMETER_VALUE, "Run start_time must be a non-negative number of milliseconds"):
        store.create_run("0", "u", -1, [], None)
    with raises(INVALID_PARAMETER_VALUE, "A user id must be a string, got int 3"):
        store.create_run("0", 3, 1, [], None)
    with raises(INVALID_PARAMETER_VALUE, "Invalid experiment id 'x'"):
        store.create_run("x", "u", 1, [], None)
    assert rows(store, schema.runs) == []


def test_get_run_unknown(store):
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=deadbeef not found."):
        store.get_run("deadbeef")


def test_update_run_info(store, run_id):
    info = store.update_run_info(run_id, RunStatus.FINISHED, 5000, None)
    assert (info.status, info.end_time, info.run_name) == ("FINISHED", 5000, "r")
    assert store.get_run(run_id).info == info
    info = store.update_run_info(run_id, 4, None, "renamed")  # MLflow's enum number for FAILED
    assert (info.status, info.end_time, info.run_name) == ("FAILED", 5000, "renamed")
    assert store.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
    assert store.update_run_info(run_id, None, None, None) == info
    with raises(INVALID_PARAMETER_VALUE, "Invalid run status 'DONE': it must be one of RUNNING, SCHEDULED, FINISHED"):
        store.update_run_info(run_id, "DONE", None, None)
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=nope not found."):
        store.update_run_info("nope", "FINISHED", 1, None)
    with raises(INVALID_PARAMETER_VALUE, "Run end_time must be an integer (64-bit), got str 'later'"):
        store.update_run_info(run_id, None, "later", None)
    store.delete_run(run_id)
    with raises(INVALID_PARAMETER_VALUE, f"Cannot update run {run_id}: it is deleted; it must be in the 'active' "
                                         "state"):
        store.update_run_info(run_id, "FINISHED", 1, None)


def test_delete_and_restore_run(store, run_id):
    store.delete_run(run_id)
    assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    assert rows(store, schema.runs, run_uuid=run_id)[0]["deleted_time"] > 0
    store.restore_run(run_id)
    assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert rows(store, schema.runs, run_uuid=run_id)[0]["deleted_time"] is None
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=zzz not found."):
        store.delete_run("zzz")
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=zzz not found."):
        store.restore_run("zzz")


# -- metrics --------------------------------------------------------------------------------------
def test_log_metric_and_latest_value(store, run_id):
    store.log_metric(run_id, Metric("loss", 1.0, 100, 0))
    store.log_metric(run_id, Metric("loss", 0.8, 50, 1))     # higher step wins, even if older
    assert store.get_run(run_id).data.metrics == {"loss": 0.8}
    store.log_metric(run_id, Metric("loss", 0.9, 10, 0))     # lower step: not the latest
    store.log_metric(run_id, Metric("loss", 0.7, 60, 1))     # same step, later timestamp wins
    assert store.get_run(run_id).data.metrics == {"loss": 0.7}
    store.log_metric(run_id, Metric("loss", 0.6, 60, 1))     # same step and time: higher value wins (MLflow)
    assert store.get_run(run_id).data.metrics == {"loss": 0.7}
    store.log_metric(run_id, Metric("loss", 0.75, 60, 1))
    assert store.get_run(run_id).data.metrics == {"loss": 0.75}
    history = store.get_metric_history(run_id, "loss")
    assert [(m.value, m.timestamp, m.step) for m in history] == [
        (0.9, 10, 0), (1.0, 100, 0), (0.8, 50, 1), (0.7, 60, 1), (0.6, 60, 1), (0.75, 60, 1)]
    assert all(m.key == "loss" and m.run_id == run_id for m in history)
    assert store.get_metric_history(run_id, "never") == []


def test_nan_and_inf(store, run_id):
    store.log_metric(run_id, Metric("nan", math.nan, 1, 0))
    store.log_metric(run_id, Metric("inf", math.inf, 1, 0))
    store.log_metric(run_id, Metric("ninf", -math.inf, 1, 0))
    metrics = store.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == sys.float_info.max and metrics["ninf"] == -sys.float_info.max
    stored = rows(store, schema.metrics, key="nan")[0]
    assert (stored["value"], stored["is_nan"]) == (0.0, True)
    latest = rows(store, schema.latest_metrics, key="nan")[0]
    assert (latest["value"], latest["is_nan"]) == (0.0, True)
    assert math.isnan(store.get_metric_history(run_id, "nan")[0].value)
    store.log_metric(run_id, Metric("nan", 2.0, 1, 1))
    assert store.get_run(run_id).data.metrics["nan"] == 2.0


def test_metric_types(store, run_id):
    import numpy as np

    store.log_metric(run_id, Metric("int", 3, 1, 0))
    store.log_metric(run_id, Metric("np", np.float32(0.5), np.int64(2), np.int64(1)))
    store.log_metric(run_id, Metric("floats", 1.5, 1.7e12, 2.0))
    metrics = store.get_run(run_id).data.metrics
    assert metrics == {"int": 3.0, "np": 0.5, "floats": 1.5}
    assert type(metrics["int"]) is float
    (stored,) = store.get_metric_history(run_id, "floats")
    assert (stored.timestamp, stored.step) == (1_700_000_000_000, 2)


@pytest.mark.parametrize("metric, message", [
    (Metric("acc", "abc", 1, 0), "Metric 'acc' value must be a number (a 64-bit float), got str 'abc' (timestamp=1). "
                                "Please specify value as a valid double (64-bit floating point)."),
    (Metric("acc", True, 1, 0), "got bool True"),
    (Metric("acc", None, 1, 0), "got None"),
    (Metric("a*c", 1.0, 1, 0), "Invalid metric key 'a*c'"),
    (Metric("../acc", 1.0, 1, 0), "resolves to '../acc'"),
    (Metric("acc", 1.0, -5, 0), "timestamp must be a non-negative number of milliseconds since the epoch, got -5"),
    (Metric("acc", 1.0, 1, "x"), "Metric 'acc' step must be an integer (64-bit), got str 'x'"),
    (Metric("acc", 1.0, 2**63, 0), "Metric 'acc' timestamp must fit in a 64-bit integer, got 9223372036854775808"),
    (Metric("acc", 1.0, 1, -(2**63) - 1), "Metric 'acc' step must fit in a 64-bit integer"),
])
def test_log_metric_refused(store, run_id, metric, message):
    with raises(INVALID_PARAMETER_VALUE, message):
        store.log_metric(run_id, metric)
    assert rows(store, schema.metrics) == []


def test_log_metric_to_unknown_deleted_and_finished_runs(store, run_id):
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=missing not found."):
        store.log_metric("missing", Metric("m", 1.0, 1, 0))
    store.update_run_info(run_id, RunStatus.FINISHED, 10, None)
    store.log_metric(run_id, Metric("m", 1.0, 1, 0))  # MLflow allows logging to finished runs
    store.delete_run(run_id)
    with raises(INVALID_PARAMETER_VALUE, f"Cannot log metrics: run {run_id} is deleted; it must be in the 'active' "
                                         "state (restore it with restore_run first)."):
        store.log_metric(run_id, Metric("m", 2.0, 2, 1))
    with raises(INVALID_PARAMETER_VALUE, "is deleted"):
        store.log_batch(run_id, metrics=[Metric("m", 2.0, 2, 1)])
    assert len(rows(store, schema.metrics)) == 1
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=missing not found."):
        store.get_metric_history("missing", "m")


def test_metric_history_pages_and_extra_fields(store, run_id):
    store.log_batch(run_id, metrics=[Metric("m", float(i), 1000 + i, i, model_id="m-1", dataset_name="train",
                                            dataset_digest="abc") for i in range(5)])
    first = store.get_metric_history(run_id, "m", max_results=3)
    assert [m.step for m in first] == [0, 1, 2] and first.token
    second = store.get_metric_history(run_id, "m", max_results=3, page_token=first.token)
    assert [m.step for m in second] == [3, 4] and second.token is None
    assert (first[0].model_id, first[0].dataset_name, first[0].dataset_digest) == ("m-1", "train", "abc")


def test_duplicate_metrics(store, run_id):
    same = Metric("m", 1.0, 5, 0)
    store.log_batch(run_id, metrics=[same, same, Metric("m", 2.0, 5, 0)])  # exact duplicates in a call: one row
    assert len(rows(store, schema.metrics)) == 2
    store.log_metric(run_id, same)  # in another call it is a new row (mlcask keeps every call)
    assert len(rows(store, schema.metrics)) == 3
    assert store.get_run(run_id).data.metrics == {"m": 2.0}


# -- params and tags ------------------------------------------------------------------------------
def test_log_param(store, run_id):
    store.log_param(run_id, Param("lr", "0.1"))
    store.log_param(run_id, Param("lr", "0.1"))  # same value: nothing to do
    with raises(INVALID_PARAMETER_VALUE, "Changing param values is not allowed: param with key='lr' was already "
                                         "logged with value='0.1', attempted new value '0.2' "
                                         f"(run ID='{run_id}')"):
        store.log_param(run_id, Param("lr", "0.2"))
    store.log_param(run_id, Param("long", "x" * 7000))  # truncated to 6000, as MLflow
    assert store.get_run(run_id).data.params == {"lr": "0.1", "long": "x" * 6000}
    with raises(INVALID_PARAMETER_VALUE, "Param 'n' value must be a string, got int 1"):
        store.log_param(run_id, Param("n", 1))
    with raises(INVALID_PARAMETER_VALUE, "Invalid param key 'a,b'"):
        store.log_param(run_id, Param("a,b", "1"))
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=gone not found."):
        store.log_param("gone", Param("a", "1"))
    store.delete_run(run_id)
    with raises(INVALID_PARAMETER_VALUE, f"Cannot log param 'x': run {run_id} is deleted"):
        store.log_param(run_id, Param("x", "1"))


def test_set_and_delete_tag(store, run_id):
    store.set_tag(run_id, RunTag("k", "v1"))
    store.set_tag(run_id, RunTag("k", "v2"))
    assert store.get_run(run_id).data.tags["k"] == "v2"
    store.set_tag(run_id, RunTag("mlflow.runName", "via-tag"))
    run = store.get_run(run_id)
    assert run.info.run_name == "via-tag" and run.data.tags["mlflow.runName"] == "via-tag"
    store.delete_tag(run_id, "k")
    assert "k" not in store.get_run(run_id).data.tags
    with raises(RESOURCE_DOES_NOT_EXIST, f"No tag with name: k in run with id {run_id}."):
        store.delete_tag(run_id, "k")
    store.set_tag(run_id, RunTag("big", "b" * 9000))
    assert store.get_run(run_id).data.tags["big"] == "b" * 8000
    with raises(INVALID_PARAMETER_VALUE, "Invalid tag key '/abs'"):
        store.set_tag(run_id, RunTag("/abs", "x"))
    store.delete_run(run_id)
    with raises(INVALID_PARAMETER_VALUE, "is deleted"):
        store.set_tag(run_id, RunTag("k", "v"))
    with raises(INVALID_PARAMETER_VALUE, f"Cannot delete tag 'big': run {run_id} is deleted"):
        store.delete_tag(run_id, "big")


# -- log_batch ------------------------------------------------------------------------------------
def test_log_batch(store, run_id):
    metrics = [Metric(f"m{i % 10}", float(i), 1000 + i, i) for i in range(900)]
    store.log_batch(run_id, metrics, [Param("p", "1"), Param("q", "2")],
                    [RunTag("t", "a"), RunTag("t", "b"), RunTag("mlflow.runName", "batch")])
    run = store.get_run(run_id)
    assert len(rows(store, schema.metrics)) == 900
    assert run.data.metrics == {f"m{k}": float(890 + k) for k in range(10)}
    assert run.data.params == {"p": "1", "q": "2"}
    assert run.data.tags["t"] == "b"  # the last value of a repeated key wins
    assert run.info.run_name == "batch"
    store.log_batch(run_id, [], [Param("p", "1")], [])  # re-logging the same param value is fine
    store.log_batch(run_id)


def test_log_batch_is_all_or_nothing(store, run_id):
    store.log_param(run_id, Param("p", "1"))
    with raises(INVALID_PARAMETER_VALUE, "param with key='p' was already logged with value='1', attempted new "
                                         "value '2'"):
        store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("new", "x"), Param("p", "2")], [RunTag("t", "x")])
    run = store.get_run(run_id)
    assert run.data.metrics == {} and run.data.params == {"p": "1"} and "t" not in run.data.tags
    assert rows(store, schema.metrics) == []
    with raises(INVALID_PARAMETER_VALUE, "Metric 'm' value must be a number"):
        store.log_batch(run_id, [Metric("ok", 1.0, 1, 0), Metric("m", "x", 1, 0)], [], [])
    assert rows(store, schema.metrics) == []


def test_log_batch_refusals(store, run_id):
    with raises(INVALID_PARAMETER_VALUE, "A batch can log at most 1000 metrics, got 1001"):
        store.log_batch(run_id, [Metric("m", 1.0, 1, i) for i in range(1001)], [], [])
    with raises(INVALID_PARAMETER_VALUE, "at most 100 params, got 101"):
        store.log_batch(run_id, [], [Param(f"p{i}", "1") for i in range(101)], [])
    with raises(INVALID_PARAMETER_VALUE, "Duplicate param keys in one batch: ['p']"):
        store.log_batch(run_id, [], [Param("p", "1"), Param("p", "1")], [])
    with raises(INVALID_PARAMETER_VALUE, "Invalid run id 'not a run'"):
        store.log_batch("not a run", [Metric("m", 1.0, 1, 0)], [], [])
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=abc not found."):
        store.log_batch("abc", [Metric("m", 1.0, 1, 0)], [], [])
    with raises(INVALID_PARAMETER_VALUE, "params must be Param objects, got str 'p'"):
        store.log_batch(run_id, [], ["p"], [])
    with raises(INVALID_PARAMETER_VALUE, "metrics must be Metric objects, got tuple ('m', 1.0)"):
        store.log_batch(run_id, [("m", 1.0)], [], [])
    with raises(INVALID_PARAMETER_VALUE, "Run name 'n"):
        store.log_batch(run_id, [], [], [RunTag("mlflow.runName", "n" * 300)])


# -- inputs ---------------------------------------------------------------------------------------
def _input(name, digest="d1", context="training"):
    dataset = Dataset(name, digest, "local", f'{{"uri": "/data/{name}"}}', schema='{"a": 1}', profile='{"rows": 3}')
    return DatasetInput(dataset, [InputTag("mlflow.data.context", context)] if context else [])


def test_log_inputs(store, run_id):
    store.log_inputs(run_id, [_input("iris"), _input("wine", context=None), _input("iris")], models=["m-abc"])
    store.log_inputs(run_id, [_input("iris", context="eval")])  # already linked: left as it was
    inputs = store.get_run(run_id).inputs
    assert [(d.dataset.name, [(t.key, t.value) for t in d.tags]) for d in inputs.dataset_inputs] == [
        ("iris", [("mlflow.data.context", "training")]), ("wine", [])]
    iris = inputs.dataset_inputs[0].dataset
    assert (iris.digest, iris.source_type, iris.schema, iris.profile) == ("d1", "local", '{"a": 1}', '{"rows": 3}')
    assert inputs.model_inputs == ["m-abc"]
    other = store.create_run("0", "u", 2, [], "other").info.run_id
    store.log_inputs(other, [_input("iris", context="eval"), _input("iris", "d2")])
    assert len(rows(store, schema.datasets)) == 3  # one per (experiment, name, digest)
    assert [(d.dataset.digest, d.tags[0].value) for d in store.get_run(other).inputs.dataset_inputs] == [
        ("d1", "eval"), ("d2", "training")]


def test_log_inputs_refusals(store, run_id):
    with raises(INVALID_PARAMETER_VALUE, "Dataset digest must be given, got None"):
        store.log_inputs(run_id, [DatasetInput(Dataset("x", None, "local", "/x"))])
    with raises(INVALID_PARAMETER_VALUE, "Input tag 'k' value"):
        store.log_inputs(run_id, [DatasetInput(Dataset("x", "d", "local", "/x"), [InputTag("k", "v" * 501)])])
    with raises(INVALID_PARAMETER_VALUE, "datasets must be a list of DatasetInput, got DatasetInput"):
        store.log_inputs(run_id, _input("x"))
    with raises(INVALID_PARAMETER_VALUE, "models must be logged model ids (strings), got 5"):
        store.log_inputs(run_id, models=[5])
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=gone not found."):
        store.log_inputs("gone", [_input("x")])
    store.delete_run(run_id)
    with raises(INVALID_PARAMETER_VALUE, "Cannot log inputs"):
        store.log_inputs(run_id, [_input("x")])
    assert rows(store, schema.datasets) == []


# -- search_runs ----------------------------------------------------------------------------------
def test_search_runs(store):
    experiment_id = store.create_experiment("s")
    made = []
    for i in range(5):
        run_id = store.create_run(experiment_id, "u", 1000 + i, [RunTag("parity", "even" if i % 2 == 0 else "odd")],
                                  f"run{i}").info.run_id
        store.log_batch(run_id, [Metric("acc", i / 10, 1, 0)], [Param("i", str(i))], [])
        made.append(run_id)
    store.log_inputs(made[0], [_input("iris")])
    store.delete_run(made[4])
    found = store.search_runs([experiment_id])
    assert [r.info.run_id for r in found] == made[3::-1]  # newest first
    assert found[3].data.metrics == {"acc": 0.0} and found[3].data.params == {"i": "0"}
    assert found[3].data.tags["parity"] == "even" and found[3].inputs.dataset_inputs[0].dataset.name == "iris"
    even = store.search_runs([experiment_id], "tags.parity = 'even'", order_by=["metrics.acc DESC"])
    assert [r.info.run_name for r in even] == ["run2", "run0"]
    assert [r.info.run_name for r in store.search_runs([experiment_id], "", ViewType.DELETED_ONLY)] == ["run4"]
    assert len(store.search_runs([experiment_id, "0"], run_view_type=ViewType.ALL)) == 5
    page = store.search_runs([experiment_id], max_results=3, order_by=["params.i ASC"])
    assert [r.info.run_name for r in page] == ["run0", "run1", "run2"] and page.token
    rest = store.search_runs([experiment_id], max_results=3, order_by=["params.i ASC"], page_token=page.token)
    assert [r.info.run_name for r in rest] == ["run3"] and rest.token is None
    assert store.search_runs([]) == []
    with raises(INVALID_PARAMETER_VALUE, "experiment_ids must be a list, got str. Did you mean experiment_ids=['1']?"):
        store.search_runs("1")
    with raises(INVALID_PARAMETER_VALUE, "max_results: it must be a positive integer, got 0"):
        store.search_runs([experiment_id], max_results=0)
    with pytest.raises(InvalidArgumentError):
        store.search_runs([experiment_id], "metrics.acc >>> 1")


def test_search_runs_query_count_does_not_grow(store):
    """Loading N runs takes a fixed number of queries (no query per run)."""
    def count_queries(n_runs):
        experiment_id = store.create_experiment(f"n{n_runs}")
        for i in range(n_runs):
            run_id = store.create_run(experiment_id, "u", i, [], None).info.run_id
            store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("p", "1")], [RunTag("t", "1")])
        statements = []
        engine = engine_for(store.store_uri)
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            assert len(store.search_runs([experiment_id])) == n_runs
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    assert count_queries(2) == count_queries(30) <= 10


# -- logged models --------------------------------------------------------------------------------
def test_create_and_get_logged_model(store, run_id, artifact_root):
    model = store.create_logged_model("0", "clf", run_id, {"stage": "dev"}, [Param("alpha", "0.1")], "sklearn")
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert model.artifact_location == f"{artifact_root}/0/models/{model.model_id}/artifacts"
    assert (model.status, model.name, model.source_run_id, model.model_type) == ("PENDING", "clf", run_id, "sklearn")
    assert (model.tags, model.params) == ({"stage": "dev"}, {"alpha": "0.1"})
    assert model.model_uri == f"models:/{model.model_id}"
    assert store.get_logged_model(model.model_id) == model
    unnamed = store.create_logged_model("0")
    assert NAME_RE.match(unnamed.name) and unnamed.source_run_id is None


def test_logged_model_errors(store):
    with raises(INVALID_PARAMETER_VALUE, "Invalid model name 'a/b'"):
        store.create_logged_model("0", "a/b")
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=nope not found (the logged model's source_run_id)."):
        store.create_logged_model("0", "m", "nope")
    with raises(RESOURCE_DOES_NOT_EXIST, "No Experiment with id=3 exists."):
        store.create_logged_model("3", "m")
    with raises(INVALID_PARAMETER_VALUE, "Invalid logged model tag key 'a b?'"):
        store.create_logged_model("0", "m", tags={"a b?": "1"})
    with raises(INVALID_PARAMETER_VALUE, "Logged model param 'p' value must be a string, got int 1"):
        store.create_logged_model("0", "m", params={"p": 1})
    experiment_id = store.create_experiment("e")
    store.delete_experiment(experiment_id)
    with raises(INVALID_PARAMETER_VALUE, "Cannot create a logged model in it: experiment 1 ('e') is deleted"):
        store.create_logged_model(experiment_id, "m")
    with raises(RESOURCE_DOES_NOT_EXIST, "Logged model with ID 'm-0' not found."):
        store.get_logged_model("m-0")
    assert rows(store, schema.logged_models) == []


def test_finalize_tag_and_delete_logged_model(store):
    model_id = store.create_logged_model("0", "m").model_id
    ready = store.finalize_logged_model(model_id, LoggedModelStatus.READY)
    assert ready.status == "READY" and ready.last_updated_timestamp >= ready.creation_timestamp
    assert store.finalize_logged_model(model_id, "FAILED").status == "FAILED"
    with raises(INVALID_PARAMETER_VALUE, "finalized with status READY or FAILED, got 'DONE'"):
        store.finalize_logged_model(model_id, "DONE")
    store.set_logged_model_tags(model_id, {"a": "1", "b": "2"})
    store.set_logged_model_tags(model_id, [RunTag("a", "3")])
    store.log_logged_model_params(model_id, {"k": "v"})
    model = store.get_logged_model(model_id)
    assert (model.tags, model.params) == ({"a": "3", "b": "2"}, {"k": "v"})
    store.delete_logged_model_tag(model_id, "b")
    assert store.get_logged_model(model_id).tags == {"a": "3"}
    with raises(RESOURCE_DOES_NOT_EXIST, f"No tag with key 'b' found for model with ID '{model_id}'."):
        store.delete_logged_model_tag(model_id, "b")
    store.delete_logged_model(model_id)
    with raises(RESOURCE_DOES_NOT_EXIST, f"Logged model with ID '{model_id}' not found."):
        store.get_logged_model(model_id)
    assert store.get_logged_model(model_id, allow_deleted=True).model_id == model_id
    for call in (lambda: store.finalize_logged_model(model_id, "READY"), lambda: store.delete_logged_model(model_id),
                 lambda: store.set_logged_model_tags(model_id, {"x": "1"})):
        with raises(RESOURCE_DOES_NOT_EXIST, "not found"):
            call()


def test_search_logged_models_and_run_outputs(store, run_id):
    other_run = store.create_run("0", "u", 1, [], "other").info.run_id
    first = store.create_logged_model("0", "first", run_id)
    second = store.create_logged_model("0", "second", run_id, {"stage": "prod"})
    third = store.create_logged_model("0", "third", other_run)
    deleted = store.create_logged_model("0", "deleted", run_id)
    store.delete_logged_model(deleted.model_id)
    found = store.search_logged_models(["0"], f"source_run_id = '{run_id}'", order_by=["name ASC"])
    assert [m.name for m in found] == ["first", "second"]
    assert [m.name for m in store.search_logged_models(["0"], "tags.stage = 'prod'")] == ["second"]
    page = store.search_logged_models(["0"], max_results=2, order_by=["name ASC"])
    assert [m.name for m in page] == ["first", "second"] and page.token
    rest = store.search_logged_models(["0"], max_results=2, order_by=["name ASC"], page_token=page.token)
    assert [m.name for m in rest] == ["third"] and rest.token is None
    assert [m.model_id for m in store.list_logged_models_for_run(run_id)] == [first.model_id, second.model_id]
    store.log_outputs(run_id, [third.model_id])
    assert {m.name for m in store.list_logged_models_for_run(run_id)} == {"first", "second", "third"}
    with raises(RESOURCE_DOES_NOT_EXIST, "Run with id=gone not found."):
        store.list_logged_models_for_run("gone")
    with raises(INVALID_PARAMETER_VALUE, "experiment_ids must be a list"):
        store.search_logged_models("0")
    assert store.search_logged_models([]) == []


def test_logged_model_metrics_search(store, run_id):
    good = store.create_logged_model("0", "good", run_id).model_id
    bad = store.create_logged_model("0", "bad", run_id).model_id
    store.log_metric(run_id, Metric("acc", 0.9, 1, 0, model_id=good, dataset_name="test", dataset_digest="d"))
    store.log_metric(run_id, Metric("acc", 0.5, 1, 0, model_id=bad, dataset_name="test", dataset_digest="d"))
    assert [m.name for m in store.search_logged_models(["0"], "metrics.acc > 0.8")] == ["good"]
    ordered = store.search_logged_models(["0"], order_by=[{"field_name": "metrics.acc", "ascending": True}])
    assert [m.name for m in ordered] == ["bad", "good"]
    assert len(store.search_logged_models(["0"], datasets=[{"dataset_name": "other"}])) == 0


# -- database failures ----------------------------------------------------------------------------
def test_unreachable_database(artifact_root):
    with pytest.raises(DatabaseError, match=r"Cannot reach the tracking database 'postgresql://\*\*\*@127.0.0.1:1/x'"):
        SqlTrackingStore("postgresql://postgres@127.0.0.1:1/x", str(artifact_root))


def test_locked_database_is_a_clear_error(tmp_path, monkeypatch):
    """A write lock held past the busy timeout gives DatabaseError; nothing logged before is lost."""
    import sqlite3

    from mlcask.tracking.store import db

    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 1)
    path = tmp_path / "locked.db"
    store = SqlTrackingStore(f"sqlite:///{path}", str(tmp_path / "artifacts"))
    run_id = store.create_run("0", "u", 1, [], "r").info.run_id
    store.log_metric(run_id, Metric("m", 1.0, 1, 0))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match=r"failed: database is locked\. Another process held the database's "
                                                r"write lock for longer than the busy timeout \(1 s\)\. This call was "
                                                "rolled back; everything logged before it is intact."):
            store.log_metric(run_id, Metric("m", 2.0, 2, 1))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.log_metric(run_id, Metric("m", 3.0, 3, 2))  # the store works again
    assert [m.value for m in store.get_metric_history(run_id, "m")] == [1.0, 3.0]
