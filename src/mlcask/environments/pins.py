"""Requirement pins of a model that the current environment does not satisfy (``--env-manager local``)."""

from __future__ import annotations

import importlib.metadata
import os

from mlcask.environments.build import REPLACED_BY_RUNTIME
from mlcask.environments.spec import read_environment_spec


def violated_pins(model_dir: str | os.PathLike) -> list[str]:
    """One line per requirement of the model that the running environment violates.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A local model folder.

    Returns
    -------
    list of str
        ``"scikit-learn==1.5.2 (installed: 1.9.1)"`` or ``"... (not installed)"``, in the
        order of the requirements; requirements without a version specifier, whose markers
        do not apply here, or naming MLflow/mlcask itself, are skipped (as are lines that are
        not requirements, such as local wheels).
    """
    from packaging.requirements import InvalidRequirement, Requirement

    spec = read_environment_spec(model_dir)
    found = []
    for line in spec.requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        name = requirement.name.lower().replace("_", "-")
        if name in REPLACED_BY_RUNTIME or not requirement.specifier:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{line} (not installed)")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            found.append(f"{line} (installed: {installed})")
    return found
