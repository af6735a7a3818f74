"""MLflow's ``mlflow.utils.time`` clock, as mlcask's stores stamp times."""

from __future__ import annotations

from mlcask.tracking.paging import now_ms

__all__ = ["get_current_time_millis"]


def get_current_time_millis() -> int:
    """The current time in milliseconds since the epoch (the unit of run and metric timestamps)."""
    return now_ms()
