"""``update_model_requirements``: add or remove pip requirements of a saved model in place."""

from __future__ import annotations

import logging
import os
from typing import Literal

import yaml

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.environment import pip_deps_of_conda_env, replace_pip_deps
from mlcask.models.integrity import VerifiedFolder, open_verified, sha256, write_manifest
from mlcask.models.signing import signing_key
from mlcask.models.uri import is_models_uri, parse_models_uri, resolve_model_path

_logger = logging.getLogger(__name__)
CONDA_FILE = "conda.yaml"
REQUIREMENTS_FILE = "requirements.txt"


def _parse(requirement_list: list[str]) -> list[object]:
    from packaging.requirements import InvalidRequirement, Requirement

    if isinstance(requirement_list, str) or not isinstance(requirement_list, (list, tuple)):
        raise InvalidArgumentError(f"requirement_list must be a list of requirement strings, got "
                                   f"{type(requirement_list).__name__}.")
    parsed, invalid = [], {}
    for text in requirement_list:
        try:
            parsed.append(Requirement(str(text).strip().lower()))
        except InvalidRequirement as exc:
            invalid[text] = exc
    if invalid:
        raise InvalidArgumentError(f"Found invalid requirements: {invalid}")
    return parsed


def _updated(old: list[str], changes: list[object], operation: str) -> list[str]:
    from packaging.requirements import Requirement

    current = {Requirement(line).name: line for line in old if line.strip()}
    for change in changes:
        if operation == "add":
            current[change.name] = str(change)
        elif current.pop(change.name, None) is None:
            _logger.warning('"%s" not found in requirements, ignoring', change.name)
    return list(current.values())


def _rewrite(verified: VerifiedFolder, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        verified.pinned.replace_file(name, data)
    if verified.recorded is not None:
        recorded = {**verified.recorded, **{n: {"sha256": sha256(d), "size": len(d)} for n, d in files.items()}}
        write_manifest(verified.pinned, recorded, signing_key() if verified.verification.trusted else None)


def update_model_requirements(model_uri: str | os.PathLike, operation: Literal["add", "remove"],
                              requirement_list: list[str]) -> None:
    """Add or remove pip requirements in the model's ``requirements.txt`` and ``conda.yaml``.

    Parameters
    ----------
    model_uri : str or path-like
        The model folder, a ``runs:/`` URI or a ``models:/<model_id>`` URI. Registered
        model versions (``models:/<name>/<version>``) are read-only and refused, as in MLflow.
    operation : {"add", "remove"}
        ``add`` overwrites a requirement of the same package or appends it; ``remove``
        drops every requirement of the named packages (version specifiers are ignored).
    requirement_list : list of str
        Requirements such as ``["numpy==1.26.4", "pandas>=2"]``.

    The folder is verified first; its manifest is rewritten for the new files and
    re-signed only when a trusted key had signed it.
    """
    if is_models_uri(model_uri) and parse_models_uri(str(model_uri)).model_id is None:
        raise InvalidArgumentError(f'Failed to set requirements on "{model_uri}". '
                                   "Model URIs with the `models:/` scheme are not supported.")
    if operation not in ("add", "remove"):
        raise InvalidArgumentError(f"operation must be 'add' or 'remove', got {operation!r}.")
    changes = _parse(requirement_list)
    folder = resolve_model_path(model_uri)
    with open_verified(folder) as verified:
        files: dict[str, bytes] = {}
        if verified.pinned.is_file(REQUIREMENTS_FILE):
            old = verified.read(REQUIREMENTS_FILE, runs_code=False).decode().splitlines()
            files[REQUIREMENTS_FILE] = "\n".join(_updated(old, changes, operation)).encode()
        if verified.pinned.is_file(CONDA_FILE):
            env = yaml.safe_load(verified.read(CONDA_FILE, runs_code=False)) or {}
            new_env = replace_pip_deps(env, _updated(pip_deps_of_conda_env(env), changes, operation))
            files[CONDA_FILE] = yaml.safe_dump(new_env, default_flow_style=False).encode()
        if not files:
            raise InvalidArgumentError(f"The model in '{folder}' has neither {REQUIREMENTS_FILE} nor {CONDA_FILE}.")
        _rewrite(verified, files)
