"""mlcask's ``sampling=min_max`` for ``metrics/get-history-bulk-interval``: each step bucket's smallest
and largest values and the range's first and last, so a spike in a long history survives; at most
``max_results`` values per run; the default stays MLflow's sampling. The algorithm here, over HTTP
below; the stores' ``get_metric_history_extremes`` in tests/tracking/test_metric_extremes.py."""

from __future__ import annotations

import math
import random

import pytest

from mlcask.entities import Metric
from mlcask.server.sampling import sample_history
from mlcask.tracking.metric_sampling import min_max_buckets, sample_min_max, scan_min_max

BULK = "/metrics/get-history-bulk-interval"


def _points(values, start=0):
    return [(start + i, 1000 + start + i, float(v), False) for i, v in enumerate(values)]


def _metrics(values):
    return [Metric("m", float(v), 1000 + i, i) for i, v in enumerate(values)]


def test_spikes_of_either_sign_survive_and_the_count_stays_within_the_limit():
    values = [1.0] * 100_000
    values[31_337], values[77_001] = 50.0, -50.0
    sampled = scan_min_max(_points(values), 0, 99_999, 500)
    assert len(sampled) <= 500
    steps = [p[0] for p in sampled]
    assert 31_337 in steps and 77_001 in steps and steps[0] == 0 and steps[-1] == 99_999
    assert steps == sorted(steps)
    # MLflow's sampling (each bucket's first value) loses both.
    assert {m.value for m in sample_history(_metrics(values), 500)} == {1.0}


@pytest.mark.parametrize("max_results", [1, 2, 3, 4, 5, 7, 100, 2500])
def test_never_more_than_max_results(max_results):
    rng = random.Random(max_results)
    values = [rng.uniform(-1, 1) for _ in range(5000)]
    sampled = scan_min_max(_points(values), 0, 4999, max_results)
    assert 1 <= len(sampled) <= max_results
    assert sampled[-1][0] == 4999  # the last value is always there, as in MLflow's sampling
    if max_results >= 2:
        assert sampled[0][0] == 0
    if max_results >= 3:
        assert max(values) in [p[2] for p in sampled]
    if max_results >= 4:
        assert min(values) in [p[2] for p in sampled]
    assert min_max_buckets(max_results) * 2 + 2 >= len(sampled)


def test_every_bucket_keeps_its_min_and_max():
    values = [math.sin(i / 7) * (i % 13) for i in range(10_000)]
    buckets = min_max_buckets(200)
    sampled = {p[0]: p[2] for p in scan_min_max(_points(values), 0, 9999, 200)}
    for bucket in range(buckets):
        inside = [v for step, v in enumerate(values) if step * buckets // 10_000 == bucket]
        kept = [v for step, v in sampled.items() if step * buckets // 10_000 == bucket]
        assert min(inside) in kept and max(inside) in kept


def test_order_of_the_scan_does_not_matter_and_nan_is_no_extreme():
    rng = random.Random(3)
    values = [rng.random() for _ in range(1000)]
    points = _points(values)
    points[500] = (500, 1500, 0.0, True)  # NaN, stored as MLflow stores it (value 0, is_nan)
    shuffled = points[:]
    random.Random(1).shuffle(shuffled)
    ordered = scan_min_max(points, 0, 999, 50)
    assert scan_min_max(shuffled, 0, 999, 50) == ordered
    assert all(not p[3] for p in ordered)
    last_nan = points[:-1] + [(999, 1999, 0.0, True)]
    assert scan_min_max(last_nan, 0, 999, 50)[-1] == (999, 1999, 0.0, True)


def test_short_histories_come_back_whole_and_ranges_are_kept():
    history = _metrics([3, 1, 2]) + [Metric("m", math.nan, 5, 1)]
    whole = sample_min_max(history, 10)
    assert [(p[0], p[1]) for p in whole] == [(0, 1000), (1, 5), (1, 1001), (2, 1002)] and whole[1][3]
    assert sample_min_max(_metrics(range(100)), 10, 40, 60)[0][0] == 40
    assert sample_min_max(_metrics(range(100)), 10, 40, 60)[-1][0] == 60
    assert sample_min_max(_metrics(range(100)), 10, 200, 300) == []
    assert scan_min_max([], 0, 10, 10) == []


# -- over HTTP -------------------------------------------------------------------------------------------------------

def _run_with(server, values) -> str:
    experiment = server.api("POST", "/experiments/create", json={"name": f"spike-{random.random()}"}).json()
    run_id = server.api("POST", "/runs/create", json={"experiment_id": experiment["experiment_id"]}).json()
    run_id = run_id["run"]["info"]["run_id"]
    for start in range(0, len(values), 1000):
        batch = [{"key": "loss", "value": v, "timestamp": 1_000_000 + s, "step": s}
                 for s, v in enumerate(values[start:start + 1000], start)]
        assert server.api("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": batch}).status_code == 200
    return run_id


def test_a_spike_in_a_long_history_survives_over_http(shared_server):
    values = [1.0 - s / 60_000 for s in range(30_000)]
    values[12_345] = 40.0
    spiky = _run_with(shared_server, values)
    calm = _run_with(shared_server, values[:100])
    query = {"run_ids": [spiky, calm], "metric_key": "loss", "max_results": 320}
    got = shared_server.api("GET", BULK, params={**query, "sampling": "min_max"})
    assert got.status_code == 200, got.text
    metrics = got.json()["metrics"]
    spiky_points = [m for m in metrics if m["run_id"] == spiky]
    assert len(spiky_points) <= 320 and {"key", "value", "timestamp", "step", "run_id"} == set(spiky_points[0])
    assert {"step": 12_345, "value": 40.0, "timestamp": 1_012_345} in [
        {k: m[k] for k in ("step", "value", "timestamp")} for m in spiky_points]
    assert [m["step"] for m in metrics if m["run_id"] == calm] == list(range(100))
    # The default, and sampling=first, are MLflow's sampling: the spike is lost.
    default = shared_server.api("GET", BULK, params=query).json()["metrics"]
    assert default == shared_server.api("GET", BULK, params={**query, "sampling": "first"}).json()["metrics"]
    assert 40.0 not in [m["value"] for m in default if m["run_id"] == spiky]
    zoomed = shared_server.api("GET", BULK, params={**query, "sampling": "min_max", "start_step": 12_000,
                                                    "end_step": 12_400}).json()["metrics"]
    zoomed_steps = [m["step"] for m in zoomed if m["run_id"] == spiky]
    assert zoomed_steps[0] == 12_000 and zoomed_steps[-1] == 12_400 and 12_345 in zoomed_steps


def test_bad_sampling_requests_are_400s(shared_server):
    run_id = _run_with(shared_server, [1.0, 2.0])
    base = {"run_ids": [run_id], "metric_key": "loss"}
    for params, fragment in (({"sampling": "max"}, "'sampling'"), ({"sampling": "min_max", "max_results": 0}, "1"),
                             ({"sampling": "min_max", "max_results": 2501}, "2500"),
                             ({"sampling": "min_max", "start_step": 3}, "both must be specified"),
                             ({"sampling": "min_max", "start_step": 3, "end_step": 1}, "end_step must be greater")):
        answer = shared_server.api("GET", BULK, params={**base, **params})
        assert answer.status_code == 400, (params, answer.text)
        body = answer.json()
        assert body["error_code"] == "INVALID_PARAMETER_VALUE" and fragment in body["message"], body
    missing = shared_server.api("GET", BULK, params={**base, "run_ids": ["f" * 32], "sampling": "min_max"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    summary = shared_server.client.get("/api/2.0/mlflow/openapi.json").text
    assert "sampling=min_max" in summary
