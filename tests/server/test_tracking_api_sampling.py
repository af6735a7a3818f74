"""The bulk-interval sampler: NTILE buckets, the last value always kept, step ranges."""

from __future__ import annotations

import math

import pytest

from mlcask.entities import Metric
from mlcask.server.sampling import bucket_starts, sample_history


@pytest.mark.parametrize("total, buckets, starts", [
    (10, 4, [0, 3, 6, 8]), (10, 5, [0, 2, 4, 6, 8]), (3, 5, [0, 1, 2]), (0, 3, []), (7, 1, [0]), (5, 5, [0, 1, 2, 3, 4]),
])
def test_bucket_starts_are_ntiles(total, buckets, starts):
    assert bucket_starts(total, buckets) == starts


def _history(steps):
    return [Metric("m", float(step), 1000 + step, step) for step in steps]


def test_last_value_replaces_the_last_sample_when_full():
    assert [m.step for m in sample_history(_history(range(10)), 4)] == [0, 3, 6, 9]
    assert [m.step for m in sample_history(_history(range(10)), 1)] == [9]


def test_few_values_come_back_whole_and_in_order():
    assert [m.step for m in sample_history(_history([5, 1, 3]), 10)] == [1, 3, 5]


def test_step_range_and_ties_by_timestamp():
    history = _history(range(20)) + [Metric("m", math.nan, 999, 4)]
    sampled = sample_history(history, 100, start_step=4, end_step=6)
    assert [(m.step, m.timestamp) for m in sampled] == [(4, 999), (4, 1004), (5, 1005), (6, 1006)]
    assert sample_history(history, 5, start_step=50, end_step=60) == []
