"""``log_model(step=N)`` as MLflow 3.17: the run's model output keeps its step, and the run's metric
values at step N are linked to the logged model (``get_logged_model(id).metrics``) without being
copied into the run's history. SQLite and PostgreSQL (the ``store_uri`` fixture)."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

import mlcask
from mlcask.entities import LoggedModelOutput, Metric
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.store import schema
from mlcask.tracking.store.db import engine_for
from mlcask.tracking.store.sql_store import SqlTrackingStore
from tests.support import postgres_database


@pytest.fixture
def store(store_uri, artifact_root):
    return SqlTrackingStore(store_uri, str(artifact_root))


@pytest.fixture
def run_id(store):
    return store.create_run("0", "ann", 1000, [], "r").info.run_id


HISTORY = [Metric("acc", 0.5, 10, 0), Metric("acc", 0.7, 20, 3), Metric("acc", 0.71, 21, 3),
           Metric("loss", math.nan, 22, 3), Metric("loss", 2.0, 30, 4), Metric("lr", 0.1, 5, 3)]


def _values(metrics):
    return sorted(((m.key, "nan" if math.isnan(m.value) else m.value, m.step, m.timestamp) for m in metrics or ()),
                  key=lambda v: (v[0], v[2], v[3], str(v[1])))


def _history(store, run_id):
    return {key: _values(store.get_metric_history(run_id, key)) for key in ("acc", "loss", "lr")}


# -- the step of a model output --------------------------------------------------------------
def test_an_output_keeps_its_step(store, run_id):
    first, second, third = (store.create_logged_model("0", name, run_id).model_id for name in "abc")
    store.log_outputs(run_id, [LoggedModelOutput(first, 7), LoggedModelOutput(second, 0)])
    store.log_outputs(run_id, [third])  # an id alone: step 0
    store.log_outputs(run_id, [LoggedModelOutput(first, 9)])  # already an output: keeps its first step
    outputs = store.get_run(run_id).outputs.model_outputs
    assert sorted((o.model_id, o.step) for o in outputs) == sorted([(first, 7), (second, 0), (third, 0)])
    assert store.search_runs(["0"])[0].outputs.model_outputs == outputs


@pytest.mark.parametrize("step", [1.5, "3", True, 2**63])
def test_an_output_step_that_is_not_a_64_bit_integer_is_refused(store, run_id, step):
    model_id = store.create_logged_model("0", "m", run_id).model_id
    with pytest.raises(InvalidArgumentError, match=rf"The step of model output '{model_id}' must be a 64-bit "
                                                   "integer, got"):
        store.log_outputs(run_id, [LoggedModelOutput(model_id, step)])
    assert store.get_run(run_id).outputs.model_outputs == []


def test_an_output_that_is_not_a_model_id_is_refused(store, run_id):
    with pytest.raises(InvalidArgumentError, match="models must be logged model ids"):
        store.log_outputs(run_id, [3])


# -- the run's values at the step, linked to the model -----------------------------------------
def test_the_values_at_the_step_are_linked_once(store, run_id):
    store.log_batch(run_id, metrics=HISTORY)
    before = _history(store, run_id)
    model = store.create_logged_model("0", "m", run_id)
    assert store.get_logged_model(model.model_id).metrics is None  # none yet, as MLflow's
    store.link_model_metrics(model.model_id, run_id, 3)
    store.link_model_metrics(model.model_id, run_id, 3)  # again: nothing new to link
    metrics = store.get_logged_model(model.model_id).metrics
    assert _values(metrics) == [("acc", 0.7, 3, 20), ("acc", 0.71, 3, 21), ("loss", "nan", 3, 22), ("lr", 0.1, 3, 5)]
    assert {(m.run_id, m.model_id, m.dataset_name) for m in metrics} == {(run_id, model.model_id, None)}
    assert _history(store, run_id) == before  # the run's history is unchanged: no copies
    assert store.get_run(run_id).data.metrics == {"acc": 0.71, "loss": 2.0, "lr": 0.1}
    later = [Metric("acc", 0.9, 40, 3)]
    store.log_batch(run_id, metrics=later)  # logged after: not linked until asked again
    assert len(store.get_logged_model(model.model_id).metrics) == 4
    store.link_model_metrics(model.model_id, run_id, 3)
    assert ("acc", 0.9, 3, 40) in _values(store.get_logged_model(model.model_id).metrics)


def test_two_models_at_one_step_both_get_the_values(store, run_id):
    store.log_batch(run_id, metrics=HISTORY)
    first, second = (store.create_logged_model("0", name, run_id).model_id for name in ("a", "b"))
    store.log_metric(run_id, Metric("f1", 0.3, 50, 3, model_id=first))  # logged for the first model
    store.link_model_metrics(first, run_id, 3)
    store.link_model_metrics(second, run_id, 3)
    first_values, second_values = (_values(store.get_logged_model(m).metrics) for m in (first, second))
    assert first_values == [("acc", 0.7, 3, 20), ("acc", 0.71, 3, 21), ("f1", 0.3, 3, 50), ("loss", "nan", 3, 22),
                            ("lr", 0.1, 3, 5)]
    assert second_values == first_values  # MLflow links every value at the step, the first model's too
    assert [m.model_id for m in store.get_logged_model(second).metrics] == [second] * 5
    assert [(m.value, m.model_id) for m in store.get_metric_history(run_id, "f1")] == [(0.3, first)]
    found = {m.model_id: _values(m.metrics) for m in store.search_logged_models(["0"])}
    assert found == {first: first_values, second: second_values}


def test_a_step_without_values_links_nothing(store, run_id):
    store.log_batch(run_id, metrics=HISTORY)
    model_id = store.create_logged_model("0", "m", run_id).model_id
    store.link_model_metrics(model_id, run_id, 99)
    assert store.get_logged_model(model_id).metrics is None


def test_linking_refuses_an_unknown_model_a_finished_deleted_run_and_a_bad_step(store, run_id):
    model_id = store.create_logged_model("0", "m", run_id).model_id
    with pytest.raises(MlcaskException, match="Logged model with ID 'm-unknown' not found") as raised:
        store.link_model_metrics("m-unknown", run_id, 0)
    assert raised.value.error_code == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(InvalidArgumentError, match="The step to link metrics at must be an integer, got str '1'"):
        store.link_model_metrics(model_id, run_id, "1")
    store.delete_run(run_id)
    with pytest.raises(MlcaskException, match="link its metrics to a logged model"):
        store.link_model_metrics(model_id, run_id, 0)


def test_links_go_with_the_run_or_the_model_when_they_are_removed(store, run_id, store_uri):
    store.log_batch(run_id, metrics=HISTORY)
    kept_run = store.create_run("0", "ann", 1000, [], "other").info.run_id
    store.log_batch(kept_run, metrics=[Metric("acc", 0.2, 1, 3)])
    model_id = store.create_logged_model("0", "m", run_id).model_id
    other_model = store.create_logged_model("0", "n", kept_run).model_id
    store.link_model_metrics(model_id, run_id, 3)
    store.link_model_metrics(other_model, kept_run, 3)
    store.delete_run(run_id)
    store.hard_delete_run(run_id)
    assert store.get_logged_model(model_id).metrics is None
    store.delete_logged_model(other_model)
    store.hard_delete_logged_model(other_model)
    with engine_for(store_uri).connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(schema.logged_model_metrics)).scalar() == 0
    assert _values(store.get_metric_history(kept_run, "acc")) == [("acc", 0.2, 3, 1)]


# -- the REST path: the values logged again with the model's id (MLflow's client protocol) -------
def test_a_value_logged_again_for_a_model_is_linked_not_copied(store, run_id):
    store.log_batch(run_id, metrics=HISTORY)
    model_id = store.create_logged_model("0", "m", run_id).model_id
    before = _history(store, run_id)
    again = [Metric(m.key, m.value, m.timestamp, m.step, model_id) for m in HISTORY if m.step == 3]
    store.log_batch(run_id, metrics=again)
    store.log_batch(run_id, metrics=again)  # twice: still linked once
    assert _history(store, run_id) == before
    assert _values(store.get_logged_model(model_id).metrics) == _values(again)
    store.log_metric(run_id, Metric("acc", 0.7, 99, 3, model_id=model_id))  # a new timestamp: a new value
    assert [m.model_id for m in store.get_metric_history(run_id, "acc") if m.timestamp == 99] == [model_id]
    assert len(store.get_logged_model(model_id).metrics) == 5


def test_a_value_for_a_model_the_store_does_not_hold_is_stored_as_before(store, run_id):
    store.log_batch(run_id, metrics=HISTORY)
    store.log_metric(run_id, Metric("acc", 0.7, 20, 3, model_id="m-elsewhere"))
    assert [(m.value, m.model_id) for m in store.get_metric_history(run_id, "acc") if m.step == 3] == [
        (0.7, None), (0.7, "m-elsewhere"), (0.71, None)]


def test_datasets_must_match_for_a_value_to_be_linked(store, run_id):
    on_train = Metric("acc", 0.7, 20, 3, dataset_name="train", dataset_digest="d1")
    store.log_batch(run_id, metrics=[on_train])
    model_id = store.create_logged_model("0", "m", run_id).model_id
    store.log_batch(run_id, metrics=[Metric("acc", 0.7, 20, 3, model_id, "test", "d2"),
                                     Metric("acc", 0.7, 20, 3, model_id, "train", "d1")])
    history = store.get_metric_history(run_id, "acc")
    assert [(m.dataset_name, m.model_id) for m in history] == [("train", None), ("test", model_id)]
    assert sorted(m.dataset_name for m in store.get_logged_model(model_id).metrics) == ["test", "train"]


# -- log_model(step=...) through the fluent API --------------------------------------------------
class Echo(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def test_log_model_at_a_step_links_the_values_logged_there(tracking):
    with mlcask.start_run() as run:
        mlcask.log_metric("acc", 0.5, step=0)
        mlcask.log_metrics({"acc": 0.7, "loss": 1.0}, step=3)
        mlcask.log_metric("loss", 2.0, step=4)
        info = mlcask.pyfunc.log_model(name="m", python_model=Echo(), step=3)
        at_zero = mlcask.pyfunc.log_model(name="z", python_model=Echo())  # the default step, 0
    client = mlcask.MlflowClient()
    assert _values(info.logged_model.metrics) == _values(client.get_logged_model(info.model_id).metrics)
    assert [(m.key, m.value, m.step) for m in sorted(client.get_logged_model(info.model_id).metrics,
                                                     key=lambda m: m.key)] == [("acc", 0.7, 3), ("loss", 1.0, 3)]
    assert [(m.key, m.value, m.step) for m in client.get_logged_model(at_zero.model_id).metrics] == [("acc", 0.5, 0)]
    assert sorted((o.model_id, o.step) for o in client.get_run(run.info.run_id).outputs.model_outputs) == sorted(
        [(info.model_id, 3), (at_zero.model_id, 0)])
    assert [m.value for m in client.get_metric_history(run.info.run_id, "acc")] == [0.5, 0.7]


# -- a database created at the previous schema revision (0001) is upgraded ------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """A new, empty database (SQLite file, or a fresh PostgreSQL database on the test server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with postgres_database("mlcask_upgrade") as uri:
        yield uri


def _at_revision_0001(uri: str) -> None:
    """The schema of revision 0001 (mlcask before this change), with a run, its metrics and a model output."""
    from alembic import command
    from alembic.config import Config

    from mlcask.tracking.store import db

    engine = db.create_engine(uri)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(db.MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        assert "step" not in {c["name"] for c in sa.inspect(connection).get_columns("inputs")}
        statements = [
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
            "VALUES (0, 'Default', '/tmp/artifacts/0', 'active')",
            "INSERT INTO runs (run_uuid, name, status, lifecycle_stage, artifact_uri, experiment_id, start_time) "
            "VALUES ('r1', 'old', 'RUNNING', 'active', '/tmp/artifacts/0/r1/artifacts', 0, 1)",
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, "
            "last_updated_timestamp_ms, status, lifecycle_stage, source_run_id) VALUES ('m-old', 0, 'm', "
            "'/tmp/artifacts/0/models/m-old/artifacts', 1, 1, 'READY', 'active', 'r1')",
            "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) "
            "VALUES ('i1', 'RUN_OUTPUT', 'r1', 'MODEL_OUTPUT', 'm-old')",
            "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES ('r1', 'acc', 0.8, false, 5, 2)",
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) "
            "VALUES ('r1', 'acc', 0.8, false, 5, 2)",
        ]
        for statement in statements:
            connection.execute(sa.text(statement))
    engine.dispose()


def _assert_schema_is_the_models(uri: str) -> None:
    """The upgraded database has every table, column and index of ``schema.py``, and nothing else."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mlcask.tracking.store import db

    engine = db.create_engine(uri)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), schema.metadata) == []
            assert "index_metrics_model_id" in {i["name"] for i in sa.inspect(connection).get_indexes("metrics")}
    finally:
        engine.dispose()


def test_a_database_at_the_previous_revision_is_upgraded(empty_database, tmp_path):
    from click.testing import CliRunner

    from mlcask.cli import cli
    from mlcask.tracking.store import db

    _at_revision_0001(empty_database)
    with pytest.raises(db.DatabaseError, match=rf"at schema revision 0001, this mlcask needs {db.HEAD_REVISION}\. "
                                               "Back it up, then run: mlcask db upgrade"):
        SqlTrackingStore(empty_database, str(tmp_path))
    result = CliRunner().invoke(cli, ["db", "upgrade", empty_database])
    assert result.exit_code == 0, result.output
    assert f"is upgraded to the current schema (revision {db.HEAD_REVISION})" in result.output
    db.check_existing(empty_database)  # at the head now
    _assert_schema_is_the_models(empty_database)
    store = SqlTrackingStore(empty_database, str(tmp_path))
    assert [(o.model_id, o.step) for o in store.get_run("r1").outputs.model_outputs] == [("m-old", 0)]
    assert store.get_logged_model("m-old").metrics is None
    store.link_model_metrics("m-old", "r1", 2)
    assert [(m.key, m.value, m.step) for m in store.get_logged_model("m-old").metrics] == [("acc", 0.8, 2)]
    model_id = store.create_logged_model("0", "new", "r1").model_id
    store.log_outputs("r1", [LoggedModelOutput(model_id, 4)])
    assert sorted((o.model_id, o.step) for o in store.get_run("r1").outputs.model_outputs) == sorted([
        ("m-old", 0), (model_id, 4)])
    result = CliRunner().invoke(cli, ["db", "upgrade", empty_database])  # a second time: nothing to do
    assert result.exit_code == 0 and "is already at the current schema" in result.output, result.output


def test_searching_logged_models_by_metric_sees_linked_values(store, run_id):
    store.log_batch(run_id, metrics=HISTORY)
    linked, other = (store.create_logged_model("0", name, run_id).model_id for name in ("linked", "other"))
    store.link_model_metrics(linked, run_id, 3)
    store.log_batch(run_id, metrics=[Metric("acc", 0.2, 50, 9, other)])  # logged for the model itself
    found = store.search_logged_models(["0"], "metrics.acc > 0.6")
    assert [m.model_id for m in found] == [linked]
    ordered = store.search_logged_models(["0"], None, order_by=["metrics.acc DESC"])
    assert [m.model_id for m in ordered] == [linked, other]
    assert [m.model_id for m in store.search_logged_models(["0"], "metrics.lr = 0.1")] == [linked]
