"""The installers that build a model's environment: uv, or venv + pip ("virtualenv").

Both get the same inputs: an interpreter, a target folder, a flat requirements file, a
constraints file and the runtime wheel. uv is asked for the package indexes this machine's
pip is configured with (``PIP_INDEX_URL``, ``pip.conf``'s ``index-url``, ...) unless uv's own
settings (``UV_INDEX_URL``, ``UV_DEFAULT_INDEX``, ...) say otherwise; pip reads its own.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcask.environment_variables import MLCASK_ENV_ALLOW_SOURCE_BUILDS
from mlcask.exceptions import MlcaskException

INSTALL_TIMEOUT = 1800.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# pip setting -> uv environment variable (uv reads no pip.conf).
_PIP_TO_UV = {"index-url": "UV_INDEX_URL", "extra-index-url": "UV_EXTRA_INDEX_URL", "find-links": "UV_FIND_LINKS",
              "constraint": "UV_CONSTRAINT", "cert": "SSL_CERT_FILE"}
_UV_OWN = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL")


class EnvironmentBuildError(MlcaskException):
    """Building a model's environment failed; the message quotes the installer."""


@dataclass(frozen=True)
class BuildInputs:
    """What an installer needs to fill ``target`` (a folder that does not exist yet)."""

    python: Path
    target: Path
    requirements_file: Path
    constraints_file: Path | None
    build_dependencies: tuple[str, ...]
    wheel: Path


def find_uv() -> Path:
    """The ``uv`` binary: beside this Python, from the ``uv`` package, or on PATH.

    Returns
    -------
    Path
        The binary.

    Raises
    ------
    EnvironmentBuildError
        When uv is not installed, saying how to get it.
    """
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return beside
    try:
        import uv  # type: ignore[import-not-found]

        return Path(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found:
        return Path(found)
    raise EnvironmentBuildError("--env-manager uv needs uv, which is not installed: pip install 'mlcask[serving]' "
                                "(or pip install uv), or use --env-manager virtualenv.")


def _pip_config_files() -> list[Path]:
    dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    files = [Path(d) / "pip" / "pip.conf" for d in dirs if d] + [Path("/etc/pip.conf")]
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    files += [Path.home() / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"]
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    return files


def pip_settings() -> dict[str, str]:
    """The pip settings uv should follow: index URLs, find-links, constraint and cert.

    Returns
    -------
    dict of str to str
        pip's setting names (``"extra-index-url"``) to values, read from pip's configuration files
        and ``PIP_*`` variables (later files and the variables win, as in pip).
    """
    settings: dict[str, str] = {}
    for file in _pip_config_files():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(file)
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            for key in _PIP_TO_UV:
                if parser.has_option(section, key):
                    settings[key] = " ".join(parser.get(section, key).split())
    for key in _PIP_TO_UV:
        value = os.environ.get("PIP_" + key.upper().replace("-", "_"))
        if value:
            settings[key] = value
    return settings


def uv_environment() -> dict[str, str]:
    """The process environment uv runs in.

    Returns
    -------
    dict of str to str
        This one (without ``VIRTUAL_ENV``, ``PYTHONPATH``, ``PYTHONHOME``), plus pip's settings as uv's
        variables where uv has none of its own; with pip's extra indexes, uv takes the best match across
        indexes as pip does (``UV_INDEX_STRATEGY=unsafe-best-match``).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    own_index = any(env.get(name) for name in _UV_OWN)
    for key, value in pip_settings().items():
        name = _PIP_TO_UV[key]
        if name in env or (own_index and name in _UV_OWN):
            continue
        env[name] = value
    if "UV_EXTRA_INDEX_URL" in env and "UV_INDEX_STRATEGY" not in env and not own_index:
        # pip takes the best match over all its indexes; uv, by default, the first index that has a package.
        env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    return env


def _relevant(stderr: str, limit: int = 25) -> str:
    lines = [_ANSI.sub("", line).rstrip() for line in stderr.splitlines()]
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith(("Using Python", "Resolved",
                                                                                      "Prepared", "Downloading"))]
    return "\n".join(lines[-limit:])


def run_step(argv: Sequence[str], what: str, env: dict[str, str], log: Callable[[str], None] | None) -> None:
    """Run one installer command.

    Parameters
    ----------
    argv : sequence
        The command.
    what : str
        What it does, for the log and the error.
    env : dict
        Its process environment.
    log : callable, optional
        Called with the command line first.

    Raises
    ------
    EnvironmentBuildError
        When it fails, quoting its last error lines (ANSI colours and progress lines removed).
    """
    if log:
        log(f"{what}: {' '.join(str(a) for a in argv)}")
    try:
        done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env,
                              timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(f"{what} took over {INSTALL_TIMEOUT:.0f} s; gave up.") from None
    except OSError as exc:
        raise EnvironmentBuildError(f"{what} could not start {argv[0]}: {exc}") from None
    if done.returncode != 0:
        detail = _relevant(done.stderr) or _relevant(done.stdout)
        raise EnvironmentBuildError(f"{what} failed (exit {done.returncode}):\n{detail}")


SOURCE_BUILDS_HINT = ("Source distributions are not built: building one runs its code at install time. For a "
                      "model you trust, set MLCASK_ENV_ALLOW_SOURCE_BUILDS=1 to allow it.")


def source_builds_allowed() -> bool:
    """Whether environments may build source distributions (``MLCASK_ENV_ALLOW_SOURCE_BUILDS``; default no)."""
    return bool(MLCASK_ENV_ALLOW_SOURCE_BUILDS.get())


def _direct_reference(line: str) -> str | None:
    """The file or URL a requirement line installs from directly (``name @ URL``, a path, a URL), if any."""
    line = line.split(" #", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    if " @ " in line:
        return line.split(" @ ", 1)[1].split(";", 1)[0].strip()
    if line.startswith((".", "/", "file:")) or "://" in line:
        return line.split(";", 1)[0].strip()
    return None


def refuse_source_references(requirements: Sequence[str]) -> None:
    """Refuse requirements naming a source distribution, a folder or a VCS URL directly, unless source builds are
    allowed: installing one runs its build code (pip builds them whatever ``--only-binary`` says)."""
    if source_builds_allowed():
        return
    sources = [line for line in requirements
               if (ref := _direct_reference(line)) is not None and not ref.split("#", 1)[0].split("?", 1)[0].endswith(".whl")]
    if sources:
        raise EnvironmentBuildError(f"The model's requirements name source code to build: {', '.join(sources)}. "
                                    f"{SOURCE_BUILDS_HINT}")


def _install_step(argv: list[Any], wheels_only: str, what: str, env: dict[str, str],
                  log: Callable[[str], None] | None) -> None:
    """An install of the model's packages; ``wheels_only`` is the installer's flag refusing source builds,
    added unless they are allowed."""
    allowed = source_builds_allowed()
    if not allowed:
        argv = [*argv, wheels_only]
    try:
        run_step(argv, what, env, log)
    except EnvironmentBuildError as exc:
        if allowed:
            raise
        raise EnvironmentBuildError(f"{exc}\n{SOURCE_BUILDS_HINT}") from None


def build_with_uv(inputs: BuildInputs, log: Callable[[str], None] | None = None) -> None:
    """``uv venv`` then one ``uv pip install`` of the build dependencies, the requirements and the runtime."""
    uv = find_uv()
    env = uv_environment()
    run_step([uv, "venv", "--relocatable", "--no-project", "--python", inputs.python, inputs.target],
             "Creating the virtual environment (uv venv)", env, log)
    # No --compile-bytecode: compiling every module of scipy, pandas, ... takes many times the install itself;
    # the first start compiles only what it imports (and the environment keeps those .pyc files).
    install = [uv, "pip", "install", "--python", inputs.target / "bin" / "python", *inputs.build_dependencies,
               "-r", inputs.requirements_file, inputs.wheel]
    if inputs.constraints_file is not None:
        install += ["-c", inputs.constraints_file]
    _install_step(install, "--no-build", "Installing the model's requirements and mlcask's runtime (uv pip install)",
                  env, log)


def build_with_venv(inputs: BuildInputs, log: Callable[[str], None] | None = None) -> None:
    """``python -m venv`` then pip: the build dependencies, then the requirements and the runtime."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    run_step([inputs.python, "-m", "venv", inputs.target], "Creating the virtual environment (python -m venv)",
             env, log)
    pip = [inputs.target / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    if inputs.build_dependencies:
        _install_step([*pip, *inputs.build_dependencies], "--only-binary=:all:", "Installing the build dependencies (pip)",
                      env, log)
    install = [*pip, "-r", inputs.requirements_file, inputs.wheel]
    if inputs.constraints_file is not None:
        install += ["-c", inputs.constraints_file]
    _install_step(install, "--only-binary=:all:", "Installing the model's requirements and mlcask's runtime (pip)",
                  env, log)


BUILDERS: dict[str, Callable[[BuildInputs, Callable[[str], None] | None], None]] = {
    "uv": build_with_uv, "virtualenv": build_with_venv}
