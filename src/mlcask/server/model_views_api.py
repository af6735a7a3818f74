"""mlcask's endpoints for the web UI's model pages (under ``/api/2.0/mlcask``, ajax twin
``/ajax-api/2.0/mlcask``): a model's details (signature, environment, integrity, input
example) and scoring a model version from the Test tab."""

from __future__ import annotations

from mlcask.server.endpoints import Endpoint

ENDPOINTS: tuple[Endpoint, ...] = ()


def routes() -> list[Endpoint]:
    """The model-view endpoints."""
    return list(ENDPOINTS)
