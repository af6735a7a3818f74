"""Fuzz the live scoring server from its own ``/openapi.json`` with Schemathesis.

Every operation the document describes is called with generated requests, both ones
that fit the document (positive) and ones that break it (negative). The model is a
plain LogisticRegression, which never fails on input that passed the server's checks,
so no request may get a 5xx: a bad request is the client's fault (4xx), never a crash.
Bounded to a few dozen requests per operation and mode so the test takes seconds.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

import mlcask

schemathesis = pytest.importorskip("schemathesis")

# Per operation and mode; raise it for a longer hunt: MLCASK_FUZZ_EXAMPLES=500 pytest tests/serving/test_fuzz.py
COLUMNS = ["radius", "texture", "perimeter", "area"]
MAX_EXAMPLES = int(os.environ.get("MLCASK_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def live(tmp_path_factory, breast_cancer, serve_model):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlcask.sklearn
    from mlcask.models import infer_signature

    X, y = breast_cancer
    X = X.iloc[:, :4]
    X.columns = COLUMNS
    model = LogisticRegression(max_iter=1000).fit(X, y)
    path = tmp_path_factory.mktemp("fuzz") / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the integer output column hint
        signature = infer_signature(X, pd.Series(model.predict(X), name="target"))
    mlcask.sklearn.save_model(model, path, signature=signature, input_example=X.head(2))
    with serve_model(path) as server:
        yield server


STATS: dict | None = {} if os.environ.get("MLCASK_FUZZ_STATS") else None


def _operations(url):
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    ops = []
    for result in schema.get_all_operations():
        ops.append(result.ok())  # an operation the document describes badly fails the test here
    return ops


def _fuzz(operation, mode, base_url, session, failures, *, max_examples=MAX_EXAMPLES, ok=lambda status: status < 500):
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base_url, session=session, timeout=30)
        if STATS is not None:
            STATS.setdefault((operation.label, str(mode)), []).append(response.status_code)
        if not ok(response.status_code):
            failures.append(f"{operation.label} [{mode}] -> {response.status_code} {response.text[:300]!r}\n"
                            f"  {case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:
        # An operation with nothing to get wrong (no parameters, no body) has no negative cases.
        if mode != "negative":
            raise


def test_openapi_document_is_served_and_describes_the_endpoints(live):
    import requests

    doc = requests.get(live.url + "/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    assert "/invocations" in doc["paths"] and "post" in doc["paths"]["/invocations"]
    labels = {op.label for op in _operations(live.url)}
    assert "POST /invocations" in labels


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # huge generated doubles
def test_no_server_errors_for_any_generated_request(live):
    import requests
    from schemathesis import GenerationMode

    failures: list[str] = []
    started = time.monotonic()
    with requests.Session() as session:
        for operation in _operations(live.url):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, live.url, session, failures)
    if STATS is not None:
        from collections import Counter

        for key, codes in STATS.items():
            print(key, dict(Counter(codes)))
    assert not failures, "the server answered 5xx:\n" + "\n".join(dict.fromkeys(failures))
    assert time.monotonic() - started < 60


# Positive mode: every request the document allows must be scored (2xx), so the OIP request
# schema must be as strict as the server. Fixed count, derandomized: the same cases every run.
OIP_EXAMPLES = int(os.environ.get("MLCASK_FUZZ_OIP_EXAMPLES", "60"))


class Scaler(mlcask.pyfunc.PythonModel):
    """Takes two named tensors (float32 [-1, 3] and int64 [-1]); returns the first scaled by the second."""

    def predict(self, context, model_input, params=None):
        return model_input["features"] * model_input["weight"][:, None].astype(np.float32)


@pytest.fixture(scope="module")
def tensor_live(tmp_path_factory, serve_model):
    from mlcask.models import ModelSignature
    from mlcask.types import Schema, TensorSpec

    inputs = Schema([TensorSpec(np.dtype("float32"), (-1, 3), "features"), TensorSpec(np.dtype("int64"), (-1,), "weight")])
    path = tmp_path_factory.mktemp("fuzz-tensors") / "scaler"
    mlcask.pyfunc.save_model(path, python_model=Scaler(), signature=ModelSignature(inputs=inputs))
    with serve_model(path) as server:
        yield server


def _positive_oip_run(server):
    import requests
    from schemathesis import GenerationMode

    infer = [op for op in _operations(server.url) if op.label == "POST /v2/models/{name}/infer"]
    assert len(infer) == 1
    failures: list[str] = []
    started = time.monotonic()
    with requests.Session() as session:
        _fuzz(infer[0], GenerationMode.POSITIVE, server.url, session, failures, max_examples=OIP_EXAMPLES,
              ok=lambda status: 200 <= status < 300)
    assert not failures, "requests valid per /openapi.json were refused:\n" + "\n".join(dict.fromkeys(failures))
    assert time.monotonic() - started < 60


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_every_oip_request_the_document_allows_is_scored(live):
    _positive_oip_run(live)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_every_oip_request_the_document_allows_is_scored_for_named_tensors(tensor_live):
    _positive_oip_run(tensor_live)
    doc = tensor_live.client.get("/openapi.json").json()
    forms = [v["properties"]["inputs"]["prefixItems"] for v in doc["components"]["schemas"]["OipInferRequest"]["anyOf"]]
    assert [[t["properties"]["shape"]["const"] for t in form] for form in forms] == [[[1, 3], [1]], [[2, 3], [2]],
                                                                                        [[3, 3], [3]]]
    assert forms[0][0]["properties"]["datatype"] == {"const": "FP32"}
    assert forms[0][0]["properties"]["data"]["items"]["maximum"] == float(np.finfo(np.float32).max)


def test_the_oip_request_schema_follows_the_signature(live):
    import requests

    doc = requests.get(live.url + "/openapi.json", timeout=10).json()
    request = doc["components"]["schemas"]["OipInferRequest"]
    forms = [variant["properties"]["inputs"] for variant in request["anyOf"]]
    per_column = [f for f in forms if len(f["prefixItems"]) == len(COLUMNS)]
    assert [t["properties"]["name"]["const"] for t in per_column[0]["prefixItems"]] == COLUMNS
    first = per_column[0]["prefixItems"][0]["properties"]
    assert first["datatype"] == {"const": "FP64"} and first["shape"] == {"const": [1]}
    assert first["data"]["minItems"] == first["data"]["maxItems"] == 1
    assert first["data"]["items"]["type"] == "number"
    two_d = [f for f in forms if len(f["prefixItems"]) == 1]
    assert two_d[0]["prefixItems"][0]["properties"]["shape"] == {"const": [1, len(COLUMNS)]}
    assert two_d[0]["prefixItems"][0]["properties"]["name"]["not"] == {"enum": COLUMNS}


@pytest.mark.parametrize("body", [
    {"dataframe_split": {"columns": COLUMNS, "data": []}},
    {"dataframe_records": []},
    {"dataframe_split": {"columns": COLUMNS, "data": [[None, 2.0, 3.0, 4.0]]}},
], ids=["empty-dataframe_split", "empty-dataframe_records", "null-value"])
def test_bad_tables_are_client_errors(live, body):
    import requests

    resp = requests.post(live.url + "/invocations", json=body, timeout=10)
    assert 400 <= resp.status_code < 500, resp.text


# Found by the fuzzer: inputs that used to reach the model and fail there (a 500). They are
# refused as client errors before the model sees them.
@pytest.mark.parametrize("body", [
    # columnar `instances` with zero rows: sklearn raises "Found array with 0 sample(s)"
    {"instances": {c: [] for c in COLUMNS}},
    # ragged rows: pandas pads the short row with NaN (deprecated), then sklearn raises on NaN
    {"dataframe_split": {"columns": COLUMNS, "data": [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]]}},
], ids=["instances-zero-rows", "ragged-rows"])
def test_input_the_model_fails_on_is_a_client_error(live, body):
    import requests

    resp = requests.post(live.url + "/invocations", json=body, timeout=10)
    assert 400 <= resp.status_code < 500, resp.text
