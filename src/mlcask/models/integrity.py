"""The integrity manifest: the SHA-256 and size of every file of a saved model, signed.

mlcask writes ``mlcask-manifest.json`` as the last file of every model it saves (MLflow
ignores files it does not know, so the folder still loads there) and signs it with the
signing key (:mod:`mlcask.models.signing`). Loading checks it before reading anything
else: a changed, missing or extra file, a symbolic link, or a signature that a trusted
key does not confirm stops the load with an error naming it. A folder without a
manifest (saved by MLflow) loads unchecked and untrusted.

Bytecode caches (``__pycache__/*.pyc``), which importing a model's ``code/`` with plain
Python creates, are not part of the manifest; mlcask never reads them (see
:mod:`mlcask.pyfunc.code_import`). Nor are the temporary files of an in-place rewrite
of ``MLmodel`` or the manifest that was interrupted; nothing reads those either.
"""

from __future__ import annotations

import json
import os
import re
import stat as stat_module
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcask.exceptions import ModelFormatError
from mlcask.models.digests import file_sha256

MANIFEST_FILE_NAME = "mlcask-manifest.json"
MANIFEST_VERSION = 1


class ModelIntegrityError(ModelFormatError):
    """A model folder's files do not match its integrity manifest, or its signature fails."""


@dataclass(frozen=True)
class Verification:
    """What verifying a model folder found.

    ``files_checked`` is None for a folder with no manifest. ``signed_by`` is the key id
    the manifest names; ``trusted_signer`` is that id only when the key is trusted here
    and the signature verified with it.
    """

    folder: Path
    files_checked: int | None
    signed_by: str | None = None
    trusted_signer: str | None = None
    signer_source: str | None = None

    @property
    def trusted(self) -> bool:
        return self.trusted_signer is not None


# What an in-place rewrite (set_signature, sign_model) killed midway leaves: nothing reads it.
_REWRITE_LEFTOVER = re.compile(r"\.(MLmodel|" + re.escape(MANIFEST_FILE_NAME) + r")\.tmp-\d+(-\d+)?")


def _is_ignored(relative: str) -> bool:
    parts = relative.split("/")
    if len(parts) == 1:
        return relative == MANIFEST_FILE_NAME or _REWRITE_LEFTOVER.fullmatch(relative) is not None
    return parts[-2] == "__pycache__" and parts[-1].endswith(".pyc")


def _entries(folder: Path) -> dict[str, os.stat_result]:
    """Every file under ``folder`` but the manifest and bytecode caches, with its lstat."""
    found = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            relative = Path(path).relative_to(folder).as_posix()
            if not _is_ignored(relative):
                found[relative] = os.lstat(path)
    return found


def _signed_payload(manifest: dict[str, Any]) -> bytes:
    body = {key: manifest[key] for key in ("algorithm", "files", "version")}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def write_manifest(folder: str | os.PathLike, sign: bool = True, private_staging: bool = False) -> dict[str, Any]:
    """Record every file of ``folder`` in its manifest, signed with the signing key when
    ``sign`` (and signing is not turned off); returns the manifest. ``private_staging``:
    ``folder`` is mlcask's own 0700 staging folder (its digests may be cached at once)."""
    from mlcask.models.signing import signing_key

    folder = Path(folder)
    files = {}
    for name, st in _entries(folder).items():
        if not stat_module.S_ISREG(st.st_mode):
            raise ModelIntegrityError(f"Cannot seal '{folder}': '{name}' is not a regular file (a model folder "
                                      "holds regular files only).")
        files[name] = {"sha256": file_sha256(folder / name, st, private_staging), "size": st.st_size}
    manifest: dict[str, Any] = {"version": MANIFEST_VERSION, "algorithm": "sha256", "files": files}
    key = signing_key() if sign else None
    if key is not None:
        manifest["signature"] = {"algorithm": key.algorithm, "key_id": key.key_id,
                                 "value": key.sign(_signed_payload(manifest))}
    staging = folder / f".{MANIFEST_FILE_NAME}.tmp-{os.getpid()}-{threading.get_ident()}"
    staging.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(staging, folder / MANIFEST_FILE_NAME)
    return manifest


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    file = Path(folder) / MANIFEST_FILE_NAME
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text())
        files = manifest["files"]
        if manifest.get("algorithm") != "sha256" or not isinstance(files, dict):
            raise ValueError("unknown algorithm or no file table")
        signature = manifest.get("signature")
        if signature is not None and not (isinstance(signature, dict)
                                          and all(isinstance(signature.get(k), str)
                                                  for k in ("algorithm", "key_id", "value"))):
            raise ValueError("the signature entry needs string fields algorithm, key_id and value")
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"The integrity manifest '{file}' is unreadable: {exc}.") from None
    return manifest


def _check_files(folder: Path, recorded: dict[str, Any]) -> None:
    present = _entries(folder)
    problems = [f"extra file '{name}'" for name in sorted(set(present) - set(recorded))]
    for name, entry in sorted(recorded.items()):
        st = present.get(name)
        if st is None:
            problems.append(f"missing file '{name}'")
        elif not stat_module.S_ISREG(st.st_mode):
            problems.append(f"'{name}' is a symbolic link or special file, not the regular file recorded")
        elif not isinstance(entry, dict) or st.st_size != entry.get("size") \
                or file_sha256(folder / name, st) != entry.get("sha256"):
            problems.append(f"changed file '{name}'")
    if problems:
        raise ModelIntegrityError(
            f"The model in '{folder}' does not match its integrity manifest ({MANIFEST_FILE_NAME}): "
            + "; ".join(problems) + ". It was modified after it was saved; refusing to load it."
        )


def verify_model(folder: str | os.PathLike) -> Verification:
    """Check ``folder`` against its manifest and the manifest's signature.

    Raises ModelIntegrityError for any file mismatch, and for a signature made with a
    trusted key that does not verify. A signature by a key not trusted here cannot be
    checked: the model counts as unsigned (``trusted`` False).
    """
    from mlcask.models.signing import trusted_keys

    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return Verification(folder, None)
    signature = manifest.get("signature")
    signed_by = trusted_signer = source = None
    if signature is not None:
        signed_by = signature["key_id"]
        key = trusted_keys().get(signed_by)
        if key is not None:
            if key.algorithm != signature["algorithm"] or not key.verify(_signed_payload(manifest),
                                                                         signature["value"]):
                raise ModelIntegrityError(
                    f"The integrity manifest of '{folder}' claims a signature by the trusted key {signed_by} "
                    f"({key.source}), but the signature does not verify: the manifest was changed after it was "
                    "signed. Refusing to load it."
                )
            trusted_signer, source = signed_by, key.source
    _check_files(folder, manifest["files"])
    return Verification(folder, len(manifest["files"]), signed_by, trusted_signer, source)


def verify_model_folder(folder: str | os.PathLike) -> int | None:
    """Check ``folder`` against its manifest; the number of files checked, or None when
    the folder has no manifest. Raises ModelIntegrityError naming every mismatch."""
    return verify_model(folder).files_checked
