"""mlcask's min/max sampling of a metric's history: the envelope of a long history in a few points.

The step range of the values is cut into :func:`min_max_buckets` ``(max_results - 2) // 2`` equal
step buckets and, in each, the values with the smallest and the largest value are kept, with the
range's first and last values: a spike at one step of a million survives, and a chart drawn from
the sample keeps the envelope of the full history. A history of at most ``max_results`` values is
kept whole.

This module is the algorithm alone (no store, no SQL): :func:`scan_min_max` takes points in any
order in one pass, so the SQL store feeds it rows straight from the database driver's cursor, and
:func:`sample_min_max` runs it over a history in memory (what the REST store does when the server
cannot sample). Stores expose it as ``TrackingStore.get_metric_history_extremes``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence

from mlcask.entities import Metric
from mlcask.exceptions import InvalidArgumentError

__all__ = ["Point", "check_step_range", "min_max_buckets", "point_to_metric", "sample_min_max",
           "sample_min_max_metrics", "scan_min_max"]

#: A point of a history as the scan sees it: (step, timestamp, value, is_nan); a NaN's value is 0.0.
Point = tuple[int, int, float, bool]


def check_step_range(start_step: int | None, end_step: int | None) -> None:
    """Refuse a step range that is half given or reversed (MLflow's rule and words for
    ``get-history-bulk-interval``); ``None, None`` is every step."""
    if (start_step is None) != (end_step is None):
        raise InvalidArgumentError("If either start step or end step are specified, both must be specified.")
    if start_step is not None and start_step > end_step:
        raise InvalidArgumentError(f"end_step must be greater than start_step. Found start_step={start_step} and "
                                   f"end_step={end_step}.")


def min_max_buckets(max_results: int) -> int:
    """How many step buckets fit in ``max_results`` points: two per bucket, plus the range's first and last."""
    return max(1, (max_results - 2) // 2)


def scan_min_max(points: Iterable[Point], low: int, high: int, max_results: int) -> list[Point]:
    """The first and last points of ``points`` and, in each of :func:`min_max_buckets` equal step ranges
    of ``[low, high]``, the points with the smallest and the largest value, in (step, timestamp) order.

    One pass, in any order (on ties the point met first wins). NaN is never a bucket's minimum or
    maximum, but may be the first or the last point. At most ``max_results`` points: below 4 there is
    no room for a bucket's pair, and the last, the first, the maximum and the minimum are kept in that order.
    """
    buckets, span = min_max_buckets(max_results), high - low + 1
    lows: list[Point | None] = [None] * buckets
    highs: list[Point | None] = [None] * buckets
    first = last = None
    for point in points:
        step = point[0]
        if first is None:
            first = last = point
        elif step <= first[0] and (step < first[0] or point[1] < first[1]):
            first = point
        elif step >= last[0] and (step > last[0] or point[1] >= last[1]):
            last = point
        if point[3]:
            continue
        bucket = (step - low) * buckets // span
        known = lows[bucket]
        if known is None:
            lows[bucket] = highs[bucket] = point
        elif point[2] < known[2]:
            lows[bucket] = point
        elif point[2] > highs[bucket][2]:
            highs[bucket] = point
    if first is None:
        return []
    return _pick(first, last, [p for p in lows if p], [p for p in highs if p], max_results)


def _pick(first: Point, last: Point, lows: list[Point], highs: list[Point], max_results: int) -> list[Point]:
    chosen = {id(p): p for p in (first, last, *lows, *highs)}
    if len(chosen) > max_results:  # only when max_results < 4: one bucket, four candidates
        extremes = (max(highs, key=lambda p: p[2]), min(lows, key=lambda p: p[2])) if lows else ()
        keep: dict[int, Point] = {}
        for point in (last, first, *extremes):
            if len(keep) < max_results:
                keep.setdefault(id(point), point)
        chosen = keep
    return sorted(chosen.values(), key=lambda p: (p[0], p[1]))


def _points_of(history: Iterable[Metric]) -> Iterator[Point]:
    for metric in history:
        nan = math.isnan(metric.value)
        yield metric.step, metric.timestamp, 0.0 if nan else metric.value, nan


def sample_min_max(history: Sequence[Metric], max_results: int, start_step: int | None = None,
                   end_step: int | None = None) -> list[Point]:
    """:func:`scan_min_max` over a history in memory, limited to ``[start_step, end_step]`` when given;
    all of it, in (step, timestamp) order, when it has at most ``max_results`` values."""
    points = [p for p in _points_of(history) if start_step is None or start_step <= p[0] <= end_step]
    if not points:
        return []
    if len(points) <= max_results:
        return sorted(points, key=lambda p: (p[0], p[1]))
    return scan_min_max(points, min(p[0] for p in points), max(p[0] for p in points), max_results)


def point_to_metric(key: str, point: Point, run_id: str) -> Metric:
    """A sampled point as a Metric of run ``run_id`` (NaN back as NaN)."""
    return Metric(key, math.nan if point[3] else float(point[2]), point[1], point[0], run_id=run_id)


def sample_min_max_metrics(history: Sequence[Metric], run_id: str, metric_key: str, max_results: int,
                           start_step: int | None = None, end_step: int | None = None) -> list[Metric]:
    """:func:`sample_min_max` of ``history`` as the Metrics ``get_metric_history_extremes`` returns."""
    return [point_to_metric(metric_key, point, run_id)
            for point in sample_min_max(history, max_results, start_step, end_step)]
