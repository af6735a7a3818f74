"""The scoring server over real sockets: MLflow's protocol, OIP v2, OpenAPI, errors, batching, the CLI."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest

import mlcask
from tests.support import free_port


def _post(client, path, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, content=data, headers={"content-type": content_type})


# -- MLflow's endpoints ------------------------------------------------------------------------

def test_ping_health_version(sklearn_server):
    for path in ("/ping", "/health"):
        r = sklearn_server.client.get(path)
        assert r.status_code == 200
    r = sklearn_server.client.get("/version")
    assert r.status_code == 200 and r.text == mlcask.__version__


def test_app_state(sklearn_server, sklearn_model_dir):
    served = sklearn_server.app.state.served
    assert served.name == "iris" and served.uri == str(sklearn_model_dir)
    assert "sklearn" in served.flavors and served.signature is not None
    assert json.loads(served.serving_input_example)["dataframe_split"]["columns"][0] == "sepal_length"
    assert served.batcher is not None  # built-in flavor with columns: batching on by default


def test_every_json_form_gives_the_local_predictions(sklearn_server, sklearn_model_dir, iris):
    X, _ = iris
    rows = X.iloc[[0, 60, 120]]
    expected = mlcask.pyfunc.load_model(sklearn_model_dir).predict(rows).tolist()
    split = json.loads(rows.to_json(orient="split", index=False))
    records = rows.to_dict(orient="records")
    payloads = [
        {"dataframe_split": split},
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": records},
        {"inputs": {c: rows[c].tolist() for c in rows.columns}},
        {"instances": rows.to_numpy().tolist()},
    ]
    for payload in payloads:
        r = _post(sklearn_server.client, "/invocations", payload)
        assert r.status_code == 200, (payload, r.text)
        assert r.json() == {"predictions": expected}
    r = _post(sklearn_server.client, "/invocations", sklearn_server.app.state.served.serving_input_example)
    assert r.status_code == 200 and len(r.json()["predictions"]) == 3


def test_csv_and_charset(sklearn_server, iris):
    X, _ = iris
    for ct in ("text/csv", "text/csv; charset=utf-8"):
        r = _post(sklearn_server.client, "/invocations", X.head(4).to_csv(index=False), ct)
        assert r.status_code == 200 and len(r.json()["predictions"]) == 4


def test_predictions_render_like_mlflow():
    from mlcask.serving.codec import predictions_json as predictions_body

    def render(p):
        return json.loads(predictions_body(p))["predictions"]

    assert render(np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert render(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})) == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert render(pd.Series([1.5, 2.5], name="s")) == [{"s": 1.5}, {"s": 2.5}]
    assert render([np.int64(3), np.float32(0.5)]) == [3, 0.5]
    assert render(np.float64(2.0)) == 2.0
    assert render(np.array([b"ab"], dtype=object)) == ["YWI=\n"]
    assert render(np.array([np.nan])) == [None]
    assert render({"k": np.arange(2)}) == {"k": [0, 1]}


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, needle", [
    (b"{not json", "not valid JSON"),
    ({"dataframe_records": [{"sepal_length": 1.0}]}, "missing required input columns"),
    ({"dataframe_records": [{"sepal_length": "a", "sepal_width": 1, "petal_length": 1, "petal_width": 1}]},
     "sepal_length"),
    ({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, "dataframe_split"),
    ({"rows": []}, "exactly one of the keys"),
    ([1, 2], "JSON object"),
    ({"instances": [[1, 2, 3, 4]], "params": {"nope": 1}}, "params"),
    ({"instances": np.ones((2, 2, 2)).tolist()}, "3-D"),
])
def test_bad_input_is_400_with_a_message(sklearn_server, body, needle):
    r = _post(sklearn_server.client, "/invocations", body)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "BAD_REQUEST"
    assert needle in r.json()["message"]


def test_bad_csv_is_400(sklearn_server):
    r = _post(sklearn_server.client, "/invocations", "sepal_length,sepal_width\n1,x\n", "text/csv")
    assert r.status_code == 400 and r.json()["error_code"] == "BAD_REQUEST"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json; charset=latin-1",
                                          "application/json; format=pandas-split"])
def test_unsupported_content_type_is_415(sklearn_server, content_type):
    headers = {"content-type": content_type} if content_type else {}
    r = sklearn_server.client.post("/invocations", content=b'{"instances": [[1, 2, 3, 4]]}', headers=headers)
    assert r.status_code == 415
    message = r.json()["message"]
    assert ("Content-Type" in message or "UTF-8" in message or "parameters" in message)


def test_body_too_large_is_413(sklearn_model_dir, serve_model):
    with serve_model(sklearn_model_dir, max_body_bytes=1000) as live:
        big = {"instances": [[1.0, 2.0, 3.0, 4.0]] * 200}
        r = _post(live.client, "/invocations", big)
        assert r.status_code == 413 and "1000 bytes" in r.json()["message"]

        def chunks():  # no Content-Length: the limit applies while streaming
            for _ in range(50):
                yield b" " * 100

        r = live.client.post("/invocations", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        r = _post(live.client, "/invocations", {"instances": [[1.0, 2.0, 3.0, 4.0]]})
        assert r.status_code == 200


def test_model_error_is_400_and_timeout_is_504(pyfunc_model_dir, serve_model):
    with serve_model(pyfunc_model_dir, timeout=0.3) as live:
        r = _post(live.client, "/invocations", {"inputs": {"x": [1.0], "tag": ["a"]}, "params": {"fail": True}})
        assert r.status_code == 400  # as MLflow: the model could not score these values
        assert r.json()["error_code"] == "BAD_REQUEST"
        assert "RuntimeError: the model was told to fail" in r.json()["message"]
        r = _post(live.client, "/v2/models/echo/infer", {"parameters": {"fail": True}, "inputs": [
            {"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]},
            {"name": "tag", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})
        assert r.status_code == 400 and "RuntimeError: the model was told to fail" in r.json()["error"]
        r = _post(live.client, "/invocations", {"inputs": {"x": [1.0], "tag": ["a"]}, "params": {"sleep": 1.0}})
        assert r.status_code == 504 and r.json()["error_code"] == "DEADLINE_EXCEEDED"
        r = _post(live.client, "/invocations", {"inputs": {"x": [2.0], "tag": ["a"]}, "params": {"scale": 3}})
        assert r.status_code == 200 and r.json() == {"predictions": [6.0]}
        r = _post(live.client, "/invocations", {"inputs": {"x": [2.0], "tag": ["a"]}, "params": {"scale": "big"}})
        assert r.status_code == 400 and "scale" in r.json()["message"]


@pytest.mark.parametrize("batching", [True, False])
def test_a_fault_of_the_server_stays_500(pyfunc_model_dir, serve_model, monkeypatch, batching):
    import mlcask.models.enforcement as enforcement

    def broken(data, schema):
        raise TypeError("a bug in mlcask")

    with serve_model(pyfunc_model_dir, batching=batching) as live:
        monkeypatch.setattr(enforcement, "enforce_schema", broken)
        r = _post(live.client, "/invocations", {"inputs": {"x": [1.0], "tag": ["a"]}})
        assert r.status_code == 500 and r.json()["error_code"] == "INTERNAL_ERROR"
        assert "a bug in mlcask" not in r.json()["message"]  # internals stay in the server log


# -- Open Inference Protocol v2 ------------------------------------------------------------------

def test_oip_health_and_metadata(sklearn_server, iris):
    c = sklearn_server.client
    assert c.get("/v2/health/live").json() == {"live": True}
    assert c.get("/v2/health/ready").status_code == 200
    assert c.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    meta = c.get("/v2/models/iris").json()
    assert meta["name"] == "iris" and meta["platform"] == "mlcask" and meta["versions"] == []
    assert meta["inputs"][0] == {"name": "sepal_length", "datatype": "FP64", "shape": [-1]}
    assert [i["name"] for i in meta["inputs"]] == list(iris[0].columns)
    assert meta["outputs"][0]["datatype"] == "INT64"
    for path in ("/v2/models/nope", "/v2/models/nope/ready", "/v2/models/iris/versions/7"):
        r = c.get(path)
        assert r.status_code == 404
        assert "nope" in r.json()["error"] or "version '7'" in r.json()["error"]
    r = _post(c, "/v2/models/nope/infer", {"inputs": []})
    assert r.status_code == 404 and "error" in r.json()


def test_oip_infer_per_column_and_2d(sklearn_server, sklearn_model_dir, iris):
    X, _ = iris
    rows = X.iloc[[0, 70, 140]]
    expected = mlcask.pyfunc.load_model(sklearn_model_dir).predict(rows).tolist()
    per_column = {"id": "req-1", "inputs": [
        {"name": c, "shape": [3], "datatype": "FP64", "data": rows[c].tolist()} for c in rows.columns]}
    r = _post(sklearn_server.client, "/v2/models/iris/infer", per_column)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_name"] == "iris" and body["id"] == "req-1"
    assert body["outputs"] == [{"name": "predictions", "shape": [3], "datatype": "INT64", "data": expected}]
    flat = {"inputs": [{"name": "x", "shape": [3, 4], "datatype": "FP32",
                        "data": rows.to_numpy().ravel().tolist()}]}
    r = _post(sklearn_server.client, "/v2/models/iris/infer", flat)
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == expected and r.json()["id"]


@pytest.mark.parametrize("tensor, needle", [
    ({"name": "sepal_length", "shape": [2], "datatype": "FP64", "data": [1.0]}, "needs 2 values"),
    ({"name": "sepal_length", "shape": [1], "datatype": "FP128", "data": [1.0]}, "unknown datatype"),
    ({"name": "sepal_length", "shape": [1], "datatype": "INT32", "data": [1.5]}, "INT32"),
    ({"name": "sepal_length", "shape": [1], "datatype": "INT8", "data": [300]}, "INT8"),
    ({"name": "zzz", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}, "zzz"),
    ({"name": "sepal_length", "shape": [1]}, "lacks"),
])
def test_oip_bad_tensors_are_400(sklearn_server, tensor, needle):
    r = _post(sklearn_server.client, "/v2/models/iris/infer", {"inputs": [tensor]})
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]


class TensorDoubler(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return (model_input * 2).astype(model_input.dtype)


@pytest.fixture(scope="module")
def tensor_server(tmp_path_factory, serve_model):
    from mlcask.models import infer_signature

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path_factory.mktemp("t") / "doubler"
    mlcask.pyfunc.save_model(path, python_model=TensorDoubler(), signature=infer_signature(x, x * 2),
                             input_example=x)
    with serve_model(path) as live:
        yield live


def test_tensor_model_oip_dtypes_and_instances(tensor_server):
    c = tensor_server.client
    served = tensor_server.app.state.served
    assert served.batcher is None  # custom model: batching off by default
    meta = c.get(f"/v2/models/{served.name}").json()
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 3]}]
    r = _post(c, f"/v2/models/{served.name}/infer",
              {"inputs": [{"name": "input-0", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5, 6]]}]})
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["datatype"] == "FP32" and out["shape"] == [2, 3] and out["data"] == [2, 4, 6, 8, 10, 12]
    r = _post(c, "/invocations", {"instances": [[1, 2, 3]]})
    assert r.status_code == 200 and r.json() == {"predictions": [[2.0, 4.0, 6.0]]}
    r = _post(c, "/invocations", {"instances": [[1, 2]]})
    assert r.status_code == 400
    doc = c.get("/openapi.json").json()
    inputs = doc["components"]["schemas"]["Inputs"]
    assert inputs["x-mlcask-dtype"] == "float32" and inputs["x-mlcask-shape"] == [-1, 3]
    assert inputs["items"]["minItems"] == 3


def test_oip_dtype_helpers():
    from mlcask.serving.oip import oip_datatype_of_dtype, oip_request_to_data

    assert [oip_datatype_of_dtype(d) for d in ("bool", "int8", "uint16", "int64", "float16", "float64", "U3", "O")] \
        == ["BOOL", "INT8", "UINT16", "INT64", "FP16", "FP64", "BYTES", "BYTES"]
    data, params = oip_request_to_data({"inputs": [
        {"name": "a", "shape": [2], "datatype": "INT16", "data": [1, 2]},
        {"name": "b", "shape": [2, 1], "datatype": "BYTES", "data": ["x", "y"]},
        {"name": "c", "shape": [2], "datatype": "BOOL", "data": [True, False]}], "parameters": {"k": 1}}, None)
    assert list(data.columns) == ["a", "b", "c"] and data["a"].dtype == np.int16 and params == {"k": 1}
    assert data["b"].tolist() == ["x", "y"] and data["c"].dtype == bool


# -- OpenAPI -----------------------------------------------------------------------------------------

def test_openapi_document(sklearn_server, iris):
    doc = sklearn_server.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert {"/invocations", "/ping", "/health", "/version", "/v2/models/{name}", "/v2/models/{name}/infer",
            "/v2/health/live", "/v2/health/ready", "/v2/models/{name}/ready"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    row = schemas["DataframeRecords"]["items"]
    assert list(row["properties"]) == list(iris[0].columns)
    assert row["properties"]["sepal_length"] == {"type": "number", "format": "double"}
    assert row["required"] == list(iris[0].columns)
    assert schemas["DataframeSplit"]["properties"]["columns"]["items"]["enum"] == list(iris[0].columns)
    forms = [f["title"] for f in schemas["InvocationsRequest"]["oneOf"]]
    assert forms == ["dataframe_split", "dataframe_records", "instances", "inputs", "input_data"]
    post = doc["paths"]["/invocations"]["post"]
    assert post["requestBody"]["content"]["application/json"]["example"]["dataframe_split"]["columns"][0] \
        == "sepal_length"
    assert {"400", "413", "415", "500", "504"} <= set(post["responses"])
    predictions = schemas["Predictions"]
    assert predictions.get("oneOf", [predictions])[0]["items"]["type"] == "integer"


def test_openapi_params_and_optional_columns(pyfunc_model_dir):
    from openapi_spec_validator import validate

    from mlcask.serving.app import load_served_model
    from mlcask.serving.openapi import openapi_document

    served = load_served_model(str(pyfunc_model_dir))
    doc = openapi_document(served)
    validate(doc)
    params = doc["components"]["schemas"]["Params"]["properties"]
    assert params["scale"] == {"type": "number", "format": "double", "default": 1.0}
    assert params["fail"] == {"type": "boolean", "default": False}
    assert doc["components"]["schemas"]["DataframeRecords"]["items"]["properties"]["tag"] == {"type": "string"}


def test_openapi_validates_and_free_form_without_signature(sklearn_server, serve_model, tmp_path, iris, caplog):
    from openapi_spec_validator import validate
    from sklearn.tree import DecisionTreeClassifier

    from mlcask.serving.app import load_served_model
    from mlcask.serving.openapi import openapi_document

    validate(sklearn_server.client.get("/openapi.json").json())
    X, y = iris
    mlcask.sklearn.save_model(DecisionTreeClassifier(max_depth=2).fit(X.to_numpy(), y), tmp_path / "nosig")
    with caplog.at_level("WARNING", logger="mlcask.serving"):
        served = load_served_model(str(tmp_path / "nosig"))
    assert "no input signature" in caplog.text
    doc = openapi_document(served)
    validate(doc)
    assert "no signature" in doc["components"]["schemas"]["Inputs"]["description"]
    with serve_model(tmp_path / "nosig") as live:
        r = _post(live.client, "/invocations", {"instances": X.head(2).to_numpy().tolist()})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 2


# -- batching ------------------------------------------------------------------------------------------

def test_concurrent_clients_are_batched_and_get_their_own_rows(pyfunc_model_dir, serve_model):
    n_clients = 32
    with serve_model(pyfunc_model_dir, batching=True, max_batch_size=64, max_wait_ms=5) as live:
        served = live.app.state.served
        barrier = threading.Barrier(n_clients)

        def client(i):
            rows = [float(i * 100 + k) for k in range(1 + i % 3)]
            with httpx.Client(base_url=live.url, timeout=30) as c:
                barrier.wait()
                out = []
                for rep in range(3):
                    r = _post(c, "/invocations", {"inputs": {"x": [v + rep for v in rows], "tag": ["t"] * len(rows)}})
                    assert r.status_code == 200, r.text
                    out.append((r.json()["predictions"], [v + rep for v in rows]))
                return out

        with concurrent.futures.ThreadPoolExecutor(n_clients) as pool:
            results = list(pool.map(client, range(n_clients)))
        for per_client in results:
            for got, sent in per_client:
                assert got == sent
        seen = served.model.unwrap_python_model().batches
        assert sum(seen) == sum(3 * (1 + i % 3) for i in range(n_clients))
        assert max(seen) > 3, seen  # requests were merged
        assert max(seen) <= 64
        # requests with params are predicted alone and still correct
        r = _post(live.client, "/invocations", {"inputs": {"x": [1.0, 2.0], "tag": ["a", "b"]}, "params": {"scale": 2}})
        assert r.json() == {"predictions": [2.0, 4.0]}


def test_batcher_splits_and_falls_back():
    import asyncio

    from mlcask.serving.batching import Batcher, split_rows

    assert split_rows(np.arange(5), [2, 3])[1].tolist() == [2, 3, 4]
    assert split_rows(pd.DataFrame({"a": range(3)}), [1, 2])[1]["a"].tolist() == [1, 2]
    assert split_rows(np.float64(1.0), [1, 1]) is None
    assert split_rows([1, 2, 3], [1, 1]) is None

    calls = []

    def total(frame):  # not row-aligned: one number per call
        calls.append(len(frame))
        time.sleep(0.01)
        return float(frame["a"].sum())

    async def main():
        b = Batcher(total, max_batch_size=100, max_wait_ms=20)
        frames = [pd.DataFrame({"a": [float(i)] * (i + 1)}) for i in range(6)]
        out = await asyncio.gather(*(b.submit(f) for f in frames))
        await b.close()
        return out

    out = asyncio.run(main())
    assert out == [float(i * (i + 1)) for i in range(6)]
    assert max(calls) > 1  # a merged call happened, then each request alone


def test_xgboost_served_with_default_batching(tmp_path, serve_model, breast_cancer, xgb_classifier):
    from mlcask.models import infer_signature

    X, _ = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "xgb", input_example=X.head(2),
                              signature=infer_signature(X, xgb_classifier.predict(X)))
    expected = xgb_classifier.predict(X.head(40)).tolist()
    with serve_model(tmp_path / "xgb") as live:
        assert live.app.state.served.batcher is not None

        def one(i):
            r = _post(live.client, "/invocations", {"dataframe_split": json.loads(
                X.iloc[[i]].to_json(orient="split", index=False))})
            return r.json()["predictions"]

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            got = list(pool.map(one, range(40)))
        assert [g[0] for g in got] == expected
        meta = live.client.get("/v2/models/xgb").json()
        assert meta["inputs"][0] == {"name": "mean radius", "datatype": "FP64", "shape": [-1]}


# -- the CLI --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _cli_server(model_dir, *extra):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "mlcask.cli", "models", "serve", "-m", str(model_dir),
                             "--port", str(port), "--max-wait-ms", "1", "--timeout", "10", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 40
        while True:
            try:
                if httpx.get(url + "/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.stdout.read().decode() if proc.poll() is not None else "no /ping")
            time.sleep(0.1)
        yield url, port
    finally:
        proc.terminate()
        proc.wait(10)


def test_models_serve_command(sklearn_model_dir, iris):
    with _cli_server(sklearn_model_dir) as (url, _):
        X, _ = iris
        r = httpx.post(url + "/invocations", json={"dataframe_records": X.head(2).to_dict(orient="records")})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 2


def test_models_serve_command_takes_its_limits(sklearn_model_dir, iris):
    X, _ = iris
    with _cli_server(sklearn_model_dir, "--max-body-bytes", "300", "--max-header-bytes", "2048") as (url, _):
        small = {"dataframe_records": X.head(1).to_dict(orient="records")}
        assert httpx.post(url + "/invocations", json=small).status_code == 200
        big = {"dataframe_records": X.head(20).to_dict(orient="records")}
        assert httpx.post(url + "/invocations", json=big).status_code == 413
        assert httpx.get(url + "/ping", headers={"X-Big": "a" * 4096}).status_code == 431


def test_models_serve_command_caps_headers(sklearn_model_dir):
    with _cli_server(sklearn_model_dir) as (url, port):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            for _ in range(64):  # 256 KiB of one header, over the 64 KiB default cap
                sock.sendall(b"a" * 4096)
                time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(5)
        try:
            answer = sock.recv(200)
        except ConnectionResetError:
            answer = b"(reset)"
        except TimeoutError:
            answer = b""
        sock.close()
        assert answer == b"(reset)" or answer.startswith(b"HTTP/1.1 431"), answer
        assert httpx.get(url + "/ping", timeout=5).status_code == 200


def test_merge_key_is_the_same_for_frames_with_the_same_columns_and_dtypes():
    import asyncio

    import pandas as pd

    from mlcask.serving.batching import _Item

    loop = asyncio.new_event_loop()
    try:
        a = _Item(pd.DataFrame({"x": [1.0], "y": [2.0]}), loop.create_future())
        b = _Item(pd.DataFrame({"x": [3.0, 4.0], "y": [5.0, 6.0]}), loop.create_future())
        c = _Item(pd.DataFrame({"x": [1], "y": [2.0]}), loop.create_future())
        d = _Item(pd.DataFrame({"y": [1.0], "x": [2.0]}), loop.create_future())
    finally:
        loop.close()
    assert a.key == b.key and a.key != c.key and a.key != d.key
