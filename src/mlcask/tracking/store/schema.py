"""The tracking and registry database: every table, as SQLAlchemy Core metadata.

The layout follows MLflow's SQL store closely (table and column names), so that a
person who knows one knows the other. Changes go through an Alembic migration in
``migrations/versions``; never edit a table here without one.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    union_all,
)
from sqlalchemy.sql import Subquery

metadata = MetaData()

experiments = Table(
    "experiments", metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("artifact_location", String(1000)),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    Column("creation_time", BigInteger),
    Column("last_update_time", BigInteger),
)

experiment_tags = Table(
    "experiment_tags", metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", String(5000)),
    PrimaryKeyConstraint("experiment_id", "key"),
)

runs = Table(
    "runs", metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("name", String(250)),
    Column("user_id", String(256)),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("deleted_time", BigInteger),
    Column("lifecycle_stage", String(20), nullable=False, default="active"),
    Column("artifact_uri", String(1000)),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Index("index_runs_experiment_id_start_time", "experiment_id", "start_time"),
)

tags = Table(
    "tags", metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", String(8000)),
    PrimaryKeyConstraint("run_uuid", "key"),
)

params = Table(
    "params", metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", String(8000), nullable=False),
    PrimaryKeyConstraint("run_uuid", "key"),
)

# Every logged value (the full history). A surrogate key keeps inserts cheap and lets
# the same (key, step, timestamp) be logged twice, as MLflow allows.
metrics = Table(
    "metrics", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(53), nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False, default=0),
    Column("model_id", String(64)),
    Column("dataset_name", String(500)),
    Column("dataset_digest", String(36)),
    Index("index_metrics_run_uuid_key_step", "run_uuid", "key", "step"),
)
# The values logged for a model (few beside a run's history): a partial index, which a value logged
# for no model does not touch.
Index("index_metrics_model_id", metrics.c.model_id, sqlite_where=metrics.c.model_id.is_not(None),
      postgresql_where=metrics.c.model_id.is_not(None))

# The value shown for a run and used by search: the one with the highest (step, timestamp).
latest_metrics = Table(
    "latest_metrics", metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(53), nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_uuid", "key"),
)

datasets = Table(
    "datasets", metadata,
    Column("dataset_uuid", String(36), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("dataset_source_type", String(36), nullable=False),
    Column("dataset_source", Text, nullable=False),
    Column("dataset_schema", Text),
    Column("dataset_profile", Text),
    UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_experiment_name_digest"),
)

inputs = Table(
    "inputs", metadata,
    Column("input_uuid", String(36), primary_key=True),
    Column("source_type", String(36), nullable=False),       # "DATASET" or "MODEL"
    Column("source_id", String(64), nullable=False),         # dataset_uuid or model_id
    Column("destination_type", String(36), nullable=False),  # "RUN"
    Column("destination_id", String(36), nullable=False),    # run_uuid
    Column("step", BigInteger, nullable=False, server_default="0"),  # of a model output: the run's step
    UniqueConstraint("source_type", "source_id", "destination_type", "destination_id", name="uq_inputs_link"),
    Index("index_inputs_destination", "destination_type", "destination_id"),
)

input_tags = Table(
    "input_tags", metadata,
    Column("input_uuid", String(36), ForeignKey("inputs.input_uuid", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("value", String(500), nullable=False),
    PrimaryKeyConstraint("input_uuid", "name"),
)

logged_models = Table(
    "logged_models", metadata,
    Column("model_id", String(64), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", String(1000), nullable=False),
    Column("creation_timestamp_ms", BigInteger, nullable=False),
    Column("last_updated_timestamp_ms", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    Column("model_type", String(500)),
    Column("source_run_id", String(32)),
    Index("index_logged_models_experiment_id", "experiment_id"),
    Index("index_logged_models_source_run_id", "source_run_id"),
)

logged_model_tags = Table(
    "logged_model_tags", metadata,
    Column("model_id", String(64), ForeignKey("logged_models.model_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key"),
)

logged_model_params = Table(
    "logged_model_params", metadata,
    Column("model_id", String(64), ForeignKey("logged_models.model_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key"),
)

# The run's metric values a logged model was logged at (``log_model(step=N)`` links those at step N):
# links to rows of ``metrics``, so the run's history keeps each value once. Values logged for a model
# (``log_metric(model_id=...)``) carry the model in ``metrics.model_id`` instead.
logged_model_metrics = Table(
    "logged_model_metrics", metadata,
    Column("model_id", String(64), ForeignKey("logged_models.model_id", ondelete="CASCADE"), nullable=False),
    Column("metric_id", Integer, ForeignKey("metrics.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("model_id", "metric_id"),
    Index("index_logged_model_metrics_metric_id", "metric_id"),
)

def model_metric_values(name: str = "model_metric_values") -> Subquery:
    """Every metric value of every logged model, with the columns of ``metrics`` (``model_id`` is the
    model's): the values logged for a model, and the run's values linked to it by ``logged_model_metrics``.
    What a logged model's ``metrics`` are, and what a search of logged models by metric reads."""
    columns = [c for c in metrics.c if c.name != "model_id"]
    logged = select(*columns, metrics.c.model_id).where(metrics.c.model_id.is_not(None))
    linked = (select(*columns, logged_model_metrics.c.model_id)
              .join_from(logged_model_metrics, metrics, metrics.c.id == logged_model_metrics.c.metric_id))
    return union_all(logged, linked).subquery(name)


# -- model registry --------------------------------------------------------------------
registered_models = Table(
    "registered_models", metadata,
    Column("name", String(256), primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", String(5000)),
)

registered_model_tags = Table(
    "registered_model_tags", metadata,
    Column("name", String(256), ForeignKey("registered_models.name", onupdate="CASCADE", ondelete="CASCADE"),
           nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", String(5000)),
    PrimaryKeyConstraint("name", "key"),
)

model_versions = Table(
    "model_versions", metadata,
    Column("name", String(256), ForeignKey("registered_models.name", onupdate="CASCADE", ondelete="CASCADE"),
           nullable=False),
    Column("version", Integer, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", String(5000)),
    Column("user_id", String(256)),
    Column("current_stage", String(20), nullable=False, default="None"),
    Column("source", String(500)),
    Column("run_id", String(32)),
    Column("model_id", String(64)),
    Column("status", String(20), nullable=False, default="READY"),
    Column("status_message", String(500)),
    PrimaryKeyConstraint("name", "version"),
)

model_version_tags = Table(
    "model_version_tags", metadata,
    Column("name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", String(5000)),
    PrimaryKeyConstraint("name", "version", "key"),
    ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"],
                         onupdate="CASCADE", ondelete="CASCADE"),
)

registered_model_aliases = Table(
    "registered_model_aliases", metadata,
    Column("name", String(256), ForeignKey("registered_models.name", onupdate="CASCADE", ondelete="CASCADE"),
           nullable=False),
    Column("alias", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("name", "alias"),
)
