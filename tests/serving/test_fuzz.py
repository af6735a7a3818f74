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

import pytest

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


def _fuzz(operation, mode, base_url, session, failures):
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base_url, session=session, timeout=30)
        if STATS is not None:
            STATS.setdefault((operation.label, str(mode)), []).append(response.status_code)
        if response.status_code >= 500:
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
