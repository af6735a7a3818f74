"""Changing a saved model's metadata in place."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.integrity import Verification, verify_model, write_manifest
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
    verification = verify_model(folder)  # never re-seal a tampered folder
    model = Model.load(folder)
    model.signature = signature
    target = Path(folder) / MLMODEL_FILE_NAME
    staging = target.with_name(f".{MLMODEL_FILE_NAME}.tmp-{os.getpid()}-{threading.get_ident()}")
    model.save(staging)
    os.replace(staging, target)
    if verification.files_checked is not None:
        # Re-sign only what was signed by a trusted key: signing vouches for the contents.
        write_manifest(folder, sign=verification.trusted)


def sign_model(model_uri: str | os.PathLike) -> Verification:
    """Seal and sign the model at ``model_uri`` with the signing key; returns its verification.

    The folder must match its manifest, if it has one. A folder without one (saved by
    MLflow) gets one. Signing vouches for everything the folder holds, code included:
    review a model from elsewhere before signing it.
    """
    from mlcask.models.signing import signing_key

    folder = resolve_model_path(model_uri)
    verify_model(folder)
    key = signing_key()
    if key is None:
        raise InvalidArgumentError("Signing is turned off (MLCASK_SIGNING=0); unset it to sign models.")
    write_manifest(folder, sign=True)
    return verify_model(folder)
