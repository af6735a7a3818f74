"""``mlcask models predict --spark`` in-process: input discovery, checks, output columns, atomic output, progress.

Scoring runs on the session-scoped ``spark`` fixture (local[2]); each scoring test is one
small Spark job. The checks made before Spark runs a job need no session at all.
"""

from __future__ import annotations

import io
import os
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.models import infer_signature
from mlcask.serving.batch_predict import BatchPredictError
from mlcask.serving.spark_input import find_input_files
from mlcask.serving.spark_predict import check_output, job_failure, predict_spark, prepare
from mlcask.serving.spark_progress import SparkProgress, render

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer")]

FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


@pytest.fixture(scope="module")
def iris():
    """Iris with an id column (int64) and the target, as the files hold them."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    frame = X.copy()
    frame.insert(0, "id", np.arange(1000, 1000 + len(X), dtype="int64"))
    return frame, y


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, iris):
    from sklearn.linear_model import LogisticRegression

    frame, y = iris
    X = frame[FEATURES]
    path = tmp_path_factory.mktemp("models") / "iris"
    mlcask.sklearn.save_model(LogisticRegression(max_iter=300).fit(X, y), path, signature=infer_signature(X, y))
    return path


@pytest.fixture(scope="module")
def expected(iris, model_dir):
    """pyfunc.predict on every row, by id."""
    frame, _ = iris
    pred = np.asarray(mlcask.pyfunc.load_model(model_dir).predict(frame[FEATURES]))
    return dict(zip(frame["id"], pred))


def write_parts(frame, folder, fmt, sizes=(60, 50, 40), nested=True):
    """``frame`` split into files of ``sizes`` rows (the last one in a sub-folder); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, start = [], 0
    for i, size in enumerate(sizes):
        where = folder / "more" if nested and i == len(sizes) - 1 else folder
        where.mkdir(exist_ok=True)
        path = where / f"part {i}.{fmt}"
        part = frame.iloc[start:start + size]
        part.to_parquet(path, index=False) if fmt == "parquet" else part.to_csv(path, index=False)
        paths.append(path)
        start += size
    return paths


def no_leftovers(folder):
    return [p.name for p in folder.iterdir() if ".mlcask-" in p.name]


def check_scored(out, frame, expected, *, files=None):
    """The output folder reads back with pandas and holds pyfunc's prediction for every input row."""
    result = pd.read_parquet(out)
    if pd.api.types.is_string_dtype(result["id"]):  # CSV: columns outside the signature are read as strings
        result["id"] = result["id"].astype("int64")
    assert len(result) == len(frame)
    assert sorted(result["id"]) == sorted(frame["id"])
    np.testing.assert_array_equal(result["target"].to_numpy(), [expected[i] for i in result["id"]])
    if files is not None:  # file_name and row_number point back at the very row
        for name, path in files.items():
            source = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
            rows = result[result["file_name"] == name].sort_values("row_number")
            assert len(rows) == len(source), name
            assert rows["row_number"].tolist() == list(range(len(source)))
            assert rows["id"].tolist() == source["id"].tolist()
    return result


# -- scoring --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_folder_with_ids_file_names_and_row_numbers(spark, tmp_path, iris, model_dir, expected, fmt):
    frame, _ = iris
    paths = write_parts(frame, tmp_path / "in", fmt)
    out = tmp_path / "scores"
    quiet = io.StringIO()
    result = predict_spark(spark, str(model_dir), str(out), input_path=str(tmp_path / "in"), keep_columns=["id"],
                           with_file_name=True, with_row_number=True, stream=quiet)
    assert quiet.getvalue() == ""  # no bar unless asked for
    assert result.rows == 150 and result.files >= 1 and result.output == str(out)
    assert result.columns == ["id", "file_name", "row_number", "target"]
    scored = check_scored(out, frame, expected,
                          files={p.relative_to(tmp_path / "in").as_posix(): p for p in paths})
    assert set(scored["file_name"]) == {"part 0." + fmt, "part 1." + fmt, "more/part 2." + fmt}
    assert no_leftovers(tmp_path) == []


def test_glob_single_file_and_table(spark, tmp_path, iris, model_dir, expected):
    frame, _ = iris
    paths = write_parts(frame, tmp_path / "in", "parquet", nested=False)
    out = tmp_path / "glob"
    predict_spark(spark, str(model_dir), str(out), input_path=str(tmp_path / "in" / "part [01].parquet"),
                  keep_columns=["id"], with_file_name=True)
    scored = pd.read_parquet(out)
    assert set(scored["file_name"]) == {"part 0.parquet", "part 1.parquet"} and len(scored) == 110
    check_scored(out, frame.iloc[:110], expected)

    single = tmp_path / "single"
    predict_spark(spark, str(model_dir), f"file:{single}", input_path=str(paths[2]), keep_columns=["id"],
                  with_file_name=True, with_row_number=True)
    check_scored(single, frame.iloc[110:], expected, files={"part 2.parquet": paths[2]})

    spark.createDataFrame(frame).createOrReplaceTempView("iris_rows")
    table = tmp_path / "table"
    result = predict_spark(spark, str(model_dir), str(table), input_table="iris_rows", keep_columns=["id"],
                           partition_by=["target"])
    assert result.rows == 150
    assert sorted(p.name for p in table.iterdir() if p.is_dir()) == [f"target={v}" for v in sorted(set(expected.values()))]
    check_scored(table, frame, expected)


def test_file_names_of_a_file_based_table_and_none_for_others(spark, tmp_path, iris, model_dir):
    frame, _ = iris
    write_parts(frame, tmp_path / "in", "parquet", nested=False)
    spark.sql(f"CREATE TABLE iris_files USING parquet LOCATION '{tmp_path / 'in'}'")  # external: no warehouse
    out = tmp_path / "out"
    predict_spark(spark, str(model_dir), str(out), input_table="iris_files", keep_columns=["id"],
                  with_file_name=True, with_row_number=True)
    scored = pd.read_parquet(out)
    assert {os.path.basename(name) for name in scored["file_name"]} == {f"part {i}.parquet" for i in range(3)}
    assert scored.groupby("file_name")["row_number"].max().sort_values().tolist() == [39, 49, 59]

    spark.createDataFrame(frame).createOrReplaceTempView("iris_memory")
    with pytest.raises(BatchPredictError, match="--with-file-name needs file input; the input table "
                                                "'iris_memory' is not read from files"):
        predict_spark(spark, str(model_dir), str(tmp_path / "none"), input_table="iris_memory", with_file_name=True)
    assert not (tmp_path / "none").exists()


def test_a_model_without_signature_gets_every_csv_column_typed_by_inference(spark, tmp_path, iris, expected):
    from sklearn.linear_model import LogisticRegression

    frame, y = iris
    mlcask.sklearn.save_model(LogisticRegression(max_iter=300).fit(frame[FEATURES], y), tmp_path / "model")
    frame[FEATURES].iloc[:40].to_csv(tmp_path / "in.csv", index=False)
    result = predict_spark(spark, str(tmp_path / "model"), str(tmp_path / "out"), input_path=str(tmp_path / "in.csv"),
                           with_row_number=True)
    assert result.columns == ["row_number", "prediction"]
    scored = pd.read_parquet(tmp_path / "out").sort_values("row_number")
    assert scored["row_number"].tolist() == list(range(40))
    np.testing.assert_array_equal(scored["prediction"], [expected[i] for i in frame["id"].iloc[:40]])


def test_progress_bar_when_forced_on(spark, tmp_path, iris, model_dir):
    frame, _ = iris
    write_parts(frame, tmp_path / "in", "parquet")
    stream = io.StringIO()
    predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=str(tmp_path / "in"), progress=True,
                  stream=stream)
    text = stream.getvalue()
    assert text.startswith("\rScoring [") and text.endswith("\n")
    last = text.rstrip("\n").rsplit("\r", 1)[1]
    done, total = last.split("] ", 1)[1].split(" tasks", 1)[0].split("/")
    assert done == total and int(total) >= 1, text
    assert "#" * 30 in last


def test_progress_counts_only_its_own_job_group(spark):
    stream = io.StringIO()
    spark.range(10).count()  # another job, outside the group
    with SparkProgress(spark.sparkContext, "test", enabled=True, stream=stream, interval=0.05) as bar:
        spark.range(100, numPartitions=3).selectExpr("sum(id)").collect()
    done, total, running = bar.counts()
    assert total >= 3 and done == total and running == 0
    assert spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None
    assert render(1, 4, 2, 1.25, width=8) == "\rScoring [##------] 1/4 tasks (2 running)  1.2s "


# -- atomic output ----------------------------------------------------------------------------------
def test_a_run_failing_midway_leaves_nothing_and_keeps_the_existing_output(spark, tmp_path, iris, model_dir):
    frame, _ = iris
    paths = write_parts(frame, tmp_path / "in", "csv")
    text = paths[2].read_text().splitlines()
    fields = text[5].split(",")
    fields[2] = "not-a-number"
    text[5] = ",".join(fields)
    paths[2].write_text("\n".join(text) + "\n")
    out = tmp_path / "scores"
    with pytest.raises(BatchPredictError) as caught:
        predict_spark(spark, str(model_dir), str(out), input_path=str(tmp_path / "in"))
    message = str(caught.value)
    assert message.startswith("Scoring on Spark failed: [FAILED_READ_FILE.NO_HINT] Encountered error while "
                              f"reading file file://{quote(str(paths[2]))}: [MALFORMED_RECORD_IN_PARSING"), message
    assert 'For input string: "not-a-number"' in message
    assert f"nothing was written to '{out}'" in message and "\tat org.apache" not in message
    assert not out.exists() and no_leftovers(tmp_path) == []

    previous = tmp_path / "previous"
    predict_spark(spark, str(model_dir), str(previous), input_path=str(paths[0]))
    before = sorted(p.name for p in previous.iterdir())
    with pytest.raises(BatchPredictError, match="Scoring on Spark failed"):
        predict_spark(spark, str(model_dir), str(previous), input_path=str(tmp_path / "in"), overwrite=True)
    assert sorted(p.name for p in previous.iterdir()) == before and no_leftovers(tmp_path) == []


def test_a_value_the_signature_rejects_fails_with_the_models_message(spark, tmp_path, iris, model_dir):
    frame, _ = iris
    big = frame.iloc[:20].astype({"petal length (cm)": "int64"})
    big.loc[big.index[7], "petal length (cm)"] = 2**60  # a long a double cannot hold exactly
    big.to_parquet(tmp_path / "big.parquet")
    with pytest.raises(BatchPredictError) as caught:
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=str(tmp_path / "big.parquet"))
    message = str(caught.value)
    assert message.startswith("Scoring on Spark failed: "), message
    assert ("Incompatible input types for column petal length (cm). Can not safely convert int64 to float64. "
            "Column 'petal length (cm)': expected type double, got int64 with values beyond +/-2**53") in message
    assert "Traceback" not in message and "\tat org.apache" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.parquet"]


def test_overwrite_replaces_a_previous_output_only(spark, tmp_path, iris, model_dir, expected):
    frame, _ = iris
    paths = write_parts(frame, tmp_path / "in", "parquet")
    out = tmp_path / "scores"
    predict_spark(spark, str(model_dir), str(out), input_path=str(paths[0]), keep_columns=["id"])
    with pytest.raises(BatchPredictError, match=f"Output folder '{out}' already exists; pass --overwrite"):
        prepare(str(model_dir), str(out), input_path=str(tmp_path / "in"))
    predict_spark(spark, str(model_dir), str(out), input_path=str(tmp_path / "in"), keep_columns=["id"],
                  overwrite=True)
    check_scored(out, frame, expected)
    assert no_leftovers(tmp_path) == []

    (out / "notes.txt").write_text("mine")
    with pytest.raises(BatchPredictError, match="holds '.*notes.txt', which is not Parquet output; --overwrite "
                                                "replaces only a folder of Parquet files"):
        check_output(str(out), overwrite=True)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(BatchPredictError, match="exists and is not a folder"):
        check_output(str(tmp_path / "a-file"), overwrite=True)


# -- bad input: errors before any Spark job ------------------------------------------------------------
def test_input_paths_that_match_nothing_or_mix_formats(tmp_path, iris):
    frame, _ = iris
    with pytest.raises(BatchPredictError, match=f"Input path '{tmp_path}/nope' does not exist"):
        find_input_files(str(tmp_path / "nope"))
    with pytest.raises(BatchPredictError, match=r"Input path '.*/\*.parquet' matches no file"):
        find_input_files(str(tmp_path / "*.parquet"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "_SUCCESS").write_text("")
    with pytest.raises(BatchPredictError, match="Input folder '.*empty' holds no Parquet or CSV file"):
        find_input_files(str(tmp_path / "empty"))
    write_parts(frame, tmp_path / "mixed", "parquet", sizes=(10, 10))
    frame.iloc[:5].to_csv(tmp_path / "mixed" / "extra.csv", index=False)
    with pytest.raises(BatchPredictError, match=r"mixes formats: 1 csv file \('.*extra.csv'\) and 2 parquet files "
                                                r"\('.*part 0.parquet', '.*part 1.parquet'\)"):
        find_input_files(str(tmp_path / "mixed"))
    found = find_input_files(str(tmp_path / "mixed" / "**" / "*.parquet"))
    assert found.format == "parquet" and len(found.files) == 2 and found.root == (tmp_path / "mixed").resolve()
    (tmp_path / "mixed" / "README").write_text("notes")
    with pytest.raises(BatchPredictError, match="Cannot tell the format of '.*README'"):
        find_input_files(str(tmp_path / "mixed"))
    with pytest.raises(BatchPredictError, match="--spark reads Parquet and CSV input, not 'json'"):
        find_input_files(str(tmp_path / "mixed"), "json")
    with pytest.raises(BatchPredictError, match="scheme 's3:'; --spark reads local paths and file: URIs"):
        find_input_files("s3://bucket/data/")


def test_output_path_problems(tmp_path, iris, model_dir):
    frame, _ = iris
    write_parts(frame, tmp_path / "in", "parquet", sizes=(10,), nested=False)
    model = str(model_dir)
    source = str(tmp_path / "in")
    with pytest.raises(BatchPredictError, match="--spark writes a folder of Parquet files: pass --output-path"):
        prepare(model, "-", input_path=source)
    with pytest.raises(BatchPredictError, match="its parent '.*missing' does not exist"):
        prepare(model, str(tmp_path / "missing" / "out"), input_path=source)
    with pytest.raises(BatchPredictError, match="is not local"):
        prepare(model, "s3://bucket/out", input_path=source)
    with pytest.raises(mlcask.exceptions.MlcaskException, match="Output path '.*in/out' is refused: it is inside "
                                                                "the input folder"):
        prepare(model, str(tmp_path / "in" / "out"), input_path=source)
    with pytest.raises(BatchPredictError, match="Pass either --input-path .* not both"):
        prepare(model, str(tmp_path / "out"), input_path=source, input_table="t")
    with pytest.raises(BatchPredictError, match="not neither"):
        prepare(model, str(tmp_path / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    with pytest.raises(BatchPredictError, match="Output path '.*in' is refused: it holds input file '.*part 0"):
        prepare(model, source, input_path=str(tmp_path / "in" / "part 0.parquet"), overwrite=True)


def test_a_model_without_a_pyfunc_flavor(tmp_path, iris, model_dir):
    import shutil

    import yaml

    frame, _ = iris
    frame.iloc[:5].to_parquet(tmp_path / "a.parquet")
    shutil.copytree(model_dir, tmp_path / "model")
    mlmodel = yaml.safe_load((tmp_path / "model" / "MLmodel").read_text())
    del mlmodel["flavors"]["python_function"]
    (tmp_path / "model" / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(BatchPredictError, match=r'Model does not have the "python_function" flavor: .* its '
                                                r"flavors are \['sklearn'\]"):
        prepare(str(tmp_path / "model"), str(tmp_path / "out"), input_path=str(tmp_path / "a.parquet"))


def test_csv_files_with_different_headers(spark, tmp_path, iris, model_dir):
    frame, _ = iris
    (tmp_path / "in").mkdir()
    frame.iloc[:5].to_csv(tmp_path / "in" / "a.csv", index=False)
    frame.iloc[5:10, ::-1].to_csv(tmp_path / "in" / "b.csv", index=False)
    with pytest.raises(BatchPredictError, match="CSV files have different headers: '.*a.csv' has "):
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=str(tmp_path / "in"))


def test_missing_and_mistyped_columns_are_named(spark, tmp_path, iris, model_dir):
    frame, _ = iris
    (tmp_path / "in").mkdir()
    frame.drop(columns=["petal width (cm)"]).iloc[:10].to_parquet(tmp_path / "in" / "a.parquet")
    with pytest.raises(BatchPredictError) as caught:
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=str(tmp_path / "in" / "a.parquet"))
    assert str(caught.value).startswith("Model is missing inputs ['petal width (cm)']: the input '")
    assert "The input has columns ['id', 'sepal length (cm)', 'sepal width (cm)', 'petal length (cm)']" \
        in str(caught.value)

    wrong = frame.iloc[:10].astype({"sepal width (cm)": str, "petal width (cm)": bool})
    wrong.to_parquet(tmp_path / "in" / "b.parquet")
    with pytest.raises(BatchPredictError) as caught:
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=str(tmp_path / "in" / "b.parquet"))
    message = str(caught.value)
    assert message.startswith("Incompatible input types for column sepal width (cm). Can not safely convert "
                              "StringType to DoubleType. Column 'sepal width (cm)': the signature declares double, "
                              "which takes Spark DoubleType, FloatType, ByteType")
    assert "Incompatible input types for column petal width (cm). Can not safely convert BooleanType" in message

    with pytest.raises(BatchPredictError, match=r"--keep-columns names column 'ID' that the input .* does not "
                                                r"have; the input has columns \['id', 'sepal length \(cm\)'"):
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=str(tmp_path / "in" / "b.parquet"),
                      keep_columns=["ID"])
    with pytest.raises(BatchPredictError, match="Cannot read table 'no_such_table'"):
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_table="no_such_table")
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []


def test_output_column_clashes_and_partition_columns(spark, tmp_path, iris, model_dir):
    frame, _ = iris
    frame.iloc[:10].assign(target=1).to_parquet(tmp_path / "a.parquet")
    source = str(tmp_path / "a.parquet")
    with pytest.raises(BatchPredictError, match="The output would have column 'target' twice .* --prediction-column"):
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=source, keep_columns=["id", "target"])
    with pytest.raises(BatchPredictError, match=r"--partition-by names \['day'\], which the output does not have"):
        predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=source, partition_by=["day"])
    result = predict_spark(spark, str(model_dir), str(tmp_path / "out"), input_path=source,
                           keep_columns=["id", "target"], prediction_column="predicted")
    assert result.columns == ["id", "target", "predicted"]


def test_job_failure_is_the_python_workers_own_exception():
    text = ("An exception was thrown from the Python worker. Please see the stack trace below.\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n    raise ValueError('a')\n"
            "ValueError: first\n\nDuring handling of the above exception, another exception occurred:\n\n"
            "Traceback (most recent call last):\n  File \"y.py\", line 2, in g\n"
            "mlcask.exceptions.InvalidInputError: Incompatible input types for column x.\n"
            "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(X.scala:1)\n")
    assert job_failure(RuntimeError(text)) == "Incompatible input types for column x."
    assert job_failure(RuntimeError("Traceback (most recent call last):\n  File \"m.py\"\nKeyError: 'k'\n")) \
        == "The model's predict raised KeyError: 'k'"
    assert job_failure(RuntimeError("[TABLE_OR_VIEW_NOT_FOUND] no table\nmore")) == "[TABLE_OR_VIEW_NOT_FOUND] no table"
