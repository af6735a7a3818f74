"""Artifact repositories: where a run's files and a logged model's folder live.

Local folders today (absolute paths or ``file:`` URIs); object stores plug in behind
the same four calls. Every relative path a caller gives is checked before use, so no
artifact call reads or writes outside the repository's root.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mlcask.exceptions import InvalidArgumentError


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An entry of ``list_artifacts``: a path relative to the root, and its size for files."""

    path: str
    is_dir: bool
    file_size: int | None


def clean_relative_path(path: str | os.PathLike | None, what: str = "artifact path") -> str:
    """``path`` as a normalised relative POSIX path ('' for the root), or an error.

    Refused: absolute paths, ``..`` segments, backslashes, NUL and other control
    characters, and percent-encoded forms of any of them.
    """
    if path is None:
        return ""
    text = os.fspath(path)
    decoded = text
    for _ in range(3):  # undo double and triple encoding before checking
        once = urllib.parse.unquote(decoded)
        if once == decoded:
            break
        decoded = once
    bad = [c for c in decoded if ord(c) < 32 or c == "\x7f"]
    if bad or "\\" in decoded:
        raise InvalidArgumentError(f"Invalid {what} {text!r}: it contains a backslash or a control character.")
    posix = PurePosixPath(decoded)
    if posix.is_absolute() or decoded.startswith("~"):
        raise InvalidArgumentError(f"Invalid {what} {text!r}: it must be relative, not absolute.")
    if ".." in posix.parts:
        raise InvalidArgumentError(f"Invalid {what} {text!r}: '..' segments are not allowed.")
    return "/".join(p for p in posix.parts if p not in ("", "."))


def local_path_of(uri: str) -> Path:
    """The local folder of a ``file:`` URI or plain path."""
    if uri.startswith("file:"):
        parsed = urllib.parse.urlparse(uri)
        return Path(urllib.parse.unquote(parsed.path))
    return Path(uri)


class LocalArtifactRepository:
    """Artifacts in a local folder (created on first write)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = local_path_of(os.fspath(root)).absolute()

    def _target(self, artifact_path: str | None, what: str = "artifact path") -> Path:
        relative = clean_relative_path(artifact_path, what)
        target = self.root / relative if relative else self.root
        # A symlink inside the root must not lead out of it.
        resolved_root = self.root.resolve()
        if target.exists() and not target.resolve().is_relative_to(resolved_root):
            raise InvalidArgumentError(f"Invalid {what} {artifact_path!r}: it leads outside the artifact root.")
        return target

    def log_artifact(self, local_file: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Copy one local file into the repository, under ``artifact_path`` if given."""
        source = Path(local_file)
        if not source.is_file():
            raise InvalidArgumentError(f"log_artifact: '{local_file}' is not a file.")
        folder = self._target(artifact_path)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{source.name}.uploading-{os.getpid()}"
        shutil.copyfile(source, staging)
        os.replace(staging, folder / source.name)

    def log_artifacts(self, local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Copy a local folder's contents into the repository, under ``artifact_path`` if given."""
        source = Path(local_dir)
        if not source.is_dir():
            raise InvalidArgumentError(f"log_artifacts: '{local_dir}' is not a folder.")
        target = self._target(artifact_path)
        target.mkdir(parents=True, exist_ok=True)
        for file in sorted(source.rglob("*")):
            if file.is_symlink():
                continue  # never follow a link out of the folder being logged
            relative = file.relative_to(source)
            if file.is_dir():
                (target / relative).mkdir(parents=True, exist_ok=True)
            else:
                self.log_artifact(file, "/".join(filter(None, [clean_relative_path(artifact_path),
                                                               relative.parent.as_posix().strip(".")])))

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as ``artifact_file`` (used by log_text, log_dict, log_figure)."""
        target = self._target(artifact_file, "artifact file")
        if not clean_relative_path(artifact_file):
            raise InvalidArgumentError("artifact_file must name a file, got an empty path.")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.uploading-{os.getpid()}")
        staging.write_bytes(data)
        os.replace(staging, target)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The entries directly under ``path`` (the root if None), sorted by path."""
        folder = self._target(path)
        if not folder.is_dir():
            return []
        prefix = clean_relative_path(path)
        infos = []
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") and ".uploading-" in entry.name:
                continue
            relative = f"{prefix}/{entry.name}" if prefix else entry.name
            is_dir = entry.is_dir()
            infos.append(FileInfo(relative, is_dir, None if is_dir else entry.stat().st_size))
        return infos

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike | None = None) -> str:
        """A local path holding ``artifact_path``.

        For a local repository with no ``dst_path`` this is the stored file itself (no
        copy); with ``dst_path`` the artifact is copied there.
        """
        source = self._target(artifact_path)
        if not source.exists():
            raise InvalidArgumentError(f"No artifact at '{artifact_path}' under '{self.root}'.")
        if dst_path is None:
            return str(source)
        destination = Path(dst_path) / source.name
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
        return str(destination)


def get_artifact_repository(uri: str) -> LocalArtifactRepository:
    """The repository for an artifact location URI."""
    scheme = urllib.parse.urlparse(uri).scheme
    if scheme in ("", "file") or len(scheme) == 1:
        return LocalArtifactRepository(uri)
    raise InvalidArgumentError(f"Artifact location '{uri}': scheme '{scheme}:' is not supported yet "
                               "(supported: local paths and file: URIs).")
