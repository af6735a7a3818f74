"""``runs:/`` and ``models:/`` URIs, resolved to local model folders through the stores.

- ``runs:/<run_id>/<path>``: a path in the run's artifacts, or the model logged by that
  run under that name.
- ``models:/...``: a logged model or a registered model version; the grammar is
  :func:`mlcask.models.uri.parse_models_uri`, the one parser every caller uses.
"""

from __future__ import annotations

from pathlib import Path

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException, ModelNotFoundError
from mlcask.models.uri import is_models_uri, parse_models_uri
from mlcask.tracking.context import current_client as _client

MAX_SOURCE_HOPS = 3


def split_runs_uri(uri: str) -> tuple[str, str]:
    """The run id and the checked relative artifact path of ``runs:/<run_id>/<path>``."""
    from mlcask.tracking.artifacts import clean_relative_path
    from mlcask.tracking.validation import validate_run_id

    if uri[:len("runs:/")].lower() != "runs:/":
        raise InvalidArgumentError(f"Invalid runs URI {uri!r}: expected runs:/<run_id>/<path>.")
    rest = uri[len("runs:/"):].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidArgumentError(f"Invalid runs URI {uri!r}: expected runs:/<run_id>/<path>.")
    validate_run_id(run_id)
    return run_id, clean_relative_path(path, "artifact path of the runs:/ URI")


def resolve_runs_uri(uri: str) -> Path:
    from mlcask.tracking.artifacts import get_artifact_repository, local_path_of

    run_id, path = split_runs_uri(uri)
    client = _client()
    run = client.get_run(run_id)
    candidate = get_artifact_repository(run.info.artifact_uri).local_path(path) if path else None
    if candidate is not None and candidate.exists():
        return candidate
    for model in client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run_id}'", 1000):
        if model.name == path or not path:
            return local_path_of(model.artifact_location)
    raise MlcaskException(f"Run {run_id} has no artifact or logged model at '{path}' ({uri}).",
                          error_code=RESOURCE_DOES_NOT_EXIST)


def resolve_models_uri(uri: str, _depth: int = 0) -> Path:
    """The local folder of the logged model or registered model version at ``uri``."""
    from mlcask.models.uri import resolve_model_path
    from mlcask.tracking.artifacts import local_path_of
    from mlcask.tracking.registry.source_policy import check_source

    parsed = parse_models_uri(uri)
    client = _client()
    if parsed.model_id:
        return local_path_of(client.get_logged_model(parsed.model_id).artifact_location)
    number = parsed.version if parsed.version is not None else client._model_version_of(parsed).version
    source = client.get_model_version_download_uri(parsed.name, number)
    if _depth > MAX_SOURCE_HOPS:
        raise InvalidArgumentError(f"Model URI {uri!r} refers to itself through its registry sources.")
    # Checked again here: a row may predate the checks at registration, or be written by other tools.
    check_source(source)
    folder = (resolve_models_uri(source, _depth + 1) if is_models_uri(source)
              else resolve_model_path(source))
    if not parsed.path:
        return folder
    inside = folder / parsed.path
    if not inside.exists():
        raise ModelNotFoundError(f"No '{parsed.path}' in the files of {uri!r} (version {number} of "
                                 f"{parsed.name!r}, at '{folder}').")
    return inside


def register() -> None:
    from mlcask.models.uri import register_scheme

    register_scheme("runs", resolve_runs_uri)
    register_scheme("models", resolve_models_uri)
