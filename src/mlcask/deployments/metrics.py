"""Request counts, errors and latency of a deployment or an endpoint, as this server process proxied them.

Latency percentiles are over the last :data:`WINDOW` requests (a bounded window). An error is an answer of
status 500 or more, or no answer at all (the worker could not be reached). Thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["WINDOW", "RequestStats"]

WINDOW = 2048


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 3)


class RequestStats:
    """Counts and a latency window."""

    def __init__(self, window: int = WINDOW) -> None:
        self._lock = threading.Lock()
        self._latencies: deque[float] = deque(maxlen=window)
        self.requests = 0
        self.errors = 0

    def record(self, milliseconds: float, error: bool) -> None:
        """Count one request that took ``milliseconds``."""
        with self._lock:
            self.requests += 1
            self.errors += bool(error)
            self._latencies.append(milliseconds)

    def snapshot(self) -> dict[str, float | int]:
        """``requests``, ``errors``, ``latency_ms_p50`` and ``latency_ms_p99``."""
        with self._lock:
            ordered = sorted(self._latencies)
            requests, errors = self.requests, self.errors
        return {"requests": requests, "errors": errors, "latency_ms_p50": _percentile(ordered, 0.5),
                "latency_ms_p99": _percentile(ordered, 0.99)}
