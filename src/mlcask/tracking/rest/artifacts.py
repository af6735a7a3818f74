"""Artifacts behind a tracking server's artifact proxy (``mlflow server`` or ``mlcask server``).

:class:`HttpArtifactRepository` serves two URI forms, resolved as MLflow resolves them:

- ``mlflow-artifacts:/<path>``: ``<path>`` under the proxy of the tracking server;
  ``mlflow-artifacts://host:port/<path>`` names the server's host (the scheme and any path
  prefix come from the tracking URI). What an ``mlflow server --artifacts-destination``
  gives its experiments.
- ``http(s)://host[:port][/prefix]/api/2.0/mlflow-artifacts/artifacts/<path>``.

Every call goes through the server's pooled client (:func:`mlcask.tracking.rest.http.server_client`),
with its credentials and retries. Paths are checked with :func:`mlcask.utils.paths.clean_relative_path`
before a request is made, and names the server lists with :func:`mlcask.utils.paths.safe_name` before
anything is written locally. Each uploaded file is one PUT that the server makes visible atomically;
a folder is uploaded file by file, a model folder's ``MLmodel`` last (readers wait for it). Downloads write each file under a private temporary name and rename
it into place, never through a link inside the destination; nothing is written into or uploaded from
the mlcask home folder.
"""

from __future__ import annotations

import mimetypes
import os
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mlcask.entities.messages import file_info_from_message
from mlcask.environment_variables import MLFLOW_TRACKING_URI
from mlcask.exceptions import InvalidArgumentError
from mlcask.models.home import mlcask_home_files
from mlcask.models.integrity import MANIFEST_FILE_NAME
from mlcask.tracking.protocols import FileInfo
from mlcask.tracking.rest.http import ServerClient, redact, server_client
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
    open_below,
    open_folder,
    open_folders_at,
    safe_name,
    write_file_at,
)

__all__ = ["ARTIFACTS_ROOT", "HttpArtifactRepository", "resolve_artifact_uri"]

ARTIFACTS_ROOT = "/api/2.0/mlflow-artifacts/artifacts"
_CHUNK = 1 << 20


def _tracking_server(tracking_uri: str | None, uri: str) -> urllib.parse.SplitResult:
    tracking = tracking_uri or os.environ.get("MLCASK_TRACKING_URI") or MLFLOW_TRACKING_URI.get_raw()
    parsed = urllib.parse.urlsplit(tracking or "")
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        shown = f"'{redact(tracking)}'" if tracking else "not set"
        raise InvalidArgumentError(
            f"The artifact URI '{uri}' is on a tracking server's artifact proxy, but the tracking URI is {shown}: it "
            "must be the server's http(s):// URI. Call set_tracking_uri('http://host:port') or set "
            "MLFLOW_TRACKING_URI.")
    return parsed


def resolve_artifact_uri(uri: str, tracking_uri: str | None = None) -> tuple[str, str]:
    """``(server URI, root path under the proxy)`` of an ``mlflow-artifacts:`` or ``http(s)://`` artifact URI.

    The server URI is what :func:`server_client` takes (scheme, host, port, path prefix and, from the
    tracking URI, user info); the root is a clean relative path ('' for the proxy's root).
    """
    parsed = urllib.parse.urlsplit(str(uri))
    scheme = parsed.scheme.lower()
    if scheme == "mlflow-artifacts":
        tracking = _tracking_server(tracking_uri, uri)
        if parsed.netloc and parsed.hostname is None:
            raise InvalidArgumentError(f"The artifact URI '{uri}' names a port but no host.")
        netloc = parsed.netloc or tracking.netloc
        server = urllib.parse.urlunsplit((tracking.scheme, netloc, tracking.path.rstrip("/"), "", ""))
        tail = parsed.path
    elif scheme in ("http", "https"):
        before, found, tail = parsed.path.partition(ARTIFACTS_ROOT)
        if not found or (tail and not tail.startswith("/")):
            raise InvalidArgumentError(f"The artifact URI '{redact(uri)}' is not on a tracking server's artifact "
                                       f"proxy: an http(s) artifact URI must contain '{ARTIFACTS_ROOT}'.")
        server = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, before.rstrip("/"), "", ""))
    else:
        raise InvalidArgumentError(f"HttpArtifactRepository serves mlflow-artifacts: and http(s):// URIs, got "
                                   f"'{redact(uri)}'.")
    return server, clean_relative_path(urllib.parse.unquote(tail).lstrip("/"), "artifact URI path")


def _upload_order(entry: TreeEntry) -> tuple[int, str]:
    """Files in name order, except that a model folder's integrity manifest and then its ``MLmodel`` go last:
    a reader that waits for ``MLmodel`` (as loaders do) finds every other file already there."""
    name = entry.path.rpartition("/")[2]
    return {MANIFEST_FILE_NAME: 1, "MLmodel": 2}.get(name, 0), entry.path


def _join(*parts: str) -> str:
    return "/".join(part for part in parts if part)


class HttpArtifactRepository:
    """The files under one artifact URI of a tracking server's proxy (see the module docstring).

    Parameters
    ----------
    uri
        ``mlflow-artifacts:/<path>``, ``mlflow-artifacts://host:port/<path>`` or
        ``http(s)://host/.../api/2.0/mlflow-artifacts/artifacts/<path>``.
    tracking_uri
        The tracking server that host-less ``mlflow-artifacts:/`` URIs refer to
        (``MLCASK_TRACKING_URI``/``MLFLOW_TRACKING_URI`` for None).
    """

    def __init__(self, uri: str, tracking_uri: str | None = None) -> None:
        self.artifact_uri = str(uri)
        self._server, self.root = resolve_artifact_uri(self.artifact_uri, tracking_uri)
        server_client(self._server)  # a bad URI or setting fails here

    @property
    def _client(self) -> ServerClient:
        """The server's pooled client for the settings in effect now."""
        return server_client(self._server)

    def __repr__(self) -> str:
        return f"HttpArtifactRepository({redact(self.artifact_uri)!r})"

    # -- paths -----------------------------------------------------------------------------------
    def _relative(self, artifact_path: str | os.PathLike[str] | None, what: str = "artifact path") -> str:
        return clean_relative_path(artifact_path, what)

    def _endpoint(self, relative: str) -> str:
        """The proxy URL path of ``relative`` (below the root), each segment percent-encoded."""
        full = _join(self.root, relative)
        return f"{ARTIFACTS_ROOT}/{urllib.parse.quote(full, safe='/')}" if full else ARTIFACTS_ROOT

    # -- writes ----------------------------------------------------------------------------------
    def _put(self, relative: str, body: Any) -> None:
        content_type = mimetypes.guess_type(relative.rpartition("/")[2])[0] or "application/octet-stream"
        self._client.send("PUT", self._endpoint(relative), content=body, headers={"Content-Type": content_type})

    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload one local file into the folder ``artifact_path`` (it keeps its name).

        ``local_file`` may be a symbolic link (the caller named it): the file it points at is uploaded under the
        link's name. A file of the mlcask home folder is refused.
        """
        source, real = upload_file(local_file)
        folder = self._relative(artifact_path)
        name = safe_name(source.name, f"file name in '{local_file}'")
        parent = open_folder(real.parent)
        try:
            self._upload_below(parent, real.name, _join(folder, name), source, mlcask_home_files())
        finally:
            os.close(parent)

    def _upload_below(self, root_fd: int, below: str, relative: str, shown: Path,
                      forbidden: frozenset[tuple[int, int]]) -> None:
        def body() -> BinaryIO:
            descriptor = open_below(root_fd, below, shown)
            try:
                check_upload_descriptor(os.fstat(descriptor), shown, forbidden)
            except InvalidArgumentError:
                os.close(descriptor)
                raise
            return os.fdopen(descriptor, "rb")

        body().close()  # refuse before the first request, not inside it
        self._put(relative, body)

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Upload the contents of a local folder into ``artifact_path``, file by file.

        Links inside the folder are uploaded as what they point at when that stays inside it; others, and
        special files, are refused naming them (:func:`mlcask.utils.paths.folder_entries`).
        """
        source = refuse_home_folder_upload(local_dir)
        folder = self._relative(artifact_path)
        entries = upload_entries(source, local_dir)
        forbidden = mlcask_home_files()
        root = open_folder(source.resolve(strict=True))
        try:
            for entry in sorted(entries, key=_upload_order):
                if not entry.is_dir:
                    self._upload_below(root, entry.source, _join(folder, entry.path), source / entry.path, forbidden)
        finally:
            os.close(root)

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as the file ``artifact_file``."""
        relative = self._relative(artifact_file, "artifact file")
        if not relative:
            raise InvalidArgumentError("artifact_file must name a file, got an empty path.")
        self._put(relative, bytes(data))

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or folder (everything under the root for None)."""
        self._client.send("DELETE", self._endpoint(self._relative(artifact_path)))

    # -- reads -----------------------------------------------------------------------------------
    def read_bytes(self, artifact_file: str) -> bytes:
        """The contents of the file ``artifact_file``."""
        relative = self._relative(artifact_file, "artifact file")
        if not relative:
            raise InvalidArgumentError("artifact_file must name a file, got an empty path.")
        return self._client.send("GET", self._endpoint(relative)).content

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of the folder ``path`` (the root for None), sorted; [] for a file or nothing."""
        relative = self._relative(path)
        answer = self._client.call("GET", "/mlflow-artifacts/artifacts", {"path": _join(self.root, relative)})
        files = answer.get("files") or []
        if not isinstance(files, list):
            raise InvalidArgumentError(f"The artifact listing of '{redact(self.artifact_uri)}' is malformed: "
                                       f"'files' is {type(files).__name__}, not a list.")
        infos = []
        for message in files:
            listed = file_info_from_message(message)
            name = safe_name(listed.path.rstrip("/"), f"name listed by the server in '{relative or '/'}'")
            infos.append(FileInfo(_join(relative, name), listed.is_dir, listed.file_size))
        if len(infos) == 1 and not infos[0].is_dir and relative and infos[0].path == _join(
                relative, relative.rpartition("/")[2]):
            return []  # some stores list a file as itself: a file has no children
        return sorted(infos, key=lambda info: info.path)

    def walk_files(self, path: str = "") -> Iterator[FileInfo]:
        """Every file below the folder ``path``, depth first, paths relative to the root."""
        pending = [self._relative(path)]
        while pending:
            for info in self.list_artifacts(pending.pop()):
                if info.is_dir:
                    pending.append(info.path)
                else:
                    yield info

    def iter_bytes(self, artifact_file: str) -> Iterator[bytes]:
        """The contents of ``artifact_file`` in chunks, streamed."""
        relative = self._relative(artifact_file, "artifact file")
        return self._client.iter_bytes("GET", self._endpoint(relative), _CHUNK)

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """Copy the file or folder ``artifact_path`` to ``dst_path/<its name>`` (a new temporary folder for
        None); returns that local path. The root ('') is copied as ``dst_path/<the root's last name>``."""
        relative = self._relative(artifact_path)
        dst = Path(tempfile.mkdtemp(prefix="mlcask-artifacts-")) if dst_path is None else Path(dst_path)
        name = _join(self.root, relative).rpartition("/")[2]
        destination = dst / name if name else dst
        refuse_download_into_home(destination)
        children = self.list_artifacts(relative) if relative else None
        dst.mkdir(parents=True, exist_ok=True)
        top = open_folder(dst)
        try:
            if relative and not children:  # a file (or nothing: the GET says which)
                self._download_file(top, relative, name, destination)
                return str(destination)
            folder = open_folders_at(top, name, dst)
            try:
                for info in self.walk_files(relative):
                    below = info.path[len(relative):].lstrip("/") if relative else info.path
                    parent, _, file_name = below.rpartition("/")
                    target = open_folders_at(folder, parent, destination)
                    try:
                        self._download_file(target, info.path, file_name, destination / below)
                    finally:
                        os.close(target)
            finally:
                os.close(folder)
        finally:
            os.close(top)
        return str(destination)

    def _download_file(self, folder_fd: int, relative: str, name: str, shown: Path) -> None:
        write_stream_at(folder_fd, name, self.iter_bytes(relative), shown)


def write_stream_at(folder_fd: int, name: str, chunks: Iterable[bytes], shown: str | os.PathLike[str]) -> None:
    """Write ``chunks`` as the file ``name`` in ``folder_fd``, atomically (:func:`mlcask.utils.paths.write_file_at`)."""
    def write(stream: BinaryIO) -> None:
        for chunk in chunks:
            stream.write(chunk)

    write_file_at(folder_fd, name, write, shown)