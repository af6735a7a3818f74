"""The scoring hot path: byte-identical to the general path, and taken only where it can be."""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time

import numpy as np
import orjson
import pandas as pd
import pytest

import mlcask
from mlcask.serving.batching import Batcher
from mlcask.serving.fastpath import NumericRows

COLUMNS = ["a", "b", "c d", "é"]


class FrameEcho(mlcask.pyfunc.PythonModel):
    """Returns the DataFrame it is given: the response shows its columns, order, dtypes and values."""

    def predict(self, context, model_input, params=None):
        return model_input


def _scope(body: bytes, content_type: str = "application/json") -> dict:
    return {"type": "http", "method": "POST", "path": "/invocations", "root_path": "", "raw_path": b"/invocations",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", content_type.encode()),
                        (b"content-length", str(len(body)).encode())],
            "query_string": b"", "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 5000), "state": {}}


async def _call(app, body: bytes, content_type: str = "application/json") -> tuple[int, list, bytes]:
    """One POST /invocations through the ASGI app: (status, headers, body)."""
    messages = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        messages.append(message)

    await app(_scope(body, content_type), receive, send)
    return messages[0]["status"], messages[0]["headers"], b"".join(m.get("body", b"") for m in messages[1:])


async def _both(app, body: bytes) -> tuple[tuple, tuple]:
    """The response of the hot path and of the general path (the app without its reader) to ``body``."""
    fast = await _call(app, body)
    reader, app.fast_rows = app.fast_rows, None
    try:
        general = await _call(app, body)
    finally:
        app.fast_rows = reader
    return fast, general


# -- random payloads ---------------------------------------------------------------------------------

def _value(rng: random.Random):
    roll = rng.random()
    if roll < 0.55:
        return rng.uniform(-1e3, 1e3)
    if roll < 0.75:
        return rng.randint(-10**6, 10**6)
    odd = [None, True, False, "1.5", "x", [1.0], {"v": 1}, float("nan"), float("inf"), -float("inf"),
           2**53, 2**53 + 1, -(2**60), 2**70, 1e-320, -0.0, 0, 1e308]
    return rng.choice(odd)


def _table(rng: random.Random) -> tuple[list[str], list[list]]:
    """Columns (the signature's, maybe reordered, with extra or missing ones) and rows of values."""
    columns = list(COLUMNS)
    if rng.random() < 0.3:
        rng.shuffle(columns)
    if rng.random() < 0.15:
        columns.append(rng.choice(["extra", "b", "zz"]))  # "b" again: a repeated column
    if rng.random() < 0.1:
        columns.remove(rng.choice(COLUMNS))
    plain = rng.random() < 0.6  # most tables hold numbers only
    rows = [[(rng.uniform(-5, 5) if rng.random() < 0.7 else rng.randint(-9, 9)) if plain else _value(rng)
             for _ in columns] for _ in range(rng.choice([1, 1, 2, 3, 7, 0]))]
    return columns, rows


def _payload(rng: random.Random) -> dict:
    columns, rows = _table(rng)
    records = [dict(zip(columns, row)) for row in rows]
    if rng.random() < 0.2:
        for record in records:
            items = list(record.items())
            rng.shuffle(items)
            record.clear()
            record.update(items)
    as_columns = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    forms = {
        "split": lambda: {"dataframe_split": {"columns": columns, "data": rows}},
        "split_index": lambda: {"dataframe_split": {"columns": columns, "index": list(range(len(rows))), "data": rows}},
        "split_nocols": lambda: {"dataframe_split": {"data": rows}},
        "records": lambda: {"dataframe_records": records},
        "instances_rows": lambda: {"instances": rows},
        "instances_records": lambda: {"instances": records},
        "inputs_columns": lambda: {"inputs": as_columns},
        "inputs_rows": lambda: {"inputs": rows},
        "azure_split": lambda: {"input_data": {"columns": columns, "index": list(range(len(rows))), "data": rows}},
        "azure_split_noindex": lambda: {"input_data": {"columns": columns, "data": rows}},
        "azure_list": lambda: {"input_data": rows},
        "azure_dict": lambda: {"input_data": as_columns},
    }
    payload = forms[rng.choice(sorted(forms))]()
    if rng.random() < 0.08:
        payload["params"] = {}
    if rng.random() < 0.03:
        payload["inputs"] = rows  # two payload keys
    return payload


def _body(payload: dict) -> bytes:
    return json.dumps(payload).encode()  # NaN and Infinity as Python's literals, which the server reads


def _check_identical(app, reader: NumericRows, count: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    seen = {"fast": 0, "general": 0, "ok": 0, "error": 0}

    async def main():
        try:
            for _ in range(count):
                body = _body(_payload(rng))
                try:
                    took = reader.read(orjson.loads(body)) is not None
                except orjson.JSONDecodeError:
                    took = False
                fast, general = await _both(app, body)
                assert fast == general, (body, fast, general)
                seen["fast" if took else "general"] += 1
                seen["ok" if fast[0] == 200 else "error"] += 1
        finally:
            served = app.state.served
            if served.batcher is not None:
                await served.batcher.close()

    asyncio.run(main())
    return seen


@pytest.fixture(scope="module")
def echo_dir(tmp_path_factory):
    from mlcask.models import infer_signature

    example = pd.DataFrame({name: [1.5, 2.0] for name in COLUMNS})
    path = tmp_path_factory.mktemp("fast") / "echo"
    mlcask.pyfunc.save_model(path, python_model=FrameEcho(), signature=infer_signature(example, example),
                             input_example=example)
    return path


@pytest.mark.parametrize("batching", [True, False])
def test_frame_echo_responses_are_byte_identical(echo_dir, batching):
    from mlcask.serving import create_app

    app = create_app(str(echo_dir), batching=batching)
    assert (app.state.served.batcher is not None) is batching
    seen = _check_identical(app, app.fast_rows, 400, seed=1 if batching else 2)
    assert seen["fast"] > 60 and seen["general"] > 60, seen  # both paths were exercised, both ways
    assert seen["ok"] > 60 and seen["error"] > 60, seen


def test_sklearn_and_xgboost_responses_are_byte_identical(tmp_path, iris, breast_cancer, xgb_classifier):
    from sklearn.linear_model import LinearRegression

    from mlcask.models import infer_signature
    from mlcask.serving import create_app

    X, y = iris
    X = X.set_axis(COLUMNS, axis=1)
    regressor = LinearRegression().fit(X, y.astype(float))  # float output: any change of a value shows
    mlcask.sklearn.save_model(regressor, tmp_path / "lr", signature=infer_signature(X, regressor.predict(X)))
    app = create_app(str(tmp_path / "lr"))
    seen = _check_identical(app, app.fast_rows, 250, seed=3)
    assert seen["fast"] > 40 and seen["general"] > 40, seen

    Xc, _ = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "xgb", signature=infer_signature(Xc, xgb_classifier.predict(Xc)))
    app = create_app(str(tmp_path / "xgb"))
    reader = app.fast_rows
    assert reader is not None and reader.names == list(Xc.columns)

    async def main():
        try:
            for rows in (1, 5, 100):
                frame = Xc.sample(n=rows, random_state=rows)
                split = json.loads(frame.to_json(orient="split", index=False))
                shuffled = frame[list(reversed(frame.columns))]
                for payload in ({"dataframe_split": split}, {"input_data": split},
                                {"dataframe_records": json.loads(shuffled.to_json(orient="records"))}):
                    fast, general = await _both(app, _body(payload))
                    assert fast == general and fast[0] == 200
                    assert json.loads(fast[2])["predictions"] == xgb_classifier.predict(frame).tolist()
        finally:
            await app.state.served.batcher.close()

    asyncio.run(main())


# -- the domain ---------------------------------------------------------------------------------------

def _reader() -> NumericRows:
    from mlcask.types import ColSpec, Schema

    return NumericRows.for_schema(Schema([ColSpec("double", name) for name in COLUMNS]))


@pytest.mark.parametrize("payload", [
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2.5, 3, 4]]}},
    {"dataframe_records": [{"é": 1, "c d": 2, "b": 3, "a": 4, "other": 0}]},
    {"instances": [[1, 2, 3, 4], [5, 6, 7, 8.5]]},
    {"inputs": {name: [1.0, 2.0] for name in COLUMNS}},
    {"input_data": {"columns": COLUMNS, "data": [[1, 2, 3, 4]]}},
    {"input_data": [[1, 2, 3, 4]]},
    {"input_data": {name: [1] for name in COLUMNS}},
])
def test_plain_numbers_take_the_hot_path_in_signature_order(payload):
    rows = _reader().read(payload)
    assert rows is not None and rows.dtype == np.float64 and rows.shape[1] == 4
    first = {"é": 1, "c d": 2, "b": 3, "a": 4}
    if "dataframe_records" in payload:
        assert rows[0].tolist() == [first[name] for name in COLUMNS]
    # the general path's memory layout: row-major from dataframe_split, column-major from the other forms
    split = "dataframe_split" in payload or "columns" in payload.get("input_data", {})
    assert rows.flags.c_contiguous if split else rows.flags.f_contiguous


@pytest.mark.parametrize("payload", [
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, None]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, True]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, "4"]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, math.nan]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, math.inf]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, 2**53 + 1]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, [4]]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": []}},
    {"dataframe_split": {"columns": COLUMNS, "index": [0], "data": [[1, 2, 3, 4]]}},
    {"dataframe_split": {"data": [[1, 2, 3, 4]]}},
    {"dataframe_split": {"columns": COLUMNS[:3], "data": [[1, 2, 3]]}},
    {"dataframe_split": {"columns": COLUMNS + ["a"], "data": [[1, 2, 3, 4, 5]]}},
    {"dataframe_split": {"columns": list(reversed(COLUMNS)), "data": [[1, 2, 3, 4]]}},
    {"dataframe_split": {"columns": COLUMNS + ["extra"], "data": [[1, 2, 3, 4, 5]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3]]}},
    {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, 4]]}, "params": {}},
    {"dataframe_records": [{"a": 1, "b": 2, "c d": 3}]},
    {"instances": [[1, 2, 3]]},
    {"instances": [1, 2, 3, 4]},
    {"inputs": {**{name: [1.0] for name in COLUMNS}, "extra": [1.0, 2.0]}},
    {"inputs": {name: 1.0 for name in COLUMNS}},
    {"inputs": [[1, 2, 3, 4]], "instances": [[1, 2, 3, 4]]},
    [[1, 2, 3, 4]],
])
def test_anything_else_is_left_to_the_general_path(payload):
    assert _reader().read(payload) is None


def test_only_required_double_columns_have_a_hot_path():
    from mlcask.types import ColSpec, Schema, TensorSpec

    assert NumericRows.for_schema(None) is None
    assert NumericRows.for_schema(Schema([ColSpec("double", "a"), ColSpec("long", "b")])) is None
    assert NumericRows.for_schema(Schema([ColSpec("double", "a"), ColSpec("double", "b", required=False)])) is None
    assert NumericRows.for_schema(Schema([ColSpec("double")])) is None  # no names
    assert NumericRows.for_schema(Schema([TensorSpec(np.dtype("float64"), (-1, 2))])) is None
    assert NumericRows.for_schema(Schema([ColSpec("double", "a")])).read({"inputs": {"a": [1, 2]}}).tolist() \
        == [[1.0], [2.0]]


def test_a_body_over_the_large_size_takes_the_general_path(echo_dir, monkeypatch):
    from mlcask.serving import app as app_module
    from mlcask.serving import codec

    read = []
    monkeypatch.setattr(NumericRows, "read", lambda self, payload: read.append(1))
    body = _body({"dataframe_split": {"columns": COLUMNS, "data": [[1.5, 2.5, 3.5, 4.5]] * 20_000}})
    assert len(body) > codec.LARGE_BODY_BYTES
    assert app_module._decoded(body, "application/json", _reader()) is None
    assert app_module._decoded(b'{"inputs": [[1, 2, 3, 4]]}', "text/csv", _reader()) is None
    assert app_module._decoded(b'{"inputs": [[NaN, 2, 3, 4]]}', "application/json", _reader()) is None
    assert not read


def test_other_methods_and_paths_still_go_through_starlette(echo_dir):
    from starlette.testclient import TestClient

    from mlcask.serving import create_app

    with TestClient(create_app(str(echo_dir))) as client:
        assert client.get("/invocations").status_code == 405
        assert client.get("/ping").status_code == 200
        r = client.post("/invocations", json={"inputs": {name: [1] for name in COLUMNS}})
        assert r.status_code == 200 and r.json() == {"predictions": [{name: 1.0 for name in COLUMNS}]}
        r = client.post("/invocations", content=b"{}", headers={"content-type": "application/xml"})
        assert r.status_code == 415 and r.json()["error_code"] == "BAD_REQUEST"


# -- the batcher ---------------------------------------------------------------------------------------

def test_a_lone_request_is_predicted_at_once_and_queued_ones_merge():
    calls = []

    def predict(rows):
        calls.append((type(rows).__name__, len(rows), threading.current_thread().name))
        return np.arange(len(rows)) if isinstance(rows, np.ndarray) else rows["a"].to_numpy()

    async def main():
        b = Batcher(predict, max_batch_size=64, max_wait_ms=60_000)  # a wait on the clock would hang the test
        started = time.monotonic()
        assert (await asyncio.wait_for(b.submit(np.ones((1, 3))), 5)).tolist() == [0]
        alone = time.monotonic() - started
        arrays = await asyncio.gather(*(b.submit(np.ones((i + 1, 3))) for i in range(4)))
        frames = await asyncio.gather(*(b.submit(pd.DataFrame({"a": [float(i)]})) for i in range(3)))
        mixed = await asyncio.gather(b.submit(np.ones((2, 3))), b.submit(pd.DataFrame({"a": [7.0]})))
        await b.close()
        return alone, arrays, frames, mixed

    alone, arrays, frames, mixed = asyncio.run(main())
    assert alone < 2
    assert [a.tolist() for a in arrays] == [[0], [1, 2], [3, 4, 5], [6, 7, 8, 9]]  # one merged call, split back
    assert [f.tolist() for f in frames] == [[0.0], [1.0], [2.0]]
    assert mixed[0].tolist() == [0, 1] and mixed[1].tolist() == [7.0]  # arrays and frames never merge
    assert [(kind, n) for kind, n, _ in calls] == [("ndarray", 1), ("ndarray", 10), ("DataFrame", 3),
                                                   ("ndarray", 2), ("DataFrame", 1)]
    assert calls[0][2].startswith("mlcask-predict")  # the first predict runs in the batcher's thread
    assert calls[-1][2] == "MainThread"  # short predicts then run on the event loop


def test_a_slow_predict_goes_back_to_the_thread():
    where = []

    def predict(rows):
        where.append(threading.current_thread().name)
        if rows[0, 0] == 1.0:  # a model waiting on something
            time.sleep(0.05)
        return np.zeros(len(rows))

    async def main():
        b = Batcher(predict, max_batch_size=8, inline_ms=3)
        for value in (0.0, 0.0, 1.0, 0.0, 0.0):
            await b.submit(np.full((1, 2), value))
        inline_after = b.inline
        await b.close()
        return inline_after

    assert not asyncio.run(main())
    assert where[0].startswith("mlcask-predict") and where[1] == where[2] == "MainThread"
    assert all(name.startswith("mlcask-predict") for name in where[3:])  # back in the thread for a second


def test_a_timed_out_request_is_left_out_of_its_batch():
    seen = []

    def predict(rows):
        seen.append(len(rows))
        time.sleep(0.2)
        return np.zeros(len(rows))

    async def main():
        b = Batcher(predict, max_batch_size=8)
        first = b.submit(np.ones((1, 2)))
        late = b.submit(np.ones((3, 2)))
        late.cancel()  # what the caller's timeout does
        await first
        await b.close()

    asyncio.run(main())
    assert seen == [1]


class SlowEcho(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        time.sleep(0.5)
        return model_input


def test_a_hot_path_predict_over_the_timeout_is_a_504(tmp_path):
    from mlcask.models import infer_signature
    from mlcask.serving import create_app

    example = pd.DataFrame({name: [1.5] for name in COLUMNS})
    mlcask.pyfunc.save_model(tmp_path / "slow", python_model=SlowEcho(), signature=infer_signature(example, example))
    app = create_app(str(tmp_path / "slow"), batching=True, timeout=0.1)
    body = _body({"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3, 4]]}})
    assert app.fast_rows.read(orjson.loads(body)) is not None

    async def main():
        try:
            return await _call(app, body)
        finally:
            await app.state.served.batcher.close()

    status, headers, content = asyncio.run(main())
    assert status == 504 and json.loads(content) == {
        "error_code": "DEADLINE_EXCEEDED", "message": "The prediction exceeded the server's timeout of 0.1 s."}


def test_the_fast_route_sends_what_the_starlette_route_sends(echo_dir):
    from starlette.requests import Request

    from mlcask.serving import create_app
    from mlcask.serving.app import answer_invocation

    app = create_app(str(echo_dir), batching=False)

    async def through_route(body: bytes) -> list[dict]:
        messages = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            messages.append(message)

        scope = {**_scope(body), "app": app}
        response = await answer_invocation(Request(scope, receive), app.fast_rows)
        await response(scope, receive, send)
        return messages

    async def main():
        statuses = []
        for payload in ({"dataframe_split": {"columns": COLUMNS, "data": [[1.0, 2.0, 3.0, 4.0]]}},
                        {"dataframe_records": [{"a": 1}]}, {"nope": 1}):
            body = _body(payload)
            status, headers, content = await _call(app, body)
            (start, *rest) = await through_route(body)
            assert (status, headers) == (start["status"], start["headers"])
            assert content == b"".join(m.get("body", b"") for m in rest)
            statuses.append(status)
        assert statuses == [200, 400, 400]

    asyncio.run(main())
