"""MLflow's ``mlflow.utils.yaml_utils`` file helpers: read a YAML file safely (within the bounds of
:func:`mlcask.utils.bounded_yaml.load_yaml`), write one with the safe dumper."""

from __future__ import annotations

import os
from typing import Any

from mlcask.exceptions import MlcaskException
from mlcask.utils.bounded_yaml import load_yaml

__all__ = ["read_yaml", "write_yaml"]

MAX_YAML_BYTES = 16 << 20
"""The largest YAML file :func:`read_yaml` reads (MLmodel, conda.yaml and the like are far smaller)."""


def read_yaml(root: str | os.PathLike[str], file_name: str) -> Any:
    """The content of the YAML file ``root/file_name``; raises MLflow's errors when the folder or the
    file does not exist."""
    if not os.path.exists(root):
        raise MlcaskException(f"Cannot read '{file_name}'. Parent dir '{root}' does not exist.")
    file_path = os.path.join(root, file_name)
    if not os.path.exists(file_path):
        raise MlcaskException(f"Yaml file '{file_path}' does not exist.")
    with open(file_path, "rb") as f:
        return load_yaml(f.read(MAX_YAML_BYTES + 1), f"YAML file '{file_path}'", MAX_YAML_BYTES)


def write_yaml(root: str | os.PathLike[str], file_name: str, data: Any, overwrite: bool = False,
               sort_keys: bool = True, ensure_yaml_extension: bool = True) -> None:
    """Write ``data`` as YAML to ``root/file_name`` (``.yaml`` appended unless the name ends with it
    or ``ensure_yaml_extension`` is False); an existing file is refused unless ``overwrite``."""
    import yaml

    if not os.path.exists(root):
        raise MlcaskException(f"Parent directory '{root}' does not exist.")
    file_path = os.path.join(root, file_name)
    yaml_path = file_path + ".yaml" if ensure_yaml_extension and not file_path.endswith(".yaml") else file_path
    if os.path.exists(yaml_path) and not overwrite:
        raise MlcaskException(f"Yaml file '{file_path}' exists as '{yaml_path}'")
    with open(yaml_path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, default_flow_style=False, allow_unicode=True, sort_keys=sort_keys)
