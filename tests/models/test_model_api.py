"""The ``Model`` API MLflow users call: log, load from URIs, input examples, YAML, equality,
``get_model_info``, ``validate_schema`` and ``update_model_requirements``."""

from __future__ import annotations

import io
import types

import pandas as pd
import pytest
import yaml

import mlcask
from mlcask.exceptions import InvalidArgumentError, InvalidInputError, MlcaskException
from mlcask.models import Model, ModelInfo, ModelSignature, get_model_info, update_model_requirements, validate_schema
from mlcask.models.integrity import verify_model
from mlcask.pyfunc import PythonModel
from mlcask.types import ColSpec, DataType, Schema


class Doubler(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


@pytest.fixture
def saved(tmp_path):
    example = pd.DataFrame({"x": [1.0, 2.0]})
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler(), input_example=(example, {"k": 3}))
    return tmp_path / "m"


def test_model_log_with_a_flavor_module(tracking):
    with mlcask.start_run() as run:
        info = Model.log("model", mlcask.pyfunc, python_model=Doubler(), registered_model_name="doubler",
                         metadata={"team": "a"}, input_example=pd.DataFrame({"x": [1.0]}))
    assert isinstance(info, ModelInfo)
    assert info.model_uri.startswith("models:/m-")
    assert info.run_id == run.info.run_id
    assert info.registered_model_version == 1
    assert info.metadata == {"team": "a"}
    loaded = mlcask.pyfunc.load_model(info.model_uri)
    assert loaded.predict(pd.DataFrame({"x": [2.0]}))["x"].tolist() == [4.0]
    assert mlcask.pyfunc.load_model("models:/doubler/1").metadata.metadata == {"team": "a"}


def test_model_log_with_an_mlflow_style_flavor_whose_save_model_returns_nothing(tracking, tmp_path):
    flavor = types.ModuleType("my_flavor")

    def save_model(path, mlflow_model, text):
        mlcask.pyfunc.save_model(path, python_model=Doubler(), mlflow_model=mlflow_model, metadata={"text": text})

    flavor.save_model = save_model
    with mlcask.start_run():
        info = Model.log(None, flavor, name="custom", text="hello")
    assert info.model_uri.startswith("models:/m-")
    assert Model.load(info.model_uri).metadata == {"text": "hello"}


def test_model_log_refuses_what_is_not_a_flavor(tracking):
    with pytest.raises(InvalidArgumentError, match="flavor must be a flavor module with a save_model function"):
        Model.log("model", object())


def test_model_load_from_runs_and_models_uris(tracking):
    with mlcask.start_run() as run:
        info = mlcask.pyfunc.log_model(name="model", python_model=Doubler())
    by_model = Model.load(info.model_uri)
    by_run = Model.load(f"runs:/{run.info.run_id}/model")
    assert by_model.model_id == by_run.model_id == info.model_id
    assert by_model == by_run
    assert get_model_info(info.model_uri).model_uri == info.model_uri


def test_pyfunc_artifacts_from_runs_and_models_uris(tracking, tmp_path):
    data = tmp_path / "words.txt"
    data.write_text("a b c")
    with mlcask.start_run() as run:
        mlcask.log_artifact(str(data))
        inner = mlcask.pyfunc.log_model(name="inner", python_model=Doubler())

    class UsesArtifacts(PythonModel):
        def load_context(self, context):
            with open(context.artifacts["words"]) as f:
                self.words = f.read().split()
            self.inner = mlcask.pyfunc.load_model(context.artifacts["inner"])

        def predict(self, context, model_input, params=None):
            return [self.words[i] for i in model_input]

    mlcask.pyfunc.save_model(tmp_path / "outer", python_model=UsesArtifacts(),
                             artifacts={"words": f"runs:/{run.info.run_id}/words.txt", "inner": inner.model_uri})
    conf = Model.load(tmp_path / "outer").flavors["python_function"]["artifacts"]
    assert conf["words"] == {"path": "artifacts/words.txt", "uri": f"runs:/{run.info.run_id}/words.txt"}
    assert conf["inner"]["uri"] == inner.model_uri
    assert (tmp_path / "outer" / conf["inner"]["path"] / "MLmodel").is_file()
    assert mlcask.pyfunc.load_model(tmp_path / "outer").predict([2, 0]) == ["c", "a"]


def test_load_input_example_and_its_params(saved):
    meta = Model.load(saved)
    example = meta.load_input_example(saved)
    pd.testing.assert_frame_equal(example, pd.DataFrame({"x": [1.0, 2.0]}))
    assert meta.load_input_example_params(saved) == {"k": 3}
    assert '"dataframe_split"' in meta.get_serving_input(saved)
    with pytest.raises(MlcaskException, match="No such file or directory"):  # MLflow's exception
        meta.load_input_example(saved / "folder_which_does_not_exist")
    (saved / "input_example.json").unlink()
    with pytest.raises(FileNotFoundError, match="No such file or directory: .*input_example.json"):
        meta.load_input_example(saved)


def test_no_input_example_gives_none(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    meta = Model.load(tmp_path / "m")
    assert meta.load_input_example(tmp_path / "m") is None
    assert meta.load_input_example_params(tmp_path / "m") is None
    assert meta.get_serving_input(tmp_path / "m") is None


def test_to_yaml_to_a_stream_and_equality(saved):
    meta = Model.load(saved)
    stream = io.StringIO()
    assert meta.to_yaml(stream) is None
    assert yaml.safe_load(stream.getvalue()) == yaml.safe_load(meta.to_yaml())
    assert Model.from_dict(yaml.safe_load(meta.to_yaml())) == meta
    other = Model.load(saved)
    other.metadata = {"changed": True}
    assert other != meta
    assert meta != "not a model"


def test_schema_getters():
    sig = ModelSignature(Schema([ColSpec(DataType.double, "x")]), Schema([ColSpec(DataType.long)]))
    model = Model(signature=sig)
    assert model.get_input_schema() == sig.inputs
    assert model.get_output_schema() == sig.outputs
    assert model.get_params_schema() is None
    assert Model().get_input_schema() is None


def test_validate_schema():
    schema = Schema([ColSpec(DataType.long, "a"), ColSpec(DataType.string, "b")])
    validate_schema(pd.DataFrame({"a": [1], "b": ["x"]}), schema)
    with pytest.raises(InvalidInputError, match=r"missing .*\['b'\]"):
        validate_schema(pd.DataFrame({"a": [1]}), schema)
    with pytest.raises(InvalidInputError):
        validate_schema(pd.DataFrame({"a": [1.5], "b": ["x"]}), schema)


def test_model_info_fields(saved, tracking):
    info = get_model_info(saved)
    assert info.flavors["python_function"]["loader_module"] == "mlflow.pyfunc.model"
    assert info.params is None and info.tags is None and info.metrics is None
    with mlcask.start_run():
        logged = mlcask.pyfunc.log_model(name="model", python_model=Doubler(), params={"alpha": 1})
    assert logged.name == "model"
    assert logged.model_id.startswith("m-")


def test_update_model_requirements(saved):
    before = (saved / "requirements.txt").read_text().splitlines()
    update_model_requirements(saved, "add", ["numpy==1.0.0", "Extra-Package>=2"])
    after = (saved / "requirements.txt").read_text().splitlines()
    assert "numpy==1.0.0" in after and "extra-package>=2" in after
    assert not any(line.startswith("numpy==") and line != "numpy==1.0.0" for line in after)
    conda = yaml.safe_load((saved / "conda.yaml").read_text())
    pip = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert "numpy==1.0.0" in pip
    verified = verify_model(saved)  # the manifest was rewritten for the new files, and signed again
    assert verified.files_checked > 0 and verified.trusted_signer is not None
    update_model_requirements(saved, "remove", ["extra-package", "not-there"])
    final = (saved / "requirements.txt").read_text().splitlines()
    assert "extra-package>=2" not in final
    assert set(final) == {line for line in before if not line.startswith("numpy==")} | {"numpy==1.0.0"}


def test_update_model_requirements_refusals(saved):
    with pytest.raises(InvalidArgumentError, match="Found invalid requirements"):
        update_model_requirements(saved, "add", ["not a requirement!!"])
    with pytest.raises(InvalidArgumentError, match="Model URIs with the `models:/` scheme are not supported"):
        update_model_requirements("models:/name/1", "add", ["numpy"])
    with pytest.raises(InvalidArgumentError, match="operation must be 'add' or 'remove'"):
        update_model_requirements(saved, "replace", ["numpy"])


def test_model_load_of_a_missing_uri_names_it(tracking):
    with pytest.raises(Exception, match="m-doesnotexist"):
        Model.load("models:/m-doesnotexist")


@pytest.mark.parametrize("kind", ["csc", "csr"])
def test_sparse_input_examples_round_trip(tmp_path, kind):
    import json

    import numpy as np
    from scipy import sparse

    matrix = getattr(sparse, f"{kind}_matrix")(np.array([[0.0, 1.5], [2.0, 0.0]]))
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler(), input_example=matrix, signature=False)
    meta = Model.load(tmp_path / "m")
    assert meta.saved_input_example_info["type"] == f"sparse_matrix_{kind}"
    stored = json.loads((tmp_path / "m" / "input_example.json").read_text())
    assert set(stored) == {"data", "indices", "indptr", "shape"} and stored["shape"] == [2, 2]
    loaded = meta.load_input_example(tmp_path / "m")
    assert type(loaded) is type(matrix) and (loaded != matrix).nnz == 0
    serving = json.loads(meta.get_serving_input(tmp_path / "m"))
    assert serving == {"inputs": [[0.0, 1.5], [2.0, 0.0]]}


def test_get_model_info_of_a_logged_model_has_its_tracking_record(tracking):
    with mlcask.start_run():
        logged = mlcask.pyfunc.log_model(name="model", python_model=Doubler(), params={"alpha": "1"})
    info = get_model_info(logged.model_uri)
    assert info.model_id == logged.model_id and info.name == "model"
    assert info.params == {"alpha": "1"}
    assert info.creation_timestamp is not None


def test_schema_details_can_be_kept_out_of_errors(monkeypatch):
    from mlcask.pyfunc import PyFuncModel

    schema = Schema([ColSpec(DataType.long, "id"), ColSpec(DataType.string, "name")])
    monkeypatch.setenv("MLFLOW_DISABLE_SCHEMA_DETAILS", "true")
    with pytest.raises(InvalidInputError, match=r"^Input schema validation failed. Mismatched or missing input\(s\). "
                                                r"Note that there were extra inputs provided.$"):
        validate_schema(pd.DataFrame({"id": [1], "extra": ["x"]}), schema)

    class Echo:
        def predict(self, data, params=None):
            return data

    model = PyFuncModel(Model(signature=ModelSignature(schema)), Echo())
    with pytest.raises(InvalidInputError, match=r"^Failed to enforce model input schema. Please check your input "
                                                r"data.$"):
        model.predict(pd.DataFrame({"id": [1.5], "name": ["x"]}))
    monkeypatch.delenv("MLFLOW_DISABLE_SCHEMA_DETAILS")
    with pytest.raises(InvalidInputError, match=r"(?s)Failed to enforce schema of data .* Incompatible input types"):
        model.predict(pd.DataFrame({"id": [1.5], "name": ["x"]}))


def test_a_dict_of_strings_and_lists_of_strings_is_one_row_as_in_mlflow():
    from mlcask.models.enforcement import enforce_schema

    schema = Schema([ColSpec(DataType.string, "prompt"), ColSpec(DataType.string, "stop")])
    out = enforce_schema({"prompt": "hi", "stop": ["a", "b"]}, schema)
    pd.testing.assert_frame_equal(out, pd.DataFrame([{"prompt": "hi", "stop": ["a", "b"]}]))
    numbers = Schema([ColSpec(DataType.long, "a"), ColSpec(DataType.string, "b")])
    assert len(enforce_schema({"a": [1, 2], "b": ["x", "y"]}, numbers)) == 2  # columns: not all strings
