"""How a deployment's worker is started: its model folder, its environment, its ``mlcask models serve`` command.

Runs in the worker's preparing thread (:class:`mlcask.deployments.supervisor.Worker`), never on the
server's event loop: finding the folder may download the model, and ``env_manager`` ``uv`` or
``virtualenv`` builds (or reuses) the model's own environment with :mod:`mlcask.environments`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlcask.deployments.endpoints import DeploymentSpec
from mlcask.deployments.supervisor import Launch

__all__ = ["launcher", "serve_command"]

_logger = logging.getLogger("mlcask.deployments")
HOST = "127.0.0.1"


def serve_command(prepared: Any, folder: Path, port: int, extra: list[str]) -> list[str]:
    """``mlcask models serve -m <folder> --host 127.0.0.1 --port <port> <extra>`` with the environment's
    Python (``prepared`` from :func:`mlcask.environments.prepare_environment`; None: this interpreter)."""
    try:
        from mlcask.environments import serve_argv
    except ImportError:  # an mlcask without its environments package: serve with this interpreter
        if prepared is not None:
            raise
        return [sys.executable, "-m", "mlcask", "models", "serve", "-m", str(folder), "--host", HOST,
                "--port", str(port), *extra]
    return list(serve_argv(prepared, folder, host=HOST, port=port, extra=extra))


def _environment(spec: DeploymentSpec, folder: Path, log_path: Path) -> Any:
    if spec.env_manager == "local":
        return None
    from mlcask.environments import prepare_environment

    def log(line: str) -> None:
        with open(log_path, "a") as file:
            file.write(line.rstrip("\n") + "\n")

    log_path.parent.mkdir(parents=True, exist_ok=True)
    prepared = prepare_environment(folder, spec.env_manager, log=log)
    _logger.info("deployment %s/%s: environment %s (%s, %.1f s)", spec.endpoint, spec.name, prepared.path,
                 "reused" if prepared.reused else "built", prepared.seconds)
    return prepared


def launcher(source: Any, spec: DeploymentSpec, resolved_uri: str, folder: Path) -> Callable[[], Launch]:
    """The preparing function of a worker serving ``resolved_uri`` for ``spec`` (``source``: a
    :class:`mlcask.deployments.manager.ModelSource`; ``folder``: the endpoints folder, for the log)."""
    log_path = folder / "logs" / spec.endpoint / f"{spec.name}.log"

    def prepare() -> Launch:
        model_folder = Path(source.local_folder(resolved_uri))
        prepared = _environment(spec, model_folder, log_path)
        env = dict(prepared.env_vars()) if prepared is not None else {}
        extra = spec.serve_options()

        def argv(port: int) -> list[str]:
            return serve_command(prepared, model_folder, port, extra)

        return Launch(argv, env, log_path)

    return prepare
