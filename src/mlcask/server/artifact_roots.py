"""Where the server keeps artifacts, and which locations a client may name.

- An experiment's ``artifact_location`` given by a client must lie under one of the
  server's artifact roots (its default artifact root, ``mlflow-artifacts:`` when it serves
  artifacts, its artifacts destination): anything else (``file:///etc``, another bucket,
  ``http://169.254.169.254/``, a ``..`` out of a root) is refused with 400. MLflow accepts
  any location, and then reads and writes there for whoever asks (MLflow #24767).
- ``mlflow-artifacts:/<path>`` locations are files of the artifacts destination; the
  server reads them there itself (listing a run's artifacts, the UI's downloads).
"""

from __future__ import annotations

import os
import urllib.parse

from mlcask.exceptions import InvalidArgumentError
from mlcask.server.config import ServerConfig
from mlcask.tracking.artifacts import get_artifact_repository
from mlcask.tracking.protocols import ArtifactRepository
from mlcask.utils.paths import clean_relative_path

__all__ = ["check_artifact_location", "proxied_path", "repository_for"]

PROXY_SCHEME = "mlflow-artifacts"


def _local_path(location: str) -> str | None:
    """The absolute local path a location names (plain path or ``file:``), None for other URIs."""
    parsed = urllib.parse.urlparse(location)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return None
        return os.path.abspath(urllib.parse.unquote(parsed.path))
    if scheme and len(scheme) > 1:
        return None
    return os.path.abspath(os.path.expanduser(location))


def proxied_path(location: str) -> str | None:
    """The relative path of a ``mlflow-artifacts:`` URI inside the destination; None for other URIs.

    ``mlflow-artifacts:/a/b``, ``mlflow-artifacts:a/b`` and ``mlflow-artifacts:///a/b`` name ``a/b``; a URI
    with a host (``mlflow-artifacts://host/a``) names another server's files and is refused.
    """
    parsed = urllib.parse.urlparse(location)
    if parsed.scheme.lower() != PROXY_SCHEME:
        return None
    if parsed.netloc:
        raise InvalidArgumentError(f"Artifact location '{location}' names another server ({parsed.netloc}); this "
                                   f"server keeps artifacts under {PROXY_SCHEME}:/<path> without a host.")
    path = parsed.path.strip("/")
    return clean_relative_path(path, "artifact location") if path else ""


def _under(location: str, root: str) -> bool:
    """Whether ``location`` is ``root`` or a clean relative path below it (same kind of URI)."""
    proxied_root = proxied_path(root) if urllib.parse.urlparse(root).scheme.lower() == PROXY_SCHEME else None
    if proxied_root is not None:
        relative = proxied_path(location)
        if relative is None:
            return False
        base = proxied_root
    else:
        local_root = _local_path(root)
        if local_root is not None:
            local = _local_path(location)
            if local is None:
                return False
            base, relative = local_root.rstrip("/"), local
        else:
            base, relative = root.rstrip("/"), location
    if base and relative != base and not relative.startswith(base + "/"):
        return False
    remainder = relative[len(base):].strip("/") if base else relative
    if remainder:
        clean_relative_path(remainder, "artifact location")
    return True


def check_artifact_location(config: ServerConfig, location: str) -> str:
    """``location`` if it lies under one of the server's artifact roots; else a 400 naming them."""
    for root in config.artifact_roots:
        try:
            if _under(location, root):
                return location
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"Invalid artifact_location '{location}': {exc}") from None
    roots = ", ".join(f"'{root}'" for root in config.artifact_roots)
    raise InvalidArgumentError(
        f"Invalid artifact_location '{location}': this server only keeps artifacts under its artifact roots "
        f"({roots}); give a location below one of them, or none for the default.")


def repository_for(config: ServerConfig, uri: str) -> ArtifactRepository:
    """The repository holding ``uri``'s files, as this server reaches them."""
    relative = proxied_path(uri)
    if relative is None:
        return get_artifact_repository(uri)
    destination = config.artifacts_destination_uri.rstrip("/")
    return get_artifact_repository(f"{destination}/{relative}" if relative else destination)
