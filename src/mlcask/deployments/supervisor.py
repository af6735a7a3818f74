"""Worker processes of managed deployments: started, health-checked, restarted with backoff, stopped.

A :class:`Worker` is one ``mlcask models serve`` process serving one model version on a free port of
127.0.0.1. Getting it ready to start (finding the model folder, downloading it, building its environment)
can take long, so it runs in a thread of its own; the process itself is started by the
:class:`Supervisor`'s thread, which then checks ``/ping`` until the worker answers (``ready``).

- **Restarts.** A worker that exits (or, once ready, fails three health checks in a row, 2 s apart: it
  is then killed) is started again after a backoff: 0.5 s, doubling up to 30 s, back to
  0.5 s once it has been ready for a minute. Each start after the first counts in ``restarts``.
- **No orphans.** Each worker leads its own process group (``start_new_session``), so stopping it (SIGTERM,
  SIGKILL after a grace period) stops whatever it started too; on Linux each worker also gets SIGKILL when
  the supervisor's thread (hence the server) dies (``PR_SET_PDEATHSIG``).
- Its output goes to the log file its launch names (state, port, pid and the reason of a failure are in
  :meth:`Worker.status`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BACKOFF_MAX_S", "BACKOFF_START_S", "Launch", "Supervisor", "Worker", "free_port"]

_logger = logging.getLogger("mlcask.deployments")

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
HEALTHY_RESET_S = 60.0
STARTUP_TIMEOUT_S = 300.0
HEALTH_INTERVAL_S = 2.0
UNHEALTHY_CHECKS = 3  # failed health checks in a row that get a ready worker restarted
STOP_GRACE_S = 5.0
TICK_S = 0.1
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Launch:
    """How to start a worker: its command for a port, its extra environment variables and its log file."""

    argv: Callable[[int], list[str]]
    env: dict[str, str]
    log_path: Path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when its parent thread dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)

    return hook


def _ping(port: int | None, timeout: float = 1.0) -> bool:
    """Whether the worker on ``port`` answers ``GET /ping`` with 200 (plain ``http.client``: no log line)."""
    if port is None:
        return False
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _last_line(path: Path, limit: int = 300) -> str:
    """The last line of a worker's log (what it said before it stopped), shortened to ``limit`` characters."""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - 4096))
            lines = [line.strip() for line in file.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return ""
    text = lines[-1] if lines else ""
    return text if len(text) <= limit else text[:limit] + "..."


def _exit_description(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Worker:
    """One worker process (see the module's docstring); ``prepare`` returns its :class:`Launch`."""

    def __init__(self, label: str, resolved_uri: str, prepare: Callable[[], Launch]) -> None:
        self.label = label
        self.resolved_uri = resolved_uri
        self.state = "starting"
        self.message: str | None = "preparing the model and its environment"
        self.restarts = 0
        self.inflight = 0
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.health: dict[str, Any] = {}
        #: Being drained before it stops: not started again if it exits.
        self.retiring = False
        self._prepare = prepare
        self._launch: Launch | None = None
        self._preparing = False
        self._starts = 0
        self._next_start = 0.0
        self._backoff = BACKOFF_START_S
        self._started_at = 0.0
        self._ready_at: float | None = None
        self._next_health = 0.0
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The worker process's id while it runs."""
        return None if self.process is None else self.process.pid

    def status(self) -> dict[str, Any]:
        """``state``, ``message``, ``pid``, ``port``, ``restarts``, ``health`` and ``resolved_uri``."""
        return {"state": self.state, "message": self.message, "pid": self.pid, "port": self.port,
                "restarts": self.restarts, "health": dict(self.health), "resolved_uri": self.resolved_uri}

    # -- preparing ------------------------------------------------------------------------------------------------

    def _prepare_in_thread(self) -> None:
        try:
            launch = self._prepare()
        except Exception as exc:  # what the user must fix: the model, its environment
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            _logger.error("deployment %s cannot start: %s", self.label, message)
            with self._lock:
                if self.state != "stopped":
                    self.state, self.message = "failed", f"Cannot start: {message}"
            return
        with self._lock:
            self._launch = launch

    # -- the supervisor's tick ------------------------------------------------------------------------------------

    def tick(self, now: float, spawn_hook: Callable[[], None] | None) -> None:
        """One look at the worker (on the supervisor's thread): prepare, start, notice an exit, check health."""
        with self._lock:
            if self.state == "stopped":
                return
            if self._launch is None:  # preparing (or preparing failed: the state says so)
                if not self._preparing:
                    self._preparing = True
                    threading.Thread(target=self._prepare_in_thread, name=f"prepare-{self.label}",
                                     daemon=True).start()
                return
            if self.process is None:
                if self.retiring:
                    self.state, self.message = "stopped", None
                elif now >= self._next_start:
                    self._spawn(now, spawn_hook)
            elif self.process.poll() is not None:
                self._exited(now)
        if self.process is not None and now >= self._next_health:
            self._check_health(now)

    def _spawn(self, now: float, spawn_hook: Callable[[], None] | None) -> None:
        assert self._launch is not None
        port = free_port()
        argv = self._launch.argv(port)
        self._launch.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._launch.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(argv, env={**os.environ, **self._launch.env}, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                            close_fds=True, preexec_fn=spawn_hook)
        if self._starts:
            self.restarts += 1
        self._starts += 1
        self.port, self._started_at, self._ready_at, self._next_health = port, now, None, now + TICK_S
        self.state, self.message = "starting", f"started pid {self.process.pid}, waiting for /ping"
        _logger.info("deployment %s: worker pid %s on port %s", self.label, self.process.pid, port)

    def _exited(self, now: float) -> None:
        assert self.process is not None
        how = _exit_description(self.process.returncode)
        if self._ready_at is not None and now - self._ready_at >= HEALTHY_RESET_S:
            self._backoff = BACKOFF_START_S
        delay = self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX_S)
        self._next_start = now + delay
        self.process, self.port, self._ready_at = None, None, None
        self.state = "failed"
        last = _last_line(self._launch.log_path)
        self.message = (f"the worker stopped ({how}){f': {last}' if last else ''}; restarting in {delay:g} s "
                        f"(log: {self._launch.log_path})")
        _logger.warning("deployment %s: %s", self.label, self.message)

    def _check_health(self, now: float) -> None:
        port = self.port
        started = time.perf_counter()
        ok = _ping(port)
        with self._lock:
            if self.port != port or self.process is None or self.state == "stopped":
                return
            failures = 0 if ok else int(self.health.get("consecutive_failures", 0)) + 1
            self.health = {"ping_ms": round((time.perf_counter() - started) * 1000, 3) if ok else None,
                           "last_check_ms": int(time.time() * 1000), "consecutive_failures": failures,
                           "uptime_s": round(now - self._started_at, 1)}
            if ok and self.state != "ready":
                self.state, self.message, self._ready_at = "ready", None, now
                _logger.info("deployment %s: ready (pid %s, port %s)", self.label, self.pid, port)
            elif not ok and self.state == "starting" and now - self._started_at > STARTUP_TIMEOUT_S:
                self.message = f"no answer on /ping within {STARTUP_TIMEOUT_S:g} s; killing it"
                self._kill_group(signal.SIGKILL)
            elif not ok and self.state == "ready" and failures >= UNHEALTHY_CHECKS:
                self.state = "failed"  # no more requests; restarted once it is gone
                self.message = f"no answer on /ping {failures} times in a row; killing it to start it again"
                _logger.warning("deployment %s: %s", self.label, self.message)
                self._kill_group(signal.SIGKILL)
            self._next_health = now + (HEALTH_INTERVAL_S if self.state == "ready" else TICK_S)

    # -- stopping -------------------------------------------------------------------------------------------------

    def _kill_group(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after ``grace`` seconds. Never started again."""
        with self._lock:
            self.state, self.message = "stopped", None
            process = self.process
            self._kill_group(signal.SIGTERM)
        if process is None:
            return
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # what it started and left behind
            os.killpg(process.pid, signal.SIGKILL)
        with self._lock:
            self.process, self.port = None, None


class Supervisor:
    """The thread that starts and watches workers; ``on_tick`` runs after each look at them."""

    def __init__(self, on_tick: Callable[[], None]) -> None:
        self._workers: list[Worker] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closing = False
        self._on_tick = on_tick
        self._thread: threading.Thread | None = None

    def add(self, worker: Worker) -> None:
        """Watch ``worker`` (its process starts on the next look)."""
        with self._lock:
            self._workers.append(worker)

    def remove(self, worker: Worker) -> None:
        """Stop watching ``worker`` (after it was stopped)."""
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def workers(self) -> list[Worker]:
        """The workers watched."""
        with self._lock:
            return list(self._workers)

    def start(self) -> None:
        """Start the supervising thread."""
        self._thread = threading.Thread(target=self._run, name="mlcask-endpoints-supervisor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        hook = _die_with_parent_hook()  # on this thread: the workers' parent thread is this one
        while not self._stop.is_set():
            if not self._closing:
                now = time.monotonic()
                for worker in self.workers():
                    try:
                        worker.tick(now, hook)
                    except Exception:  # one worker's trouble must not stop the others' supervision
                        _logger.exception("supervising deployment %s", worker.label)
                try:
                    self._on_tick()
                except Exception:
                    _logger.exception("endpoint manager tick")
            self._stop.wait(TICK_S)

    def stop(self) -> None:
        """Stop every worker (in parallel, gracefully), then the thread. The thread outlives the workers: on
        Linux they get SIGKILL when it ends."""
        self._closing = True
        workers = self.workers()
        threads = [threading.Thread(target=w.stop, daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(STOP_GRACE_S + 15)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
