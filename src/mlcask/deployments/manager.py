"""The managed endpoints of one ``mlcask server`` process: definitions, workers, routing, alias switches.

:class:`EndpointManager` keeps the definitions (:mod:`mlcask.deployments.state`), runs the workers
(:mod:`mlcask.deployments.supervisor`) and picks a worker per request (:mod:`mlcask.deployments.traffic`).

- **One supervisor.** Of the processes of ``mlcask server --workers N``, the one holding the supervisor lock
  starts and watches the workers and writes their state to ``runtime.json``; the others read it and proxy to
  the same workers. A management call may land in any process: it changes ``endpoints.json`` (under its
  lock), and the supervisor sees the change within a fraction of a second. When the supervisor process goes
  away, another takes the lock and starts the workers again.
- **Switching versions.** When a deployment's model changes (``deployments/update`` with another model URI or
  config, or the alias it follows moving), a worker for the new version starts beside the old one; once it
  answers ``/ping``, requests go to it (one swap under the lock), and the old worker is drained (the requests
  it is serving finish) and stopped. A new version that never gets ready leaves the old one serving.
- Request counts, errors and latency add up every server process's (:mod:`mlcask.deployments.metrics`:
  each process publishes its own about once a second).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlcask.deployments import views
from mlcask.deployments.alias import AliasFollower, follows, poll_seconds
from mlcask.deployments.endpoints import DeploymentSpec, EndpointSpec
from mlcask.deployments.launch import launcher
from mlcask.deployments.metrics import StatsBook
from mlcask.deployments.state import DefinitionStore, RuntimeFile, SupervisorLock, endpoints_dir
from mlcask.deployments.supervisor import Supervisor, Worker
from mlcask.deployments.traffic import choose
from mlcask.exceptions import MlcaskException

__all__ = ["EndpointManager", "ModelSource", "NoWorker", "Target"]

_logger = logging.getLogger("mlcask.deployments")

REFRESH_S = 0.2
DRAIN_GRACE_S = 1.0  # after a swap, for the other server processes to read the new port
DRAIN_TIMEOUT_S = 120.0
DRAIN_STOP_GRACE_S = 30.0


class ModelSource(Protocol):
    """How the server finds models: what a URI points at now, and a local folder of it."""

    def resolve_version(self, model_uri: str) -> str:
        """The URI of what ``model_uri`` points at now (``models:/name/3`` for ``models:/name@champion``);
        raises for a model that does not exist."""

    def local_folder(self, resolved_uri: str) -> Path:
        """A local folder holding the model (downloaded when remote)."""


class NoWorker(MlcaskException):
    """No worker can take a request: an unknown endpoint or deployment (404) or none ready (503)."""

    def __init__(self, message: str, error_code: str, status: int) -> None:
        super().__init__(message, error_code)
        self.status = status


@dataclass(frozen=True)
class Target:
    """Where one request goes; call :meth:`done` when it is answered."""

    endpoint: str
    deployment: str
    port: int
    done: Callable[[float, bool], None]


@dataclass
class _Runtime:
    spec: DeploymentSpec
    active: Worker
    pending: Worker | None = None


def _endpoint_key(spec: EndpointSpec) -> str:
    """The stats key of an endpoint (a new endpoint of the same name starts from zero)."""
    return f"endpoint/{spec.name}/{spec.created_at}"


def _deployment_key(spec: DeploymentSpec) -> str:
    return f"deployment/{spec.endpoint}/{spec.name}/{spec.created_at}"


class EndpointManager:
    """The managed endpoints of this server process (see the module's docstring). Thread-safe."""

    def __init__(self, source: ModelSource, folder: Path | None = None, *,
                 alias_poll_seconds: float | None = None) -> None:
        self.source = source
        self.folder = Path(folder) if folder is not None else endpoints_dir()
        self.store = DefinitionStore(self.folder)
        self._runtime_file = RuntimeFile(self.folder)
        self._lock_file = SupervisorLock(self.folder)
        self._lock = threading.RLock()
        self._defs: dict[str, EndpointSpec] = {}
        self._stamp: int | None = None
        self._runtimes: dict[tuple[str, str], _Runtime] = {}
        self._remote: dict[str, Any] = {}
        self.stats = StatsBook(self.folder / "metrics")
        self._written: Any = None
        self._supervisor: Supervisor | None = None
        self._follower = AliasFollower(self.check_aliases, poll_seconds(alias_poll_seconds))
        self._stopped = threading.Event()
        self._poller: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------------------------------------

    @property
    def supervising(self) -> bool:
        """Whether this process starts and watches the workers."""
        return self._supervisor is not None

    def start(self) -> None:
        """Restore the definitions; start the workers when this process takes the supervisor lock."""
        with self._lock:
            self._defs, self._stamp = self.store.load(), self.store.stamp()
            self._try_supervise()
        self.stats.forget_dead()
        self._poller = threading.Thread(target=self._poll, name="mlcask-endpoints-poll", daemon=True)
        self._poller.start()
        self._follower.start()

    def _try_supervise(self) -> None:
        """Become the supervisor if no other process is (once the folder exists: a server that never had an
        endpoint writes nothing)."""
        if self._supervisor is None and self.folder.is_dir() and self._lock_file.try_acquire():
            _logger.info("supervising managed endpoints in %s", self.folder)
            self._supervisor = Supervisor(self._on_tick)
            self._supervisor.start()
            self._reconcile()

    def close(self) -> None:
        """Stop the workers (this process supervises them) and the threads."""
        self._stopped.set()
        self._follower.stop()
        if self._poller is not None:
            self._poller.join(10)
        try:
            self.stats.publish(force=True)
        except OSError:
            _logger.exception("publishing endpoint metrics")
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.stop()
            self._runtime_file.write({"endpoints": {}, "supervisor": None})
            self._lock_file.release()

    def _poll(self) -> None:
        """Pick up definitions changed by other processes; read the supervisor's runtime state; take over."""
        while not self._stopped.wait(REFRESH_S):
            try:
                with self._lock:
                    self._refresh()
                    self._try_supervise()
                self.stats.publish()
            except Exception:
                _logger.exception("refreshing managed endpoints")

    def _refresh(self, reconcile: bool = True) -> None:
        """Read the definitions again if another process changed them (and, not supervising, the workers'
        state); under the lock. A stat when nothing changed."""
        stamp = self.store.stamp()
        if stamp != self._stamp and (reconcile or self._supervisor is None):
            self._defs, self._stamp = self.store.load(), stamp
            if self._supervisor is not None:
                self._reconcile()
        if self._supervisor is None:
            self._remote = self._runtime_file.read().get("endpoints", {})

    # -- definitions changed ----------------------------------------------------------------------------------------

    def changed(self, defs: dict[str, EndpointSpec], resolved: dict[tuple[str, str], str] | None = None) -> None:
        """Take the definitions just saved (``resolved``: versions already looked up, by deployment)."""
        with self._lock:
            self._defs, self._stamp = defs, self.store.stamp()
            if self._supervisor is None:
                self._try_supervise()
            else:
                self._reconcile(resolved or {})

    def definitions(self) -> dict[str, EndpointSpec]:
        """The definitions, as last saved by any process."""
        with self._lock:
            self._refresh()
            return dict(self._defs)

    def _worker(self, spec: DeploymentSpec, resolved: str | None) -> Worker:
        label = f"{spec.endpoint}/{spec.name}"
        if resolved is None:
            try:
                resolved = self.source.resolve_version(spec.model_uri)
            except Exception as exc:
                error = exc

                def failing() -> Any:
                    raise error
                worker = Worker(label, spec.model_uri, failing)
                assert self._supervisor is not None
                self._supervisor.add(worker)
                return worker
        worker = Worker(label, resolved, launcher(self.source, spec, resolved, self.folder))
        assert self._supervisor is not None
        self._supervisor.add(worker)
        return worker

    def _reconcile(self, resolved: dict[tuple[str, str], str] | None = None) -> None:
        """Make the workers match the definitions (under the lock, in the supervising process)."""
        resolved = resolved or {}
        wanted = {(e.name, d.name): d for e in self._defs.values() for d in e.deployments.values()}
        for key in [k for k in self._runtimes if k not in wanted]:
            runtime = self._runtimes.pop(key)
            for worker in (runtime.active, runtime.pending):
                if worker is not None:
                    self._retire(worker)
        for key, spec in wanted.items():
            runtime = self._runtimes.get(key)
            if runtime is None:
                self._runtimes[key] = _Runtime(spec, self._worker(spec, resolved.get(key)))
            elif (runtime.spec.model_uri, runtime.spec.config, runtime.spec.flavor) != (
                    spec.model_uri, spec.config, spec.flavor):
                runtime.spec = spec
                self._switch(runtime, resolved.get(key))
            else:
                runtime.spec = spec

    def _switch(self, runtime: _Runtime, resolved: str | None) -> None:
        if runtime.pending is not None:
            self._retire(runtime.pending)
        runtime.pending = self._worker(runtime.spec, resolved)
        _logger.info("deployment %s/%s: starting %s beside the serving %s", runtime.spec.endpoint,
                     runtime.spec.name, runtime.pending.resolved_uri, runtime.active.resolved_uri)

    def _retire(self, worker: Worker) -> None:
        """Drain ``worker`` (its requests finish) and stop it, in a thread."""
        worker.retiring = True

        def drain() -> None:
            deadline = time.monotonic() + DRAIN_TIMEOUT_S
            time.sleep(DRAIN_GRACE_S if worker.state == "ready" else 0)
            while worker.inflight > 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            worker.stop(DRAIN_STOP_GRACE_S)  # SIGTERM: the worker finishes what other processes sent it
            if self._supervisor is not None:
                self._supervisor.remove(worker)
        threading.Thread(target=drain, name=f"drain-{worker.label}", daemon=True).start()

    def check_aliases(self) -> None:
        """Look up again what each alias-following deployment points at; switch those that moved."""
        if self._supervisor is None:
            return
        with self._lock:
            runtimes = list(self._runtimes.values())
        for runtime in runtimes:
            if follows(runtime.spec.model_uri) is None:
                continue
            try:
                now = self.source.resolve_version(runtime.spec.model_uri)
            except Exception as exc:  # the alias was deleted, the registry is away: keep serving what runs
                _logger.warning("deployment %s/%s: cannot look up %s (%s); serving %s still", runtime.spec.endpoint,
                                runtime.spec.name, runtime.spec.model_uri, exc, runtime.active.resolved_uri)
                continue
            with self._lock:
                if self._runtimes.get((runtime.spec.endpoint, runtime.spec.name)) is not runtime:
                    continue  # deleted or replaced meanwhile
                if now == runtime.active.resolved_uri:
                    if runtime.pending is not None:  # moved back before the new version got ready
                        self._retire(runtime.pending)
                        runtime.pending = None
                elif runtime.pending is None or now != runtime.pending.resolved_uri:
                    self._switch(runtime, now)

    def notify_alias_changed(self, name: str, alias: str) -> None:
        """An alias of registered model ``name`` was set or deleted: check the followers now."""
        self._follower.poke()

    def _on_tick(self) -> None:
        """After each look at the workers: finish switches whose new worker is ready; publish the state."""
        with self._lock:
            for runtime in self._runtimes.values():
                pending = runtime.pending
                if pending is not None and pending.state == "ready":
                    old, runtime.active, runtime.pending = runtime.active, pending, None
                    _logger.info("deployment %s/%s: now serving %s", runtime.spec.endpoint, runtime.spec.name,
                                 pending.resolved_uri)
                    self._retire(old)
            published = {"endpoints": self._local_status()}
        if published != self._written:
            self._runtime_file.write(published)
            self._written = published

    def _local_status(self) -> dict[str, dict[str, Any]]:
        status: dict[str, dict[str, Any]] = {}
        for (endpoint, name), runtime in self._runtimes.items():
            entry = runtime.active.status()
            if runtime.pending is not None:
                entry["next_version"] = {k: v for k, v in runtime.pending.status().items() if k != "health"}
            status.setdefault(endpoint, {})[name] = entry
        return status

    # -- routing ---------------------------------------------------------------------------------------------------

    def _status(self, endpoint: str, name: str) -> dict[str, Any]:
        if self._supervisor is not None:
            runtime = self._runtimes.get((endpoint, name))
            if runtime is not None:
                return self._local_status().get(endpoint, {}).get(name, {})
        return self._remote.get(endpoint, {}).get(name) or {
            "state": "starting", "message": "waiting for the supervising server process to start it"}

    def route(self, endpoint: str, pinned: str | None = None, exclude: frozenset[str] = frozenset()) -> Target:
        """A ready worker for one request to ``endpoint`` (``pinned``: of that deployment; ``exclude``: not of
        these, e.g. one whose worker could not be reached a moment ago)."""
        with self._lock:
            self._refresh(reconcile=False)  # on the event loop: the supervisor's poll thread reconciles
            spec = self._defs.get(endpoint)
            if spec is None:
                raise NoWorker(f"No endpoint named '{endpoint}' (endpoints: "
                               f"{', '.join(sorted(self._defs)) or 'none'}).", "RESOURCE_DOES_NOT_EXIST", 404)
            if pinned is not None and pinned not in spec.deployments:
                raise NoWorker(f"Endpoint '{endpoint}' has no deployment named '{pinned}' (its deployments: "
                               f"{', '.join(spec.deployments) or 'none'}).", "RESOURCE_DOES_NOT_EXIST", 404)
            ports = {name: self._ready_port(endpoint, name) for name in spec.deployments}
            ready = {name for name, port in ports.items() if port is not None and name not in exclude}
            name = (pinned if pinned in ready else None) if pinned is not None else choose(spec.traffic, ready)
            if name is None:
                raise NoWorker(self._unavailable(spec, pinned), "TEMPORARILY_UNAVAILABLE", 503)
            worker = self._runtimes[(endpoint, name)].active if self._supervisor is not None else None
            if worker is not None:
                worker.inflight += 1
            stats = self.stats.get(_deployment_key(spec.deployments[name]))
            whole = self.stats.get(_endpoint_key(spec))

        def done(milliseconds: float, error: bool) -> None:
            if worker is not None:
                with self._lock:
                    worker.inflight -= 1
            stats.record(milliseconds, error)
            whole.record(milliseconds, error)

        return Target(endpoint, name, int(ports[name]), done)

    def _ready_port(self, endpoint: str, name: str) -> int | None:
        if self._supervisor is not None:
            runtime = self._runtimes.get((endpoint, name))
            worker = None if runtime is None else runtime.active
            return worker.port if worker is not None and worker.state == "ready" else None
        status = self._remote.get(endpoint, {}).get(name) or {}
        return status.get("port") if status.get("state") == "ready" else None

    def _unavailable(self, spec: EndpointSpec, pinned: str | None) -> str:
        names = [pinned] if pinned is not None else [n for n, share in spec.traffic.items() if share > 0]
        if not names:
            return (f"Endpoint '{spec.name}' has no deployment to serve it yet: create one (deployments/create) "
                    "or give one traffic (endpoints/update).")
        states = []
        for name in names:
            status = self._status(spec.name, name)
            states.append(f"'{name}' is {status.get('state')}" + (f" ({status['message']})"
                                                                  if status.get("message") else ""))
        return f"No deployment of endpoint '{spec.name}' is ready to serve: {'; '.join(states)}. Try again shortly."

    # -- views -----------------------------------------------------------------------------------------------------

    def endpoint_view(self, name: str) -> dict[str, Any]:
        """The Endpoint JSON of the REST API (see :mod:`mlcask.deployments.views`)."""
        with self._lock:
            self._refresh()
            spec = self._defs.get(name)
            if spec is None:
                raise views.endpoint_not_found(name, self._defs)
            return views.endpoint_view(spec, self.stats.snapshot(_endpoint_key(spec)))

    def deployment_view(self, endpoint: str, name: str) -> dict[str, Any]:
        """The Deployment JSON of the REST API."""
        with self._lock:
            self._refresh()
            spec = self._defs.get(endpoint)
            if spec is None:
                raise views.endpoint_not_found(endpoint, self._defs)
            deployment = spec.deployments.get(name)
            if deployment is None:
                raise views.deployment_not_found(spec, name)
            return views.deployment_view(deployment, spec.traffic.get(name, 0), self._status(endpoint, name),
                                         self.stats.snapshot(_deployment_key(deployment)))
