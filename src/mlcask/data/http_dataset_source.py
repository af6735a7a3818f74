"""``HTTPDatasetSource``: a dataset at an ``http(s)://`` URL (source type ``http``)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
from typing import Any

from mlcask.data.dataset_source import DatasetSource
from mlcask.exceptions import InvalidArgumentError

__all__ = ["HTTPDatasetSource"]


class HTTPDatasetSource(DatasetSource):
    """A dataset served at ``url``; :meth:`load` downloads it."""

    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def url(self) -> str:
        return self._url

    @staticmethod
    def _get_source_type() -> str:
        return "http"

    def _filename(self, headers: Any) -> str:
        disposition = headers.get("Content-Disposition") or ""
        match = re.search(r"filename=(.+)", disposition)
        if match:
            name = match[1].strip("'\"")
            if os.path.basename(name) != name:
                raise InvalidArgumentError(f"Invalid filename in Content-Disposition header: {name}. "
                                           "It must be a file name, not a path.")
            return name
        return os.path.basename(urllib.parse.urlparse(self._url).path) or "dataset_source"

    def load(self, dst_path: str | None = None) -> str:  # type: ignore[override]
        """Download the URL into ``dst_path`` (a new temporary folder for None); returns the file's path."""
        if not self._can_resolve(self._url):
            raise InvalidArgumentError(f"HTTPDatasetSource loads http(s):// URLs only, got {self._url!r}.")
        with urllib.request.urlopen(self._url) as response:  # noqa: S310 (an http(s) URL, checked below)
            target = os.path.join(dst_path or tempfile.mkdtemp(), self._filename(response.headers))
            with open(target, "wb") as out:
                shutil.copyfileobj(response, out, 1024 * 1024)
        return target

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, str) and urllib.parse.urlparse(raw_source).scheme in ("http", "https")

    @classmethod
    def _resolve(cls, raw_source: Any) -> HTTPDatasetSource:
        return cls(raw_source)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self._url}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> HTTPDatasetSource:
        url = source_dict.get("url")
        if url is None:
            raise InvalidArgumentError('Failed to parse HTTPDatasetSource. Missing expected key: "url"')
        return cls(url=url)
