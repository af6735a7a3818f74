"""mlcask.tracking.model_logging: the factory that makes a flavor's ``log_model`` from its
``save_model``, waiting for a registered version, ``model_config`` as params, and the
``Model.log`` path through the same ``log_model``."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pytest

import mlcask
from mlcask.entities import ModelVersion
from mlcask.exceptions import MlcaskException
from mlcask.tracking.model_logging import await_model_version, flavor_log_model
from tests.support import Doubler


def save_scaled(sk_model: Any, path: str, mlflow_model: Any = None, scale: float = 1.0, note: str | None = None):
    """Save a scikit-learn model with its scale in the metadata (a flavor of the tests' own).

    Parameters
    ----------
    sk_model : estimator
        The fitted model.
    path : str
        Where to save.
    mlflow_model : Model, optional
        The metadata to add to.
    scale : float, default 1.0
        Recorded in MLmodel's metadata.
    note : str, optional
        Also recorded.
    """
    return mlcask.sklearn.save_model(sk_model, path, mlflow_model=mlflow_model,
                                     metadata={"scale": scale, "note": note})


def test_an_unknown_name_in_the_order_is_refused_when_the_function_is_built():
    with pytest.raises(TypeError, match=r"'colour' in the parameter order is neither an argument of "
                                        r"tests.tracking.test_log_model_factory.save_model"):
        flavor_log_model(save_scaled, "scaled", "sk_model name colour")


def test_save_model_arguments_not_in_the_order_are_appended_before_kwargs():
    log_model = flavor_log_model(save_scaled, "scaled", "sk_model name scale step **kwargs")
    assert list(inspect.signature(log_model).parameters) == ["sk_model", "name", "scale", "step", "note", "kwargs"]
    log_model = flavor_log_model(save_scaled, "scaled", "sk_model name")
    assert list(inspect.signature(log_model).parameters) == ["sk_model", "name", "scale", "note"]
    assert inspect.signature(log_model).parameters["scale"].default == 1.0


def test_the_docstring_takes_save_models_entries_and_the_logging_ones():
    doc = flavor_log_model(save_scaled, "scaled", "sk_model name scale registered_model_name",
                           what="a scaled model").__doc__
    assert doc.startswith("Log a scaled model as a logged model of the active run")
    assert "\nscale : float, default 1.0\n    Recorded in MLmodel's metadata.\n" in doc
    assert "\nregistered_model_name : str, optional\n    Register the logged model" in doc
    assert "\nnote : str, optional\n    Also recorded." in doc


def test_logging_forwards_save_arguments_and_warns_only_for_unsupported_ones_given(tracking, logistic_regression):
    log_model = flavor_log_model(save_scaled, "scaled", "sk_model name scale resources",
                                 unsupported={"resources": None})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default of an unsupported argument is no warning
        info = log_model(logistic_regression, "first", 2.5, note="n")
    assert info.metadata == {"scale": 2.5, "note": "n"}
    assert mlcask.MlflowClient().get_logged_model(info.model_id).model_type == "scaled"
    with pytest.warns(UserWarning, match=r"scaled log_model: resources=\['db'\] is not supported by mlcask"):
        log_model(logistic_regression, "second", resources=["db"])


def test_await_model_version_polls_until_ready_and_raises_mlflows_errors(tracking, logistic_regression):
    info = mlcask.sklearn.log_model(logistic_regression, name="m", registered_model_name="reg")
    client = mlcask.MlflowClient()
    stored = client.get_model_version("reg", info.registered_model_version)

    def as_status(status):
        return ModelVersion(stored.name, stored.version, stored.creation_timestamp, stored.last_updated_timestamp,
                            stored.source, status=status)

    pending = as_status("PENDING_REGISTRATION")
    assert await_model_version(client, pending, None) is pending  # None and 0: not waited for
    assert await_model_version(client, pending, 0) is pending
    assert await_model_version(client, pending, 5).status == "READY"  # read again from the registry
    with pytest.raises(MlcaskException, match=r"^Model version creation failed for model name: reg version: 1 with "
                                              r"status: FAILED_REGISTRATION and message: None$"):
        await_model_version(client, as_status("FAILED_REGISTRATION"), 5)


def test_pyfunc_model_config_is_logged_as_run_params(tracking):
    with mlcask.start_run() as run:
        info = mlcask.pyfunc.log_model(name="m", python_model=Doubler(),
                                       model_config={"llm": {"temperature": 0.1}, "top_k": 3})
    assert mlcask.get_run(run.info.run_id).data.params == {"llm/temperature": "0.1", "top_k": "3"}
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(info.model_uri).predict(np.array([1, 2])), [2, 4])


def test_model_log_goes_through_the_same_log_model(tracking, logistic_regression):
    client = mlcask.MlflowClient()
    run = client.create_run(client.create_experiment("model-log"))
    info = mlcask.models.Model.log(None, mlcask.sklearn, name="m", sk_model=logistic_regression,
                                   run_id=run.info.run_id, params={"p": 1})
    assert mlcask.active_run() is None  # logged into the given run, none started
    logged = client.get_logged_model(info.model_id)
    assert logged.source_run_id == run.info.run_id and logged.params == {"p": "1"} and logged.status == "READY"
    assert [o.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs] == [info.model_id]


def test_pyfunc_model_config_file_is_logged_as_run_params(tracking, tmp_path):
    (tmp_path / "config.yaml").write_text("llm:\n  temperature: 0.2\nname: small\n")
    with mlcask.start_run() as run:
        mlcask.pyfunc.log_model(name="m", python_model=Doubler(), model_config=str(tmp_path / "config.yaml"))
    assert mlcask.get_run(run.info.run_id).data.params == {"llm/temperature": "0.2", "name": "small"}
