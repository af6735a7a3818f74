"""``mlcask gc``: deleted runs, logged models and experiments removed for good, with every row and
file they own, on SQLite and PostgreSQL; MLflow's refusals and messages; one transaction per run."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli
from mlcask.cli_gc import parse_older_than
from mlcask.entities import Dataset, DatasetInput, LoggedModelOutput, Metric
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.artifacts import local_path_of
from mlcask.tracking.store import schema
from mlcask.tracking.store.db import engine_for
from mlcask.tracking.store.gc import HardDeletingStore
from tests.support import postgres_test_uri


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, tracking_state):
    """A fresh store (SQLite, and PostgreSQL when MLCASK_TEST_POSTGRES_URI names one) the fluent API uses."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'gc.db'}"
    else:
        uri = postgres_test_uri()
        with engine_for(uri).begin() as connection:
            names = ", ".join(table.name for table in schema.metadata.sorted_tables)
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return tracking_state(uri, tmp_path / "artifacts")


def gc(uri, *args):
    result = CliRunner().invoke(cli, ["gc", "--backend-store-uri", uri, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def logged_run(name="r"):
    """A finished run with a param, a metric history, a tag, a dataset input, a logged model output (with the
    run's last loss linked to it) and files."""
    client = mlcask.MlflowClient()
    with mlcask.start_run(run_name=name) as run:
        mlcask.log_param("alpha", 0.5)
        for step in range(3):
            mlcask.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1000 + step)
        mlcask.set_tag("team", "a")
        mlcask.log_text("hello", "notes/readme.txt")
        client.log_inputs(run.info.run_id, datasets=[DatasetInput(Dataset(f"d-{name}", "abc123", "local", "{}"))])
        model = client.create_logged_model(run.info.experiment_id, "m", source_run_id=run.info.run_id)
        client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 2)])
        client.log_batch(run.info.run_id, metrics=[Metric("loss", 1.0 / 3, 1002, 2, model_id=model.model_id)])
    return client.get_run(run.info.run_id), model


def rows_of(uri, run_id):
    """How many rows of each table belong to the run."""
    with engine_for(uri).connect() as connection:
        counts = {table.name: connection.execute(sa.select(sa.func.count()).select_from(table)
                                                 .where(table.c.run_uuid == run_id)).scalar()
                  for table in (schema.runs, schema.metrics, schema.latest_metrics, schema.params, schema.tags)}
        counts["logged_model_metrics"] = connection.execute(
            sa.select(sa.func.count()).select_from(schema.logged_model_metrics).join(
                schema.metrics, schema.metrics.c.id == schema.logged_model_metrics.c.metric_id)
            .where(schema.metrics.c.run_uuid == run_id)).scalar()
        counts["inputs"] = connection.execute(sa.select(sa.func.count()).select_from(schema.inputs).where(
            sa.or_(schema.inputs.c.destination_id == run_id, schema.inputs.c.source_id == run_id))).scalar()
    return counts


def test_gc_removes_deleted_runs_with_their_rows_and_files(store):
    doomed, _ = logged_run("doomed")
    kept, _ = logged_run("kept")
    assert all(rows_of(store, doomed.info.run_id).values())
    mlcask.MlflowClient().delete_run(doomed.info.run_id)
    folder = local_path_of(doomed.info.artifact_uri)
    assert (folder / "notes" / "readme.txt").is_file()

    code, out = gc(store)
    assert code == 0, out
    assert out.splitlines() == [f"Run with ID {doomed.info.run_id} has been permanently deleted."]
    assert set(rows_of(store, doomed.info.run_id).values()) == {0}
    assert not folder.exists() and not folder.parent.exists()
    assert rows_of(store, kept.info.run_id) == {"runs": 1, "metrics": 3, "latest_metrics": 1, "params": 1,
                                                "tags": len(kept.data.tags), "logged_model_metrics": 1, "inputs": 2}
    assert local_path_of(kept.info.artifact_uri).joinpath("notes", "readme.txt").read_text() == "hello"
    with pytest.raises(MlcaskException) as raised:
        mlcask.MlflowClient().get_run(doomed.info.run_id)
    assert raised.value.error_code == RESOURCE_DOES_NOT_EXIST
    assert gc(store) == (0, "Nothing to delete: no run, logged model or experiment is in the `deleted` lifecycle "
                            "stage.\n")


def test_a_run_that_is_not_deleted_is_refused_and_nothing_is_removed(store):
    deleted, _ = logged_run("deleted")
    active, _ = logged_run("active")
    mlcask.MlflowClient().delete_run(deleted.info.run_id)
    code, out = gc(store, "--run-ids", f"{deleted.info.run_id},{active.info.run_id}")
    assert code == 2
    assert (f"Invalid value for '--run-ids': Run {active.info.run_id} is not in `deleted` lifecycle stage. Only runs "
            "in `deleted` lifecycle stage can be deleted.") in out
    assert rows_of(store, deleted.info.run_id)["runs"] == 1  # checked before anything was removed
    assert local_path_of(deleted.info.artifact_uri).joinpath("notes", "readme.txt").is_file()
    code, out = gc(store, "--run-ids", "0" * 32)
    assert code == 2 and f"Invalid value for '--run-ids': no run has id '{'0' * 32}'" in out


def test_run_ids_narrow_the_runs_removed(store):
    first, _ = logged_run("first")
    second, _ = logged_run("second")
    for run in (first, second):
        mlcask.MlflowClient().delete_run(run.info.run_id)
    code, out = gc(store, "--run-ids", first.info.run_id)
    assert code == 0 and out == f"Run with ID {first.info.run_id} has been permanently deleted.\n"
    assert rows_of(store, first.info.run_id)["runs"] == 0 and rows_of(store, second.info.run_id)["runs"] == 1


def test_older_than_keeps_what_was_deleted_recently(store):
    old, _ = logged_run("old")
    recent, _ = logged_run("recent")
    client = mlcask.MlflowClient()
    for run in (old, recent):
        client.delete_run(run.info.run_id)
    two_days_ago = int(time.time() * 1000) - 2 * 86_400_000
    with engine_for(store).begin() as connection:
        connection.execute(schema.runs.update().where(schema.runs.c.run_uuid == old.info.run_id)
                           .values(deleted_time=two_days_ago))
    code, out = gc(store, "--run-ids", recent.info.run_id, "--older-than", "1d")
    assert code == 2 and (f"Run {recent.info.run_id} is not older than the required age. Only runs older than 1d "
                          "can be deleted.") in out
    code, out = gc(store, "--older-than", "1d2h")
    assert code == 0 and out == f"Run with ID {old.info.run_id} has been permanently deleted.\n"
    assert rows_of(store, recent.info.run_id)["runs"] == 1


@pytest.mark.parametrize(("text", "ms"), [("1d2h3m4s", 93_784_000), ("1.5h", 5_400_000), ("30m", 1_800_000),
                                          ("2s", 2000), ("", 0)])
def test_older_than_is_mlflows_duration(text, ms):
    assert parse_older_than(text) == ms


@pytest.mark.parametrize("text", ["1x", "d", "1..5d", "2h1d", "-1d"])
def test_a_bad_duration_is_a_usage_error(store, text):
    code, out = gc(store, "--older-than", text)
    assert code == 2 and (f"Invalid value for '--older-than': Could not parse any time information from '{text}'. "
                          "Examples of valid strings: '8h', '2d8h5m20s', '2m4s'") in out


def test_deleted_experiments_go_with_everything_in_them(store):
    client = mlcask.MlflowClient()
    experiment_id = mlcask.set_experiment("doomed").experiment_id
    run, model = logged_run("inside")
    model_folder = local_path_of(model.artifact_location)
    model_folder.mkdir(parents=True)
    (model_folder / "MLmodel").write_text("flavors: {}\n")
    client.set_experiment_tag(experiment_id, "k", "v")
    code, out = gc(store, "--experiment-ids", experiment_id)
    assert code == 2 and (f"Invalid value for '--experiment-ids': Experiments ['{experiment_id}'] are not in the "
                          "deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be "
                          "hard-deleted.") in out
    client.delete_experiment(experiment_id)

    code, out = gc(store, "--experiment-ids", experiment_id)
    assert code == 0, out
    assert out.splitlines() == [f"Run with ID {run.info.run_id} has been permanently deleted.",
                                f"Experiment with ID {experiment_id} has been permanently deleted."]
    assert set(rows_of(store, run.info.run_id).values()) == {0}
    with engine_for(store).connect() as connection:
        for table in (schema.experiments, schema.experiment_tags, schema.logged_models, schema.datasets):
            count = connection.execute(sa.select(sa.func.count()).select_from(table)
                                       .where(table.c.experiment_id == int(experiment_id))).scalar()
            assert count == 0, table.name
    assert not model_folder.exists() and not local_path_of(run.info.artifact_uri).exists()
    assert [e.name for e in client.search_experiments(view_type=3)] == ["Default"]


def test_deleted_logged_models_are_removed_with_their_files(store):
    client = mlcask.MlflowClient()
    _, model = logged_run("with-model")
    _, kept = logged_run("other")
    folder = local_path_of(model.artifact_location)
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    code, out = gc(store, "--logged-model-ids", model.model_id)
    assert code == 2 and (f"Logged model {model.model_id} is not in `deleted` lifecycle stage. Only logged models in "
                          "`deleted` lifecycle stage can be deleted.") in out
    client.delete_logged_model(model.model_id)
    code, out = gc(store)
    assert code == 0 and out == f"Logged model with ID {model.model_id} has been permanently deleted.\n"
    assert not folder.exists()
    with engine_for(store).connect() as connection:
        assert connection.execute(sa.select(schema.logged_models.c.model_id)).scalars().all() == [kept.model_id]
        assert connection.execute(sa.select(sa.func.count()).select_from(schema.inputs)
                                  .where(schema.inputs.c.destination_id == model.model_id)).scalar() == 0


@pytest.fixture
def runs_cannot_be_deleted(store):
    """A trigger that refuses to delete any row of ``runs`` (dropped afterwards)."""
    engine = engine_for(store)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("CREATE TRIGGER keep_runs BEFORE DELETE ON runs BEGIN "
                                       "SELECT RAISE(ABORT, 'runs are kept'); END")
        else:
            connection.exec_driver_sql("CREATE OR REPLACE FUNCTION keep_runs() RETURNS trigger AS $$ BEGIN "
                                       "RAISE EXCEPTION 'runs are kept'; END $$ LANGUAGE plpgsql")
            connection.exec_driver_sql("CREATE TRIGGER keep_runs BEFORE DELETE ON runs FOR EACH ROW "
                                       "EXECUTE FUNCTION keep_runs()")
    yield
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER keep_runs" + ("" if engine.dialect.name == "sqlite" else " ON runs"))
        if engine.dialect.name != "sqlite":
            connection.exec_driver_sql("DROP FUNCTION keep_runs()")


def test_a_failure_part_way_leaves_the_run_whole(store, request):
    """The runs row cannot be deleted (a trigger refuses): the rows deleted before it in the same
    transaction come back, and gc exits 1 with the error, no traceback."""
    run, _ = logged_run("stuck")
    mlcask.MlflowClient().delete_run(run.info.run_id)
    before = rows_of(store, run.info.run_id)
    request.getfixturevalue("runs_cannot_be_deleted")
    code, out = gc(store)
    assert code == 1 and out.startswith("Error: ") and "runs are kept" in out
    assert rows_of(store, run.info.run_id) == before
    assert before["metrics"] == 3 and before["params"] == 1 and before["inputs"] == 2


def test_proxied_artifacts_are_removed_under_the_artifacts_destination(tracking, tmp_path):
    client = mlcask.MlflowClient()
    experiment_id = client.create_experiment("proxied", artifact_location="mlflow-artifacts:/proxied")
    run = client.create_run(experiment_id)
    assert run.info.artifact_uri == f"mlflow-artifacts:/proxied/{run.info.run_id}/artifacts"
    destination = tmp_path / "destination"
    folder = destination / "proxied" / run.info.run_id / "artifacts"
    folder.mkdir(parents=True)
    (folder / "f.txt").write_text("x")
    client.delete_run(run.info.run_id)
    code, out = gc(tracking, "--artifacts-destination", str(destination))
    assert code == 0 and out == f"Run with ID {run.info.run_id} has been permanently deleted.\n"
    assert not folder.exists() and (destination / "proxied").is_dir()


def test_an_unresolvable_artifact_location_is_a_warning_and_gc_goes_on(tracking, monkeypatch):
    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    client = mlcask.MlflowClient()
    experiment_id = client.create_experiment("proxied", artifact_location="mlflow-artifacts:/proxied")
    run = client.create_run(experiment_id)
    client.delete_run(run.info.run_id)
    code, out = gc(tracking)  # no server to resolve mlflow-artifacts:/ and no --artifacts-destination
    assert code == 0
    assert (f"Unable to resolve the provided artifact URL: '{run.info.artifact_uri}'. The gc process will continue "
            "and bypass artifact deletion.") in out
    assert out.splitlines()[-1] == f"Run with ID {run.info.run_id} has been permanently deleted."


def test_a_tracking_server_cannot_gc_and_a_missing_store_is_not_created(tmp_path, monkeypatch):
    from mlcask.tracking.rest import RestTrackingStore
    from mlcask.tracking.store.sql_store import SqlTrackingStore

    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    assert issubclass(SqlTrackingStore, HardDeletingStore)
    assert not isinstance(RestTrackingStore("http://127.0.0.1:9"), HardDeletingStore)
    result = CliRunner().invoke(cli, ["gc", "--tracking-uri", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "is a tracking server: MLflow's REST API has no permanent deletion" in result.output
    assert "--backend-store-uri" in result.output
    missing = tmp_path / "nothing.db"
    result = CliRunner().invoke(cli, ["gc", "--backend-store-uri", f"sqlite:///{missing}"])
    assert result.exit_code == 1 and "No tracking database at" in result.output and not missing.exists()


def test_the_store_refuses_to_hard_delete_what_is_not_deleted(store):
    from mlcask.tracking import stores

    sql = stores.tracking_store(store)
    mlcask.set_experiment("alive")
    run, model = logged_run("alive")
    with pytest.raises(InvalidArgumentError, match="is not in `deleted` lifecycle stage"):
        sql.hard_delete_run(run.info.run_id)
    with pytest.raises(InvalidArgumentError, match="is not in `deleted` lifecycle stage"):
        sql.hard_delete_logged_model(model.model_id)
    with pytest.raises(InvalidArgumentError, match="are not in the deleted lifecycle stage"):
        sql.hard_delete_experiment(run.info.experiment_id)
    with pytest.raises(MlcaskException) as raised:
        sql.hard_delete_run("f" * 32)
    assert raised.value.error_code == RESOURCE_DOES_NOT_EXIST
    assert rows_of(store, run.info.run_id)["runs"] == 1


def test_the_default_experiment_stays(store):
    client = mlcask.MlflowClient()
    with mlcask.start_run(experiment_id="0") as run:
        pass
    client.delete_experiment("0")
    code, out = gc(store, "--experiment-ids", "0")
    assert code == 2 and "the Default experiment (id 0) cannot be permanently deleted" in out
    code, out = gc(store)  # its deleted runs go; the experiment stays
    assert code == 0 and out == f"Run with ID {run.info.run_id} has been permanently deleted.\n"
    assert client.get_experiment("0").name == "Default"
    from mlcask.tracking import stores

    with pytest.raises(InvalidArgumentError, match="Default experiment"):
        stores.tracking_store(store).hard_delete_experiment("0")
