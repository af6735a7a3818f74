"""``mlcask ui``: the web UI for one user, on this machine only (MLflow's ``mlflow ui``).

It is ``mlcask server`` over the embedded defaults of the working folder: experiments,
runs and models in ``./mlcask.db``, artifacts in ``./mlcask-artifacts`` served through the
artifact proxy (new experiments get ``mlflow-artifacts:/``), on http://127.0.0.1:5000. So
the runs that ``import mlcask`` logged here with no tracking URI set show up as they are,
artifacts included. It listens on a loopback address only and reads no ``MLFLOW_*`` or
``MLCASK_*`` server variable: a shared server is ``mlcask server`` (with authentication).
"""

from __future__ import annotations

import socket

import click

from mlcask.cli_signing import allow_pickle_option

__all__ = ["ui"]


def _url(host: str, port: int) -> str:
    """The address to open in a browser (an IPv6 host in brackets)."""
    name = host.strip().strip("[]")
    return f"http://[{name}]:{port}/" if ":" in name else f"http://{name}:{port}/"


def _check_port_free(host: str, port: int) -> None:
    """Fail before anything starts (and before the URL is printed) if another process has the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(f"Cannot listen on {_url(host, port)}: {exc.strerror or exc}. Another "
                                       "`mlcask ui` or server may be running there; choose another port with "
                                       "--port.") from None


def _loopback_host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from mlcask.server.config import is_loopback_host

    if not is_loopback_host(value):
        raise click.BadParameter(
            f"{value!r} is not a loopback address: `mlcask ui` serves this machine only (127.0.0.1, ::1 or "
            "localhost). To share the tracking server on a network, run `mlcask server --host "
            f"{value} --app-name basic-auth` (see `mlcask server --help`).", ctx=ctx, param=param)
    return value.strip().strip("[]")


@click.command("ui")
@allow_pickle_option
@click.option("--backend-store-uri", default="sqlite:///mlcask.db", show_default=True, metavar="URI",
              help="Experiments, runs and models: sqlite:///path.db or postgresql://...")
@click.option("--artifacts-destination", default="./mlcask-artifacts", show_default=True, metavar="URI",
              help="Where artifacts are stored and served from: a folder or s3://bucket/prefix.")
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--host", "-h", default="127.0.0.1", show_default=True, callback=_loopback_host,
              help="A loopback address to listen on (127.0.0.1, ::1 or localhost); anything else is "
                   "`mlcask server`'s job.")
def ui(backend_store_uri: str, artifacts_destination: str, port: int, host: str) -> None:
    """Open the web UI on this machine: the tracking server over ./mlcask.db and ./mlcask-artifacts."""
    from mlcask.cli_server import serve
    from mlcask.server.config import ServerConfig

    _check_port_free(host, port)
    config = ServerConfig(backend_store_uri=backend_store_uri, artifacts_destination=artifacts_destination,
                          serve_artifacts=True, host=host, port=port, workers=1)
    serve(config, ready=f"mlcask ui: open {_url(host, port)} in a browser (Ctrl-C stops it)")
