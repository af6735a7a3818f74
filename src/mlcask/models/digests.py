"""SHA-256 of a large native model file, remembered while the file provably has not changed.

Hashing is most of what verifying a model costs (about 7 ms for 10 MB here). A file
whose device, inode, size, mtime and ctime are those seen when it was hashed still has
the content that was hashed, as far as writes through ``write(2)`` go: any write, chmod
or ``utime`` sets the ctime to the current time, and only root can set a ctime back. A
write through a shared ``mmap`` of the file may change it without moving either time,
so the cache is consulted only for files whose reading cannot run code (the native
data of XGBoost and LightGBM, artifacts): whatever can run code or steers the load
(MLmodel, pickles, skops files, code) is always hashed from the very bytes that are then
parsed (see :mod:`mlcask.models.integrity`). Files under ``MIN_CACHED_SIZE`` are never
cached: hashing them costs less than a look-up.

A digest is remembered in memory and in ``$MLCASK_HOME/verified-files.json`` (mode
0600), keyed by that identity (not by path: renaming a saved model's staging folder into
place keeps it). It is recorded only for files unchanged for ``SETTLED_NS`` before
hashing began, since the kernel stamps times with a coarse clock and a write in the same
tick as the hash would share its ctime, or for files mlcask itself just wrote in a
private (0700) staging folder, where no one else can write. ``MLCASK_DIGEST_CACHE=0``
turns the cache off.
"""

from __future__ import annotations

import json
import os
import stat as stat_module
import threading

from mlcask.models.home import mlcask_home
from mlcask.models.pinned import SMALL_FILE_BYTES, Identity

CACHE_ENV = "MLCASK_DIGEST_CACHE"
CACHE_FILE_NAME = "verified-files.json"
SETTLED_NS = 2_000_000_000
MAX_ENTRIES = 1024
MIN_CACHED_SIZE = SMALL_FILE_BYTES

_memory: dict[str, tuple[Identity, str]] = {}  # "dev:inode" -> (identity, sha256)
_loaded_from: tuple[str, int] | None = None


def enabled() -> bool:
    return os.environ.get(CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _key(ident: Identity) -> str:
    return f"{ident[0]}:{ident[1]}"


def _load_persistent() -> None:
    """Merge the on-disk cache into memory when it changed since last read."""
    global _loaded_from
    try:
        file = mlcask_home() / CACHE_FILE_NAME
        descriptor = os.open(file, os.O_RDONLY | os.O_NOFOLLOW)
    except (OSError, ValueError):  # no cache yet, or an unsafe home (refused where keys are read)
        return
    try:
        st = os.fstat(descriptor)
        if _loaded_from == (str(file), st.st_mtime_ns) or st.st_uid != os.getuid() \
                or not stat_module.S_ISREG(st.st_mode) or st.st_mode & 0o022:
            return
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            entries = json.loads(handle.read())
        for key, (ident, digest) in entries.items():
            if len(ident) == 5 and isinstance(digest, str):
                _memory.setdefault(key, (tuple(ident), digest))
        _loaded_from = (str(file), st.st_mtime_ns)
    except (OSError, ValueError, TypeError, AttributeError):
        return
    finally:
        os.close(descriptor)


def _save_persistent() -> None:
    entries = dict(list(_memory.items())[-MAX_ENTRIES:])
    try:
        file = mlcask_home() / CACHE_FILE_NAME
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = file.with_name(f".{file.name}.{os.getpid()}-{threading.get_ident()}")
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(entries, handle)
        os.replace(staging, file)
    except (OSError, ValueError):
        pass  # a read-only or refused home only costs re-hashing


def lookup(ident: Identity) -> str | None:
    """The remembered SHA-256 of the file with identity ``ident``, or None."""
    if not enabled() or ident[2] < MIN_CACHED_SIZE:
        return None
    _load_persistent()
    cached = _memory.get(_key(ident))
    return cached[1] if cached is not None and cached[0] == ident else None


def remember(ident: Identity, digest: str, hashing_started_ns: int, written_privately: bool = False) -> None:
    """Remember that the file with identity ``ident`` (unchanged from before hashing began
    until after it ended) hashes to ``digest``; ``written_privately``: mlcask wrote it just
    now in a private staging folder."""
    if not enabled() or ident[2] < MIN_CACHED_SIZE:
        return
    if not written_privately and hashing_started_ns - max(ident[3], ident[4]) <= SETTLED_NS:
        return
    key = _key(ident)
    _memory.pop(key, None)
    _memory[key] = (ident, digest)
    _save_persistent()


def forget() -> None:
    """Drop the in-memory cache (tests; the on-disk file is read again on next use)."""
    global _loaded_from
    _memory.clear()
    _loaded_from = None
