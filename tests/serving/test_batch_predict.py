"""``mlcask models predict``: file scoring, run through click's test runner."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli_predict import predict
from mlcask.models import infer_signature

pytestmark = pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer")


@pytest.fixture(scope="module")
def xgb_model(tmp_path_factory, breast_cancer, xgb_classifier):
    X, y = breast_cancer
    path = tmp_path_factory.mktemp("models") / "xgb"
    mlcask.xgboost.save_model(xgb_classifier, path, signature=infer_signature(X, y))
    return path


@pytest.fixture(scope="module")
def sklearn_model(tmp_path_factory, breast_cancer, logistic_regression):
    X, y = breast_cancer
    path = tmp_path_factory.mktemp("models") / "lr"
    mlcask.sklearn.save_model(logistic_regression, path, signature=infer_signature(X, y))
    return path


@pytest.fixture(scope="module")
def expected(breast_cancer, xgb_model):
    X, _ = breast_cancer
    return np.asarray(mlcask.pyfunc.load_model(xgb_model).predict(X))


def run(*args):
    result = CliRunner().invoke(predict, [str(a) for a in args])
    return result.exit_code, result.output


def read_predictions(path):
    suffix = path.suffix
    if suffix == ".json":
        return np.asarray(json.loads(path.read_text())["predictions"])
    if suffix == ".jsonl":
        return np.asarray([json.loads(line) for line in path.read_text().splitlines()])
    if suffix == ".csv":
        return pd.read_csv(path).iloc[:, 0].to_numpy()
    return pd.read_parquet(path).iloc[:, 0].to_numpy()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("out_ext", ["csv", "json", "jsonl", "parquet"])
@pytest.mark.parametrize("in_fmt", ["csv", "split", "records", "inputs", "jsonl", "array", "parquet"])
def test_every_input_and_output_format(tmp_path, breast_cancer, xgb_model, expected, in_fmt, out_ext):
    if "parquet" in (in_fmt, out_ext):
        pytest.importorskip("pyarrow")
    X, _ = breast_cancer
    ext = {"split": "json", "records": "json", "inputs": "json", "array": "json"}.get(in_fmt, in_fmt)
    source = tmp_path / f"in.{ext}"
    if in_fmt == "csv":
        X.to_csv(source, index=False)
    elif in_fmt == "split":
        source.write_text(json.dumps({"dataframe_split": json.loads(X.to_json(orient="split", index=False))},
                                     indent=1))
    elif in_fmt == "records":
        source.write_text(json.dumps({"dataframe_records": json.loads(X.to_json(orient="records"))}))
    elif in_fmt == "inputs":
        source.write_text(json.dumps({"inputs": json.loads(X.to_json(orient="records"))}))
    elif in_fmt == "array":
        source.write_text(X.to_json(orient="records"))
    elif in_fmt == "jsonl":
        source.write_text(X.to_json(orient="records", lines=True))
    else:
        X.to_parquet(source)
    out = tmp_path / f"out.{out_ext}"
    code, output = run("-m", xgb_model, "-i", source, "-o", out, "--chunk-size", 100, "--no-progress")
    assert code == 0, output
    got = read_predictions(out)
    assert len(got) == len(X) == len(expected)
    np.testing.assert_array_equal(got, expected)
    assert f"Wrote {len(X):,} predictions" in output
    assert leftovers(tmp_path) == []


def test_json_output_matches_the_servers_shape_and_stdout(tmp_path, breast_cancer, sklearn_model):
    X, _ = breast_cancer
    source = tmp_path / "in.csv"
    X.head(7).to_csv(source, index=False)
    code, output = run("-m", sklearn_model, "-i", source, "--chunk-size", 3)  # -o - by default
    assert code == 0, output
    body = json.loads(output)
    want = mlcask.pyfunc.load_model(sklearn_model).predict(X.head(7))
    assert body == {"predictions": np.asarray(want).tolist()}


def test_csv_output_uses_the_signatures_output_name(tmp_path, breast_cancer, xgb_model):
    X, _ = breast_cancer
    source = tmp_path / "in.csv"
    X.head(5).to_csv(source, index=False)
    code, output = run("-m", xgb_model, "-i", source, "-o", tmp_path / "out.csv")
    assert code == 0, output
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "target"


def test_large_csv_in_chunks(tmp_path, breast_cancer, xgb_model):
    X, _ = breast_cancer
    big = X.sample(n=20_000, replace=True, random_state=0).reset_index(drop=True)
    source = tmp_path / "big.csv"
    big.to_csv(source, index=False)
    out = tmp_path / "big-out.csv"
    code, output = run("-m", xgb_model, "-i", source, "-o", out, "--chunk-size", 1000, "--no-progress")
    assert code == 0, output
    assert "20,000 predictions" in output and "20 chunks" in output
    got = pd.read_csv(out)
    assert len(got) == 20_000
    # Values as the model gives them on the CSV round-tripped data.
    want = mlcask.pyfunc.load_model(xgb_model).predict(pd.read_csv(source))
    np.testing.assert_array_equal(got["target"].to_numpy(), np.asarray(want))


def test_chunks_are_bounded(tmp_path, breast_cancer, xgb_model):
    from mlcask.serving.batch_predict import predict_file

    X, _ = breast_cancer
    source = tmp_path / "in.jsonl"
    X.to_json(source, orient="records", lines=True)
    sizes = []
    model = mlcask.pyfunc.load_model(xgb_model)
    result = predict_file(model, source, str(tmp_path / "o.jsonl"), chunk_size=50,
                          on_chunk=lambda c: sizes.append(c.rows))
    assert result.rows == len(X) and max(sizes) == 50 and sum(sizes) == len(X)


def test_missing_column_names_the_rows_and_leaves_no_output(tmp_path, breast_cancer, xgb_model):
    X, _ = breast_cancer
    bad = X.sample(n=2500, replace=True, random_state=1).reset_index(drop=True)
    bad["mean radius"] = bad["mean radius"].astype(object)
    bad.loc[2200:, "mean radius"] = "oops"  # only the third chunk is bad
    source = tmp_path / "bad.csv"
    bad.to_csv(source, index=False)
    out = tmp_path / "out.csv"
    code, output = run("-m", xgb_model, "-i", source, "-o", out, "--chunk-size", 1000)
    assert code == 1
    assert "mean radius" in output and "chunk 3, rows 2001-2500" in output
    assert not out.exists() and leftovers(tmp_path) == []

    source = tmp_path / "missing.csv"
    X.drop(columns=["mean radius"]).head(10).to_csv(source, index=False)
    code, output = run("-m", xgb_model, "-i", source, "-o", out)
    assert code == 1 and "Error:" in output and "mean radius" in output and "rows 1-10" in output
    assert "Traceback" not in output
    assert not out.exists() and leftovers(tmp_path) == []


def test_existing_output_is_kept_when_scoring_fails(tmp_path, breast_cancer, xgb_model):
    X, _ = breast_cancer
    source = tmp_path / "missing.csv"
    X.drop(columns=["mean texture"]).head(10).to_csv(source, index=False)
    out = tmp_path / "out.json"
    out.write_text("previous")
    code, output = run("-m", xgb_model, "-i", source, "-o", out)
    assert code == 1 and "mean texture" in output
    assert out.read_text() == "previous" and leftovers(tmp_path) == []


def test_missing_file_bad_extension_unreadable(tmp_path, breast_cancer, xgb_model):
    code, output = run("-m", xgb_model, "-i", tmp_path / "nope.csv", "-o", tmp_path / "o.csv")
    assert code == 1 and "'" + str(tmp_path / "nope.csv") + "' does not exist" in output

    source = tmp_path / "in.txt"
    source.write_text("a,b\n1,2\n")
    code, output = run("-m", xgb_model, "-i", source, "-o", tmp_path / "o.csv")
    assert code == 1 and "extension '.txt'" in output and "--content-type" in output

    X, _ = breast_cancer
    good = tmp_path / "in.csv"
    X.head(3).to_csv(good, index=False)
    code, output = run("-m", xgb_model, "-i", good, "-o", tmp_path / "o.xlsx")
    assert code == 1 and "Unsupported output file extension '.xlsx'" in output

    # --content-type overrides the extension
    code, output = run("-m", xgb_model, "-i", source.rename(tmp_path / "data.txt"), "-t", "csv",
                       "-o", tmp_path / "o.csv")
    assert code == 1 and "mean radius" in output  # read as CSV, then rejected by the signature

    broken = tmp_path / "broken.json"
    broken.write_text('{"dataframe_split": {"columns": ["a"], ')
    code, output = run("-m", xgb_model, "-i", broken, "-o", tmp_path / "o.json")
    assert code == 1 and "Cannot read" in output and "as JSON" in output

    payload = tmp_path / "payload.json"
    payload.write_text('{"dataframe_split": [1, 2]}')
    code, output = run("-m", xgb_model, "-i", payload, "-o", tmp_path / "o.json")
    assert code == 1 and "'dataframe_split' must be an object" in output

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, output = run("-m", xgb_model, "-i", empty, "-o", tmp_path / "o.csv")
    assert code == 1 and "is empty" in output
    assert leftovers(tmp_path) == [] and not (tmp_path / "o.csv").exists() and not (tmp_path / "o.json").exists()


def test_parquet_garbage_and_missing_model(tmp_path, breast_cancer, xgb_model):
    pytest.importorskip("pyarrow")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    code, output = run("-m", xgb_model, "-i", bad, "-o", tmp_path / "o.csv")
    assert code == 1 and "as Parquet" in output

    X, _ = breast_cancer
    good = tmp_path / "in.csv"
    X.head(3).to_csv(good, index=False)
    code, output = run("-m", tmp_path / "no-model", "-i", good, "-o", tmp_path / "o.csv")
    assert code == 1 and "Error:" in output and "Traceback" not in output
    assert leftovers(tmp_path) == []


def test_missing_pyarrow_is_named(tmp_path, monkeypatch, breast_cancer, xgb_model):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    source = tmp_path / "in.parquet"
    source.write_bytes(b"PAR1")
    code, output = run("-m", xgb_model, "-i", source, "-o", tmp_path / "o.csv")
    assert code == 1 and "pyarrow" in output and "pip install" in output
    X, _ = breast_cancer
    good = tmp_path / "in.csv"
    X.head(3).to_csv(good, index=False)
    code, output = run("-m", xgb_model, "-i", good, "-o", tmp_path / "o.parquet")
    assert code == 1 and "pyarrow" in output


def test_progress_line(tmp_path, breast_cancer, xgb_model):
    import io

    from mlcask.serving.batch_predict import Progress

    stream = io.StringIO()
    bar = Progress(200, True, stream)
    bar.update(100)
    bar.update(100, final=True)
    text = stream.getvalue()
    assert "200/200 rows" in text and "rows/s" in text and text.endswith("\n")
    quiet = io.StringIO()
    Progress(None, False, quiet).update(5, final=True)
    assert quiet.getvalue() == ""


class _FailsOnNegatives(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        if (model_input["x"] < 0).any():
            raise ValueError("negative x")
        return model_input["x"] * 2


def test_a_model_exception_is_a_one_line_error_naming_the_chunk(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=_FailsOnNegatives(),
                             input_example=pd.DataFrame({"x": [1.0]}))
    (tmp_path / "in.csv").write_text("x\n1\n2\n-3\n4\n")
    result = CliRunner().invoke(predict, ["-m", str(tmp_path / "m"), "-i", str(tmp_path / "in.csv"),
                                          "-o", str(tmp_path / "out.csv"), "--chunk-size", "2"])
    assert result.exit_code == 1
    assert "The model's predict raised ValueError: negative x (in chunk 2, rows 3-4" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out.csv").exists()
