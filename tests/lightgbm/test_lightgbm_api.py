"""mlcask.lightgbm's public names as MLflow's tests use them, and MLflow's pinned messages."""

from __future__ import annotations

import lightgbm
import pytest

import mlcask
from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidArgumentError
from mlcask.models import Model
from mlcask.models.environment import package_version


@pytest.fixture(scope="module")
def lgb_classifier(breast_cancer):
    X, y = breast_cancer
    return lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)


def test_default_requirements_take_mlflows_flags():
    pinned = {name: f"{name}=={package_version(name)}" for name in ("lightgbm", "cloudpickle", "skops")}
    assert mlcask.lightgbm.get_default_pip_requirements() == [pinned["lightgbm"]]
    assert mlcask.lightgbm.get_default_pip_requirements(include_cloudpickle=True, include_skops=True) == [
        pinned["lightgbm"], pinned["cloudpickle"], pinned["skops"]]
    env = mlcask.lightgbm.get_default_conda_env(include_skops=True)
    assert env["dependencies"][-1] == {"pip": ["mlflow==3.17.2", pinned["lightgbm"], pinned["skops"]]}
    assert mlcask.lightgbm.FLAVOR_NAME == "lightgbm"


def test_unrecognized_serialization_format_is_mlflows_error(tmp_path, lgb_classifier):
    with pytest.raises(InvalidArgumentError, match=r"^Unrecognized serialization format: joblib\. Please specify "
                                                   r"one of the following supported formats") as raised:
        mlcask.lightgbm.save_model(lgb_classifier, tmp_path / "m", serialization_format="joblib")
    assert raised.value.error_code == INVALID_PARAMETER_VALUE and not (tmp_path / "m").exists()


def test_unused_keyword_arguments_are_warned_about(tmp_path, lgb_classifier):
    with pytest.warns(UserWarning, match=r"\['num_iteration'\] are not used"):
        mlcask.lightgbm.save_model(lgb_classifier, tmp_path / "m", num_iteration=3)
    assert Model.load(tmp_path / "m").flavors["lightgbm"]["serialization_format"] == "skops"
