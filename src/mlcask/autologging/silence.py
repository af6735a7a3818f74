"""``autolog(silent=True)``: mlcask says nothing while an autologged training call runs."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["is_silenced", "quiet"]

_local = threading.local()


class _SilentFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not is_silenced()


_SILENT = _SilentFilter()


def is_silenced() -> bool:
    """Whether this thread is inside a ``quiet(True)`` block."""
    return getattr(_local, "silent", False)


@contextmanager
def quiet(silent: bool) -> Iterator[None]:
    """With ``silent``, mlcask's loggers say nothing on this thread for the block, and mlcask's
    own Python warnings are not shown (MLflow's ``silent``: no event logs, no warnings)."""
    if not silent:
        yield
        return
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("mlcask") and isinstance(logger, logging.Logger) and _SILENT not in logger.filters:
            logger.addFilter(_SILENT)
    previous = is_silenced()
    _local.silent = True
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"mlcask\..*")
            yield
    finally:
        _local.silent = previous
