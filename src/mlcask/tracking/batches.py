"""A ``log_batch`` of any size, split into requests within MLflow's per-call limits
(:data:`mlcask.tracking.validation.MAX_METRICS_PER_BATCH` and friends), as MLflow's client splits
them for every store. A split batch is not atomic: each request is.

Values are converted as MLflow's client converts them before a store sees them: param and tag
values that are not strings become ``str(value)``, and metric values become floats where they
can (numpy scalars and one-element arrays, numeric strings, torch/tensorflow scalars).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from itertools import zip_longest
from typing import Any

from mlcask.entities import Metric, Param, RunTag
from mlcask.tracking.validation import MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

__all__ = ["as_float_if_possible", "batch_requests", "stringify_params", "stringify_tags"]


def batch_requests(metrics: Sequence[Metric], params: Sequence[Param],
                   tags: Sequence[RunTag]) -> list[tuple[list[Metric], list[Param], list[RunTag]]]:
    """``(metrics, params, tags)`` per request within MLflow's limits: params and tags travel first (in
    hundreds, with as many metrics as fit), then the remaining metrics in thousands."""
    metrics, params, tags = list(metrics), list(params), list(tags)
    size = MAX_PARAMS_TAGS_PER_BATCH
    requests = []
    param_chunks = [params[i:i + size] for i in range(0, len(params), size)]
    tag_chunks = [tags[i:i + size] for i in range(0, len(tags), size)]
    for param_chunk, tag_chunk in zip_longest(param_chunks, tag_chunks, fillvalue=[]):
        room = max(0, min(MAX_ENTITIES_PER_BATCH - len(param_chunk) - len(tag_chunk), MAX_METRICS_PER_BATCH))
        requests.append((metrics[:room], list(param_chunk), list(tag_chunk)))
        metrics = metrics[room:]
    for start in range(0, len(metrics), MAX_METRICS_PER_BATCH):
        requests.append((metrics[start:start + MAX_METRICS_PER_BATCH], [], []))
    return requests


def as_float_if_possible(value: Any) -> Any:
    """``value`` as a float when it converts to one (``item()`` of a numpy scalar, one-element array
    or tensor; ``float()`` of a numeric string); otherwise unchanged, for the store to refuse."""
    if value is None or type(value) is float:
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "size", 1) in (1, None):
        try:
            value = item()
        except (TypeError, ValueError, RuntimeError):  # not a single number: the store says why
            return value
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return value


def _stringified(items: Iterable[Any]) -> list[Any]:
    return [item if isinstance(item.value, str) or not dataclasses.is_dataclass(item)
            else dataclasses.replace(item, value=str(item.value)) for item in items]


def stringify_params(params: Iterable[Param]) -> list[Param]:
    """Params whose non-string values are ``str(value)`` (``Param("n", 5)`` is stored as "5")."""
    return _stringified(params)


def stringify_tags(tags: Iterable[RunTag]) -> list[RunTag]:
    """Tags whose non-string values are ``str(value)``."""
    return _stringified(tags)
