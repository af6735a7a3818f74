"""``CodeDatasetSource``: a dataset built by code (source type ``code``); its document holds the run
context tags (user, source file, source type), as MLflow records them."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from mlcask.data.dataset_source import DatasetSource

__all__ = ["CodeDatasetSource", "context_tags"]


def context_tags() -> dict[str, str]:
    """The tags MLflow's default run context gives: the user, the main file and ``LOCAL``."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (containers): MLflow falls back too
        user = "unknown"
    source = sys.argv[0] if sys.argv and sys.argv[0] else "<console>"
    return {"mlflow.user": user, "mlflow.source.name": source, "mlflow.source.type": "LOCAL"}


class CodeDatasetSource(DatasetSource):
    """A dataset that code built in memory; ``tags`` identify the code."""

    def __init__(self, tags: dict[Any, Any]) -> None:
        self._tags = tags

    @property
    def tags(self) -> dict[Any, Any]:
        return self._tags

    @staticmethod
    def _get_source_type() -> str:
        return "code"

    def to_dict(self) -> dict[str, Any]:
        return {"tags": self._tags}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> CodeDatasetSource:
        return cls(tags=source_dict.get("tags"))
