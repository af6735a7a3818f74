"""The state one server process shares across requests: its config, its stores and the web UI's
scoring workers.

Stores are opened once per process (on first use, so a worker opens its own database
connections after uvicorn forks it) and shared by every request; so is the scoring pool,
whose workers start on the first score and stop with :meth:`ServerState.close`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from mlcask.server.config import ServerConfig

if TYPE_CHECKING:
    from mlcask.server.scoring_worker import ScoringPool
    from mlcask.tracking.protocols import RegistryStore, TrackingStore

__all__ = ["ServerState"]


class ServerState:
    """The config, the tracking store and the registry store of one server process."""

    def __init__(self, config: ServerConfig, tracking: TrackingStore | None = None,
                 registry: RegistryStore | None = None) -> None:
        self.config = config
        self._tracking = tracking
        self._registry = registry
        self._scoring: ScoringPool | None = None
        self._lock = threading.Lock()

    @property
    def tracking(self) -> TrackingStore:
        """The tracking store of ``--backend-store-uri`` (artifact root: the config's)."""
        if self._tracking is None:
            with self._lock:
                if self._tracking is None:
                    self._tracking = open_tracking_store(self.config)
        return self._tracking

    @property
    def registry(self) -> RegistryStore:
        """The registry store of ``--registry-store-uri`` (the backend store's database by default)."""
        if self._registry is None:
            with self._lock:
                if self._registry is None:
                    from mlcask.tracking.stores import registry_store

                    self._registry = registry_store(self.config.registry_uri)
        return self._registry

    @property
    def scoring(self) -> ScoringPool:
        """The web UI's scoring pool (created on first use; its workers start on the first score)."""
        if self._scoring is None:
            with self._lock:
                if self._scoring is None:
                    from mlcask.server.scoring_worker import ScoringPool

                    self._scoring = ScoringPool()
        return self._scoring

    def close(self) -> None:
        """Stop the scoring workers, if any started (at the server's shutdown)."""
        with self._lock:
            pool, self._scoring = self._scoring, None
        if pool is not None:
            pool.close()


def open_tracking_store(config: ServerConfig) -> TrackingStore:
    """The tracking store of ``config``, whose new experiments get ``<artifact root>/<id>``."""
    from mlcask.tracking.stores import tracking_store

    return tracking_store(config.backend_store_uri, config.artifact_root)
