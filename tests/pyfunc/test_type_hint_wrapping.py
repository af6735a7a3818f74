"""A PythonModel subclass's type-hinted ``predict`` checks its input on every call (MLflow's
local testing), pydantic hints convert dicts, and the pickle holds the user's function."""

import io
import json
import warnings
from typing import Any, Optional

import pandas as pd
import pydantic
import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.models import Model
from mlcask.pyfunc import PythonModel
from mlcask.pyfunc.mlflow_compat import MlflowCompatibleUnpickler
from mlcask.pyfunc.python_model import _dump_python_model
from mlcask.pyfunc.utils import pyfunc
from mlcask.types import Array, ColSpec, DataType, Object, Property, Schema


class Message(pydantic.BaseModel):
    role: str
    content: str


class Scored(pydantic.BaseModel):
    text: str
    score: Optional[int] = None  # noqa: UP045 (MLflow's tests use both spellings)
    tags: list[str] = []


def _model_with(hint_source: str) -> type:
    namespace: dict[str, Any] = {"PythonModel": PythonModel, "Message": Message, "Scored": Scored, "Any": Any,
                                 "Optional": Optional}
    exec(compile(f"class M(PythonModel):\n    def predict(self, model_input: {hint_source}, params=None):\n"  # noqa: S102
                 "        return model_input\n", "<model>", "exec", dont_inherit=True), namespace)
    return namespace["M"]


def test_a_hinted_predict_checks_local_calls_and_keeps_the_original():
    class Model(PythonModel):
        def predict(self, model_input: list[dict[str, str]], params=None) -> list[str]:
            return [m["x"] for m in model_input]

    assert Model.predict._is_pyfunc and Model.predict.__wrapped__.__name__ == "predict"
    assert Model().predict([{"x": "a"}]) == ["a"]
    with pytest.raises(MlcaskException, match="Expected dict, but got str"):
        Model().predict(["a"])
    with pytest.raises(MlcaskException, match="Expected list, but got str"):
        Model().predict(model_input="a")  # by keyword too


def test_the_context_form_checks_the_second_argument():
    class Model(PythonModel):
        def predict(self, context, model_input: list[str], params=None) -> list[str]:
            return model_input

    assert Model().predict(None, ["a"]) == ["a"]
    with pytest.raises(MlcaskException, match="Expected list, but got str"):
        Model().predict(None, "a")


def test_optional_values_and_unhinted_models():
    class Optionals(PythonModel):
        def predict(self, model_input: list[dict[str, str | None]], params=None) -> Any:
            return [x["k"] or "default" for x in model_input]

    assert Optionals().predict([{"k": None}, {"k": "a"}]) == ["default", "a"]
    with pytest.warns(UserWarning, match="Add type hints to the `predict` method"):
        class Bare(PythonModel):
            def predict(self, model_input, params=None):
                return model_input
    assert Bare().predict("anything") == "anything" and not hasattr(Bare.predict, "__wrapped__")


def test_pydantic_hints_convert_dicts_frames_and_check_fields():
    model = _model_with("list[Message]")()
    converted = model.predict([{"role": "admin", "content": "hi"}, Message(role="u", content="x")])
    assert converted == [Message(role="admin", content="hi"), Message(role="u", content="x")]
    assert model.predict(pd.DataFrame([[{"role": "a", "content": "b"}]])) == [Message(role="a", content="b")]
    assert model.predict(pd.DataFrame({"role": ["a"], "content": ["b"]})) == [Message(role="a", content="b")]
    with pytest.raises(MlcaskException, match="Data doesn't match type hint"):
        model.predict([{"role": "admin"}])
    with pytest.raises(MlcaskException, match="Data doesn't match type hint"):
        model.predict([{"role": 1, "content": "strictly typed: no coercion"}])
    with pytest.raises(MlcaskException, match="Expecting example to be a dictionary or pydantic model instance"):
        model.predict(["a"])


def test_a_pydantic_optional_field_without_default_is_refused_at_class_creation():
    class NoDefault(pydantic.BaseModel):
        content: str | None

    with pytest.raises(InvalidArgumentError, match="Optional field `content` in Pydantic model `NoDefault` doesn't "
                                                   "have a default value.*To disable data validation"):
        class Model(PythonModel):
            def predict(self, model_input: list[NoDefault], params=None):
                return model_input
    with pytest.raises(InvalidArgumentError, match="To disable data validation"):
        @pyfunc
        def predict(model_input: list[NoDefault]):
            return model_input


def test_a_pydantic_hint_gives_an_object_signature_and_a_dumped_example(tmp_path):
    model = _model_with("list[Scored]")()
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=model, input_example=[Scored(text="a", score=1)])
    meta = Model.load(tmp_path / "m")
    expected = Object([Property("text", DataType.string), Property("score", DataType.long, required=False),
                       Property("tags", Array(DataType.string))])  # required: only Optional is not, as MLflow
    assert meta.signature.inputs == Schema([ColSpec(expected)])
    assert meta.is_signature_from_type_hint is True
    assert meta.saved_input_example_info["type"] == "json_object"
    stored = json.loads((tmp_path / "m" / "input_example.json").read_text())
    assert stored == [{"text": "a", "score": 1, "tags": []}]
    loaded = mlcask.pyfunc.load_model(tmp_path / "m")
    assert loaded.predict(stored) == [Scored(text="a", score=1)]


def test_a_pydantic_example_alone_is_dumped(tmp_path):
    from mlcask.models.input_example import InputExample

    example = InputExample(Message(role="r", content="c"))
    assert example.info["type"] == "json_object"
    assert json.loads(example.json_input_example) == {"role": "r", "content": "c"}
    assert json.loads(example.json_serving_input) == {"inputs": {"role": "r", "content": "c"}}


def test_the_pickle_holds_the_original_handed_to_pyfunc(tmp_path):
    model = _model_with("list[str]")()
    _dump_python_model(model, tmp_path / "p.pkl")
    data = (tmp_path / "p.pkl").read_bytes()
    assert b"mlcask" not in data and b"mlflow.pyfunc.model" in data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading warns of nothing
        loaded = MlflowCompatibleUnpickler(io.BytesIO(data)).load()
    predict = type(loaded).predict
    assert predict._is_pyfunc and predict.__wrapped__.__code__.co_name == "predict"
    assert loaded.predict(["a"]) == ["a"]
    with pytest.raises(MlcaskException, match="Expected list, but got str"):
        loaded.predict("a")


def test_a_predict_with_other_parameter_names_is_pickled_bare(tmp_path):
    with pytest.warns(FutureWarning, match="contains invalid parameters"):
        class Model(PythonModel):
            def predict(self, messages: list[Message], params=None) -> list[str]:
                return [m.content for m in messages]

    assert Model().predict(messages=[{"role": "a", "content": "b"}]) == ["b"]
    _dump_python_model(Model(), tmp_path / "p.pkl")
    loaded = MlflowCompatibleUnpickler(io.BytesIO((tmp_path / "p.pkl").read_bytes())).load()
    assert not getattr(type(loaded).predict, "_is_pyfunc", False)  # MLflow's @pyfunc would warn at each load


def test_logging_warns_to_decorate_only_unchecked_functions(tmp_path):
    def predict(model_input: list[str]) -> list[str]:
        return model_input

    with pytest.warns(UserWarning, match="Decorate your function"):
        mlcask.pyfunc.save_model(tmp_path / "f", python_model=predict, input_example=["a"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlcask.pyfunc.save_model(tmp_path / "d", python_model=pyfunc(predict), input_example=["a"])
        mlcask.pyfunc.save_model(tmp_path / "c", python_model=_model_with("list[str]")(), input_example=["a"])
    assert not [w for w in caught if "Decorate your function" in str(w.message)]


def test_undecorated_functions_get_the_decorator_warnings(tmp_path):
    def predict(messages) -> list[str]:
        return messages

    with pytest.warns(FutureWarning, match="contains invalid parameters"):
        mlcask.pyfunc.save_model(tmp_path / "w", python_model=predict, input_example=["a"])

