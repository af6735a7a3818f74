"""What an ``mlcask server`` serves, and how it passes that to its worker processes.

``mlcask server`` builds one :class:`ServerConfig` from its options. With one worker the
app is built from it directly; with ``--workers N`` uvicorn imports
``mlcask.server.app:app_from_env`` in each worker, which reads the same config back from
the ``MLCASK_SERVER_CONFIG`` environment variable (JSON).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.server.artifacts_proxy import DEFAULT_MAX_UPLOAD_BYTES

__all__ = ["CONFIG_ENV", "LOOPBACK_HOSTS", "ServerConfig", "is_loopback_host"]

CONFIG_ENV = "MLCASK_SERVER_CONFIG"
#: Host names a loopback server answers to without ``--allowed-hosts``.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a bind address or a Host header's name) is this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _artifact_uri(location: str) -> str:
    """A local path made absolute; URIs (``s3://``, ``mlflow-artifacts:``, ``file:``) as given."""
    scheme = urllib.parse.urlparse(location).scheme
    if scheme and len(scheme) > 1:
        return location
    return str(Path(location).expanduser().absolute())


@dataclass(frozen=True)
class ServerConfig:
    """The options of ``mlcask server`` (MLflow's flags and defaults where they make sense).

    Attributes:
        backend_store_uri: Experiments, runs and logged models (``sqlite:///...``, ``postgresql://...``).
        registry_store_uri: The model registry; the backend store for None.
        default_artifact_root: Where new experiments keep artifacts; ``mlflow-artifacts:/`` (the proxy)
            when artifacts are served and this is None, else the artifacts destination.
        artifacts_destination: Where the artifact proxy stores files (a folder or ``s3://bucket/prefix``).
        serve_artifacts: Whether ``/api/2.0/mlflow-artifacts/...`` (the proxy) is served.
        artifacts_only: Serve the artifact proxy alone (no tracking or registry API).
        host, port, workers: Where uvicorn listens, and how many worker processes.
        allowed_hosts: Host header names accepted besides the loopback names (``*`` for any).
        cors_allowed_origins: Origins allowed to call the API from a browser (none by default).
        app_name: ``"basic-auth"`` for MLflow's basic authentication, None for none.
        expose_prometheus: A folder for Prometheus multiprocess metrics; serves ``/metrics`` when set.
        allow_unauthenticated: Allow a non-loopback ``host`` without authentication.
        max_upload_bytes: The largest body the artifact proxy accepts: one PUT, or one part of a
            multipart upload (413 beyond).
    """

    backend_store_uri: str = "sqlite:///mlcask.db"
    registry_store_uri: str | None = None
    default_artifact_root: str | None = None
    artifacts_destination: str = "./mlcask-artifacts"
    serve_artifacts: bool = True
    artifacts_only: bool = False
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    allowed_hosts: tuple[str, ...] = ()
    cors_allowed_origins: tuple[str, ...] = ()
    app_name: str | None = None
    expose_prometheus: str | None = None
    allow_unauthenticated: bool = False
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def registry_uri(self) -> str:
        return self.registry_store_uri or self.backend_store_uri

    @property
    def artifacts_destination_uri(self) -> str:
        """The destination as an absolute path or URI."""
        return _artifact_uri(self.artifacts_destination)

    @property
    def artifact_root(self) -> str:
        """The default artifact root of new experiments (experiment N gets ``<root>/N``)."""
        if self.default_artifact_root:
            return _artifact_uri(self.default_artifact_root).rstrip("/")
        if self.serve_artifacts:
            return "mlflow-artifacts:"
        return self.artifacts_destination_uri.rstrip("/")

    @property
    def artifact_roots(self) -> tuple[str, ...]:
        """The roots an experiment's ``artifact_location`` may lie under (MLflow #24767)."""
        roots = [self.artifact_root, self.artifacts_destination_uri.rstrip("/")]
        if self.serve_artifacts:
            roots.append("mlflow-artifacts:")
        return tuple(dict.fromkeys(roots))

    @property
    def auth_enabled(self) -> bool:
        return self.app_name == "basic-auth"

    def check(self) -> None:
        """Refuse options that cannot work together, or an unsafe exposure."""
        if self.app_name not in (None, "basic-auth"):
            raise InvalidArgumentError(f"--app-name {self.app_name!r}: the only app is 'basic-auth'.")
        if self.workers < 1:
            raise InvalidArgumentError(f"--workers must be at least 1, got {self.workers}.")
        if self.max_upload_bytes < 1:
            raise InvalidArgumentError(f"--max-upload-bytes must be at least 1, got {self.max_upload_bytes}.")
        for option, uri in (("--backend-store-uri", self.backend_store_uri),
                            ("--registry-store-uri", self.registry_store_uri)):
            if uri and urllib.parse.urlparse(uri).scheme.lower() in ("http", "https"):
                raise InvalidArgumentError(f"{option} {uri}: a server stores into a database (sqlite:///path.db "
                                           "or postgresql://...), not into another tracking server.")
        if self.artifacts_only and not self.serve_artifacts:
            raise InvalidArgumentError("--artifacts-only serves the artifact proxy: it cannot be combined with "
                                       "--no-serve-artifacts.")
        if not is_loopback_host(self.host) and not self.auth_enabled and not self.allow_unauthenticated:
            raise InvalidArgumentError(
                f"Refusing to serve on --host {self.host} without authentication: anyone who can reach it could "
                "read and change every experiment, run and model. Turn authentication on with --app-name "
                "basic-auth (and set MLCASK_AUTH_ADMIN_PASSWORD for the admin user), or pass "
                "--allow-unauthenticated if the network in front of the server already controls access.")

    def to_env(self) -> str:
        """The config as the JSON of ``MLCASK_SERVER_CONFIG``."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ServerConfig:
        """The config ``mlcask server`` left in ``MLCASK_SERVER_CONFIG`` for its workers."""
        text = (os.environ if environ is None else environ).get(CONFIG_ENV)
        if not text:
            raise InvalidArgumentError(f"{CONFIG_ENV} is not set: start the server with `mlcask server`, or build "
                                       "the app with mlcask.server.app.create_app(ServerConfig(...)).")
        values = json.loads(text)
        for name in ("allowed_hosts", "cors_allowed_origins"):
            values[name] = tuple(values.get(name) or ())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
