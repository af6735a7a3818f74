"""log_batch of any size: split within MLflow's limits, for every store."""

from __future__ import annotations

from mlcask.entities import Metric, Param, RunTag
from mlcask.tracking.batches import batch_requests
from mlcask.tracking.client import MlcaskClient
from mlcask.tracking.validation import MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH


def _sizes(requests):
    return [(len(m), len(p), len(t)) for m, p, t in requests]


def test_small_batch_is_one_request():
    assert _sizes(batch_requests([Metric("m", 1.0, 0, 0)] * 3, [Param("p", "1")], [])) == [(3, 1, 0)]


def test_params_and_tags_go_first_and_every_request_is_within_the_limits():
    metrics = [Metric("m", float(i), 0, i) for i in range(2500)]
    params = [Param(f"p{i}", "v") for i in range(250)]
    tags = [RunTag(f"t{i}", "v") for i in range(120)]
    requests = batch_requests(metrics, params, tags)
    for m, p, t in requests:
        assert len(m) <= MAX_METRICS_PER_BATCH and len(p) <= MAX_PARAMS_TAGS_PER_BATCH
        assert len(t) <= MAX_PARAMS_TAGS_PER_BATCH and len(m) + len(p) + len(t) <= MAX_ENTITIES_PER_BATCH
    assert _sizes(requests)[:3] == [(800, 100, 100), (880, 100, 20), (820, 50, 0)]
    assert [x for m, _, _ in requests for x in m] == metrics  # order kept, nothing lost
    assert [x for _, p, _ in requests for x in p] == params


def test_client_splits_a_large_batch_for_the_sql_store(tmp_path):
    client = MlcaskClient(f"sqlite:///{tmp_path / 'b.db'}")
    run = client.create_run("0")
    client.log_batch(run.info.run_id, metrics=[Metric("loss", float(i), 1, i) for i in range(2500)],
                     params=[Param(f"p{i}", str(i)) for i in range(150)])
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == list(range(2500))
    assert len(client.get_run(run.info.run_id).data.params) == 150
