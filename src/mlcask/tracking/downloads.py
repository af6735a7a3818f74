"""Remote model folders, downloaded into a private cache to be loaded like local ones.

``load_model`` on a model whose files live on a tracking server's artifact proxy
(``mlflow-artifacts:``, ``http(s)://``) or in object storage (``s3://``) calls
:func:`download_model`, which returns a local copy of the folder; the normal loader then
opens it, checks its integrity manifest and its signature, and applies the same trust
rules as for any local folder. Nothing is trusted because it was downloaded.

The cache is ``$MLCASK_MODEL_CACHE``, else ``$XDG_CACHE_HOME/mlcask/models``, else
``~/.cache/mlcask/models``; never inside the mlcask home folder (``MLCASK_HOME``, which
holds the signing key). Its folders are private (0700) and must be yours: a cache folder
that is a link, another user's or writable by others is refused. Each artifact URI (with
the tracking server it is relative to) gets a folder named by its hash; each version of
the remote files gets a folder in it, named by a fingerprint of the remote listing (every
path and size) and of the bytes of ``MLmodel`` and the integrity manifest, so a changed
remote model is downloaded again and an unchanged one is not. A version is downloaded
into a private staging folder, verified against its manifest, and renamed into place at
once: a reader sees a whole version or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError, ModelNotFoundError
from mlcask.models.home import owned_safely, refuse_mlcask_home
from mlcask.models.integrity import MANIFEST_FILE_NAME, verify_model
from mlcask.tracking.artifacts import get_artifact_repository
from mlcask.tracking.protocols import ArtifactRepository
from mlcask.utils.paths import clean_relative_path
from mlcask.utils.redaction import without_credentials

__all__ = ["cache_root", "download_artifact_tree", "download_model", "model_cache_folder"]

CACHE_ENV = "MLCASK_MODEL_CACHE"
MAX_FILES = 100_000
STALE_VERSION_S = 3600.0  # older versions of a cached model are removed after this long
_STAGING_PREFIX = ".staging-"


class UnsafeCacheError(InvalidArgumentError):
    """The download cache folder could be written by someone else."""


def cache_root() -> Path:
    """Where downloaded models are kept (see the module docstring); not created."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().absolute() / "mlcask" / "models"


def _private_folder(folder: Path, what: str) -> Path:
    """Make ``folder`` (mode 0700) if missing; refuse it if it is a link, not yours, or open to others."""
    try:
        folder.mkdir(mode=0o700, parents=False)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeCacheError(f"{what} '{folder}' is not a real folder (a link or a file). Remove it, or point "
                               f"{CACHE_ENV} at a folder of your own.")
    if not owned_safely(info.st_uid):
        raise UnsafeCacheError(f"{what} '{folder}' belongs to user id {info.st_uid}, not to you (uid {os.getuid()}): "
                               f"they could replace the models you load. Point {CACHE_ENV} at a folder of your own.")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)
    return folder


def _checked_root() -> Path:
    root = cache_root()
    refuse_mlcask_home(root, "The model download cache", f"Set {CACHE_ENV} to a folder outside it.")
    root.parent.mkdir(parents=True, exist_ok=True)
    parent = os.stat(root.parent)
    if parent.st_mode & 0o002 and not parent.st_mode & stat.S_ISVTX:
        raise UnsafeCacheError(f"The folder '{root.parent}' holding the model download cache is writable by anyone. "
                               f"Point {CACHE_ENV} at a folder of your own.")
    return _private_folder(root, "The model download cache")


def _canonical(artifact_uri: str, tracking_uri: str | None) -> str:
    """What names a cache entry: the URI without credentials, and for a host-less ``mlflow-artifacts:`` one the
    server it is on."""
    uri = str(artifact_uri).rstrip("/")
    lowered = uri.lower()
    if not lowered.startswith(("mlflow-artifacts:", "http:", "https:")):
        return uri
    if lowered.startswith("mlflow-artifacts:") and not uri[len("mlflow-artifacts:"):].startswith("//"):
        return f"{without_credentials(tracking_uri or '')}|{uri}"
    return without_credentials(uri)


def model_cache_folder(artifact_uri: str, tracking_uri: str | None = None) -> Path:
    """The cache folder of ``artifact_uri`` (one version folder per remote state inside it); not created."""
    digest = hashlib.sha256(_canonical(artifact_uri, tracking_uri).encode()).hexdigest()
    return cache_root() / digest[:40]


def _remote_files(repository: ArtifactRepository, uri: str) -> list[tuple[str, int | None]]:
    """Every file below the repository's root, as ``(checked relative path, size)``, sorted."""
    files: dict[str, int | None] = {}
    pending = [""]
    while pending:
        folder = pending.pop()
        for info in repository.list_artifacts(folder or None):
            path = clean_relative_path(info.path, "artifact path listed by the store")
            if folder and not path.startswith(f"{folder}/"):
                raise InvalidArgumentError(f"The listing of '{folder}' in '{uri}' holds '{info.path}', which is not "
                                           "inside it.")
            if info.is_dir:
                pending.append(path)
            else:
                files[path] = info.file_size
            if len(files) > MAX_FILES:
                raise InvalidArgumentError(f"'{uri}' holds more than {MAX_FILES} files: not a model folder.")
    return sorted(files.items())


def _fingerprint(files: list[tuple[str, int | None]], mlmodel: bytes, manifest: bytes) -> str:
    payload = json.dumps([files, hashlib.sha256(mlmodel).hexdigest(), hashlib.sha256(manifest).hexdigest()])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _remote_fingerprint(repository: ArtifactRepository, uri: str) -> str:
    files = _remote_files(repository, uri)
    names = {path for path, _ in files}
    if "MLmodel" not in names:
        raise ModelNotFoundError(f"No model at '{uri}': it has no MLmodel file"
                                 + (f" (it holds {len(files)} other files)." if files else " (it is empty or absent)."))
    manifest = repository.read_bytes(MANIFEST_FILE_NAME) if MANIFEST_FILE_NAME in names else b""
    return _fingerprint(files, repository.read_bytes("MLmodel"), manifest)


def _local_fingerprint(folder: Path) -> str:
    files = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise InvalidArgumentError(f"The downloaded model holds '{path}', which is not a regular file or folder.")
        if path.is_file():
            files.append((path.relative_to(folder).as_posix(), path.stat().st_size))
    manifest = folder / MANIFEST_FILE_NAME
    return _fingerprint(files, (folder / "MLmodel").read_bytes(),
                        manifest.read_bytes() if manifest.is_file() else b"")


def _prune(entry: Path, keep: Path) -> None:
    """Remove the staging leftovers and versions of ``entry`` other than ``keep`` not used for a while."""
    now = time.time()
    for child in entry.iterdir():
        if child == keep:
            continue
        try:
            if now - child.lstat().st_mtime > STALE_VERSION_S:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            pass


def download_model(artifact_uri: str, tracking_uri: str | None = None) -> Path:
    """The local folder, in the private cache, of the model folder stored at ``artifact_uri``.

    Parameters
    ----------
    artifact_uri
        Where the model folder is: ``mlflow-artifacts:/...``, a proxy ``http(s)://`` URL,
        ``s3://bucket/prefix`` (any URI :func:`mlcask.tracking.artifacts.get_artifact_repository` serves).
    tracking_uri
        The tracking server that host-less ``mlflow-artifacts:/`` URIs are on.

    Returns the cached copy when the remote files are unchanged, else downloads them again.
    A download whose files do not match its integrity manifest is refused (and not cached).
    Load the result with the normal loader: it verifies the folder again, and decides trust.
    """
    repository = get_artifact_repository(artifact_uri, tracking_uri)
    fingerprint = _remote_fingerprint(repository, artifact_uri)
    root = _checked_root()
    entry = _private_folder(root / model_cache_folder(artifact_uri, tracking_uri).name, "A model cache folder")
    final = entry / fingerprint
    if final.is_dir() and not final.is_symlink():
        os.utime(final)
        return final
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=entry))
    try:
        downloaded = Path(repository.download_artifacts("", staging))
        if not (downloaded / "MLmodel").is_file():
            raise ModelNotFoundError(f"The download of '{artifact_uri}' has no MLmodel file.")
        verify_model(downloaded)  # a tampered or half-written copy never lands in the cache
        final = entry / _local_fingerprint(downloaded)  # what arrived, should the remote have changed meanwhile
        try:
            os.rename(downloaded, final)
        except OSError:
            if not final.is_dir():  # anything but another download of the same version winning the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune(entry, final)
    return final


def download_artifact_tree(artifact_uri: str, dst_path: str | os.PathLike[str] | None = None,
                           tracking_uri: str | None = None) -> Path:
    """Download the file or folder at ``artifact_uri`` into ``dst_path`` (a new temporary folder for None);
    returns the local path (``dst_path/<its name>``). Not cached, not verified: for artifacts, not models."""
    repository = get_artifact_repository(artifact_uri, tracking_uri)
    return Path(repository.download_artifacts("", dst_path))
