"""mlcask's run-view endpoints: metric summaries and artifact previews (CSV, TSV, Parquet, HTML).

Most tests drive the app in-process (one app per module, real SQLite store and artifact folder);
the REST store's summaries are checked against a real ``mlcask server`` and, with the fallback to
per-key histories, against a real ``mlflow server``.
"""

from __future__ import annotations

import io
import math
import sys

import pytest
from starlette.testclient import TestClient

from mlcask.server.app import create_app
from mlcask.server.config import ServerConfig
from mlcask.server.run_views_api import HTML_PREVIEW_CSP, MAX_PREVIEW_ROWS, TEXT_HEAD_BYTES

API = "/api/2.0/mlflow"
MLCASK = "/api/2.0/mlcask"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


class Api:
    def __init__(self, client: TestClient, artifacts) -> None:
        self.client, self.artifacts = client, artifacts

    def call(self, method: str, path: str, **kwargs):
        response = self.client.request(method, API + path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def new_run(self, name: str = "r") -> dict:
        experiment = self.call("POST", "/experiments/create", json={"name": f"exp-{name}"})["experiment_id"]
        return self.call("POST", "/runs/create", json={"experiment_id": experiment, "run_name": name})["run"]["info"]

    def put(self, run: dict, path: str, data: bytes) -> None:
        root = run["artifact_uri"].removeprefix("mlflow-artifacts:").lstrip("/")
        response = self.client.put(f"{ARTIFACTS}/{root}/{path}", content=data)
        assert response.status_code == 200, response.text

    def preview(self, run_id: str, path: str, **params):
        return self.client.get(f"{MLCASK}/artifacts/preview", params={"run_id": run_id, "path": path, **params})


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run-views")
    config = ServerConfig(backend_store_uri=f"sqlite:///{folder / 'mlcask.db'}",
                          artifacts_destination=str(folder / "artifacts"))
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        yield Api(client, folder / "artifacts")


@pytest.fixture(scope="module")
def run(api):
    return api.new_run("previews")


# -- metric summaries ------------------------------------------------------------------------------------------------

def _log(api: Api, run_id: str, metrics: list[dict]) -> None:
    for start in range(0, len(metrics), 1000):
        api.call("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": metrics[start:start + 1000]})


def test_metric_summaries_match_the_logged_values(api):
    run_id = api.new_run("summaries")["run_id"]
    values = {"loss": [(0, 5.0, 100), (1, 3.0, 200), (2, 4.0, 300), (2, 1.5, 250)],
              "acc": [(0, 0.5, 100), (7, 0.9, 900)],
              "nan_only": [(0, "NaN", 100)],
              "mixed": [(0, -2.0, 100), (1, "NaN", 200), (2, "Infinity", 300)]}
    _log(api, run_id, [{"key": key, "value": value, "step": step, "timestamp": ts}
                       for key, rows in values.items() for step, value, ts in rows])
    answer = api.client.get(f"{MLCASK}/runs/metric-summaries", params={"run_id": run_id})
    assert answer.status_code == 200
    metrics = {m["key"]: m for m in answer.json()["metrics"]}
    assert [m["key"] for m in answer.json()["metrics"]] == sorted(values)
    # The latest is MLflow's: highest (step, timestamp); (2, 300) beats (2, 250).
    assert metrics["loss"] == {"key": "loss", "value": 4.0, "step": 2, "timestamp": 300, "min": 1.5, "max": 5.0,
                               "count": 4}
    assert metrics["acc"] == {"key": "acc", "value": 0.9, "step": 7, "timestamp": 900, "min": 0.5, "max": 0.9,
                              "count": 2}
    assert metrics["nan_only"] == {"key": "nan_only", "value": "NaN", "step": 0, "timestamp": 100, "min": None,
                                   "max": None, "count": 1}
    mixed = metrics["mixed"]
    assert mixed["min"] == -2.0 and mixed["count"] == 3 and mixed["max"] == sys.float_info.max
    # The latest value agrees with runs/get.
    latest = {m["key"]: m["value"] for m in api.call("GET", "/runs/get", params={"run_id": run_id})["run"]["data"]
              ["metrics"]}
    assert latest["loss"] == metrics["loss"]["value"] and latest["acc"] == metrics["acc"]["value"]


def test_metric_summaries_of_many_keys_and_the_ajax_twin(api):
    run_id = api.new_run("many")["run_id"]
    _log(api, run_id, [{"key": f"m{k:03d}", "value": float((step * 7 + k) % 50), "step": step, "timestamp": step}
                       for k in range(120) for step in range(25)])
    answer = api.client.get("/ajax-api/2.0/mlcask/runs/metric-summaries", params={"run_id": run_id}).json()
    assert len(answer["metrics"]) == 120
    for item in answer["metrics"]:
        k = int(item["key"][1:])
        series = [float((step * 7 + k) % 50) for step in range(25)]
        assert (item["min"], item["max"], item["count"], item["step"]) == (min(series), max(series), 25, 24)
        assert item["value"] == series[-1]


def test_metric_summaries_errors(api):
    unknown = api.client.get(f"{MLCASK}/runs/metric-summaries", params={"run_id": "0" * 32})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    missing = api.client.get(f"{MLCASK}/runs/metric-summaries")
    assert missing.status_code == 400 and "run_id" in missing.json()["message"]
    empty = api.new_run("no-metrics")["run_id"]
    assert api.client.get(f"{MLCASK}/runs/metric-summaries", params={"run_id": empty}).json() == {"metrics": []}


def test_the_endpoints_are_in_the_openapi_document(api):
    paths = api.client.get(f"{API}/openapi.json").json()["paths"]
    for path in ("/runs/metric-summaries", "/artifacts/preview", "/artifacts/html-preview"):
        assert "get" in paths[MLCASK + path]
    assert "min" in paths[MLCASK + "/runs/metric-summaries"]["get"]["summary"]


# -- CSV / TSV ------------------------------------------------------------------------------------------------------

def test_csv_preview_first_rows(api, run):
    lines = ["a,b,c"] + [f"{i},x{i},\"q,{i}\"" for i in range(300)]
    api.put(run, "data/table.csv", ("\ufeff" + "\n".join(lines) + "\n").encode())
    answer = api.preview(run["run_id"], "data/table.csv", max_rows=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["format"] == "csv" and body["columns"] == ["a", "b", "c"]
    assert body["rows"] == [[str(i), f"x{i}", f"q,{i}"] for i in range(5)]
    assert body["truncated"] is True and body["columns_truncated"] is False
    default = api.preview(run["run_id"], "data/table.csv").json()
    assert len(default["rows"]) == 100 and default["truncated"] is True
    whole = api.preview(run["run_id"], "data/table.csv", max_rows=300).json()
    assert len(whole["rows"]) == 300 and whole["truncated"] is False


def test_tsv_preview_and_ragged_rows(api, run):
    api.put(run, "t.tsv", b"x\ty\n1\t2\t3\n4\n")
    body = api.preview(run["run_id"], "t.tsv").json()
    assert body["format"] == "tsv" and body["columns"] == ["x", "y", "column 3"]
    assert body["rows"] == [["1", "2", "3"], ["4"]] and body["truncated"] is False


def test_csv_preview_reads_only_the_head(api, run):
    row = ("1234567890," * 9 + "end\n").encode()
    count = TEXT_HEAD_BYTES // len(row) * 3
    api.put(run, "big.csv", b"h" + b",h" * 9 + b"\n" + row * count)
    body = api.preview(run["run_id"], "big.csv", max_rows=MAX_PREVIEW_ROWS).json()
    assert len(body["rows"]) == MAX_PREVIEW_ROWS and body["truncated"] is True
    # A wide file whose head holds fewer rows than asked: only whole lines of the head, flagged truncated.
    wide = ("v" * 5000 + "\n").encode()
    api.put(run, "wide.csv", b"col\n" + wide * (TEXT_HEAD_BYTES // len(wide) + 50))
    body = api.preview(run["run_id"], "wide.csv", max_rows=MAX_PREVIEW_ROWS).json()
    assert 0 < len(body["rows"]) < TEXT_HEAD_BYTES // len(wide) + 1 and body["truncated"] is True
    assert all(cell == ["v" * 1000 + "…"] for cell in body["rows"])  # cells are capped


def test_max_rows_is_capped_and_checked(api, run):
    lines = ["n"] + [str(i) for i in range(MAX_PREVIEW_ROWS + 10)]
    api.put(run, "long.csv", "\n".join(lines).encode())
    body = api.preview(run["run_id"], "long.csv", max_rows=10**6).json()
    assert len(body["rows"]) == MAX_PREVIEW_ROWS and body["truncated"] is True
    bad = api.preview(run["run_id"], "long.csv", max_rows=0)
    assert bad.status_code == 400 and "max_rows" in bad.json()["message"]
    bad = api.preview(run["run_id"], "long.csv", max_rows="many")
    assert bad.status_code == 400 and "max_rows" in bad.json()["message"]


def test_many_columns_are_cut(api, run):
    api.put(run, "cols.csv", (",".join(f"c{i}" for i in range(500)) + "\n" + ",".join("1" * 500) + "\n").encode())
    body = api.preview(run["run_id"], "cols.csv").json()
    assert len(body["columns"]) == 200 and body["columns_truncated"] is True and len(body["rows"][0]) == 200


# -- Parquet --------------------------------------------------------------------------------------------------------

def _parquet(table) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=500)
    return sink.getvalue()


def test_parquet_preview(api, run):
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"id": list(range(2000)), "score": [i / 4 for i in range(1999)] + [math.nan],
                      "name": [f"<b>n{i}</b>" for i in range(2000)], "flag": [i % 2 == 0 for i in range(2000)]})
    api.put(run, "frames/data.parquet", _parquet(table))
    body = api.preview(run["run_id"], "frames/data.parquet", max_rows=3).json()
    assert body["format"] == "parquet" and body["columns"] == ["id", "score", "name", "flag"]
    assert body["types"] == ["int64", "double", "string", "bool"]
    assert body["rows"] == [[0, 0.0, "<b>n0</b>", True], [1, 0.25, "<b>n1</b>", False], [2, 0.5, "<b>n2</b>", True]]
    assert body["truncated"] is True and body["total_rows"] == 2000
    # At most the first row group (500 rows) is read.
    assert len(api.preview(run["run_id"], "frames/data.parquet", max_rows=1000).json()["rows"]) == 500


def test_parquet_special_values_and_bad_files(api, run):
    pa = pytest.importorskip("pyarrow")
    import datetime

    table = pa.table({"when": [datetime.datetime(2024, 1, 2, 3, 4, 5)], "raw": [b"\x00\xff"],
                      "inf": [math.inf], "none": pa.array([None], pa.int64())})
    api.put(run, "special.parquet", _parquet(table))
    body = api.preview(run["run_id"], "special.parquet").json()
    assert body["rows"] == [["2024-01-02 03:04:05", "00ff", "Infinity", None]]
    api.put(run, "broken.parquet", b"not parquet at all")
    broken = api.preview(run["run_id"], "broken.parquet")
    assert broken.status_code == 400 and "could not be read as Parquet" in broken.json()["message"]


def test_parquet_without_pyarrow_says_what_to_install(api, run, monkeypatch):
    api.put(run, "nopa.parquet", b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # what a missing package looks like to import
    answer = api.preview(run["run_id"], "nopa.parquet")
    assert answer.status_code == 400 and "mlcask[parquet]" in answer.json()["message"]


# -- errors ---------------------------------------------------------------------------------------------------------

def test_preview_errors(api, run):
    api.put(run, "notes.txt", b"hello")
    unsupported = api.preview(run["run_id"], "notes.txt")
    assert unsupported.status_code == 400
    assert "CSV (.csv), TSV (.tsv) and Parquet" in unsupported.json()["message"]
    missing = api.preview(run["run_id"], "nope.csv")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    folder = api.preview(run["run_id"], "data")
    assert folder.status_code == 400
    unknown = api.preview("f" * 32, "data/table.csv")
    assert unknown.status_code == 404 and "not found" in unknown.json()["message"]
    assert api.client.get(f"{MLCASK}/artifacts/preview", params={"run_id": run["run_id"]}).status_code == 400


@pytest.mark.parametrize("path", ["../../../etc/passwd.csv", "/etc/passwd.csv", "a/%2e%2e/%2e%2e/x.csv",
                                  "..\\x.csv", "C:/x.csv", "file:///etc/x.csv", "a/\x01.csv", ""])
def test_traversal_is_refused(api, run, path):
    for endpoint in ("preview", "html-preview"):
        answer = api.client.get(f"{MLCASK}/artifacts/{endpoint}", params={"run_id": run["run_id"], "path": path})
        assert answer.status_code == 400, (endpoint, path, answer.text)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_a_link_out_of_the_root_is_not_followed(api, run, tmp_path):
    import os

    secret = tmp_path / "secret.csv"
    secret.write_text("secret\n42\n")
    api.put(run, "placeholder.txt", b"x")
    relative = run["artifact_uri"].removeprefix("mlflow-artifacts:").lstrip("/")
    os.symlink(secret, api.artifacts / relative / "link.csv")
    answer = api.preview(run["run_id"], "link.csv")
    assert answer.status_code == 400 and "42" not in answer.text


# -- HTML -----------------------------------------------------------------------------------------------------------

def test_html_preview_is_sandboxed(api, run):
    page = b"<html><body><h1 id=t>Report</h1><script>document.title='ran'</script></body></html>"
    api.put(run, "report.html", page)
    answer = api.client.get(f"{MLCASK}/artifacts/html-preview", params={"run_id": run["run_id"],
                                                                         "path": "report.html"})
    assert answer.status_code == 200 and answer.content == page
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert policy == HTML_PREVIEW_CSP and policy.startswith("sandbox;") and "script-src" not in policy
    assert "default-src 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_html_preview_errors(api, run):
    api.put(run, "page.txt", b"<script>x</script>")
    wrong = api.client.get(f"{MLCASK}/artifacts/html-preview", params={"run_id": run["run_id"], "path": "page.txt"})
    assert wrong.status_code == 400 and ".html and .htm" in wrong.json()["message"]
    missing = api.client.get(f"{MLCASK}/artifacts/html-preview", params={"run_id": run["run_id"], "path": "x.htm"})
    assert missing.status_code == 404
    unknown = api.client.get(f"{MLCASK}/artifacts/html-preview", params={"run_id": "a" * 32, "path": "x.html"})
    assert unknown.status_code == 404


def test_html_preview_size_cap(api, run, monkeypatch):
    from mlcask.server import run_views_api

    monkeypatch.setattr(run_views_api, "HTML_MAX_BYTES", 1000)
    api.put(run, "large.html", b"<p>" + b"x" * 2000 + b"</p>")
    answer = api.client.get(f"{MLCASK}/artifacts/html-preview", params={"run_id": run["run_id"],
                                                                         "path": "large.html"})
    assert answer.status_code == 400 and "larger than the 1000 bytes" in answer.json()["message"]


# -- the REST store --------------------------------------------------------------------------------------------------

def _summaries_through_rest(url: str) -> list:
    from mlcask.entities import Metric
    from mlcask.tracking.rest import RestTrackingStore

    store = RestTrackingStore(url)
    experiment = store.create_experiment(f"rest-summaries-{id(store)}")
    run_id = store.create_run(experiment, "u", None, [], "rest").info.run_id
    store.log_batch(run_id, [Metric("b", v, 10 + i, i) for i, v in enumerate([3.0, 1.0, 2.0])]
                    + [Metric("a", math.nan, 5, 0), Metric("a", 7.0, 6, 1)])
    with pytest.raises(Exception) as unknown:
        store.get_metric_summaries("0" * 32)
    assert getattr(unknown.value, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"
    return store.get_metric_summaries(run_id)


def _expected():
    from mlcask.tracking.protocols import MetricSummary

    return [MetricSummary("a", 7.0, 1, 6, 7.0, 7.0, 2), MetricSummary("b", 2.0, 2, 12, 1.0, 3.0, 3)]


def test_rest_store_reads_summaries_from_mlcask_server(shared_server):
    assert _summaries_through_rest(shared_server.url) == _expected()


@pytest.mark.interop
@pytest.mark.slow
def test_rest_store_falls_back_to_histories_on_mlflow_server(tmp_path):
    from tests.support import free_port
    from tests.tracking.rest.conftest import mlflow_server_command, start_server

    port = free_port()
    server = start_server("mlflow", mlflow_server_command(tmp_path, port), tmp_path, port)
    try:
        assert _summaries_through_rest(server.url) == _expected()
    finally:
        server.stop()


# -- MLmodel --------------------------------------------------------------------------------------------------------

MLMODEL = b"""flavors:
  python_function:
    loader_module: mlflow.sklearn
  sklearn:
    serialization_format: skops
model_id: m-123
run_id: abc
signature:
  inputs: '[{"type": "double", "name": "mean radius", "required": true}, {"type": "string", "name": "<b>x</b>",
    "required": false}, {"type": "array", "items": {"type": "long"}, "name": "ids"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]'
  params: '[{"name": "temperature", "type": "double", "default": 0.5, "shape": null}]'
"""


def test_mlmodel_signature_as_tables(api, run):
    api.put(run, "model/MLmodel", MLMODEL)
    body = api.preview(run["run_id"], "model/MLmodel").json()
    assert body["format"] == "mlmodel" and body["flavors"] == ["python_function", "sklearn"]
    assert (body["model_id"], body["run_id"]) == ("m-123", "abc")
    assert body["signature"]["inputs"] == [
        {"name": "mean radius", "type": "double", "shape": None, "required": True},
        {"name": "<b>x</b>", "type": "string", "shape": None, "required": False},
        {"name": "ids", "type": "array of long", "shape": None, "required": True}]
    assert body["signature"]["outputs"] == [{"name": None, "type": "tensor of float32", "shape": "[-1, 2]",
                                             "required": True}]
    assert body["signature"]["params"] == [{"name": "temperature", "type": "double", "default": "0.5",
                                            "shape": None}]


def test_mlmodel_without_signature_and_bad_files(api, run):
    api.put(run, "plain/MLmodel", b"flavors:\n  python_function: {}\n")
    body = api.preview(run["run_id"], "plain/MLmodel").json()
    assert body["signature"] == {"inputs": None, "outputs": None, "params": None}
    api.put(run, "bad/MLmodel", b"- just\n- a list\n")
    assert "expected a YAML mapping" in api.preview(run["run_id"], "bad/MLmodel").json()["message"]
    api.put(run, "bomb/MLmodel", b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n".encode()
        for i in range(8)))
    bomb = api.preview(run["run_id"], "bomb/MLmodel")
    assert bomb.status_code == 400
    api.put(run, "json/MLmodel", b"flavors:\n  python_function: {}\nsignature:\n  inputs: '[not json'\n")
    bad = api.preview(run["run_id"], "json/MLmodel")
    assert bad.status_code == 400 and "Malformed schema JSON" in bad.json()["message"], bad.json()
    api.put(run, "noflavor/MLmodel", b"signature: {}\n")
    assert "'flavors'" in api.preview(run["run_id"], "noflavor/MLmodel").json()["message"]
