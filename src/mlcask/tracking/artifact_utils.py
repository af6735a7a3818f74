"""MLflow's ``mlflow.tracking.artifact_utils`` download helper, over :func:`mlcask.artifacts.download_artifacts`.

Code and tests written for MLflow download a model or an artifact with
``_download_artifact_from_uri(uri, output_path=...)``; here it is the same call as
``mlcask.artifacts.download_artifacts(artifact_uri=uri, dst_path=output_path)``.
"""

from __future__ import annotations

import os
from typing import Any

from mlcask.artifacts import download_artifacts
from mlcask.exceptions import MlcaskException

__all__ = ["_download_artifact_from_uri"]


def _download_artifact_from_uri(artifact_uri: str, output_path: str | os.PathLike[str] | None = None,
                                lineage_header_info: dict[str, Any] | None = None,
                                tracking_uri: str | None = None, registry_uri: str | None = None) -> str:
    """Download the artifact at ``artifact_uri`` (``runs:/``, ``models:/`` or an artifact location)
    into ``output_path`` (a new temporary folder for None); returns its local path.

    ``lineage_header_info`` is accepted for MLflow's signature; it only feeds Databricks lineage
    services, which mlcask does not talk to. A bare logged-model id (``m-...``) is refused with
    MLflow's hint to write it as ``models:/m-...``.
    """
    try:
        return download_artifacts(artifact_uri=str(artifact_uri),
                                  dst_path=os.fspath(output_path) if output_path is not None else None,
                                  tracking_uri=tracking_uri, registry_uri=registry_uri)
    except Exception as exc:
        if str(artifact_uri).startswith("m-"):
            raise MlcaskException(
                f"Invalid uri `{artifact_uri}` is passed. Maybe you meant 'models:/{artifact_uri}'?") from exc
        raise
