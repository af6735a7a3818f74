"""Files the built-in flavors share: ``extra_files`` saved with a model, and ``load_model``'s
``dst_path`` copy, as MLflow's flavors do them."""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.utils.paths import safe_name

EXTRA_FILES_KEY = "extra_files"


def _local_file(uri: str | os.PathLike) -> Path:
    text = os.fspath(uri)
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidArgumentError(f"extra_files: file: URI '{text}' names host '{parsed.netloc}'; only local "
                                       "files are supported.")
        path = Path(urllib.parse.unquote(parsed.path))
    elif len(parsed.scheme) > 1:
        raise InvalidArgumentError(f"extra_files: '{text}' is a remote URI; mlcask saves extra files from local paths "
                                   "and file: URIs only (download it first).")
    else:
        path = Path(text)
    if not path.is_file():
        raise InvalidArgumentError(f"extra_files: '{text}' is not a file.")
    return path


def copy_extra_files(extra_files: list[str | os.PathLike] | None, folder: Path) -> dict[str, Any]:
    """Copy ``extra_files`` into ``folder/extra_files/`` and return the flavor configuration that
    lists them (``{"extra_files": [{"path": "extra_files/<name>"}, ...]}``, or ``{}`` for none)."""
    if not extra_files:
        return {}
    if not isinstance(extra_files, list):
        raise TypeError("Extra files argument should be a list")
    sources = [_local_file(item) for item in extra_files]
    names = [safe_name(source.name, "extra file name") for source in sources]
    clashing = sorted({n for n in names if names.count(n) > 1})
    if clashing:
        raise InvalidArgumentError(f"extra_files: several files are named {clashing}; each is saved as "
                                   "extra_files/<its name>, so names must differ.")
    target = folder / EXTRA_FILES_KEY
    target.mkdir()
    for source, name in zip(sources, names):
        shutil.copyfile(source, target / name)
    return {EXTRA_FILES_KEY: [{"path": f"{EXTRA_FILES_KEY}/{name}"} for name in names]}


def copy_model_to(model_uri: str | os.PathLike, dst_path: str | os.PathLike) -> Path:
    """Copy the model folder at ``model_uri`` (downloaded first if remote) into the existing folder
    ``dst_path`` where MLflow puts it: a ``models:/`` model's files straight into ``dst_path``,
    any other model as ``dst_path/<last part of its URI>``. Returns the copy, which is then loaded."""
    from mlcask.models.uri import is_models_uri, resolve_model_path

    destination = Path(dst_path).absolute()
    if not destination.is_dir():
        raise InvalidArgumentError(f"The destination path for downloaded artifacts does not exist! "
                                   f"Destination path: {destination}")
    folder = resolve_model_path(model_uri)
    if folder.is_file():  # MLflow accepts the data file itself; copy its folder
        folder = folder.parent
    if not is_models_uri(model_uri):
        text = os.fspath(model_uri)
        scheme = urllib.parse.urlparse(text).scheme
        remote = len(scheme) > 1 and scheme != "file"
        last = urllib.parse.urlparse(text).path.rstrip("/").rpartition("/")[2] if remote else folder.absolute().name
        destination = destination / safe_name(last or folder.absolute().name, "model folder name")
    shutil.copytree(folder, destination, symlinks=True, dirs_exist_ok=True)
    return destination
