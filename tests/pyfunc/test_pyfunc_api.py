"""mlcask.pyfunc's public names beyond save/load: the flavor constants, add_to_model, the default
environment, and PyFuncModel built as MLflow users build it."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import mlcask
from mlcask.exceptions import InvalidInputError, MlcaskException
from mlcask.models import Model, ModelSignature
from mlcask.pyfunc import PyFuncModel, PythonModel
from mlcask.types import ColSpec, DataType, Schema


def test_flavor_constants_are_mlflows():
    p = mlcask.pyfunc
    assert (p.FLAVOR_NAME, p.MAIN, p.CODE, p.DATA, p.ENV, p.PY_VERSION, p.MODEL_CONFIG) == (
        "python_function", "loader_module", "code", "data", "env", "python_version", "config")


def test_add_to_model_writes_the_pyfunc_section():
    model = Model()
    returned = mlcask.pyfunc.add_to_model(model, loader_module="my.loader", data="model.bin", code="code",
                                          conda_env="conda.yaml", python_env="python_env.yaml",
                                          model_config={"k": 1}, predict_fn="predict")
    assert returned is model
    conf = model.flavors["python_function"]
    assert conf["loader_module"] == "my.loader"
    assert conf["data"] == "model.bin" and conf["code"] == "code"
    assert conf["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert conf["config"] == {"k": 1} and conf["predict_fn"] == "predict"
    assert conf["python_version"].count(".") == 2
    bare = mlcask.pyfunc.add_to_model(Model(), loader_module="x").flavors["python_function"]
    assert set(bare) == {"loader_module", "python_version"}


def test_default_environment():
    requirements = mlcask.pyfunc.get_default_pip_requirements()
    assert len(requirements) == 1 and requirements[0].startswith("cloudpickle==")
    env = mlcask.pyfunc.get_default_conda_env()
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert requirements[0] in pip and any(p.startswith("mlflow") for p in pip)


class Impl:
    def __init__(self):
        self.seen = []

    def predict(self, data, params=None):
        self.seen.append((data, params))
        return [len(data)]

    def predict_stream(self, data, params=None):
        yield from data


def test_pyfunc_model_from_metadata_and_an_implementation():
    sig = ModelSignature(Schema([ColSpec(DataType.double, "x")]))
    meta = Model(signature=sig, model_id="m-abc")
    mlcask.pyfunc.add_to_model(meta, loader_module="my.loader")
    impl = Impl()
    model = PyFuncModel(meta, impl)
    assert model.metadata is meta
    assert model.loader_module == "my.loader"
    assert model.model_id == "m-abc"
    assert model.predict(pd.DataFrame({"x": [1, 2]})) == [2]
    enforced = impl.seen[-1][0]
    assert enforced["x"].dtype == "float64"  # integers safely widened to the schema's double
    with pytest.raises(InvalidInputError):
        model.predict(pd.DataFrame({"y": [1.0]}))
    assert "mlflow.pyfunc.loaded_model" in repr(model)


def test_pyfunc_model_with_other_method_names():
    model = PyFuncModel(Model(), Impl(), predict_fn="predict", predict_stream_fn="predict_stream")
    assert list(model.predict_stream(["a", "b"])) == ["a", "b"]
    with pytest.raises(MlcaskException, match="This model does not support predict_stream method"):
        PyFuncModel(Model(), Impl()).predict_stream(["a"])
    with pytest.raises(MlcaskException, match="Model implementation is missing required score method"):
        PyFuncModel(Model(), Impl(), predict_fn="score")


def test_unwrap_and_raw_model_errors_are_mlflows():
    model = PyFuncModel(Model(), Impl())
    with pytest.raises(MlcaskException, match="Unable to retrieve base model object from pyfunc"):
        model.unwrap_python_model()
    with pytest.raises(NotImplementedError, match="`get_raw_model` is not implemented by the underlying model"):
        model.get_raw_model()


class Configured(PythonModel):
    def load_context(self, context):
        self.config = context.model_config

    def predict(self, context, model_input, params=None):
        return [self.config["greeting"]] * len(model_input)


def test_loaded_model_config_unwrap_and_dependencies(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Configured(), model_config={"greeting": "hi"})
    model = mlcask.pyfunc.load_model(tmp_path / "m")
    assert model.model_config == {"greeting": "hi"}
    assert isinstance(model.unwrap_python_model(), Configured)
    assert model.predict(["a"]) == ["hi"]
    assert mlcask.pyfunc.load_model(tmp_path / "m", model_config={"greeting": "yo"}).predict(["a"]) == ["yo"]
    requirements = mlcask.pyfunc.get_model_dependencies(tmp_path / "m")
    assert open(requirements).read().startswith("mlflow")
    conda = yaml.safe_load(open(mlcask.pyfunc.get_model_dependencies(tmp_path / "m", format="conda")))
    assert conda["name"] == "mlflow-env"


def test_streamable_is_recorded(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Configured(), streamable=True)
    assert Model.load(tmp_path / "m").flavors["python_function"]["streamable"] is True
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        mlcask.pyfunc.save_model(tmp_path / "m2", python_model=Configured(), no_such_argument=1)


def test_a_given_signature_is_checked_against_the_example(tmp_path):
    from mlcask.exceptions import InvalidArgumentError
    from mlcask.models import infer_signature

    signature = infer_signature(["a", "b"])
    with pytest.warns(UserWarning, match="An input example was not provided when logging the model"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=Configured(), signature=signature)
    with pytest.raises(InvalidArgumentError, match="Input example does not match the model signature"):
        mlcask.pyfunc.save_model(tmp_path / "m2", python_model=Configured(), signature=signature, input_example=123)
    assert not (tmp_path / "m2").exists()
    mlcask.pyfunc.save_model(tmp_path / "m3", python_model=Configured(), signature=signature, input_example=["x"])


def test_predict_parameters_mlflow_will_refuse_warn():
    with pytest.warns(FutureWarning, match=r"Model's `predict` method contains invalid parameters: \{'messages'\}"):
        class Messages(PythonModel):
            def predict(self, context, messages, params=None):
                return messages
    with pytest.warns(FutureWarning, match=r"Model's `predict_stream` method contains invalid parameters: \{'_'\}"):
        class Streams(PythonModel):
            def predict(self, model_input, params=None):
                return model_input

            def predict_stream(self, _, model_input, params=None):
                yield model_input


def test_a_different_cloudpickle_version_is_warned_of(tmp_path, caplog):
    import cloudpickle

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Configured(), model_config={"greeting": "x"})
    (tmp_path / "m" / "mlcask-manifest.json").unlink()  # as an MLflow-saved folder: MLmodel is edited below
    for recorded, message in (("0.0.1", "differs from the version of CloudPickle that is currently running"),
                              (None, "The version of CloudPickle used to save the model could not be found")):
        meta = Model.load(tmp_path / "m")
        conf = meta.flavors["python_function"]
        conf.pop("cloudpickle_version", None)
        if recorded:
            conf["cloudpickle_version"] = recorded
        (tmp_path / "m" / "MLmodel").write_text(meta.to_yaml())
        caplog.clear()
        with caplog.at_level("WARNING", logger="mlcask.pyfunc"):
            mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)
        assert message in caplog.text
    caplog.clear()
    conf["cloudpickle_version"] = cloudpickle.__version__
    (tmp_path / "m" / "MLmodel").write_text(meta.to_yaml())
    with caplog.at_level("WARNING", logger="mlcask.pyfunc"):
        mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)
    assert "CloudPickle" not in caplog.text


def test_a_predict_without_an_input_type_hint_is_warned_of(tmp_path):
    from mlcask.pyfunc.utils import pyfunc

    with pytest.warns(UserWarning, match="Add type hints to the `predict` method"):
        class Plain(PythonModel):
            def predict(self, model_input, params=None):
                return model_input
    with pytest.warns(UserWarning, match="Add type hints to the `predict` method"):
        @pyfunc
        def predict(model_input):
            return model_input

    def plain(model_input):
        return model_input

    with pytest.warns(UserWarning, match="Add type hints to the `predict` method"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=plain, input_example=["a"])


def test_a_signature_set_on_the_loaded_models_metadata_is_enforced_from_the_next_predict(tmp_path):
    from mlcask.exceptions import InvalidInputError
    from mlcask.models import ModelSignature
    from mlcask.types import ColSpec, Schema

    class Echo(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo())
    model = mlcask.pyfunc.load_model(tmp_path / "m")
    frame = pd.DataFrame({"a": ["x"]})
    assert model.predict(frame) is not None
    model.metadata.signature = ModelSignature(inputs=Schema([ColSpec("double", "a")]))
    with pytest.raises(InvalidInputError, match="Failed to enforce schema of data"):
        model.predict(frame)
