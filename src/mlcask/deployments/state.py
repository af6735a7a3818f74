"""What the managed endpoints keep on disk, under ``$MLCASK_HOME/endpoints`` (or ``MLCASK_ENDPOINTS_DIR``):

- ``endpoints.json``: the definitions (endpoints, traffic, deployments), written atomically (a temporary
  file renamed over it) under an ``fcntl`` lock (``endpoints.json.lock``), so that the server processes of
  ``mlcask server --workers N`` can each change them; restored when the server starts.
- ``runtime.json``: what the supervising process knows of each deployment's worker (state, port, pid,
  restarts, the version served), for the other processes, which proxy to the same workers.
- ``supervisor.lock``: held (``fcntl.flock``) by the one process that starts and supervises the workers.
- ``logs/<endpoint>/<deployment>.log``: each worker's output.
- ``metrics/<pid>.json``: each server process's request counts and latencies
  (:class:`mlcask.deployments.metrics.StatsBook`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mlcask.deployments.endpoints import EndpointSpec

__all__ = ["DIR_ENV", "DefinitionStore", "RuntimeFile", "SupervisorLock", "endpoints_dir", "write_json_atomic"]

DIR_ENV = "MLCASK_ENDPOINTS_DIR"
_FORMAT = 1


def endpoints_dir() -> Path:
    """``MLCASK_ENDPOINTS_DIR``, else ``$MLCASK_HOME/endpoints`` (``~/.mlcask/endpoints``)."""
    from mlcask.models.home import home_path

    folder = os.environ.get(DIR_ENV)
    return Path(folder).expanduser() if folder else home_path() / "endpoints"


def write_json_atomic(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path``: readers see the old file or the new one, never a part."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(value, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class DefinitionStore:
    """The endpoints' definitions in ``<folder>/endpoints.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "endpoints.json"

    def stamp(self) -> int | None:
        """A value that changes whenever the file is replaced (None when there is none yet)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return info.st_mtime_ns ^ info.st_ino

    def load(self) -> dict[str, EndpointSpec]:
        """The definitions (none when the file does not exist yet)."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise ValueError(f"The endpoint definitions '{self.path}' are not valid JSON ({exc}); fix or remove "
                             "the file.") from None
        return {item["name"]: EndpointSpec.from_dict(item) for item in data.get("endpoints", [])}

    @contextlib.contextmanager
    def edit(self) -> Iterator[dict[str, EndpointSpec]]:
        """The definitions to change in place, saved at the end of the block (unless it raises); one process
        edits at a time."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / "endpoints.json.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                endpoints = self.load()
                yield endpoints
                write_json_atomic(self.path, {"format": _FORMAT,
                                              "endpoints": [e.to_dict() for e in endpoints.values()]})
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class RuntimeFile:
    """``<folder>/runtime.json``: the supervisor writes it, the other processes read it (cached by stamp)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "runtime.json"
        self._stamp: tuple[int, int] | None = None
        self._cached: dict[str, Any] = {}

    def write(self, value: dict[str, Any]) -> None:
        """Replace the file with ``value`` (atomically)."""
        write_json_atomic(self.path, value)

    def read(self) -> dict[str, Any]:
        """The last state written (``{}`` when none)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (info.st_mtime_ns, info.st_ino)
        if stamp != self._stamp:
            try:
                self._cached = json.loads(self.path.read_text())
            except (FileNotFoundError, ValueError):
                return self._cached
            self._stamp = stamp
        return self._cached


class SupervisorLock:
    """The lock that makes one process the supervisor of the workers."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "supervisor.lock"
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._file is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it; whether this process holds it now."""
        if self._file is not None:
            return True
        file = open(self.path, "a")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.close()
            return False
        self._file = file
        return True

    def release(self) -> None:
        """Let another process take the lock."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
