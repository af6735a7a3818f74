"""Helpers shared by fixtures at different scopes (function-scoped conftest fixtures and
module-scoped ones that build a store once)."""

from __future__ import annotations


def point_fluent_at(uri: str) -> None:
    """Make the fluent API use the store at ``uri``, with no cached store or client."""
    from mlcask.tracking import fluent, stores

    stores.clear_cache()
    fluent._clients.clear()
    fluent.set_tracking_uri(uri)


def reset_fluent() -> None:
    """End any active run and forget the tracking URI, experiment and cached stores."""
    from mlcask.tracking import fluent, stores

    while fluent.active_run() is not None:
        fluent.end_run()
    fluent._tracking_uri = None
    fluent._active_experiment_id = None
    fluent._last_active_run_id = None
    fluent._clients.clear()
    stores.clear_cache()
