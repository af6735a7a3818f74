"""Artifacts in an S3-compatible object store: ``s3://bucket/prefix``.

Configured as MLflow's S3 repository is, from the environment:

- ``MLFLOW_S3_ENDPOINT_URL``: the endpoint of an S3-compatible store (MinIO, Ceph, moto...).
- ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_DEFAULT_REGION``
  (or ``AWS_REGION``), ``AWS_PROFILE``: credentials and region; without them boto3's usual
  chain applies (config files, instance roles).
- ``MLFLOW_S3_IGNORE_TLS=true``: do not verify the endpoint's TLS certificate.
- ``MLFLOW_S3_UPLOAD_EXTRA_ARGS``: a JSON object of extra upload arguments
  (``{"ServerSideEncryption": "AES256"}``), applied to every upload.
- ``MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE``: ``auto`` (default), ``path`` or ``virtual``.
- ``MLCASK_S3_MULTIPART_THRESHOLD`` and ``MLCASK_S3_MULTIPART_CHUNKSIZE`` (bytes, default
  16 MiB each; S3 needs at least 5 MiB): files from the threshold up are sent in parts.

One boto3 client is made per distinct setting of these and shared by every repository and
thread. Every relative path is checked with :func:`mlcask.utils.paths.clean_relative_path`.

Atomicity: an object is written whole by one PUT or one completed multipart upload, so a
reader sees a whole file or none (an unfinished multipart upload is invisible). A folder
(``log_artifacts``) appears file by file: object stores have no folder to rename.
Downloads write each file under a private temporary name in its destination folder and
rename it into place; folders are made without following links, and no key leads
outside ``dst_path`` (keys that are not clean relative paths are skipped).
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
import os
import re
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from mlcask.environment_variables import (
    MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE,
    MLFLOW_S3_ENDPOINT_URL,
    MLFLOW_S3_IGNORE_TLS,
    MLFLOW_S3_UPLOAD_EXTRA_ARGS,
)
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.models.home import mlcask_home_files
from mlcask.tracking.protocols import FileInfo
from mlcask.tracking.transfer_checks import (
    check_upload_descriptor,
    refuse_download_into_home,
    refuse_home_folder_upload,
    upload_entries,
    upload_file,
)
from mlcask.utils.paths import (
    clean_relative_path,
    open_below,
    open_folder,
    open_folder_at,
    open_folders_at,
    safe_name,
    write_file_at,
)

__all__ = ["PERMISSION_DENIED", "ByteStream", "S3ArtifactRepository", "S3Location", "parse_s3_uri",
           "s3_client"]

PERMISSION_DENIED = "PERMISSION_DENIED"
DEFAULT_PART_BYTES = 16 * 1024 * 1024
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000
_THREADS = 8
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,254}")
_CLIENTS: dict[tuple, Any] = {}
_CLIENTS_LOCK = threading.Lock()




#: The mode of a new file (0666 less the umask, read without changing it): downloads, and files the proxy writes.


# -- configuration -----------------------------------------------------------------------------
def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_bytes(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgumentError(f"{name} must be a number of bytes, got {text!r}.") from None
    if value < MIN_PART_BYTES:
        raise InvalidArgumentError(f"{name} must be at least {MIN_PART_BYTES} bytes (S3's smallest part), "
                                   f"got {value}.")
    return value


def _settings() -> tuple:
    """What one boto3 client is made for: endpoint, credentials, region, profile, TLS and addressing."""
    style = (MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE.get_raw() or "").strip() or MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE.default
    if style not in ("auto", "path", "virtual"):
        raise InvalidArgumentError(f"MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE must be auto, path or virtual, got {style!r}.")
    return (MLFLOW_S3_ENDPOINT_URL.get_raw() or None, os.environ.get("AWS_ACCESS_KEY_ID") or None,
            os.environ.get("AWS_SECRET_ACCESS_KEY") or None, os.environ.get("AWS_SESSION_TOKEN") or None,
            os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or None,
            os.environ.get("AWS_PROFILE") or None, _env_flag(MLFLOW_S3_IGNORE_TLS.name), style)


def s3_client() -> Any:
    """The shared boto3 S3 client for the current environment (see the module docstring)."""
    settings = _settings()
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(settings)
        if client is None:
            client = _CLIENTS[settings] = _make_client(*settings)
        return client


def _make_client(endpoint: str | None, key_id: str | None, secret: str | None, token: str | None,
                 region: str | None, profile: str | None, ignore_tls: bool, style: str) -> Any:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ProfileNotFound
    except ImportError:
        raise MlcaskException("s3:// artifact locations need boto3: pip install 'mlcask[s3]'.") from None
    try:
        session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret,
                                        aws_session_token=token, region_name=region, profile_name=profile)
    except ProfileNotFound:
        raise InvalidArgumentError(f"AWS_PROFILE names the profile '{profile}', which no AWS config file "
                                   "defines.") from None
    config = Config(signature_version="s3v4", s3={"addressing_style": style}, max_pool_connections=32,
                    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=120)
    return session.client("s3", endpoint_url=endpoint, verify=False if ignore_tls else None, config=config)


def _transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=_env_bytes("MLCASK_S3_MULTIPART_THRESHOLD", DEFAULT_PART_BYTES),
                          multipart_chunksize=_env_bytes("MLCASK_S3_MULTIPART_CHUNKSIZE", DEFAULT_PART_BYTES),
                          max_concurrency=_THREADS, use_threads=True)


def _extra_args(name: str) -> dict[str, Any]:
    """Upload arguments for the object ``name``: its guessed content type, then MLFLOW_S3_UPLOAD_EXTRA_ARGS."""
    extra: dict[str, Any] = {}
    guessed, encoding = mimetypes.guess_type(name)
    if guessed:
        extra["ContentType"] = guessed
    if encoding:
        extra["ContentEncoding"] = encoding
    text = (MLFLOW_S3_UPLOAD_EXTRA_ARGS.get_raw() or "").strip()
    if text:
        try:
            given = json.loads(text)
        except ValueError as exc:
            raise InvalidArgumentError(f"MLFLOW_S3_UPLOAD_EXTRA_ARGS must be a JSON object: {exc}.") from None
        if not isinstance(given, dict):
            raise InvalidArgumentError("MLFLOW_S3_UPLOAD_EXTRA_ARGS must be a JSON object, got "
                                       f"{type(given).__name__}.")
        extra.update(given)
    return extra


# -- locations and errors ----------------------------------------------------------------------
class S3Location:
    """A bucket and a key prefix ('' for the whole bucket), parsed and checked."""

    __slots__ = ("bucket", "prefix")

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix

    def key(self, relative: str) -> str:
        """The object key of a clean relative path ('' for the prefix itself)."""
        return "/".join(part for part in (self.prefix, relative) if part)

    def folder_key(self, relative: str) -> str:
        """The key prefix of the objects inside the folder ``relative`` ('' for the whole bucket)."""
        key = self.key(relative)
        return f"{key}/" if key else ""

    def uri(self, relative: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(relative)}"


def parse_s3_uri(uri: str) -> S3Location:
    """The bucket and clean key prefix of ``s3://bucket/prefix``, or an InvalidArgumentError saying what is wrong."""
    parsed = urllib.parse.urlparse(str(uri))
    if parsed.scheme.lower() != "s3":
        raise InvalidArgumentError(f"Not an S3 URI: '{uri}' (expected s3://bucket/prefix).")
    if parsed.query or parsed.fragment or parsed.params:
        raise InvalidArgumentError(f"Invalid S3 URI '{uri}': a query, ';' parameters or a '#' fragment are not "
                                   "allowed.")
    if not _BUCKET.fullmatch(parsed.netloc):
        raise InvalidArgumentError(f"Invalid S3 URI '{uri}': expected a bucket name (letters, digits, '.', '-', "
                                   f"'_', 3 to 255 characters) after s3://, got {parsed.netloc!r}.")
    return S3Location(parsed.netloc, clean_relative_path(parsed.path.lstrip("/"), f"key prefix of '{uri}'"))


_MISSING_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchUpload"}
_DENIED_CODES = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                 "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem"}
_INVALID_CODES = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge", "InvalidArgument",
                  "InvalidRequest", "MalformedXML", "InvalidBucketName", "KeyTooLongError"}
_CREDENTIALS = ("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_PROFILE or the "
                "instance role")


def _error(code: str, where: str, action: str, detail: str) -> MlcaskException:
    endpoint = MLFLOW_S3_ENDPOINT_URL.get_raw() or "AWS S3"
    if code == "NoSuchBucket":
        bucket = where.split("/")[2]
        return MlcaskException(f"Cannot {action} '{where}': the bucket '{bucket}' does not exist at {endpoint}.",
                               error_code=RESOURCE_DOES_NOT_EXIST)
    if code == "NoSuchUpload":
        return MlcaskException(f"Cannot {action} '{where}': no such multipart upload (it was completed, aborted "
                               "or never created).", error_code=RESOURCE_DOES_NOT_EXIST)
    if code in _MISSING_CODES:
        return MlcaskException(f"No artifact at '{where}' ({action}).", error_code=RESOURCE_DOES_NOT_EXIST)
    if code in _DENIED_CODES:
        return MlcaskException(f"Cannot {action} '{where}': {endpoint} refused the credentials ({code}: {detail}). "
                               f"Check {_CREDENTIALS}.", error_code=PERMISSION_DENIED)
    if code in _INVALID_CODES:
        return InvalidArgumentError(f"Cannot {action} '{where}': {code}: {detail}")
    return MlcaskException(f"Cannot {action} '{where}': {endpoint} answered {code}: {detail}")


@contextmanager
def _s3_errors(where: str, action: str) -> Iterator[None]:
    """Turn boto3's errors into MlcaskExceptions naming ``where`` (an s3:// URI) and what was being done."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        raise _error(code, where, action, str(error.get("Message") or exc)) from None
    except S3UploadFailedError as exc:  # boto3's managed upload wraps the ClientError in text
        found = re.search(r"\(([A-Za-z0-9]+)\) when calling", str(exc))
        raise _error(found.group(1) if found else "", where, action, str(exc)) from None
    except NoCredentialsError:
        raise MlcaskException(f"Cannot {action} '{where}': no AWS credentials were found. Set {_CREDENTIALS}.",
                              error_code=PERMISSION_DENIED) from None
    except EndpointConnectionError as exc:
        raise MlcaskException(f"Cannot {action} '{where}': the S3 endpoint cannot be reached ({exc}). Check "
                              "MLFLOW_S3_ENDPOINT_URL.") from None
    except BotoCoreError as exc:
        raise MlcaskException(f"Cannot {action} '{where}': {exc}") from None


# -- the repository ----------------------------------------------------------------------------
class ByteStream:
    """The bytes of one file, read chunk by chunk: ``size`` (bytes, or None if unknown), iterable once;
    ``close()`` (idempotent) releases it whether or not it was read, and reading to the end closes it."""

    def __init__(self, size: int | None, read: Callable[[], bytes], close: Callable[[], None]) -> None:
        self.size, self._read, self._close, self._closed = size, read, close, False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self._read():
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()


class S3ArtifactRepository:
    """The artifacts under ``s3://bucket/prefix`` (see the module docstring for configuration and atomicity)."""

    def __init__(self, uri: str) -> None:
        if importlib.util.find_spec("boto3") is None:  # fail when the location is given, not at the first upload
            raise MlcaskException(f"The artifact location '{uri}' needs boto3: pip install 'mlcask[s3]'.")
        self.location = parse_s3_uri(uri)
        self.artifact_uri = self.location.uri()
        self.bucket, self.prefix = self.location.bucket, self.location.prefix

    @property
    def client(self) -> Any:
        return s3_client()

    def check_bucket(self) -> None:
        """Raise a clear MlcaskException now if the bucket is missing, the credentials are refused or the
        endpoint cannot be reached (a server checks its destination when it starts)."""
        where = self.location.uri()
        try:
            with _s3_errors(where, "reach"):
                self.client.head_bucket(Bucket=self.bucket)
        except MlcaskException as exc:  # a HEAD answers a bare 404 or 403: say what it means for a bucket
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise _error("NoSuchBucket", where, "reach", "") from None
            raise

    def _relative(self, artifact_path: str | os.PathLike | None, what: str = "artifact path") -> str:
        return clean_relative_path(artifact_path, what)

    def _file(self, artifact_file: str) -> str:
        relative = clean_relative_path(artifact_file, "artifact file")
        if not relative:
            raise InvalidArgumentError("artifact_file must name a file, got an empty path.")
        return relative

    # -- writes ------------------------------------------------------------------------------
    def upload_fileobj(self, fileobj: IO[bytes], artifact_file: str) -> None:
        """Write what ``fileobj`` holds (from its current offset) as ``artifact_file``: one PUT, or one multipart
        upload from the threshold up, so the object appears whole or not at all."""
        relative = self._file(artifact_file)
        key = self.location.key(relative)
        with _s3_errors(self.location.uri(relative), "upload to"):
            self.client.upload_fileobj(fileobj, self.bucket, key, ExtraArgs=_extra_args(relative),
                                       Config=_transfer_config())

    def _upload_below(self, root_fd: int, below: str, shown: str | os.PathLike, artifact_file: str,
                      forbidden: frozenset[tuple[int, int]]) -> None:
        descriptor = open_below(root_fd, below, shown)
        with os.fdopen(descriptor, "rb") as handle:
            check_upload_descriptor(os.fstat(handle.fileno()), shown, forbidden)
            self.upload_fileobj(handle, artifact_file)

    def log_artifact(self, local_file: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Upload one local file as ``<artifact_path>/<its name>`` (a link the caller named is followed)."""
        source, real = upload_file(local_file)
        folder = self._relative(artifact_path)
        name = safe_name(source.name, f"file name in '{local_file}'")
        parent = open_folder(real.parent)
        try:
            self._upload_below(parent, real.name, source, "/".join(filter(None, [folder, name])),
                               mlcask_home_files())
        finally:
            os.close(parent)

    def log_artifacts(self, local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
        """Upload a local folder's files under ``artifact_path``, each object atomic, several at a time.

        Links inside the folder follow :func:`mlcask.utils.paths.folder_entries`'s rule (copied as what they
        point at inside the folder, refused otherwise); the mlcask home folder is refused.
        """
        source = refuse_home_folder_upload(local_dir)
        folder = self._relative(artifact_path)
        entries = [e for e in upload_entries(source, local_dir) if not e.is_dir]
        forbidden = mlcask_home_files()
        root = open_folder(source.resolve(strict=True))
        try:
            self._parallel([(self._upload_below, (root, e.source, source / e.path,
                                                  "/".join(filter(None, [folder, e.path])), forbidden))
                            for e in entries])
        finally:
            os.close(root)

    @staticmethod
    def _parallel(calls: list[tuple[Any, tuple]]) -> None:
        """Run ``calls`` on a few threads; the first error is raised after all have finished."""
        if len(calls) <= 1:
            for function, arguments in calls:
                function(*arguments)
            return
        with ThreadPoolExecutor(max_workers=min(_THREADS, len(calls))) as pool:
            futures = [pool.submit(function, *arguments) for function, arguments in calls]
        for future in futures:
            future.result()

    def write_bytes(self, artifact_file: str, data: bytes) -> None:
        """Write ``data`` as ``artifact_file`` in one PUT."""
        relative = self._file(artifact_file)
        with _s3_errors(self.location.uri(relative), "write"):
            self.client.put_object(Bucket=self.bucket, Key=self.location.key(relative), Body=bytes(data),
                                   **_extra_args(relative))

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete the file or folder ``artifact_path`` (everything under the prefix for None); missing is no error."""
        relative = self._relative(artifact_path)
        keys = [self.location.key(relative)] if relative else []
        keys += [item["Key"] for item in self._objects(relative)]
        where = self.location.uri(relative)
        for start in range(0, len(keys), 1000):
            with _s3_errors(where, "delete"):
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]],
                                                "Quiet": True})
            for failed in answer.get("Errors", []):
                raise _error(str(failed.get("Code", "")), f"s3://{self.bucket}/{failed.get('Key')}", "delete",
                             str(failed.get("Message", "")))

    # -- reads -------------------------------------------------------------------------------
    def _objects(self, relative: str, delimiter: bool = False) -> Iterator[dict[str, Any]]:
        """Each object (and with ``delimiter``, each ``{"Prefix": ...}`` sub-folder) below the folder ``relative``."""
        arguments = {"Bucket": self.bucket, "Prefix": self.location.folder_key(relative)}
        if delimiter:
            arguments["Delimiter"] = "/"
        with _s3_errors(self.location.uri(relative), "list"):
            for page in self.client.get_paginator("list_objects_v2").paginate(**arguments):
                yield from page.get("CommonPrefixes", [])
                yield from page.get("Contents", [])

    def _below(self, key: str, folder_key: str) -> str | None:
        """The clean relative path of ``key`` below ``folder_key``, or None for a folder marker or an unsafe key."""
        relative = key[len(folder_key):].rstrip("/") if key.endswith("/") else key[len(folder_key):]
        try:
            clean = clean_relative_path(relative)
        except InvalidArgumentError:
            return None
        return clean if clean and clean == relative else None

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly under ``path`` (the root for None), sorted; [] for a file or nothing."""
        relative = self._relative(path)
        folder_key = self.location.folder_key(relative)
        infos = {}
        for item in self._objects(relative, delimiter=True):
            key = item.get("Prefix") or item["Key"]
            name = self._below(key, folder_key)
            if name is None or "/" in name:
                continue
            shown = f"{relative}/{name}" if relative else name
            is_dir = "Prefix" in item
            infos[shown] = FileInfo(shown, is_dir, None if is_dir else int(item.get("Size", 0)))
        return [infos[name] for name in sorted(infos)]

    def read_bytes(self, artifact_file: str) -> bytes:
        """The contents of ``artifact_file``; missing: MlcaskException with RESOURCE_DOES_NOT_EXIST."""
        relative = self._file(artifact_file)
        with _s3_errors(self.location.uri(relative), "read"):
            body = self.client.get_object(Bucket=self.bucket, Key=self.location.key(relative))["Body"]
            try:
                return body.read()
            finally:
                body.close()

    def open_artifact(self, artifact_file: str, chunk_bytes: int = 1 << 20) -> ByteStream:
        """A stream of the bytes of ``artifact_file`` (for sending it to an HTTP client), with its size."""
        relative = self._file(artifact_file)
        where = self.location.uri(relative)
        with _s3_errors(where, "read"):
            answer = self.client.get_object(Bucket=self.bucket, Key=self.location.key(relative))
        body = answer["Body"]

        def read() -> bytes:
            with _s3_errors(where, "read"):
                return body.read(chunk_bytes)

        return ByteStream(int(answer["ContentLength"]), read, body.close)

    def is_file(self, artifact_file: str) -> bool:
        """Whether an object ``artifact_file`` exists."""
        relative = self._file(artifact_file)
        try:
            with _s3_errors(self.location.uri(relative), "look up"):
                self.client.head_object(Bucket=self.bucket, Key=self.location.key(relative))
        except MlcaskException as exc:  # a HEAD answers a bare 404 for a missing bucket too: listing tells
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                return False
            raise
        return True

    def _folder_exists(self, relative: str) -> bool:
        with _s3_errors(self.location.uri(relative), "list"):
            answer = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.location.folder_key(relative),
                                                 MaxKeys=1)
        return bool(answer.get("KeyCount") or answer.get("Contents"))

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike | None = None) -> str:
        """Copy the file or folder ``artifact_path`` to ``dst_path/<its name>`` (a new temporary folder for None).

        As the local repository does: the root is copied as a folder named after the prefix's last segment
        (the bucket for no prefix). Each file is written under a private temporary name and renamed into
        place; a folder in the way that is a link is refused; keys that are not clean relative paths are left
        out. A destination in the mlcask home folder is refused.
        """
        relative = self._relative(artifact_path)
        dst = Path(tempfile.mkdtemp(prefix="mlcask-s3-")) if dst_path is None else Path(dst_path)
        name = (relative or self.prefix).rpartition("/")[2] or self.bucket
        destination = dst / name
        refuse_download_into_home(destination)
        is_file = bool(relative) and self.is_file(relative)
        if not is_file and relative and not self._folder_exists(relative):
            raise MlcaskException(f"No artifact at '{self.location.uri(relative)}'.",
                                  error_code=RESOURCE_DOES_NOT_EXIST)
        dst.mkdir(parents=True, exist_ok=True)
        dst_fd = open_folder(dst)
        try:
            if is_file:
                self._download_to(dst_fd, name, self.location.key(relative), destination)
            else:
                self._download_folder(dst_fd, name, relative, destination)
        finally:
            os.close(dst_fd)
        return str(destination)

    def _download_folder(self, dst_fd: int, name: str, relative: str, destination: Path) -> None:
        folder_key = self.location.folder_key(relative)
        files = sorted({below: item["Key"] for item in self._objects(relative)
                        if (below := self._below(item["Key"], folder_key)) and not item["Key"].endswith("/")}.items())
        top = open_folder_at(dst_fd, name, destination)
        try:
            self._parallel([(self._download_below, (top, below, key, destination)) for below, key in files])
        finally:
            os.close(top)

    def _download_below(self, top: int, below: str, key: str, destination: Path) -> None:
        folder, _, name = below.rpartition("/")
        folder_fd = open_folders_at(top, folder, destination)
        try:
            self._download_to(folder_fd, name, key, destination / below)
        finally:
            os.close(folder_fd)

    def _download_to(self, folder_fd: int, name: str, key: str, shown: Path) -> None:
        """Download ``key`` as ``name`` in ``folder_fd``: a private temporary file renamed over ``name``."""
        with _s3_errors(f"s3://{self.bucket}/{key}", "download"):
            write_file_at(folder_fd, name, lambda handle: self.client.download_fileobj(
                self.bucket, key, handle, Config=_transfer_config()), shown)

    # -- multipart uploads (the tracking server hands their parts to clients) ------------------
    def create_multipart_upload(self, artifact_file: str, num_parts: int,
                                expires_seconds: int = 3600) -> tuple[str, list[tuple[int, str]]]:
        """Start a multipart upload of ``artifact_file``: its upload id and a presigned PUT URL per part."""
        relative = self._file(artifact_file)
        if not 1 <= num_parts <= MAX_PARTS:
            raise InvalidArgumentError(f"num_parts must be between 1 and {MAX_PARTS}, got {num_parts}.")
        key = self.location.key(relative)
        with _s3_errors(self.location.uri(relative), "start a multipart upload to"):
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                            **_extra_args(relative))["UploadId"]
            urls = [(number, self.client.generate_presigned_url(
                "upload_part", Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
                ExpiresIn=expires_seconds)) for number in range(1, num_parts + 1)]
        return upload_id, urls

    def complete_multipart_upload(self, artifact_file: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Join the uploaded ``(part number, ETag)`` parts into the object ``artifact_file``, which appears whole."""
        relative = self._file(artifact_file)
        with _s3_errors(self.location.uri(relative), "complete the multipart upload to"):
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.location.key(relative), UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]})

    def abort_multipart_upload(self, artifact_file: str, upload_id: str) -> None:
        """Drop a multipart upload and its parts; nothing becomes visible."""
        relative = self._file(artifact_file)
        with _s3_errors(self.location.uri(relative), "abort the multipart upload to"):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.location.key(relative),
                                               UploadId=upload_id)
