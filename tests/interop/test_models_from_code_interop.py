"""Models from code, plain-function models and type-hinted PythonModels, both ways with real MLflow.

(a) mlcask saves them; a child in the MLflow venv (no mlcask there) loads and predicts.
(b) The same child saves the same models with MLflow; mlcask loads them and predicts the same,
    and reads the same signatures it writes itself.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from bench.mlflow_env import run_in_mlflow

pytestmark = pytest.mark.interop

# A model code file as users write it for both: it imports MLflow, or mlcask where MLflow is absent.
CODE_MODEL = '''
try:
    import mlflow
except ImportError:
    import mlcask as mlflow

config = mlflow.models.ModelConfig(development_config={"suffix": "-dev"})
SUFFIX = config.get("suffix")


class Suffix(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        return [s + SUFFIX for s in model_input]


mlflow.models.set_model(Suffix())
'''

# Defined as __main__ code in both venvs, so cloudpickle saves them by value.
PICKLED_MODELS = '''
try:
    import mlflow
except ImportError:
    import mlcask as mlflow


def shout(model_input: list[str]) -> list[str]:
    return [s.upper() + "!" for s in model_input]


class Lengths(mlflow.pyfunc.PythonModel):
    def predict(self, model_input: list[str], params=None) -> list[int]:
        return [len(s) for s in model_input]
'''

INPUT = ["ab", "cde"]
EXPECTED = {"code": ["ab-prod", "cde-prod"], "function": ["AB!", "CDE!"], "hinted": [2, 3]}

CHILD = '''
import json, os, sys, logging, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
import mlflow
import yaml

root = {root!r}
REQS = ["cloudpickle"]  # given: no requirement inference (a subprocess per save in MLflow)
namespace = {{"__name__": "__main__"}}
exec({pickled!r}, namespace)
out = {{"loaded": {{}}, "signatures": {{}}}}
for name in ("code", "function", "hinted"):
    try:
        model = mlflow.pyfunc.load_model(os.path.join(root, "mlcask", name))
        out["loaded"][name] = model.predict({input!r})
    except Exception as exc:
        out["loaded"][name] = "error: " + repr(exc)
target = os.path.join(root, "mlflow")
mlflow.pyfunc.save_model(os.path.join(target, "code"), python_model=os.path.join(root, "code_model.py"),
                         model_config={{"suffix": "-prod"}}, input_example=["x"], pip_requirements=REQS)
mlflow.pyfunc.save_model(os.path.join(target, "function"), python_model=namespace["shout"], input_example=["x"],
                         pip_requirements=REQS)
mlflow.pyfunc.save_model(os.path.join(target, "hinted"), python_model=namespace["Lengths"](), pip_requirements=REQS)
json.dump(out, open(os.path.join(root, "report.json"), "w"))
'''


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    import mlcask

    root = tmp_path_factory.mktemp("from_code")
    (root / "code_model.py").write_text(CODE_MODEL)
    namespace = {"__name__": "__main__"}
    exec(PICKLED_MODELS, namespace)  # noqa: S102 (the test's own models)
    mine = root / "mlcask"
    reqs = ["cloudpickle"]
    mlcask.pyfunc.save_model(mine / "code", python_model=root / "code_model.py", model_config={"suffix": "-prod"},
                             input_example=["x"], pip_requirements=reqs)
    mlcask.pyfunc.save_model(mine / "function", python_model=namespace["shout"], input_example=["x"],
                             pip_requirements=reqs)
    mlcask.pyfunc.save_model(mine / "hinted", python_model=namespace["Lengths"](), pip_requirements=reqs)
    cwd = root / "cwd"
    cwd.mkdir()
    run_in_mlflow(CHILD.format(root=str(root), pickled=PICKLED_MODELS, input=INPUT), cwd=cwd)
    return root, json.loads((root / "report.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mlflow_loads_what_mlcask_saved(exchange, name):
    _, report = exchange
    assert report["loaded"][name] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mlcask_loads_what_mlflow_saved(exchange, name):
    import mlcask
    from mlcask.exceptions import UnsafeModelError

    root, _ = exchange
    folder = root / "mlflow" / name
    with pytest.raises(UnsafeModelError):  # MLflow's folders are unsigned: their code needs the caller's trust
        mlcask.pyfunc.load_model(folder)
    assert mlcask.pyfunc.load_model(folder, allow_pickle=True).predict(INPUT) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_mlmodel_fields(exchange, name):
    root, _ = exchange

    def fields(side):
        conf = yaml.safe_load(Path(root / side / name / "MLmodel").read_text())
        pyfunc = conf["flavors"]["python_function"]
        keep = ("loader_module", "python_model", "config", "streamable")
        return ({k: pyfunc.get(k) for k in keep}, conf.get("signature"), conf.get("is_signature_from_type_hint"),
                conf.get("saved_input_example_info", {}).get("type"),
                Path(pyfunc.get("model_code_path") or "").name)

    assert fields("mlcask") == fields("mlflow")


def test_code_file_is_copied_like_mlflow(exchange):
    root, _ = exchange
    assert (root / "mlcask" / "code" / "code_model.py").read_text() == textwrap.dedent(CODE_MODEL)
    assert sorted(p.name for p in (root / "mlflow" / "code").iterdir() if p.suffix == ".py") == ["code_model.py"]
