"""``mlcask db import``: a history logged by REAL MLflow 3.17, imported from its SQLite database and
from a real ``mlflow server``, then compared entity by entity and field by field with what MLflow's
own client reads from the source; the imported model loads by alias and predicts; a second import
copies nothing; an import killed with SIGKILL continues where it stopped.

MLflow runs in its own venv (``bench.mlflow_env``); the server is started by the REST tests' helper.
PostgreSQL as a source: MLflow logs into database ``mlflow_import_src`` of the test server
(``MLCASK_TEST_POSTGRES_URI``), skipped without one.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlcask.cli import cli
from tests.support import free_port, postgres_test_uri

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

HISTORY_SCRIPT = Path(__file__).parent / "importing" / "log_mlflow_history.py"


def _run_mlflow(tracking_uri: str, folder: Path, log_history: bool, pythonpath: list[Path] | None = None) -> dict:
    from bench.mlflow_env import run_in_mlflow

    code = f"TRACKING_URI = {tracking_uri!r}\nLOG_HISTORY = {log_history!r}\n" + HISTORY_SCRIPT.read_text()
    return json.loads(run_in_mlflow(code, cwd=folder, pythonpath=pythonpath).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def mlflow_source(tmp_path_factory):
    """The history in ``mlflow.db`` (artifacts in local folders), then a real ``mlflow server`` over that
    database to which one more run logs its artifact through the server's proxy (mlflow-artifacts:/).
    Returns the folder, the database URI, the server URL, the ids, and MLflow's dump of everything."""
    from bench.mlflow_env import ensure_mlflow_python
    from tests.tracking.rest.conftest import start_server

    folder = tmp_path_factory.mktemp("mlflow-source")
    database = f"sqlite:///{folder / 'mlflow.db'}"
    ids = _run_mlflow(database, folder, log_history=True)
    port = free_port()
    command = [str(ensure_mlflow_python().parent / "mlflow"), "server", "--backend-store-uri", database,
               "--artifacts-destination", str(folder / "proxied"), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    server = start_server("mlflow", command, folder, port)
    try:
        remote = _run_mlflow(server.url, folder, log_history=False)
        ids.update({k: v for k, v in remote.items() if k != "dump"})
        yield {"folder": folder, "database": database, "url": server.url, "ids": ids, "dump": remote["dump"]}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def postgres_mlflow_source(tmp_path_factory):
    """The history logged by real MLflow into PostgreSQL (database ``mlflow_import_src`` of the test server;
    MLflow's venv borrows this venv's psycopg driver through PYTHONPATH). Returns the URI and MLflow's dump."""
    uri = postgres_test_uri()
    import psycopg
    import sqlalchemy as sa

    server = sa.engine.make_url(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS mlflow_import_src WITH (FORCE)"))
        connection.execute(sa.text("CREATE DATABASE mlflow_import_src"))
    engine.dispose()
    folder = tmp_path_factory.mktemp("mlflow-postgres-source")
    driver = folder / "driver"
    driver.mkdir()
    packages = Path(psycopg.__file__).parents[1]
    for found in [*packages.glob("psycopg*"), *packages.glob("psycopg_binary*")]:  # packages and dist-info
        if not (driver / found.name).exists():
            (driver / found.name).symlink_to(found)
    source = server.set(database="mlflow_import_src")
    found = _run_mlflow(source.render_as_string(hide_password=False), folder, True, pythonpath=[driver])
    return {"uri": source.set(drivername="postgresql").render_as_string(hide_password=False), "dump": found["dump"],
            "ids": found}


def _import(*args: str, env: dict | None = None) -> str:
    result = CliRunner().invoke(cli, ["db", "import", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _counts(output: str) -> dict[str, tuple[int, int, int]]:
    counts = {}
    for line in output.splitlines():
        parts = line.rsplit(None, 3)
        if len(parts) == 4 and all(p.replace(",", "").isdigit() for p in parts[1:]):
            counts[parts[0].strip()] = tuple(int(p.replace(",", "")) for p in parts[1:])
    return counts


def _digests(location: str) -> dict[str, str]:
    root = Path(location)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.is_dir() else {}


def _mlcask_dump(tracking_uri: str) -> dict:
    """What the import holds, read with mlcask's client, in the shape of the MLflow side's dump."""
    from mlcask.entities import ViewType
    from mlcask.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in experiments]
    runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=5000)
    models = client.search_logged_models(ids)
    return {
        "experiments": {e.experiment_id: {"name": e.name, "lifecycle_stage": e.lifecycle_stage,
                                          "creation_time": e.creation_time, "last_update_time": e.last_update_time,
                                          "tags": e.tags} for e in experiments},
        "runs": {r.info.run_id: {
            "experiment_id": r.info.experiment_id, "run_name": r.info.run_name, "user_id": r.info.user_id,
            "status": r.info.status, "start_time": r.info.start_time, "end_time": r.info.end_time,
            "lifecycle_stage": r.info.lifecycle_stage, "params": r.data.params, "tags": r.data.tags,
            "metrics": sorted([m.key, repr(m.value), m.timestamp, m.step] for key in r.data.metrics
                              for m in client.get_metric_history(r.info.run_id, key)),
            "datasets": sorted([d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
                                d.dataset.schema, d.dataset.profile, {t.key: t.value for t in d.tags}]
                               for d in r.inputs.dataset_inputs),
            "outputs": sorted([o.model_id, o.step] for o in r.outputs.model_outputs),
            "artifacts": _digests(r.info.artifact_uri)} for r in runs},
        "logged_models": {m.model_id: {
            "experiment_id": m.experiment_id, "name": m.name, "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp, "status": str(getattr(m.status, "value", m.status)),
            "source_run_id": m.source_run_id, "model_type": m.model_type or None, "tags": m.tags, "params": m.params,
            "metrics": sorted([x.key, repr(x.value), x.timestamp, x.step, x.dataset_name, x.dataset_digest]
                              for x in client.get_logged_model(m.model_id).metrics or []),
            "artifacts": _digests(m.artifact_location)} for m in models},
        "registered_models": {rm.name: {
            "creation_timestamp": rm.creation_timestamp, "last_updated_timestamp": rm.last_updated_timestamp,
            "description": rm.description, "tags": rm.tags, "aliases": {a: str(v) for a, v in rm.aliases.items()},
            "versions": {v.version: {
                "creation_timestamp": v.creation_timestamp, "last_updated_timestamp": v.last_updated_timestamp,
                "description": v.description, "user_id": v.user_id or None, "current_stage": v.current_stage,
                "source": v.source, "run_id": v.run_id, "status": v.status, "tags": v.tags}
                for v in client.search_model_versions(f"name='{rm.name}'")}}
            for rm in client.search_registered_models()},
    }


def _assert_same(mlflow_dump: dict, imported: dict) -> None:
    """Every entity and field MLflow's client shows is in the import, equal ("Default" is the destination's)."""
    mlflow_dump = {**mlflow_dump, "experiments": {**mlflow_dump["experiments"], "0": None}}
    imported["experiments"]["0"] = None
    for kind in mlflow_dump:
        assert sorted(imported[kind]) == sorted(mlflow_dump[kind]), kind
        for key, expected in mlflow_dump[kind].items():
            if isinstance(expected, dict):
                for name, value in expected.items():
                    assert imported[kind][key][name] == value, (kind, key, name)
            assert imported[kind][key] == expected, (kind, key)


def _expected_counts(dump: dict) -> dict[str, int]:
    runs, models, registered = dump["runs"].values(), dump["logged_models"].values(), dump["registered_models"].values()
    versions = [v for rm in registered for v in rm["versions"].values()]
    return {"experiments": len(dump["experiments"]), "runs": len(runs),
            "params": sum(len(r["params"]) for r in runs) + sum(len(m["params"]) for m in models),
            "metric points": sum(len(r["metrics"]) for r in runs),
            "tags": sum(len(x["tags"]) for x in [*dump["experiments"].values(), *runs, *models, *registered, *versions]),
            "dataset inputs": sum(len(r["datasets"]) for r in runs), "logged models": len(models),
            "registered models": len(registered), "model versions": len(versions),
            "aliases": sum(len(rm["aliases"]) for rm in registered),
            "artifact files": sum(len(x["artifacts"]) for x in [*runs, *models])}


@pytest.mark.slow
@pytest.mark.interop
def test_import_from_mlflow_database_copies_every_entity(mlflow_source, tmp_path, monkeypatch, tracking_state):
    import mlcask

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLCASK_ARTIFACT_ROOT", raising=False)
    destination = f"sqlite:///{tmp_path / 'mlcask.db'}"
    # The proxied run's artifacts are behind the server: host-less mlflow-artifacts:/ URIs name it so.
    output = _import("--from", mlflow_source["database"], "--to", destination,
                     env={"MLFLOW_TRACKING_URI": mlflow_source["url"]})
    dump = mlflow_source["dump"]
    counts = _counts(output)
    for kind, expected in _expected_counts(dump).items():
        assert counts[kind][0] == expected, (kind, output)
    assert counts["experiments"] == (len(dump["experiments"]), len(dump["experiments"]) - 1, 1)  # "Default"
    assert all(copied == total for kind, (total, copied, _) in counts.items() if kind != "experiments"), output
    assert "schema revision" in output and "Nothing copied" not in output
    _assert_same(dump, _mlcask_dump(destination))

    ids = mlflow_source["ids"]
    tracking_state(destination, tmp_path / "mlcask-artifacts")
    from sklearn.datasets import load_iris

    features, _ = load_iris(return_X_y=True, as_frame=True)
    model = mlcask.pyfunc.load_model("models:/iris-classifier@champion")
    assert list(model.predict(features.iloc[[0, 60, 120]])) == [0, 1, 2]
    assert model.metadata.model_id == ids["model_id"]
    assert mlcask.pyfunc.load_model(f"models:/{ids['model_id2']}").metadata.run_id == ids["second"]
    text = mlcask.MlflowClient().download_artifacts(ids["parent"], "notes/readme.txt", str(tmp_path))
    assert Path(text).read_text() == "hello"

    again = _import("--from", mlflow_source["database"], "--to", destination,
                    env={"MLFLOW_TRACKING_URI": mlflow_source["url"]})
    assert "Nothing copied: the destination already holds everything in the source." in again
    assert {kind: (total, copied) for kind, (total, copied, _) in _counts(again).items()} == {
        kind: (total, 0) for kind, (total, _, _) in counts.items()}


@pytest.mark.slow
@pytest.mark.interop
def test_import_from_mlflow_server_copies_every_entity(mlflow_source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    destination = f"sqlite:///{tmp_path / 'mlcask.db'}"
    monkeypatch.setenv("MLCASK_ARTIFACT_ROOT", str(tmp_path / "store-artifacts"))
    output = _import("--from", mlflow_source["url"], "--to", destination)
    assert f"tracking server {mlflow_source['url']}" in output
    counts = _counts(output)
    for kind, expected in _expected_counts(mlflow_source["dump"]).items():
        assert counts[kind][0] == expected, (kind, output)
    _assert_same(mlflow_source["dump"], _mlcask_dump(destination))
    remote = mlflow_source["ids"]["remote"]
    with sqlite3.connect(tmp_path / "mlcask.db") as connection:
        uri, = connection.execute("SELECT artifact_uri FROM runs WHERE run_uuid = ?", (remote,)).fetchone()
    assert uri.startswith(str(tmp_path / "store-artifacts"))
    assert (Path(uri) / "proxy" / "hello.txt").read_text() == "through the proxy"


@pytest.mark.slow
@pytest.mark.interop
def test_sign_seals_the_copied_models_and_a_taken_id_is_mapped(mlflow_source, tmp_path, monkeypatch):
    from mlcask.models.integrity import MANIFEST_FILE_NAME, verify_model
    from mlcask.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    destination = f"sqlite:///{tmp_path / 'mlcask.db'}"
    taken = MlflowClient(destination).create_experiment("mine")  # takes id 1, MLflow's "iris"
    output = _import("--from", mlflow_source["database"], "--to", destination, "--sign",
                     env={"MLFLOW_TRACKING_URI": mlflow_source["url"]})
    iris = MlflowClient(destination).get_experiment_by_name("iris")
    assert taken == mlflow_source["ids"]["experiment_id"] and iris.experiment_id != taken
    assert f"{taken} 'iris' -> {iris.experiment_id} (id {taken} is taken in the destination)" in output
    assert "Signed 2 model folder(s)" in output
    for model_id in (mlflow_source["ids"]["model_id"], mlflow_source["ids"]["model_id2"]):
        location = Path(MlflowClient(destination).get_logged_model(model_id).artifact_location)
        assert (location / MANIFEST_FILE_NAME).is_file()
        verification = verify_model(location)
        assert verification.trusted and verification.files_checked >= 5
    run = MlflowClient(destination).get_run(mlflow_source["ids"]["child"])
    assert run.info.experiment_id == iris.experiment_id


@pytest.mark.slow
@pytest.mark.interop
def test_columns_and_tables_an_older_revision_lacks_read_as_empty(mlflow_source, tmp_path, monkeypatch):
    import shutil

    from mlcask.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    older = tmp_path / "older.db"
    shutil.copy(mlflow_source["folder"] / "mlflow.db", older)
    with sqlite3.connect(older) as connection:  # as before 2.x's experiment times, 3.0's logged models, inputs.step
        for statement in ("DROP INDEX idx_experiments_workspace_creation_time",
                          "ALTER TABLE experiments DROP COLUMN creation_time",
                          "ALTER TABLE experiments DROP COLUMN last_update_time", "ALTER TABLE inputs DROP COLUMN step",
                          "DROP TABLE logged_model_metrics", "DROP TABLE logged_model_tags"):
            connection.execute(statement)
    destination = f"sqlite:///{tmp_path / 'mlcask.db'}"
    counts = _counts(_import("--from", f"sqlite:///{older}", "--to", destination,
                             env={"MLFLOW_TRACKING_URI": mlflow_source["url"]}))
    dump = mlflow_source["dump"]
    assert counts["runs"][1] == len(dump["runs"]) and counts["logged models"][1] == len(dump["logged_models"])
    assert counts["metric points"][1] == sum(len(r["metrics"]) for r in dump["runs"].values())
    client = MlflowClient(destination)
    iris = client.get_experiment_by_name("iris")
    assert iris.creation_time is None and iris.tags == dump["experiments"][iris.experiment_id]["tags"]
    model = client.get_logged_model(mlflow_source["ids"]["model_id"])
    assert model.tags == {} and model.params == dump["logged_models"][model.model_id]["params"]
    assert all(m.model_id is None for m in client.get_metric_history(mlflow_source["ids"]["child"], "val_accuracy"))


@pytest.mark.slow
@pytest.mark.interop
def test_import_from_mlflow_on_postgresql_copies_every_entity(postgres_mlflow_source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    destination = f"sqlite:///{tmp_path / 'mlcask.db'}"
    output = _import("--from", postgres_mlflow_source["uri"], "--to", destination)
    counts = _counts(output)
    for kind, expected in _expected_counts(postgres_mlflow_source["dump"]).items():
        assert counts[kind][0] == expected, (kind, output)
    _assert_same(postgres_mlflow_source["dump"], _mlcask_dump(destination))


def _bulk_store(folder: Path, runs: int) -> str:
    """An mlcask store of ``runs`` runs with params, a 20-step metric and an artifact each."""
    from mlcask.entities import Metric, Param
    from mlcask.tracking import MlflowClient

    uri = f"sqlite:///{folder / 'bulk.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("bulk", artifact_location=str(folder / "bulk-artifacts"))
    for number in range(runs):
        run = client.create_run(experiment, run_name=f"bulk-{number}", start_time=1_700_000_000_000 + number)
        client.log_batch(run.info.run_id, params=[Param("n", str(number))],
                         metrics=[Metric("score", number + s / 10, 1_700_000_000_000 + s, s) for s in range(20)])
        client.log_text(run.info.run_id, f"run {number}", "out/number.txt")
    return uri


@pytest.mark.slow
def test_an_import_killed_midway_continues_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLCASK_ARTIFACT_ROOT", str(tmp_path / "dest-artifacts"))
    total = 250
    source = _bulk_store(tmp_path, total)
    destination = tmp_path / "dest.db"
    command = [sys.executable, "-c", "import sys; from mlcask.cli import cli; sys.exit(cli())", "db", "import",
               "--from", source, "--to", f"sqlite:///{destination}"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLCASK_TRACKING")},
           "MLCASK_ARTIFACT_ROOT": str(tmp_path / "dest-artifacts"), "PYTHONPATH": str(REPO_ROOT / "src")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    copied = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(destination, timeout=1) as connection:
                copied = connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            copied = 0
        if copied >= 20:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    with sqlite3.connect(destination) as connection:
        runs, = connection.execute("SELECT COUNT(*) FROM runs").fetchone()
        points, = connection.execute("SELECT COUNT(*) FROM metrics").fetchone()
    assert 20 <= runs < total and points == runs * 20  # whole runs only

    output = _import("--from", source, "--to", f"sqlite:///{destination}")
    counts = _counts(output)
    assert counts["runs"] == (total, total - runs, runs)
    assert counts["metric points"] == (total * 20, (total - runs) * 20, runs * 20)
    assert counts["artifact files"][0] == total
    with sqlite3.connect(destination) as connection:
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == total
        assert connection.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == total * 20
        uris = [row[0] for row in connection.execute("SELECT artifact_uri FROM runs")]
    assert sorted(Path(u, "out", "number.txt").read_text() for u in uris) == sorted(f"run {n}" for n in range(total))


def test_import_into_sqlite_and_postgresql_keeps_ids_and_new_ids_follow(store_uri, tmp_path, monkeypatch):
    from mlcask.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    source = _bulk_store(tmp_path, 3)
    source_client = MlflowClient(source)
    source_client.create_experiment("gap")  # id 2
    source_client.delete_experiment(source_client.create_experiment("third"))  # id 3, deleted
    source_client.set_experiment_tag("0", "origin", "source")
    source_client.set_experiment_tag("0", "mine", "theirs")
    monkeypatch.setenv("MLCASK_ARTIFACT_ROOT", str(tmp_path / "dest-artifacts"))
    client = MlflowClient(store_uri)
    client.set_experiment_tag("0", "mine", "kept")
    counts = _counts(_import("--from", source, "--to", store_uri))
    assert counts["runs"] == (3, 3, 0) and counts["experiments"] == (4, 3, 1)
    assert counts["artifact files"] == (3, 3, 0) and counts["tags"][:2] == (2 + 3 * 1, 1 + 3 * 1)
    assert client.get_experiment("0").tags == {"mine": "kept", "origin": "source"}  # "Default" merges
    assert _counts(_import("--from", source, "--to", store_uri))["tags"][1] == 0
    assert client.get_experiment_by_name("third").experiment_id == "3"
    assert client.get_experiment_by_name("third").lifecycle_stage == "deleted"
    assert client.create_experiment("after the import") == "4"  # the id sequence moved past the imported ids
    for run in source_client.search_runs(["1"]):
        copied = client.get_run(run.info.run_id)
        assert copied.data.params == run.data.params and copied.info.start_time == run.info.start_time
        assert [m.value for m in client.get_metric_history(run.info.run_id, "score")] == [
            m.value for m in source_client.get_metric_history(run.info.run_id, "score")]


@pytest.mark.slow
def test_artifacts_move_from_and_to_s3(s3_server, tmp_path, monkeypatch):
    from mlcask.entities import Metric
    from mlcask.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    s3_server.apply_env(monkeypatch)
    source_bucket, destination_bucket = s3_server.new_bucket(), s3_server.new_bucket()
    source = f"sqlite:///{tmp_path / 'source.db'}"
    client = MlflowClient(source)
    experiment = client.create_experiment("on-s3", artifact_location=f"s3://{source_bucket}/exp")
    run = client.create_run(experiment, run_name="r")
    client.log_batch(run.info.run_id, metrics=[Metric("m", 1.0, 1, 0)])
    client.log_text(run.info.run_id, "on s3", "deep/er/file.txt")
    monkeypatch.setenv("MLCASK_ARTIFACT_ROOT", f"s3://{destination_bucket}/imported")
    destination = f"sqlite:///{tmp_path / 'dest.db'}"
    counts = _counts(_import("--from", source, "--to", destination))
    assert counts["artifact files"] == (1, 1, 0) and counts["artifact bytes"] == (5, 5, 0)
    copied = MlflowClient(destination).get_run(run.info.run_id)
    assert copied.info.artifact_uri == f"s3://{destination_bucket}/imported/1/{run.info.run_id}/artifacts"
    assert s3_server.keys(destination_bucket) == [f"imported/1/{run.info.run_id}/artifacts/deep/er/file.txt"]
    assert MlflowClient(destination).download_artifacts(run.info.run_id, "deep/er/file.txt", str(tmp_path)) and (
        tmp_path / "file.txt").read_text() == "on s3"


# -- refusals (no MLflow needed) ---------------------------------------------------------------------

def test_refuses_a_missing_database_a_foreign_one_and_a_server_destination(tmp_path, monkeypatch):
    from mlcask.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    missing = runner.invoke(cli, ["db", "import", "--from", f"sqlite:///{tmp_path / 'nope.db'}",
                                  "--to", f"sqlite:///{tmp_path / 'm.db'}"])
    assert missing.exit_code == 1 and "No MLflow database at" in missing.output and "does not exist" in missing.output
    with sqlite3.connect(tmp_path / "other.db") as connection:
        connection.execute("CREATE TABLE things (x INTEGER)")
    foreign = runner.invoke(cli, ["db", "import", "--from", f"sqlite:///{tmp_path / 'other.db'}",
                                  "--to", f"sqlite:///{tmp_path / 'm.db'}"])
    assert foreign.exit_code == 1 and "is not an MLflow tracking database" in foreign.output
    assert "things" in foreign.output
    server = runner.invoke(cli, ["db", "import", "--from", f"sqlite:///{tmp_path / 'other.db'}",
                                 "--to", "http://127.0.0.1:5000"])
    assert server.exit_code == 2 and "is a tracking server" in server.output
    MlflowClient(f"sqlite:///{tmp_path / 'm.db'}").create_experiment("here")
    same = runner.invoke(cli, ["db", "import", "--from", f"sqlite:///{tmp_path / 'm.db'}",
                               "--to", f"sqlite:///{tmp_path / 'm.db'}"])
    assert same.exit_code == 1 and "the same store" in same.output


def test_the_mlflow_database_refusal_names_the_import_command(tmp_path):
    from mlcask.tracking.store.db import DatabaseError, check_existing

    path = tmp_path / "mlflow.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES ('dc11669786a5')")
        for table in ("experiments", "runs", "metrics", "params"):
            connection.execute(f"CREATE TABLE {table} (x INTEGER)")
    with pytest.raises(DatabaseError) as raised:
        check_existing(f"sqlite:///{path}")
    assert f"mlcask db import --from sqlite:///{path} --to <mlcask tracking URI>" in str(raised.value)
