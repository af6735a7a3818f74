"""Running ``docker build`` on a generated context, when a Docker daemon answers.

The ``docker`` client is looked up on ``PATH`` and asked ``docker info`` first: without a
client or a reachable daemon the error says so (with what Docker answered) and points at
``mlcask models generate-dockerfile``, which writes the same context to build elsewhere.
The build's output is passed on line by line as it comes.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from mlcask.exceptions import MlcaskException

__all__ = ["DockerBuildError", "DockerUnavailableError", "docker_build", "docker_daemon"]

INFO_TIMEOUT_SECONDS = 30
ELSEWHERE = ("`mlcask models generate-dockerfile -m URI -d DIR` writes the same build context (Dockerfile, model, "
             "mlcask's wheel) to build with `docker build -t NAME DIR` where Docker runs.")


class DockerUnavailableError(MlcaskException):
    """No ``docker`` client, or its daemon does not answer."""


class DockerBuildError(MlcaskException):
    """``docker build`` failed."""


def docker_client() -> str:
    """The ``docker`` executable on PATH; DockerUnavailableError naming the way out when there is none."""
    found = shutil.which("docker")
    if found is None:
        raise DockerUnavailableError(f"The docker command is not installed (not found on PATH). {ELSEWHERE}")
    return found


def docker_daemon(docker: str | None = None) -> str:
    """The version of the Docker daemon ``docker`` reaches (``docker info``).

    Parameters
    ----------
    docker : str, optional
        The client to ask (default: ``docker`` on PATH).

    Returns
    -------
    str
        The daemon's server version.

    Raises
    ------
    DockerUnavailableError
        When there is no client, or its daemon is not reachable (the message quotes Docker's answer).
    """
    docker = docker or docker_client()
    try:
        answer = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                                timeout=INFO_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise DockerUnavailableError(f"Docker's daemon is not reachable: `docker info` gave no answer in "
                                     f"{INFO_TIMEOUT_SECONDS} s. {ELSEWHERE}") from None
    version = answer.stdout.strip()
    if answer.returncode != 0 or not version:
        said = " ".join((answer.stderr or answer.stdout).split())[:500] or f"exit status {answer.returncode}"
        raise DockerUnavailableError(f"Docker's daemon is not reachable (`docker info`: {said}). Start Docker, or "
                                     f"point DOCKER_HOST at a daemon; or: {ELSEWHERE}")
    return version


def docker_build(context: Path, name: str, log: Callable[[str], None], docker: str | None = None) -> None:
    """Run ``docker build -t name context``, passing each line of its output to ``log`` as it comes.

    Parameters
    ----------
    context : Path
        A build context (from :func:`mlcask.deployments.docker.generate_dockerfile`).
    name : str
        The image's name (``name[:tag]``).
    log : Callable[[str], None]
        Receives docker's output, a line at a time.
    docker : str, optional
        The client (default: ``docker`` on PATH).

    Raises
    ------
    DockerBuildError
        When the build fails (its output has gone to ``log``).
    """
    argv = [docker or docker_client(), "build", "-t", name, str(context)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               errors="replace")
    try:
        assert process.stdout is not None
        for line in process.stdout:
            log(line.rstrip("\n"))
        status = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if status != 0:
        raise DockerBuildError(f"`docker build -t {name} {context}` failed (exit status {status}); Docker's output "
                               "is above.")
