"""MLflow's ``run_local``: serve a model on this machine, in the foreground, as a deployment would serve it.

No server is involved: ``run_local(target, name, model_uri, config=...)`` runs ``mlcask models serve``
for the model with the deployment's config (``env_manager``, ``max_batch_size``, ``timeout``, ...) plus
``host`` and ``port``, until it is stopped (Ctrl-C), as ``mlflow deployments run-local`` does for its
targets.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from mlcask.exceptions import InvalidArgumentError

__all__ = ["LOCAL_CONFIG_KEYS", "run_local", "run_local_argv"]

#: What run_local takes besides a deployment's config keys.
LOCAL_CONFIG_KEYS = {"host": "the address to listen on (default 127.0.0.1)",
                     "port": "the port to listen on (default 5000)"}
_FLAVORS = (None, "python_function", "pyfunc")


def _port(value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if isinstance(value, bool) or not 0 < port < 65536 or (isinstance(value, float) and value != port):
        raise InvalidArgumentError(f"run_local: config port={value!r}: expected an integer from 1 to 65535.")
    return port


def run_local_argv(name: str, model_uri: str, flavor: str | None = None,
                   config: dict[str, Any] | None = None) -> list[str]:
    """The command :func:`run_local` runs (``python -m mlcask models serve ...``), its config checked.

    Parameters
    ----------
    name
        The deployment's name (the model's name in ``/v2/models/{name}``).
    model_uri
        The model to serve.
    flavor
        None or ``python_function`` (what mlcask serves).
    config
        A deployment's config keys (``traffic`` excepted) plus ``host`` and ``port``.

    Returns
    -------
    list[str]
    """
    from mlcask.deployments.endpoints import DeploymentSpec, check_deployment_config, check_name

    check_name(name, "deployment name")
    if not isinstance(model_uri, str) or not model_uri.strip():
        raise InvalidArgumentError(f"run_local: model_uri must be a model URI, got {model_uri!r}.")
    if flavor not in _FLAVORS:
        raise InvalidArgumentError(f"run_local: flavor={flavor!r}: mlcask serves the model's python_function "
                                   "flavor (give python_function, or no flavor).")
    config = dict(config or {})
    host = str(config.pop("host", "127.0.0.1"))
    port = _port(config.pop("port", 5000))
    if "traffic" in config:
        raise InvalidArgumentError("run_local: config traffic applies to a deployment of an endpoint, not to a "
                                   "model served locally.")
    spec = DeploymentSpec(name, name, model_uri, config=check_deployment_config(config))
    # local is `models serve`'s default: the option is given only for another environment
    environment = ["--env-manager", spec.env_manager] if spec.env_manager != "local" else []
    return [sys.executable, "-m", "mlcask", "models", "serve", "-m", model_uri, "--host", host, "--port", str(port),
            "--name", name, *environment, *spec.serve_options()]


def run_local(target: str, name: str, model_uri: str, flavor: str | None = None,
              config: dict[str, Any] | None = None) -> None:
    """Serve ``model_uri`` on this machine until stopped (MLflow's ``mlflow.deployments.run_local``).

    Parameters
    ----------
    target
        The deployment target (any of :func:`mlcask.deployments.targets.resolve_target`'s forms; the
        model is served here, not by that server).
    name, model_uri, flavor, config
        As :func:`run_local_argv` takes them.

    Raises
    ------
    InvalidArgumentError
        For a bad argument or config key, before anything starts.
    subprocess.CalledProcessError
        When the server exits with an error.
    """
    if not isinstance(target, str) or not target.strip():
        raise InvalidArgumentError(f"run_local: target must be a deployment target URI, got {target!r}.")
    argv = run_local_argv(name, model_uri, flavor, config)
    try:
        subprocess.run(argv, check=True)
    except KeyboardInterrupt:  # Ctrl-C reached the server too (same process group): it stops by itself
        return
