"""The helper modules MLflow users' code and MLflow's own tests import, at MLflow's module paths
(``mlflow.utils.file_utils``, ``mlflow.tracking.artifact_utils``, ``mlflow.models.utils``, ...):
each is the mlcask piece that does the job, with MLflow's signature, values and messages."""

from __future__ import annotations

import json
import logging
import os
import time
from unittest import mock

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.models.model import Model
from mlcask.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

# -- mlflow.utils.file_utils -------------------------------------------------------------------


def test_tempdir_is_removed_and_restores_the_working_directory():
    from mlcask.utils.file_utils import TempDir

    before = os.getcwd()
    with TempDir(chdr=True) as tmp:
        inside = os.getcwd()
        assert inside != before
        assert tmp.path("a", "b.txt") == os.path.join("./", "a", "b.txt")
        with open(tmp.path("x.txt"), "w") as f:
            f.write("x")
    assert os.getcwd() == before
    assert not os.path.exists(inside)


def test_tempdir_paths_are_absolute_and_can_be_kept():
    from mlcask.utils.file_utils import TempDir

    with TempDir(remove_on_exit=False) as tmp:
        path = tmp.path("f")
        assert os.path.isabs(path)
        open(path, "w").close()
    try:
        assert os.path.exists(path)
    finally:
        os.remove(path)
        os.rmdir(os.path.dirname(path))


def test_tempdir_path_outside_the_block_is_refused():
    from mlcask.utils.file_utils import TempDir

    with pytest.raises(RuntimeError, match="inside its `with` block"):
        TempDir().path("x")


def test_file_uris_round_trip(tmp_path):
    from mlcask.utils.file_utils import local_file_uri_to_path, path_to_local_file_uri

    target = tmp_path / "with space" / "m"
    uri = path_to_local_file_uri(str(target))
    assert uri.startswith("file:///") and "with%20space" in uri
    assert local_file_uri_to_path(uri) == str(target)
    assert local_file_uri_to_path("relative/dir") == "relative/dir"


# -- mlflow.utils.yaml_utils -------------------------------------------------------------------


def test_yaml_files_round_trip_and_errors(tmp_path):
    from mlcask.utils.yaml_utils import read_yaml, write_yaml

    write_yaml(str(tmp_path), "env", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "env.yaml").read_text().startswith("a:")  # sorted keys
    assert read_yaml(str(tmp_path), "env.yaml") == {"a": [1, 2], "b": 1}
    with pytest.raises(MlcaskException, match="exists as"):
        write_yaml(str(tmp_path), "env.yaml", {})
    write_yaml(str(tmp_path), "env.yaml", {"c": 3}, overwrite=True)
    assert read_yaml(str(tmp_path), "env.yaml") == {"c": 3}
    with pytest.raises(MlcaskException, match="does not exist"):
        read_yaml(str(tmp_path), "missing.yaml")
    with pytest.raises(MlcaskException, match="Parent dir"):
        read_yaml(str(tmp_path / "nope"), "env.yaml")


def test_read_yaml_refuses_python_tags(tmp_path):
    from mlcask.utils.yaml_utils import read_yaml

    (tmp_path / "bad.yaml").write_text("x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(MlcaskException):
        read_yaml(str(tmp_path), "bad.yaml")


# -- mlflow.utils.model_utils ------------------------------------------------------------------


def test_flavor_configuration_and_its_missing_flavor_error(tmp_path):
    from mlcask.utils.model_utils import FLAVOR_CONFIG_CODE, _get_flavor_configuration

    model = Model()
    model.add_flavor("flavor1", a=1, code=None)
    model.save(tmp_path / "MLmodel")
    assert _get_flavor_configuration(str(tmp_path), "flavor1") == {"a": 1, FLAVOR_CONFIG_CODE: None}
    with pytest.raises(MlcaskException, match='Model does not have the "sklearn" flavor') as info:
        _get_flavor_configuration(str(tmp_path), "sklearn")
    assert info.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_target_save_path_is_created_and_a_non_empty_one_refused(tmp_path):
    from mlcask.utils.model_utils import _validate_and_prepare_target_save_path

    target = tmp_path / "a" / "model"
    _validate_and_prepare_target_save_path(str(target))
    assert target.is_dir()
    _validate_and_prepare_target_save_path(str(target))  # empty: fine again
    (target / "f").write_text("x")
    with pytest.raises(MlcaskException, match="already exists and is not empty") as info:
        _validate_and_prepare_target_save_path(str(target))
    assert info.value.error_code == RESOURCE_ALREADY_EXISTS


# -- mlflow.utils.environment ------------------------------------------------------------------


class _Echo(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def test_environment_names_describe_what_save_model_writes(tmp_path):
    from mlcask.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _REQUIREMENTS_FILE_NAME,
        _generate_mlflow_version_pinning,
        _get_pip_deps,
    )
    from mlcask.utils.yaml_utils import read_yaml

    path = tmp_path / "m"
    mlcask.pyfunc.save_model(str(path), python_model=_Echo())
    requirements = (path / _REQUIREMENTS_FILE_NAME).read_text().splitlines()
    assert _generate_mlflow_version_pinning() in requirements
    assert _get_pip_deps(read_yaml(str(path), _CONDA_ENV_FILE_NAME)) == requirements
    assert (path / _PYTHON_ENV_FILE_NAME).is_file()
    assert _get_pip_deps(None) == []
    assert _get_pip_deps({"dependencies": ["python=3.11"]}) == []


# -- mlflow.utils (truncation), mlflow.utils.validation, mlflow.utils.time -----------------------


def test_truncate_dict_cuts_long_keys_and_values_with_a_warning(caplog):
    from mlcask.utils import _truncate_dict
    from mlcask.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH

    long_key, long_value = "k" * (MAX_ENTITY_KEY_LENGTH + 5), "v" * (MAX_PARAM_VAL_LENGTH + 1)
    with caplog.at_level(logging.WARNING, logger="mlcask.utils"):
        out = _truncate_dict({long_key: 1, "short": long_value, "n": 3}, MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH)
    cut_key = "k" * (MAX_ENTITY_KEY_LENGTH - 3) + "..."
    assert out == {cut_key: 1, "short": "v" * (MAX_PARAM_VAL_LENGTH - 3) + "...", "n": 3}
    assert len(caplog.records) == 2
    assert _truncate_dict({"abcdef": "x"}, max_key_length=4) == {"a...": "x"}
    with pytest.raises(ValueError, match="at least either"):
        _truncate_dict({"a": 1})


def test_validation_limits_are_the_stores():
    from mlcask.tracking import validation as store_limits
    from mlcask.utils import validation

    assert (validation.MAX_PARAM_VAL_LENGTH, validation.MAX_ENTITY_KEY_LENGTH, validation.MAX_METRICS_PER_BATCH,
            validation.MAX_PARAMS_TAGS_PER_BATCH) == (6000, 250, 1000, 100)
    assert validation.MAX_TAG_VAL_LENGTH == store_limits.MAX_TAG_VAL_LENGTH


def test_current_time_millis():
    from mlcask.utils.time import get_current_time_millis

    before = int(time.time() * 1000)
    now = get_current_time_millis()
    assert isinstance(now, int)
    assert before - 1 <= now <= int(time.time() * 1000) + 1


def test_paged_list_is_the_stores_page():
    from mlcask.store.entities import PagedList as from_package
    from mlcask.store.entities.paged_list import PagedList
    from mlcask.tracking.paging import PagedList as paging_list

    assert PagedList is paging_list is from_package
    page = PagedList([1, 2], "tok")
    assert list(page) == [1, 2] and page.token == "tok"


# -- mlflow.tracking.artifact_utils ------------------------------------------------------------


def test_download_artifact_from_run_and_model_uris(tracking, tmp_path):
    from mlcask.tracking.artifact_utils import _download_artifact_from_uri

    with mlcask.start_run() as run:
        mlcask.log_text("hello", "dir/a.txt")
        info = mlcask.pyfunc.log_model(name="model", python_model=_Echo())
    out = tmp_path / "out"
    local = _download_artifact_from_uri(f"runs:/{run.info.run_id}/dir/a.txt", output_path=str(out))
    assert open(local).read() == "hello"
    assert local.startswith(str(out))
    model_dir = _download_artifact_from_uri(info.model_uri)
    assert os.path.isfile(os.path.join(model_dir, "MLmodel"))
    assert Model.load(model_dir).model_id == info.model_id


def test_download_of_a_bare_model_id_hints_at_models_uri(tracking):
    from mlcask.tracking.artifact_utils import _download_artifact_from_uri

    with pytest.raises(MlcaskException, match=r"Maybe you meant 'models:/m-0123'\?"):
        _download_artifact_from_uri("m-0123")


# -- mlflow.models.utils -----------------------------------------------------------------------


def test_save_and_read_example(tmp_path):
    from mlcask.models.utils import _read_example, _save_example

    model = Model()
    assert _save_example(model, None, str(tmp_path)) is None
    assert model.saved_input_example_info is None
    frame = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    _save_example(model, frame, str(tmp_path))
    assert model.saved_input_example_info["type"] == "dataframe"
    assert json.loads((tmp_path / "serving_input_example.json").read_text())["dataframe_split"]["columns"] == ["x", "y"]
    pd.testing.assert_frame_equal(_read_example(model, str(tmp_path)), frame)
    assert _read_example(Model(), str(tmp_path)) is None


def test_example_writes_mlflows_files(tmp_path):
    from mlcask.models.utils import _Example

    example = _Example({"a": 1, "b": "abc"})
    example.save(str(tmp_path))
    assert example.info["type"] == "json_object"
    assert json.loads((tmp_path / example.info["artifact_path"]).read_text()) == {"a": 1, "b": "abc"}
    with pytest.raises(InvalidArgumentError, match="numpy arrays inside a list"):
        _Example([np.array([1]), np.array([2])])


def test_load_serving_example(tmp_path):
    from mlcask.models.utils import load_serving_example

    path = tmp_path / "m"
    mlcask.pyfunc.save_model(str(path), python_model=_Echo(), input_example={"a": [1, 2]})
    assert json.loads(load_serving_example(str(path))) == {"inputs": {"a": [1, 2]}}


def test_enforce_schema_and_params_schema():
    from mlcask.models.utils import _enforce_params_schema, _enforce_schema

    schema = Schema([ColSpec(DataType.double, "a")])
    out = _enforce_schema(pd.DataFrame({"a": [1.0], "b": [2]}), schema)
    assert list(out.columns) == ["a"]
    with pytest.raises(MlcaskException):
        _enforce_schema(pd.DataFrame({"b": [1.0]}), schema)
    params = ParamSchema([ParamSpec("k", DataType.long, 1)])
    assert _enforce_params_schema(None, params) == {"k": 1}
    assert _enforce_params_schema({"k": np.int64(5)}, params) == {"k": 5}


def test_params_warnings_go_through_mlflow_models_utils_logger():
    from mlcask.models import utils

    params = ParamSchema([ParamSpec("a", DataType.string, "")])
    with mock.patch("mlcask.models.utils._logger.warning") as warning:
        assert utils._enforce_params_schema({"a": "x", "invalid_param": "v"}, params) == {"a": "x"}
    warning.assert_called_once()
    assert "Unrecognized params" in warning.call_args[0][0]


# -- mlflow.environment_variables --------------------------------------------------------------


def test_each_variable_is_named_as_its_attribute_and_typed(monkeypatch):
    from mlcask import environment_variables as env

    for name in env.__all__:
        variable = getattr(env, name)
        if isinstance(variable, env.EnvironmentVariable):
            assert variable.name == name
            monkeypatch.delenv(name, raising=False)
            assert variable.get() == variable.default
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    assert env.MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 3
    assert env.MLFLOW_DFS_TMP.get() == "/tmp/mlflow"  # MLflow's default; the Spark flavor writes through it
    from mlcask.spark._files import dfs_tmpdir_base

    monkeypatch.setenv("MLFLOW_DFS_TMP", "/data/tmp")
    assert (dfs_tmpdir_base(None), dfs_tmpdir_base("/given")) == ("/data/tmp", "/given")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "TRUE")
    assert env.MLFLOW_TRACKING_INSECURE_TLS.get() is True
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "maybe")
    with pytest.raises(ValueError, match="MLFLOW_TRACKING_INSECURE_TLS"):
        env.MLFLOW_TRACKING_INSECURE_TLS.get()


def test_http_settings_read_the_variables(monkeypatch):
    from mlcask.tracking.rest.http import Settings

    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_TRACKING_INSECURE_TLS",
                 "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings.from_env()
    assert (defaults.timeout, defaults.max_retries, defaults.verify) == (120.0, 7, True)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    settings = Settings.from_env()
    assert (settings.timeout, settings.max_retries, settings.verify) == (5.0, 2, False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "soon")
    with pytest.raises(InvalidArgumentError, match="MLFLOW_HTTP_REQUEST_TIMEOUT='soon'"):
        Settings.from_env()


def test_tracking_uri_variables(monkeypatch):
    from mlcask.tracking.stores import env_registry_uri, env_tracking_uri

    monkeypatch.delenv("MLCASK_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLCASK_REGISTRY_URI", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "sqlite:///r.db")
    assert (env_tracking_uri(), env_registry_uri()) == ("sqlite:///x.db", "sqlite:///r.db")
    monkeypatch.setenv("MLCASK_TRACKING_URI", "sqlite:///y.db")
    assert env_tracking_uri() == "sqlite:///y.db"


# -- the same values as MLflow's ---------------------------------------------------------------

_MLFLOW_VALUES = r'''
import json
import mlflow.environment_variables as env
from mlflow.utils import environment, mlflow_tags
names = json.loads(input())
print(json.dumps({
    "tags": {n: getattr(mlflow_tags, n) for n in names["tags"]},
    "variables": {n: [getattr(env, n).name, getattr(env, n).default] for n in names["variables"]},
    "files": [environment._CONDA_ENV_FILE_NAME, environment._REQUIREMENTS_FILE_NAME,
              environment._CONSTRAINTS_FILE_NAME, environment._PYTHON_ENV_FILE_NAME],
}))
'''


@pytest.mark.interop
@pytest.mark.slow
def test_tags_variables_and_file_names_are_mlflows(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.mlflow_env import ensure_mlflow_python
    from mlcask import environment_variables as env
    from mlcask.utils import environment, mlflow_tags

    variables = [n for n in env.__all__ if isinstance(getattr(env, n), env.EnvironmentVariable)]
    names = {"tags": mlflow_tags.__all__, "variables": variables}
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}
    proc = subprocess.run([str(ensure_mlflow_python()), "-c", _MLFLOW_VALUES], input=json.dumps(names), cwd=tmp_path,
                          env=clean_env, capture_output=True, text=True, timeout=300, check=True)
    theirs = json.loads(proc.stdout)
    assert theirs["tags"] == {n: getattr(mlflow_tags, n) for n in mlflow_tags.__all__}
    assert theirs["variables"] == {n: [getattr(env, n).name, getattr(env, n).default] for n in variables}
    assert theirs["files"] == [environment._CONDA_ENV_FILE_NAME, environment._REQUIREMENTS_FILE_NAME,
                               environment._CONSTRAINTS_FILE_NAME, environment._PYTHON_ENV_FILE_NAME]


def test_search_defaults_are_the_clients_page_sizes():
    import inspect

    from mlcask.store.model_registry import (
        SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    )
    from mlcask.store.tracking import SEARCH_MAX_RESULTS_DEFAULT, SEARCH_MAX_RESULTS_THRESHOLD
    from mlcask.tracking.client import MlcaskClient

    def default(method):
        return inspect.signature(method).parameters["max_results"].default

    assert default(MlcaskClient.search_experiments) == default(MlcaskClient.search_runs) == SEARCH_MAX_RESULTS_DEFAULT
    assert default(MlcaskClient.search_registered_models) == SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT
    assert default(MlcaskClient.search_model_versions) == SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT
    assert SEARCH_MAX_RESULTS_THRESHOLD == 50000


def test_mlflow_version_is_the_release_models_are_written_for(tmp_path):
    from mlcask.utils.environment import _generate_mlflow_version_pinning
    from mlcask.version import VERSION

    mlcask.pyfunc.save_model(str(tmp_path / "m"), python_model=_Echo())
    assert Model.load(str(tmp_path / "m")).mlflow_version == VERSION
    assert _generate_mlflow_version_pinning() == f"mlflow=={VERSION}"


def test_paginated_results_follow_tokens_up_to_max_results():
    from mlcask.tracking.paging import PagedList
    from mlcask.utils import get_results_from_paginated_fn

    pages = mock.Mock(side_effect=[PagedList(range(8), "abc"), PagedList(range(8), "abc"), PagedList(range(4), "d")])
    assert len(get_results_from_paginated_fn(pages, 8, 20)) == 20
    assert pages.call_args_list == [mock.call(8, None), mock.call(8, "abc"), mock.call(4, "abc")]
    last = mock.Mock(side_effect=[PagedList(range(3), "t"), PagedList(range(2), None)])
    assert get_results_from_paginated_fn(last, 3) == [0, 1, 2, 0, 1]
    empty_with_token = mock.Mock(return_value=PagedList([], "t"))
    assert get_results_from_paginated_fn(empty_with_token, 5) == []
    assert empty_with_token.call_count == 1
    assert get_results_from_paginated_fn(mock.Mock(return_value=[1, 2]), 5, 10) == [1, 2]  # a plain list: one page


def test_scoring_server_names_are_mlflows_and_the_servers():
    from mlcask.pyfunc import scoring_server
    from mlcask.serving import scoring

    assert scoring_server.CONTENT_TYPES == ["text/csv", "application/json", "application/vnd.apache.parquet"]
    assert set(scoring.CONTENT_TYPES) == set(scoring_server.CONTENT_TYPES)  # what the server accepts
    assert scoring_server.SUPPORTED_FORMATS == {"dataframe_split", "dataframe_records", "instances", "inputs"}
    assert (scoring_server.DF_SPLIT, scoring_server.DF_RECORDS) == ("dataframe_split", "dataframe_records")
    assert scoring_server.SERVING_PARAMS_KEY == "params"
