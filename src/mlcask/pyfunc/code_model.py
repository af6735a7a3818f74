"""Loading a model from code (``loader_module: mlflow.pyfunc.loaders.code_model``).

The MLmodel's ``model_code_path`` names the code file saved at the model folder's top
(by its base name, as MLflow reads it). Running it is running the model's code, so it
happens only when the load's trust allows code (:meth:`mlcask.models.trust.LoadTrust.require_code`:
a model signed by a trusted key, or ``allow_pickle=True``), and from the verified bytes.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from mlcask.exceptions import ModelFormatError
from mlcask.models.model import PYFUNC_FLAVOR, Model
from mlcask.models.trust import current_trust, model_file_name
from mlcask.pyfunc.code_file import run_code_file
from mlcask.pyfunc.python_model import wrap_loaded_model


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    conf = meta.flavor(PYFUNC_FLAVOR)
    recorded = conf.get("model_code_path")
    if not isinstance(recorded, str) or not recorded:
        raise ModelFormatError(f"Malformed MLmodel in '{model_dir}': the python_function flavor of a model from "
                               f"code names no 'model_code_path' (got {recorded!r}).")
    name = model_file_name(model_dir, posixpath.basename(recorded.replace("\\", "/")), "model code file")
    trust = current_trust()
    if not trust.folder.pinned.is_file(name):
        raise ModelFormatError(f"The model's code file is missing: expected '{model_dir / name}'.")
    trust.require_code(f"its model code file '{name}'")
    source = trust.folder.read(name, runs_code=True)
    config = {**(conf.get("config") or {}), **(model_config or {})}
    python_model = run_code_file(source, str(model_dir / name), config or None)
    return wrap_loaded_model(python_model, model_dir, conf, model_config)
