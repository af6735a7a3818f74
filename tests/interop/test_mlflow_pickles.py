"""Custom models whose pickles MLflow wrote with its type-hint machinery load in mlcask."""

import pytest

from bench.mlflow_env import run_in_mlflow

pytestmark = pytest.mark.interop

SAVE = """
import mlflow

class Upper(mlflow.pyfunc.PythonModel):
    def predict(self, model_input: list[str], params=None) -> list[str]:
        return [s.upper() for s in model_input]

class Records(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[dict[str, str]], params=None) -> list[str]:
        return [f"{r['a']}-{r['b']}" for r in model_input]

mlflow.pyfunc.save_model("upper", python_model=Upper(), input_example=["a", "b"])
mlflow.pyfunc.save_model("records", python_model=Records(), input_example=[{"a": "x", "b": "y"}])
print(mlflow.pyfunc.load_model("upper").predict(["q"]), mlflow.pyfunc.load_model("records").predict([{"a": "1", "b": "2"}]))
"""


@pytest.fixture(scope="module")
def mlflow_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-pickles")
    out = run_in_mlflow(SAVE, cwd=folder)
    assert "['Q'] ['1-2']" in out
    return folder


def test_type_hinted_list_of_strings_model(mlflow_models):
    import mlcask

    model = mlcask.pyfunc.load_model(mlflow_models / "upper", allow_pickle=True)
    assert model.metadata.is_signature_from_type_hint is True
    assert model.predict(["a", "bc"]) == ["A", "BC"]


def test_type_hinted_list_of_dicts_model_with_context(mlflow_models):
    import mlcask

    model = mlcask.pyfunc.load_model(mlflow_models / "records", allow_pickle=True)
    assert model.predict([{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]) == ["1-2", "3-4"]
