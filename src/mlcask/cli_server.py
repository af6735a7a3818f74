"""``mlcask server``: the tracking server, a drop-in for ``mlflow server``.

Every option also reads ``MLCASK_<NAME>`` or MLflow's ``MLFLOW_<NAME>`` variable
(``MLFLOW_BACKEND_STORE_URI``, ``MLFLOW_HOST``, ``MLFLOW_SERVER_ALLOWED_HOSTS``, ...). One
command starts it: ``mlcask server`` (SQLite in ``./mlcask.db``, artifacts in
``./mlcask-artifacts`` served through the artifact proxy, on http://127.0.0.1:5000).
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

import click

from mlcask.cli_signing import allow_pickle_option
from mlcask.exceptions import MlcaskException

if TYPE_CHECKING:
    from mlcask.server.config import ServerConfig

__all__ = ["serve", "server"]


def _env(name: str) -> list[str]:
    """``MLCASK_<name>``, then MLflow's ``MLFLOW_<name>`` (so a deployment's variables keep working)."""
    return [f"MLCASK_{name}", f"MLFLOW_{name}"]


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3, "t": 1024**4,
          "tib": 1024**4}
_SIZE = re.compile(r"\s*(\d+)\s*([a-z]*)\s*", re.IGNORECASE)


class ByteSize(click.ParamType):
    """A number of bytes: ``1048576``, ``512MiB``, ``5GiB``, ``100MB`` (K/M/G/T alone are binary)."""

    name = "size"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.fullmatch(str(value))
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            self.fail(f"{value!r} is not a size: expected a number of bytes, optionally with a unit "
                      "(KiB, MiB, GiB, TiB, or KB, MB, GB, TB), as in 5GiB.", param, ctx)
        size = int(match.group(1)) * _UNITS[unit]
        if size < 1:
            self.fail(f"{value!r}: the size must be at least 1 byte.", param, ctx)
        return size


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """Options given several times or as comma-separated lists."""
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


@click.command("server")
@allow_pickle_option
@click.option("--backend-store-uri", default="sqlite:///mlcask.db", show_default=True, metavar="URI",
              envvar=_env("BACKEND_STORE_URI"),
              help="Experiments, runs and logged models: sqlite:///path.db or postgresql://...")
@click.option("--registry-store-uri", default=None, metavar="URI", envvar=_env("REGISTRY_STORE_URI"),
              help="The model registry. [default: --backend-store-uri]")
@click.option("--default-artifact-root", default=None, metavar="URI", envvar=_env("DEFAULT_ARTIFACT_ROOT"),
              help="Where new experiments keep artifacts. [default: mlflow-artifacts:/ with --serve-artifacts, "
                   "else --artifacts-destination]")
@click.option("--artifacts-destination", default="./mlcask-artifacts", show_default=True, metavar="URI",
              envvar=_env("ARTIFACTS_DESTINATION"),
              help="Where the artifact proxy stores files: a folder or s3://bucket/prefix.")
@click.option("--serve-artifacts/--no-serve-artifacts", default=True, show_default=True,
              envvar=_env("SERVE_ARTIFACTS"), help="Serve the artifact proxy (/api/2.0/mlflow-artifacts).")
@click.option("--artifacts-only", is_flag=True, envvar=_env("ARTIFACTS_ONLY"),
              help="Serve the artifact proxy alone (no tracking API).")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, envvar=_env("HOST"),
              help="The address to listen on. Another than loopback needs --app-name basic-auth (or "
                   "--allow-unauthenticated).")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=5000, show_default=True, envvar=_env("PORT"))
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, envvar=_env("WORKERS"),
              help="Worker processes.")
@click.option("--allowed-hosts", multiple=True, metavar="HOSTS", envvar=_env("SERVER_ALLOWED_HOSTS"),
              help="Host header names accepted besides the loopback names (comma-separated; *.domain; *).")
@click.option("--cors-allowed-origins", multiple=True, metavar="ORIGINS",
              envvar=_env("SERVER_CORS_ALLOWED_ORIGINS"),
              help="Origins allowed to call the API from a browser (comma-separated). [default: none]")
@click.option("--app-name", type=click.Choice(["basic-auth"]), default=None,
              help="basic-auth: MLflow's basic authentication (set MLCASK_AUTH_ADMIN_PASSWORD).")
@click.option("--expose-prometheus", default=None, metavar="DIR", envvar=_env("EXPOSE_PROMETHEUS"),
              help="Serve request metrics at /metrics (DIR holds the workers' samples).")
@click.option("--allow-unauthenticated", is_flag=True,
              help="Allow a non-loopback --host without authentication.")
@click.option("--max-upload-bytes", type=ByteSize(), default=None, metavar="SIZE", envvar="MLCASK_MAX_UPLOAD_BYTES",
              help="The largest artifact the proxy accepts in one request: a PUT, or one part of a multipart "
                   "upload (5GiB, 512MiB, or bytes). [default: 5GiB]")
@click.option("--access-log/--no-access-log", default=False, show_default=True)
def server(backend_store_uri: str, registry_store_uri: str | None, default_artifact_root: str | None,
           artifacts_destination: str, serve_artifacts: bool, artifacts_only: bool, host: str, port: int,
           workers: int, allowed_hosts: tuple[str, ...], cors_allowed_origins: tuple[str, ...],
           app_name: str | None, expose_prometheus: str | None, allow_unauthenticated: bool,
           max_upload_bytes: int | None, access_log: bool) -> None:
    """Run the tracking server: MLflow's REST API, so MLflow's client logs to it unchanged."""
    from mlcask.server.config import ServerConfig

    config = ServerConfig(
        backend_store_uri=backend_store_uri, registry_store_uri=registry_store_uri,
        default_artifact_root=default_artifact_root, artifacts_destination=artifacts_destination,
        serve_artifacts=serve_artifacts, artifacts_only=artifacts_only, host=host, port=port, workers=workers,
        allowed_hosts=_split(allowed_hosts), cors_allowed_origins=_split(cors_allowed_origins), app_name=app_name,
        expose_prometheus=expose_prometheus, allow_unauthenticated=allow_unauthenticated,
        **({} if max_upload_bytes is None else {"max_upload_bytes": max_upload_bytes}))
    serve(config, access_log=access_log)


def serve(config: ServerConfig, *, access_log: bool = False, ready: str | None = None) -> None:
    """Build the app of ``config`` (a failure is one error line, exit status 1) and run it under uvicorn until
    stopped. ``ready`` is echoed (to stdout) once the app is built, just before uvicorn binds."""
    from mlcask.server.config import CONFIG_ENV

    app = _build(config)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    from mlcask.serving.server import run

    host, port, workers = config.host, config.port, config.workers
    click.echo(f"mlcask server: tracking {'off' if config.artifacts_only else config.backend_store_uri}, artifacts "
               f"{config.artifacts_destination_uri if config.serve_artifacts else 'not served'}, auth "
               f"{config.app_name or 'off'}, listening on http://{host}:{port}", err=True)
    if ready:
        click.echo(ready)
    if workers > 1:
        os.environ[CONFIG_ENV] = config.to_env()
        run("mlcask.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
            access_log=access_log)
        return
    run(app, host=host, port=port, access_log=access_log)


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def _build(config: ServerConfig) -> Any:
    """The app of ``config``, built once here so that whatever can fail (options, stores, the artifact
    destination, auth) fails before the server says it listens: one error line, exit status 1, no traceback.
    With ``--workers N`` each worker builds its own from the same config; this one only proves it can be."""
    from mlcask.server.app import create_app

    try:
        config.check()
        _prepare(config)
        return create_app(config)
    except MlcaskException as exc:
        raise click.ClickException(_one_line(exc.cli_message)) from None
    except Exception as exc:  # a database driver's or the file system's error: say what, not where
        raise click.ClickException(_one_line(f"Cannot start the server: {type(exc).__name__}: {exc}")) from None


def _prepare(config: ServerConfig) -> None:
    """What workers share, done once before they start: the Prometheus folder, the auth database (tables and
    admin), the stores opened (and migrated)."""
    from mlcask.server.state import ServerState

    if config.expose_prometheus:
        folder = os.path.abspath(config.expose_prometheus)
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):  # samples of a previous run would be added to this one's
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    if config.auth_enabled:
        from mlcask.server.auth import AuthSettings, prepare

        prepare(AuthSettings.from_env())  # the auth tables and the admin, once, before workers share them
    if not config.artifacts_only:
        state = ServerState(config)
        state.tracking  # noqa: B018 - opens (and migrates) the database before workers share it
        state.registry  # noqa: B018
