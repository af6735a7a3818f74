"""Models from code (``python_model="model.py"``), plain-function models and type-hinted
``predict``: what is saved, what loads, and that the code runs only under the trust code needs."""

from __future__ import annotations

import sys
import textwrap

import pandas as pd
import pytest
import yaml

import mlcask
from mlcask.exceptions import InvalidArgumentError, MlcaskException, UnsafeModelError
from mlcask.models import Model, ModelConfig, set_model
from mlcask.models.integrity import ModelIntegrityError
from mlcask.pyfunc import PythonModel

SUFFIX_MODEL = '''
import mlcask as mlflow

config = mlflow.models.ModelConfig(development_config={"suffix": "-dev"})
SUFFIX = config.get("suffix")


class Suffix(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[str]) -> list[str]:
        return [s + SUFFIX for s in model_input]


mlflow.models.set_model(Suffix())
'''


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def code_file(tmp_path):
    return write(tmp_path / "suffix_model.py", SUFFIX_MODEL)


def test_code_model_is_saved_as_mlflow_saves_it(tmp_path, code_file):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=code_file, model_config={"suffix": "-prod"})
    folder = tmp_path / "m"
    assert (folder / "suffix_model.py").read_text() == code_file.read_text()
    assert not (folder / "python_model.pkl").exists()
    conf = yaml.safe_load((folder / "MLmodel").read_text())
    pyfunc = conf["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert pyfunc["model_code_path"] == str(code_file.resolve())
    assert pyfunc["config"] == {"suffix": "-prod"}
    assert "python_model" not in pyfunc
    # predict's type hints give the signature, as in MLflow 3
    assert conf["is_signature_from_type_hint"] is True
    assert conf["signature"]["inputs"] == '[{"type": "string", "required": true}]'
    assert conf["signature"]["outputs"] == '[{"type": "string", "required": true}]'


def test_code_model_loads_with_its_config_and_a_load_time_override(tmp_path, code_file):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=str(code_file), model_config={"suffix": "-prod"})
    model = mlcask.pyfunc.load_model(tmp_path / "m")  # saved here, so signed by the trusted local key
    assert model.predict(["a", "b"]) == ["a-prod", "b-prod"]
    assert model.predict(pd.DataFrame({"text": ["c"]})) == ["c-prod"]  # a one-column table becomes a list
    assert model.model_config == {"suffix": "-prod"}
    assert mlcask.pyfunc.load_model(tmp_path / "m", model_config={"suffix": "-load"}).predict(["a"]) == ["a-load"]


def test_model_config_from_a_yaml_file(tmp_path, code_file):
    config = write(tmp_path / "config.yaml", "suffix: -yaml\n")
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=code_file, model_config=config)
    assert yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["python_function"]["config"] == {
        "suffix": "-yaml"}
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(["a"]) == ["a-yaml"]


def test_a_model_config_file_that_does_not_exist_is_refused(tmp_path, code_file):
    with pytest.raises(InvalidArgumentError, match="An invalid `model_config` file was passed"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=code_file, model_config=str(tmp_path / "no.yaml"))
    with pytest.raises(InvalidArgumentError, match="``model_config`` must be a valid file path or of type ``dict``"):
        mlcask.pyfunc.save_model(tmp_path / "m2", python_model=code_file, model_config=["suffix"])


def test_without_model_config_the_development_config_does_not_apply_while_saving(tmp_path, code_file):
    # MLflow's rule: a model must not be saved on the settings of development.
    with pytest.raises(MlcaskException, match="Failed to run user code .*Config file is not provided"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=code_file)
    assert not (tmp_path / "m").exists()


def test_an_unsigned_code_model_does_not_run_its_code_without_trust(tmp_path, monkeypatch, code_file):
    marker = tmp_path / "ran.txt"
    write(tmp_path / "marking.py", f'''
        import pathlib
        import mlcask as mlflow
        pathlib.Path({str(marker)!r}).write_text("ran")
        mlflow.models.set_model(lambda model_input: model_input)
        ''')
    monkeypatch.setenv("MLCASK_SIGNING", "0")
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "marking.py", pip_requirements=["pandas"])
    marker.unlink()  # saving ran the file: it is the caller's own code
    with pytest.raises(UnsafeModelError, match="Refusing to load its model code file 'marking.py'.*allow_pickle=True"):
        mlcask.pyfunc.load_model(tmp_path / "m")
    assert not marker.exists()
    assert mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True).predict(["x"]) == ["x"]
    assert marker.read_text() == "ran"


def test_a_code_file_changed_after_saving_is_not_run(tmp_path, code_file):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=code_file, model_config={"suffix": "-prod"})
    saved = tmp_path / "m" / "suffix_model.py"
    saved.write_text(saved.read_text().replace("-dev", "-evil"))
    with pytest.raises(ModelIntegrityError):
        mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)


def test_code_file_errors_have_mlflow_messages(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"The provided model path '.*missing' does not exist\. .*"
                                                   r"Perhaps you meant '.*missing\.py'\?"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=str(tmp_path / "missing"))
    write(tmp_path / "unset.py", "x = 1\n")
    with pytest.raises(MlcaskException, match=r"ensure the model is set using mlflow.models.set_model\(\)"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "unset.py")
    write(tmp_path / "broken.py", "raise RuntimeError('boom')\n")
    with pytest.raises(MlcaskException, match="Failed to run user code from .*broken.py. Error: boom"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "broken.py")
    write(tmp_path / "imports.py", "import no_such_module_here\n")
    with pytest.raises(MlcaskException, match="Failed to import code model from .*imports.py"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "imports.py")
    assert not (tmp_path / "m").exists()


def test_a_code_file_written_for_mlflow_runs_with_mlcask(tmp_path):
    write(tmp_path / "for_mlflow.py", '''
        import mlflow
        from mlflow.models import set_model

        class Upper(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return [s.upper() for s in model_input]

        set_model(Upper())
        ''')
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "for_mlflow.py", input_example=["a"])
    assert "mlflow" not in sys.modules  # the alias lives only while the file runs
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(["a", "b"]) == ["A", "B"]
    assert "mlflow" not in sys.modules


def test_set_model_refuses_what_is_not_a_model():
    with pytest.raises(MlcaskException, match="Model should either be an instance of PyFuncModel"):
        set_model("model.py")
    with pytest.raises(MlcaskException, match="Model should either be an instance of PyFuncModel"):
        set_model(42)


def test_model_config_outside_a_save_or_load(tmp_path):
    assert ModelConfig(development_config={"k": 1}).get("k") == 1
    file = write(tmp_path / "c.yaml", "k: 2\nlist: [a, b]\n")
    config = ModelConfig(development_config=str(file))
    assert config.to_dict() == {"k": 2, "list": ["a", "b"]}
    with pytest.raises(KeyError, match="Key 'missing' not found in configuration"):
        config.get("missing")
    with pytest.raises(FileNotFoundError, match="Config file is not provided"):
        ModelConfig()
    with pytest.raises(FileNotFoundError, match="Config file '.*nope.yaml' not found"):
        ModelConfig(development_config=str(tmp_path / "nope.yaml"))


# -- plain functions and type-hinted predict ------------------------------------------------
def shout(model_input: list[str]) -> list[str]:
    return [s.upper() + "!" for s in model_input]


def test_a_function_is_saved_with_the_signature_of_its_type_hints(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=shout, input_example=["hi"])
    meta = Model.load(tmp_path / "m")
    assert meta.is_signature_from_type_hint is True
    assert meta.signature.to_dict()["inputs"] == '[{"type": "string", "required": true}]'
    model = mlcask.pyfunc.load_model(tmp_path / "m")
    assert model.predict(["a", "b"]) == ["A!", "B!"]
    with pytest.raises(InvalidArgumentError, match=r"Failed to validate data against type hint `list\[str\]`, "
                                                   r"invalid elements: \[\('1', 'Expected type str, but got int'\)\]"):
        model.predict([1])


def test_function_models_need_an_example_or_requirements_and_one_argument(tmp_path):
    with pytest.raises(InvalidArgumentError, match="at least one of `input_example`, `pip_requirements`"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=shout)
    with pytest.raises(InvalidArgumentError, match="it must accept exactly one argument. Found 2 arguments"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=lambda a, b: a, pip_requirements=["pandas"])
    assert not (tmp_path / "m").exists()


class Lengths(PythonModel):
    def predict(self, model_input: list[dict[str, str]], params=None) -> list[int]:
        return [len(row["text"]) for row in model_input]


def test_a_python_model_with_type_hints_gets_a_signature_and_converted_input(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Lengths())
    meta = Model.load(tmp_path / "m")
    assert meta.signature.to_dict()["inputs"] == '[{"type": "map", "values": {"type": "string"}, "required": true}]'
    assert meta.signature.to_dict()["outputs"] == '[{"type": "long", "required": true}]'
    model = mlcask.pyfunc.load_model(tmp_path / "m")
    assert model.predict([{"text": "abc"}]) == [3]
    assert model.predict(pd.DataFrame({"text": ["ab", "abcd"]})) == [2, 4]


def test_a_malformed_input_type_hint_is_refused_with_mlflow_message(tmp_path):
    # as in MLflow, the class itself is refused (its predict is wrapped to check its input)
    with pytest.raises(InvalidArgumentError, match="Dictionary key type must be str.*To disable data validation"):
        class Bad(PythonModel):
            def predict(self, model_input: list[dict[int, str]], params=None):
                return model_input

    def bare(model_input: list):
        return model_input

    with pytest.raises(InvalidArgumentError, match=r"Type hint `list` doesn't contain a collection element type"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=bare, input_example=[1])
    assert not (tmp_path / "m").exists()


def test_a_hint_no_signature_can_be_read_from_warns_and_saves_without_one(tmp_path):
    class Objects(PythonModel):
        def predict(self, model_input: list[object], params=None):
            return model_input

    with pytest.warns(UserWarning, match=r"Failed to infer signature from type hint: Unsupported type hint `object`"):
        mlcask.pyfunc.save_model(tmp_path / "m", python_model=Objects())
    assert Model.load(tmp_path / "m").signature is None

    class NotAList(PythonModel):
        def predict(self, model_input: str, params=None):
            return model_input

    with pytest.warns(UserWarning, match=r"Type hints must be wrapped in list\[...\]"):
        mlcask.pyfunc.save_model(tmp_path / "m2", python_model=NotAList())


def test_dataframe_type_hints_imply_no_signature(tmp_path):
    class Frame(PythonModel):
        def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
            return model_input

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Frame())
    assert Model.load(tmp_path / "m").signature is None


def test_signature_false_saves_no_signature(tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=shout, input_example=["a"], signature=False)
    assert Model.load(tmp_path / "m").signature is None


def test_the_pyfunc_decorator_checks_each_call_and_saves_undecorated(tmp_path):
    from mlcask.pyfunc.utils import pyfunc

    @pyfunc
    def lengths(model_input: list[str]) -> list[int]:
        return [len(s) for s in model_input]

    assert lengths(["ab"]) == [2]
    assert lengths(pd.DataFrame({"t": ["abc"]})) == [3]
    with pytest.raises(InvalidArgumentError, match=r"Failed to validate data against type hint `list\[str\]`"):
        lengths([1])
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=lengths, input_example=["a"])
    model = mlcask.pyfunc.load_model(tmp_path / "m")
    saved = model.unwrap_python_model().func  # a copy of the undecorated function (MLflow can load it)
    assert saved.__name__ == "lengths" and not getattr(saved, "_is_pyfunc", False)
    assert model.predict(["abcd"]) == [4]

    with pytest.raises(InvalidArgumentError, match="To disable data validation, remove the type hint"):
        @pyfunc
        def bad(model_input: list[dict[int, str]]):
            return model_input
    with pytest.warns(UserWarning, match="Type hint used in the model's predict function is not supported"):
        @pyfunc
        def unsupported(model_input: list[object]):
            return model_input
