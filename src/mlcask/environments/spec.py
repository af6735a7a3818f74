"""What a model folder asks of its environment: the Python version and the requirements.

Read from the files MLflow writes beside ``MLmodel``:

- ``python_env.yaml``: ``python`` (``3.11.7``), ``build_dependencies`` and ``dependencies``,
  whose ``-r requirements.txt`` / ``-c constraints.txt`` lines name files of the folder;
- else ``requirements.txt`` alone;
- else ``conda.yaml``: the ``python=X.Y.Z`` dependency and the ``pip:`` list.

The Python version comes from ``python_env.yaml``, else ``conda.yaml``, else the
``python_version`` of MLmodel's ``python_function`` flavor.

Every file read (and every local wheel named) must lie inside the model folder, links
resolved: a model cannot make its environment read files of the machine it is deployed on.
Requirement lines that start with an option other than ``-r``/``-c`` (``--index-url``,
``-e``, ...) are refused: where packages come from is the machine's configuration, not the
model's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.utils.bounded_yaml import load_yaml

PYTHON_ENV_FILE = "python_env.yaml"
REQUIREMENTS_FILE = "requirements.txt"
CONDA_FILE = "conda.yaml"
MLMODEL_FILE = "MLmodel"
MAX_FILE_BYTES = 1 << 20
MAX_INCLUDE_DEPTH = 10
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S.*)$")
_LOCAL_ARCHIVE = re.compile(r"\.(whl|tar\.gz|zip)$", re.IGNORECASE)
_CONDA_PYTHON = re.compile(r"^python\s*(?:==?|\s)\s*(\d+(?:\.\d+){0,2})\b")


@dataclass(frozen=True)
class EnvironmentSpec:
    """What a model folder asks for (see :func:`read_environment_spec`).

    Attributes
    ----------
    python_version : str or None
        The Python the model was saved with (``"3.11.7"``), or None when no file says.
    requirements : tuple of str
        Requirement lines, ``-r`` files flattened; local files as absolute paths.
    build_dependencies : tuple of str
        ``python_env.yaml``'s ``build_dependencies`` (installed first).
    files : tuple of Path
        The files read (all inside the folder): the environment key is hashed from them.
    constraints : tuple of str
        Constraint lines from ``-c`` files.
    """

    python_version: str | None
    requirements: tuple[str, ...]
    build_dependencies: tuple[str, ...]
    files: tuple[Path, ...]
    constraints: tuple[str, ...] = field(default=())


class _Reader:
    """Reads requirement files of one model folder, checking each lies inside it."""

    def __init__(self, model_dir: Path) -> None:
        self.root = model_dir
        self.files: list[Path] = []
        self.included: list[Path] = []
        self.requirements: list[str] = []
        self.constraints: list[str] = []

    def inside(self, path: Path, named_as: str, where: str) -> Path:
        """``path`` resolved, refused unless it lies inside the model folder."""
        resolved = Path(os.path.realpath(path))
        if resolved != self.root and self.root not in resolved.parents:
            raise InvalidArgumentError(
                f"{named_as!r} in {where} points outside the model folder '{self.root}' (it resolves to "
                f"'{resolved}'): a model's environment files must lie inside its folder.")
        return resolved

    def read_text(self, path: Path, where: str) -> str:
        if not path.is_file():
            raise InvalidArgumentError(f"{where} names '{path}', which is not a file of the model folder.")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelFormatError(f"'{path}' is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read.")
        if path not in self.files:
            self.files.append(path)
        return path.read_text(encoding="utf-8")

    def line(self, text: str, base: Path, where: str, *, constraint: bool, depth: int) -> None:
        """One requirement line (comments already stripped)."""
        include = _INCLUDE.match(text)
        if include:
            if depth >= MAX_INCLUDE_DEPTH:
                raise InvalidArgumentError(f"{where} nests -r/-c files more than {MAX_INCLUDE_DEPTH} deep.")
            target = self.inside(base / include.group(2).strip(), text, where)
            if target not in self.included:
                self.included.append(target)
                self.read_file(target, constraint=constraint or include.group(1) in ("-c", "--constraint"),
                               depth=depth + 1)
            return
        if text.startswith("-"):
            raise InvalidArgumentError(
                f"Unsupported line {text!r} in {where}: a model's requirements may hold requirement lines, -r "
                "and -c only (package indexes and other installer options come from this machine's pip or uv "
                "configuration, not from the model).")
        (self.constraints if constraint else self.requirements).append(self.localised(text, base, where))

    def localised(self, text: str, base: Path, where: str) -> str:
        """A requirement naming a local file (``wheels/x.whl``) as an absolute path inside the folder."""
        if "://" in text or "@" in text or not (_LOCAL_ARCHIVE.search(text.split(";")[0].strip())
                                                  or text.startswith((".", "/"))):
            if text.lower().startswith("file:") or " @ file:" in text.lower():
                raise InvalidArgumentError(f"Unsupported requirement {text!r} in {where}: name a file of the "
                                           "model folder by its relative path (wheels/x.whl), not a file: URL.")
            return text
        target = self.inside(base / text.split(";")[0].strip(), text, where)
        if target not in self.files:
            self.files.append(target)
        return str(target)

    def read_file(self, path: Path, *, constraint: bool = False, depth: int = 0) -> None:
        where = f"'{path.relative_to(self.root)}'"
        for number, raw in enumerate(self.read_text(path, where).splitlines(), start=1):
            text = raw.split(" #")[0].split("\t#")[0].strip()
            if text and not text.startswith("#"):
                self.line(text, path.parent, f"{where} line {number}", constraint=constraint, depth=depth)


def _mapping(path: Path, reader: _Reader) -> dict[str, Any]:
    data = load_yaml(reader.read_text(path, f"'{path.name}'"), f"'{path}'", MAX_FILE_BYTES)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelFormatError(f"'{path}' must be a YAML mapping, got {type(data).__name__}.")
    return data


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, (str, int, float)) for item in value):
        raise ModelFormatError(f"{what} must be a list of strings, got {value!r}.")
    return [str(item).strip() for item in value if str(item).strip()]


def _python_version(value: Any, where: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", text):
        raise ModelFormatError(f"{where} names the Python version {text!r}; expected X.Y or X.Y.Z (3.11.7).")
    return text


def _conda(path: Path, reader: _Reader) -> tuple[str | None, list[str]]:
    """conda.yaml's Python version and pip list."""
    conda = _mapping(path, reader)
    version, pip = None, []
    for item in conda.get("dependencies") or []:
        if isinstance(item, str) and _CONDA_PYTHON.match(item.strip()):
            version = _python_version(_CONDA_PYTHON.match(item.strip()).group(1), f"'{path.name}'")
        elif isinstance(item, dict) and "pip" in item:
            pip = _strings(item["pip"], f"The pip list of '{path.name}'")
    return version, pip


def _mlmodel_python(root: Path) -> str | None:
    path = root / MLMODEL_FILE
    if not path.is_file():
        return None
    data = load_yaml(path.read_bytes(), f"'{path}'", MAX_FILE_BYTES) or {}
    pyfunc = (data.get("flavors") or {}).get("python_function") if isinstance(data, dict) else None
    return _python_version(pyfunc.get("python_version"), f"'{path}'") if isinstance(pyfunc, dict) else None


def _model_root(model_dir: str | os.PathLike) -> Path:
    root = Path(os.path.realpath(model_dir))
    if not root.is_dir():
        raise InvalidArgumentError(f"The model folder '{model_dir}' is not a folder.")
    return root


def _read(model_dir: str | os.PathLike) -> tuple[EnvironmentSpec, _Reader]:
    root = _model_root(model_dir)
    reader = _Reader(root)
    python_env = root / PYTHON_ENV_FILE
    version, build = None, []
    if python_env.exists():
        reader.inside(python_env, PYTHON_ENV_FILE, "the model folder")
        data = _mapping(python_env, reader)
        version = _python_version(data.get("python"), f"'{PYTHON_ENV_FILE}'")
        build = _strings(data.get("build_dependencies"), f"build_dependencies in '{PYTHON_ENV_FILE}'")
        for text in _strings(data.get("dependencies"), f"dependencies in '{PYTHON_ENV_FILE}'"):
            reader.line(text, root, f"'{PYTHON_ENV_FILE}'", constraint=False, depth=0)
    elif (root / REQUIREMENTS_FILE).exists():
        reader.read_file(reader.inside(root / REQUIREMENTS_FILE, REQUIREMENTS_FILE, "the model folder"))
    conda = root / CONDA_FILE
    conda_pip = not python_env.exists() and not (root / REQUIREMENTS_FILE).exists()
    if conda.exists() and (version is None or conda_pip):
        conda_version, pip = _conda(reader.inside(conda, CONDA_FILE, "the model folder"), reader)
        version = version or conda_version
        for text in pip if conda_pip else []:
            reader.line(text, root, f"the pip list of '{CONDA_FILE}'", constraint=False, depth=0)
    version = version or _mlmodel_python(root)
    spec = EnvironmentSpec(python_version=version, requirements=tuple(reader.requirements),
                           build_dependencies=tuple(build), files=tuple(reader.files),
                           constraints=tuple(reader.constraints))
    return spec, reader


def read_environment_spec(model_dir: str | os.PathLike) -> EnvironmentSpec:
    """What the model folder ``model_dir`` asks of its environment.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A local model folder (the one holding ``MLmodel``).

    Returns
    -------
    EnvironmentSpec
        The Python version, the requirement and constraint lines, the build dependencies
        and the files they were read from.

    Raises
    ------
    InvalidArgumentError
        When a ``-r``/``-c`` file or a local wheel lies outside the folder (links resolved),
        or a line is an installer option.
    ModelFormatError
        When a file is not the YAML mapping expected, or too large.
    """
    return _read(model_dir)[0]


def requirement_files(model_dir: str | os.PathLike) -> list[Path]:
    """The ``-r``/``-c`` files the model's environment files name, resolved, each inside the folder.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A local model folder.

    Returns
    -------
    list of Path
        In the order they are first named.

    Raises
    ------
    InvalidArgumentError
        When one lies outside the model folder, links resolved.
    """
    return list(_read(model_dir)[1].included)
