"""Several worker processes on one database: PostgreSQL with ``--workers 4``, SQLite with 2.

Concurrent clients log through whichever worker answers; nothing is lost, every worker
serves the same data, and Prometheus counts add up across workers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.slow

API = "/api/2.0/mlflow"


def _client_session(url: str, experiment_id: str, index: int) -> str:
    with httpx.Client(base_url=url, timeout=60) as client:
        run = client.post(f"{API}/runs/create", json={"experiment_id": experiment_id, "run_name": f"w{index}"})
        run.raise_for_status()
        run_id = run.json()["run"]["info"]["run_id"]
        for batch in range(5):
            metrics = [{"key": "loss", "value": batch * 100 + i, "timestamp": i, "step": batch * 100 + i}
                       for i in range(100)]
            response = client.post(f"{API}/runs/log-batch", json={
                "run_id": run_id, "metrics": metrics, "params": [{"key": f"p{batch}", "value": str(batch)}]})
            response.raise_for_status()
        client.post(f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED"}).raise_for_status()
        return run_id


def _check_concurrent_logging(server, clients: int) -> list[str]:
    experiment_id = server.api("POST", "/experiments/create", json={"name": "workers"}).json()["experiment_id"]
    with ThreadPoolExecutor(clients) as pool:
        run_ids = list(pool.map(lambda i: _client_session(server.url, experiment_id, i), range(clients)))
    found = server.api("POST", "/runs/search", json={"experiment_ids": [experiment_id], "max_results": 100}).json()
    assert sorted(r["info"]["run_id"] for r in found["runs"]) == sorted(run_ids)
    for run_id in run_ids:
        history = server.api("GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}).json()
        assert [m["step"] for m in history["metrics"]] == list(range(500))
        run = server.api("GET", "/runs/get", params={"run_id": run_id}).json()["run"]
        assert run["info"]["status"] == "FINISHED" and len(run["data"]["params"]) == 5
        [latest] = run["data"]["metrics"]
        assert (latest["key"], latest["value"], latest["step"]) == ("loss", 499.0, 499)
    return run_ids


def test_postgresql_with_four_workers(start_server, postgres_uri, tmp_path):
    server = start_server(backend_store_uri=postgres_uri,
                          args=["--workers", "4", "--expose-prometheus", str(tmp_path / "prom")])
    run_ids = _check_concurrent_logging(server, clients=8)
    text = server.client.get("/metrics").text
    batches = [line for line in text.splitlines()
               if line.startswith('mlcask_http_requests_total{method="POST",route="/api/2.0/mlflow/runs/log-batch"')]
    assert batches and sum(float(line.rsplit(" ", 1)[1]) for line in batches) == 5 * len(run_ids)
    assert "Traceback" not in server.log()


def test_sqlite_with_two_workers(start_server):
    server = start_server(args=["--workers", "2"])
    _check_concurrent_logging(server, clients=4)
    assert "Traceback" not in server.log()


def test_basic_auth_with_three_workers(start_server):
    """Each worker installs the auth app on the same auth database (the admin is created once)."""
    import base64

    server = start_server(args=["--app-name", "basic-auth", "--workers", "3"],
                          env={"MLCASK_AUTH_ADMIN_PASSWORD": "pw-Admin-123"})
    admin = {"authorization": "Basic " + base64.b64encode(b"admin:pw-Admin-123").decode()}
    for _ in range(12):  # spread over the workers
        assert server.api("GET", "/experiments/search", headers=admin).status_code == 200
        assert server.api("GET", "/experiments/search").status_code == 401
    assert "Traceback" not in server.log()
