"""mlcask.xgboost's public names as MLflow's tests use them, and the README's decided difference
for XGBoost's legacy ``xgb`` format."""

from __future__ import annotations

import numpy as np
import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError
from mlcask.models import Model
from mlcask.models.environment import package_version


def test_default_requirements_and_conda_env():
    xgboost = f"xgboost=={package_version('xgboost')}"
    assert mlcask.xgboost.get_default_pip_requirements() == [xgboost]
    env = mlcask.xgboost.get_default_conda_env()
    assert env["name"] == "mlflow-env" and env["dependencies"][0].startswith("python=")
    assert env["dependencies"][-1] == {"pip": ["mlflow==3.17.2", xgboost]}
    assert mlcask.xgboost.FLAVOR_NAME == "xgboost"


def test_keyword_arguments_go_to_the_models_own_save_model(tmp_path, xgb_classifier, breast_cancer):
    X, _ = breast_cancer
    booster = xgb_classifier.get_booster()
    mlcask.xgboost.save_model(booster, tmp_path / "m", model_format="json")
    assert Model.load(tmp_path / "m").flavors["xgboost"]["model_format"] == "json"
    with pytest.raises(TypeError, match="colour"):  # Booster.save_model takes no such argument
        mlcask.xgboost.save_model(booster, tmp_path / "n", colour="red")
    loaded = mlcask.xgboost.load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.inplace_predict(X.to_numpy()), booster.inplace_predict(X.to_numpy()))


def test_readme_the_legacy_xgb_format_is_refused(tmp_path, xgb_classifier):
    with pytest.raises(InvalidArgumentError, match="model_format must be 'ubj' or 'json', got 'xgb'"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", model_format="xgb")
    assert not (tmp_path / "m").exists()


def test_readme_undeclared_params_are_ignored_by_predict_and_refused_by_the_server_path(
        tmp_path, xgb_classifier, breast_cancer, caplog):
    from mlcask.exceptions import InvalidInputError

    X, _ = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    model = mlcask.pyfunc.load_model(tmp_path / "m")
    with caplog.at_level("WARNING"):
        predictions = model.predict(X.head(3), params={"output_margin": True})
    assert "does not define a params schema. Ignoring provided params: ['output_margin']" in caplog.text
    np.testing.assert_array_equal(predictions, xgb_classifier.predict(X.head(3)))  # as MLflow: dropped
    with pytest.raises(InvalidInputError, match=r"declares no params, so it accepts none; got params "
                                                r"\['output_margin'\]"):
        model.predict_enforced(X.head(3), params={"output_margin": True})  # what the scoring server calls
