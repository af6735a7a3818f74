"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL server.

PostgreSQL comes from ``MLCASK_TEST_POSTGRES_URI`` (``scripts/test`` starts a server
and sets it). Without it the PostgreSQL cases are skipped locally, and fail in CI.
"""

from __future__ import annotations

import pytest

from tests.support import postgres_test_uri

TABLES = (
    "model_version_tags", "registered_model_aliases", "model_versions", "registered_model_tags",
    "registered_models", "logged_model_params", "logged_model_tags", "logged_models", "input_tags", "inputs",
    "datasets", "latest_metrics", "metrics", "params", "tags", "runs", "experiment_tags", "experiments",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request, tmp_path):
    """A fresh, empty, migrated database URI."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mlcask.db'}"
        return
    uri = postgres_test_uri()
    import sqlalchemy as sa

    from mlcask.tracking.store.db import engine_for

    engine = engine_for(uri)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    yield uri


@pytest.fixture
def artifact_root(tmp_path):
    root = tmp_path / "artifacts"
    root.mkdir()
    return root


@pytest.fixture
def tracking(store_uri, artifact_root, tracking_state):
    """Point the fluent API at a fresh store (SQLite and PostgreSQL)."""
    return tracking_state(store_uri, artifact_root)
