"""Request counts, errors and latency of a deployment or an endpoint, over the server's processes.

Latency percentiles are over the last :data:`WINDOW` requests of this process (a bounded window), and the
last :data:`SHARED_WINDOW` of each other process of ``mlcask server --workers N`` (:class:`StatsBook`). An error is an answer of
status 500 or more, or no answer at all (the worker could not be reached). Thread-safe.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from mlcask.deployments.state import write_json_atomic

__all__ = ["SHARED_WINDOW", "WINDOW", "RequestStats", "StatsBook"]

WINDOW = 2048
SHARED_WINDOW = 512
OTHERS_TTL_S = 0.5
PUBLISH_S = 1.0


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

    def export(self, limit: int | None = None) -> dict[str, Any]:
        """``requests``, ``errors`` and the window's ``latencies`` (the last ``limit`` of them)."""
        with self._lock:
            latencies = list(self._latencies)
            return {"requests": self.requests, "errors": self.errors,
                    "latencies": latencies[-limit:] if limit else latencies}

    def snapshot(self) -> dict[str, float | int]:
        """``requests``, ``errors``, ``latency_ms_p50`` and ``latency_ms_p99``."""
        with self._lock:
            ordered = sorted(self._latencies)
            requests, errors = self.requests, self.errors
        return {"requests": requests, "errors": errors, "latency_ms_p50": _percentile(ordered, 0.5),
                "latency_ms_p99": _percentile(ordered, 0.99)}


class StatsBook:
    """This process's :class:`RequestStats` by key, shared with the other server processes (``--workers N``)
    through one file per process in ``folder`` (``<pid>.json``, written by :meth:`publish`): a snapshot adds
    up every process's counts and takes the percentiles over their windows together (each file holds the
    last :data:`SHARED_WINDOW` latencies of a key). Files of processes that are gone are removed by
    :meth:`forget_dead` (at start)."""

    def __init__(self, folder: Path, pid: int | None = None) -> None:
        self.folder = folder
        self.pid = os.getpid() if pid is None else pid
        self._own: dict[str, RequestStats] = {}
        self._lock = threading.Lock()
        self._published = -1
        self._published_at = 0.0
        self._others: dict[str, list[dict[str, Any]]] = {}
        self._others_read = 0.0

    def get(self, key: str) -> RequestStats:
        """The stats of ``key`` in this process (created empty)."""
        with self._lock:
            return self._own.setdefault(key, RequestStats())

    def _export(self) -> dict[str, Any]:
        with self._lock:
            own = dict(self._own)
        return {key: stats.export(SHARED_WINDOW) for key, stats in own.items()}

    def publish(self, force: bool = False) -> None:
        """Write this process's stats for the others, when they changed (at most every :data:`PUBLISH_S`
        seconds unless ``force``)."""
        with self._lock:
            total = sum(s.requests for s in self._own.values())
        now = time.monotonic()
        if total == self._published or (not force and now - self._published_at < PUBLISH_S):
            return
        self._published_at = now
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_json_atomic(self.folder / f"{self.pid}.json", self._export())
        self._published = total

    def forget_dead(self) -> None:
        """Remove the files of server processes that no longer run."""
        for file in self.folder.glob("*.json") if self.folder.is_dir() else ():
            if file.stem.isdigit() and int(file.stem) != self.pid and not _running(int(file.stem)):
                file.unlink(missing_ok=True)

    def _other_processes(self) -> dict[str, list[dict[str, Any]]]:
        now = time.monotonic()
        if now - self._others_read < OTHERS_TTL_S:
            return self._others
        others: dict[str, list[dict[str, Any]]] = {}
        for file in self.folder.glob("*.json") if self.folder.is_dir() else ():
            if file.stem == str(self.pid):
                continue
            try:
                data = json.loads(file.read_text())
            except (OSError, ValueError):
                continue
            for key, entry in data.items():
                others.setdefault(key, []).append(entry)
        self._others, self._others_read = others, now
        return others

    def snapshot(self, key: str) -> dict[str, float | int]:
        """``requests``, ``errors``, ``latency_ms_p50``, ``latency_ms_p99`` of ``key``, over every process."""
        with self._lock:
            own = self._own.get(key)
        entries = list(self._other_processes().get(key, []))
        if own is not None:
            entries.append(own.export())
        ordered = sorted(value for entry in entries for value in entry.get("latencies", []))
        return {"requests": sum(int(e.get("requests", 0)) for e in entries),
                "errors": sum(int(e.get("errors", 0)) for e in entries),
                "latency_ms_p50": _percentile(ordered, 0.5), "latency_ms_p99": _percentile(ordered, 0.99)}


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
