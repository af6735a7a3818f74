"""Every flavor's ``log_model`` through the same checks: MLflow 3.17's parameters in MLflow's
order (asked of real MLflow), a numpydoc docstring, and every logging argument doing what
MLflow's does (``name``/``artifact_path``, ``registered_model_name``, ``await_registration_for``,
``step``, ``model_id``, ``params``, ``tags``, ``model_type``); and each flavor's public
module-level names as MLflow's tests use them."""

from __future__ import annotations

import importlib
import inspect
import json
import logging

import numpy as np
import pytest

import mlcask
from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidArgumentError
from mlcask.models.environment import package_version
from tests.support import Doubler

# spark's cases start the session-scoped SparkSession (tests/spark_session.py) only when they run.
FLAVORS = ["sklearn", "xgboost", "lightgbm", "pyfunc", pytest.param("spark", marks=pytest.mark.spark)]
PIP_FLAVORS = ["sklearn", "xgboost", "lightgbm"]


@pytest.fixture(scope="module")
def mlflow_api():
    """What real MLflow 3.17 says of its flavors: log_model parameters, default requirements and
    conda env, constants (one child process in the MLflow venv)."""
    from bench.mlflow_env import run_in_mlflow

    code = """
    import inspect, json
    import mlflow.sklearn, mlflow.xgboost, mlflow.lightgbm, mlflow.pyfunc, mlflow.spark
    out = {"log_model": {}, "pip": {}, "conda": {}}
    for name, module in (("sklearn", mlflow.sklearn), ("xgboost", mlflow.xgboost),
                         ("lightgbm", mlflow.lightgbm), ("pyfunc", mlflow.pyfunc), ("spark", mlflow.spark)):
        out["log_model"][name] = [str(p.kind) + ":" + p.name for p in inspect.signature(module.log_model).parameters.values()]
    out["pip"]["sklearn"] = [mlflow.sklearn.get_default_pip_requirements(), mlflow.sklearn.get_default_pip_requirements(True, True)]
    out["pip"]["lightgbm"] = [mlflow.lightgbm.get_default_pip_requirements(), mlflow.lightgbm.get_default_pip_requirements(True, True)]
    out["pip"]["xgboost"] = [mlflow.xgboost.get_default_pip_requirements()]
    out["pip"]["spark"] = [mlflow.spark.get_default_pip_requirements()]
    out["conda"]["sklearn"] = mlflow.sklearn.get_default_conda_env(include_skops=True)
    out["conda"]["lightgbm"] = mlflow.lightgbm.get_default_conda_env(include_cloudpickle=True)
    out["conda"]["xgboost"] = mlflow.xgboost.get_default_conda_env()
    out["conda"]["spark"] = mlflow.spark.get_default_conda_env()
    out["constants"] = {n: getattr(mlflow.sklearn, n) for n in ("FLAVOR_NAME", "SERIALIZATION_FORMAT_PICKLE",
        "SERIALIZATION_FORMAT_CLOUDPICKLE", "SERIALIZATION_FORMAT_SKOPS", "SUPPORTED_SERIALIZATION_FORMATS")}
    out["flavor_names"] = {n: getattr(mlflow, n).FLAVOR_NAME for n in ("sklearn", "xgboost", "lightgbm", "pyfunc", "spark")}
    print(json.dumps(out))
    """
    return json.loads(run_in_mlflow(code).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def base_models(breast_cancer, xgb_classifier, logistic_regression):
    import lightgbm

    X, y = breast_cancer
    return {"sklearn": logistic_regression, "xgboost": xgb_classifier,
            "lightgbm": lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y), "pyfunc": Doubler()}


@pytest.fixture(scope="module")
def spark_model(spark):
    """A small fitted Spark ML pipeline (VectorAssembler + LogisticRegression)."""
    import pandas as pd
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    train = spark.createDataFrame(pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "label": [0.0, 0.0, 1.0, 1.0]}))
    stages = [VectorAssembler(inputCols=["a"], outputCol="features"), LogisticRegression(maxIter=3)]
    return Pipeline(stages=stages).fit(train)


@pytest.fixture
def models(base_models, request):
    """Each flavor's model; the Spark one (and the SparkSession) only for a spark case."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("flavor") == "spark":
        return {**base_models, "spark": request.getfixturevalue("spark_model")}
    return base_models


def _log(flavor, model, **kwargs):
    """``mlcask.<flavor>.log_model`` with the model in the flavor's own argument."""
    module = importlib.import_module(f"mlcask.{flavor}")
    if flavor == "pyfunc":
        return module.log_model(python_model=model, **kwargs)
    return module.log_model(model, **kwargs)


def _flavor_name(flavor):
    return "python_function" if flavor == "pyfunc" else flavor


# -- signature and docstring -------------------------------------------------------------------
@pytest.mark.interop
@pytest.mark.parametrize("flavor", FLAVORS)
def test_log_model_has_mlflows_parameters_in_mlflows_order(flavor, mlflow_api):
    ours = [f"{p.kind}:{p.name}" for p in inspect.signature(importlib.import_module(f"mlcask.{flavor}").log_model)
            .parameters.values()]
    assert ours == mlflow_api["log_model"][flavor]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_log_model_docstring_is_numpydoc_with_every_parameter(flavor):
    log_model = importlib.import_module(f"mlcask.{flavor}").log_model
    doc = log_model.__doc__
    assert "Parameters\n----------\n" in doc and "Returns\n-------\nModelInfo" in doc
    for parameter in inspect.signature(log_model).parameters.values():
        entry = "**kwargs\n" if parameter.kind is parameter.VAR_KEYWORD else f"\n{parameter.name} : "
        assert entry in doc, f"{flavor}.log_model's docstring has no entry for {parameter.name}"
    assert log_model.__name__ == "log_model" and log_model.__module__ == f"mlcask.{flavor}"


# -- module-level names MLflow's flavor tests use ------------------------------------------------
@pytest.mark.interop
def test_sklearn_constants_are_mlflows(mlflow_api):
    assert {n: getattr(mlcask.sklearn, n) for n in mlflow_api["constants"]} == mlflow_api["constants"]
    for flavor, name in mlflow_api["flavor_names"].items():
        assert importlib.import_module(f"mlcask.{flavor}").FLAVOR_NAME == name


def _pinned_here(requirements):
    """MLflow's requirement names, pinned to the versions installed in mlcask's environment
    (``mlflow`` itself stays: mlcask writes the MLflow version whose format it writes)."""
    return [r if r.startswith("mlflow==") else f"{r.partition('==')[0]}=={package_version(r.partition('==')[0])}"
            for r in requirements]


@pytest.mark.interop
@pytest.mark.parametrize("flavor", [*PIP_FLAVORS, "spark"])
def test_default_pip_requirements_are_mlflows(flavor, mlflow_api):
    module = importlib.import_module(f"mlcask.{flavor}")
    expected = [_pinned_here(reqs) for reqs in mlflow_api["pip"][flavor]]
    ours = [module.get_default_pip_requirements()]
    if flavor not in ("xgboost", "spark"):
        ours.append(module.get_default_pip_requirements(include_cloudpickle=True, include_skops=True))
    assert ours == expected


@pytest.mark.interop
@pytest.mark.parametrize("flavor, kwargs", [("sklearn", {"include_skops": True}),
                                            ("lightgbm", {"include_cloudpickle": True}), ("xgboost", {}),
                                            ("spark", {})])
def test_default_conda_env_has_mlflows_shape(flavor, kwargs, mlflow_api):
    theirs = mlflow_api["conda"][flavor]
    ours = importlib.import_module(f"mlcask.{flavor}").get_default_conda_env(**kwargs)
    assert (ours["name"], ours["channels"]) == (theirs["name"], theirs["channels"])
    assert ours["dependencies"][0] == theirs["dependencies"][0]  # python=<version>
    assert ours["dependencies"][1].startswith("pip")
    assert ours["dependencies"][-1] == {"pip": _pinned_here(theirs["dependencies"][-1]["pip"])}


# -- the logging arguments, for every flavor -------------------------------------------------------
@pytest.mark.parametrize("flavor", FLAVORS)
def test_log_model_records_step_params_tags_and_type(flavor, tracking, models):
    with mlcask.start_run() as run:
        mlcask.log_param("lr", 0.1)
        info = _log(flavor, models[flavor], name="m", step=7, params={"depth": 3, "lr": "ignored"},
                    tags={"team": "risk"}, metadata={"owner": "risk team"})
        active_outputs = mlcask.active_run().outputs.model_outputs
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id
    assert [(o.model_id, o.step) for o in active_outputs] == [(info.model_id, 7)]
    assert [o.model_id for o in mlcask.get_run(run.info.run_id).outputs.model_outputs] == [info.model_id]
    logged = mlcask.MlflowClient().get_logged_model(info.model_id)
    assert logged.status == "READY" and logged.name == "m" and logged.model_type == _flavor_name(flavor)
    assert logged.params == {"depth": "3", "lr": "0.1"}  # the run's params win, as in MLflow
    assert logged.tags["team"] == "risk" and logged.tags["mlflow.source.type"] == "LOCAL"
    assert "mlflow.user" in logged.tags and "mlflow.source.name" in logged.tags
    meta = mlcask.pyfunc.load_model(info.model_uri).metadata
    assert _flavor_name(flavor) in meta.flavors and meta.metadata == info.metadata == {"owner": "risk team"}
    assert meta.model_id == info.model_id and meta.run_id == run.info.run_id


def test_the_output_step_is_stored(tracking, logistic_regression):
    with mlcask.start_run() as run:
        info = mlcask.sklearn.log_model(logistic_regression, name="m", step=7)
    assert [(o.model_id, o.step) for o in mlcask.get_run(run.info.run_id).outputs.model_outputs] == [
        (info.model_id, 7)]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_registered_model_name_prints_mlflows_messages_and_waits_for_ready(flavor, tracking, models, capsys):
    first = _log(flavor, models[flavor], name="m", registered_model_name="reg", tags={"t": "v"})
    assert capsys.readouterr().err.splitlines() == ["Successfully registered model 'reg'.",
                                                    "Created version '1' of model 'reg'."]
    second = _log(flavor, models[flavor], name="m", registered_model_name="reg", await_registration_for=None)
    assert capsys.readouterr().err.splitlines() == [
        "Registered model 'reg' already exists. Creating a new version of this model...",
        "Created version '2' of model 'reg'."]
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    client = mlcask.MlflowClient()
    version = client.get_model_version("reg", 1)
    assert version.status == "READY" and version.model_id == first.model_id and version.tags == {"t": "v"}
    assert json.loads(client.get_logged_model(first.model_id).tags["mlflow.modelVersions"]) == [
        {"name": "reg", "version": 1}]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_name_and_artifact_path_together_is_mlflows_error(flavor, tracking, models, caplog):
    with pytest.raises(InvalidArgumentError, match=r"Both `artifact_path` \(deprecated\) and `name` parameters "
                                                   r"were specified\. Please only specify `name`\.") as raised:
        _log(flavor, models[flavor], name="m", artifact_path="m")
    assert raised.value.error_code == INVALID_PARAMETER_VALUE
    assert mlcask.last_active_run() is None  # refused before any run or logged model was made
    with caplog.at_level(logging.WARNING, logger="mlcask.tracking.model_logging"):
        info = _log(flavor, models[flavor], artifact_path="old")
    # MLflow's mlflow.spark.log_model has artifact_path and no name: there it is not deprecated.
    assert ("`artifact_path` is deprecated. Please use `name` instead." in caplog.text) is (flavor != "spark")
    assert mlcask.MlflowClient().get_logged_model(info.model_id).name == "old"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_model_id_logs_into_an_existing_logged_model(flavor, tracking, models):
    client = mlcask.MlflowClient()
    with mlcask.start_run() as run:
        created = client.create_logged_model(run.info.experiment_id, "external", run.info.run_id,
                                             tags={"mlflow.model.isExternal": "true"})
        info = _log(flavor, models[flavor], model_id=created.model_id, tags={"stage": "dev"})
    assert info.model_id == created.model_id and info.model_uri == f"models:/{created.model_id}"
    logged = client.get_logged_model(created.model_id)
    assert logged.status == "READY" and logged.tags["stage"] == "dev"
    assert "mlflow.model.isExternal" not in logged.tags  # it now has MLflow-format artifacts
    assert len(client.search_logged_models([run.info.experiment_id])) == 1
    assert _flavor_name(flavor) in mlcask.pyfunc.load_model(info.model_uri).metadata.flavors


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_model_id_that_does_not_exist_is_refused_before_saving(flavor, tracking, models):
    with pytest.raises(mlcask.exceptions.MlcaskException, match="m-0000"):
        _log(flavor, models[flavor], model_id="m-0000")


@pytest.mark.parametrize("flavor", PIP_FLAVORS)
def test_load_model_dst_path_copies_the_model_where_mlflow_does(flavor, tracking, models, tmp_path, breast_cancer):
    X, _ = breast_cancer
    module = importlib.import_module(f"mlcask.{flavor}")
    info = _log(flavor, models[flavor], name="m")
    (tmp_path / "logged").mkdir()
    loaded = module.load_model(info.model_uri, dst_path=tmp_path / "logged")
    assert (tmp_path / "logged" / "MLmodel").is_file()  # a models:/ model's files go straight in
    np.testing.assert_array_equal(loaded.predict(X.head(5)), models[flavor].predict(X.head(5)))
    module.save_model(models[flavor], tmp_path / "saved")
    (tmp_path / "local").mkdir()
    module.load_model(tmp_path / "saved", dst_path=str(tmp_path / "local"))
    assert (tmp_path / "local" / "saved" / "MLmodel").is_file()  # any other as dst_path/<its name>
    with pytest.raises(InvalidArgumentError, match="The destination path for downloaded artifacts does not exist! "
                                                   "Destination path: .*nowhere"):
        module.load_model(info.model_uri, dst_path=tmp_path / "nowhere")


@pytest.mark.parametrize("flavor", PIP_FLAVORS)
def test_extra_files_are_saved_and_listed(flavor, models, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "labels.json").write_text("[0, 1]")
    module = importlib.import_module(f"mlcask.{flavor}")
    module.save_model(models[flavor], tmp_path / "m",
                      extra_files=[str(tmp_path / "notes.txt"), (tmp_path / "labels.json").as_uri()])
    conf = mlcask.models.Model.load(tmp_path / "m").flavors[flavor]
    assert conf["extra_files"] == [{"path": "extra_files/notes.txt"}, {"path": "extra_files/labels.json"}]
    assert (tmp_path / "m" / "extra_files" / "notes.txt").read_text() == "hello"
    module.load_model(tmp_path / "m")  # the manifest covers the extra files: the folder still verifies
    with pytest.raises(TypeError, match="Extra files argument should be a list"):
        module.save_model(models[flavor], tmp_path / "n", extra_files=str(tmp_path / "notes.txt"))
    with pytest.raises(InvalidArgumentError, match="remote URI"):
        module.save_model(models[flavor], tmp_path / "o", extra_files=["s3://bucket/notes.txt"])


def test_unsupported_pyfunc_arguments_warn(tracking):
    with pytest.warns(UserWarning, match="prompts .* not supported"):
        mlcask.pyfunc.log_model(name="a", python_model=Doubler(), prompts=["prompts:/p/1"])
    with pytest.warns(UserWarning, match=r"uv_project_path='\.' is not supported by mlcask and is ignored"):
        mlcask.pyfunc.log_model(name="b", python_model=Doubler(), uv_project_path=".")


def test_an_argument_save_model_does_not_take_is_a_type_error(tracking, logistic_regression):
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['colour'\]"):
        mlcask.sklearn.log_model(logistic_regression, name="m", colour="red")
    assert mlcask.last_active_run() is None


# -- the README's table of differences (rows not pinned elsewhere) ------------------------------------
def test_readme_artifact_paths_with_dot_dot_are_refused(tracking):
    with mlcask.start_run() as run:
        with pytest.raises(InvalidArgumentError, match=r"Invalid artifact file 'dir/\.\./f\.txt': '\.\.' segments "
                                                       r"are not allowed"):
            mlcask.log_text("x", "dir/../f.txt")
        with pytest.raises(InvalidArgumentError, match=r"'dir/\.\./f\.json': '\.\.' segments are not allowed"):
            mlcask.log_dict({"a": 1}, "dir/../f.json")
        mlcask.log_text("x", "dir/f.txt")
    assert [f.path for f in mlcask.MlflowClient().list_artifacts(run.info.run_id)] == ["dir"]
