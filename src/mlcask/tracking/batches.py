"""A ``log_batch`` of any size, split into requests within MLflow's per-call limits
(:data:`mlcask.tracking.validation.MAX_METRICS_PER_BATCH` and friends), as MLflow's client splits
them for every store. A split batch is not atomic: each request is.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest

from mlcask.entities import Metric, Param, RunTag
from mlcask.tracking.validation import MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

__all__ = ["batch_requests"]


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
