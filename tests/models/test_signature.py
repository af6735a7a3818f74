"""ModelSignature (the MLmodel ``signature`` section) and infer_signature."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.signature import ModelSignature, infer_signature
from mlcask.types import AnyType, ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec


@pytest.fixture(autouse=True)
def _quiet_integer_hint():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture
def signature():
    return ModelSignature(
        Schema([ColSpec("double", "mean radius"), ColSpec("string", "kind", required=False)]),
        Schema([ColSpec("long", "target")]),
        ParamSchema([ParamSpec("k", "long", 3)]),
    )


def test_to_dict_is_mlmodels_signature_section(signature):
    assert signature.to_dict() == {
        "inputs": '[{"type": "double", "name": "mean radius", "required": true}, '
                  '{"type": "string", "name": "kind", "required": false}]',
        "outputs": '[{"type": "long", "name": "target", "required": true}]',
        "params": '[{"name": "k", "default": 3, "shape": null, "type": "long"}]',
    }


def test_missing_parts_are_none():
    sig = ModelSignature(Schema([TensorSpec(np.dtype("float64"), (-1, 30))]))
    assert sig.to_dict() == {
        "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 30]}}]',
        "outputs": None,
        "params": None,
    }
    assert sig.outputs is None and sig.params is None


def test_from_dict_round_trip(signature):
    assert ModelSignature.from_dict(signature.to_dict()) == signature
    assert ModelSignature.from_dict(signature.to_dict()).to_dict() == signature.to_dict()
    only_inputs = {"inputs": signature.to_dict()["inputs"]}  # older MLmodel files omit keys
    assert ModelSignature.from_dict(only_inputs) == ModelSignature(signature.inputs)


@pytest.mark.parametrize("bad", [
    {"inputs": "not json"},
    {"inputs": None, "outputs": None, "params": None},
    {"params": '[{"name": "k"}]'},
    "inputs",
])
def test_from_dict_refuses_malformed_sections(bad):
    with pytest.raises(ModelFormatError, match="Malformed"):
        ModelSignature.from_dict(bad)


def test_equality(signature):
    same = ModelSignature.from_dict(signature.to_dict())
    assert signature == same
    assert signature != ModelSignature(signature.inputs, signature.outputs)
    assert signature != ModelSignature(signature.inputs, None, signature.params)
    assert signature != signature.to_dict()


def test_repr(signature):
    assert repr(signature) == (
        "inputs: \n  ['mean radius': double (required), 'kind': string (optional)]\n"
        "outputs: \n  ['target': long (required)]\n"
        "params: \n  ['k': long (default: 3)]\n"
    )


@pytest.mark.parametrize(("kwargs", "error", "message"), [  # MLflow's exceptions and messages
    ({}, InvalidArgumentError, "At least one of inputs, outputs or params must be provided"),
    ({"inputs": [ColSpec("long")]}, TypeError,
     r"inputs must be either None, mlflow.models.signature.Schema, or a dataclass, got 'list'"),
    ({"outputs": "x"}, TypeError, r"outputs must be either None, mlflow.models.signature.Schema, or a dataclass"),
    ({"params": {"k": 1}}, TypeError, "If params are provided, they must by of type "
                                      r"mlflow.models.signature.ParamSchema, got 'dict'"),
])
def test_constructor_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        ModelSignature(**kwargs)


# -- infer_signature -----------------------------------------------------------------------------------


def test_infer_signature_for_a_classifier():
    X = pd.DataFrame({"mean radius": [1.0, 2.0], "mean texture": [0.5, 0.7]})
    y = pd.Series([0, 1], name="target")
    assert infer_signature(X, y).to_dict() == {
        "inputs": '[{"type": "double", "name": "mean radius", "required": true}, '
                  '{"type": "double", "name": "mean texture", "required": true}]',
        "outputs": '[{"type": "long", "name": "target", "required": true}]',
        "params": None,
    }


def test_infer_signature_with_ndarray_output_and_params():
    sig = infer_signature(pd.DataFrame({"x": [1.0]}), np.array([0, 1]), params={"top_k": 10, "temperature": 0.7})
    assert sig.outputs == Schema([TensorSpec(np.dtype("int64"), (-1,))])
    assert sig.params.to_json() == ('[{"name": "top_k", "default": 10, "shape": null, "type": "long"}, '
                                    '{"name": "temperature", "default": 0.7, "shape": null, "type": "double"}]')


def test_infer_signature_output_only_and_params_only():
    assert infer_signature(model_output=[1.5, 2.5]).to_dict() == {
        "inputs": None, "outputs": '[{"type": "double", "required": true}]', "params": None,
    }
    assert infer_signature(params={"k": 1}).inputs is None


def test_infer_signature_needs_something():
    with pytest.raises(InvalidArgumentError, match="At least one of inputs, outputs or params"):
        infer_signature()
    with pytest.raises(InvalidArgumentError, match="At least one"):
        infer_signature(params={})  # empty params count as none, as in MLflow


def test_uninferable_data_falls_back_to_any_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="mlcask.models.signature"):
        sig = infer_signature(pd.DataFrame({"a": pd.Series([1, "x"], dtype=object)}), [1, "a"])
    assert sig.inputs == Schema([ColSpec(AnyType())])
    assert sig.outputs == Schema([ColSpec(AnyType())])
    assert "Failed to infer schema for inputs" in caplog.text
    assert "Failed to infer schema for outputs" in caplog.text


def test_bad_params_raise():
    with pytest.raises(InvalidArgumentError, match=r"Failed to infer schema for parameters: \[\('b', b'x', MlflowException\(.Binary type"):
        infer_signature(pd.DataFrame({"x": [1.0]}), params={"b": b"x"})


def test_import_does_not_load_pandas():
    import subprocess
    import sys

    code = ("import sys; from mlcask.models.signature import ModelSignature; "
            "import mlcask.types; print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
