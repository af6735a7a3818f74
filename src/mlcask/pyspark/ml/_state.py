"""The integration's name and the process-wide "an autologged fit is running" state."""

from __future__ import annotations

import threading
from typing import Any

INTEGRATION = "pyspark.ml"


class _Training:
    """Process-wide: an autologged fit is running. Fits, transforms and evaluations made meanwhile on
    other threads (a CrossValidator's parallel candidates) log nothing, as in MLflow."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def active(self) -> bool:
        return self._count > 0

    def __enter__(self) -> None:
        with self._lock:
            self._count += 1

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self._count -= 1


TRAINING = _Training()
