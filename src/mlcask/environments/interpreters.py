"""Finding a local Python interpreter of the minor version a model was saved with.

Nothing is downloaded: the interpreters looked at are the running one, pyenv's
(``$PYENV_ROOT/versions``, default ``~/.pyenv``), uv's managed ones
(``$UV_PYTHON_INSTALL_DIR``, default ``~/.local/share/uv/python``) and ``pythonX.Y`` on
``PATH`` (pyenv's shims skipped: they answer for one version only). Within one minor version,
an exact patch match is preferred.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from mlcask.exceptions import MlcaskException

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


class PythonNotFoundError(MlcaskException):
    """No local interpreter of the Python minor version a model asks for."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


def minor_version(version: str) -> str:
    """``"3.11"`` for ``"3.11.7"``; raises ValueError for anything but X.Y or X.Y.Z."""
    match = _VERSION.match(version.strip())
    if not match:
        raise ValueError(f"expected a Python version X.Y or X.Y.Z (3.11.7), got {version!r}")
    return f"{match.group(1)}.{match.group(2)}"


def _pyenv_candidates(minor: str) -> list[Path]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [root / name / "bin" / f"python{minor}" for name in names
            if name == minor or name.startswith(minor + ".")]


def _uv_candidates(minor: str) -> list[Path]:
    root = Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or Path.home() / ".local" / "share" / "uv" / "python")
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [root / name / "bin" / f"python{minor}" for name in names
            if name.startswith((f"cpython-{minor}.", f"cpython-{minor}-"))]


def _path_candidates(minor: str) -> list[Path]:
    found = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and not folder.rstrip("/").endswith("shims"):
            found.append(Path(folder) / f"python{minor}")
    return found


def _running(minor: str) -> list[Path]:
    if f"{sys.version_info.major}.{sys.version_info.minor}" != minor:
        return []
    base = getattr(sys, "_base_executable", None) or sys.executable
    return [Path(base), Path(sys.executable)]


@functools.lru_cache(maxsize=64)
def interpreter_version(python: Path) -> str:
    """The full version (``"3.11.7"``) of the interpreter ``python`` (asked once per process)."""
    if str(python) in (sys.executable, getattr(sys, "_base_executable", None)):
        return platform.python_version()
    out = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise PythonNotFoundError(f"The interpreter '{python}' does not run: {out.stderr.strip()[-500:]}")
    return out.stdout.strip()


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_python(version: str | None) -> Path:
    """A local interpreter of the minor version of ``version``.

    Parameters
    ----------
    version : str or None
        The model's Python version (``"3.11.7"`` or ``"3.11"``); None means the running one.

    Returns
    -------
    Path
        The interpreter: one of exactly ``version`` if found, else of its minor version.

    Raises
    ------
    PythonNotFoundError
        When there is none, naming the version and where it looked.
    """
    if version is None:
        return Path(getattr(sys, "_base_executable", None) or sys.executable)
    try:
        minor = minor_version(version)
    except ValueError as exc:
        raise PythonNotFoundError(f"Cannot look for a Python interpreter: {exc}.") from None
    candidates = [path for path in (_running(minor) + _pyenv_candidates(minor) + _uv_candidates(minor)
                                    + _path_candidates(minor)) if _usable(path)]
    if not candidates:
        raise PythonNotFoundError(
            f"No Python {minor} interpreter found for a model saved with Python {version}: looked at the running "
            f"Python ({platform.python_version()}), pyenv's versions, uv's managed Pythons and python{minor} on "
            f"PATH. Install one (uv python install {minor}, or pyenv install {minor}), or use --env-manager local "
            "to serve in the current environment.")
    for path in candidates:
        if path.parent.parent.name == version or interpreter_version(path) == version:
            return path
    return candidates[0]
