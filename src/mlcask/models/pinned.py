"""A model folder pinned for the whole of a load: every file read through one directory handle.

Verifying a folder by path and then letting loaders reopen the same paths leaves a gap:
whoever can rename entries in a parent folder (a group-writable team folder, say) swaps
the model folder between the check and the use. :class:`PinnedFolder` closes it. It
opens the folder once (``O_DIRECTORY``), walks it through directory descriptors, opens
every entry relative to its parent's descriptor with ``O_NOFOLLOW`` and checks what it
opened with ``fstat``: a regular file, with the device and inode seen when the folder
was walked. So every byte a load reads comes from the folder that was verified, wherever
its path points by then.

Small files (up to ``SMALL_FILE_BYTES``: MLmodel, the manifest, code sources, small
pickles) are read into memory when the folder is walked; larger ones are read on demand
through a fresh descriptor that must be the same file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_module
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mlcask.exceptions import ModelFormatError, ModelNotFoundError
from mlcask.models.home import owned_safely

SMALL_FILE_BYTES = 1 << 20
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

Identity = tuple[int, int, int, int, int]


def identity(st: os.stat_result) -> Identity:
    """What says a file is unchanged: device, inode, size, mtime and ctime."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FolderChangedError(ModelFormatError):
    """A pinned folder's entry is no longer the file (or folder) that was verified."""


@dataclass
class Entry:
    """One entry of a pinned folder: its ``lstat``-like kind, identity and (small files) bytes."""

    name: str
    mode: int
    identity: Identity
    owner: int
    data: bytes | None = field(default=None, repr=False)

    @property
    def is_file(self) -> bool:
        return stat_module.S_ISREG(self.mode)

    @property
    def size(self) -> int:
        return self.identity[2]


def _read_all(descriptor: int, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = os.read(descriptor, min(remaining, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) != size or os.read(descriptor, 1):
        raise FolderChangedError(f"a file changed size while it was read (expected {size} bytes)")
    return data


class PinnedFolder:
    """A model folder opened once; see the module docstring.

    Use as a context manager, or call :meth:`close`. ``entries`` maps every relative
    path (``/``-separated) below the folder to its :class:`Entry`, folders included.
    """

    def __init__(self, path: Path, descriptor: int, entries: dict[str, Entry]) -> None:
        self.path = path
        self.descriptor = descriptor
        self.entries = entries

    @classmethod
    def open(cls, path: str | os.PathLike) -> PinnedFolder:
        """Open and walk the folder at ``path`` (which may itself be reached through links)."""
        path = Path(path)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise ModelNotFoundError(f"No model at '{path}': the path does not exist.") from None
        except NotADirectoryError:
            raise ModelFormatError(f"'{path}' is not a model folder: it is a file.") from None
        except OSError as exc:
            raise ModelFormatError(f"Cannot open the model folder '{path}': {exc.strerror}.") from None
        return cls.from_descriptor(path, descriptor)

    @classmethod
    def from_descriptor(cls, path: Path, descriptor: int) -> PinnedFolder:
        """Pin the folder open as ``descriptor`` (taken over: closed with the PinnedFolder)."""
        entries: dict[str, Entry] = {}
        try:
            _walk(descriptor, "", entries)
        except BaseException:
            os.close(descriptor)
            raise
        return cls(path, descriptor, entries)

    def __enter__(self) -> PinnedFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1
        for entry in self.entries.values():
            entry.data = None

    # -- what is there --------------------------------------------------------------------
    def files(self) -> dict[str, Entry]:
        """Every entry that is not a folder (regular files, links, special files)."""
        return {name: e for name, e in self.entries.items() if not stat_module.S_ISDIR(e.mode)}

    def is_file(self, name: str) -> bool:
        entry = self.entries.get(name)
        return entry is not None and entry.is_file

    def is_dir(self, name: str) -> bool:
        entry = self.entries.get(name.strip("/"))
        return entry is not None and stat_module.S_ISDIR(entry.mode)

    def files_under(self, folder: str) -> Iterator[str]:
        """The regular files below ``folder`` (a relative folder name), sorted."""
        prefix = folder.strip("/") + "/"
        return iter(sorted(n for n, e in self.entries.items() if n.startswith(prefix) and e.is_file))

    # -- reading --------------------------------------------------------------------------
    def open_file(self, name: str) -> int:
        """A new descriptor on the regular file ``name``, proven to be the walked file."""
        entry = self.entries.get(name)
        if entry is None or not entry.is_file:
            raise ModelFormatError(f"The model in '{self.path}' has no regular file '{name}'.")
        parent_fd = self.descriptor
        parts = name.split("/")
        opened: list[int] = []
        try:
            for depth, part in enumerate(parts[:-1]):
                parent_fd = os.open(part, _OPEN_DIR, dir_fd=parent_fd)
                opened.append(parent_fd)
                self._check(parent_fd, "/".join(parts[:depth + 1]))
            descriptor = os.open(parts[-1], _OPEN_FILE, dir_fd=parent_fd)
        except OSError as exc:
            raise FolderChangedError(f"'{name}' in the model folder '{self.path}' can no longer be opened as "
                                     f"the file that was verified ({exc.strerror}).") from None
        finally:
            for fd in opened:
                os.close(fd)
        try:
            self._check(descriptor, name)
        except BaseException:
            os.close(descriptor)
            raise
        return descriptor

    def _check(self, descriptor: int, name: str) -> None:
        st = os.fstat(descriptor)
        if identity(st) != self.entries[name].identity:
            raise FolderChangedError(f"'{name}' in the model folder '{self.path}' changed after the folder was "
                                     "verified; refusing to read it.")

    def read(self, name: str) -> bytes:
        """The bytes of regular file ``name`` (kept from the walk for small files)."""
        entry = self.entries.get(name)
        if entry is not None and entry.data is not None:
            return entry.data
        descriptor = self.open_file(name)
        try:
            data = _read_all(descriptor, self.entries[name].size)
            self._check(descriptor, name)  # not written to while it was read
            return data
        except FolderChangedError as exc:
            raise FolderChangedError(f"'{name}' in the model folder '{self.path}': {exc}.") from None
        finally:
            os.close(descriptor)

    # -- writing (sealing and signing rewrite files of the pinned folder itself) ----------
    def replace_file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """Write ``data`` as the top-level file ``name``, through a temporary file renamed over it
        (a reader sees the old file or the new one), all relative to the pinned descriptor."""
        if "/" in name:
            raise ValueError(f"replace_file writes top-level files only, got {name!r}")
        staging = f".{name}.tmp-{os.getpid()}-{threading.get_ident()}"
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode,
                             dir_fd=self.descriptor)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(staging, name, src_dir_fd=self.descriptor, dst_dir_fd=self.descriptor)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(staging, dir_fd=self.descriptor)
            raise
        st = os.stat(name, dir_fd=self.descriptor, follow_symlinks=False)
        self.entries[name] = Entry(name, st.st_mode, identity(st), st.st_uid,
                                   data if len(data) <= SMALL_FILE_BYTES else None)

    def is_at(self, path: str | os.PathLike, follow_symlinks: bool = True) -> bool:
        """Whether ``path`` leads to the pinned folder."""
        try:
            st = os.stat(path, follow_symlinks=follow_symlinks)
        except OSError:
            return False
        own = os.fstat(self.descriptor)
        return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)

    def check_writable_only_by_owner(self, what: str) -> None:
        """Refuse when the folder, or anything in it, belongs to another user (root excepted) or
        may be written by others: they could change it after it is read (signing vouches for it)."""
        root = os.fstat(self.descriptor)
        found = [(".", root.st_mode, root.st_uid)] + [(e.name, e.mode, e.owner) for e in self.entries.values()]
        for name, mode, owner in found:
            if not owned_safely(owner) or mode & 0o022:
                raise ModelFormatError(
                    f"Refusing to {what} '{self.path}': '{name}' in it "
                    + (f"belongs to user id {owner}" if not owned_safely(owner)
                       else f"is writable by others (mode {oct(mode & 0o777)})")
                    + ", so someone else could change it before or after it is read. Copy the model into a folder "
                    f"of your own (cp -r), or fix the permissions (chmod -R go-w '{self.path}'), review it, and "
                    "try again.")


def _walk(dir_fd: int, prefix: str, entries: dict[str, Entry]) -> None:
    with os.scandir(dir_fd) as scan:
        names = sorted(entry.name for entry in scan)
    for name in names:
        relative = prefix + name
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone between the listing and the look: it is not part of the folder
        if stat_module.S_ISDIR(st.st_mode):
            child = os.open(name, _OPEN_DIR, dir_fd=dir_fd)
            try:
                opened = os.fstat(child)
                entries[relative] = Entry(relative, opened.st_mode, identity(opened), opened.st_uid)
                _walk(child, relative + "/", entries)
            finally:
                os.close(child)
        elif stat_module.S_ISREG(st.st_mode):
            entries[relative] = _file_entry(dir_fd, name, relative, st)
        else:
            entries[relative] = Entry(relative, st.st_mode, identity(st), st.st_uid)


def _file_entry(dir_fd: int, name: str, relative: str, st: os.stat_result) -> Entry:
    try:
        descriptor = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT):  # swapped for a link, or removed, since the look
            return Entry(relative, stat_module.S_IFLNK, identity(st), st.st_uid)
        raise ModelFormatError(f"Cannot read '{relative}' in the model folder: {exc.strerror}.") from None
    try:
        opened = os.fstat(descriptor)
        entry = Entry(relative, opened.st_mode, identity(opened), opened.st_uid)
        if entry.is_file and opened.st_size <= SMALL_FILE_BYTES:
            entry.data = _read_all(descriptor, opened.st_size)
        return entry
    finally:
        os.close(descriptor)
