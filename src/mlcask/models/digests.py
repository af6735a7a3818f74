"""SHA-256 of a model file, remembered while the file provably has not changed.

Hashing is most of what verifying a model costs (about 7 ms for 10 MB here). A file
whose device, inode, size, mtime and ctime are those seen when it was hashed still has
the content that was hashed: any write, chmod or ``utime`` sets the ctime to the current
time, and only root can set a ctime back. So a digest is remembered, in memory and in
``$MLCASK_HOME/verified-files.json`` (mode 0600), keyed by that identity (not by path:
renaming a saved model's staging folder into place keeps it). It is recorded only for
files unchanged for ``SETTLED_NS`` before hashing began, since the kernel stamps times
with a coarse clock and a write in the same tick as the hash would share its ctime, or
for files mlcask itself just wrote in a private (0700) staging folder, where no one
else can write. ``MLCASK_DIGEST_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat as stat_module
import threading
import time
from pathlib import Path

CACHE_ENV = "MLCASK_DIGEST_CACHE"
CACHE_FILE_NAME = "verified-files.json"
SETTLED_NS = 2_000_000_000
MAX_ENTRIES = 1024
MIN_CACHED_SIZE = 1 << 20  # small files hash faster than a cache lookup pays back

Identity = tuple[int, int, int, int, int]

_memory: dict[str, tuple[Identity, str]] = {}  # "dev:inode" -> (identity, sha256)
_loaded_from: tuple[str, int] | None = None


def _enabled() -> bool:
    return os.environ.get(CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _identity(st: os.stat_result) -> Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _cache_file() -> Path:
    from mlcask.models.signing import mlcask_home

    return mlcask_home() / CACHE_FILE_NAME


def _load_persistent() -> None:
    """Merge the on-disk cache into memory when it changed since last read."""
    global _loaded_from
    file = _cache_file()
    try:
        st = file.stat()
        if _loaded_from == (str(file), st.st_mtime_ns) or st.st_uid != os.getuid():
            return
        entries = json.loads(file.read_text())
        for key, (identity, digest) in entries.items():
            if len(identity) == 5 and isinstance(digest, str):
                _memory.setdefault(key, (tuple(identity), digest))
        _loaded_from = (str(file), st.st_mtime_ns)
    except (OSError, ValueError, TypeError):
        return


def _save_persistent() -> None:
    file = _cache_file()
    entries = dict(list(_memory.items())[-MAX_ENTRIES:])
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = file.with_name(f".{file.name}.{os.getpid()}-{threading.get_ident()}")
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(entries, handle)
        os.replace(staging, file)
    except OSError:
        pass  # a read-only home only costs re-hashing


def _hash(file: Path) -> str:
    with open(file, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_sha256(file: Path, st: os.stat_result, written_privately: bool = False) -> str:
    """The SHA-256 of ``file``, whose ``lstat`` result is ``st`` (a regular file);
    ``written_privately``: mlcask wrote it just now in a private staging folder."""
    if not _enabled() or st.st_size < MIN_CACHED_SIZE or not stat_module.S_ISREG(st.st_mode):
        return _hash(file)
    key = f"{st.st_dev}:{st.st_ino}"
    identity = _identity(st)
    _load_persistent()
    cached = _memory.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1]
    started = time.time_ns()
    digest = _hash(file)
    settled = written_privately or started - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS
    if settled and _identity(os.lstat(file)) == identity:
        _memory.pop(key, None)
        _memory[key] = (identity, digest)
        _save_persistent()
    return digest


def forget() -> None:
    """Drop the in-memory cache (tests; the on-disk file is read again on next use)."""
    global _loaded_from
    _memory.clear()
    _loaded_from = None
