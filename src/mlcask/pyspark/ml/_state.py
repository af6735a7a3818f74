"""The integration's name and the process-wide "an autologged fit is running" state."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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


class _SilentFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_local, "silent", False)


_local = threading.local()
_SILENT = _SilentFilter()


@contextmanager
def quiet(silent: bool) -> Iterator[None]:
    """With ``silent`` (``autolog(silent=True)``), mlcask's loggers say nothing on this thread for
    the block, and mlcask's own Python warnings are not shown."""
    if not silent:
        yield
        return
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("mlcask") and isinstance(logger, logging.Logger) and _SILENT not in logger.filters:
            logger.addFilter(_SILENT)
    previous = getattr(_local, "silent", False)
    _local.silent = True
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"mlcask\..*")
            yield
    finally:
        _local.silent = previous
