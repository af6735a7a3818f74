"""DataType, ColSpec, TensorSpec, Schema, compound types and params: behaviour and exact JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Optional

import numpy as np
import pytest

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.types import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)
from mlcask.types.compound import merge_types

# -- DataType ------------------------------------------------------------------------------


def test_datatype_members_are_mlflows_names_and_numbers():
    assert [(t.name, t.value) for t in DataType] == [
        ("boolean", 1), ("integer", 2), ("long", 3), ("float", 4), ("double", 5),
        ("string", 6), ("binary", 7), ("datetime", 8),
    ]
    assert DataType["long"] is DataType.long
    assert repr(DataType.double) == "double"


@pytest.mark.parametrize(("t", "numpy", "pandas", "python"), [
    (DataType.boolean, np.dtype("bool"), np.dtype("bool"), bool),
    (DataType.integer, np.dtype("int32"), np.dtype("int32"), int),
    (DataType.long, np.dtype("int64"), np.dtype("int64"), int),
    (DataType.float, np.dtype("float32"), np.dtype("float32"), float),
    (DataType.double, np.dtype("float64"), np.dtype("float64"), float),
    (DataType.string, np.dtype("str"), object, str),
    (DataType.binary, np.dtype("bytes"), object, bytes),
    (DataType.datetime, np.dtype("datetime64[ns]"), np.dtype("datetime64[ns]"), dt.date),
])
def test_datatype_conversions(t, numpy, pandas, python):
    assert t.to_numpy() == numpy
    assert t.to_pandas() == pandas
    assert t.to_python() is python


def test_datatype_from_numpy_type():
    assert DataType.from_numpy_type(np.dtype("int32")) is DataType.integer
    assert DataType.from_numpy_type(np.dtype("complex128")) is None


# -- ColSpec ---------------------------------------------------------------------------------


def test_colspec_json_key_order_named_and_unnamed():
    assert json.dumps(ColSpec("double", "mean radius").to_dict()) == \
        '{"type": "double", "name": "mean radius", "required": true}'
    assert json.dumps(ColSpec(DataType.long).to_dict()) == '{"type": "long", "required": true}'
    assert json.dumps(ColSpec("string", "s", required=False).to_dict()) == \
        '{"type": "string", "name": "s", "required": false}'


def test_colspec_accepts_names_and_members_and_refuses_unknown_types():
    assert ColSpec("long", "a") == ColSpec(DataType.long, "a")
    assert ColSpec("long", "a") != ColSpec("long", "b")
    assert ColSpec("long", "a") != ColSpec("long", "a", required=False)
    with pytest.raises(InvalidArgumentError, match="Unsupported type 'int64'"):
        ColSpec("int64", "a")
    with pytest.raises(InvalidArgumentError, match="got int"):
        ColSpec(5, "a")


def test_colspec_repr():
    assert repr(ColSpec("double", "x")) == "'x': double (required)"
    assert repr(ColSpec("long")) == "long (required)"
    assert repr(ColSpec(Array("string"), "t", required=False)) == "'t': Array(string) (optional)"


# -- TensorSpec --------------------------------------------------------------------------------


def test_tensorspec_json_named_and_unnamed():
    assert json.dumps(TensorSpec(np.dtype("int64"), (-1,), "a").to_dict()) == \
        '{"name": "a", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}'
    assert json.dumps(TensorSpec(np.dtype("float64"), (-1, 30)).to_dict()) == \
        '{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 30]}}'


def test_tensorspec_dtypes():
    assert TensorSpec(np.dtype("str"), [-1]).to_dict()["tensor-spec"] == {"dtype": "str", "shape": (-1,)}
    assert TensorSpec("float32", (-1, 2)).type == np.dtype("float32")  # str accepted too
    with pytest.raises(InvalidArgumentError, match='np.dtype\\("str"\\) instead of str160'):
        TensorSpec(np.dtype("<U5"), (-1,))
    with pytest.raises(TypeError, match="Expected `shape` to be instance of"):  # MLflow's exception and message
        TensorSpec(np.dtype("float64"), 5)
    with pytest.raises(TypeError, match="Expected `dtype` to be instance of"):
        TensorSpec("Unsupported", (-1,))


def test_tensorspec_eq_and_repr():
    a = TensorSpec(np.dtype("float32"), (-1, 2), "x")
    assert a == TensorSpec(np.dtype("float32"), [-1, 2], "x")
    assert a != TensorSpec(np.dtype("float64"), (-1, 2), "x")
    assert a != TensorSpec(np.dtype("float32"), (-1, 3), "x")
    assert repr(a) == "'x': Tensor('float32', (-1, 2))"
    assert repr(TensorSpec(np.dtype("int64"), (-1,))) == "Tensor('int64', (-1,))"
    assert a.required is True


# -- Schema ------------------------------------------------------------------------------------


@pytest.fixture
def col_schema():
    return Schema([ColSpec("double", "a"), ColSpec("long", "b", required=False), ColSpec("string", "c")])


def test_schema_accessors(col_schema):
    assert col_schema.input_names() == ["a", "b", "c"]
    assert col_schema.required_input_names() == ["a", "c"]
    assert col_schema.optional_input_names() == ["b"]
    assert col_schema.has_input_names() is True
    assert col_schema.is_tensor_spec() is False
    assert col_schema.input_types() == [DataType.double, DataType.long, DataType.string]
    assert col_schema.numpy_types() == [np.dtype("float64"), np.dtype("int64"), np.dtype("str")]
    assert col_schema.pandas_types() == [np.dtype("float64"), np.dtype("int64"), object]
    assert col_schema.input_types_dict() == {"a": DataType.double, "b": DataType.long, "c": DataType.string}
    assert list(col_schema.input_dict()) == ["a", "b", "c"]
    assert len(col_schema) == 3
    assert [s.name for s in col_schema] == ["a", "b", "c"]


def test_unnamed_schema_uses_positions():
    schema = Schema([ColSpec("double"), ColSpec("double")])
    assert schema.input_names() == [0, 1]
    assert schema.required_input_names() == [0, 1]
    assert schema.has_input_names() is False
    with pytest.raises(InvalidArgumentError, match="without names"):
        schema.input_dict()


def test_tensor_schema_accessors():
    schema = Schema([TensorSpec(np.dtype("float32"), (-1, 4), "x"), TensorSpec(np.dtype("int64"), (-1,), "y")])
    assert schema.is_tensor_spec() is True
    assert schema.numpy_types() == [np.dtype("float32"), np.dtype("int64")]
    with pytest.raises(InvalidArgumentError, match="numpy_types"):
        schema.pandas_types()


def test_numpy_types_refused_for_compound_columns():
    with pytest.raises(InvalidArgumentError, match="not DataType"):
        Schema([ColSpec(Array("long"), "a")]).numpy_types()


@pytest.mark.parametrize(("inputs", "message"), [
    ([], "empty inputs"),
    ("a", "must be a list"),
    ([ColSpec("long", "a"), ColSpec("long")], "combination of named and unnamed"),
    ([ColSpec("long", "a"), TensorSpec(np.dtype("int64"), (-1,), "b")], "combination of ColSpec and TensorSpec"),
    ([TensorSpec(np.dtype("int64"), (-1,)), TensorSpec(np.dtype("int64"), (-1,))], "multiple unnamed TensorSpecs"),
    ([ColSpec("long", required=False)], "unnamed optional inputs"),
    ([ColSpec("long", "a"), "b"], "must be ColSpec or TensorSpec, got str"),
])
def test_schema_construction_errors(inputs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Schema(inputs)


def test_schema_json_exact_and_round_trip(col_schema):
    text = col_schema.to_json()
    assert text == ('[{"type": "double", "name": "a", "required": true}, '
                    '{"type": "long", "name": "b", "required": false}, '
                    '{"type": "string", "name": "c", "required": true}]')
    assert Schema.from_json(text) == col_schema
    assert col_schema.to_dict() == json.loads(text)


def test_tensor_schema_json_round_trip():
    schema = Schema([TensorSpec(np.dtype("float32"), (-1, 28, 28), "image"), TensorSpec(np.dtype("str"), (-1,), "id")])
    text = schema.to_json()
    assert text == ('[{"name": "image", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}, '
                    '{"name": "id", "type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1]}}]')
    assert Schema.from_json(text) == schema


# Written by MLflow 3.17.2 (infer_signature on nested data and hand-built compound types).
MLFLOW_COMPOUND_JSON = (
    '[{"type": "array", "items": {"type": "long"}, "name": "e", "required": true}, '
    '{"type": "object", "properties": {"k": {"type": "long", "required": true}, '
    '"l": {"type": "array", "items": {"type": "boolean"}, "required": true}}, "name": "g", "required": true}, '
    '{"type": "map", "values": {"type": "double"}, "name": "m", "required": true}, '
    '{"type": "any", "name": "d", "required": false}, '
    '{"type": "array", "items": {"type": "array", "items": {"type": "object", "properties": '
    '{"a": {"type": "string", "required": false}}}}, "name": "n", "required": true}, '
    '{"type": "sparkml_vector", "name": "v", "required": true}]'
)


def test_compound_types_from_mlflow_round_trip_unchanged():
    schema = Schema.from_json(MLFLOW_COMPOUND_JSON)
    assert schema.to_json() == MLFLOW_COMPOUND_JSON
    types = schema.input_types()
    assert types[0] == Array(DataType.long)
    assert types[1] == Object([Property("l", Array("boolean")), Property("k", "long")])
    assert types[2] == Map("double")
    assert types[3] == AnyType()
    assert types[4] == Array(Array(Object([Property("a", "string", required=False)])))
    assert repr(types[5]) == "SparkML vector"


@pytest.mark.parametrize("text", [
    "not json",
    '{"type": "long"}',
    '[{"name": "a"}]',
    '[{"type": "int64", "name": "a"}]',
    '[{"type": "tensor", "tensor-spec": {"dtype": "float64"}}]',
    '[{"type": "tensor", "tensor-spec": {"dtype": "nope", "shape": [-1]}}]',
    '[{"type": "array", "name": "a"}]',
    '[]',
])
def test_malformed_schema_json_is_a_model_format_error(text):
    with pytest.raises(ModelFormatError, match="Malformed schema JSON"):
        Schema.from_json(text)


def test_schema_eq_and_repr(col_schema):
    assert col_schema == Schema([ColSpec("double", "a"), ColSpec("long", "b", required=False), ColSpec("string", "c")])
    assert col_schema != Schema([ColSpec("double", "a")])
    assert col_schema != "schema"
    assert repr(Schema([ColSpec("double", "a"), ColSpec("long", "b", False)])) == \
        "['a': double (required), 'b': long (optional)]"


# -- compound types ------------------------------------------------------------------------------


def test_object_sorts_properties_and_refuses_duplicates_and_empty():
    obj = Object([Property("b", "string"), Property("a", "long", required=False)])
    assert [p.name for p in obj.properties] == ["a", "b"]
    assert obj.to_dict() == {"type": "object", "properties": {"a": {"type": "long", "required": False},
                                                              "b": {"type": "string", "required": True}}}
    assert repr(obj) == "{a: long (optional), b: string (required)}"
    with pytest.raises(InvalidArgumentError, match="duplicated property names: `a`"):
        Object([Property("a", "long"), Property("a", "string")])
    with pytest.raises(InvalidArgumentError, match="empty properties"):
        Object([])
    with pytest.raises(InvalidArgumentError, match="name to be a string"):
        Property(1, "long")


def test_array_map_any_dicts_and_reprs():
    assert Array("long").to_dict() == {"type": "array", "items": {"type": "long"}}
    assert Map(Array("string")).to_dict() == {"type": "map", "values": {"type": "array", "items": {"type": "string"}}}
    assert AnyType().to_dict() == {"type": "any"}
    assert repr(Array(Map("double"))) == "Array(Map(str -> DataType.double))"
    assert repr(AnyType()) == "Any"
    with pytest.raises(InvalidArgumentError, match="Unsupported type 'int', expected instance of DataType.*for dtype"):
        Array("int")


def test_merge_types():
    assert merge_types(AnyType(), DataType.long) is DataType.long
    assert merge_types(DataType.long, AnyType()) is DataType.long
    assert merge_types(Array(AnyType()), Array("string")) == Array("string")
    a = Object([Property("x", "long"), Property("y", "string")])
    b = Object([Property("x", "long"), Property("z", "boolean")])
    assert merge_types(a, b) == Object([Property("x", "long"), Property("y", "string", False),
                                        Property("z", "boolean", False)])
    assert merge_types(a, AnyType()) == Object([Property("x", "long", False), Property("y", "string", False)])
    with pytest.raises(InvalidArgumentError, match="incompatible"):
        merge_types(DataType.long, DataType.string)
    with pytest.raises(InvalidArgumentError, match="non-array"):
        merge_types(Array("long"), Map("long"))


# -- params ---------------------------------------------------------------------------------------


def test_paramspec_json_exact():
    assert json.dumps(ParamSpec("k", "long", 3).to_dict()) == '{"name": "k", "default": 3, "shape": null, "type": "long"}'
    assert json.dumps(ParamSpec("ks", DataType.double, [1, 2.5], (-1,)).to_dict()) == \
        '{"name": "ks", "default": [1.0, 2.5], "shape": [-1], "type": "double"}'
    assert json.dumps(ParamSpec("when", "datetime", dt.datetime(2020, 1, 2, 3, 4, 5)).to_dict()) == \
        '{"name": "when", "default": "2020-01-02T03:04:05", "shape": null, "type": "datetime"}'
    obj = Object([Property("a", "long")])
    assert json.dumps(ParamSpec("o", obj, {"a": 1}).to_dict()) == (
        '{"name": "o", "default": {"a": 1}, "shape": null, "type": "object", '
        '"properties": {"a": {"type": "long", "required": true}}}'
    )


def test_paramspec_converts_defaults_to_python_types():
    assert type(ParamSpec("k", "long", np.int64(3)).default) is int
    assert ParamSpec("f", "float", np.float32(0.1)).default == pytest.approx(0.10000000149011612, abs=0)
    assert ParamSpec("d", "datetime", "2021-02-03").default == dt.date(2021, 2, 3)
    assert ParamSpec("l", "string", np.array(["a", "b"]), (-1,)).default == ["a", "b"]


@pytest.mark.parametrize(("args", "message"), [
    (("b", "binary", b"x"), "Binary type is not supported for parameters, ParamSpec 'b'"),
    # MLflow's messages
    (("k", "long", 1.5), r"Failed to validate type and shape for 'k': long \(default: 1.5\), error: Can not safely "
                         r"convert `<class 'float'>` to `DataType.long` for value `1.5`"),
    (("k", "long", True), "Can not safely convert `<class 'bool'>` to `DataType.long` for value `True`"),
    (("k", "long", [1]), r"Value must be a scalar for type `DataType.long`, got `\[1\]`"),
    (("k", "long", 1, (-1,)), r"Value must be a 1D array with shape \(-1,\) for param 'k': long \(default: 1\) "
                              r"\(shape: \(-1,\)\), received int with ndim 0"),
    (("k", "long", [[1]], (-1,)), "received list with ndim 2"),
    (("k", "long", 1, (2,)), r"Shape must be None for scalar or dictionary value, or \(-1,\) for 1D array value .* "
                             r"received \(2,\)"),
    (("k", "int64", 1), "Unsupported type 'int64' for param 'k'"),
    (("k", "integer", 2**40), "out of its range"),
])
def test_paramspec_errors(args, message):
    with pytest.raises(InvalidArgumentError, match=message):
        ParamSpec(*args)


def test_param_schema_round_trip_and_duplicates():
    schema = ParamSchema([ParamSpec("k", "long", 3), ParamSpec("l", "string", ["a"], (-1,)),
                          ParamSpec("d", "datetime", dt.date(2020, 1, 1))])
    text = schema.to_json()
    assert text == ('[{"name": "k", "default": 3, "shape": null, "type": "long"}, '
                    '{"name": "l", "default": ["a"], "shape": [-1], "type": "string"}, '
                    '{"name": "d", "default": "2020-01-01", "shape": null, "type": "datetime"}]')
    assert ParamSchema.from_json(text) == schema
    assert ParamSchema.from_json(text).to_json() == text
    assert repr(schema) == ("['k': long (default: 3), 'l': string (default: ['a']) (shape: (-1,)), "
                            "'d': datetime (default: 2020-01-01)]")
    with pytest.raises(InvalidArgumentError, match=r"Duplicated parameters found in schema: \['k'\]"):
        ParamSchema([ParamSpec("k", "long", 3), ParamSpec("k", "long", 4)])


def test_param_schema_reads_legacy_dtype_key():
    schema = ParamSchema.from_json('[{"name": "k", "dtype": "long", "default": 3, "shape": null}]')
    assert schema.params[0] == ParamSpec("k", "long", 3)


@pytest.mark.parametrize("text", ["nope", '{"name": "k"}', '[{"name": "k", "type": "long"}]',
                                  '[{"name": "k", "type": "long", "default": "x"}]'])
def test_malformed_params_json_is_a_model_format_error(text):
    with pytest.raises(ModelFormatError, match="Malformed params schema JSON"):
        ParamSchema.from_json(text)


def test_a_float_param_refuses_a_numpy_float64_as_mlflow():
    import re

    assert ParamSpec("f", "float", np.float32(0.5)).default == 0.5
    assert ParamSpec("f", "float", 0.5).default == 0.5
    with pytest.raises(InvalidArgumentError, match=re.escape("Can not safely convert `<class 'numpy.float64'>` to "
                                                             "`DataType.float`")):
        ParamSpec("f", "float", np.float64(0.5))
    assert ParamSpec("d", "double", np.float64(0.5)).default == 0.5


# -- convert_dataclass_to_schema -------------------------------------------------------------------------


@dataclasses.dataclass
class _Inner:
    flag: Optional[bool] = None  # noqa: UP045 (the typing spelling must work too)
    when: dt.date | None = None


@dataclasses.dataclass
class _Outer:  # string annotations (this module postpones them), resolved from the module
    name: str
    count: int
    blob: bytes
    inner: _Inner
    scores: list[float]
    items: Optional[list[_Inner]] = None  # noqa: UP045


def test_convert_dataclass_to_schema_nests_objects_arrays_and_optionals():
    from mlcask.types.schema import convert_dataclass_to_schema

    schema = convert_dataclass_to_schema(_Outer)
    inner = Object([Property("flag", "boolean", required=False), Property("when", "datetime", required=False)])
    assert schema == Schema([
        ColSpec("string", "name"), ColSpec("long", "count"), ColSpec("binary", "blob"), ColSpec(inner, "inner"),
        ColSpec(Array(DataType.float), "scores"), ColSpec(Array(inner), "items", required=False),
    ])
    assert convert_dataclass_to_schema(_Outer("n", 1, b"", _Inner(), [])) == schema  # an instance works too


def test_convert_dataclass_to_schema_refuses_what_it_cannot_type():
    from mlcask.types.schema import convert_dataclass_to_schema

    def make(hint):
        return dataclasses.make_dataclass("Bad", [("foo", hint)])

    with pytest.raises(InvalidArgumentError, match=r"Only Optional\[...\] is supported as a Union type in dataclass"):
        convert_dataclass_to_schema(make(str | int))
    with pytest.raises(InvalidArgumentError, match=r"Unsupported field type dict\[str, int\] in dataclass Bad"):
        convert_dataclass_to_schema(make(dict[str, int]))
    with pytest.raises(InvalidArgumentError, match="List field type <class 'set'> is not supported in dataclass Bad"):
        convert_dataclass_to_schema(make(list[set]))
    nested = dataclasses.make_dataclass("Holder", [("bad", make(dict))])
    with pytest.raises(InvalidArgumentError, match="Unsupported field type <class 'dict'> in dataclass Bad"):
        convert_dataclass_to_schema(nested)
    with pytest.raises(TypeError, match="int is not a dataclass"):
        convert_dataclass_to_schema(int)


def test_tensor_spec_to_dict_shape_is_a_tuple_and_its_json_a_list():
    spec = TensorSpec(np.dtype("float64"), [-1, 3], "x")
    assert spec.to_dict() == {"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": (-1, 3)}}
    assert type(spec.to_dict()["tensor-spec"]["shape"]) is tuple
    assert Schema([spec]).to_json() == '[{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
    assert Schema.from_json(Schema([spec]).to_json()) == Schema([spec])
