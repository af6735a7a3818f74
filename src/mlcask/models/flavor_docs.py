"""The numpydoc entries of the ``save_model`` parameters the built-in flavors share (they all pass
them to :func:`mlcask.models.packaging.save_model_folder`, so they mean the same everywhere),
written once: a flavor's docstring names them by a line ``{<parameter>, ...}`` and
:func:`shared_parameter_docs` puts the entry there."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

__all__ = ["SAVE_MODEL_PARAMETERS", "shared_parameter_docs"]

F = TypeVar("F", bound=Callable)

#: ``name -> (type, description)``
SAVE_MODEL_PARAMETERS: dict[str, tuple[str, str]] = {
    "path": ("str or path-like", "The folder to create; it must not exist, or be empty."),
    "conda_env": ("dict or str, optional",
                  "A conda environment (dict, or the path of a YAML file) instead of the inferred one."),
    "code_paths": ("list of str, optional",
                   "Local files or folders copied into the model's ``code/`` and put on ``sys.path`` at load."),
    "mlflow_model": ("Model, optional", "The MLmodel metadata this flavor is added to."),
    "signature": ("ModelSignature, optional",
                  "The model's signature; inferred from ``input_example`` when not given."),
    "input_example": ("DataFrame, ndarray, dict or list, optional", "An example input saved with the model."),
    "pip_requirements": ("list of str or str, optional",
                         "The model's pip requirements (a list, or a requirements file), instead of the inferred ones."),
    "extra_pip_requirements": ("list of str or str, optional", "Requirements added to the inferred ones."),
    "metadata": ("dict, optional", "Free-form metadata written to MLmodel."),
    "extra_files": ("list of str, optional",
                    "Local files (paths or ``file:`` URIs) saved as ``extra_files/<name>`` and listed in MLmodel."),
}

_MARK = re.compile(r"^(?P<indent>[ ]*)\{(?P<names>\w+(?:, \w+)*)\}$", re.MULTILINE)


def shared_parameter_docs(function: F) -> F:
    """Replace each docstring line ``{name, ...}`` (names of :data:`SAVE_MODEL_PARAMETERS`) with
    those parameters' numpydoc entries, in that order, at the line's indentation."""
    def entries(match: re.Match) -> str:
        indent, lines = match["indent"], []
        for name in match["names"].split(", "):
            if name not in SAVE_MODEL_PARAMETERS:
                raise KeyError(f"{function.__qualname__}'s docstring names {{{name}}}, which is not one of the "
                               f"shared save_model parameters {sorted(SAVE_MODEL_PARAMETERS)}.")
            kind, description = SAVE_MODEL_PARAMETERS[name]
            lines.append(f"{indent}{name} : {kind}\n{indent}    {description}")
        return "\n".join(lines)

    if function.__doc__:  # None under ``python -OO``
        function.__doc__ = _MARK.sub(entries, function.__doc__)
    return function
