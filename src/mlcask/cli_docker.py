"""``mlcask models generate-dockerfile`` and ``mlcask models build-docker``: a Docker image serving a model.

The options are those of ``mlflow models generate-dockerfile`` / ``build-docker``
(``-m/--model-uri``, ``-d/--output-directory``, ``-n/--name``, ``--env-manager``), plus
``--base-image`` and package indexes; MLflow's ``--mlflow-home``, ``--install-java``,
``--install-mlflow`` and ``--enable-mlserver`` are refused with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mlcask.cli_store import check_store_for, tracking_uri_option
from mlcask.exceptions import MlcaskException

__all__ = ["build_docker_command", "generate_dockerfile_command"]

DEFAULT_OUTPUT_DIRECTORY = "mlcask-dockerfile"  # mlcask.deployments.docker.DEFAULT_OUTPUT_DIRECTORY
DEFAULT_IMAGE_NAME = "mlcask-pyfunc-servable"  # mlcask.deployments.docker.DEFAULT_IMAGE_NAME
MODEL_URI_HELP = ("The model: a path, runs:/<run_id>/<name>, models:/<model_id>, models:/<name>/<version> or "
                  "models:/<name>@<alias>.")
ENV_MANAGER_HELP = ("How the image installs the model's requirements: uv (default; uv from PyPI) or virtualenv / "
                    "local (pip). conda is not supported.")


def _image_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options both commands take (applied bottom-up, so listed in reverse)."""
    options = [
        tracking_uri_option,
        click.option("--model-uri", "-m", metavar="URI", default=None, help=MODEL_URI_HELP),
        click.option("--env-manager", default=None, metavar="uv|virtualenv|local", help=ENV_MANAGER_HELP),
        click.option("--base-image", default=None, metavar="IMAGE",
                     help="The FROM image. [default: python:X.Y-slim, X.Y the model's Python]"),
        click.option("--index-url", default=None, metavar="URL",
                     help="The package index the image installs from (no credentials in it). [default: PyPI]"),
        click.option("--extra-index-url", "extra_index_urls", multiple=True, metavar="URL",
                     help="Another package index (repeatable; no credentials in it)."),
        click.option("--mlflow-home", default=None, metavar="PATH", help="MLflow's option: not supported."),
        click.option("--install-java", is_flag=False, flag_value=True, default=None, type=bool,
                     help="MLflow's option: not supported (use --base-image with Java)."),
        click.option("--install-mlflow", is_flag=True, default=False, help="MLflow's option: not supported."),
        click.option("--enable-mlserver", is_flag=True, default=False,
                     help="MLflow's option: not supported (the image serves the v2 protocol itself)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _require_model_uri(model_uri: str | None) -> None:
    if not model_uri:
        raise click.UsageError("Missing option '--model-uri' / '-m': an mlcask image serves one model (MLflow's "
                               "model-less image, with a model mounted at run time, is not supported).")


def _model_dir(tracking_uri: str | None, model_uri: str) -> Any:
    """The local folder of ``model_uri`` (its store must exist for runs:/ and models:/)."""
    from mlcask.models.uri import resolve_model_path

    check_store_for(model_uri, tracking_uri)
    if tracking_uri:
        from mlcask.tracking import fluent

        fluent.set_tracking_uri(tracking_uri)
    return resolve_model_path(model_uri)


def _refuse(mlflow_home: str | None, install_java: bool | None, install_mlflow: bool, enable_mlserver: bool) -> None:
    from mlcask.deployments.docker import refuse_mlflow_options

    try:
        refuse_mlflow_options(mlflow_home=mlflow_home, install_java=install_java, install_mlflow=install_mlflow,
                              enable_mlserver=enable_mlserver)
    except MlcaskException as exc:
        raise click.UsageError(exc.message) from None


@click.command("generate-dockerfile")
@_image_options
@click.option("--output-directory", "-d", default=DEFAULT_OUTPUT_DIRECTORY, show_default=True, metavar="DIR",
              help="Where the build context goes: a new or empty folder (a context generated there before is "
                   "replaced).")
def generate_dockerfile_command(tracking_uri: str | None, model_uri: str | None, env_manager: str | None,
                                base_image: str | None, index_url: str | None, extra_index_urls: tuple[str, ...],
                                mlflow_home: str | None, install_java: bool | None, install_mlflow: bool,
                                enable_mlserver: bool, output_directory: str) -> None:
    """Write a Dockerfile and build context whose image serves the model on port 8080.

    The context holds the model folder, the running mlcask's wheel, the model's requirements
    and the Dockerfile; build it with `docker build -t NAME DIR`, run it with
    `docker run -p 5001:8080 NAME`.
    """
    from mlcask.deployments.docker import generate_dockerfile

    _refuse(mlflow_home, install_java, install_mlflow, enable_mlserver)
    _require_model_uri(model_uri)
    try:
        context = generate_dockerfile(_model_dir(tracking_uri, model_uri), output_directory, env_manager,
                                      base_image, index_url=index_url, extra_index_urls=extra_index_urls)
    except MlcaskException as exc:
        raise click.ClickException(exc.cli_message) from None
    click.echo(f"Wrote the build context of {model_uri} to {context.path} ({context.recipe.base_image}). "
               f"Build: docker build -t NAME {context.path}   Run: docker run -p 5001:8080 NAME")


@click.command("build-docker")
@_image_options
@click.option("--name", "-n", default=DEFAULT_IMAGE_NAME, show_default=True, help="The image's name[:tag].")
def build_docker_command(tracking_uri: str | None, model_uri: str | None, env_manager: str | None,
                         base_image: str | None, index_url: str | None, extra_index_urls: tuple[str, ...],
                         mlflow_home: str | None, install_java: bool | None, install_mlflow: bool,
                         enable_mlserver: bool, name: str) -> None:
    """Build a Docker image serving the model on port 8080 (needs a running Docker daemon).

    The image is the one `mlcask models generate-dockerfile` describes; run it with
    `docker run -p 5001:8080 NAME`.
    """
    import tempfile
    from pathlib import Path

    from mlcask.deployments.docker import docker_build, docker_daemon, generate_dockerfile

    _refuse(mlflow_home, install_java, install_mlflow, enable_mlserver)
    _require_model_uri(model_uri)
    try:
        docker_daemon()
        model_dir = _model_dir(tracking_uri, model_uri)
        with tempfile.TemporaryDirectory(prefix="mlcask-docker-") as folder:
            context = generate_dockerfile(model_dir, Path(folder) / "context", env_manager, base_image,
                                          index_url=index_url, extra_index_urls=extra_index_urls)
            docker_build(context.path, name, click.echo)
    except MlcaskException as exc:
        raise click.ClickException(exc.cli_message) from None
    click.echo(f"Built image {name} serving {model_uri}. Run: docker run -p 5001:8080 {name}")
