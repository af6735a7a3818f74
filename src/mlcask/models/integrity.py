"""The integrity manifest: the SHA-256 and size of every file of a saved model.

mlcask writes ``mlcask-manifest.json`` as the last file of every model it saves (MLflow
ignores files it does not know, so the folder still loads there). Loading checks it
before reading anything else: a changed, missing or extra file stops the load with an
error naming it. A folder without a manifest (saved by MLflow) loads unchecked.

Python's own bytecode caches (``__pycache__``), which importing a model's ``code/``
creates inside the folder, are not part of the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mlcask.exceptions import ModelFormatError

MANIFEST_FILE_NAME = "mlcask-manifest.json"
MANIFEST_VERSION = 1


class ModelIntegrityError(ModelFormatError):
    """A model folder's files do not match its integrity manifest."""


def _files(folder: Path) -> list[str]:
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            relative = Path(root, name).relative_to(folder).as_posix()
            if relative != MANIFEST_FILE_NAME:
                found.append(relative)
    return found


def _digest(file: Path) -> str:
    with open(file, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """Record every file of ``folder`` in its manifest; returns the manifest."""
    folder = Path(folder)
    manifest = {
        "version": MANIFEST_VERSION,
        "algorithm": "sha256",
        "files": {name: {"sha256": _digest(folder / name), "size": (folder / name).stat().st_size}
                  for name in _files(folder)},
    }
    staging = folder / f".{MANIFEST_FILE_NAME}.tmp-{os.getpid()}"
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
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"The integrity manifest '{file}' is unreadable: {exc}.") from None
    return manifest


def verify_model_folder(folder: str | os.PathLike) -> int | None:
    """Check ``folder`` against its manifest; returns the number of files checked, or None
    when the folder has no manifest. Raises ModelIntegrityError naming every mismatch."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    recorded: dict[str, Any] = manifest["files"]
    present = set(_files(folder))
    problems = [f"extra file '{name}'" for name in sorted(present - set(recorded))]
    for name, entry in sorted(recorded.items()):
        file = folder / name
        if name not in present:
            problems.append(f"missing file '{name}'")
        elif file.stat().st_size != entry.get("size") or _digest(file) != entry.get("sha256"):
            problems.append(f"changed file '{name}'")
    if problems:
        raise ModelIntegrityError(
            f"The model in '{folder}' does not match its integrity manifest ({MANIFEST_FILE_NAME}): "
            + "; ".join(problems) + ". It was modified after it was saved; refusing to load it."
        )
    return len(recorded)
