"""Artifact repositories: where a run's files and a logged model's folder live.

Local folders today (absolute paths or ``file:`` URIs); object stores plug in behind
the same four calls. Every relative path a caller gives is checked before use
(:func:`mlcask.utils.paths.clean_relative_path`, re-exported here), so no artifact call
reads or writes outside the repository's root.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError
from mlcask.utils.paths import clean_relative_path, safe_name

__all__ = ["FileInfo", "LocalArtifactRepository", "clean_relative_path", "get_artifact_repository", "local_path_of"]


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An entry of ``list_artifacts``: a path relative to the root, and its size for files."""

    path: str
    is_dir: bool
    file_size: int | None


def local_path_of(uri: str) -> Path:
    """The local folder of a ``file:`` URI or plain path."""
    if uri.startswith("file:"):
        parsed = urllib.parse.urlparse(uri)
        return Path(urllib.parse.unquote(parsed.path))
    return Path(uri)


UPLOAD_STAGING_PREFIX = ".mlcask-upload-"
_OLD_STAGING_MARK = ".uploading-"  # staging files of earlier versions: hidden too


def is_staging_name(name: str) -> bool:
    """Whether ``name`` is an upload's private staging folder (left over if its writer was killed)."""
    return name.startswith(UPLOAD_STAGING_PREFIX) or (name.startswith(".") and _OLD_STAGING_MARK in name)


def _upload_name(name: str, source: object) -> str:
    """A local file or folder name, checked for use as an artifact name."""
    if is_staging_name(name):
        raise InvalidArgumentError(f"Cannot upload '{source}': names starting with '{UPLOAD_STAGING_PREFIX}' are "
                                   "reserved for uploads in progress.")
    return safe_name(name, f"file name in '{source}'")


def _local_tree(source: Path) -> tuple[list[str], list[str]]:
    """The folders and regular files under ``source`` (relative POSIX paths), sorted.

    Symbolic links (to files or folders) and special files are skipped: logging a folder
    never follows a link out of it.
    """
    folders: list[str] = []
    files: list[str] = []
    for folder, dirnames, filenames in os.walk(source):
        base = Path(folder)
        relative = base.relative_to(source)
        dirnames[:] = [d for d in sorted(dirnames) if not (base / d).is_symlink()]
        for name in dirnames:
            _upload_name(name, base / name)
            folders.append((relative / name).as_posix())
        for name in sorted(filenames):
            if stat.S_ISREG((base / name).lstat().st_mode):
                _upload_name(name, base / name)
                files.append((relative / name).as_posix())
    return folders, files


class LocalArtifactRepository:
    """Artifacts in a local folder (created on first write).

    Paths are checked (:func:`clean_relative_path`), and a symbolic link inside the root
    that leads out of it is neither listed, read, downloaded nor written through.

    Uploads are atomic: every upload writes into a private staging folder (``mkdtemp``,
    mode 0700, named ``.mlcask-upload-*``) made inside the destination's folder, so on the
    same filesystem, and renames into place. A folder logged to a destination that does
    not exist yet appears at once (the whole tree is staged, then renamed); into an
    existing folder it is merged file by file, each file atomic. Staging folders left by
    a killed writer are never listed nor downloadable. Final files and folders get the
    usual permissions (0666/0777 less the umask); only the staging folder is private.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = local_path_of(os.fspath(root)).absolute()

    # -- paths ---------------------------------------------------------------------------
    def local_path(self, artifact_path: str | os.PathLike | None, what: str = "artifact path") -> Path:
        """The local path of ``artifact_path`` (the root for None or ''), after every check."""
        relative = clean_relative_path(artifact_path, what)
        if any(is_staging_name(part) for part in relative.split("/")):
            raise InvalidArgumentError(f"Invalid {what} {artifact_path!r}: names starting with "
                                       f"'{UPLOAD_STAGING_PREFIX}' are reserved for uploads in progress.")
        target = self.root / relative if relative else self.root
        self._require_inside(target, artifact_path, what)
        return target

    _target = local_path  # the name earlier code (and tests) use

    def _outside(self, path: Path) -> bool:
        try:
            return not path.resolve().is_relative_to(self.root.resolve())
        except RuntimeError:  # a symbolic link loop
            return True

    def _require_inside(self, path: Path, given: object, what: str) -> None:
        if not self._outside(path):
            return
        culprit = path
        current = self.root
        for part in path.relative_to(self.root).parts:
            current = current / part
            if current.is_symlink() and self._outside(current):
                culprit = current
                break
        raise InvalidArgumentError(f"Invalid {what} {given!r}: it leads outside the artifact root through the "
                                   f"symbolic link '{culprit.relative_to(self.root)}'.")

    def _unsafe_link(self, path: Path) -> bool:
        """Whether ``path`` is a link to leave alone: out of the root, dangling, a loop, or to a folder holding it."""
        if not path.is_symlink():
            return False
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return True
        return self._outside(path) or (resolved.is_dir() and path.parent.resolve().is_relative_to(resolved))

    def _make_folder(self, folder: Path, given: object, what: str = "artifact path") -> None:
        """``mkdir -p`` of a folder inside the root, checked before and after (a link may appear meanwhile)."""
        self._require_inside(folder, given, what)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidArgumentError(f"Invalid {what} {given!r}: '{folder.relative_to(self.root)}' is a file in "
                                       "the artifacts, not a folder.") from None
        self._require_inside(folder, given, what)

    @contextmanager
    def _staging(self, folder: Path) -> Iterator[Path]:
        """A private (0700) staging folder inside ``folder``, removed afterwards."""
        staging = Path(tempfile.mkdtemp(prefix=UPLOAD_STAGING_PREFIX, dir=folder))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -- writes --------------------------------------------------------------------------
    def _put_files(self, folder: Path, files: list[tuple[Path, str]], folders: list[str], given: object) -> None:
        """Copy each ``(source, relative path)`` to ``folder / relative``, each file atomically."""
        for relative in [*folders, *(r for _, r in files)]:
            self._require_inside(folder / relative, given, "artifact path")
        for _, relative in files:
            if (folder / relative).is_dir():
                raise InvalidArgumentError(f"Cannot upload to artifact path {given!r}: "
                                           f"'{(folder / relative).relative_to(self.root)}' is a folder.")
        self._make_folder(folder, given)
        for relative in folders:
            self._make_folder(folder / relative, given)
        with self._staging(folder) as staging:
            for number, (source, relative) in enumerate(files):
                final = folder / relative
                self._make_folder(final.parent, given)
                staged = staging / str(number)
                shutil.copyfile(source, staged)
                os.replace(staged, final)

    def log_artifact(self, local_file: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Copy one local file into the repository, under ``artifact_path`` if given."""
        source = Path(local_file)
        if not source.is_file():
            raise InvalidArgumentError(f"log_artifact: '{local_file}' is not a file.")
        folder = self.local_path(artifact_path)
        self._put_files(folder, [(source, _upload_name(source.name, local_file))], [], artifact_path)

    def log_artifacts(self, local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Copy a local folder's contents into the repository, under ``artifact_path`` if given.

        Symbolic links and special files in the folder are skipped.
        """
        source = Path(local_dir)
        if not source.is_dir():
            raise InvalidArgumentError(f"log_artifacts: '{local_dir}' is not a folder.")
        target = self.local_path(artifact_path)
        folders, files = _local_tree(source)
        if target != self.root and not target.exists() and not target.is_symlink():
            self._make_folder(target.parent, artifact_path)
            with self._staging(target.parent) as staging:
                tree = staging / target.name
                tree.mkdir()
                for relative in folders:
                    (tree / relative).mkdir()
                for relative in files:
                    shutil.copyfile(source / relative, tree / relative)
                try:
                    os.rename(tree, target)  # the whole folder appears at once
                    return
                except OSError:
                    pass  # another writer made the destination meanwhile: merge into it
        self._put_files(target, [(source / r, r) for r in files], folders, artifact_path)

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as ``artifact_file`` (used by log_text, log_dict, log_figure)."""
        target = self.local_path(artifact_file, "artifact file")
        if target == self.root:
            raise InvalidArgumentError("artifact_file must name a file, got an empty path.")
        if target.is_dir():
            raise InvalidArgumentError(f"Cannot write artifact file {artifact_file!r}: it is a folder.")
        self._make_folder(target.parent, artifact_file, "artifact file")
        with self._staging(target.parent) as staging:
            staged = staging / target.name
            staged.write_bytes(data)
            os.replace(staged, target)

    # -- reads ---------------------------------------------------------------------------
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The entries directly under ``path`` (the root if None), sorted by path.

        Staging folders of uploads and links leading out of the root are not listed.
        """
        folder = self.local_path(path)
        if not folder.is_dir():
            return []
        prefix = clean_relative_path(path)
        infos = []
        for entry in sorted(folder.iterdir()):
            if is_staging_name(entry.name) or self._unsafe_link(entry):
                continue
            relative = f"{prefix}/{entry.name}" if prefix else entry.name
            is_dir = entry.is_dir()
            infos.append(FileInfo(relative, is_dir, None if is_dir else entry.stat().st_size))
        return infos

    def _not_copied(self, folder: str, names: list[str]) -> set[str]:
        return {name for name in names if is_staging_name(name) or self._unsafe_link(Path(folder) / name)}

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike | None = None) -> str:
        """A local path holding ``artifact_path``.

        For a local repository with no ``dst_path`` this is the stored file or folder itself
        (no copy); with ``dst_path`` the artifact is copied there, leaving out staging
        folders and links that lead out of the root.
        """
        source = self.local_path(artifact_path)
        if not source.exists():
            raise InvalidArgumentError(f"No artifact at '{artifact_path}' under '{self.root}'.")
        if dst_path is None:
            return str(source)
        destination = Path(dst_path) / source.name
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True, ignore=self._not_copied)
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
