"""MLflow's artifact proxy, ``/api/2.0/mlflow-artifacts/...``, over a local folder or ``s3://bucket/prefix``.

The contract is MLflow 3.17's (``mlflow_artifacts.proto``, what ``mlflow.store.artifact.
http_artifact_repo`` sends):

- ``GET /artifacts/<path>``: the file, streamed. ``PUT /artifacts/<path>``: upload the request body
  as that file. ``DELETE /artifacts/<path>``: delete a file or folder.
  ``GET /artifacts?path=<folder>``: ``{"files": [{"path": <name>, "is_dir": ..., "file_size": ...}]}``.
- ``POST /mpu/create|complete|abort/<folder>`` with JSON ``{"path": <client's local file>, ...}``:
  a multipart upload of ``<folder>/<basename of path>`` (``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD``).
  ``create`` answers ``{"upload_id", "credentials": [{"url", "part_number", "headers"}]}``; the client
  PUTs each part to its URL, then calls ``complete`` with ``{"upload_id", "parts": [{"part_number",
  "etag"}]}`` (or ``abort``).

Every path goes through :func:`mlcask.utils.paths.clean_relative_path` (and the local repository's
checks): traversal, absolute paths, URIs, encodings are refused with 400 before any file is touched.
Errors are MLflow's ``{"error_code", "message"}``: 400 for bad input, 404 for what does not exist,
413 for a body over the limit.

Atomicity: a reader sees a whole artifact or none.

- Local folder: a PUT streams into a private staging file (``.mlcask-upload-*``, mode 0600) at the
  destination's root, hidden from listing and downloads, then renamed into place.
- Local multipart: ``create`` makes a private staging folder ``.mlcask-upload-mpu-<upload_id>`` at the
  root; each part URL points back at this server (``PUT /mpu/part/<upload_id>/<n>?token=<secret>``,
  the token standing for the credentials as an S3 presigned URL does, since MLflow's client sends none
  to part URLs); each part is written to a staging file and renamed, answered with its MD5 as ETag;
  ``complete`` joins the named parts (checking their ETags) into one staging file renamed into place,
  then drops the folder. ``abort`` drops the folder. Uploads left unfinished are removed after 7 days.
- S3: a PUT is spooled to an anonymous temporary file, then sent as one object (one PUT, or one
  completed multipart upload); multipart parts go straight to S3 through presigned part URLs, and the
  object appears when S3 completes it.

A server killed meanwhile leaves only hidden staging files (or an unfinished S3 upload, invisible).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import os
import re
import secrets
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from mlcask.exceptions import (
    BAD_REQUEST,
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    InvalidArgumentError,
    MlcaskException,
)
from mlcask.server.errors import error_response
from mlcask.tracking.artifacts import UPLOAD_STAGING_PREFIX, LocalArtifactRepository, get_artifact_repository
from mlcask.tracking.s3 import MAX_PARTS, PERMISSION_DENIED, ByteStream, S3ArtifactRepository
from mlcask.utils.paths import (
    CREATE_FLAGS,
    NEW_FILE_MODE,
    clean_relative_path,
    copy_descriptor,
    open_below,
    open_folder,
    open_folders_at,
    safe_name,
)

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "routes"]

DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024**3  # per request body: a PUT, or one part of a multipart upload
MPU_PREFIX = f"{UPLOAD_STAGING_PREFIX}mpu-"
MPU_MAX_AGE_SECONDS = 7 * 24 * 3600
STAGING_MAX_AGE_SECONDS = 24 * 3600
_HEX32 = re.compile(r"[0-9a-f]{32}")  # upload ids, and MD5 ETags of parts
_CHUNK = 1 << 20
MAX_JSON_BYTES = 16 * 1024 * 1024  # a complete call lists up to 10,000 parts
# Types a browser would run or render: served as plain text (MLflow does the same).
_INERT = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript", "application/javascript",
          "text/xml", "application/xml")


class _AnyPath(Convertor[str]):
    """Like Starlette's ``path`` convertor, control characters included (so the checker sees them and says why)."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("mlcask_artifact_path", _AnyPath())


class _TooLarge(Exception):
    pass


class _Refused(MlcaskException):
    """A part URL's token does not match its upload (403)."""

    error_code = PERMISSION_DENIED


# -- requests and answers -----------------------------------------------------------------------
def _endpoint(handler: Callable[..., Any]) -> Callable[[Request], Any]:
    """Wrap ``handler(request)``: mlcask errors become MLflow's error bodies, never a traceback."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except MlcaskException as exc:
            status = None
            if exc.error_code == PERMISSION_DENIED and not isinstance(exc, _Refused):
                status = 500  # the S3 peer refused the server's own credentials: not the client's fault
            return error_response(exc.error_code, exc.message, status)
        except _TooLarge as exc:
            return error_response(INVALID_PARAMETER_VALUE, str(exc), 413)
        except ClientDisconnect:
            return error_response(BAD_REQUEST, "The client disconnected before sending the whole body.")
        except FileNotFoundError:  # removed by another request meanwhile
            return error_response(RESOURCE_DOES_NOT_EXIST, "The artifact or upload was removed meanwhile.")
        except NotADirectoryError:
            return error_response(INVALID_PARAMETER_VALUE, "A file is in the way of the artifact path.")
        except OSError as exc:
            return error_response("INTERNAL_ERROR", f"The artifact store failed: {exc.strerror or exc}.")

    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise _TooLarge(f"The JSON body is over the limit of {MAX_JSON_BYTES} bytes.")
    try:
        body = json.loads(bytes(raw) or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise InvalidArgumentError(f"The request body must be a JSON object, got {type(body).__name__}.")
    return body


def _field(body: dict[str, Any], name: str, kind: type, required: bool = True) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidArgumentError(f"Missing value for required parameter '{name}'.")
        return None
    if kind is int:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgumentError(f"Invalid value {value!r} for parameter '{name}': expected an integer.")
        return value
    if not isinstance(value, kind):
        raise InvalidArgumentError(f"Invalid value {value!r} for parameter '{name}': expected {kind.__name__}.")
    return value


def _url_path(text: str | None) -> str:
    """A path from the URL (route or query), checked by :func:`clean_relative_path`.

    The HTTP server has already percent-decoded it once, turning bytes that are not UTF-8 into U+FFFD: such a
    path is refused as the checker refuses them (overlong '%c0%ae' dots and the like).
    """
    if text and "\ufffd" in text:
        raise InvalidArgumentError(f"Invalid artifact path {text!r}: it holds percent-encoded bytes that are not "
                                   "UTF-8.")
    return clean_relative_path(text)


def _artifact_file(path: str) -> str:
    relative = _url_path(path)
    if not relative:
        raise InvalidArgumentError("The artifact path must name a file, got an empty path.")
    return relative


def _mpu_target(request: Request, body: dict[str, Any]) -> str:
    """``<folder of the URL>/<base name of the client's local file>``, both checked."""
    folder = _url_path(request.path_params.get("path", ""))
    local_file = _field(body, "path", str)
    name = safe_name(re.split(r"[\\/]", local_file)[-1], "file name of 'path'")
    return "/".join(filter(None, [folder, clean_relative_path(name)]))


async def _receive(request: Request, handle: Any, limit: int, digest: Any = None) -> int:
    """Stream the request body into ``handle`` (a binary file), at most ``limit`` bytes; the byte count.

    Chunks are gathered up to 1 MiB and written from a worker thread, so a slow disk never holds the event loop.
    """
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(f"The body is {declared} bytes; this server takes at most {limit} bytes per request.")
    total, pending = 0, bytearray()
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _TooLarge(f"The body is over the limit of {limit} bytes per request.")
        if digest is not None:
            digest.update(chunk)
        pending += chunk
        if len(pending) >= _CHUNK:
            await run_in_threadpool(handle.write, bytes(pending))
            pending.clear()
    if pending:
        await run_in_threadpool(handle.write, bytes(pending))
    return total


def _download_headers(name: str, size: int) -> dict[str, str]:
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if guessed in _INERT or guessed.startswith("text/"):
        guessed = "text/plain; charset=utf-8"
    return {"Content-Type": guessed, "Content-Length": str(size), "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"}


def _file_infos(infos: list[Any]) -> dict[str, Any]:
    files = []
    for info in infos:
        entry: dict[str, Any] = {"path": info.path.rpartition("/")[2], "is_dir": info.is_dir}
        if not info.is_dir and info.file_size is not None:
            entry["file_size"] = int(info.file_size)
        files.append(entry)
    return {"files": files}


# -- a local folder -----------------------------------------------------------------------------
def _staged_name() -> str:
    return f"{UPLOAD_STAGING_PREFIX}{secrets.token_hex(12)}"


class _LocalDestination:
    """Uploads, downloads and multipart uploads in a local folder (see the module docstring)."""

    def __init__(self, repository: LocalArtifactRepository, limit: int) -> None:
        self.repository, self.limit = repository, limit
        self.root = repository.root

    def _checked(self, relative: str) -> Path:
        target = self.repository.local_path(relative)
        if target.is_dir():
            raise InvalidArgumentError(f"Cannot upload to artifact path '{relative}': it is a folder.")
        return target

    def open(self, relative: str) -> ByteStream:
        target = self.repository.local_path(relative)
        if not target.exists():
            raise MlcaskException(f"No artifact at '{relative}'.", error_code=RESOURCE_DOES_NOT_EXIST)
        if target.is_dir():
            raise InvalidArgumentError(f"The artifact '{relative}' is a folder; list it with "
                                       "GET /mlflow-artifacts/artifacts?path=... and download its files.")
        root = self.root.resolve()
        real = target.resolve(strict=True).relative_to(root).as_posix()
        root_fd = open_folder(root)
        try:
            descriptor = open_below(root_fd, real, relative)
        finally:
            os.close(root_fd)
        return ByteStream(os.fstat(descriptor).st_size, lambda: os.read(descriptor, _CHUNK),
                          lambda: os.close(descriptor))

    def _place(self, staged: str, relative: str) -> None:
        """Rename the staging file ``staged`` (at the root) to ``relative``, making its folders without links."""
        folder, _, name = relative.rpartition("/")
        self._checked(relative)
        root_fd = open_folder(self.root)
        try:
            folder_fd = open_folders_at(root_fd, folder, self.root)
            try:
                os.replace(staged, name, src_dir_fd=root_fd, dst_dir_fd=folder_fd)
            except (IsADirectoryError, NotADirectoryError):
                raise InvalidArgumentError(f"Cannot upload to artifact path '{relative}': a folder is in the "
                                           "way.") from None
            finally:
                os.close(folder_fd)
        finally:
            os.close(root_fd)

    async def write(self, request: Request, relative: str) -> None:
        self._checked(relative)
        self.root.mkdir(parents=True, exist_ok=True)
        staged = self.root / _staged_name()
        try:
            with open(os.open(staged, CREATE_FLAGS, 0o600), "wb") as handle:
                await _receive(request, handle, self.limit)
                os.fchmod(handle.fileno(), NEW_FILE_MODE)
            await run_in_threadpool(self._place, staged.name, relative)
        finally:
            staged.unlink(missing_ok=True)

    # multipart ------------------------------------------------------------------------------
    def _upload_folder(self, upload_id: str) -> Path:
        if not _HEX32.fullmatch(upload_id or ""):
            raise InvalidArgumentError(f"Invalid upload_id {upload_id!r}: expected the id create returned.")
        return self.root / f"{MPU_PREFIX}{upload_id}"

    def _record(self, upload_id: str, relative: str | None = None) -> tuple[Path, dict[str, Any]]:
        folder = self._upload_folder(upload_id)
        try:
            record = json.loads((folder / "upload.json").read_text())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            raise MlcaskException(f"No multipart upload {upload_id!r} in progress (it was completed, aborted or "
                                  "never created).", error_code=RESOURCE_DOES_NOT_EXIST) from None
        if relative is not None and record["target"] != relative:
            raise InvalidArgumentError(f"The multipart upload {upload_id!r} was created for '{record['target']}', "
                                       f"not '{relative}'.")
        return folder, record

    def create(self, relative: str, num_parts: int, part_url: Callable[[str, int, str], str]) -> dict[str, Any]:
        self._checked(relative)
        self.root.mkdir(parents=True, exist_ok=True)
        self._sweep()
        upload_id, token = secrets.token_hex(16), secrets.token_urlsafe(32)
        folder = self._upload_folder(upload_id)
        folder.mkdir(mode=0o700)
        record = {"target": relative, "num_parts": num_parts, "created": time.time(),
                  "token_sha256": hashlib.sha256(token.encode()).hexdigest()}
        (folder / "upload.json").write_text(json.dumps(record))
        credentials = [{"url": part_url(upload_id, n, token), "part_number": n, "headers": {}}
                       for n in range(1, num_parts + 1)]
        return {"upload_id": upload_id, "credentials": credentials}

    async def put_part(self, request: Request, upload_id: str, number: int, token: str) -> str:
        folder, record = await run_in_threadpool(self._record, upload_id)
        if not hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), record["token_sha256"]):
            raise _Refused("This part URL's token does not belong to the upload.")
        if not 1 <= number <= record["num_parts"]:
            raise InvalidArgumentError(f"Invalid part number {number}: the upload has parts 1 to "
                                       f"{record['num_parts']}.")
        staged = folder / _staged_name()
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with open(os.open(staged, CREATE_FLAGS, 0o600), "wb") as handle:
                await _receive(request, handle, self.limit, digest)
            etag = digest.hexdigest()
            os.replace(staged, folder / f"part-{number:05d}-{etag}")
        except FileNotFoundError:
            raise MlcaskException(f"The multipart upload {upload_id!r} was completed or aborted meanwhile.",
                                  error_code=RESOURCE_DOES_NOT_EXIST) from None
        finally:
            staged.unlink(missing_ok=True)
        return etag

    def complete(self, relative: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        folder, record = self._record(upload_id, relative)
        files = []
        for number, etag in parts:
            digest = etag.strip().strip('"').lower()
            part = folder / f"part-{number:05d}-{digest}"
            if not _HEX32.fullmatch(digest) or not part.is_file():
                raise InvalidArgumentError(f"Part {number} with ETag {etag!r} was not uploaded to the multipart "
                                           f"upload {upload_id!r}.")
            files.append(part)
        self._checked(relative)
        staged = self.root / _staged_name()
        try:
            written = os.open(staged, CREATE_FLAGS, 0o600)
            try:
                for part in files:
                    with open(part, "rb") as source:
                        copy_descriptor(source.fileno(), written)
                os.fchmod(written, NEW_FILE_MODE)
            finally:
                os.close(written)
            self._place(staged.name, relative)
        finally:
            staged.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)

    def abort(self, relative: str, upload_id: str) -> None:
        folder, _ = self._record(upload_id, relative)
        shutil.rmtree(folder, ignore_errors=True)

    def _sweep(self) -> None:
        """Remove multipart uploads older than 7 days and PUT staging files older than a day, at the root."""
        now = time.time()
        with os.scandir(self.root) as entries:
            for entry in entries:
                try:
                    age = now - entry.stat(follow_symlinks=False).st_mtime
                    if entry.name.startswith(MPU_PREFIX) and entry.is_dir(follow_symlinks=False):
                        if age > MPU_MAX_AGE_SECONDS:
                            shutil.rmtree(entry.path, ignore_errors=True)
                    elif entry.name.startswith(UPLOAD_STAGING_PREFIX) and entry.is_file(follow_symlinks=False):
                        if age > STAGING_MAX_AGE_SECONDS:
                            os.unlink(entry.path)
                except OSError:
                    continue


# -- S3 ------------------------------------------------------------------------------------------
class _S3Destination:
    """The same operations on ``s3://bucket/prefix``; multipart parts go straight to S3."""

    def __init__(self, repository: S3ArtifactRepository, limit: int) -> None:
        self.repository, self.limit = repository, limit

    def open(self, relative: str) -> ByteStream:
        try:
            return self.repository.open_artifact(relative)
        except MlcaskException as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST and self.repository.list_artifacts(relative):
                raise InvalidArgumentError(f"The artifact '{relative}' is a folder; list it with "
                                           "GET /mlflow-artifacts/artifacts?path=... and download its files.") from None
            raise

    async def write(self, request: Request, relative: str) -> None:
        with tempfile.TemporaryFile() as spool:
            await _receive(request, spool, self.limit)
            spool.seek(0)
            await run_in_threadpool(self.repository.upload_fileobj, spool, relative)

    def create(self, relative: str, num_parts: int, part_url: Callable[[str, int, str], str]) -> dict[str, Any]:
        upload_id, urls = self.repository.create_multipart_upload(relative, num_parts)
        return {"upload_id": upload_id,
                "credentials": [{"url": url, "part_number": n, "headers": {}} for n, url in urls]}

    async def put_part(self, request: Request, upload_id: str, number: int, token: str) -> str:
        raise MlcaskException("Parts of uploads to S3 go to their presigned S3 URLs, not to this server.",
                              error_code=RESOURCE_DOES_NOT_EXIST)

    def complete(self, relative: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        self.repository.complete_multipart_upload(relative, upload_id, parts)

    def abort(self, relative: str, upload_id: str) -> None:
        self.repository.abort_multipart_upload(relative, upload_id)


# -- handlers ------------------------------------------------------------------------------------
def _parts(body: dict[str, Any]) -> list[tuple[int, str]]:
    given = body.get("parts")
    if not isinstance(given, list) or not given:
        raise InvalidArgumentError("Missing value for required parameter 'parts': expected a non-empty list of "
                                   "{part_number, etag}.")
    if len(given) > MAX_PARTS:
        raise InvalidArgumentError(f"At most {MAX_PARTS} parts, got {len(given)}.")
    parts = []
    for item in given:
        if not isinstance(item, dict):
            raise InvalidArgumentError(f"Invalid part {item!r}: expected an object with part_number and etag.")
        parts.append((_field(item, "part_number", int), _field(item, "etag", str)))
    numbers = [number for number, _ in parts]
    if numbers != sorted(set(numbers)) or numbers[0] < 1:
        raise InvalidArgumentError(f"The parts must be listed once each, in increasing part_number order from 1; "
                                   f"got {numbers[:20]}.")
    return parts


def _artifact_routes(destination: _LocalDestination | _S3Destination) -> list[BaseRoute]:
    """GET (and HEAD), PUT and DELETE of ``/artifacts/<path>``, and the listing ``/artifacts?path=``."""

    async def download(request: Request) -> Response:  # GET, and HEAD (Starlette sends no body for it)
        relative = _artifact_file(request.path_params["path"])
        stream = await run_in_threadpool(destination.open, relative)
        headers = _download_headers(relative.rpartition("/")[2], stream.size)
        if request.method == "HEAD":
            stream.close()
            return Response(status_code=200, headers=headers)
        return StreamingResponse(iter(stream), headers=headers, background=BackgroundTask(stream.close))

    async def upload(request: Request) -> Response:
        await destination.write(request, _artifact_file(request.path_params["path"]))
        return JSONResponse({})

    async def delete(request: Request) -> Response:
        relative = _url_path(request.path_params["path"])
        if not relative:
            raise InvalidArgumentError("Refusing to delete every artifact: name a file or folder to delete.")
        await run_in_threadpool(destination.repository.delete_artifacts, relative)
        return JSONResponse({})

    async def listing(request: Request) -> Response:
        relative = _url_path(request.query_params.get("path"))
        infos = await run_in_threadpool(destination.repository.list_artifacts, relative or None)
        return JSONResponse(_file_infos(infos))

    return [Route("/artifacts", _endpoint(listing), methods=["GET"]),
            Route("/artifacts/{path:mlcask_artifact_path}", _endpoint(download), methods=["GET"]),
            Route("/artifacts/{path:mlcask_artifact_path}", _endpoint(upload), methods=["PUT"]),
            Route("/artifacts/{path:mlcask_artifact_path}", _endpoint(delete), methods=["DELETE"])]


def _multipart_routes(destination: _LocalDestination | _S3Destination) -> list[BaseRoute]:
    """``/mpu/create|complete|abort[/<folder>]``, and the part URLs of a local destination."""

    async def create(request: Request) -> Response:
        body = await _json_body(request)
        relative = _mpu_target(request, body)
        num_parts = _field(body, "num_parts", int, required=False)
        num_parts = 1 if num_parts is None else num_parts
        if not 1 <= num_parts <= MAX_PARTS:
            raise InvalidArgumentError(f"num_parts must be between 1 and {MAX_PARTS}, got {num_parts}.")
        root_path = request.scope.get("root_path", "")

        def part_url(upload_id: str, number: int, token: str) -> str:
            return str(request.url.replace(path=f"{root_path}/mpu/part/{upload_id}/{number}",
                                           query=urllib.parse.urlencode({"token": token})))

        return JSONResponse(await run_in_threadpool(destination.create, relative, num_parts, part_url))

    async def complete(request: Request) -> Response:
        body = await _json_body(request)
        relative, upload_id = _mpu_target(request, body), _field(body, "upload_id", str)
        await run_in_threadpool(destination.complete, relative, upload_id, _parts(body))
        return JSONResponse({})

    async def abort(request: Request) -> Response:
        body = await _json_body(request)
        relative, upload_id = _mpu_target(request, body), _field(body, "upload_id", str)
        await run_in_threadpool(destination.abort, relative, upload_id)
        return JSONResponse({})

    async def part(request: Request) -> Response:
        number = request.path_params["part_number"]
        if not (number.isascii() and number.isdigit()):
            raise InvalidArgumentError(f"Invalid part number {number!r}: expected an integer.")
        etag = await destination.put_part(request, request.path_params["upload_id"], int(number),
                                          request.query_params.get("token", ""))
        return Response(status_code=200, headers={"ETag": f'"{etag}"'})

    routes: list[BaseRoute] = [Route("/mpu/part/{upload_id}/{part_number}", _endpoint(part), methods=["PUT"])]
    for name, handler in (("create", create), ("complete", complete), ("abort", abort)):
        routes += [Route(f"/mpu/{name}", _endpoint(handler), methods=["POST"]),
                   Route(f"/mpu/{name}/{{path:mlcask_artifact_path}}", _endpoint(handler), methods=["POST"])]
    return routes


def routes(destination: str, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> list[BaseRoute]:
    """The artifact proxy's routes, relative to ``/api/2.0/mlflow-artifacts`` (mount them there and under
    ``/ajax-api/2.0/mlflow-artifacts``).

    Parameters
    ----------
    destination
        Where artifacts live: a local path, a ``file:`` URI or ``s3://bucket/prefix``.
    max_upload_bytes
        The largest request body accepted: one PUT, or one part of a multipart upload (413 beyond).

    An S3 destination is checked first: a missing bucket, refused credentials or an unreachable endpoint
    raise an MlcaskException saying which.
    """
    if max_upload_bytes < 1:
        raise InvalidArgumentError(f"max_upload_bytes must be positive, got {max_upload_bytes}.")
    repository = get_artifact_repository(destination)
    if isinstance(repository, S3ArtifactRepository):
        repository.check_bucket()  # a missing bucket or refused credentials stop the server now, not at an upload
    if isinstance(repository, (S3ArtifactRepository, LocalArtifactRepository)):
        chosen = (_S3Destination if isinstance(repository, S3ArtifactRepository) else _LocalDestination)(
            repository, max_upload_bytes)
        return _artifact_routes(chosen) + _multipart_routes(chosen)
    raise InvalidArgumentError(f"The artifacts destination must be a local path, a file: URI or s3://bucket/prefix, "
                               f"got '{destination}'.")

