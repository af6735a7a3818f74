"""Writing a model folder: the steps every flavor shares, done once and atomically.

A flavor only says how to write its own data file and how to predict (for signature
inference); this module writes ``code/``, the input example, the signature, the size,
``MLmodel`` and the environment files. Everything goes into a private temporary
folder next to the destination, which is renamed into place at the end, so a reader
never sees half a model and a failed save leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, InvalidArgumentError, MlcaskException
from mlcask.models.environment import ENV_FLAVOR_CONFIG, PYTHON_VERSION, Environment
from mlcask.models.input_example import InputExample
from mlcask.models.integrity import ModelIntegrityError, hash_files, write_manifest
from mlcask.models.model import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model
from mlcask.models.pinned import PinnedFolder
from mlcask.models.signing import signing_key

_logger = logging.getLogger(__name__)
CODE_FOLDER = "code"


@contextmanager
def staging_folder(path: str | os.PathLike, seal: bool = True) -> Iterator[Path]:
    """Yield an empty private folder that becomes ``path``, sealed, if the block succeeds.

    ``path`` must not exist, or be an empty folder. The staging folder is created by
    ``mkdtemp`` (mode 0700) beside ``path`` so the final rename stays on one filesystem,
    and held open from the start: the manifest (``seal``: hashed and signed) covers the
    files of that very folder, read through its descriptor, and a staging folder replaced
    by someone who can rename entries beside ``path`` makes the save fail loudly.
    """
    target = Path(path).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        # MLflow's wording and error code (RESOURCE_ALREADY_EXISTS), then what to do about it.
        raise MlcaskException(f"Path '{path}' already exists and is not empty: a model is saved into a new or "
                              "empty folder. Choose a new path or remove the existing one.",
                              error_code=RESOURCE_ALREADY_EXISTS)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    try:
        descriptor = _open_private_folder(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        yield staging
        with PinnedFolder.from_descriptor(staging, os.dup(descriptor)) as pinned:
            _check_still_ours(pinned, staging, "before it was sealed")
            if seal:
                write_manifest(pinned, hash_files(pinned, written_privately=True), signing_key())
            os.fchmod(descriptor, 0o755)
            if target.exists():
                target.rmdir()
            os.rename(staging, target)
            _check_still_ours(pinned, target, "after it was renamed into place")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(descriptor)


def _open_private_folder(folder: Path) -> int:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    st = os.fstat(descriptor)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        os.close(descriptor)
        raise ModelIntegrityError(f"The staging folder '{folder}' that mlcask just created is not private to you "
                                  f"(owner {st.st_uid}, mode {oct(st.st_mode & 0o777)}): someone replaced it. "
                                  f"Check who can write '{folder.parent}'.")
    return descriptor


def _check_still_ours(pinned: PinnedFolder, path: Path, when: str) -> None:
    if not pinned.is_at(path, follow_symlinks=False):
        raise ModelIntegrityError(
            f"Saving the model failed: '{path}' is not the private folder mlcask wrote the model into {when}; "
            f"someone who can rename entries in '{path.parent}' replaced it. Nothing was signed for what is there "
            "now: do not load it. Save into a folder only you can write.")


def copy_code_paths(code_paths: Sequence[str | os.PathLike] | None, folder: Path) -> str | None:
    """Copy ``code_paths`` (files or packages) into ``folder/code``; returns "code" or None.

    Each entry is copied as ``code/<its base name>``, so an entry must have a base name
    (not ``/``, ``.`` or ``..``); an entry may itself be a symbolic link (the caller named it).
    Inside a package the rule of :func:`mlcask.utils.paths.folder_entries` applies, the same as
    for ``log_artifacts``: a symbolic link is copied as the file it points at only if it stays
    inside the package; links leading out of it, dangling links, loops and special files are
    refused, so no file from elsewhere is packed. An entry that is, holds or lies inside the
    mlcask home folder (the signing key) is refused.
    """
    from mlcask.utils.paths import safe_name

    if not code_paths:
        return None
    if isinstance(code_paths, (str, os.PathLike)):
        raise InvalidArgumentError(f"code_paths must be a list of paths, got the single string {code_paths!r}.")
    destination = folder / CODE_FOLDER
    destination.mkdir()
    for entry in code_paths:
        source = Path(entry)
        if not source.exists():
            raise InvalidArgumentError(f"code_paths entry '{entry}' does not exist.")
        if source.name in ("", ".", ".."):
            raise InvalidArgumentError(f"code_paths entry '{entry}' has no file or folder name to save it under "
                                       "(code/<name>); give the folder by a path ending in its name, such as "
                                       "'../my_package'.")
        safe_name(source.name, f"name of code_paths entry '{entry}'")
        copy_into_model(source, destination / source.name, f"code_paths entry '{entry}'",
                         ignore=lambda name: name == "__pycache__" or name.endswith(".pyc"))
    return CODE_FOLDER


def copy_into_model(source: Path, target: Path, what: str, ignore: Callable[[str], bool] | None = None) -> None:
    """Copy the file or folder ``source`` (named by the caller: it may be a link) to ``target`` in
    a model being saved. Inside a folder, links are copied as what they point at only when
    that stays inside it (:func:`mlcask.utils.paths.folder_entries`); nothing from the mlcask
    home folder (the signing key) is ever packed."""
    from mlcask.models.home import refuse_mlcask_home
    from mlcask.utils.paths import copy_entries, folder_entries, open_folder

    refuse_mlcask_home(source, what, "Give files from outside it: the signing key must not be packed into a model.")
    if not source.is_dir():
        shutil.copy2(source, target)
        return
    entries = folder_entries(source, what, ignore=ignore)
    target.mkdir()
    descriptor = open_folder(source.resolve())
    try:
        copy_entries(descriptor, entries, target, source, keep_mode=True)
    finally:
        os.close(descriptor)


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def infer_signature_from_example(example: InputExample, predict: Callable[[Any, dict | None], Any]) -> Any:
    """Predict on the example and infer a signature, as MLflow does; None if that fails."""
    from mlcask.models.signature import infer_signature

    try:
        import copy

        import numpy as np
        import pandas as pd

        from mlcask.models.enforcement import enforce_params, enforce_schema
        from mlcask.types.inference import infer_param_schema, infer_schema

        data, params = copy.deepcopy(example.inference_data), example.inference_params
        inputs = infer_schema(data)
        param_schema = infer_param_schema(params) if params else None
        # Predict on the example as pyfunc's predict would see it, as MLflow does.
        output = predict(enforce_schema(data, inputs), enforce_params(params, param_schema) if params else params)
        if not inputs.is_tensor_spec() and isinstance(output, np.ndarray) and output.ndim == 1:
            output = pd.Series(output)  # row-wise predictions of a table: one column, as in MLflow
        return infer_signature(example.inference_data, output, example.inference_params)
    except Exception as exc:  # MLflow also saves without a signature when this fails
        _logger.warning("Could not infer the model signature from the input example: %s", exc)
        return None


def save_model_folder(
    path: str | os.PathLike,
    *,
    flavor_name: str | None,
    write_data: Callable[[Path], dict[str, Any]],
    pyfunc_conf: Callable[[dict[str, Any]], dict[str, Any] | None],
    default_requirements: Callable[[dict[str, Any]], list[str]],
    predict_for_signature: Callable[[Any, dict | None], Any] | None = None,
    mlflow_model: Model | None = None,
    signature: Any = None,
    input_example: Any = None,
    conda_env: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    code_paths: Sequence[str | os.PathLike] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Save a model folder at ``path``; returns its :class:`Model` metadata.

    ``write_data(folder)`` writes the flavor's files and returns the flavor's MLmodel
    configuration (``flavor_name`` None: a model whose only flavor is python_function); ``pyfunc_conf(flavor_conf)`` the extra keys of the pyfunc section (or
    None for a model with no pyfunc flavor); ``default_requirements(flavor_conf)`` the
    pinned requirements when the caller gives none.
    """
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidArgumentError(f"metadata must be a dict, got {type(metadata).__name__}.")
    model = mlflow_model if mlflow_model is not None else Model()
    example = InputExample(input_example) if input_example is not None else None
    with staging_folder(path) as folder:
        code = copy_code_paths(code_paths, folder)
        flavor_conf = write_data(folder)
        if example is not None:
            example.save(folder)
            model.saved_input_example_info = example.info
            if signature is None and predict_for_signature is not None:
                signature = infer_signature_from_example(example, predict_for_signature)
        if signature is False:  # MLflow's way to save no signature and infer none
            signature = None
        if signature is not None:
            _check_signature(signature)
            model.signature = signature
        if metadata is not None:
            model.metadata = metadata
        model.model_size_bytes = folder_size(folder)
        pyfunc_extra = pyfunc_conf(flavor_conf)
        if pyfunc_extra is not None:
            # A pure pyfunc model (flavor_name None) always records its code folder, as MLflow does.
            code_entry = {"code": code} if code or flavor_name is None else {}
            model.add_flavor(PYFUNC_FLAVOR, **pyfunc_extra, env=dict(ENV_FLAVOR_CONFIG),
                             python_version=PYTHON_VERSION, **code_entry)
        if flavor_name is not None:
            model.add_flavor(flavor_name, code=code, **flavor_conf)
        model.save(folder / MLMODEL_FILE_NAME)
        environment = Environment.resolve(
            default_requirements(flavor_conf) if conda_env is None and pip_requirements is None else [],
            conda_env=conda_env,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
        )
        environment.write(folder)
    return model  # staging_folder sealed and signed every file above


def _check_signature(signature: Any) -> None:
    from mlcask.models.signature import ModelSignature

    if not isinstance(signature, ModelSignature):
        raise InvalidArgumentError(
            f"signature must be a ModelSignature (see mlcask.models.infer_signature), got "
            f"{type(signature).__name__}."
        )

