"""The checks every artifact repository (local, S3, a server's proxy) makes on what it uploads and where it
downloads: the mlcask home folder (the signing key, the digest cache) never leaves the machine, nor is it
written into, and a hard link to one of its files is caught at the descriptor."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.home import refuse_mlcask_home
from mlcask.utils.paths import TreeEntry, folder_entries, safe_name

__all__ = ["UPLOAD_ADVICE", "check_upload_descriptor", "refuse_download_into_home", "refuse_home_folder_upload",
           "upload_entries", "upload_file"]

UPLOAD_ADVICE = "Log files from outside it: the signing key and the digest cache must not leave this machine."
DOWNLOAD_ADVICE = "Choose a dst_path outside it."


def upload_file(local_file: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(source, real)`` of a file to upload with ``log_artifact``: the path named (it may be a link: the
    caller named it) and the file it resolves to; refused when it is no file or lies in the mlcask home."""
    source = Path(local_file)
    if not source.is_file():
        dangling = " (a symbolic link to nothing)" if source.is_symlink() and not source.exists() else ""
        raise InvalidArgumentError(f"log_artifact: '{local_file}' is not a file{dangling}.")
    refuse_mlcask_home(source, "log_artifact: the file", UPLOAD_ADVICE)
    return source, source.resolve(strict=True)


def refuse_home_folder_upload(local_dir: str | os.PathLike[str]) -> Path:
    """The folder to upload with ``log_artifacts``, refused when it is no folder or is, holds or lies in
    the mlcask home."""
    source = Path(local_dir)
    if not source.is_dir():
        raise InvalidArgumentError(f"log_artifacts: '{local_dir}' is not a folder.")
    refuse_mlcask_home(source, "log_artifacts: the folder", UPLOAD_ADVICE)
    return source


def upload_entries(source: Path, given: object,
                   check_name: Callable[[str, str], object] = safe_name) -> list[TreeEntry]:
    """What uploading the folder ``source`` copies (:func:`mlcask.utils.paths.folder_entries`: links inside it
    followed only where they stay inside), with every name checked by ``check_name(name, what)``."""
    entries = folder_entries(source, f"log_artifacts: the folder '{given}'")
    for entry in entries:
        check_name(entry.path.rpartition("/")[2], f"file name in '{source / entry.path}'")
    return entries


def check_upload_descriptor(info: os.stat_result, shown: str | os.PathLike[str],
                            forbidden: frozenset[tuple[int, int]]) -> None:
    """Refuse an open file that is one of ``forbidden`` (the mlcask home's files, by device and inode)."""
    if (info.st_dev, info.st_ino) in forbidden:
        raise InvalidArgumentError(f"Cannot upload '{shown}': it is a hard link to a file of the mlcask home "
                                   f"folder (the signing key or the digest cache). {UPLOAD_ADVICE}")


def refuse_download_into_home(destination: str | os.PathLike[str]) -> None:
    """Refuse a download destination that is, holds or lies in the mlcask home."""
    refuse_mlcask_home(destination, "download_artifacts: the destination", DOWNLOAD_ADVICE)
