"""Copying one artifact folder (a run's, a logged model's) from a source location to mlcask's, checked.

The folder is downloaded through the source's artifact repository (a local path, ``s3://``,
``mlflow-artifacts:`` through the server), every file hashed (SHA-256), uploaded through the
destination's repository, and read back: a file missing or different in the destination is an
error naming it. With ``sign``, each model folder (one holding ``MLmodel``) is sealed and signed
with the signing key (:func:`mlcask.models.metadata.sign_model`) before the upload.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcask.exceptions import MlcaskException
from mlcask.tracking.artifacts import get_artifact_repository
from mlcask.utils.redaction import redact_uri

__all__ = ["CopyResult", "copy_folder", "list_files"]
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CopyResult:
    files: int
    bytes: int
    signed: int  # model folders sealed and signed


def list_files(repository: Any, path: str = "") -> Iterator[tuple[str, int | None]]:
    """``(path, size)`` of every file below ``path`` in an artifact repository, depth first."""
    for info in repository.list_artifacts(path or None):
        if info.is_dir:
            yield from list_files(repository, info.path)
        else:
            yield info.path, info.file_size


def _digest_local(folder: Path) -> dict[str, tuple[str, int]]:
    found = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with open(file, "rb") as handle:
            for chunk in iter(lambda h=handle: h.read(_CHUNK), b""):
                digest.update(chunk)
        found[file.relative_to(folder).as_posix()] = (digest.hexdigest(), file.stat().st_size)
    return found


def _digest_remote(repository: Any, path: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    if hasattr(repository, "open_file"):
        with repository.open_file(path) as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
    else:
        data = repository.read_bytes(path)
        digest.update(data)
        size = len(data)
    return digest.hexdigest(), size


def _sign_models(folder: Path) -> int:
    from mlcask.models.metadata import sign_model

    model_folders = sorted({p.parent for p in folder.rglob("MLmodel") if p.is_file()})
    for model_folder in model_folders:
        sign_model(str(model_folder))
    return len(model_folders)


def copy_folder(source_uri: str, destination_uri: str, *, source_tracking_uri: str | None = None,
                sign: bool = False) -> CopyResult:
    """Copy everything under ``source_uri`` to ``destination_uri`` and check it arrived byte for byte.

    Parameters
    ----------
    source_uri, destination_uri
        Artifact locations (local paths, ``file:``, ``s3://``, ``mlflow-artifacts:``).
    source_tracking_uri
        The tracking server host-less ``mlflow-artifacts:/`` source URIs refer to.
    sign
        Seal and sign each model folder (one holding ``MLmodel``) in the copy.

    Returns
    -------
    CopyResult
        Files and bytes copied (0 for a location that holds nothing), model folders signed.
    """
    source = get_artifact_repository(source_uri, source_tracking_uri)
    listed = dict(list_files(source))
    if not listed:
        return CopyResult(0, 0, 0)
    staging = Path(tempfile.mkdtemp(prefix="mlcask-import-"))
    try:
        local = Path(source.download_artifacts("", dst_path=str(staging)))
        copied = _digest_local(local)
        if set(copied) != set(listed):
            missing = sorted(set(listed) - set(copied))[:5]
            raise MlcaskException(f"Downloading '{redact_uri(source_uri)}' did not bring every file it lists "
                                  f"(missing: {', '.join(missing) or 'none'}; unexpected: "
                                  f"{', '.join(sorted(set(copied) - set(listed))[:5]) or 'none'}).")
        signed = _sign_models(local) if sign else 0
        expected = _digest_local(local) if signed else copied
        changed = [p for p in copied if expected[p] != copied[p]]
        if changed:
            raise MlcaskException(f"Signing changed files it must only seal: {', '.join(changed[:5])}.")
        destination = get_artifact_repository(destination_uri)
        destination.log_artifacts(str(local))
        _verify(destination, destination_uri, expected)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return CopyResult(len(copied), sum(size for _, size in copied.values()), signed)


def _verify(destination: Any, destination_uri: str, expected: dict[str, tuple[str, int]]) -> None:
    """Read back every file written; raise naming the first that is missing or differs."""
    for path, (digest, size) in expected.items():
        try:
            found = _digest_remote(destination, path)
        except MlcaskException as exc:
            raise MlcaskException(f"'{path}' is missing from '{redact_uri(destination_uri)}' after the copy: "
                                  f"{exc.message}") from None
        if found != (digest, size):
            raise MlcaskException(
                f"'{path}' in '{redact_uri(destination_uri)}' differs from the source after the copy (SHA-256 "
                f"{found[0][:12]}..., {found[1]} bytes; expected {digest[:12]}..., {size} bytes).")


def is_inside(uri: str, prefix: str) -> bool:
    """Whether ``uri`` is ``prefix`` or below it (artifact URIs compared as text, without a trailing '/')."""
    uri, prefix = uri.rstrip("/"), prefix.rstrip("/")
    return uri == prefix or uri.startswith(prefix + "/") or uri.startswith(prefix + os.sep)
