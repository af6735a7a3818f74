import lightgbm as lgb
import numpy as np
import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models import Model


def unseal(folder):
    """Drop the integrity manifest, as in a folder MLflow saved, to reach the loader's own checks."""
    (folder / "mlcask-manifest.json").unlink()



@pytest.fixture(scope="module")
def lgb_classifier(breast_cancer):
    X, y = breast_cancer
    return lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1).fit(X, y)


def test_booster_is_saved_in_native_text(tmp_path, breast_cancer):
    X, y = breast_cancer
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 5)
    mlcask.lightgbm.save_model(booster, tmp_path / "m")
    assert (tmp_path / "m" / "model.lgb").read_text().startswith("tree\n")
    assert isinstance(mlcask.lightgbm.load_model(tmp_path / "m"), lgb.Booster)
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(tmp_path / "m").predict(X), booster.predict(X))


def test_sklearn_api_model_round_trip(tmp_path, lgb_classifier, breast_cancer):
    X, _ = breast_cancer
    mlcask.lightgbm.save_model(lgb_classifier, tmp_path / "m", input_example=X.head(2))
    conf = Model.load(tmp_path / "m").flavors["lightgbm"]
    assert conf["data"] == "model.skops" and conf["model_class"] == "lightgbm.sklearn.LGBMClassifier"
    assert "lightgbm.basic.Booster" in conf["skops_trusted_types"]
    native = mlcask.lightgbm.load_model(tmp_path / "m")
    assert isinstance(native, lgb.LGBMClassifier)
    np.testing.assert_array_equal(native.predict_proba(X), lgb_classifier.predict_proba(X))
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(tmp_path / "m").predict(X), lgb_classifier.predict(X))


def test_wrong_model_type(tmp_path):
    with pytest.raises(InvalidArgumentError, match="lgb_model must be a lightgbm.Booster"):
        mlcask.lightgbm.save_model([1, 2], tmp_path / "m")


def test_corrupt_booster_file(tmp_path, breast_cancer):
    X, y = breast_cancer
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 2)
    mlcask.lightgbm.save_model(booster, tmp_path / "m")
    unseal(tmp_path / "m")
    (tmp_path / "m" / "model.lgb").write_text("garbage")
    with pytest.raises(ModelFormatError, match="LightGBM could not read the model file"):
        mlcask.lightgbm.load_model(tmp_path / "m")
