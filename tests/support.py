"""Helpers shared by test modules: pointing the fluent API at a store and resetting it
(for fixtures of any scope), reading back what an autologged run logged, and a small
custom model whose pickle loads only where it is trusted."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator

import numpy as np
import pytest

import mlcask


class Doubler(mlcask.pyfunc.PythonModel):
    """A custom model (a pickled ``python_model``): predicts twice its input."""

    def predict(self, context, model_input, params=None):
        return np.asarray(model_input) * 2


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def point_fluent_at(uri: str) -> None:
    """Make the fluent API use the store at ``uri``, with no cached store or client."""
    from mlcask.tracking import context

    context.forget_clients()
    context.set_tracking_uri(uri)


def reset_fluent() -> None:
    """End any active run and forget the tracking URI, experiment and cached stores."""
    from mlcask.tracking import context, fluent

    while fluent.active_run() is not None:
        fluent.end_run()
    context.reset()


# -- reading back what an autologged training logged (XGBoost and LightGBM tests) ------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def only_run():
    """The one run of the current store (asserts there is exactly one)."""
    import mlcask

    runs = mlcask.search_runs(output_format="list")
    assert len(runs) == 1
    return runs[0]


def history(run_id, key):
    """(step, value) pairs of a metric's history."""
    import mlcask

    return [(m.step, m.value) for m in mlcask.MlflowClient().get_metric_history(run_id, key)]


def artifact(run, path):
    """The bytes of one of the run's artifacts."""
    from mlcask.tracking.artifacts import local_path_of

    return (local_path_of(run.info.artifact_uri) / path).read_bytes()


def logged_models(run):
    """The logged models whose source run is ``run``."""
    import mlcask

    return mlcask.MlflowClient().search_logged_models([run.info.experiment_id], f"source_run_id = '{run.info.run_id}'")


# -- headless Chromium for the pages' tests (Debian's /usr/bin/chromium through Playwright, never a download) --
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def need_browser() -> None:
    """Skip the test without Playwright or Chromium (fail in CI, where scripts/test installs them)."""
    import pytest

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package"
    else:
        missing = None if CHROMIUM else "/usr/bin/chromium"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI, but {missing} is missing (scripts/test installs it)")
        pytest.skip(f"{missing} is not installed (scripts/test installs it)")


@contextlib.contextmanager
def headless_chromium() -> Iterator:
    """Debian's Chromium, headless, through Playwright (skipped without them, failed in CI); closed after."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def invoke_cli(uri: str, *args: str) -> tuple[int, str]:
    """Run ``mlcask <args> --tracking-uri <uri>`` in process: its exit code and output (never a traceback)."""
    from click.testing import CliRunner

    from mlcask.cli import cli

    result = CliRunner().invoke(cli, [*args, "--tracking-uri", uri])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def postgres_test_uri() -> str:
    """The test PostgreSQL server (``MLCASK_TEST_POSTGRES_URI``, which ``scripts/test`` sets after
    starting one): the test is skipped locally without it, and fails in CI."""
    uri = os.environ.get("MLCASK_TEST_POSTGRES_URI")
    if not uri:
        if os.environ.get("CI"):
            pytest.fail("MLCASK_TEST_POSTGRES_URI is not set in CI: scripts/test starts PostgreSQL and sets it")
        pytest.skip("no PostgreSQL server (set MLCASK_TEST_POSTGRES_URI, or run scripts/test)")
    return uri


@contextlib.contextmanager
def postgres_database(prefix: str = "mlcask_test") -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server (see :func:`postgres_test_uri`), dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    from mlcask.tracking.store import db

    uri = postgres_test_uri()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield uri.rsplit("/", 1)[0] + "/" + name
    finally:
        db.dispose_all()  # this process's pooled connections would keep the database open
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_scenario_both_ways(scenario: str, tmp_path, tracking_state, *,
                           imports: tuple[str, str] = ("import mlflow", "import mlcask as mlflow"),
                           after=None) -> tuple[dict, dict]:
    """Run ``scenario`` (code with ``{imports}`` and ``{uri}`` placeholders that leaves a JSON-able
    dict in ``printed``) with real MLflow in its own venv, then here with mlcask; returns
    ``(MLflow's printed, mlcask's printed)``. ``after`` runs once mlcask's run is done (e.g. to
    turn autologging off), whatever happened."""
    import json

    from bench.mlflow_env import run_in_mlflow

    code = scenario.format(imports=imports[0], uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    theirs = json.loads(run_in_mlflow(code + "\nimport json\nprint(json.dumps(printed))\n",
                                      cwd=tmp_path).strip().splitlines()[-1])
    mlcask_uri = f"sqlite:///{tmp_path / 'mlcask.db'}"
    tracking_state(mlcask_uri, tmp_path / "artifacts")
    scope: dict = {"__name__": "scenario"}
    try:
        exec(compile(scenario.format(imports=imports[1], uri=mlcask_uri), "scenario", "exec"), scope)
    finally:
        if after is not None:
            after()
    return theirs, json.loads(json.dumps(scope["printed"]))
