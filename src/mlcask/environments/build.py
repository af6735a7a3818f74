"""Building a model's own environment once, and reusing it: ``$MLCASK_HOME/envs/<key>``.

The key hashes what decides the environment's content: the model's environment files,
the manager, the interpreter's version, the runtime wheel's digest and the index settings
the installer follows. A build runs under a lock per key (``fcntl``), so concurrent
prepares of one environment wait and then reuse it; it fills a temporary folder beside the
final one and renames it into place once complete (a completion marker is written last), so
a failed or interrupted build leaves nothing at the key.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcask.environments.installers import (
    BUILDERS,
    BuildInputs,
    EnvironmentBuildError,
    pip_settings,
    refuse_source_references,
    source_builds_allowed,
)
from mlcask.environments.interpreters import PythonNotFoundError, find_python, interpreter_version, minor_version
from mlcask.environments.locations import envs_dir, locks_dir, wheels_dir
from mlcask.environments.spec import EnvironmentSpec, read_environment_spec
from mlcask.environments.wheel import chosen_runtime_wheel, wheel_digest
from mlcask.exceptions import InvalidArgumentError

ENV_MANAGERS = ("local", "uv", "virtualenv")
MARKER = "mlcask-env.json"
KEY_FORMAT = "1"
# Requirements the runtime wheel stands for: MLflow's own pin in a model's requirements is mlcask here.
REPLACED_BY_RUNTIME = frozenset({"mlflow", "mlflow-skinny", "mlcask"})


@dataclass(frozen=True)
class PreparedEnvironment:
    """A built environment of a model.

    Attributes
    ----------
    path : Path
        The environment's folder (``$MLCASK_HOME/envs/<key>``).
    python : Path
        Its interpreter (``<path>/bin/python``).
    env_manager : str
        ``"uv"`` or ``"virtualenv"``.
    reused : bool
        Whether it existed already (False: built by this call).
    seconds : float
        How long preparing took.
    """

    path: Path
    python: Path
    env_manager: str
    reused: bool
    seconds: float

    def env_vars(self) -> dict[str, str]:
        """The whole process environment for a child running in it.

        A copy of ``os.environ`` with ``VIRTUAL_ENV`` set, the environment's ``bin`` first on
        ``PATH``, and ``PYTHONPATH``/``PYTHONHOME`` removed (they would mix this process's
        packages in).
        """
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = os.pathsep.join([str(self.path / "bin"), os.environ.get("PATH", "")]).rstrip(os.pathsep)
        return env


def check_env_manager(env_manager: str) -> str:
    """Check an environment manager's name.

    Parameters
    ----------
    env_manager : str
        The name given.

    Returns
    -------
    str
        ``env_manager``, when one of :data:`ENV_MANAGERS`.

    Raises
    ------
    InvalidArgumentError
        For ``"conda"`` (not supported, saying what to use) and any other name.
    """
    if env_manager == "conda":
        raise InvalidArgumentError("env_manager 'conda' is not supported by mlcask: use 'uv' (fast) or 'virtualenv' "
                                   "(both build from the model's python_env.yaml and requirements.txt), or 'local'.")
    if env_manager not in ENV_MANAGERS:
        raise InvalidArgumentError(f"env_manager must be one of {', '.join(ENV_MANAGERS)}; got {env_manager!r}.")
    return env_manager


def _requirement_name(line: str) -> str:
    name = line.strip()
    for stop in "=<>!~;[ @":
        name = name.split(stop)[0]
    return name.lower().replace("_", "-")


def installed_requirements(spec: EnvironmentSpec) -> list[str]:
    """The model's requirement lines the installer gets.

    Parameters
    ----------
    spec : EnvironmentSpec
        What the model asks for.

    Returns
    -------
    list of str
        Its requirements without MLflow's and mlcask's own pins (the runtime wheel stands for them).
    """
    return [line for line in spec.requirements if _requirement_name(line) not in REPLACED_BY_RUNTIME]


def _check_runtime_python(spec: EnvironmentSpec, found_version: str) -> None:
    from packaging.specifiers import SpecifierSet

    from mlcask.environments.wheel import runtime_requires_python

    needed = runtime_requires_python()
    if needed and not SpecifierSet(needed).contains(found_version, prereleases=True):
        raise PythonNotFoundError(
            f"The model asks for Python {spec.python_version}, but mlcask's serving runtime needs Python {needed}: "
            "serve it with --env-manager local, or re-save it with a newer Python.")


def environment_key(spec: EnvironmentSpec, env_manager: str, *, python_version: str | None = None,
                    runtime_digest: str | None = None) -> str:
    """The cache key of the environment ``env_manager`` builds for ``spec``.

    Parameters
    ----------
    spec : EnvironmentSpec
        What the model asks for; its files' contents are hashed.
    env_manager : str
        ``"uv"`` or ``"virtualenv"``.
    python_version : str, optional
        The interpreter's full version (default: the one :func:`find_python` finds for the spec).
    runtime_digest : str, optional
        The runtime wheel's digest (default: that of the wheel ``$MLCASK_RUNTIME_WHEEL`` names, else
        of :func:`~mlcask.environments.runtime_wheel`).

    Returns
    -------
    str
        32 hex digits.
    """
    if python_version is None:
        python_version = interpreter_version(find_python(spec.python_version))
    if runtime_digest is None:
        runtime_digest = wheel_digest(chosen_runtime_wheel())
    digest = hashlib.sha256()
    header = {"format": KEY_FORMAT, "manager": env_manager, "python": python_version, "runtime": runtime_digest,
              "index": pip_settings() if env_manager == "uv" else {}, "platform": sys.platform,
              "requirements": installed_requirements(spec), "constraints": list(spec.constraints),
              "build": list(spec.build_dependencies), "source_builds": source_builds_allowed()}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for file in sorted(spec.files):
        data = file.read_bytes()
        digest.update(f"\0{file.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:32]


def _complete(path: Path) -> bool:
    return (path / MARKER).is_file() and (path / "bin" / "python").exists()


def _write_inputs(folder: Path, spec: EnvironmentSpec) -> tuple[Path, Path | None]:
    requirements = folder / "mlcask-requirements.txt"
    requirements.write_text("".join(line + "\n" for line in installed_requirements(spec)))
    if not spec.constraints:
        return requirements, None
    constraints = folder / "mlcask-constraints.txt"
    constraints.write_text("".join(line + "\n" for line in spec.constraints))
    return requirements, constraints


def _retarget_scripts(bin_dir: Path, built_at: Path, final: Path) -> None:
    """Point scripts written with the temporary path (pip's shebangs, activate) at the final one."""
    old, new = str(built_at).encode(), str(final).encode()
    for entry in os.scandir(bin_dir):
        if entry.is_file(follow_symlinks=False) and entry.stat().st_size < 1 << 20:
            data = Path(entry.path).read_bytes()
            if old in data:
                Path(entry.path).write_bytes(data.replace(old, new))


def _build(spec: EnvironmentSpec, env_manager: str, python: Path, wheel: Path, final: Path,
           log: Callable[[str], None] | None) -> None:
    """Build into a temporary folder beside ``final`` and rename it there; on failure remove it."""
    refuse_source_references(installed_requirements(spec))
    work = Path(tempfile.mkdtemp(prefix=f".build-{final.name}-", dir=final.parent))
    target = work / "env"
    try:
        requirements, constraints = _write_inputs(work, spec)
        BUILDERS[env_manager](BuildInputs(python=python, target=target, requirements_file=requirements,
                                          constraints_file=constraints, build_dependencies=spec.build_dependencies,
                                          wheel=wheel), log)
        _retarget_scripts(target / "bin", target, final)
        shutil.copy(requirements, target / requirements.name)
        if constraints is not None:
            shutil.copy(constraints, target / constraints.name)
        marker = {"env_manager": env_manager, "python": str(python), "python_version": interpreter_version(python),
                  "model_python_version": spec.python_version, "runtime_wheel": str(wheel),
                  "requirements": list(spec.requirements), "built_at": time.time()}
        (target / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        os.rename(target, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _wait_for(lock: Any, final: Path, log: Callable[[str], None] | None) -> None:
    """Take the key's lock, saying so when another process holds it (building that environment)."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if log:
            log(f"Waiting for another process building {final} ...")
        fcntl.flock(lock, fcntl.LOCK_EX)


def _remove_leftovers(final: Path) -> None:
    """What builds of this key killed before they could clean up left (the lock is held: none runs)."""
    for leftover in final.parent.glob(f".build-{final.name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if final.exists():  # never complete: no marker
        shutil.rmtree(final)


def prepare_environment(model_dir: str | os.PathLike, env_manager: str = "uv", *, home: Path | None = None,
                        log: Callable[[str], None] | None = None) -> PreparedEnvironment:
    """The model's own environment, built on first use and reused after.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A local model folder.
    env_manager : str
        ``"uv"`` (default) or ``"virtualenv"`` (venv + pip).
    home : Path, optional
        The mlcask home folder (default ``$MLCASK_HOME``); environments go to ``<home>/envs``.
    log : callable, optional
        Called with a line for each step of a build.

    Returns
    -------
    PreparedEnvironment
        The environment, saying whether it was reused and how long preparing took.

    Raises
    ------
    PythonNotFoundError
        When no local interpreter of the model's Python minor version exists.
    EnvironmentBuildError
        When the installer fails (its relevant error lines quoted); nothing is left behind.
    InvalidArgumentError
        For ``env_manager`` ``"local"``/``"conda"``/unknown, or environment files outside the folder.
    """
    started = time.perf_counter()
    check_env_manager(env_manager)
    if env_manager == "local":
        raise InvalidArgumentError("env_manager 'local' uses the current environment: there is none to prepare.")
    spec = read_environment_spec(model_dir)
    python = find_python(spec.python_version)
    version = interpreter_version(python)
    if spec.python_version:
        minor_version(spec.python_version)
    _check_runtime_python(spec, version)
    wheel = chosen_runtime_wheel(wheels_dir(home))
    key = environment_key(spec, env_manager, python_version=version, runtime_digest=wheel_digest(wheel))
    final = envs_dir(home) / key
    reused = _complete(final)
    if not reused:
        with open(locks_dir(home) / f"{key}.lock", "w") as lock:
            _wait_for(lock, final, log)
            reused = _complete(final)
            if not reused:
                _remove_leftovers(final)
                if log:
                    log(f"Building the model's {env_manager} environment with Python {version} in {final}")
                _build(spec, env_manager, python, wheel, final, log)
    return PreparedEnvironment(path=final, python=final / "bin" / "python", env_manager=env_manager, reused=reused,
                               seconds=time.perf_counter() - started)


__all__ = ["ENV_MANAGERS", "EnvironmentBuildError", "PreparedEnvironment", "check_env_manager", "environment_key",
           "installed_requirements", "prepare_environment"]
