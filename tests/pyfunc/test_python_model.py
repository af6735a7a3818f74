import pickle

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, MlcaskException, ModelFormatError
from mlcask.models import Model
from mlcask.pyfunc import PythonModel, PythonModelContext


def unseal(folder):
    """Drop the integrity manifest, as in a folder MLflow saved, to reach the loader's own checks."""
    (folder / "mlcask-manifest.json").unlink()



class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


class Vocabulary(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["vocab"]) as f:
            self.words = f.read().split()

    def predict(self, context, model_input, params=None):
        return [self.words[i] for i in model_input["i"]]


class NoContext(PythonModel):
    def predict(self, model_input, params=None):
        return [len(model_input)] * len(model_input)


class Scaled(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["x"] * params["k"]


def test_artifacts_are_copied_and_handed_to_load_context(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("zero one two")
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Vocabulary(), artifacts={"vocab": str(vocab)})
    vocab.unlink()  # the model must use its own copy

    loaded = mlcask.pyfunc.load_model(tmp_path / "m")

    assert loaded.predict(pd.DataFrame({"i": [2, 0]})) == ["two", "zero"]
    assert isinstance(loaded.unwrap_python_model(), Vocabulary)
    conf = loaded.metadata.flavors["python_function"]
    assert conf["artifacts"] == {"vocab": {"path": "artifacts/vocab.txt", "uri": str(vocab)}}
    assert conf["loader_module"] == "mlflow.pyfunc.model" and conf["python_model"] == "python_model.pkl"


def test_predict_without_context_argument(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=NoContext())
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(pd.DataFrame({"a": [1, 2, 3]})) == [3, 3, 3]


def test_signature_and_params_inferred_from_an_example_with_params(tmp_path):
    example = (pd.DataFrame({"x": [1.0, 2.0]}), {"k": 2})
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Scaled(), input_example=example)
    loaded = mlcask.pyfunc.load_model(tmp_path / "m")
    frame = pd.DataFrame({"x": [1.0, 3.0]})
    assert list(loaded.predict(frame)) == [2.0, 6.0]  # default k=2 filled in
    assert list(loaded.predict(frame, params={"k": 10})) == [10.0, 30.0]
    assert loaded.metadata.get_params_schema() is not None


def test_pickle_by_value_refers_to_mlflow_base_class_by_name(tmp_path):
    class Local(PythonModel):  # a class cloudpickle must pickle by value, as one in __main__
        def predict(self, context, model_input, params=None):
            return "local"

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Local())
    raw = (tmp_path / "m" / "python_model.pkl").read_bytes()
    imported = pickled_module_references(raw)
    # Loading imports MLflow's module by name and nothing of mlcask (file paths, such as
    # the tests' own folder, may mention mlcask: they are data, not imports).
    assert "mlflow.pyfunc.model" in imported
    assert not [name for name in imported if name == "mlcask" or name.startswith("mlcask.")], imported
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict([1]) == "local"


def pickled_module_references(raw: bytes) -> set[str]:
    """The modules a pickle imports when loaded: GLOBAL/STACK_GLOBAL operands, and the
    arguments of the ``importlib.import_module`` calls it makes."""
    import pickletools

    strings, found = [], set()
    for opcode, arg, _ in pickletools.genops(raw):
        if opcode.name == "GLOBAL":
            found.add(arg.split(" ", 1)[0])
        elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.add(strings[-2])
        if isinstance(arg, str) and opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE",
                                                    "BINUNICODE8"):
            strings.append(arg)
            if "." in arg and all(part.isidentifier() for part in arg.split(".")):
                found.add(arg)  # a dotted name handed to import_module or getattr
    return {name for name in found if name}


def test_model_config_reaches_the_context(tmp_path):
    class Configured(PythonModel):
        def load_context(self, context):
            self.config = context.model_config

        def predict(self, context, model_input, params=None):
            return self.config

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Configured(), model_config={"a": 1})
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict([1]) == {"a": 1}
    assert mlcask.pyfunc.load_model(tmp_path / "m", model_config={"a": 2}).predict([1]) == {"a": 2}


def test_loader_module_model_uses_code_paths(tmp_path):
    (tmp_path / "my_loader.py").write_text(
        "class _M:\n"
        "    def __init__(self, path): self.offset = float(open(path).read())\n"
        "    def predict(self, data, params=None): return data['x'] + self.offset\n"
        "def _load_pyfunc(path): return _M(path)\n"
    )
    (tmp_path / "offset.txt").write_text("0.5")
    mlcask.pyfunc.save_model(tmp_path / "m", loader_module="my_loader", data_path=str(tmp_path / "offset.txt"),
                             code_paths=[str(tmp_path / "my_loader.py")])
    result = mlcask.pyfunc.load_model(tmp_path / "m").predict(pd.DataFrame({"x": [1.0]}))
    assert list(result) == [1.5]
    requirements = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert requirements[0].startswith("mlflow==") and mlcask.pyfunc.get_default_pip_requirements()[0] in requirements


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "Either `loader_module` or `python_model` must be specified"),
        ({"python_model": Echo(), "loader_module": "x"}, "cannot be specified together"),
        ({"python_model": "model.py"}, "The provided model path '.*model.py' does not exist"),
        ({"python_model": Echo(), "artifacts": {"a": "/no/such/file"}}, "Artifact 'a': '/no/such/file' does not exist"),
        ({"python_model": Echo(), "artifacts": ["x"]}, "artifacts must be a dict"),
        ({"loader_module": "x", "artifacts": {"a": "b"}}, "cannot be specified together"),
        ({"python_model": 42}, "`python_model` must be a PythonModel instance, callable object"),
    ],
)
def test_bad_save_arguments(tmp_path, kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        mlcask.pyfunc.save_model(tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


def test_corrupt_python_model_file_is_reported(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo())
    unseal(tmp_path / "m")
    (tmp_path / "m" / "python_model.pkl").write_bytes(b"\x80\x05garbage")
    with pytest.raises(ModelFormatError, match="python_model.pkl' is corrupt"):
        mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)


def test_missing_artifact_is_reported(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo(), artifacts={"a": str(tmp_path / "a.txt")})
    unseal(tmp_path / "m")
    (tmp_path / "m" / "artifacts" / "a.txt").unlink()
    with pytest.raises(ModelFormatError, match="artifact 'a' is missing"):
        mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)


def test_pickle_of_an_unimportable_class_says_to_use_code_paths(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo())
    unseal(tmp_path / "m")
    payload = pickle.dumps(Echo()).replace(b"Echo", b"Ghst")
    (tmp_path / "m" / "python_model.pkl").write_bytes(payload)
    with pytest.raises(ModelFormatError, match="code_paths"):
        mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)


def test_get_raw_model_and_unwrap_on_a_native_flavor(tmp_path, xgb_classifier):
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    loaded = mlcask.pyfunc.load_model(tmp_path / "m")
    assert loaded.get_raw_model().__class__.__name__ == "XGBClassifier"
    with pytest.raises(MlcaskException, match="Unable to retrieve base model object from pyfunc"):
        loaded.unwrap_python_model()


def test_context_exposes_artifacts_and_config():
    context = PythonModelContext({"a": "/x"}, {"c": 1})
    assert context.artifacts == {"a": "/x"} and context.model_config == {"c": 1}


def test_numpy_input_reaches_the_model_unchanged_without_signature(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo())
    data = np.arange(6).reshape(2, 3)
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(data) is data
    assert Model.load(tmp_path / "m").signature is None


@pytest.mark.parametrize(("compression", "suffix"), [("lzma", ".xz"), ("bzip2", ".bz2"), ("gzip", ".gz")])
def test_mlflow_log_model_compression_compresses_the_pickle(tmp_path, monkeypatch, compression, suffix):
    monkeypatch.setenv("MLFLOW_LOG_MODEL_COMPRESSION", compression)
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo())
    conf = Model.load(tmp_path / "m").flavors["python_function"]
    assert conf["python_model"] == "python_model.pkl" + suffix
    assert conf["python_model_compression"] == compression
    raw = (tmp_path / "m" / conf["python_model"]).read_bytes()
    assert not raw.startswith(b"\x80")  # not a bare pickle
    monkeypatch.delenv("MLFLOW_LOG_MODEL_COMPRESSION")
    frame = pd.DataFrame({"a": [1, 2]})
    pd.testing.assert_frame_equal(mlcask.pyfunc.load_model(tmp_path / "m").predict(frame), frame)


def test_an_unknown_compression_warns_and_saves_uncompressed(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MLFLOW_LOG_MODEL_COMPRESSION", "zstd")
    with caplog.at_level("WARNING"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo())
    assert "Unrecognized compression method 'zstd'" in caplog.text and "bzip2, gzip, lzma" in caplog.text
    conf = Model.load(tmp_path / "m").flavors["python_function"]
    assert conf["python_model"] == "python_model.pkl" and "python_model_compression" not in conf


def test_a_corrupt_compressed_pickle_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_LOG_MODEL_COMPRESSION", "gzip")
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Echo())
    (tmp_path / "m" / "python_model.pkl.gz").write_bytes(b"not gzip")
    unseal(tmp_path / "m")
    with pytest.raises(ModelFormatError, match="python_model.pkl.gz' is corrupt"):
        mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)
