"""A scikit-learn model pinning an older scikit-learn than the one installed, and its uv environment
(built once per session under the session's MLCASK_HOME; uv's own download cache is the machine's)."""

from __future__ import annotations

import pytest

# Versions with wheels for CPython 3.11 that go together (scikit-learn 1.5.2 predates numpy 2.3).
OLD_PINS = ["numpy==1.26.4", "pandas==2.2.3", "scikit-learn==1.5.2", "scipy==1.13.1", "skops==0.16.0"]


@pytest.fixture(scope="session")
def old_sklearn_model(tmp_path_factory, iris_classifier):
    """An iris LogisticRegression saved by mlcask with requirements pinning scikit-learn 1.5.2."""
    import mlcask.sklearn

    X, model = iris_classifier
    path = tmp_path_factory.mktemp("old-sklearn") / "model"
    mlcask.sklearn.save_model(model, path, input_example=X.head(3), pip_requirements=OLD_PINS)
    return path


@pytest.fixture(scope="session")
def pinned_runtime_wheel(tmp_path_factory):
    """One runtime wheel for the session (MLCASK_RUNTIME_WHEEL), so that edits to mlcask's files made while
    the tests run do not change the environments' keys between two prepares of a test."""
    import os

    from mlcask.environments import runtime_wheel
    from mlcask.environments.wheel import RUNTIME_WHEEL_ENV

    wheel = runtime_wheel(tmp_path_factory.mktemp("runtime-wheel"))
    before = os.environ.get(RUNTIME_WHEEL_ENV)
    os.environ[RUNTIME_WHEEL_ENV] = str(wheel)
    yield wheel
    if before is None:
        os.environ.pop(RUNTIME_WHEEL_ENV, None)
    else:
        os.environ[RUNTIME_WHEEL_ENV] = before


@pytest.fixture(scope="session")
def uv_env(old_sklearn_model, pinned_runtime_wheel):
    """The model's uv environment (the first build takes some seconds; later prepares reuse it)."""
    import shutil

    from mlcask.environments import prepare_environment

    prepared = prepare_environment(old_sklearn_model, "uv")
    yield prepared
    shutil.rmtree(prepared.path, ignore_errors=True)
