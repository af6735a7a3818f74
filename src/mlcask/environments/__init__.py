"""The model's own environment: built from its ``python_env.yaml`` / ``requirements.txt`` with uv or venv + pip,
cached under ``$MLCASK_HOME/envs``, with mlcask's serving runtime installed from the running mlcask.

This package sits beside :mod:`mlcask.models`: it imports only models, types, exceptions, utils and
the standard library, and runs the installers as subprocesses.
"""

from __future__ import annotations

from mlcask.environments.build import (
    ENV_MANAGERS,
    PreparedEnvironment,
    check_env_manager,
    environment_key,
    installed_requirements,
    prepare_environment,
)
from mlcask.environments.command import serve_argv
from mlcask.environments.installers import EnvironmentBuildError
from mlcask.environments.interpreters import PythonNotFoundError, find_python
from mlcask.environments.pins import violated_pins
from mlcask.environments.spec import EnvironmentSpec, read_environment_spec, requirement_files
from mlcask.environments.wheel import RuntimeWheelError, runtime_wheel

__all__ = [
    "ENV_MANAGERS",
    "EnvironmentBuildError",
    "EnvironmentSpec",
    "PreparedEnvironment",
    "PythonNotFoundError",
    "RuntimeWheelError",
    "check_env_manager",
    "environment_key",
    "find_python",
    "installed_requirements",
    "prepare_environment",
    "read_environment_spec",
    "requirement_files",
    "runtime_wheel",
    "serve_argv",
    "violated_pins",
]
