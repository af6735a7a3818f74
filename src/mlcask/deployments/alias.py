"""Following what a deployment's model URI points at: ``models:/name@alias`` (also ``@latest``,
``models:/name/latest`` and ``models:/name/<stage>``) is looked up again every ``alias_poll_seconds``
(``MLCASK_ENDPOINTS_ALIAS_POLL_SECONDS``, default 5), and at once when :meth:`AliasFollower.poke` is called
(the server's registry API does when an alias is set or deleted through it). When the version changed, the
callback starts the switch (the manager starts the new version, waits for its health check, moves the
traffic, drains the old worker).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.uri import is_models_uri, parse_models_uri

__all__ = ["POLL_ENV", "AliasFollower", "follows", "poll_seconds"]

_logger = logging.getLogger("mlcask.deployments")

POLL_ENV = "MLCASK_ENDPOINTS_ALIAS_POLL_SECONDS"
DEFAULT_POLL_S = 5.0


def poll_seconds(value: float | None = None) -> float:
    """``value``, else ``MLCASK_ENDPOINTS_ALIAS_POLL_SECONDS``, else 5 (checked: a number over 0)."""
    if value is None:
        text = os.environ.get(POLL_ENV, "").strip()
        if not text:
            return DEFAULT_POLL_S
        try:
            value = float(text)
        except ValueError:
            raise InvalidArgumentError(f"{POLL_ENV}={text!r} is not a number of seconds (e.g. 5).") from None
    if not value > 0:
        raise InvalidArgumentError(f"The alias poll interval must be over 0 seconds, got {value!r}.")
    return float(value)


def follows(model_uri: str) -> tuple[str, str] | None:
    """``(name, alias-or-stage)`` when ``model_uri`` names a moving target (an alias, latest, a stage)."""
    if not is_models_uri(model_uri):
        return None
    parsed = parse_models_uri(model_uri)
    if parsed.model_id is not None or parsed.version is not None or parsed.name is None:
        return None
    return parsed.name, parsed.alias or parsed.stage or "latest"


class AliasFollower:
    """A thread calling ``check()`` every ``interval`` seconds, and at once after :meth:`poke`."""

    def __init__(self, check: Callable[[], None], interval: float) -> None:
        self._check = check
        self.interval = interval
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="mlcask-endpoints-alias", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Check now (an alias was just set)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self._check()
            except Exception:  # the registry may be briefly unreachable: try again next time
                _logger.exception("following model aliases")

    def stop(self) -> None:
        """Stop the thread."""
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
