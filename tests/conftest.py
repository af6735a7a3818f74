"""Shared fixtures: small trained models and the data they were trained on."""

from __future__ import annotations

import os
import tempfile

import pytest

# Keep BLAS/OpenMP to one thread: tests run beside other work on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The local signing key and digest cache of the test session live in a fresh folder, not
# in the developer's ~/.mlcask; keys and allowances from the environment are dropped.
os.environ["MLCASK_HOME"] = tempfile.mkdtemp(prefix="mlcask-test-home-")
# Remote models downloaded by tests land in a throwaway cache, not in ~/.cache/mlcask/models.
os.environ["MLCASK_MODEL_CACHE"] = tempfile.mkdtemp(prefix="mlcask-test-model-cache-")
for _name in ("MLCASK_SIGNING_KEY", "MLCASK_SIGNING_KEY_FILE", "MLCASK_TRUSTED_KEYS", "MLCASK_SIGNING",
              "MLCASK_ALLOW_PICKLE", "MLCASK_REQUIRE_SIGNATURE", "MLCASK_DIGEST_CACHE"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="module")
def s3_server():
    """moto's standalone S3 server on 127.0.0.1 (see tests/s3_server.py), for one test module."""
    from tests.s3_server import start_s3_server

    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole test session (tests/spark_session.py)."""
    from tests.spark_session import start_spark

    session = start_spark()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def iris_classifier():
    """The iris features (sklearn's column names) and a LogisticRegression fitted on them."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, LogisticRegression(max_iter=300).fit(X, y)


@pytest.fixture(scope="session")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def xgb_classifier(breast_cancer):
    from xgboost import XGBClassifier

    X, y = breast_cancer
    return XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(X, y)


@pytest.fixture(scope="session")
def logistic_regression(breast_cancer):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


@pytest.fixture
def tracking_state(monkeypatch):
    """Returns ``use(uri, artifact_root)`` pointing the fluent API at a store; afterwards no
    active run, experiment, tracking URI or cached store is left behind."""
    from tests.support import point_fluent_at, reset_fluent

    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)

    def use(uri, artifact_root):
        monkeypatch.setenv("MLCASK_ARTIFACT_ROOT", str(artifact_root))
        point_fluent_at(uri)
        return uri

    yield use
    reset_fluent()


@pytest.fixture
def tracking(tracking_state, tmp_path):
    """A fresh SQLite tracking store for the fluent API (tests/tracking runs PostgreSQL too)."""
    return tracking_state(f"sqlite:///{tmp_path}/t.db", tmp_path / "artifacts")
