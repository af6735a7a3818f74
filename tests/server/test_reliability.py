"""8 real MLflow clients log at once to one ``mlcask server``; nothing is lost.

Each client is a process of the pinned MLflow venv. After importing mlflow they wait at
a barrier, then each logs 1,000 metric values (500 ``mlflow.log_metric`` calls and 500
values through ``MlflowClient.log_batch``, 100 per call), a param, a tag and an
artifact, all at the same time. Every value is then read back through the REST API
(metric history with paging, the run, the artifact through the proxy) and compared.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import ensure_mlflow_python, run_in_mlflow  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.interop]

CLIENTS = 8
SINGLE, BATCHED, BATCH = 500, 500, 100

CLIENT = """
import json, os, time, warnings
os.environ["MLFLOW_TRACKING_URI"] = {url!r}
warnings.filterwarnings("ignore")
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

open({ready!r}, "w").close()
deadline = time.time() + 300
while not os.path.exists({go!r}):
    if time.time() > deadline:
        raise SystemExit("no go signal")
    time.sleep(0.05)
client = MlflowClient()
mlflow.set_experiment({experiment!r})
with mlflow.start_run(run_name="client-{index}") as run:
    run_id = run.info.run_id
    mlflow.log_param("client", {index})
    mlflow.set_tag("client", "{index}")
    for step in range({single}):
        mlflow.log_metric("single", {index} * 100000 + step + 0.25, step=step)
    for start in range(0, {batched}, {batch}):
        client.log_batch(run_id, metrics=[Metric("batched", {index} * 100000 + step + 0.5, 1_700_000_000_000 + step,
                                                 step) for step in range(start, start + {batch})])
    path = os.path.join({folder!r}, "payload-{index}.txt")
    with open(path, "w") as f:
        f.write("client {index}\\n" * 1000)
    mlflow.log_artifact(path, artifact_path="outputs")
print(json.dumps({{"run_id": run_id, "artifact_uri": run.info.artifact_uri}}))
"""


def history(http: httpx.Client, run_id: str, key: str) -> list[tuple[int, float]]:
    """Every value of a metric, page by page."""
    values, token = [], None
    while True:
        params = {"run_id": run_id, "metric_key": key, "max_results": 300}
        if token:
            params["page_token"] = token
        response = http.get("/api/2.0/mlflow/metrics/get-history", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        values += [(m["step"], m["value"]) for m in page.get("metrics", [])]
        token = page.get("next_page_token")
        if not token:
            return sorted(values)


def run_clients(url: str, folder: Path, experiment: str) -> list[dict]:
    ensure_mlflow_python()
    go = folder / "go"
    scripts = [CLIENT.format(url=url, ready=str(folder / f"ready-{i}"), go=str(go), experiment=experiment, index=i,
                             single=SINGLE, batched=BATCHED, batch=BATCH, folder=str(folder))
               for i in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(run_in_mlflow, script, cwd=folder, timeout=900) for script in scripts]
        deadline = time.monotonic() + 600
        while sum((folder / f"ready-{i}").exists() for i in range(CLIENTS)) < CLIENTS:
            failed = [f for f in futures if f.done() and f.exception()]
            if failed:
                raise failed[0].exception()
            assert time.monotonic() < deadline, "the clients did not all start"
            time.sleep(0.1)
        go.touch()
        return [json.loads(f.result().strip().splitlines()[-1]) for f in futures]


def check_everything_arrived(url: str, results: list[dict]) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        assert len({r["run_id"] for r in results}) == CLIENTS
        for index, result in enumerate(results):
            run_id = result["run_id"]
            run = http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}).json()["run"]
            assert run["info"]["status"] == "FINISHED"
            assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"client": str(index)}
            assert {t["key"]: t["value"] for t in run["data"]["tags"]}["client"] == str(index)
            assert history(http, run_id, "single") == [(step, index * 100000 + step + 0.25) for step in range(SINGLE)]
            assert history(http, run_id, "batched") == [(step, index * 100000 + step + 0.5)
                                                        for step in range(BATCHED)]
            latest = {m["key"]: m["value"] for m in run["data"]["metrics"]}
            assert latest == {"single": index * 100000 + SINGLE - 1 + 0.25, "batched": index * 100000 + BATCHED - 1 + 0.5}
            listed = http.get("/api/2.0/mlflow/artifacts/list", params={"run_id": run_id, "path": "outputs"}).json()
            assert [f["path"] for f in listed["files"]] == [f"outputs/payload-{index}.txt"]
            location = result["artifact_uri"].removeprefix("mlflow-artifacts:").lstrip("/")
            body = http.get(f"/api/2.0/mlflow-artifacts/artifacts/{location}/outputs/payload-{index}.txt")
            assert body.status_code == 200 and body.text == f"client {index}\n" * 1000


def test_eight_concurrent_mlflow_clients_lose_nothing(shared_server, tmp_path):
    results = run_clients(shared_server.url, tmp_path, "reliability-sqlite")
    check_everything_arrived(shared_server.url, results)


def test_eight_concurrent_mlflow_clients_on_postgresql_with_four_workers(start_server, postgres_uri, tmp_path):
    server = start_server(backend_store_uri=postgres_uri, args=["--workers", "4"])
    results = run_clients(server.url, tmp_path, "reliability-postgresql")
    check_everything_arrived(server.url, results)
