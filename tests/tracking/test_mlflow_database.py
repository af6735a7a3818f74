"""A tracking database that real MLflow created is recognised as MLflow's, by the API and by
every command, and left exactly as it was."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from click.testing import CliRunner

from mlcask.cli import cli
from mlcask.tracking.store import db

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def mlflow_database(tmp_path_factory):
    """A SQLite store MLflow created and logged a run into; returns (uri, MLflow's schema revision)."""
    from bench.mlflow_env import run_in_mlflow

    folder = tmp_path_factory.mktemp("mlflow-store")
    path = folder / "mlflow.db"
    run_in_mlflow(f"""
        import mlflow
        mlflow.set_tracking_uri("sqlite:///{path}")
        with mlflow.start_run():
            mlflow.log_param("max_depth", 6)
            mlflow.log_metric("accuracy", 0.95)
    """, cwd=folder)
    with sqlite3.connect(path) as connection:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    return path, revision


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _says_it_is_mlflows(message, path, revision):
    assert f"'sqlite:///{path}' is an MLflow tracking database (MLflow schema revision {revision})" in message
    assert f"mlcask db import --from sqlite:///{path}" in message and "mlflow ui --backend-store-uri" in message
    assert "older" not in message and "mlcask db upgrade" not in message


def test_the_store_says_it_is_an_mlflow_database(mlflow_database):
    import mlcask

    path, revision = mlflow_database
    before = _digest(path)
    db.dispose_all()
    with pytest.raises(db.DatabaseError) as error:
        mlcask.MlflowClient(f"sqlite:///{path}").search_experiments()
    _says_it_is_mlflows(str(error.value), path, revision)
    assert _digest(path) == before


@pytest.mark.parametrize("args", [["experiments", "list"], ["runs", "list"], ["models", "list", "--registered"],
                                  ["models", "describe", "-m", "models:/cancer/1"]], ids=" ".join)
def test_read_only_commands_say_it_is_an_mlflow_database(mlflow_database, args):
    path, revision = mlflow_database
    before = _digest(path)
    result = CliRunner().invoke(cli, [*args, "--tracking-uri", f"sqlite:///{path}"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    _says_it_is_mlflows(result.output, path, revision)
    assert _digest(path) == before


def test_db_upgrade_refuses_an_mlflow_database_and_leaves_it_alone(mlflow_database):
    path, revision = mlflow_database
    before = _digest(path)
    result = CliRunner().invoke(cli, ["db", "upgrade", f"sqlite:///{path}"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    _says_it_is_mlflows(result.output, path, revision)
    assert _digest(path) == before
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (revision,)
