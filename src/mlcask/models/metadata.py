"""Changing a saved model's metadata in place: its signature, its seal."""

from __future__ import annotations

import os

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.integrity import Verification, hash_files, open_verified, sha256, write_manifest
from mlcask.models.model import MLMODEL_FILE_NAME, Model
from mlcask.models.signature import ModelSignature
from mlcask.models.signing import signing_key
from mlcask.models.uri import is_models_uri, parse_models_uri, resolve_model_path


def set_signature(model_uri: str | os.PathLike, signature: ModelSignature) -> None:
    """Set (or replace) the signature of the model saved at ``model_uri``.

    The folder is pinned and verified first (a tampered folder is never re-sealed); the
    MLmodel file is rewritten in that folder through a temporary file and a rename, so a
    reader sees either the old file or the new one, and the manifest is re-signed only
    when a trusted key had signed it, over the files that were verified.
    """
    if not isinstance(signature, ModelSignature):
        raise InvalidArgumentError(f"signature must be a ModelSignature, got {type(signature).__name__}.")
    if is_models_uri(model_uri) and parse_models_uri(str(model_uri)).model_id is None:
        raise InvalidArgumentError(f'Failed to set signature on "{model_uri}". Model URIs with the '
                                   "`models:/<name>/<version>` scheme are not supported.")
    folder = resolve_model_path(model_uri)
    with open_verified(folder) as verified:
        if not verified.pinned.is_file(MLMODEL_FILE_NAME):
            raise ModelFormatError(f"'{folder}' is not an MLflow model folder: it has no '{MLMODEL_FILE_NAME}' file.")
        model = Model.from_yaml(verified.read(MLMODEL_FILE_NAME, runs_code=True), str(folder / MLMODEL_FILE_NAME))
        model.signature = signature
        data = model.to_yaml().encode()
        verified.pinned.replace_file(MLMODEL_FILE_NAME, data)
        if verified.recorded is not None:
            files = {**verified.recorded, MLMODEL_FILE_NAME: {"sha256": sha256(data), "size": len(data)}}
            write_manifest(verified.pinned, files, signing_key() if verified.verification.trusted else None)


def sign_model(model_uri: str | os.PathLike) -> Verification:
    """Seal and sign the model at ``model_uri`` with the signing key; returns its verification.

    The folder must match its manifest, if it has one; a folder without one (saved by
    MLflow) gets one, hashed from the bytes read through the pinned folder. Signing
    vouches for everything the folder holds, code included: review a model from elsewhere
    before signing it. A folder that others may write (or that holds another user's
    files) is refused, since what was reviewed could be changed under the signature.
    """
    key = signing_key()
    if key is None:
        raise InvalidArgumentError("Signing is turned off (MLCASK_SIGNING=0); unset it to sign models.")
    folder = resolve_model_path(model_uri)
    with open_verified(folder) as verified:
        verified.pinned.check_writable_only_by_owner("sign the model in")
        files = verified.recorded if verified.recorded is not None else hash_files(verified.pinned)
        write_manifest(verified.pinned, files, key)
    return Verification(verified.path, len(files), key.key_id, key.key_id, key.source)
