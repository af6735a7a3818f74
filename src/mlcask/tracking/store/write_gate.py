"""One writer at a time per SQLite database file, queued rather than spinning.

SQLite lets one writer in; the others wait in its busy handler, which sleeps and retries
with growing intervals. Under many concurrent writers (a tracking server's threads and
workers) that is unfair: a writer can lose every retry for seconds while others get in.
Writers of this process therefore queue on a lock first, and writers of all processes
on an ``flock`` of ``<database>.mlcask-write.lock`` beside the file, which the kernel
grants in turn and releases if the holder dies. A database without a folder we can
write a lock file in is gated per process only; PostgreSQL needs no gate.
"""

from __future__ import annotations

import fcntl
import os
import threading

__all__ = ["gate_for", "lock_file_of"]

_gates: dict[str, _WriteGate] = {}
_gates_lock = threading.Lock()


def lock_file_of(database_path: str) -> str:
    return f"{database_path}.mlcask-write.lock"


class _WriteGate:
    def __init__(self, database_path: str | None) -> None:
        self._thread_lock = threading.RLock()
        self._depth = 0  # nested writes of the owning thread take the file lock once
        self._path = lock_file_of(database_path) if database_path else None
        self._fd: int | None = None
        self._pid = os.getpid()

    def _file(self) -> int | None:
        if self._pid != os.getpid():  # a forked child: the inherited descriptor shares the parent's lock
            self._fd, self._pid = None, os.getpid()
        if self._fd is None and self._path is not None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            except OSError:
                self._path = None  # a read-only folder: gate this process only
        return self._fd

    def held(self) -> _WriteGate:
        """The gate itself, as a context manager: ``with gate.held(): ...`` (a plain class, not a
        generator: it is entered on every write)."""
        return self

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                fd = self._file()
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        self._depth += 1

    def __exit__(self, *exc_info: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def gate_for(database_path: str | None) -> _WriteGate:
    """The gate of a SQLite database file (None: an in-memory database, gated per process)."""
    key = os.path.abspath(database_path) if database_path else ""
    gate = _gates.get(key)
    if gate is None:
        with _gates_lock:
            gate = _gates.setdefault(key, _WriteGate(key or None))
    return gate
