"""Artifact repositories: where a run's files and a logged model's folder live.

Local folders today (absolute paths or ``file:`` URIs); object stores plug in behind
the same four calls. Every relative path a caller gives is checked before use
(:func:`mlcask.utils.paths.clean_relative_path`, re-exported here), so no artifact call
reads or writes outside the repository's root.

Links: uploads read a local folder by :func:`mlcask.utils.paths.folder_entries` (a link is
copied as the file it points at only when it stays inside the folder; others are refused)
and every byte through ``O_NOFOLLOW`` descriptors; downloads never follow a link inside
``dst_path`` (folders are opened with ``O_NOFOLLOW``, files renamed over). No artifact root,
upload source or download destination may touch the mlcask home folder (the signing key).
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
from typing import IO

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.models.home import mlcask_home_files, refuse_mlcask_home
from mlcask.tracking.protocols import ArtifactRepository, FileInfo
from mlcask.tracking.transfer_checks import (
    check_upload_descriptor,
    refuse_download_into_home,
    refuse_home_folder_upload,
    upload_entries,
    upload_file,
)
from mlcask.utils.paths import (
    TreeEntry,
    clean_relative_path,
    copy_entries,
    copy_file_below,
    folder_entries,
    link_target,
    open_below,
    open_folder,
    open_folder_at,
    open_folders_at,
    replace_file_at,
    safe_name,
)

__all__ = ["FileInfo", "LocalArtifactRepository", "check_artifact_uri", "clean_relative_path", "get_artifact_repository",
           "is_local_uri", "local_path_of"]


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


def _upload_name(name: str, what: str) -> str:
    """A local file or folder name, checked for use as an artifact name (``what`` names it in errors)."""
    if is_staging_name(name):
        raise InvalidArgumentError(f"Cannot upload {name!r} ({what}): names starting with "
                                   f"'{UPLOAD_STAGING_PREFIX}' are reserved for uploads in progress.")
    return safe_name(name, what)


_ROOT_ADVICE = ("Keep artifacts in a folder outside it: set MLCASK_ARTIFACT_ROOT or the experiment's "
                "artifact_location elsewhere (or MLCASK_HOME to another folder).")


@dataclass(frozen=True, slots=True)
class _Source:
    """A local folder an upload reads from: a descriptor of it (everything is opened below it), how to show
    its paths, and the files that must never be uploaded (those of the mlcask home folder, hard links too)."""

    fd: int
    shown: Path
    forbidden: frozenset[tuple[int, int]]

    def check(self, info: os.stat_result, shown: str | os.PathLike) -> None:
        check_upload_descriptor(info, shown, self.forbidden)

    def copy(self, relative: str, target: Path, shown: Path) -> None:
        copy_file_below(self.fd, relative, target, shown, check=self.check)


@contextmanager
def _reading(folder: Path, shown: Path) -> Iterator[_Source]:
    """A :class:`_Source` for the real folder ``folder``; its descriptor is closed afterwards."""
    descriptor = open_folder(folder)
    try:
        yield _Source(descriptor, shown, mlcask_home_files())
    finally:
        os.close(descriptor)


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

    A root that is, holds or lies inside the mlcask home folder (``MLCASK_HOME``) is refused.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        refuse_mlcask_home(root, "Artifact root", _ROOT_ADVICE)
        self.artifact_uri = os.fspath(root)
        self.root = local_path_of(self.artifact_uri).absolute()

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
        return path.is_symlink() and link_target(path, self.root.resolve())[0] is None

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
    def _put_files(self, folder: Path, source: _Source, files: list[tuple[str, str]], folders: list[str],
                   given: object) -> None:
        """Copy each ``(file below source, relative path)`` to ``folder / relative``, each file atomically."""
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
            for number, (below, relative) in enumerate(files):
                final = folder / relative
                self._make_folder(final.parent, given)
                staged = staging / str(number)
                source.copy(below, staged, source.shown / relative)
                os.replace(staged, final)

    def log_artifact(self, local_file: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Copy one local file into the repository, under ``artifact_path`` if given.

        ``local_file`` may be a symbolic link (the caller named it): the file it points at is copied, under the
        link's name, as MLflow does. A file inside the mlcask home folder is refused.
        """
        source, real = upload_file(local_file)
        folder = self.local_path(artifact_path)
        name = _upload_name(source.name, f"file name in '{local_file}'")
        with _reading(real.parent, source.parent) as reading:
            self._put_files(folder, reading, [(real.name, name)], [], artifact_path)

    def log_artifacts(self, local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Copy a local folder's contents into the repository, under ``artifact_path`` if given.

        ``local_dir`` may be a symbolic link (the caller named it). Inside it, a link is copied as the file or
        folder it points at when that stays inside ``local_dir``; a link leading out of it, a dangling link, a
        loop or a special file is refused, naming it (see :func:`mlcask.utils.paths.folder_entries`). A folder
        that is, holds or lies inside the mlcask home folder is refused.
        """
        source = refuse_home_folder_upload(local_dir)
        target = self.local_path(artifact_path)
        real = source.resolve(strict=True)
        entries = upload_entries(source, local_dir, _upload_name)
        with _reading(real, source) as reading:
            if target != self.root and not target.exists() and not target.is_symlink():
                self._make_folder(target.parent, artifact_path)
                with self._staging(target.parent) as staging:
                    tree = staging / target.name
                    tree.mkdir()
                    copy_entries(reading.fd, entries, tree, source, check=reading.check)
                    try:
                        os.rename(tree, target)  # the whole folder appears at once
                        return
                    except OSError:
                        pass  # another writer made the destination meanwhile: merge into it
            files = [(e.source, e.path) for e in entries if not e.is_dir]
            self._put_files(target, reading, files, [e.path for e in entries if e.is_dir], artifact_path)

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

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete the file or folder ``artifact_path`` (every artifact for None); a missing path is no error.

        A folder is first renamed to a private staging name in its parent, so readers see it whole or
        not at all, then removed (links inside are removed, never followed).
        """
        target = self.local_path(artifact_path)
        if not os.path.lexists(target):
            return
        if target == self.root:
            for entry in list(self.root.iterdir()):
                if not is_staging_name(entry.name):
                    self.delete_artifacts(entry.name)
            return
        if target.is_symlink() or not target.is_dir():
            target.unlink()
            return
        doomed = Path(tempfile.mkdtemp(prefix=UPLOAD_STAGING_PREFIX, dir=target.parent))
        os.replace(target, doomed / target.name)
        shutil.rmtree(doomed)

    # -- reads ---------------------------------------------------------------------------
    @contextmanager
    def open_file(self, artifact_file: str) -> Iterator[IO[bytes]]:
        """The file ``artifact_file`` opened for reading, without following a link out of the root (so a
        caller may read only its head).

        A missing file raises :class:`~mlcask.exceptions.MlcaskException` with RESOURCE_DOES_NOT_EXIST.
        """
        relative = clean_relative_path(artifact_file, "artifact file")
        target = self.local_path(relative, "artifact file")
        if not relative or not target.is_file():
            raise MlcaskException(f"No artifact file '{artifact_file}' under '{self.root}'.",
                                  error_code=RESOURCE_DOES_NOT_EXIST)
        root_fd = open_folder(self.root)
        try:
            fd = open_below(root_fd, relative, target)
        finally:
            os.close(root_fd)
        with os.fdopen(fd, "rb") as handle:
            yield handle

    def read_bytes(self, artifact_file: str) -> bytes:
        """The contents of the file ``artifact_file``, read without following a link out of the root.

        A missing file raises :class:`~mlcask.exceptions.MlcaskException` with RESOURCE_DOES_NOT_EXIST.
        """
        with self.open_file(artifact_file) as handle:
            return handle.read()

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

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike | None = None) -> str:
        """A local path holding ``artifact_path``.

        For a local repository with no ``dst_path`` this is the stored file or folder itself
        (no copy); with ``dst_path`` the artifact is copied to ``dst_path/<its name>``, leaving out
        staging folders, links that lead out of the root and special files.

        ``dst_path`` itself may be a symbolic link (the caller named it); nothing mlcask writes inside it is
        reached through a link: a folder there that is a link is refused, naming it, and each file is written
        under a private temporary name and renamed over the old one (replacing a link, never writing through
        it). A destination that is, holds or lies inside the mlcask home folder is refused.
        """
        source = self.local_path(artifact_path)
        if not source.exists():
            raise InvalidArgumentError(f"No artifact at '{artifact_path}' under '{self.root}'.")
        if dst_path is None:
            return str(source)
        return str(self._copy_out(source, Path(dst_path)))

    def _copy_out(self, source: Path, dst: Path) -> Path:
        """Copy ``source`` (checked, inside the root) to ``dst / source.name``; see :meth:`download_artifacts`."""
        destination = dst / source.name
        refuse_download_into_home(destination)
        root = self.root.resolve()
        real = source.resolve(strict=True)
        dst.mkdir(parents=True, exist_ok=True)
        root_fd, dst_fd = open_folder(root), open_folder(dst)
        try:
            if not real.is_dir():
                self._copy_file_out(root_fd, real.relative_to(root).as_posix(), dst_fd, source.name, destination)
                return destination
            entries = folder_entries(source, f"Artifact folder '{source}'", boundary=root, problems="skip",
                                     ignore=is_staging_name)
            top = open_folder_at(dst_fd, source.name, destination)
            try:
                self._copy_entries_out(root_fd, entries, top, destination)
            finally:
                os.close(top)
        finally:
            os.close(root_fd)
            os.close(dst_fd)
        return destination

    def _copy_entries_out(self, root_fd: int, entries: list[TreeEntry], top: int, destination: Path) -> None:
        """Write ``entries`` below the folder ``top`` (``destination``), folders before what they hold."""
        parent_path, parent_fd = "", os.dup(top)
        try:
            for entry in entries:
                folder, _, name = entry.path.rpartition("/")
                if entry.is_dir:
                    os.close(open_folders_at(top, entry.path, destination))
                    continue
                if folder != parent_path:  # entries of one folder come together: one open per folder
                    following = open_folders_at(top, folder, destination)
                    os.close(parent_fd)
                    parent_path, parent_fd = folder, following
                self._copy_file_out(root_fd, entry.source, parent_fd, name, destination / entry.path)
        finally:
            os.close(parent_fd)

    def _copy_file_out(self, root_fd: int, relative: str, folder_fd: int, name: str, shown: Path) -> None:
        source = open_below(root_fd, relative, self.root / relative)
        try:
            info = os.fstat(source)
            replace_file_at(folder_fd, name, source, shown, mode=stat.S_IMODE(info.st_mode) & 0o777,
                            times_ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(source)


REMOTE_SCHEMES = ("s3", "mlflow-artifacts", "http", "https")


def is_local_uri(uri: str) -> bool:
    """Whether ``uri`` is a local path or ``file:`` URI (one letter before ':' is a Windows drive)."""
    scheme = urllib.parse.urlparse(str(uri)).scheme.lower()
    return scheme in ("", "file") or len(scheme) == 1


def check_artifact_uri(uri: str, what: str = "Artifact location") -> str:
    """Refuse, now, an artifact URI whose scheme no repository serves; returns ``uri``."""
    scheme = urllib.parse.urlparse(str(uri)).scheme.lower()
    if scheme == "s3":
        from mlcask.tracking.s3 import parse_s3_uri

        parse_s3_uri(str(uri))  # a malformed bucket or prefix fails now, not at the first upload
    if is_local_uri(uri) or scheme in REMOTE_SCHEMES:
        return str(uri)
    raise InvalidArgumentError(f"{what} '{uri}': scheme '{scheme}:' is not supported (supported: local paths, "
                               "file:, s3://, mlflow-artifacts:/ and http(s):// URIs).")


def get_artifact_repository(uri: str, tracking_uri: str | None = None) -> ArtifactRepository:
    """The repository for an artifact location URI.

    Parameters
    ----------
    uri
        A local path, ``file:``, ``s3://bucket/prefix``, ``mlflow-artifacts:/path`` (the
        artifact proxy of a tracking server) or ``http(s)://host/api/2.0/mlflow-artifacts/artifacts/path``.
    tracking_uri
        The tracking server that ``mlflow-artifacts:/path`` URIs without a host refer to. Pass it
        (the client, ``log_model`` and model URI resolution do); for None, ``MLCASK_TRACKING_URI`` /
        ``MLFLOW_TRACKING_URI``.
    """
    scheme = urllib.parse.urlparse(check_artifact_uri(uri)).scheme.lower()
    if scheme == "s3":
        from mlcask.tracking.s3 import S3ArtifactRepository

        return S3ArtifactRepository(uri)
    if scheme in ("mlflow-artifacts", "http", "https"):
        from mlcask.tracking.rest.artifacts import HttpArtifactRepository

        return HttpArtifactRepository(uri, tracking_uri)
    return LocalArtifactRepository(uri)
