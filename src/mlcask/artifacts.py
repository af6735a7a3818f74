"""``mlcask.artifacts`` (MLflow's ``mlflow.artifacts``): download, list and read artifacts by URI or run.

An artifact URI is ``runs:/<run_id>/<path>`` (a run's artifact, or a file of a model the run
logged under that name), ``models:/...`` (a logged model or a registered version, and a path
inside it), or an artifact location (a local path, ``file:``, ``s3://``, ``mlflow-artifacts:``,
``http(s)://``). The ``runs:/`` and ``models:/`` grammars are the one parser each
(:func:`mlcask.tracking.runs_uri.split_runs_uri`, :func:`mlcask.models.uri.parse_models_uri`);
the files are read through the artifact repositories
(:func:`mlcask.tracking.artifacts.get_artifact_repository`), so every path is checked.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from typing import Any

from mlcask.exceptions import BAD_REQUEST, RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.models.uri import is_models_uri, parse_models_uri
from mlcask.tracking.artifacts import get_artifact_repository, is_local_uri
from mlcask.tracking.protocols import ArtifactRepository, FileInfo
from mlcask.tracking.runs_uri import split_runs_uri

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]

_MAX_SOURCE_HOPS = 3


def _client(tracking_uri: str | None) -> Any:
    from mlcask.tracking.client import MlcaskClient
    from mlcask.tracking.context import current_client

    return MlcaskClient(tracking_uri) if tracking_uri else current_client()


def _check_arguments(artifact_uri: str | None, run_id: str | None, artifact_path: str | None) -> None:
    if (run_id, artifact_uri).count(None) != 1:
        raise InvalidArgumentError("Exactly one of `run_id` or `artifact_uri` must be specified")
    if artifact_uri is not None and artifact_path is not None:
        raise InvalidArgumentError("`artifact_path` cannot be specified if `artifact_uri` is specified")


def _exists(repository: ArtifactRepository, path: str) -> bool:
    parent = posixpath.dirname(path) or None
    return any(info.path.rstrip("/") == path for info in repository.list_artifacts(parent))


def _in_run(client: Any, run_id: str, path: str) -> tuple[ArtifactRepository, str]:
    """The repository and path of ``path`` of the run: its artifacts, else a model it logged by that name."""
    run = client.get_run(run_id)
    repository = get_artifact_repository(run.info.artifact_uri, client.tracking_uri)
    if not path or _exists(repository, path):
        return repository, path
    name, _, inside = path.partition("/")
    for model in client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run_id}'", 1000):
        if model.name == name:
            return get_artifact_repository(model.artifact_location, client.tracking_uri), inside
    return repository, path


def _in_model(client: Any, uri: str, hops: int = 0) -> tuple[ArtifactRepository, str]:
    from mlcask.tracking.registry.source_policy import check_source

    parsed = parse_models_uri(uri)
    if parsed.model_id:
        location = client.get_logged_model(parsed.model_id).artifact_location
        return get_artifact_repository(location, client.tracking_uri), parsed.path
    number = parsed.version if parsed.version is not None else client.model_version_of(parsed).version
    source = client.get_model_version_download_uri(parsed.name, number)
    if hops >= _MAX_SOURCE_HOPS:
        raise InvalidArgumentError(f"Model URI {uri!r} refers to itself through its registry sources.")
    check_source(source)  # checked again: a row may predate the checks, or come from other tools
    repository, base = _resolve(client, source, hops + 1)
    return repository, posixpath.join(base, parsed.path) if parsed.path else base


def _resolve(client: Any, uri: str, hops: int = 0) -> tuple[ArtifactRepository, str]:
    """The repository and the path inside it of the artifact at ``uri``."""
    if uri[:len("runs:")].lower() == "runs:":
        return _in_run(client, *split_runs_uri(uri))
    if is_models_uri(uri):
        return _in_model(client, uri, hops)
    if is_local_uri(uri):
        local = os.path.abspath(uri) if "://" not in uri and not uri.startswith("file:") else uri
        parent, _, name = local.rstrip("/").rpartition("/")
        return get_artifact_repository(parent or "/", client.tracking_uri), name
    parent, _, name = uri.rstrip("/").rpartition("/")
    return get_artifact_repository(parent, client.tracking_uri), name


def _not_found(path: str) -> MlcaskException:
    return MlcaskException(f"Failed to download artifacts from path '{path}', please ensure that the path is "
                           "correct.", RESOURCE_DOES_NOT_EXIST)


def _download(repository: ArtifactRepository, path: str, dst_path: str | None) -> str:
    if not path:  # a whole repository: its entries into dst_path, as MLflow lays them out
        if dst_path is None:
            if is_local_uri(repository.artifact_uri):
                return repository.download_artifacts("", None)
            dst_path = tempfile.mkdtemp()
        for info in repository.list_artifacts(None):
            repository.download_artifacts(info.path, dst_path)
        return os.path.abspath(dst_path)
    if not _exists(repository, path):
        raise _not_found(path)
    return repository.download_artifacts(path, dst_path)


def download_artifacts(artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None,
                       dst_path: str | None = None, tracking_uri: str | None = None,
                       registry_uri: str | None = None) -> str:
    """Download an artifact file or folder to a local folder; returns its local path.

    Parameters
    ----------
    artifact_uri
        ``runs:/<run_id>/<path>``, ``models:/<model_id>[/path]``, ``models:/<name>/<version>[/path]``,
        ``models:/<name>@<alias>[/path]``, or an artifact location (path, ``file:``, ``s3://``,
        ``mlflow-artifacts:``, ``http(s)://``). Exactly one of ``artifact_uri`` and ``run_id``.
    run_id, artifact_path
        A run, and a path in its artifacts (default: all of them).
    dst_path
        The folder to download into (created if missing); the artifact lands as ``dst_path/<its name>``
        (a whole run's artifacts: their entries in ``dst_path``). For None: a new temporary folder, except
        for a run's whole artifacts and a local artifact location, whose own local path is returned.
    tracking_uri, registry_uri
        The tracking (and registry) server to use instead of the current one.
    """
    _check_arguments(artifact_uri, run_id, artifact_path)
    if dst_path is not None:
        os.makedirs(dst_path, exist_ok=True)
    client = _client(tracking_uri or registry_uri)
    uri = str(artifact_uri) if artifact_uri is not None else f"runs:/{run_id}/{artifact_path or ''}"
    repository, path = _resolve(client, uri)
    if dst_path is None and path and (uri[:len("runs:")].lower() == "runs:" or is_models_uri(uri)):
        dst_path = tempfile.mkdtemp()  # a copy, as MLflow gives: the stored files stay untouched
    return os.path.abspath(_download(repository, path, dst_path))


def list_artifacts(artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None,
                   tracking_uri: str | None = None) -> list[FileInfo]:
    """The artifacts directly under a URI (as :func:`download_artifacts` names one) or a run's path.

    For ``artifact_uri``, paths are relative to the folder holding the URI's last part (MLflow's rule:
    listing ``runs:/<id>/dir`` gives ``dir/<file>``); for ``run_id``, to the run's artifact root.
    A path that does not exist lists nothing.
    """
    import dataclasses

    _check_arguments(artifact_uri, run_id, artifact_path)
    client = _client(tracking_uri)
    if artifact_uri is None:
        repository, path = _resolve(client, f"runs:/{run_id}/{artifact_path or ''}")
        return repository.list_artifacts(path or None)
    uri = str(artifact_uri)
    repository, path = _resolve(client, uri)
    listed = repository.list_artifacts(path or None)
    parent = posixpath.dirname(path) if uri[:len("runs:")].lower() == "runs:" else ""
    if not parent:
        return listed
    return [dataclasses.replace(info, path=info.path[len(parent) + 1:]) for info in listed]


def _read(artifact_uri: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        local = download_artifacts(artifact_uri, dst_path=folder)
        with open(local, "rb") as handle:
            return handle.read()


def _not_utf8(artifact_uri: str) -> MlcaskException:
    return MlcaskException(f"Artifact {artifact_uri!r} is not valid UTF-8. To read a file in another encoding, "
                           "download it with `mlflow.artifacts.download_artifacts` and open it with the correct "
                           "`encoding`.", BAD_REQUEST)


def load_text(artifact_uri: str) -> str:
    """The artifact at ``artifact_uri`` as text (UTF-8)."""
    try:
        return _read(artifact_uri).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(artifact_uri) from exc


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """The JSON artifact at ``artifact_uri`` as a dict."""
    try:
        return json.loads(_read(artifact_uri).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _not_utf8(artifact_uri) from exc
    except json.JSONDecodeError as exc:
        raise MlcaskException("Unable to form a JSON object from file content", BAD_REQUEST) from exc


def load_image(artifact_uri: str) -> Any:
    """The image artifact at ``artifact_uri`` as a ``PIL.Image.Image`` (needs Pillow)."""
    import io

    from mlcask.tracking.images import require_pillow

    pil = require_pillow("`load_image` requires Pillow. Please install it via: pip install Pillow")
    content = _read(artifact_uri)
    try:
        image = pil.open(io.BytesIO(content))
        image.load()
    except Exception as exc:
        raise MlcaskException("Unable to form a PIL Image object from file content", BAD_REQUEST) from exc
    return image
