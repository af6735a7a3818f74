"""mlcask's endpoints for the web UI's run pages (under ``/api/2.0/mlcask``, ajax twin
``/ajax-api/2.0/mlcask``): a run's metric summaries and artifact previews."""

from __future__ import annotations

from mlcask.server.endpoints import Endpoint

ENDPOINTS: tuple[Endpoint, ...] = ()


def routes() -> list[Endpoint]:
    """The run-view endpoints."""
    return list(ENDPOINTS)
