"""MLflow's sampling of a metric's history for ``metrics/get-history-bulk-interval`` (the default).

As MLflow 3.17 does: the values logged in the step range, ordered by (step, timestamp, value), are
split into ``max_results`` evenly sized buckets (SQL's ``NTILE``: sizes differ by at most one, the
larger ones first) and the first value of each bucket is kept; the last value is always kept too,
replacing the last sample when there are already ``max_results``. So a run with fewer values than
``max_results`` returns them all, and ``max_results=1`` returns only the last value.

mlcask's min/max sampling (``sampling=min_max``, what the web UI's charts ask for) is the stores'
``get_metric_history_extremes`` (the algorithm: :mod:`mlcask.tracking.metric_sampling`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mlcask.entities import Metric

__all__ = ["bucket_starts", "sample_history"]


def bucket_starts(total: int, buckets: int) -> list[int]:
    """The index of the first item of each of ``NTILE(buckets)`` over ``total`` items."""
    if total <= 0:
        return []
    buckets = min(buckets, total)
    size, larger = divmod(total, buckets)
    starts, index = [], 0
    for bucket in range(buckets):
        starts.append(index)
        index += size + (1 if bucket < larger else 0)
    return starts


def _order(metric: Metric) -> tuple[int, int, float, bool]:
    nan = math.isnan(metric.value)
    return metric.step, metric.timestamp, 0.0 if nan else metric.value, nan


def sample_history(history: Sequence[Metric], max_results: int, start_step: int | None = None,
                   end_step: int | None = None) -> list[Metric]:
    """At most ``max_results`` values of ``history`` in ``[start_step, end_step]``, evenly spread."""
    max_results = max(1, max_results)
    rows = sorted((m for m in history if start_step is None or start_step <= m.step <= end_step), key=_order)
    if not rows:
        return []
    sampled = [rows[i] for i in bucket_starts(len(rows), max_results)]
    if sampled[-1] is not rows[-1]:
        if len(sampled) >= max_results:
            sampled[-1] = rows[-1]
        else:
            sampled.append(rows[-1])
    return sampled
