"""scripts/mlflow_parity: the mlflow -> mlcask alias, the guarded imports, the placeholders and the
classification rules, on synthetic records (no MLflow test is run here)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from mlflow_parity import alias, placeholders, rules, serving, stage  # noqa: E402
from mlflow_parity.rules import DIFFERENT, MISSING, PASS, SET_ASIDE, classify  # noqa: E402


@pytest.fixture
def aliased():
    finder = alias.install()
    yield finder
    alias.uninstall()


def test_alias_gives_the_mlcask_module_objects(aliased):
    import mlflow
    import mlflow.sklearn
    from mlflow.models import Model

    import mlcask
    import mlcask.sklearn

    assert mlflow is mlcask
    assert mlflow.sklearn is mlcask.sklearn
    assert sys.modules["mlflow.sklearn"] is mlcask.sklearn
    assert Model is mlcask.models.Model
    assert mlcask.sklearn.__spec__.name == "mlcask.sklearn"  # the module keeps its own identity


def test_alias_does_not_find_what_mlcask_lacks(aliased):
    with pytest.raises(ModuleNotFoundError, match="No module named 'mlflow.no_such_module'"):
        __import__("mlflow.no_such_module")


def test_alias_is_installed_once_and_removed(aliased):
    assert alias.install() is aliased
    assert sum(isinstance(f, alias.MlflowAliasFinder) for f in sys.meta_path) == 1
    alias.uninstall()
    assert "mlflow" not in sys.modules
    assert not any(isinstance(f, alias.MlflowAliasFinder) for f in sys.meta_path)
    alias.install()  # for the fixture's teardown


def test_alias_reaches_child_processes_through_sitecustomize(tmp_path):
    work = stage.build(_fake_tests(tmp_path), tmp_path / "work")
    code = "import mlflow, mlflow.pyfunc, mlcask; print(mlflow is mlcask, mlflow.pyfunc is mlcask.pyfunc)"
    env = {"PYTHONPATH": f"{SCRIPTS}:{work / 'site'}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def _fake_tests(root: Path) -> Path:
    tests = root / "src" / "tests"
    (tests / "sub").mkdir(parents=True)
    (tests / "__init__.py").write_text("")
    (tests / "conftest.py").write_text("import mlflow.utils.internal_only\n")
    (tests / "sub" / "test_x.py").write_text(textwrap.dedent('''\
        """doc"""
        from __future__ import annotations
        import os
        from mlflow.models import Model, not_a_public_name
        from mlflow.utils.file_utils import TempDir as T
        '''))
    return root / "src"


def test_stage_guards_imports_and_replaces_conftest(tmp_path):
    work = stage.build(_fake_tests(tmp_path), tmp_path / "work")
    guarded = (work / "tests" / "sub" / "test_x.py").read_text()
    assert guarded.index("from __future__") < guarded.index(stage.GUARD_IMPORT.strip())
    assert "    from mlflow.models import not_a_public_name\n" in guarded
    assert "T = __parity_unavailable('mlflow.utils.file_utils', 'TempDir', __parity_error)" in guarded
    assert "import os\n" in guarded  # the original line is replaced by its guarded form
    compile(guarded, "test_x.py", "exec")
    assert "internal_only" not in (work / "tests" / "conftest.py").read_text()
    assert (work / "site" / "sitecustomize.py").exists()


def test_stage_guards_definitions_that_mention_mlflow():
    source = textwrap.dedent('''\
        import mlflow
        class Traced(mlflow.pyfunc.PythonModel):
            @mlflow.no_such_decorator
            def predict(self, model_input):
                return model_input
        def test_plain():
            pass
        ''')
    guarded = stage.guard_imports(source)
    assert "    class Traced(mlflow.pyfunc.PythonModel):\n" in guarded
    assert "Traced = __parity_unavailable_definition(__name__, 'Traced', __parity_error)" in guarded
    assert "\ndef test_plain():\n" in guarded  # undecorated functions stay as they are


def test_stage_drops_only_the_listed_scaffolding():
    source = "def f():\n    mlflow.tracing.disable()\n    mlflow.tracing.disable_later()\n"
    assert stage.drop_scaffolding(source) == (
        "def f():\n    pass  # parity: dropped mlflow.tracing.disable()\n    mlflow.tracing.disable_later()\n")


def test_unavailable_definition_names_the_missing_attribute():
    import mlcask

    try:
        mlcask.no_such_attribute_for_parity
    except AttributeError as error:
        holder = placeholders.unavailable_definition("tests.x.test_y", "test_z", error)
    assert holder._parity_name == "mlflow.no_such_attribute_for_parity"
    assert placeholders.LOST_DEFINITIONS.pop() == ("tests.x.test_y", "test_z", "mlflow.no_such_attribute_for_parity",
                                                   rules.PUBLIC)


def test_stage_refuses_a_folder_without_tests(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected MLflow's test folder at"):
        stage.build(tmp_path, tmp_path / "work")


def test_placeholder_is_lenient_at_import_and_raises_in_a_test():
    holder = placeholders.make("mlflow.last_logged_model", rules.PUBLIC, "ImportError: cannot import name")
    assert placeholders.is_placeholder(holder.child.grandchild())  # collect mode: chains
    placeholders.start_test()
    try:
        holder.in_a_fixture  # fixtures are lenient too
        placeholders.start_call()
        with pytest.raises(placeholders.NameUnavailable, match="mlflow.last_logged_model is not available"):
            holder()
        assert not isinstance(3, holder)
        placeholders.end_call()
    finally:
        touched, in_fixtures = placeholders.end_test()
    assert [t[0] for t in touched] == ["mlflow.last_logged_model", "mlflow.last_logged_model"]
    assert [t[0] for t in in_fixtures] == ["mlflow.last_logged_model"]


@pytest.mark.parametrize(("name", "category"), [
    ("mlflow.last_logged_model", rules.PUBLIC),
    ("mlflow.models.Model.log", rules.PUBLIC),
    ("mlflow.artifacts.download_artifacts", rules.PUBLIC),
    ("mlcask.models.validate_schema", rules.PUBLIC),
    ("mlflow.utils.file_utils.TempDir", rules.INTERNAL),
    ("mlflow.store.tracking.file_store", rules.INTERNAL),
    ("mlflow.models.utils._enforce_schema", rules.INTERNAL),
    ("mlflow.tracking._model_registry.x", rules.INTERNAL),
    ("mlflow.get_last_active_trace_id", rules.OUT_OF_SCOPE),
    ("mlflow.langchain", rules.OUT_OF_SCOPE),
    ("mlflow.models.rag_signatures", rules.OUT_OF_SCOPE),
    ("pyspark.sql", rules.DEPENDENCY),
    ("tests.helper_functions.x", rules.HELPER),
])
def test_name_category(name, category):
    assert rules.name_category(name) == category


def _record(outcome="failed", **exc):
    rec = {"nodeid": "tests/x/test_y.py::test_z", "outcome": outcome, "phase": "call"}
    if exc:
        rec["exc"] = {"frames": [{"file": "tests/x/test_y.py", "line": 1, "func": "t", "in_tests": True}], **exc}
    return rec


def test_classify_pass_and_skips():
    assert classify(_record("passed")).cls == PASS
    aside = classify({**_record("skipped"), "skip_reason": rules.SET_ASIDE_MARK + "needs Spark"})
    assert (aside.cls, aside.reason) == (SET_ASIDE, "needs Spark")
    assert classify({**_record("skipped"), "skip_reason": "requires torch"}).reason == \
        "skipped by the test: requires torch"


def test_classify_missing_module_attribute():
    verdict = classify(_record(type="AttributeError", message="module 'mlcask' has no attribute 'last_logged_model'",
                               attr_name="last_logged_model", attr_owner="mlcask", attr_kind="module"))
    assert (verdict.cls, verdict.name) == (MISSING, "mlflow.last_logged_model")


def test_classify_missing_class_attribute_and_private_one():
    public = classify(_record(type="AttributeError", message="type object 'Model' has no attribute 'log'",
                              attr_name="log", attr_owner="mlcask.models.model.Model", attr_kind="class"))
    assert (public.cls, public.name) == (MISSING, "Model.log")
    private = classify(_record(type="AttributeError", message="'PyFuncModel' object has no attribute '_model_impl'",
                               attr_name="_model_impl", attr_owner="mlcask.pyfunc.model.PyFuncModel",
                               attr_kind="instance"))
    assert private.cls == SET_ASIDE


def test_classify_attribute_error_on_a_foreign_object_is_a_difference():
    verdict = classify(_record(type="AttributeError", message="'NoneType' object has no attribute 'info'",
                               attr_name="info", attr_owner="builtins.NoneType", attr_kind="instance"))
    assert verdict.cls == DIFFERENT


def test_classify_import_errors():
    public = classify(_record(type="ImportError", import_name="mlcask.models",
                              message="cannot import name 'set_model' from 'mlcask.models' (/x/__init__.py)"))
    assert (public.cls, public.name) == (MISSING, "mlflow.models.set_model")
    internal = classify(_record(type="ModuleNotFoundError", import_name="mlflow.utils.nope",
                                message="No module named 'mlflow.utils.nope'"))
    assert internal.cls == SET_ASIDE
    dependency = classify(_record(type="ModuleNotFoundError", import_name="pyspark", message="No module named 'pyspark'"))
    assert (dependency.cls, dependency.reason) == (SET_ASIDE, "needs the package 'pyspark' (not installed)")


def test_classify_signature_errors_only_at_the_tests_own_call():
    message = "log_param() got an unexpected keyword argument 'synchronous'"
    at_test = classify(_record(type="TypeError", message=message))
    assert (at_test.cls, at_test.name) == (MISSING, "log_param(synchronous=)")
    inside = _record(type="TypeError", message=message)
    inside["exc"]["frames"].append({"file": "/src/mlcask/x.py", "line": 3, "func": "f", "in_tests": False})
    assert classify(inside).cls == DIFFERENT
    stricter = classify(_record(type="TypeError", message="RunInfo.__init__() missing 1 required positional "
                                                           "argument: 'run_name'"))
    assert (stricter.cls, stricter.name) == (MISSING, "RunInfo.__init__() signature")


def test_classify_placeholders_and_patches():
    touched = {**_record(type="NameUnavailable", message="x"),
               "touched": [("mlflow.models.get_model_info", rules.PUBLIC, "ImportError")]}
    assert classify(touched).name == "mlflow.models.get_model_info"
    internal_first = {**touched, "touched": [("mlflow.models.get_model_info", rules.PUBLIC, ""),
                                             ("mlflow.utils.x", rules.INTERNAL, "")]}
    assert classify(internal_first).cls == SET_ASIDE
    patched = {**_record(type="AssertionError", message="assert 1 == 2"),
               "patched": ["mlcask.models.utils._logger.warning"]}
    assert classify(patched).reason == "patches MLflow internal mlflow.models.utils._logger.warning"
    by_fixture = {**_record(type="AssertionError", message="assert 1 == 2"),
                  "fixture_patched": ["mlflow.tracking.fluent._get_experiment_id"]}
    assert classify(by_fixture).cls == DIFFERENT  # the failure is not on the fixture's mock
    by_fixture["exc"]["frames"].append({"file": "/usr/lib/python3.11/unittest/mock.py", "line": 9,
                                        "func": "assert_called_once", "in_tests": False})
    assert classify(by_fixture).reason == \
        "patches MLflow internal mlflow.tracking.fluent._get_experiment_id (in a fixture)"
    public_patch = {**_record(type="AssertionError", message="assert 1 == 2"), "patched": ["mlflow.sklearn.log_model"]}
    assert classify(public_patch).cls == DIFFERENT


def test_classify_a_child_process_missing_an_mlflow_module():
    verdict = classify(_record(type="AssertionError", message="stderr = \n b\"/v/bin/python: No module named "
                                                              "mlflow.__main__; 'mlflow' is a package and cannot be "
                                                              "directly executed\\n\""))
    assert (verdict.cls, verdict.name) == (MISSING, "python -m mlflow (mlflow.__main__)")


def test_classify_an_assertion_on_mlflows_version_number():
    rec = _record(type="AssertionError", message="assert <Version('0.1.0')> > <Version('2.4.0')>")
    rec["exc"]["frames"][-1]["code"] = 'assert Version(mlflow.__version__) > Version("2.4.0")'
    assert classify(rec).cls == SET_ASIDE


def test_classify_placeholder_named_in_a_message():
    verdict = classify(_record(type="RepresenterError", message="('cannot represent an object', "
                                                              "<unavailable mlflow.models.model._X (internal)>)"))
    assert (verdict.cls, verdict.reason) == (SET_ASIDE, "uses mlflow.models.model._X (internal)")


def test_classify_mock_target_fixture_timeout_and_differences():
    mock_missing = classify(_record(type="AttributeError",
                                    message="<module 'mlcask.tracking.fluent' from '/x.py'> does not have the "
                                            "attribute '_get_experiment_id'"))
    assert mock_missing.cls == SET_ASIDE
    fixture = {**_record("error"), "phase": "setup", "longrepr": "E       fixture 'spark' not found"}
    assert classify(fixture).reason == "needs the MLflow test fixture 'spark'"
    assert classify({**_record(type="ParityTimeout", message="past 60 s"), "timeout": True,
                     "timeout_s": 60}).reason == "timed out after 60 s"
    differs = classify(_record(type="AssertionError", message="Regex pattern did not match.\n Regex: 'x'\n Input: 'y'"))
    assert (differs.cls, differs.reason) == (DIFFERENT, "message differs: expected 'x', got 'y'")
    pytest9 = classify(_record(type="AssertionError", message="Regex pattern did not match.\n  Expected regex: 'a'"
                                                               "\n  Actual message: \"b\""))
    assert pytest9.reason == "message differs: expected 'a', got \"b\""
    bare = _record(type="AssertionError", message="")
    bare["exc"]["frames"][-1].update(file="/w/tests/helper_functions.py", line=460, code="assert a == b")
    assert classify(bare).reason == "AssertionError at helper_functions.py:460: assert a == b"
    other = classify(_record(type="AssertionError", message="assert 1 == 2\n +  where 1 = f()"))
    assert (other.cls, other.reason) == (DIFFERENT, "AssertionError: assert 1 == 2")


def test_patch_targets_are_public_only_in_documented_modules():
    assert rules.patch_target_category("mlflow.sklearn.log_model") == rules.PUBLIC
    assert rules.patch_target_category("mlflow.models.Model.log") == rules.PUBLIC
    assert rules.patch_target_category("mlflow.tracking.fluent.MlflowClient") == rules.INTERNAL
    assert rules.patch_target_category("mlflow.utils.x.y") == rules.INTERNAL


def test_classify_internals_in_child_processes_and_mlflow_private_attributes():
    child = classify(_record(type="CalledProcessError", message="Command '['python', '-c', 'import mlflow; "
                                                                 "mlflow.tracking.fluent._get_experiment_id()']'"))
    assert child.reason == "runs MLflow internal mlflow.tracking.fluent._get_experiment_id in a child process"
    private = classify(_record(type="AttributeError", message="'LinearRegression' object has no attribute "
                                                               "'_mlflow_run_id'", attr_name="_mlflow_run_id",
                               attr_owner="sklearn.linear_model.LinearRegression", attr_kind="instance"))
    assert private.cls == SET_ASIDE


def test_pre_run_set_aside_rules():
    assert rules.pre_run_set_aside("m.py::test_spark_udf", "", []) == "needs Spark"
    assert rules.pre_run_set_aside("m.py::test_x", "with SparkSession.builder.getOrCreate() as s:", []) == \
        "needs Spark"
    # serving is set aside when the test reaches the helper (SET_ASIDE_HELPERS), not before it runs
    assert rules.pre_run_set_aside("m.py::test_x", "r = pyfunc_serve_and_score_model(uri)", []) is None
    assert rules.pre_run_set_aside("m.py::test_x", "", ["tmp_path", "mock_s3_bucket"]) == \
        "needs the MLflow test fixture 'mock_s3_bucket'"
    assert rules.pre_run_set_aside("m.py::test_log_model[served]", "mlflow.log_param('a', 1)", ["tmp_path"]) is None
    # a mere mention is not a need
    assert rules.pre_run_set_aside("m.py::test_x", 'assert not hasattr(m, "databricks_runtime")', []) is None
    assert rules.pre_run_set_aside("m.py::test_x", 'mlflow.set_tracking_uri("databricks")', []) == "needs Databricks"


def test_normalise_blanks_paths_and_ids():
    reason = "RESOURCE_DOES_NOT_EXIST: run 0123456789abcdef0123456789abcdef at /tmp/pytest-1/x not found"
    assert rules.normalise(reason) == "RESOURCE_DOES_NOT_EXIST: run <id> at <path> not found"


def test_serving_request_bodies_are_built_as_mlflows_helper_builds_them():
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2]})
    assert serving.request_body(frame, serving.CONTENT_TYPE_CSV) == "a\n1\n2\n"
    assert serving.request_body(frame, serving.CONTENT_TYPE_JSON) == \
        '{"dataframe_split": {"index": [0, 1], "columns": ["a"], "data": [[1], [2]]}}'
    assert serving.request_body([[1, 2]], serving.CONTENT_TYPE_JSON) == '{"instances": [[1, 2]]}'
    assert serving.request_body('{"inputs": [1]}', serving.CONTENT_TYPE_JSON) == '{"inputs": [1]}'


@pytest.mark.filterwarnings("ignore:Add type hints to the `predict` method")
def test_serving_scores_through_mlcasks_scoring_app(tmp_path):
    import json

    import pandas as pd

    import mlcask

    class Doubler(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input * 2

    mlcask.pyfunc.save_model(str(tmp_path / "model"), python_model=Doubler())
    response = serving.serve_and_score(str(tmp_path / "model"), pd.DataFrame({"a": [1, 3]}), serving.CONTENT_TYPE_JSON)
    assert response.status_code == 200
    assert json.loads(response.content)["predictions"] == [{"a": 2}, {"a": 6}]
    bad = serving.serve_and_score(str(tmp_path / "model"), "not json", serving.CONTENT_TYPE_JSON)
    assert bad.status_code == 400


@pytest.mark.slow
def test_end_to_end_on_a_small_suite(tmp_path):
    """The command on four tiny MLflow-style tests: one passes, one needs a public name mlcask lacks,
    one an MLflow internal, one finds a different behaviour; the module with an unguardable
    collection error is reported as such."""
    import json

    tests = tmp_path / "suite" / "tests"
    (tests / "m").mkdir(parents=True)
    (tests / "__init__.py").write_text("")
    (tests / "m" / "__init__.py").write_text("")
    (tests / "m" / "test_small.py").write_text(textwrap.dedent('''\
        import pytest
        import mlflow
        from mlflow.utils.no_such_internal import helper
        from mlflow.exceptions import MlflowException

        def test_passes():
            assert mlflow.get_tracking_uri().startswith("sqlite:///")

        def test_needs_a_public_name():
            mlflow.no_such_public_function_for_parity()

        def test_needs_an_internal():
            helper()

        def test_differs():
            with pytest.raises(MlflowException, match="some other wording"):
                mlflow.get_run("no-such-run")
        '''))
    (tests / "m" / "test_broken.py").write_text("raise RuntimeError('broken at import')\n")
    out = tmp_path / "out"
    command = [sys.executable, str(SCRIPTS / "mlflow-parity"), str(tmp_path / "suite"), "--out", str(out),
               "--module", "tests/m/test_small.py", "--module", "tests/m/test_broken.py",
               "--python", sys.executable, "--jobs", "2", "--stage", str(tmp_path / "work")]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)
    results = json.loads((out / "results.json").read_text())
    classes = {t["id"].split("::")[1]: t["class"] for t in results["tests"]}
    assert classes == {"test_passes": PASS, "test_needs_a_public_name": MISSING,
                       "test_needs_an_internal": SET_ASIDE, "test_differs": DIFFERENT}
    assert results["top_missing"][0]["name"] == "mlflow.no_such_public_function_for_parity"
    assert [e["nodeid"] for e in results["collect_errors"]] == ["tests/m/test_broken.py"]
    summary = (out / "summary.txt").read_text()
    assert "passed 1, missing 1, different 1, set-aside 1; missing-or-different 2; total 4" in summary
    assert (out / "modules" / "tests__m__test_small.txt").read_text().count("\n") == 2


# --- the Spark scope (scripts/mlflow-parity --spark) ------------------------------------------

@pytest.fixture
def spark_scope():
    rules.use_spark_scope(True)
    yield
    rules.use_spark_scope(False)


SPARK_NAMES = ["mlflow.spark.save_model", "mlflow.pyfunc.spark_udf", "mlflow.pyspark.ml.autolog",
               "mlflow.types.schema.SparkMLVector"]


@pytest.mark.parametrize("name", SPARK_NAMES)
def test_spark_names_are_out_of_scope_by_default(name):
    """The default run (the issue's 19 modules) classifies exactly as before Spark came in."""
    assert not rules.spark_scope()
    assert rules.name_category(name) == rules.OUT_OF_SCOPE
    assert rules.patch_target_category(name) == rules.OUT_OF_SCOPE


def test_spark_tests_are_set_aside_by_default():
    assert rules.pre_run_set_aside("m.py::test_spark_udf", "", []) == "needs Spark"
    assert rules.pre_run_set_aside("m.py::test_x", "", ["spark"]) == "needs the MLflow test fixture 'spark'"
    assert rules.pre_run_set_aside("m.py::test_x", "", ["spark_session"]) == \
        "needs the MLflow test fixture 'spark_session'"
    assert rules.pre_run_set_aside("m.py::test_x[conda]", "", []) is None  # a Spark-scope rule only
    missing = classify(_record(type="AttributeError", message="no", attr_name="no_such",
                               attr_owner="mlcask.spark", attr_kind="module"))
    assert missing.cls == SET_ASIDE and "out-of-scope" in missing.reason


@pytest.mark.parametrize("name", SPARK_NAMES)
def test_spark_scope_makes_spark_names_public(spark_scope, name):
    assert rules.name_category(name) == rules.PUBLIC


@pytest.mark.parametrize(("name", "category"), [
    ("mlflow.pyfunc.spark_model_cache.SparkModelCache", rules.OUT_OF_SCOPE),  # MLflow's wiring
    ("mlflow.pyspark.ml._autolog.get_feature_cols", rules.INTERNAL),
    ("mlflow.pyspark.ml._get_instance_param_map", rules.INTERNAL),
    ("mlflow.utils._spark_utils.modified_environ", rules.INTERNAL),
    ("mlflow.spark._add_code_from_conf_to_system_path", rules.INTERNAL),
    ("mlflow.pyfunc.dbconnect_artifact_cache.extract_archive_to_dir", rules.OUT_OF_SCOPE),
    ("mlflow.spark.autolog", rules.OUT_OF_SCOPE),  # datasource autologging needs MLflow's Java jar
    ("mlflow.spark.autologging.x", rules.OUT_OF_SCOPE),
    ("mlflow.pyspark.optuna", rules.OUT_OF_SCOPE),
    ("mlflow.pyfunc.spark_connect_udf", rules.OUT_OF_SCOPE),
    ("mlflow.tracing.trace", rules.OUT_OF_SCOPE),
    ("mlflow.langchain", rules.OUT_OF_SCOPE),
    ("mlflow.log_param", rules.PUBLIC),
])
def test_spark_scope_keeps_internals_connect_and_the_rest_set_aside(spark_scope, name, category):
    assert rules.name_category(name) == category


def test_spark_scope_pre_run_rules(spark_scope):
    assert rules.pre_run_set_aside("m.py::test_spark_udf", "", []) is None
    assert rules.pre_run_set_aside("m.py::test_x", "with SparkSession.builder.getOrCreate() as s:",
                                   ["spark", "spark_session", "tmp_path"]) is None
    python_env = "creates a Python environment"
    for nodeid in ("m.py::test_udf[conda]", "m.py::test_udf[uv-True]", "m.py::test_udf[virtualenv]"):
        assert rules.pre_run_set_aside(nodeid, "", []) == python_env
    assert rules.pre_run_set_aside("m.py::test_udf", 'spark_udf(spark, uri, env_manager="conda")', []) == python_env
    assert rules.pre_run_set_aside("m.py::test_udf", 'spark_udf(spark, uri, env_manager="local")', []) is None
    assert rules.pre_run_set_aside("m.py::test_log_model_with_conda_env", "", []) is None  # writes conda.yaml only
    assert rules.pre_run_set_aside("m.py::test_spark_connect_udf", "", []) == "needs Spark Connect"
    assert rules.pre_run_set_aside("m.py::test_x", 'SparkSession.builder.remote("sc://localhost")', []) == \
        "needs Spark Connect"
    assert rules.pre_run_set_aside("m.py::test_model_log_databricks", "", []) == "needs Databricks"
    # MLflow's Spark fixtures run as written (spark_custom_env only writes a conda.yaml)
    assert rules.pre_run_set_aside("m.py::test_x", "", ["spark_custom_env", "spark_model_iris"]) is None
    assert rules.pre_run_set_aside("m.py::test_x", "", ["spark", "mock_s3_bucket"]) == \
        "needs the MLflow test fixture 'mock_s3_bucket'"


def test_spark_scope_classifies_a_missing_spark_name_as_missing(spark_scope):
    verdict = classify(_record(type="AttributeError", message="no", attr_name="no_such",
                               attr_owner="mlcask.spark", attr_kind="module"))
    assert (verdict.cls, verdict.name) == (MISSING, "mlflow.spark.no_such")
    assert rules.patch_target_category("mlflow.spark.save_model") == rules.PUBLIC
    assert rules.patch_target_category("mlflow.spark.helpers.save") == rules.INTERNAL  # not a documented module


def test_spark_scope_is_read_from_the_environment():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from mlflow_parity import rules; "
            "print(rules.spark_scope(), rules.name_category('mlflow.spark.save_model'))")
    for value, expected in (("1", "True public"), ("", "False out-of-scope")):
        out = subprocess.run([sys.executable, "-c", code, str(SCRIPTS)], env={"PARITY_SPARK": value},
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


def test_spark_options_and_defaults():
    from mlflow_parity import runner
    from mlflow_parity import spark as parity_spark

    default = runner.parse_args([])
    assert (default.spark, default.timeout, default.module_timeout, default.out) == \
        (False, 60.0, 900.0, Path("/work/notes/parity"))
    with_spark = runner.parse_args(["--spark"])
    assert (with_spark.spark, with_spark.spark_master, with_spark.timeout, with_spark.out) == \
        (True, "local[2]", parity_spark.TIMEOUT, Path("/work/notes/parity-spark"))
    assert runner.parse_args(["--spark", "--timeout", "30"]).timeout == 30.0
    assert len(runner.DEFAULT_MODULES) == 19 and not set(runner.DEFAULT_MODULES) & set(parity_spark.SPARK_MODULES)


def test_spark_configuration_is_the_suites(tmp_path):
    from mlflow_parity import spark as parity_spark

    from tests.spark_session import SPARK_CONF

    assert parity_spark.suite_conf() == SPARK_CONF
    env = parity_spark.environment(tmp_path, "local[2]", "/venv/bin/python")
    assert env["PARITY_SPARK"] == "1" and env["SPARK_MASTER"] == "local[2]" and env["SPARK_LOCAL_IP"] == "127.0.0.1"
    assert env["PYSPARK_PYTHON"] == "/venv/bin/python"
    lines = (Path(env["SPARK_CONF_DIR"]) / "spark-defaults.conf").read_text().splitlines()
    assert "spark.master local[2]" in lines
    assert "spark.driver.bindAddress 127.0.0.1" in lines and "spark.ui.enabled false" in lines
    # toPandas() as MLflow's tests expect it (Arrow off: array columns come back as lists)
    assert SPARK_CONF.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert "spark.sql.execution.arrow.pyspark.enabled false" in lines


def test_spark_task_errors_are_named_by_the_workers_exception():
    worker = ("An exception was thrown from the Python worker:\nTraceback (most recent call last):\n"
              '  File "/x/worker.py", line 3, in main\n    process()\n'
              "mlcask.exceptions.MlcaskException: Unsupported result type <class 'tuple'>\n")
    verdict = classify(_record(type="PythonException", module="pyspark.errors.exceptions.captured", message=worker))
    assert verdict == rules.Verdict(DIFFERENT, "PythonException from a Spark task: mlcask.exceptions.MlcaskException: "
                                               "Unsupported result type <class 'tuple'>")
    java = ("An error occurred while calling o81.collectToPython.\n: org.apache.spark.SparkException: Job aborted\n"
            "Caused by: org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
            "ValueError: bad value\n\tat org.apache.spark.api.python.BasePythonRunner\n")
    verdict = classify(_record(type="Py4JJavaError", module="py4j.protocol", message=java))
    assert verdict.reason == "Py4JJavaError from a Spark task: ValueError: bad value"
    # not from pyspark: the usual first line
    plain = classify(_record(type="ValueError", module="builtins", message="x\nKeyError: y"))
    assert plain.reason == "ValueError: x"


@pytest.mark.slow
@pytest.mark.spark
def test_end_to_end_spark_fixtures_as_mlflow_writes_them(tmp_path):
    """--spark: a fixture written as MLflow's (``SparkSession.builder.getOrCreate()``, no master) gets
    the suite's session configuration; a Python UDF's worker imports mlcask under the mlflow alias;
    a Spark name mlcask lacks is missing, not set aside."""
    import json

    from tests.spark_session import need_spark

    need_spark()
    tests = tmp_path / "suite" / "tests"
    (tests / "m").mkdir(parents=True)
    (tests / "__init__.py").write_text("")
    (tests / "m" / "__init__.py").write_text("")
    (tests / "m" / "test_spark_small.py").write_text(textwrap.dedent('''\
        import pytest
        from pyspark.sql import SparkSession
        from pyspark.sql.functions import udf
        import mlflow
        import mlflow.spark

        @pytest.fixture(scope="module")
        def spark():
            with SparkSession.builder.getOrCreate() as session:
                yield session

        def test_session_is_the_suites(spark):
            conf = spark.sparkContext.getConf()
            assert spark.sparkContext.master == "local[2]"
            assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
            assert conf.get("spark.ui.enabled") == "false"
            assert spark.createDataFrame([([1, 2],)], ["a"]).toPandas()["a"][0] == [1, 2]  # a list

        def test_workers_see_mlflow_as_mlcask(spark):
            def name(_):
                import mlflow
                return mlflow.__name__
            assert spark.range(1).select(udf(name)("id")).first()[0] == "mlcask"

        def test_spark_name_mlcask_lacks(spark):
            mlflow.spark.no_such_function_for_parity()
        '''))
    out = tmp_path / "out"
    command = [sys.executable, str(SCRIPTS / "mlflow-parity"), str(tmp_path / "suite"), "--out", str(out), "--spark",
               "--module", "tests/m/test_spark_small.py", "--python", sys.executable, "--jobs", "1",
               "--stage", str(tmp_path / "work")]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    results = json.loads((out / "results.json").read_text())
    classes = {t["id"].split("::")[1]: (t["class"], t["reason"]) for t in results["tests"]}
    assert classes["test_session_is_the_suites"][0] == PASS, classes
    assert classes["test_workers_see_mlflow_as_mlcask"][0] == PASS, classes
    assert classes["test_spark_name_mlcask_lacks"][0] == MISSING, classes
    assert results["meta"]["spark"] is True
    assert "scope: Spark in (--spark, master local[2])" in (out / "summary.txt").read_text()
