"""MLflow's ``mlflow.utils.file_utils`` helpers that user code and tests import: a temporary
folder (:class:`TempDir`) and ``file:`` URIs to and from local paths."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
from types import TracebackType

__all__ = ["TempDir", "local_file_uri_to_path", "path_to_local_file_uri"]


class TempDir:
    """A temporary folder for a ``with`` block, removed at its end (unless ``remove_on_exit=False``).

    With ``chdr=True`` the block runs inside the folder, and :meth:`path` gives paths relative to it.
    """

    def __init__(self, chdr: bool = False, remove_on_exit: bool = True) -> None:
        self._chdr = chdr
        self._remove = remove_on_exit
        self._path: str | None = None
        self._previous_cwd: str | None = None

    def __enter__(self) -> TempDir:
        self._path = os.path.abspath(tempfile.mkdtemp())
        if self._chdr:
            self._previous_cwd = os.path.abspath(os.getcwd())
            os.chdir(self._path)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._previous_cwd is not None:
            os.chdir(self._previous_cwd)
            self._previous_cwd = None
        if self._remove and self._path is not None and os.path.exists(self._path):
            shutil.rmtree(self._path)

    def path(self, *parts: str) -> str:
        """A path inside the folder (relative, ``./...``, when the block runs inside it)."""
        if self._path is None:
            raise RuntimeError("TempDir.path() is only available inside its `with` block.")
        return os.path.join("./", *parts) if self._chdr else os.path.join(self._path, *parts)


def path_to_local_file_uri(path: str | os.PathLike[str]) -> str:
    """The ``file://`` URI of a local path (made absolute)."""
    return pathlib.Path(os.path.abspath(path)).as_uri()


def local_file_uri_to_path(uri: str) -> str:
    """The local path of a ``file:`` URI (percent-decoded); any other string is taken as a path."""
    from mlcask.tracking.artifacts import local_path_of  # the one file: URI reader of artifact locations

    return str(local_path_of(uri)) if uri.startswith("file:") else uri
