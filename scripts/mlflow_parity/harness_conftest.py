"""The harness's conftest, written as ``tests/conftest.py`` of the working copy.

It replaces MLflow's (which imports MLflow internals) with the generic fixtures MLflow's modules
expect, built on mlcask's public API only:

- every test gets its own SQLite tracking store in a temporary folder (artifacts beside it), unless
  it is marked ``notrackingurimock``; afterwards runs left open are ended and the tracking context
  (URIs, active experiment, last run, last logged model) is reset;
- ``tracking_uri_mock`` (that URI), ``tmp_sqlite_uri``, ``reset_active_experiment``,
  ``reset_mlflow_uri`` by the names MLflow's modules ask for;
- helpers of MLflow's ``tests/helper_functions.py`` that need an environment the harness does not
  give (scoring server, Docker, PyPI) are replaced by placeholders (``rules.SET_ASIDE_HELPERS``);
  ``pyfunc_serve_and_score_model`` scores through mlcask's scoring app in-process instead
  (``serving.serve_and_score``), unless ``PARITY_SERVING=off``.
"""

from __future__ import annotations

import os
import sys

import pytest

import mlcask
from mlflow_parity import placeholders, rules, serving

_ENV = ("MLFLOW_TRACKING_URI", "MLCASK_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLCASK_REGISTRY_URI",
        "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID", "MLCASK_ARTIFACT_ROOT",
        # state a test may switch on (MLflow's own conftest resets it between tests too)
        "MLFLOW_ENABLE_ASYNC_LOGGING", "MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID")


def _set_aside_helpers() -> None:
    try:
        import tests.helper_functions as helpers
    except Exception:  # the module's own imports are guarded; nothing else to do
        return
    for name, why in rules.SET_ASIDE_HELPERS.items():
        if hasattr(helpers, name):
            setattr(helpers, name, placeholders.set_aside_helper(
                f"tests.helper_functions.{name}", rules.ENVIRONMENT, why))
    if os.environ.get("PARITY_SERVING", "inprocess") == "inprocess":
        helpers.pyfunc_serve_and_score_model = serving.serve_and_score


_set_aside_helpers()


def pytest_configure(config: pytest.Config) -> None:
    for marker in ("notrackingurimock", "allow_infer_pip_requirements_fallback", "requires_ssh",
                   "classification", "no_mock_requests_get",
                   "do_not_disable_new_import_hook_firing_if_module_already_exists"):
        config.addinivalue_line("markers", marker)


def _end_leaked_runs() -> None:
    for _ in range(20):
        if mlcask.active_run() is None:
            return
        mlcask.end_run()


def _disable_autolog() -> None:
    for flavor in ("sklearn", "xgboost", "lightgbm", "pyspark.ml"):
        module = sys.modules.get(f"mlcask.{flavor}")
        autolog = getattr(module, "autolog", None)
        if autolog is not None:
            try:
                autolog(disable=True)
            except Exception:
                pass


@pytest.fixture(autouse=True)
def tracking_uri_mock(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """A fresh SQLite tracking store per test (artifacts beside it); None if ``notrackingurimock``."""
    from mlcask.tracking import context

    saved = {name: os.environ.get(name) for name in _ENV}
    root = tmp_path_factory.mktemp("store")
    uri = None
    if "notrackingurimock" not in request.keywords:
        os.environ["MLCASK_ARTIFACT_ROOT"] = str(root / "artifacts")
        uri = f"sqlite:///{root / 'mlflow.db'}"
        mlcask.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        try:
            _end_leaked_runs()
        finally:
            _disable_autolog()
            context.reset()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
def reset_active_experiment():
    yield


@pytest.fixture
def reset_mlflow_uri():
    yield


@pytest.fixture
def tmp_sqlite_uri(tmp_path):
    return f"sqlite:///{tmp_path / 'mlflow.db'}"
