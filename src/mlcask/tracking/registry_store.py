"""The model registry store (``mlcask.tracking.registry`` holds its parts)."""

from __future__ import annotations

from mlcask.tracking.paging import PagedList
from mlcask.tracking.registry.store import SqlRegistryStore

__all__ = ["PagedList", "SqlRegistryStore"]
