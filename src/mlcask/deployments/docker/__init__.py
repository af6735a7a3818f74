"""Container images of a model: ``generate_dockerfile`` writes a build context, ``build_docker`` builds it.

The image serves the model with ``mlcask models serve`` on port 8080, in the model's own
Python and requirements (see :mod:`mlcask.deployments.docker.dockerfile` for what it holds and
:mod:`mlcask.deployments.docker.context` for the context's files). The arguments follow
MLflow's ``mlflow.models.build_docker``; MLflow's options that do not apply to these images
are refused with the reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlcask.deployments.docker.build import DockerBuildError, DockerUnavailableError, docker_build, docker_daemon
from mlcask.deployments.docker.context import DEFAULT_OUTPUT_DIRECTORY, BuildContext, write_context
from mlcask.deployments.docker.dockerfile import ImageRecipe, render_dockerfile
from mlcask.deployments.docker.secrets import SecretsError
from mlcask.exceptions import InvalidArgumentError

__all__ = ["DEFAULT_IMAGE_NAME", "DEFAULT_OUTPUT_DIRECTORY", "BuildContext", "DockerBuildError",
           "DockerUnavailableError", "ImageRecipe", "SecretsError", "build_docker", "docker_daemon",
           "generate_dockerfile", "refuse_mlflow_options", "render_dockerfile"]

DEFAULT_IMAGE_NAME = "mlcask-pyfunc-servable"


def refuse_mlflow_options(*, mlflow_home: str | None = None, install_java: bool | None = None,
                          install_mlflow: bool = False, enable_mlserver: bool = False) -> None:
    """Raise InvalidArgumentError for an MLflow image option that does not apply here, saying why."""
    reasons = []
    if mlflow_home:
        reasons.append("mlflow_home (--mlflow-home): the image installs the running mlcask from its wheel, "
                       "copied into the build context")
    if install_java:
        reasons.append("install_java (--install-java): the python:X.Y-slim base has no Java (MLflow's option "
                       "works only with its Ubuntu base too); give --base-image an image with Java 17 instead")
    if install_mlflow:
        reasons.append("install_mlflow (--install-mlflow): the image serves with mlcask's runtime; the model's "
                       "own mlflow pin is served by it")
    if enable_mlserver:
        reasons.append("enable_mlserver (--enable-mlserver): `mlcask models serve` speaks the v2 inference "
                       "protocol (/v2/...) itself, no MLServer needed")
    if reasons:
        raise InvalidArgumentError("Not supported for mlcask images: " + "; ".join(reasons) + ".")


def generate_dockerfile(model_uri: str | os.PathLike, output_directory: str | os.PathLike = DEFAULT_OUTPUT_DIRECTORY,
                        env_manager: str | None = None, base_image: str | None = None, *,
                        index_url: str | None = None, extra_index_urls: tuple[str, ...] = ()) -> BuildContext:
    """Write a Docker build context serving the model at ``model_uri`` on port 8080.

    Parameters
    ----------
    model_uri : str or os.PathLike
        A path, ``file:``, ``runs:/``, ``models:/`` or any URI mlcask resolves to a model folder.
        mlcask's runtime goes in as the wheel ``$MLCASK_RUNTIME_WHEEL`` names, else as a wheel
        of the running mlcask (:func:`mlcask.environments.runtime_wheel`).
    output_directory : str or os.PathLike, default "mlcask-dockerfile"
        A new or empty folder, or one holding a context generated before (replaced).
    env_manager : str, optional
        ``"uv"`` (default): the image installs the requirements with uv; ``"virtualenv"`` or
        ``"local"``: with pip. ``"conda"`` is refused.
    base_image : str, optional
        The ``FROM`` image (default ``python:X.Y-slim``, X.Y the model's Python).
    index_url, extra_index_urls : str, tuple of str, optional
        Package indexes to install from (default PyPI); refused when they carry credentials.

    Returns
    -------
    BuildContext
        The context folder, its Dockerfile and the recipe.
    """
    from mlcask.environments.wheel import chosen_runtime_wheel
    from mlcask.models.uri import resolve_model_path

    model_dir = resolve_model_path(model_uri)
    return write_context(model_dir, output_directory, chosen_runtime_wheel(), env_manager=env_manager,
                         base_image=base_image, index_url=index_url, extra_index_urls=tuple(extra_index_urls))


def build_docker(model_uri: str | os.PathLike, name: str = DEFAULT_IMAGE_NAME, env_manager: str | None = None,
                 mlflow_home: str | None = None, install_java: bool | None = None, install_mlflow: bool = False,
                 enable_mlserver: bool = False, base_image: str | None = None, *,
                 log: Callable[[str], None] = print) -> str:
    """Build a Docker image named ``name`` serving the model at ``model_uri`` (MLflow's ``build_docker``).

    Parameters
    ----------
    model_uri : str or os.PathLike
        The model (see :func:`generate_dockerfile`).
    name : str, default "mlcask-pyfunc-servable"
        The image's name (``name[:tag]``).
    env_manager : str, optional
        As for :func:`generate_dockerfile`.
    mlflow_home, install_java, install_mlflow, enable_mlserver
        MLflow's options; refused when set (see :func:`refuse_mlflow_options`).
    base_image : str, optional
        The ``FROM`` image.
    log : Callable[[str], None], default print
        Receives Docker's output, line by line.

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    DockerUnavailableError
        Without a ``docker`` client or a reachable daemon (checked before anything is written).
    DockerBuildError
        When ``docker build`` fails.
    """
    refuse_mlflow_options(mlflow_home=mlflow_home, install_java=install_java, install_mlflow=install_mlflow,
                          enable_mlserver=enable_mlserver)
    if not name or name.startswith("-"):
        raise InvalidArgumentError(f"The image name {name!r} is not a name[:tag].")
    docker_daemon()
    with tempfile.TemporaryDirectory(prefix="mlcask-docker-") as folder:
        context = generate_dockerfile(model_uri, Path(folder) / "context", env_manager, base_image)
        docker_build(context.path, name, log)
    return name
