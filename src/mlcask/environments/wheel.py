"""A wheel of the running mlcask, to install its serving runtime into a model's environment.

No published package is needed: the wheel is packed from the source of the ``mlcask``
package this process imported (an editable checkout or an installed copy), with a
``dist-info`` written here. Its dependencies are mlcask's own and the ``serving`` extra's,
not the model's libraries (those come from the model's requirements). It is cached by a
hash of the packed files and the metadata, so packing runs once per change of mlcask.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import tempfile
import zipfile
from pathlib import Path

from mlcask.environments.locations import wheels_dir
from mlcask.exceptions import MlcaskException

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DISTRIBUTION = "mlcask"
RUNTIME_EXTRA = "serving"
# Needed to build environments, not inside them.
NOT_IN_RUNTIME = frozenset({"uv"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
RUNTIME_WHEEL_ENV = "MLCASK_RUNTIME_WHEEL"


class RuntimeWheelError(MlcaskException):
    """The running mlcask cannot be packed into a wheel."""


def _distribution() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeWheelError(
            f"mlcask at '{PACKAGE_DIR}' runs without installed metadata, so its dependencies are unknown: install "
            "it (pip install -e . in a checkout) to build model environments.") from None


def runtime_requires_python() -> str | None:
    """The Python versions mlcask supports (its ``Requires-Python``, such as ``">=3.11"``)."""
    return _distribution().metadata.get("Requires-Python")


def runtime_requirements() -> list[str]:
    """The runtime wheel's dependencies.

    Returns
    -------
    list of str
        mlcask's own dependencies and the ``serving`` extra's (uv left out), sorted, without markers.
    """
    from packaging.requirements import Requirement

    found = []
    for text in _distribution().requires or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": RUNTIME_EXTRA}):
            continue
        if requirement.name.lower() in NOT_IN_RUNTIME:
            continue
        requirement.marker = None
        if str(requirement) not in found:
            found.append(str(requirement))
    return sorted(found)


def _package_files() -> list[tuple[str, Path]]:
    files = []
    for folder, names, file_names in os.walk(PACKAGE_DIR):
        names[:] = sorted(name for name in names if name != "__pycache__")
        for name in sorted(file_names):
            if not name.endswith(_SKIPPED_SUFFIXES):
                path = Path(folder) / name
                files.append(((Path(DISTRIBUTION) / path.relative_to(PACKAGE_DIR)).as_posix(), path))
    return files


def _metadata(version: str, requires_python: str | None, requirements: list[str]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {version}",
             "Summary: mlcask's serving runtime, packed from the mlcask that built this environment"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {requirement}" for requirement in requirements]
    return "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed date and mode, so that the same files make the same wheel, byte for byte."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _write_wheel(target: Path, files: list[tuple[str, bytes]], dist_info: str, meta: dict[str, str]) -> None:
    """Write the wheel to a temporary file beside ``target``, then rename it into place."""
    record = [_record_line(name, data) for name, data in files]
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".wheel-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as wheel:
            for name, data in files:
                wheel.writestr(_entry(name), data, compresslevel=1)
            for name, text in meta.items():
                wheel.writestr(_entry(f"{dist_info}/{name}"), text, compresslevel=1)
                record.append(_record_line(f"{dist_info}/{name}", text.encode()))
            record.append(f"{dist_info}/RECORD,,")
            wheel.writestr(_entry(f"{dist_info}/RECORD"), "\n".join(record) + "\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def runtime_wheel(cache_dir: Path | None = None) -> Path:
    """A wheel of the running mlcask (``mlcask-<version>-py3-none-any.whl``), packed once per content.

    Parameters
    ----------
    cache_dir : Path, optional
        Where wheels are kept (default ``$MLCASK_HOME/cache/runtime-wheels``); each lies in a
        sub-folder named by its content digest.

    Returns
    -------
    Path
        The wheel, in a folder named by the digest of what it holds.
    """
    distribution = _distribution()
    version = distribution.version
    requirements = runtime_requirements()
    requires_python = distribution.metadata.get("Requires-Python")
    sources = _package_files()
    digest = hashlib.sha256(f"{version}\n{requires_python}\n{requirements}\n".encode())
    contents = []
    for name, path in sources:
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
        contents.append((name, data))
    folder = Path(cache_dir or wheels_dir()) / digest.hexdigest()[:32]
    target = folder / f"{DISTRIBUTION}-{version}-py3-none-any.whl"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{DISTRIBUTION}-{version}.dist-info"
    meta = {"METADATA": _metadata(version, requires_python, requirements),
            "WHEEL": "Wheel-Version: 1.0\nGenerator: mlcask\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            "entry_points.txt": "[console_scripts]\nmlcask = mlcask.cli:cli\n",
            "top_level.txt": f"{DISTRIBUTION}\n"}
    _write_wheel(target, contents, dist_info, meta)
    return target


def wheel_digest(wheel: Path) -> str:
    """The sha256 of the wheel file (32 hex digits): what the environments built with it are keyed by."""
    digest = hashlib.sha256()
    with open(wheel, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]


def chosen_runtime_wheel(cache_dir: Path | None = None) -> Path:
    """The runtime wheel environments are built with.

    Parameters
    ----------
    cache_dir : Path, optional
        Passed to :func:`runtime_wheel`.

    Returns
    -------
    Path
        The wheel ``$MLCASK_RUNTIME_WHEEL`` names (a released mlcask wheel, say), else :func:`runtime_wheel`'s.

    Raises
    ------
    RuntimeWheelError
        When ``$MLCASK_RUNTIME_WHEEL`` names no mlcask wheel file.
    """
    named = os.environ.get(RUNTIME_WHEEL_ENV)
    if not named:
        return runtime_wheel(cache_dir)
    path = Path(named).expanduser()
    if not (path.is_file() and path.name.startswith(f"{DISTRIBUTION}-") and path.suffix == ".whl"):
        raise RuntimeWheelError(f"{RUNTIME_WHEEL_ENV} must name an mlcask wheel file (mlcask-<version>-...whl); "
                                f"got '{named}'" + ("" if path.is_file() else ", which does not exist") + ".")
    return path.absolute()

