"""Type-hinted PythonModels whose ``predict`` mlcask wraps at class creation, both ways with real MLflow.

mlcask wraps a type-hinted ``predict`` to check its input (as MLflow does); the pickle holds the
user's function handed to ``mlflow.pyfunc.model.pyfunc``, so MLflow (no mlcask in its venv)
loads it with its own checking wrapper: dicts given for a pydantic model become instances, and
bad input is refused with MLflow's error, through ``predict`` and through the unwrapped model.
"""

from __future__ import annotations

import json

import pytest

from bench.mlflow_env import run_in_mlflow

pytestmark = pytest.mark.interop

pydantic = pytest.importorskip("pydantic")

# __main__ code in both venvs, so cloudpickle saves the classes by value.
MODELS = '''
from typing import Optional

import pydantic

try:
    import mlflow
except ImportError:
    import mlcask as mlflow


class Message(pydantic.BaseModel):
    role: str
    content: str
    score: Optional[int] = None


class Replies(mlflow.pyfunc.PythonModel):
    def predict(self, model_input: list[Message], params=None) -> list[str]:
        return [f"{m.role}:{m.content}" for m in model_input]


class Upper(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        return [s.upper() for s in model_input]
'''

MESSAGES = [{"role": "user", "content": "hi"}, {"role": "admin", "content": "yo", "score": 3}]
EXPECTED = {"pydantic": ["user:hi", "admin:yo"], "strings": ["AB", "C"]}
INPUTS = {"pydantic": MESSAGES, "strings": ["ab", "c"]}
BAD = {"pydantic": [{"role": "user"}], "strings": "ab"}

CHILD = '''
import json, os, logging, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
import mlflow

root = {root!r}
namespace = {{"__name__": "__main__"}}
exec({models!r}, namespace)
inputs, bad = {inputs!r}, {bad!r}
out = {{}}
for name in ("pydantic", "strings"):
    try:
        model = mlflow.pyfunc.load_model(os.path.join(root, "mlcask", name))
        python_model = model.unwrap_python_model()
        predict = type(python_model).predict
        local_args = (None, inputs[name]) if name == "strings" else (inputs[name],)
        entry = {{"predict": model.predict(inputs[name]), "local": python_model.predict(*local_args),
                 "checked": bool(getattr(predict, "_is_pyfunc", False)),
                 "wrapper_module": predict.__globals__.get("__name__")}}
        try:
            model.predict(bad[name])
            entry["bad"] = "accepted"
        except mlflow.exceptions.MlflowException as exc:
            entry["bad"] = exc.message
    except Exception as exc:
        entry = {{"error": repr(exc)}}
    out[name] = entry
target = os.path.join(root, "mlflow")
mlflow.pyfunc.save_model(os.path.join(target, "pydantic"), python_model=namespace["Replies"](),
                         input_example=inputs["pydantic"], pip_requirements=["cloudpickle", "pydantic"])
mlflow.pyfunc.save_model(os.path.join(target, "strings"), python_model=namespace["Upper"](),
                         pip_requirements=["cloudpickle"])
json.dump(out, open(os.path.join(root, "report.json"), "w"))
'''


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    import mlcask

    root = tmp_path_factory.mktemp("type_hints")
    namespace = {"__name__": "__main__"}
    # compiled without this module's `from __future__ import annotations`, as the child runs it
    exec(compile(MODELS, "<models>", "exec", dont_inherit=True), namespace)  # noqa: S102 (the test's own models)
    mlcask.pyfunc.save_model(root / "mlcask" / "pydantic", python_model=namespace["Replies"](),
                             input_example=MESSAGES, pip_requirements=["cloudpickle", "pydantic"])
    mlcask.pyfunc.save_model(root / "mlcask" / "strings", python_model=namespace["Upper"](),
                             pip_requirements=["cloudpickle"])
    cwd = root / "cwd"
    cwd.mkdir()
    run_in_mlflow(CHILD.format(root=str(root), models=MODELS, inputs=INPUTS, bad=BAD), cwd=cwd)
    return root, json.loads((root / "report.json").read_text()), namespace


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mlcask_pickle_names_no_mlcask_code(exchange, name):
    root, _, _ = exchange
    assert b"mlcask" not in (root / "mlcask" / name / "python_model.pkl").read_bytes()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mlflow_loads_the_wrapped_predict_with_its_own_check(exchange, name):
    _, report, _ = exchange
    entry = report[name]
    assert entry.get("error") is None, entry
    assert entry["predict"] == EXPECTED[name]
    assert entry["local"] == EXPECTED[name]  # the unwrapped model's predict converts dicts too
    assert entry["checked"] is True
    assert entry["wrapper_module"] == "mlflow.pyfunc.utils.data_validation"  # MLflow's wrapper, made at load


def test_mlflow_refuses_bad_input_with_its_messages(exchange):
    _, report, _ = exchange
    assert "Data doesn't match type hint" in report["pydantic"]["bad"]
    assert "Expected list, but got str" in report["strings"]["bad"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mlcask_loads_both_and_checks_like_mlflow(exchange, name):
    import mlcask
    from mlcask.exceptions import MlcaskException

    root, _, _ = exchange
    for side in ("mlcask", "mlflow"):
        model = mlcask.pyfunc.load_model(root / side / name, allow_pickle=True)
        assert model.predict(INPUTS[name]) == EXPECTED[name]
        with pytest.raises(MlcaskException, match="Data doesn't match type hint|Expected list, but got str"):
            model.predict(BAD[name])


def test_saved_signature_and_example_match_mlflow(exchange):
    import yaml

    root, _, _ = exchange

    def fields(side):
        conf = yaml.safe_load((root / side / "pydantic" / "MLmodel").read_text())
        example = json.loads((root / side / "pydantic" / "input_example.json").read_text())
        return conf.get("signature"), conf.get("is_signature_from_type_hint"), example

    assert fields("mlcask") == fields("mlflow")
