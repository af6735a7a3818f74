"""``runs:/`` and ``models:/`` URIs, resolved to local model folders through the stores.

- ``runs:/<run_id>/<path>``: a path in the run's artifacts, or the model logged by that
  run under that name.
- ``models:/<model_id>``: a logged model (ids start with ``m-``).
- ``models:/<name>/<version>``, ``models:/<name>/latest``, ``models:/<name>@<alias>``:
  a registered model version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException

_MODELS_URI = re.compile(r"^models:/(?P<body>[^/@]+(?:@[^/]+|/[^/]+)?)/?$")


@dataclass(frozen=True, slots=True)
class ModelsUri:
    model_id: str | None = None
    name: str | None = None
    version: str | None = None
    alias: str | None = None


def parse_models_uri(uri: str) -> ModelsUri:
    """Split a ``models:/`` URI into a logged model id, or a name with a version or alias."""
    match = _MODELS_URI.match(uri)
    if not match:
        raise InvalidArgumentError(
            f"Invalid models URI {uri!r}: expected models:/<model_id>, models:/<name>/<version>, "
            "models:/<name>/latest or models:/<name>@<alias>."
        )
    body = match.group("body")
    if "@" in body:
        name, alias = body.split("@", 1)
        return ModelsUri(name=name, alias=alias)
    if "/" in body:
        name, version = body.split("/", 1)
        if version != "latest" and not version.isdigit():
            raise InvalidArgumentError(f"Invalid models URI {uri!r}: version must be a number or 'latest', "
                                       f"got {version!r}.")
        return ModelsUri(name=name, version=version)
    if body.startswith("m-"):
        return ModelsUri(model_id=body)
    raise InvalidArgumentError(f"Invalid models URI {uri!r}: give a version (models:/{body}/1), an alias "
                               f"(models:/{body}@champion) or a logged model id (models:/m-...).")


def _client():
    from mlcask.tracking.client import MlcaskClient

    return MlcaskClient()


def split_runs_uri(uri: str) -> tuple[str, str]:
    """The run id and the checked relative artifact path of ``runs:/<run_id>/<path>``."""
    from mlcask.tracking.artifacts import clean_relative_path
    from mlcask.tracking.validation import validate_run_id

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
    from mlcask.models.uri import resolve_model_path
    from mlcask.tracking.artifacts import local_path_of

    parsed = parse_models_uri(uri)
    client = _client()
    if parsed.model_id:
        return local_path_of(client.get_logged_model(parsed.model_id).artifact_location)
    if parsed.alias or parsed.version == "latest":
        # "latest" resolves like an alias: the highest version, in one query.
        version = client.get_model_version_by_alias(parsed.name, parsed.alias or "latest")
        source = client.get_model_version_download_uri(parsed.name, version.version)
    else:
        source = client.get_model_version_download_uri(parsed.name, parsed.version)
    if _depth > 3:
        raise InvalidArgumentError(f"Model URI {uri!r} refers to itself through its registry sources.")
    # Checked again here: a row may predate the checks at registration, or be written by other tools.
    from mlcask.tracking.registry.source_policy import check_source

    check_source(source)
    if source.startswith("models:/"):
        return resolve_models_uri(source, _depth + 1)
    return resolve_model_path(source)


def register() -> None:
    from mlcask.models.uri import register_scheme

    register_scheme("runs", resolve_runs_uri)
    register_scheme("models", resolve_models_uri)
