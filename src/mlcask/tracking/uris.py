"""``runs:/``, ``models:/`` and remote artifact URIs, resolved to local model folders.

- ``runs:/<run_id>/<path>``: a path in the run's artifacts, or the model logged by that
  run under that name.
- ``models:/...``: a logged model or a registered model version; the grammar is
  :func:`mlcask.models.uri.parse_models_uri`, the one parser every caller uses.
- ``s3://``, ``mlflow-artifacts:`` and ``http(s)://`` model folders (and any of the above
  whose files live there) are downloaded into a private cache
  (:mod:`mlcask.tracking.downloads`) and then loaded, and verified, like local ones.
"""

from __future__ import annotations

from pathlib import Path

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException, ModelNotFoundError
from mlcask.models.uri import is_models_uri, parse_models_uri
from mlcask.tracking.artifacts import clean_relative_path, get_artifact_repository, is_local_uri, local_path_of
from mlcask.tracking.context import current_client as _client
from mlcask.tracking.protocols import ArtifactRepository
from mlcask.tracking.runs_uri import split_runs_uri

MAX_SOURCE_HOPS = 3
REMOTE_MODEL_SCHEMES = ("s3", "mlflow-artifacts", "http", "https")


def local_model_folder(artifact_uri: str, tracking_uri: str | None = None) -> Path:
    """The local folder of a model stored at ``artifact_uri``: itself when local, else a verified-on-load
    copy in the private download cache."""
    if is_local_uri(artifact_uri):
        return local_path_of(artifact_uri)
    from mlcask.tracking.downloads import download_model

    return download_model(artifact_uri, tracking_uri or _client().tracking_uri)


def _remote_entry_exists(repository: ArtifactRepository, path: str) -> bool:
    parent = path.rpartition("/")[0] or None
    return any(info.path.rstrip("/") == path for info in repository.list_artifacts(parent))


def resolve_runs_uri(uri: str) -> Path:
    run_id, path = split_runs_uri(uri)
    client = _client()
    run = client.get_run(run_id)
    location = run.info.artifact_uri
    if path and is_local_uri(location):
        candidate = get_artifact_repository(location).local_path(path)
        if candidate.exists():
            return candidate
    elif path and _remote_entry_exists(get_artifact_repository(location, client.tracking_uri), path):
        return local_model_folder(f"{location.rstrip('/')}/{path}", client.tracking_uri)
    for model in client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run_id}'", max_results=1000):
        if model.name == path or not path:
            return local_model_folder(model.artifact_location, client.tracking_uri)
    # MLflow's sentence first (what its users match on), then where mlcask looked.
    raise MlcaskException(f"Failed to download artifacts from path {path!r}, please ensure that the path is correct "
                          f"(run {run_id} has no artifact or logged model at '{path}', {uri}).",
                          error_code=RESOURCE_DOES_NOT_EXIST)


def resolve_models_uri(uri: str, _depth: int = 0) -> Path:
    """The local folder of the logged model or registered model version at ``uri``."""
    from mlcask.models.uri import resolve_model_path
    from mlcask.tracking.registry.source_policy import check_source

    parsed = parse_models_uri(uri)
    client = _client()
    if parsed.model_id:
        folder = local_model_folder(client.get_logged_model(parsed.model_id).artifact_location, client.tracking_uri)
        return _inside(folder, parsed.path, uri) if parsed.path else folder
    number = parsed.version if parsed.version is not None else client.model_version_of(parsed).version
    source = client.get_model_version_download_uri(parsed.name, number)
    if _depth > MAX_SOURCE_HOPS:
        raise InvalidArgumentError(f"Model URI {uri!r} refers to itself through its registry sources.")
    # Checked again here: a row may predate the checks at registration, or be written by other tools.
    check_source(source)
    folder = (resolve_models_uri(source, _depth + 1) if is_models_uri(source)
              else resolve_model_path(source))
    return _inside(folder, parsed.path, uri) if parsed.path else folder


def _inside(folder: Path, path: str, uri: str) -> Path:
    inside = folder / clean_relative_path(path, f"path inside the model of {uri!r}")
    if not inside.exists():
        raise ModelNotFoundError(f"No '{path}' in the files of {uri!r} (at '{folder}').")
    return inside


def resolve_remote_uri(uri: str) -> Path:
    """A model folder at an ``s3://``, ``mlflow-artifacts:`` or ``http(s)://`` URI, downloaded."""
    return local_model_folder(uri)


def register() -> None:
    from mlcask.models.uri import register_scheme

    register_scheme("runs", resolve_runs_uri)
    register_scheme("models", resolve_models_uri)
    for scheme in REMOTE_MODEL_SCHEMES:
        register_scheme(scheme, resolve_remote_uri)
