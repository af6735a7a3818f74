"""The integrity manifest: the SHA-256 and size of every file of a saved model, signed.

mlcask writes ``mlcask-manifest.json`` as the last file of every model it saves (MLflow
ignores files it does not know, so the folder still loads there) and signs it with the
signing key (:mod:`mlcask.models.signing`). Loading checks it before reading anything
else: a changed, missing or extra file, a symbolic link, or a signature that a trusted
key does not confirm stops the load with an error naming it. A folder without a
manifest (saved by MLflow) loads unchecked and untrusted.

A load reads the folder through one :class:`~mlcask.models.pinned.PinnedFolder`: what
was verified is what is read, wherever the folder's path points meanwhile. Whatever can
run code or steers the load (MLmodel, the manifest, pickles, skops files, code) is read
once, hashed from those bytes and parsed from the same bytes (:meth:`VerifiedFolder.read`
with ``runs_code=True``); only large native data files may be vouched for by the digest
cache (:mod:`mlcask.models.digests`).

Bytecode caches (``__pycache__/*.pyc``, which MLflow's imports of a model's ``code/``
leave behind) are not part of the manifest, and mlcask never reads them (see
:mod:`mlcask.pyfunc.code_import`). Nor are the temporary files of an in-place rewrite
of ``MLmodel`` or the manifest that was interrupted; nothing reads those either.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcask.exceptions import ModelFormatError
from mlcask.models import digests
from mlcask.models.pinned import PinnedFolder
from mlcask.models.signing import SigningKey, trusted_keys

MANIFEST_FILE_NAME = "mlcask-manifest.json"
MANIFEST_VERSION = 1
MAX_MANIFEST_BYTES = 16 << 20
KEEP_BYTES = 512 << 20  # large files hashed at verification stay in memory up to this much, for the loader


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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sealed_entries(pinned: PinnedFolder) -> dict[str, Any]:
    return {name: entry for name, entry in pinned.files().items() if not _is_ignored(name)}


def _signed_payload(manifest: dict[str, Any]) -> bytes:
    body = {key: manifest[key] for key in ("algorithm", "files", "version")}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


# -- writing -------------------------------------------------------------------------------

def hash_files(pinned: PinnedFolder, written_privately: bool = False) -> dict[str, dict[str, Any]]:
    """The manifest's file table for every file of ``pinned``, each hashed from bytes read
    through it; ``written_privately``: mlcask just wrote them in its private staging folder."""
    files = {}
    for name, entry in _sealed_entries(pinned).items():
        if not entry.is_file:
            raise ModelIntegrityError(f"Cannot seal '{pinned.path}': '{name}' is not a regular file (a model "
                                      "folder holds regular files only).")
        started = time.time_ns()
        digest = sha256(pinned.read(name))
        digests.remember(entry.identity, digest, started, written_privately)
        files[name] = {"sha256": digest, "size": entry.size}
    return files


def write_manifest(pinned: PinnedFolder, files: dict[str, dict[str, Any]], key: SigningKey | None) -> dict[str, Any]:
    """Write the manifest of ``files`` into the pinned folder, signed with ``key`` if given."""
    manifest: dict[str, Any] = {"version": MANIFEST_VERSION, "algorithm": "sha256", "files": files}
    if key is not None:
        manifest["signature"] = {"algorithm": key.algorithm, "key_id": key.key_id,
                                 "value": key.sign(_signed_payload(manifest))}
    pinned.replace_file(MANIFEST_FILE_NAME, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return manifest


# -- reading -------------------------------------------------------------------------------

def _parse_manifest(pinned: PinnedFolder) -> dict[str, Any] | None:
    entry = pinned.entries.get(MANIFEST_FILE_NAME)
    if entry is None:
        return None
    where = pinned.path / MANIFEST_FILE_NAME
    if not entry.is_file or entry.size > MAX_MANIFEST_BYTES:
        raise ModelIntegrityError(f"The integrity manifest '{where}' is not a regular file of at most "
                                  f"{MAX_MANIFEST_BYTES} bytes.")
    try:
        manifest = json.loads(pinned.read(MANIFEST_FILE_NAME))
        files = manifest["files"]
        if manifest.get("algorithm") != "sha256" or not isinstance(files, dict):
            raise ValueError("unknown algorithm or no file table")
        signature = manifest.get("signature")
        if signature is not None and not (isinstance(signature, dict)
                                          and all(isinstance(signature.get(k), str)
                                                  for k in ("algorithm", "key_id", "value"))):
            raise ValueError("the signature entry needs string fields algorithm, key_id and value")
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"The integrity manifest '{where}' is unreadable: {exc}.") from None
    return manifest


def _check_signature(folder: Path, manifest: dict[str, Any]) -> tuple[str | None, SigningKey | None]:
    signature = manifest.get("signature")
    if signature is None:
        return None, None
    signed_by = signature["key_id"]
    key = trusted_keys().get(signed_by)
    if key is None:
        return signed_by, None
    if key.algorithm != signature["algorithm"] or not key.verify(_signed_payload(manifest), signature["value"]):
        raise ModelIntegrityError(
            f"The integrity manifest of '{folder}' claims a signature by the trusted key {signed_by} "
            f"({key.source}), but the signature does not verify: the manifest was changed after it was "
            "signed. Refusing to load it."
        )
    return signed_by, key


class VerifiedFolder:
    """A pinned model folder checked against its manifest; read its files with :meth:`read`.

    Close it (or use it as a context manager) when the load is over.
    """

    def __init__(self, pinned: PinnedFolder, verification: Verification,
                 recorded: dict[str, Any] | None) -> None:
        self.pinned = pinned
        self.verification = verification
        self.recorded = recorded  # the manifest's file table, every entry verified; None: no manifest
        self._kept: dict[str, bytes] = {}

    @property
    def path(self) -> Path:
        return self.pinned.path

    def __enter__(self) -> VerifiedFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._kept.clear()
        self.pinned.close()

    def read(self, name: str, runs_code: bool) -> bytes:
        """The bytes of file ``name`` (relative, ``/``-separated), read through the pinned folder.

        ``runs_code``: the caller parses them in a way that can run code or steer the load
        (MLmodel, pickles, skops, code); such bytes are always the very bytes that were
        hashed. Native data may come through the digest cache's word for it.
        """
        kept = self._kept.get(name)
        if kept is not None:
            return kept
        data = self.pinned.read(name)
        small = self.pinned.entries[name].data is not None  # hashed from these bytes when verified
        if self.recorded is not None and runs_code and not small \
                and sha256(data) != self.recorded.get(name, {}).get("sha256"):
            raise ModelIntegrityError(f"'{name}' in the model folder '{self.path}' changed after it was verified; "
                                      "refusing to load it.")
        return data

    def _verify_files(self) -> None:
        recorded = self.recorded or {}
        present = _sealed_entries(self.pinned)
        problems = [f"extra file '{name}'" for name in sorted(set(present) - set(recorded))]
        budget = KEEP_BYTES
        for name, expected in sorted(recorded.items()):
            entry = present.get(name)
            if entry is None:
                problems.append(f"missing file '{name}'")
                continue
            if not entry.is_file:
                problems.append(f"'{name}' is a symbolic link or special file, not the regular file recorded")
                continue
            if not isinstance(expected, dict) or entry.size != expected.get("size"):
                problems.append(f"changed file '{name}'")
                continue
            if entry.data is None and digests.lookup(entry.identity) == expected.get("sha256"):
                continue  # a large file unchanged since it was hashed; code-running reads hash again
            started = time.time_ns()
            data = self.pinned.read(name)
            digest = sha256(data)
            if digest != expected.get("sha256"):
                problems.append(f"changed file '{name}'")
                continue
            digests.remember(entry.identity, digest, started)
            if entry.data is None and len(data) <= budget:
                self._kept[name] = data
                budget -= len(data)
        if problems:
            raise ModelIntegrityError(
                f"The model in '{self.path}' does not match its integrity manifest ({MANIFEST_FILE_NAME}): "
                + "; ".join(problems) + ". It was modified after it was saved; refusing to load it."
            )


def open_verified(folder: str | os.PathLike) -> VerifiedFolder:
    """Pin ``folder`` and check it against its manifest and the manifest's signature.

    Raises ModelIntegrityError for any file mismatch, and for a signature made with a
    trusted key that does not verify. A signature by a key not trusted here cannot be
    checked: the model counts as unsigned (``trusted`` False).
    """
    pinned = PinnedFolder.open(folder)
    try:
        manifest = _parse_manifest(pinned)
        if manifest is None:
            return VerifiedFolder(pinned, Verification(pinned.path, None), None)
        signed_by, key = _check_signature(pinned.path, manifest)
        verification = Verification(pinned.path, len(manifest["files"]), signed_by,
                                    key.key_id if key else None, key.source if key else None)
        verified = VerifiedFolder(pinned, verification, manifest["files"])
        verified._verify_files()
        return verified
    except BaseException:
        pinned.close()
        raise


def verify_model(folder: str | os.PathLike) -> Verification:
    """Check ``folder`` against its manifest and the manifest's signature (see :func:`open_verified`)."""
    with open_verified(folder) as verified:
        return verified.verification


def verify_model_folder(folder: str | os.PathLike) -> int | None:
    """Check ``folder`` against its manifest; the number of files checked, or None when
    the folder has no manifest. Raises ModelIntegrityError naming every mismatch."""
    return verify_model(folder).files_checked
