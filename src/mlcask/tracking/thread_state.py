"""The fluent API's per-thread state, as MLflow keeps it: the active run stack (nested runs), the
last active run, the last logged model and the active model of each thread.

A forked child starts with fresh state in its one thread: it neither sees nor ends its parent's
runs. :mod:`mlcask.tracking.context` has the public accessors; this module sits below the client
so that the client can link metrics to the active model, as MLflow's client does.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from mlcask.environment_variables import MLFLOW_ACTIVE_MODEL_ID

__all__ = ["ThreadState", "current"]


class ThreadState(threading.local):
    """This thread's active runs (innermost last), last ended run, last logged model and active
    model (``MLFLOW_ACTIVE_MODEL_ID`` until one is set)."""

    def __init__(self) -> None:
        self.runs: list[Any] = []
        self.last_run_id: str | None = None
        self.last_model_id: str | None = None
        self.active_model_id: str | None = MLFLOW_ACTIVE_MODEL_ID.get_raw() or None


_state = ThreadState()


def current() -> ThreadState:
    """The calling thread's state."""
    return _state


def _fresh_state_in_child() -> None:
    global _state
    _state = ThreadState()


os.register_at_fork(after_in_child=_fresh_state_in_child)
