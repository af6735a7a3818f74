"""The tag keys MLflow reserves (``mlflow.utils.mlflow_tags``), for the runs, models and datasets
mlcask records: code written against MLflow's names finds the same keys here."""

from __future__ import annotations

__all__ = [
    "MLFLOW_ARTIFACT_LOCATION", "MLFLOW_AUTOLOGGING", "MLFLOW_DATASET_CONTEXT", "MLFLOW_DOCKER_IMAGE_ID",
    "MLFLOW_DOCKER_IMAGE_URI", "MLFLOW_EXPERIMENT_SOURCE_ID", "MLFLOW_EXPERIMENT_SOURCE_TYPE", "MLFLOW_GIT_BRANCH",
    "MLFLOW_GIT_COMMIT", "MLFLOW_GIT_DIFF", "MLFLOW_GIT_DIRTY", "MLFLOW_GIT_REPO_URL", "MLFLOW_LOGGED_ARTIFACTS",
    "MLFLOW_LOGGED_IMAGES", "MLFLOW_LOGGED_MODELS", "MLFLOW_MODEL_IS_EXTERNAL", "MLFLOW_MODEL_VERSIONS",
    "MLFLOW_PARENT_RUN_ID", "MLFLOW_PROJECT_ENTRY_POINT", "MLFLOW_PROJECT_ENV", "MLFLOW_RUN_NAME", "MLFLOW_RUN_NOTE",
    "MLFLOW_RUN_SOURCE_TYPE", "MLFLOW_RUN_TYPE", "MLFLOW_SOURCE_NAME", "MLFLOW_SOURCE_TYPE", "MLFLOW_USER",
]

MLFLOW_EXPERIMENT_SOURCE_ID = "mlflow.experiment.sourceId"
MLFLOW_EXPERIMENT_SOURCE_TYPE = "mlflow.experiment.sourceType"

MLFLOW_RUN_NAME = "mlflow.runName"
MLFLOW_RUN_NOTE = "mlflow.note.content"
"""The run's description (``start_run(description=...)``)."""
MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
MLFLOW_ARTIFACT_LOCATION = "mlflow.artifactLocation"
MLFLOW_USER = "mlflow.user"
MLFLOW_SOURCE_TYPE = "mlflow.source.type"
MLFLOW_SOURCE_NAME = "mlflow.source.name"
MLFLOW_GIT_COMMIT = "mlflow.source.git.commit"
MLFLOW_GIT_BRANCH = "mlflow.source.git.branch"
MLFLOW_GIT_DIRTY = "mlflow.source.git.dirty"
MLFLOW_GIT_REPO_URL = "mlflow.source.git.repoURL"
MLFLOW_GIT_DIFF = "mlflow.source.git.diff"
MLFLOW_LOGGED_MODELS = "mlflow.log-model.history"
MLFLOW_MODEL_IS_EXTERNAL = "mlflow.model.isExternal"
"""On a logged model whose artifacts live outside the store (``create_external_model``)."""
MLFLOW_MODEL_VERSIONS = "mlflow.modelVersions"
MLFLOW_PROJECT_ENV = "mlflow.project.env"
MLFLOW_PROJECT_ENTRY_POINT = "mlflow.project.entryPoint"
"""Set by MLflow Projects runs (``mlflow run``); read by code that looks at such runs."""
MLFLOW_DOCKER_IMAGE_URI = "mlflow.docker.image.uri"
MLFLOW_DOCKER_IMAGE_ID = "mlflow.docker.image.id"
MLFLOW_AUTOLOGGING = "mlflow.autologging"
MLFLOW_LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
MLFLOW_LOGGED_IMAGES = "mlflow.loggedImages"
MLFLOW_RUN_SOURCE_TYPE = "mlflow.runSourceType"
MLFLOW_RUN_TYPE = "mlflow.runType"
"""What made the run (``genai_evaluate`` for MLflow's evaluation runs, whose links are not printed)."""
MLFLOW_DATASET_CONTEXT = "mlflow.data.context"
"""On a run's dataset input: what the dataset was used for (``training``, ``eval``...)."""
