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
