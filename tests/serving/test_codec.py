"""One codec: the server and ``mlcask models predict`` render the same predictions the same way, and
the server enforces the signature once per request."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.serving.batch_predict import predict_file

ROWS = 5


def _floats(n):
    return np.array([0.1 + 0.2, 1 / 3, 1e-7, 1e16, -0.0, 2.5][:n] + [0.7] * max(0, n - 6))


def _datetimes(n, unit="ns"):
    values = ["2024-01-01T10:00:00.5", "NaT", "2024-02-29T23:59:59", "1999-12-31", "2024-06-01"] * 2
    return np.array(values[:n], dtype=f"datetime64[{unit}]")


OUTPUTS = {
    "floats": lambda n: _floats(n),
    "float32": lambda n: _floats(n).astype(np.float32),
    "ints": lambda n: np.arange(n, dtype=np.int64) * 10**15,
    "bools": lambda n: np.arange(n) % 2 == 0,
    "strings": lambda n: np.array([f"é{i}" for i in range(n)], dtype=object),
    "datetime64": lambda n: _datetimes(n),
    "datetime64-us": lambda n: _datetimes(n, "us"),
    "tz-series": lambda n: pd.Series(pd.DatetimeIndex(_datetimes(n)).tz_localize("Europe/Paris"), name="at"),
    "missing": lambda n: np.array([np.nan, np.inf, -np.inf, 1.5, np.nan, 0.25][:n]),
    "objects-with-none": lambda n: np.array([None, "a", 1, 2.5, None][:n], dtype=object),
    "series": lambda n: pd.Series(_floats(n), name="score"),
    "frame": lambda n: pd.DataFrame({
        "score": _floats(n), "label": [f"c{i}" for i in range(n)], "count": np.arange(n),
        "when": _datetimes(n), "zoned": pd.DatetimeIndex(_datetimes(n)).tz_localize("UTC"),
        "maybe": [None if i % 2 else 0.5 for i in range(n)]}),
    "dict": lambda n: {"score": _floats(n), "label": np.array([f"c{i}" for i in range(n)], dtype=object),
                       "when": _datetimes(n)},
}


def _take(values, rows):
    if isinstance(values, dict):
        return {k: _take(v, rows) for k, v in values.items()}
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return values.iloc[rows].reset_index(drop=True)
    return values[rows]


class Outputs(mlcask.pyfunc.PythonModel):
    """Returns, for each input row x, prediction number x of the kind it was saved with."""

    def __init__(self, kind):
        self.kind = kind

    def predict(self, context, model_input, params=None):
        return _take(OUTPUTS[self.kind](ROWS), model_input["x"].to_numpy().astype(int))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from mlcask.models import infer_signature

    root = tmp_path_factory.mktemp("outputs")
    signature = infer_signature(pd.DataFrame({"x": [1.0]}))
    paths = {}
    for kind in OUTPUTS:
        paths[kind] = root / kind
        mlcask.pyfunc.save_model(paths[kind], python_model=Outputs(kind), signature=signature)
    return paths


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "in.csv"
    pd.DataFrame({"x": np.arange(ROWS, dtype=float)}).to_csv(path, index=False)
    return path


def _batch(model_dir, source, out, chunk_size=ROWS):
    predict_file(mlcask.pyfunc.load_model(model_dir), source, str(out), chunk_size=chunk_size)
    return out.read_bytes()


@pytest.mark.parametrize("kind", list(OUTPUTS))
def test_server_and_batch_predict_render_alike(kind, models, source, tmp_path, serve_model):
    with serve_model(models[kind], batching=False) as live:
        served = live.client.post("/invocations", content=source.read_bytes(), headers={"content-type": "text/csv"})
    assert served.status_code == 200, served.text
    assert _batch(models[kind], source, tmp_path / "one.json") == served.content  # byte for byte
    chunked = json.loads(_batch(models[kind], source, tmp_path / "chunks.json", chunk_size=2))
    assert chunked == served.json()  # 3 chunks, one JSON document
    expected = served.json()["predictions"]
    lines = [json.loads(line) for line in _batch(models[kind], source, tmp_path / "out.jsonl").splitlines()]
    if isinstance(expected, dict):  # JSON Lines is row-wise: one object per row
        assert lines == [{k: v[i] for k, v in expected.items()} for i in range(ROWS)]
    else:
        assert lines == expected
    _batch(models[kind], source, tmp_path / "out.csv")
    assert len(pd.read_csv(tmp_path / "out.csv")) == ROWS


def _served(models, kind, source, serve_model):
    with serve_model(models[kind], batching=False) as live:
        r = live.client.post("/invocations", content=source.read_bytes(), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    return r


def test_values_are_rendered_as_mlflow_renders_them(models, source, serve_model):
    text = _served(models, "floats", source, serve_model).text
    assert "0.30000000000000004" in text and "0.3333333333333333" in text  # shortest round-trip repr
    floats = _served(models, "float32", source, serve_model).json()["predictions"]
    assert floats[0] == float(np.float32(0.1 + 0.2))  # the double a float32 is, as MLflow writes it
    got = _served(models, "datetime64", source, serve_model).json()["predictions"]
    assert got == ["2024-01-01T10:00:00.500000", None, "2024-02-29T23:59:59", "1999-12-31T00:00:00",
                   "2024-06-01T00:00:00"]
    assert _served(models, "datetime64-us", source, serve_model).json()["predictions"] == got
    zoned = _served(models, "tz-series", source, serve_model).json()["predictions"]
    assert zoned[0] == {"at": "2024-01-01T10:00:00.500000+01:00"} and zoned[1] == {"at": None}
    assert _served(models, "missing", source, serve_model).json()["predictions"] == [None, None, None, 1.5, None]
    frame = _served(models, "frame", source, serve_model).json()["predictions"]
    assert frame[1] == {"score": 1 / 3, "label": "c1", "count": 1, "when": None, "zoned": None, "maybe": None}
    assert frame[0]["zoned"] == "2024-01-01T10:00:00.500000+00:00"
    assert _served(models, "series", source, serve_model).json()["predictions"][0] == {"score": 0.1 + 0.2}
    as_dict = _served(models, "dict", source, serve_model).json()["predictions"]
    assert as_dict["label"] == [f"c{i}" for i in range(ROWS)] and as_dict["when"][1] is None


def test_codec_renders_without_a_server():
    from mlcask.serving.codec import merge_dicts, prediction_items, predictions_json

    assert predictions_json(np.array([0.1 + 0.2])) == b'{"predictions":[0.30000000000000004]}'
    assert predictions_json(np.datetime64("NaT")) == b'{"predictions":null}'
    assert predictions_json(pd.NaT) == b'{"predictions":null}'
    assert predictions_json(np.array([b"ab"])) == b'{"predictions":["YWI=\\n"]}'
    assert prediction_items(np.array([1, 2])) == b"1,2" and prediction_items(3.5) is None
    merged = merge_dicts([{"a": np.array([1]), "b": [1]}, {"a": np.array([2]), "b": [2]}])
    assert merged["a"].tolist() == [1, 2] and merged["b"] == [1, 2]


# -- the signature is enforced once per request ---------------------------------------------------

@pytest.mark.parametrize("batching", [True, False])
def test_the_schema_is_enforced_once_per_request(pyfunc_model_dir, serve_model, monkeypatch, batching):
    import mlcask.models.enforcement as enforcement

    real = enforcement.enforce_schema
    calls = []

    def counting(data, schema):
        calls.append(len(data))
        return real(data, schema)

    with serve_model(pyfunc_model_dir, batching=batching) as live:
        assert (live.app.state.served.batcher is not None) is batching
        monkeypatch.setattr(enforcement, "enforce_schema", counting)
        requests = [
            ("/invocations", "application/json", json.dumps({"inputs": {"x": [1.0, 2.0], "tag": ["a", "b"]}})),
            ("/invocations", "text/csv", "x,tag\n1.0,a\n2.0,b\n"),
            ("/invocations", "application/json", json.dumps({"dataframe_records": [{"x": 1.0, "tag": "a"}]})),
            ("/v2/models/echo/infer", "application/json", json.dumps({"inputs": [
                {"name": "x", "shape": [1], "datatype": "FP64", "data": [3.0]},
                {"name": "tag", "shape": [1], "datatype": "BYTES", "data": ["c"]}]})),
        ]
        for path, content_type, body in requests:
            before = len(calls)
            r = live.client.post(path, content=body, headers={"content-type": content_type})
            assert r.status_code == 200, r.text
            assert len(calls) - before == 1, (path, content_type, calls[before:])
        before = len(calls)
        r = live.client.post("/invocations", content=json.dumps({"inputs": {"x": [1.0], "tag": ["a"]},
                                                                 "params": {"scale": 2.0}}),
                             headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json() == {"predictions": [2.0]} and len(calls) - before == 1


def test_numpy_scalars_inside_python_lists_render_like_arrays():
    import numpy as np
    import pandas as pd

    from mlcask.serving.codec import predictions_json

    body = predictions_json([np.float32(0.5), np.datetime64("NaT"), pd.NaT, np.datetime64("2020-01-02"),
                             float("nan"), np.int64(3), [np.datetime64("NaT")]])
    assert body == b'{"predictions":[0.5,null,null,"2020-01-02T00:00:00",null,3,[null]]}'
