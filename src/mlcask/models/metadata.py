"""Changing a saved model's metadata in place."""

from __future__ import annotations

import os
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.integrity import verify_model_folder, write_manifest
from mlcask.models.model import MLMODEL_FILE_NAME, Model
from mlcask.models.signature import ModelSignature
from mlcask.models.uri import resolve_model_path


def set_signature(model_uri: str | os.PathLike, signature: ModelSignature) -> None:
    """Set (or replace) the signature of the model saved at ``model_uri``.

    The MLmodel file is rewritten through a temporary file and a rename, so a reader
    sees either the old file or the new one.
    """
    if not isinstance(signature, ModelSignature):
        raise InvalidArgumentError(f"signature must be a ModelSignature, got {type(signature).__name__}.")
    folder = resolve_model_path(model_uri)
    has_manifest = verify_model_folder(folder) is not None  # never re-seal a tampered folder
    model = Model.load(folder)
    model.signature = signature
    target = Path(folder) / MLMODEL_FILE_NAME
    staging = target.with_name(f".{MLMODEL_FILE_NAME}.tmp-{os.getpid()}")
    model.save(staging)
    os.replace(staging, target)
    if has_manifest:
        write_manifest(folder)
