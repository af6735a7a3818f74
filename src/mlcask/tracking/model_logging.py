"""``log_model`` for every flavor: save the model as a logged model of the active run.

A flavor's ``log_model`` hands over a ``save(path, mlflow_model) -> ModelInfo`` callable; this module
creates the logged model record (``models:/<model_id>``), saves the folder in a private
local staging folder, uploads it through the logged model's artifact repository (local,
S3 or a tracking server's proxy: a reader sees the whole folder or none of it), marks the
model READY (or FAILED), and registers it when asked.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlcask.entities import LoggedModelOutput, LoggedModelStatus
from mlcask.models.model import Model, ModelInfo
from mlcask.tracking.artifacts import LocalArtifactRepository, clean_relative_path, get_artifact_repository
from mlcask.tracking.protocols import ArtifactRepository


def log_model(
    save: Callable[[str, Model], ModelInfo],
    *,
    name: str | None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    flavor: str | None = None,
) -> ModelInfo:
    """Log a model into the active run (a run is started if none is active)."""
    from mlcask.tracking import fluent
    from mlcask.tracking.context import current_client

    if name is not None and artifact_path is not None and name != artifact_path:
        from mlcask.exceptions import InvalidArgumentError

        raise InvalidArgumentError(f"Give name or artifact_path (the same thing), not two different values: "
                                   f"name={name!r}, artifact_path={artifact_path!r}.")
    model_name = clean_relative_path(name or artifact_path or "model", "model name") or "model"
    client = current_client()
    run = fluent.active_run()
    started_here = run is None
    if started_here:
        run = fluent.start_run()
    run_id = run.info.run_id
    try:
        logged = client.create_logged_model(
            run.info.experiment_id, model_name, run_id,
            tags={**({"mlflow.source.type": "LOCAL"}), **{k: str(v) for k, v in (tags or {}).items()}},
            params={k: str(v) for k, v in (params or {}).items()},
            model_type=model_type or flavor,
        )
        mlflow_model = Model(artifact_path=model_name, run_id=run_id, model_id=logged.model_id)
        try:
            info = _save_into(get_artifact_repository(logged.artifact_location, client.tracking_uri), save,
                              mlflow_model)
        except BaseException:
            client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
            raise
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id)])
        info.model_uri = f"models:/{logged.model_id}"
        if registered_model_name:
            version = fluent.register_model(info.model_uri, registered_model_name)
            info.registered_model_version = int(version.version)
        return info
    finally:
        if started_here:
            fluent.end_run()


def _save_into(repository: ArtifactRepository, save: Callable[[str, Model], ModelInfo], mlflow_model: Model) -> ModelInfo:
    """Save the model folder into ``repository``'s root.

    A local repository is written in place: saving already stages the folder next to its
    destination and renames it whole (so a killed writer leaves nothing in shared temp
    folders). Any other repository gets the folder staged in a private local folder and
    uploaded through it.
    """
    if isinstance(repository, LocalArtifactRepository):
        return save(str(repository.local_path("")), mlflow_model)
    staging = Path(tempfile.mkdtemp(prefix="mlcask-log-model-"))
    try:
        info = save(str(staging / "model"), mlflow_model)
        repository.log_artifacts(staging / "model")
        return info
    finally:
        shutil.rmtree(staging, ignore_errors=True)
