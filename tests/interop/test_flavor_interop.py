"""Interop with real MLflow, tested both ways, for every built-in flavor and custom models.

(a) mlcask saves each model below into a folder; ONE child process in the MLflow venv
    (which cannot import mlcask) loads them all with ``mlflow.pyfunc.load_model`` and
    ``mlflow.<flavor>.load_model``, predicts, reads the MLmodel metadata, the input
    example and the dependencies, and writes everything to files.
(b) Two MLflow children save the same models (same code, data and seeds) with
    ``mlflow.<flavor>.save_model`` and write their own predictions; mlcask loads those
    folders here and must predict the same.

The models are defined once, in ``CASES_SOURCE``, a module both venvs import. The
children run while mlcask saves, so the whole file costs about one MLflow child.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bench.mlflow_env import ensure_mlflow_python, run_in_mlflow

# -- the models, as a module both venvs import ------------------------------------------
CASES_SOURCE = '''
"""The models the interop tests save: the same code, data and seeds in both venvs."""
import sys
import importlib.util
import shutil
from pathlib import Path

import numpy as np

try:  # MLflow's venv (mlcask is not installed there)
    import mlflow as lib
    from mlflow.pyfunc import PythonModel
    SIDE = "mlflow"
except ImportError:  # mlcask's venv (MLflow is not installed there)
    import mlcask as lib
    from mlcask.pyfunc import PythonModel
    SIDE = "mlcask"

BREAST_CANCER, DIABETES = "breast_cancer", "diabetes"
TREE_TYPE = "sklearn.tree._tree.Tree"

CASES = {  # case: (flavor, dataset)
    "sklearn_logreg": ("sklearn", BREAST_CANCER),
    "sklearn_pipeline_proba": ("sklearn", BREAST_CANCER),
    "sklearn_random_forest": ("sklearn", BREAST_CANCER),
    "sklearn_cloudpickle": ("sklearn", BREAST_CANCER),
    "xgb_classifier_ubj": ("xgboost", BREAST_CANCER),
    "xgb_classifier_json": ("xgboost", BREAST_CANCER),
    "xgb_booster": ("xgboost", BREAST_CANCER),
    "xgb_regressor": ("xgboost", DIABETES),
    "lgbm_classifier": ("lightgbm", BREAST_CANCER),
    "lgbm_booster": ("lightgbm", BREAST_CANCER),
    "pyfunc_artifact_by_value": ("pyfunc", BREAST_CANCER),
    "pyfunc_artifact_code_paths": ("pyfunc", BREAST_CANCER),
    "pyfunc_new_style_predict": ("pyfunc", BREAST_CANCER),
    "pyfunc_ctx_named_predict": ("pyfunc", BREAST_CANCER),
    "pyfunc_params": ("pyfunc", BREAST_CANCER),
}
EXAMPLE_PARAMS = {"k": 2}


def load_data(dataset):
    from sklearn.datasets import load_breast_cancer, load_diabetes

    loader = load_breast_cancer if dataset == BREAST_CANCER else load_diabetes
    return loader(return_X_y=True, as_frame=True)


def predict_calls(case):
    """(label, params for pyfunc predict, params the raw model needs for the same result)."""
    if case == "pyfunc_params":
        return [("k5", {"k": 5}, {"k": 5}), ("schema_default", None, EXAMPLE_PARAMS)]
    return [("plain", None, None)]


class VocabModel(PythonModel):
    """Scores rows with per-feature weights read from the "vocab" artifact."""

    def load_context(self, context):
        rows = [line.split("\\t") for line in Path(context.artifacts["vocab"]).read_text().splitlines()]
        self.features = [name for name, _ in rows]
        self.weights = np.array([float(weight) for _, weight in rows])

    def predict(self, context, model_input, params=None):
        return model_input[self.features].to_numpy() @ self.weights


class NewStyleModel(PythonModel):
    """The newer predict form, without a context argument."""

    def predict(self, model_input, params=None):
        return model_input.to_numpy().sum(axis=1) / 2.0


class CtxNamedModel(PythonModel):
    """MLflow treats any two-argument predict as (context, model_input), whatever the name."""

    def predict(self, ctx, model_input, params=None):
        return model_input["mean radius"].to_numpy() * 3.0


class ParamsModel(PythonModel):
    """Sums the first k columns; k comes from the params (the schema's default is 2)."""

    def predict(self, context, model_input, params=None):
        k = (params or {}).get("k", 1)
        return model_input.iloc[:, :k].sum(axis=1).to_numpy()


class _Context:  # what load_context needs when a model is used before it is saved
    def __init__(self, artifacts):
        self.artifacts = artifacts
        self.model_config = None


def _import_file(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build(case, workdir):
    """Train the case's model; returns (model, save_model keyword arguments)."""
    flavor, dataset = CASES[case]
    X, y = load_data(dataset)
    workdir = Path(workdir)
    kwargs = {}
    if case == "sklearn_logreg":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=3000).fit(X, y)
    elif case == "sklearn_pipeline_proba":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))]).fit(X, y)
        kwargs["pyfunc_predict_fn"] = "predict_proba"
    elif case == "sklearn_random_forest":
        from sklearn.ensemble import RandomForestClassifier

        model = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0, n_jobs=1).fit(X, y)
        if SIDE == "mlflow":  # MLflow needs to be told; mlcask records it by itself
            kwargs["skops_trusted_types"] = [TREE_TYPE]
    elif case == "sklearn_cloudpickle":
        from sklearn.tree import DecisionTreeClassifier

        model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
        kwargs["serialization_format"] = "cloudpickle"
    elif case in ("xgb_classifier_ubj", "xgb_classifier_json"):
        import xgboost

        model = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, random_state=0).fit(X, y)
        kwargs["model_format"] = case.rsplit("_", 1)[1]
    elif case == "xgb_booster":
        import xgboost

        params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0}
        model = xgboost.train(params, xgboost.DMatrix(X, label=y), num_boost_round=10)
    elif case == "xgb_regressor":
        import xgboost

        model = xgboost.XGBRegressor(n_estimators=10, max_depth=3, n_jobs=1, random_state=0).fit(X, y)
    elif case == "lgbm_classifier":
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, n_jobs=1, verbose=-1).fit(X, y)
    elif case == "lgbm_booster":
        import lightgbm

        params = {"objective": "binary", "num_leaves": 8, "num_threads": 1, "verbose": -1, "seed": 0}
        model = lightgbm.train(params, lightgbm.Dataset(X, label=y), num_boost_round=10)
    elif case in ("pyfunc_artifact_by_value", "pyfunc_artifact_code_paths"):
        vocab = workdir / "vocab.txt"
        vocab.write_text("".join(f"{name}\\t{0.01 * (i + 1)}\\n" for i, name in enumerate(X.columns[:12])))
        cls = VocabModel
        if case == "pyfunc_artifact_code_paths":  # pickled by reference: shipped as code
            code_file = workdir / f"interop_code_{SIDE}.py"
            shutil.copy(__file__, code_file)
            cls = _import_file(code_file, code_file.stem).VocabModel
            kwargs["code_paths"] = [str(code_file)]
        model = cls()
        model.load_context(_Context({"vocab": str(vocab)}))
        kwargs["artifacts"] = {"vocab": str(vocab)}
    elif case == "pyfunc_new_style_predict":
        model = NewStyleModel()
    elif case == "pyfunc_ctx_named_predict":
        model = CtxNamedModel()
    elif case == "pyfunc_params":
        model = ParamsModel()
    else:
        raise KeyError(case)

    infer_signature = lib.models.infer_signature
    if flavor == "pyfunc":
        params = EXAMPLE_PARAMS if case == "pyfunc_params" else None
        output = raw_predict(case, model, X, params)
        kwargs["signature"] = infer_signature(X, output, params=params)
        kwargs["input_example"] = (X.head(5), dict(params)) if params else X.head(5)
    else:
        kwargs["signature"] = infer_signature(X, y)
        kwargs["input_example"] = X.head(5)
    return model, kwargs


def save(case, model, path, kwargs):
    flavor = CASES[case][0]
    if flavor == "pyfunc":
        return lib.pyfunc.save_model(str(path), python_model=model, **kwargs)
    return getattr(lib, flavor).save_model(model, str(path), **kwargs)


def raw_predict(case, model, X, params=None):
    """Predict with the native model (or the PythonModel instance) itself."""
    flavor = CASES[case][0]
    if case == "sklearn_pipeline_proba":
        return model.predict_proba(X)
    if case == "xgb_booster":
        import xgboost

        return model.predict(xgboost.DMatrix(X))
    if flavor == "pyfunc":
        args = (X,) if case == "pyfunc_new_style_predict" else (None, X)
        return model.predict(*args, params=params)
    return model.predict(X)


def load_raw(case, path):
    """``<library>.<flavor>.load_model``; for custom models the unwrapped PythonModel."""
    flavor = CASES[case][0]
    # mlcask runs no code from an unsigned folder unless told to (MLflow has its own env switch).
    kwargs = {"allow_pickle": True} if lib.__name__ == "mlcask" else {}
    if flavor == "pyfunc":
        return lib.pyfunc.load_model(str(path), **kwargs).unwrap_python_model()
    return getattr(lib, flavor).load_model(str(path), **kwargs)
'''

# -- what the MLflow children run ----------------------------------------------------------
_CHILD_PRELUDE = '''
import importlib.util, json, os, sys, traceback
from pathlib import Path

# MLflow 3.17 refuses to deserialize any model (pickle or skops) without this.
os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
config = json.loads(Path(CONFIG_FILE).read_text())
sys.path.insert(0, config["shared"])

import cloudpickle
import numpy as np
import mlflow
import interop_cases as ic

cloudpickle.register_pickle_by_value(ic)  # custom models defined there pickle by value, as from __main__
out = Path(config["out"])
report = {"mlcask_importable": importlib.util.find_spec("mlcask") is not None,
          "mlflow_version": mlflow.__version__, "cases": {}}


def attempt(record, key, fn):
    try:
        fn()
    except BaseException:
        record.setdefault("errors", {})[key] = traceback.format_exc()


def save_array(name, value):
    np.save(out / f"{name}.npy", np.asarray(value), allow_pickle=False)
'''

# (a) MLflow loads what mlcask saved.
MLFLOW_LOADS = _CHILD_PRELUDE + '''
for case in config["cases"]:
    path = str(Path(config["models"]) / case)
    X, _ = ic.load_data(ic.CASES[case][1])
    record = report["cases"][case] = {}

    def pyfunc_predict():
        model = mlflow.pyfunc.load_model(path)
        for label, params, _ in ic.predict_calls(case):
            save_array(f"{case}.pyfunc.{label}", model.predict(X, params=params))

    def flavor_predict():
        model = ic.load_raw(case, path)
        record["raw_type"] = f"{type(model).__module__}.{type(model).__name__}"
        for label, _, raw_params in ic.predict_calls(case):
            save_array(f"{case}.raw.{label}", ic.raw_predict(case, model, X, raw_params))

    def metadata():
        meta = mlflow.models.Model.load(path)
        record["signature"] = meta.signature.to_dict() if meta.signature is not None else None
        record["saved_input_example_info"] = meta.saved_input_example_info
        example = meta.load_input_example(path)
        record["input_example_type"] = type(example).__name__
        record["input_example_columns"] = [str(c) for c in getattr(example, "columns", [])]
        save_array(f"{case}.input_example", example)
        if meta.saved_input_example_info and meta.saved_input_example_info.get("params"):
            record["input_example_params"] = meta.load_input_example_params(path)

    def dependencies():
        record["requirements"] = Path(mlflow.pyfunc.get_model_dependencies(path)).read_text()

    attempt(record, "pyfunc", pyfunc_predict)
    attempt(record, "flavor", flavor_predict)
    attempt(record, "metadata", metadata)
    attempt(record, "dependencies", dependencies)

(out / "report.json").write_text(json.dumps(report))
'''

# (b) MLflow saves, then writes its own predictions.
MLFLOW_SAVES = _CHILD_PRELUDE + '''
for case in config["cases"]:
    path = Path(config["models"]) / case
    workdir = Path(config["work"]) / case
    workdir.mkdir(parents=True)
    X, _ = ic.load_data(ic.CASES[case][1])
    record = report["cases"][case] = {}

    def save_and_predict():
        model, kwargs = ic.build(case, workdir)
        for label, _, raw_params in ic.predict_calls(case):
            save_array(f"{case}.raw.{label}", ic.raw_predict(case, model, X, raw_params))
        ic.save(case, model, path, kwargs)
        loaded = mlflow.pyfunc.load_model(str(path))
        for label, params, _ in ic.predict_calls(case):
            save_array(f"{case}.pyfunc.{label}", loaded.predict(X, params=params))

    attempt(record, "save", save_and_predict)

(out / "report.json").write_text(json.dumps(report))
'''


def _import_file(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


CASES_MODULE = "interop_cases"
# Parsed cheaply (no import) so that pytest can parametrize before the fixture runs.
CASE_IDS = re.findall(r'^    "(\w+)": \("(?:sklearn|xgboost|lightgbm|pyfunc)"', CASES_SOURCE, re.M)
FLAVOR_CASES = [c for c in CASE_IDS if not c.startswith("pyfunc_")]


# -- running both sides ---------------------------------------------------------------------
@dataclass
class Side:
    """What one side saw: a report per case and the arrays it wrote."""

    out: Path
    models: Path
    report: dict[str, Any] = field(default_factory=dict)
    crash: str | None = None  # the whole child failed

    def case(self, case: str) -> dict[str, Any]:
        if self.crash:
            pytest.fail(f"The MLflow child process failed:\n{self.crash}")
        return self.report["cases"][case]

    def check(self, case: str, *keys: str) -> dict[str, Any]:
        """The case's record; fail with the child's traceback if a step among ``keys`` failed."""
        record = self.case(case)
        errors = {k: v for k, v in (record.get("errors") or {}).items() if k in keys}
        if errors:
            pytest.fail("\n".join(f"[{k}] {v}" for k, v in errors.items()), pytrace=False)
        return record

    def array(self, name: str) -> np.ndarray:
        return np.load(self.out / f"{name}.npy", allow_pickle=False)


@dataclass
class Interop:
    cases: Any  # the interop_cases module, imported here
    mlcask_saved: Side  # (a): mlcask saved, the MLflow child loaded
    mlflow_saved: Side  # (b): the MLflow children saved
    expected: dict[str, dict[str, np.ndarray]]  # (a): mlcask's own predictions, per case and label
    save_errors: dict[str, str]  # (a): mlcask could not save the case
    reload_errors: dict[str, str]  # (a): mlcask could not load back what it saved


def _run_child(code: str, root: Path, name: str, config: dict[str, Any]) -> dict[str, Any]:
    cwd = root / f"cwd_{name}"  # empty: nothing there for the child to import by accident
    cwd.mkdir()
    config_file = root / f"{name}.json"
    config_file.write_text(json.dumps(config))
    run_in_mlflow(f"CONFIG_FILE = {str(config_file)!r}\n" + code, cwd=cwd)  # no pythonpath: no mlcask
    return json.loads((Path(config["out"]) / "report.json").read_text())


def _save_with_mlcask(cases: Any, models: Path, work: Path) -> tuple[dict, dict, dict]:
    """Save every case with mlcask; return mlcask's own predictions (raw, pyfunc, flavor
    reload), and the tracebacks of the saves and reloads that failed."""
    import mlcask

    expected: dict[str, dict[str, np.ndarray]] = {}
    save_errors: dict[str, str] = {}
    reload_errors: dict[str, str] = {}
    for case in CASE_IDS:
        X, _ = cases.load_data(cases.CASES[case][1])
        expected[case] = {}
        try:
            (work / case).mkdir(parents=True)
            model, kwargs = cases.build(case, work / case)
            for label, _, raw_params in cases.predict_calls(case):
                expected[case][f"raw.{label}"] = np.asarray(cases.raw_predict(case, model, X, raw_params))
            cases.save(case, model, models / case, kwargs)
        except Exception:
            save_errors[case] = "mlcask could not save the model:\n" + traceback.format_exc()
            continue
        try:
            loaded = mlcask.pyfunc.load_model(models / case)
            for label, params, _ in cases.predict_calls(case):
                expected[case][f"pyfunc.{label}"] = np.asarray(loaded.predict(X, params=params))
            raw = cases.load_raw(case, models / case)
            for label, _, raw_params in cases.predict_calls(case):
                expected[case][f"flavor.{label}"] = np.asarray(cases.raw_predict(case, raw, X, raw_params))
        except Exception:
            reload_errors[case] = "mlcask could not load its own model back:\n" + traceback.format_exc()
    return expected, save_errors, reload_errors


def _outcome(future: Any, side: Side) -> Side:
    try:
        side.report = future.result()
    except Exception as exc:
        side.crash = str(exc)
    return side


@pytest.fixture(scope="module")
def interop(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import cloudpickle

    root = tmp_path_factory.mktemp("interop")
    shared = root / "shared"
    shared.mkdir()
    (shared / f"{CASES_MODULE}.py").write_text(CASES_SOURCE)
    cases = _import_file(shared / f"{CASES_MODULE}.py", CASES_MODULE)
    cloudpickle.register_pickle_by_value(cases)  # its custom models pickle by value, as from __main__
    ensure_mlflow_python()  # build the venv once, before the threads need it

    loads = Side(out=root / "mlflow_loads_out", models=root / "mlcask_models")
    saves = Side(out=root / "mlflow_saves_out", models=root / "mlflow_models")
    for folder in (loads.out, saves.out, loads.models, saves.models):
        folder.mkdir()
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            # (b) first: MLflow's saves are the slow part (it infers requirements in a
            # subprocess per model), so two children share them while mlcask saves here.
            saving = [
                pool.submit(_run_child, MLFLOW_SAVES, root, f"mlflow_saves_{i}",
                            {"shared": str(shared), "out": str(saves.out), "models": str(saves.models),
                             "work": str(root / "mlflow_work"), "cases": CASE_IDS[i::2]})
                for i in range(2)
            ]
            expected, save_errors, reload_errors = _save_with_mlcask(cases, loads.models, root / "mlcask_work")
            loading = pool.submit(_run_child, MLFLOW_LOADS, root, "mlflow_loads",
                                  {"shared": str(shared), "out": str(loads.out), "models": str(loads.models),
                                   "cases": [c for c in CASE_IDS if (loads.models / c).is_dir()]})
            _outcome(loading, loads)
            for future in saving:
                part = Side(out=saves.out, models=saves.models)
                _outcome(future, part)
                if part.crash:
                    saves.crash = (saves.crash or "") + part.crash
                else:
                    saves.report.setdefault("cases", {}).update(part.report["cases"])
                    saves.report["mlcask_importable"] = part.report["mlcask_importable"]
        yield Interop(cases, loads, saves, expected, save_errors, reload_errors)
    finally:
        cloudpickle.unregister_pickle_by_value(cases)
        sys.modules.pop(CASES_MODULE, None)


# -- helpers ----------------------------------------------------------------------------
def assert_same(actual: Any, expected: Any, what: str) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "biuf" and expected.dtype.kind in "biuf":
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12, err_msg=what)
    else:
        assert actual.tolist() == expected.tolist(), what


def mlcask_expected(interop: Interop, case: str) -> dict[str, np.ndarray]:
    """mlcask's predictions for a case it saved (fails the test if mlcask could not save it)."""
    if case in interop.save_errors:
        pytest.fail(interop.save_errors[case], pytrace=False)
    return interop.expected[case]


def mlcask_reload_worked(interop: Interop, case: str) -> None:
    if case in interop.reload_errors:
        pytest.fail(interop.reload_errors[case], pytrace=False)


def requirement_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-")):
            names.add(re.match(r"[A-Za-z0-9._-]+", line).group(0).lower().replace("_", "-"))
    return names


def signature_parts(signature: dict[str, Any] | None) -> dict[str, Any] | None:
    """A signature's JSON strings parsed, so that spacing and key order do not matter."""
    if signature is None:
        return None
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in signature.items()}


def mlmodel(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "MLmodel").read_text())


# -- the MLflow child ------------------------------------------------------------------------
@pytest.mark.interop
def test_mlflow_venv_cannot_import_mlcask(interop: Interop) -> None:
    for side in (interop.mlcask_saved, interop.mlflow_saved):
        if side.crash:
            pytest.fail(f"The MLflow child process failed:\n{side.crash}")
        assert side.report["mlcask_importable"] is False


# -- (a) mlcask saves, MLflow loads -----------------------------------------------------------
@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlflow_pyfunc_loads_mlcask_model(interop: Interop, case: str) -> None:
    expected = mlcask_expected(interop, case)
    interop.mlcask_saved.check(case, "pyfunc")
    for label, _, _ in interop.cases.predict_calls(case):
        got = interop.mlcask_saved.array(f"{case}.pyfunc.{label}")
        assert_same(got, expected[f"raw.{label}"], f"{case} [{label}]: MLflow pyfunc vs the raw model")
    mlcask_reload_worked(interop, case)
    for label, _, _ in interop.cases.predict_calls(case):
        got = interop.mlcask_saved.array(f"{case}.pyfunc.{label}")
        assert_same(got, expected[f"pyfunc.{label}"], f"{case} [{label}]: MLflow pyfunc vs mlcask pyfunc")


@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlflow_flavor_loads_mlcask_model(interop: Interop, case: str) -> None:
    expected = mlcask_expected(interop, case)
    record = interop.mlcask_saved.check(case, "flavor")
    for label, _, _ in interop.cases.predict_calls(case):
        got = interop.mlcask_saved.array(f"{case}.raw.{label}")
        assert_same(got, expected[f"raw.{label}"], f"{case} [{label}]: MLflow flavor load vs the raw model")
    mlcask_reload_worked(interop, case)
    for label, _, _ in interop.cases.predict_calls(case):
        got = interop.mlcask_saved.array(f"{case}.raw.{label}")
        assert_same(got, expected[f"flavor.{label}"], f"{case} [{label}]: MLflow vs mlcask flavor load")
    flavor = interop.cases.CASES[case][0]
    if flavor != "pyfunc":  # the native class comes back, not a wrapper
        model_class = mlmodel(interop.mlcask_saved.models / case)["flavors"][flavor].get("model_class")
        if model_class:
            assert record["raw_type"] == model_class


@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlflow_reads_mlcask_metadata(interop: Interop, case: str) -> None:
    mlcask_expected(interop, case)
    record = interop.mlcask_saved.check(case, "metadata")
    ours = mlmodel(interop.mlcask_saved.models / case)
    theirs = mlmodel(interop.mlflow_saved.models / case) if (interop.mlflow_saved.models / case).is_dir() else None

    # The signature MLflow reads is the one mlcask wrote, and the one MLflow writes itself.
    assert record["signature"] is not None, "MLflow found no signature"
    assert signature_parts(record["signature"]) == signature_parts(ours["signature"])
    if theirs is not None:
        assert signature_parts(record["signature"]) == signature_parts(theirs["signature"])
        assert record["saved_input_example_info"] == theirs["saved_input_example_info"]
    assert record["saved_input_example_info"] == ours["saved_input_example_info"]

    # The input example comes back as the first rows of the data.
    X, _ = interop.cases.load_data(interop.cases.CASES[case][1])
    assert record["input_example_type"] == "DataFrame"
    assert record["input_example_columns"] == list(X.columns)
    assert_same(interop.mlcask_saved.array(f"{case}.input_example"), X.head(5).to_numpy(), "input example")
    if case == "pyfunc_params":
        assert record["input_example_params"] == interop.cases.EXAMPLE_PARAMS


@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlflow_dependencies_of_mlcask_model_match_mlflow(interop: Interop, case: str) -> None:
    mlcask_expected(interop, case)
    record = interop.mlcask_saved.check(case, "dependencies")
    interop.mlflow_saved.check(case, "save")
    mlflow_requirements = (interop.mlflow_saved.models / case / "requirements.txt").read_text()
    ours, theirs = requirement_names(record["requirements"]), requirement_names(mlflow_requirements)
    message = (f"mlcask: {sorted(ours)}; MLflow: {sorted(theirs)} "
               f"(only mlcask: {sorted(ours - theirs)}, only MLflow: {sorted(theirs - ours)})")
    if case.startswith("pyfunc_"):
        # MLflow records the imports it happens to see while running the model, so for a
        # custom model it may list numpy and not pandas for a model fed DataFrames.
        # mlcask lists the packages of the model's objects, of its methods' globals and of
        # its input data: everything MLflow finds, and the data's packages besides.
        assert theirs <= ours, message
        assert ours - theirs <= {"numpy", "pandas"}, message
    else:
        assert ours == theirs, message


# -- (b) MLflow saves, mlcask loads -----------------------------------------------------------
@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlcask_pyfunc_loads_mlflow_model(interop: Interop, case: str) -> None:
    import mlcask

    interop.mlflow_saved.check(case, "save")
    X, _ = interop.cases.load_data(interop.cases.CASES[case][1])
    loaded = mlcask.pyfunc.load_model(interop.mlflow_saved.models / case, allow_pickle=True)
    for label, params, _ in interop.cases.predict_calls(case):
        assert_same(loaded.predict(X, params=params), interop.mlflow_saved.array(f"{case}.pyfunc.{label}"),
                    f"{case} [{label}]: mlcask pyfunc vs MLflow pyfunc")


# MLflow's folders are unsigned: mlcask reads native formats from them, and nothing that can run code.
RUNS_CODE_OR_UNTRUSTED_TYPES = {"sklearn_random_forest", "sklearn_cloudpickle", "pyfunc_artifact_by_value",
                                "pyfunc_artifact_code_paths", "pyfunc_new_style_predict", "pyfunc_ctx_named_predict",
                                "pyfunc_params"}


@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlcask_loads_nothing_that_runs_code_from_an_unsigned_mlflow_folder(interop: Interop, case: str) -> None:
    import mlcask
    from mlcask.exceptions import UnsafeModelError

    interop.mlflow_saved.check(case, "save")
    folder = interop.mlflow_saved.models / case
    if case in RUNS_CODE_OR_UNTRUSTED_TYPES:
        with pytest.raises(UnsafeModelError, match="allow_pickle=True|skops_trusted_types="):
            mlcask.pyfunc.load_model(folder)
    else:
        mlcask.pyfunc.load_model(folder)


@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlcask_flavor_loads_mlflow_model(interop: Interop, case: str) -> None:
    interop.mlflow_saved.check(case, "save")
    X, _ = interop.cases.load_data(interop.cases.CASES[case][1])
    model = interop.cases.load_raw(case, interop.mlflow_saved.models / case)
    for label, _, raw_params in interop.cases.predict_calls(case):
        assert_same(interop.cases.raw_predict(case, model, X, raw_params),
                    interop.mlflow_saved.array(f"{case}.raw.{label}"),
                    f"{case} [{label}]: mlcask flavor load vs MLflow's raw model")
    flavor = interop.cases.CASES[case][0]
    if flavor != "pyfunc":
        model_class = mlmodel(interop.mlflow_saved.models / case)["flavors"][flavor].get("model_class")
        if model_class:
            assert f"{type(model).__module__}.{type(model).__name__}" == model_class


@pytest.mark.interop
@pytest.mark.parametrize("case", CASE_IDS)
def test_mlcask_reads_mlflow_metadata(interop: Interop, case: str) -> None:
    import mlcask

    interop.mlflow_saved.check(case, "save")
    folder = interop.mlflow_saved.models / case
    theirs = mlmodel(folder)
    meta = mlcask.models.Model.load(folder)
    assert signature_parts(meta.signature.to_dict()) == signature_parts(theirs["signature"])
    assert meta.saved_input_example_info == theirs["saved_input_example_info"]
    if case == "pyfunc_params":
        assert meta.get_params_schema() is not None
    requirements = Path(mlcask.pyfunc.get_model_dependencies(folder))
    assert requirements == folder / "requirements.txt"
