"""Bad input never gets a 5xx: every class of malformed request is a 4xx naming what was expected,
what was given and where (found by an attacker's list and by hand; each case is sent to a real
server over a socket)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROW = [5.1, 3.5, 1.4, 0.2]


def _post(client, body, content_type="application/json", path="/invocations"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(path, content=data, headers={"content-type": content_type})


def _refused(response, *needles, status=400):
    assert response.status_code == status, response.text
    body = response.json()
    message = body.get("message", body.get("error"))
    if "message" in body:
        assert body["error_code"] == ("BAD_REQUEST" if status in (400, 415) else body["error_code"])
    for needle in needles:
        assert needle in message, message
    return message


def _split(columns, data, **extra):
    return {"dataframe_split": {"columns": columns, "data": data, **extra}}


@pytest.mark.parametrize("columns, needles", [
    ([1, None, {"a": 1}, 2], ["columns[1]", "null"]),
    (["sepal_length", "sepal_width", {"a": 1}, "petal_width"], ["columns[2]", "object"]),
    (["sepal_length", ["x"], "petal_length", "petal_width"], ["columns[1]", "array"]),
    (["sepal_length", True, "petal_length", "petal_width"], ["columns[1]", "boolean"]),
    (["sepal_length", 1.5, "petal_length", "petal_width"], ["columns[1]", "number"]),
    (["sepal_length", "sepal_width", "sepal_length", "petal_width"], ["'sepal_length' twice", "columns[0]",
                                                                      "columns[2]"]),
    ("sepal_length", ["'dataframe_split.columns' must be a list", "string"]),
    ({"a": 1}, ["'dataframe_split.columns' must be a list", "object"]),
], ids=["null-and-object", "object", "array", "boolean", "float", "duplicate", "string", "dict"])
def test_dataframe_split_column_names(sklearn_server, columns, needles):
    _refused(_post(sklearn_server.client, _split(columns, [ROW])), *needles)


@pytest.mark.parametrize("value, needles", [
    (_split(COLUMNS, [ROW, [1.0, 2.0]]), ["data[1]", "2 values", "4 columns"]),
    (_split(COLUMNS, [ROW, ROW + [9.0]]), ["data[1]", "5 values"]),
    (_split(COLUMNS, [1.0, 2.0, 3.0, 4.0]), ["data[0]", "a list of 4 values", "number"]),
    (_split(COLUMNS, [ROW, {"sepal_length": 1}]), ["data[1]", "object"]),
    (_split(COLUMNS, "rows"), ["'dataframe_split.data' must be a list of rows", "string"]),
    (_split(None, [ROW, [1.0]]), ["data[1]", "1 values", "4 values in data[0]"]),
    (_split(COLUMNS, [ROW], index=[1, 2]), ["'dataframe_split.index'", "one label per row (1)", "2 labels"]),
    (_split(COLUMNS, [ROW], index=[[1]]), ["index[0]", "array"]),
    (_split(COLUMNS, [ROW], index="a"), ["'dataframe_split.index'", "string"]),
], ids=["short-row", "long-row", "flat-data", "record-in-rows", "data-string", "ragged-no-columns",
        "index-length", "index-nested", "index-string"])
def test_dataframe_split_rows_and_index(sklearn_server, value, needles):
    _refused(_post(sklearn_server.client, value), *needles)


@pytest.mark.parametrize("value, needles", [
    ({"dataframe_records": [dict(zip(COLUMNS, ROW, strict=True)), 3]}, ["dataframe_records[1]", "number"]),
    ({"dataframe_records": [[1, 2]]}, ["dataframe_records[0]", "array"]),
    ({"dataframe_records": [None]}, ["dataframe_records[0]", "null"]),
    ({"dataframe_records": {"sepal_length": 1}}, ["must be a list of objects", "object"]),
], ids=["number", "list", "null", "object"])
def test_records_with_non_object_items(sklearn_server, value, needles):
    _refused(_post(sklearn_server.client, value), *needles)


@pytest.mark.parametrize("key", ["instances", "inputs"])
@pytest.mark.parametrize("value, needles", [
    ([ROW, [1.0, 2.0]], ["[1]' has 2 values", "[0]' has 4"]),
    ([ROW, {"sepal_length": 1.0}], ["[1]' is a JSON object", "[0]' is a list"]),
    ([dict(zip(COLUMNS, ROW, strict=True)), ROW], ["[1]' is a JSON array", "[0]' is an object"]),
    ([1.0, [2.0]], ["[1]' is a JSON array", "single value"]),
    (None, ["is null"]),
], ids=["ragged", "list-then-object", "object-then-list", "scalar-then-list", "null"])
def test_instances_and_inputs_with_mixed_shapes(sklearn_server, key, value, needles):
    message = _refused(_post(sklearn_server.client, {key: value}), *needles)
    assert f"'{key}" in message


@pytest.mark.parametrize("body, needles", [
    (b"\xff\xfe{}", ["not valid JSON", "UTF-8"]),
    ('{"instances": [["\udcff"]]}'.encode("utf-8", "surrogatepass"), ["not valid JSON"]),
    (b"[" * 200_000 + b"]" * 200_000, ["not valid JSON"]),
    (b'{"instances": ' + b"[" * 300 + b"1.0" + b"]" * 300 + b"}", ["'instances'", "dimension"]),
    (b'{"instances": [[1' + b"0" * 5000 + b', 2, 3, 4]]}', ["not valid JSON", "column 17"]),
    (b"", ["not valid JSON", "empty"]),
    (b"   ", ["not valid JSON"]),
    (b"null", ["must be a JSON object", "null"]),
    (b'"dataframe_split"', ["must be a JSON object", "string"]),
    (b'{"instances": [[1, 2, 3, 4]]} trailing', ["not valid JSON", "column 31"]),
], ids=["bad-utf8", "lone-surrogate", "deep-nesting", "nested-300", "5000-digit-number", "empty", "blank",
        "null", "string", "trailing"])
def test_undecodable_json(sklearn_server, body, needles):
    _refused(_post(sklearn_server.client, body), *needles)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_nan_and_infinity_literals_are_read_as_mlflow_reads_them(sklearn_server, pyfunc_server, literal):
    # MLflow's server parses with Python's json, which takes these; a model that cannot score
    # them says so (400 with its own error), one that can returns predictions.
    body = b'{"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"], ' \
           b'"data": [[' + literal + b", 3.5, 1.4, 0.2]]}}"
    _refused(_post(sklearn_server.client, body), "The model could not predict", "ValueError", "Input X contains")
    r = _post(pyfunc_server.client, b'{"inputs": {"x": [' + literal + b'], "tag": ["a"]}}')
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [None]}  # NaN and infinities are written as null


@pytest.mark.parametrize("params, needles", [
    ({"scale": "big"}, ["scale"]),
    ({"scale": [1, 2]}, ["scale"]),
    ({"scale": {"a": 1}}, ["scale"]),
    ({"fail": "yes"}, ["fail"]),
    ({"nope": 1}, ["nope", "scale"]),
    ([1, 2], ["'params' must be a JSON object"]),
], ids=["string-for-double", "list-for-double", "object-for-double", "string-for-bool", "unknown", "list"])
def test_params_of_wrong_types(pyfunc_server, params, needles):
    _refused(_post(pyfunc_server.client, {"inputs": {"x": [1.0], "tag": ["a"]}, "params": params}), *needles)


@pytest.mark.parametrize("content_type, needles", [
    ("application/json; charset=latin-1", ["UTF-8", "latin-1"]),
    ("application/json; charset=utf-16", ["UTF-8", "utf-16"]),
    ("text/csv; header=present", ["parameters", "header"]),
    ("application/json; format=pandas-split", ["parameters", "format"]),
    ("application/x-www-form-urlencoded", ["Unsupported Content-Type"]),
    ("", ["no Content-Type"]),
])
def test_content_types_with_parameters(sklearn_server, content_type, needles):
    headers = {"content-type": content_type} if content_type else {}
    r = sklearn_server.client.post("/invocations", content=json.dumps({"instances": [ROW]}), headers=headers)
    _refused(r, *needles, status=415)


def test_content_type_charset_spellings_are_taken(sklearn_server):
    for content_type in ("application/json; charset=UTF-8", 'application/json; charset="utf-8"',
                         "Application/JSON;charset=utf8"):
        r = _post(sklearn_server.client, {"instances": [ROW]}, content_type)
        assert r.status_code == 200, (content_type, r.text)


HEADER = ",".join(COLUMNS) + "\n"


@pytest.mark.parametrize("body, needles", [
    (HEADER, ["header row but no data rows"]),
    (HEADER + "5.1,3.5,1.4,0.2\n5.1,3.5\n", ["row 2 (line 3) has 2 fields", "header has 4"]),
    (HEADER + "5.1,3.5,1.4,0.2,9,9\n", ["row 1 (line 2) has 6 fields", "header has 4"]),
    (HEADER + "5.1,3.5,1.4,0.2\n\n5.1,3.5,1.4\n", ["row 2 (line 4) has 3 fields"]),
    (HEADER + '"5.1,3.5,1.4,0.2\n', ["not a valid CSV table", "EOF inside string"]),
    (HEADER + "5.1,3.5,1.4,0.2\n5.1,3.5,1.4,0.2,7\n", ["not a valid CSV table", "Expected 4 fields"]),
    ("", ["is empty", "header row"]),
    ("\n\n", ["is empty"]),
    ("sepal_length,sepal_length,petal_length,petal_width\n1,2,3,4\n", ["'sepal_length' twice", "fields 1 and 2"]),
    (HEADER + "5.1,3.5,1.4,x\n", ["petal_width", "double"]),
    (HEADER.replace("\n", "\r") + "5.1,3.5,1.4,0.2\r5.1,3.5\r", ["row 2 (line 3) has 2 fields"]),
    ('"a,b",1,\r,nan\n', ["row 1 (line 2) has 2 fields", "header has 3"]),
    ("\r\x1d", ["is empty"]),
], ids=["header-only", "short-row", "long-first-row", "short-row-after-blank", "open-quote", "long-later-row",
        "empty", "blank-lines", "duplicate-header", "text-in-number-column", "cr-lines-short-row",
        "cr-in-header", "cr-only"])
def test_bad_csv(sklearn_server, body, needles):
    _refused(_post(sklearn_server.client, body, "text/csv"), *needles)


def test_csv_encodings_and_line_endings(sklearn_server):
    r = _post(sklearn_server.client, (HEADER + "5.1,3.5,1.4,0.2\n" * 2).replace("\n", "\r\n"), "text/csv")
    assert r.status_code == 200 and len(r.json()["predictions"]) == 2, r.text
    _refused(_post(sklearn_server.client, (HEADER + "5.1,3.5,1.4,\xe9\n").encode("latin-1"), "text/csv"),
             "not valid UTF-8", "position")
    r = _post(sklearn_server.client, ("\ufeff" + HEADER + "5.1,3.5,1.4,0.2\n").encode(), "text/csv")
    assert r.status_code == 200, r.text  # Excel's byte order mark is not part of the first column's name


@pytest.mark.parametrize("body, needles", [
    (b"PAR1garbagePAR1", ["not a readable Parquet table"]),
    (b"", ["not a readable Parquet table"]),
    (b"not parquet", ["not a readable Parquet table"]),
], ids=["garbage", "empty", "text"])
def test_bad_parquet(sklearn_server, body, needles):
    pytest.importorskip("pyarrow")
    _refused(_post(sklearn_server.client, body, "application/vnd.apache.parquet"), *needles)


def test_parquet_without_rows(sklearn_server):
    pytest.importorskip("pyarrow")
    buffer = io.BytesIO()
    pd.DataFrame({c: pd.Series([], dtype="float64") for c in COLUMNS}).to_parquet(buffer)
    _refused(_post(sklearn_server.client, buffer.getvalue(), "application/vnd.apache.parquet"), "no rows")


def _tensor(name="sepal_length", shape=(1,), datatype="FP64", data=(5.1,)):
    return {"name": name, "shape": list(shape) if isinstance(shape, (list, tuple)) else shape,
            "datatype": datatype, "data": list(data) if isinstance(data, tuple) else data}


def _per_column(**change):
    return {"inputs": [_tensor(name=c, **change) for c in COLUMNS]}


@pytest.mark.parametrize("body, needles", [
    (_per_column(shape=[2]), ["shape [2] needs 2 values, got 1"]),
    (_per_column(shape=[1, 2]), ["shape [1, 2] needs 2 values, got 1"]),
    (_per_column(shape=[0], data=[]), ["holds no values", "shape [0]"]),
    (_per_column(shape=[True]), ["shape must be a list of non-negative integers", "[True]"]),
    (_per_column(shape=[-1]), ["shape must be a list of non-negative integers"]),
    (_per_column(shape=[1] * 40), ["40 dimensions"]),
    (_per_column(shape=[2**40, 2**40]), ["needs 1208925819614629174706176 values"]),
    (_per_column(shape="1"), ["shape must be a list"]),
], ids=["too-few", "2d-too-few", "zero", "bool-dim", "negative", "too-many-dims", "huge", "string"])
def test_oip_shapes_that_do_not_match_data(sklearn_server, body, needles):
    _refused(_post(sklearn_server.client, body, path="/v2/models/iris/infer"), *needles)


@pytest.mark.parametrize("body, needles", [
    (_per_column(datatype="FP128"), ["unknown datatype 'FP128'", "FP64"]),
    (_per_column(datatype="fp64"), ["unknown datatype 'fp64'"]),
    (_per_column(datatype=64), ["unknown datatype 64"]),
    (_per_column(datatype="BYTES", data=[1]), ["BYTES data must be strings", "value 0", "number"]),
    (_per_column(datatype="BYTES", data=[None]), ["BYTES data must be strings", "null"]),
    (_per_column(datatype="BYTES", data=["5.1"]), ["sepal_length", "double", "str"]),
    (_per_column(datatype="FP64", data=[None]), ["FP64 takes JSON numbers", "value 0", "null"]),
    (_per_column(datatype="FP64", data=[True]), ["FP64 takes JSON numbers", "boolean"]),
    (_per_column(datatype="FP64", data=["5.1"]), ["FP64 takes JSON numbers", "string"]),
    (_per_column(datatype="INT32", data=[1.5]), ["INT32 takes JSON integers", "1.5"]),
    (_per_column(datatype="INT8", data=[300]), ["out of range for datatype INT8"]),
    (_per_column(datatype="FP32", data=[1e300]), ["does not fit datatype FP32"]),
    (_per_column(datatype="BOOL", data=[1]), ["BOOL takes JSON booleans", "number"]),
    (_per_column(data=5.1), ["data must be a JSON array", "number"]),
    (_per_column(data=[[1.0], [1.0, 2.0]]), ["not a rectangular array"]),
], ids=["FP128", "lowercase", "number", "bytes-number", "bytes-null", "bytes-for-double", "null", "bool",
        "string", "float-for-int", "int8-overflow", "fp32-overflow", "int-for-bool", "scalar-data", "ragged"])
def test_oip_datatypes_and_data(sklearn_server, body, needles):
    _refused(_post(sklearn_server.client, body, path="/v2/models/iris/infer"), *needles)


@pytest.mark.parametrize("body, needles", [
    ({**_per_column(), "id": {"a": 1}}, ["'id' must be a string", "object"]),
    ({**_per_column(), "id": 7}, ["'id' must be a string", "number"]),
    ({**_per_column(), "parameters": [1]}, ["'parameters' must be a JSON object", "array"]),
    ({**_per_column(), "outputs": "predictions"}, ["'outputs' must be a list", "string"]),
    ({"inputs": [_tensor(), _tensor()]}, ["names must be unique"]),
    ({"inputs": [5]}, ["inputs[0] must be an object", "number"]),
    ({"inputs": {}}, ["needs 'inputs'"]),
    ([1], ["must be a JSON object", "array"]),
], ids=["id-object", "id-number", "parameters-list", "outputs-string", "duplicate-names", "tensor-number",
        "inputs-object", "list-body"])
def test_oip_request_fields(sklearn_server, body, needles):
    _refused(_post(sklearn_server.client, body, path="/v2/models/iris/infer"), *needles)


def test_oip_bytes_tensors_for_string_columns(pyfunc_server):
    body = {"inputs": [_tensor("x", data=[2.0]), _tensor("tag", datatype="BYTES", data=["a"])]}
    r = _post(pyfunc_server.client, body, path="/v2/models/echo/infer")
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == [2.0]
    body["inputs"][1]["data"] = [{"a": 1}]
    _refused(_post(pyfunc_server.client, body, path="/v2/models/echo/infer"), "BYTES data must be strings", "object")
