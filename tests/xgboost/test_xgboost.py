import numpy as np
import pytest
import xgboost as xgb
import yaml

import mlcask
from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models import Model, infer_signature


def unseal(folder):
    """Drop the integrity manifest, as in a folder MLflow saved, to reach the loader's own checks."""
    (folder / "mlcask-manifest.json").unlink()



@pytest.mark.parametrize("model_format", ["ubj", "json"])
def test_sklearn_api_round_trip(tmp_path, xgb_classifier, breast_cancer, model_format):
    X, y = breast_cancer
    info = mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", model_format=model_format,
                                     signature=infer_signature(X, y), input_example=X.head(1))
    assert (tmp_path / "m" / f"model.{model_format}").exists()
    conf = Model.load(tmp_path / "m").flavors["xgboost"]
    assert conf["model_class"] == "xgboost.sklearn.XGBClassifier" and conf["model_format"] == model_format
    native = mlcask.xgboost.load_model(info.model_uri)
    assert isinstance(native, xgb.XGBClassifier)
    np.testing.assert_array_equal(native.predict_proba(X), xgb_classifier.predict_proba(X))
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(tmp_path / "m").predict(X), xgb_classifier.predict(X))


def test_booster_round_trip_predicts_through_dmatrix(tmp_path, breast_cancer):
    X, y = breast_cancer
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, y), 5)
    mlcask.xgboost.save_model(booster, tmp_path / "m")
    assert isinstance(mlcask.xgboost.load_model(tmp_path / "m"), xgb.Booster)
    expected = booster.predict(xgb.DMatrix(X))
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(tmp_path / "m").predict(X), expected)


def test_signature_is_inferred_from_the_input_example(tmp_path, xgb_classifier, breast_cancer):
    X, _ = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", input_example=X.head(2))
    signature = Model.load(tmp_path / "m").signature
    assert signature.inputs.input_names() == list(X.columns)
    assert signature.outputs is not None


def test_requirements_match_mlflow_package_set(tmp_path, xgb_classifier):
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    names = [line.split("==")[0] for line in (tmp_path / "m" / "requirements.txt").read_text().splitlines()]
    assert names == ["mlflow", "numpy", "pandas", "scikit-learn", "scipy", "xgboost"]


def test_seed_manual_example_arguments(tmp_path, breast_cancer):
    from mlcask.utils.environment import _mlflow_conda_env

    X, y = breast_cancer
    model = xgb.XGBClassifier(n_estimators=5, eval_metric="logloss").fit(X, y)
    env = _mlflow_conda_env(additional_conda_deps=None, additional_pip_deps=["xgboost==1.5.2"],
                            additional_conda_channels=None)
    mlcask.xgboost.save_model(model, tmp_path / "m", conda_env=env, signature=infer_signature(X, y),
                              input_example=X.sample(n=1, random_state=0))
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    assert conda["dependencies"][-1]["pip"][-1] == "xgboost==1.5.2"
    assert (tmp_path / "m" / "requirements.txt").read_text().endswith("xgboost==1.5.2")


def test_wrong_model_type_and_format_are_refused(tmp_path, xgb_classifier):
    with pytest.raises(InvalidArgumentError, match="must be an xgboost.Booster.*got builtins.dict"):
        mlcask.xgboost.save_model({}, tmp_path / "m")
    with pytest.raises(InvalidArgumentError, match="model_format must be 'ubj' or 'json', got 'pkl'"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", model_format="pkl")
    assert not (tmp_path / "m").exists()


def test_corrupt_data_file(tmp_path, xgb_classifier):
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    unseal(tmp_path / "m")
    (tmp_path / "m" / "model.ubj").write_bytes(b"not a model")
    with pytest.raises(ModelFormatError, match="XGBoost could not read the model file"):
        mlcask.xgboost.load_model(tmp_path / "m")


def test_model_class_outside_xgboost_is_refused(tmp_path, xgb_classifier):
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    unseal(tmp_path / "m")
    content = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    content["flavors"]["xgboost"]["model_class"] = "subprocess.Popen"
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(content))
    with pytest.raises(ModelFormatError, match="'subprocess.Popen' is not one this flavor loads"):
        mlcask.xgboost.load_model(tmp_path / "m")


def test_predict_params_go_to_the_native_predict(tmp_path, xgb_classifier, breast_cancer):
    X, y = breast_cancer
    signature = infer_signature(X, y, params={"output_margin": False})
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", signature=signature)
    loaded = mlcask.pyfunc.load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X, params={"output_margin": True}),
                                  xgb_classifier.predict(X, output_margin=True))
    np.testing.assert_array_equal(loaded.predict(X), xgb_classifier.predict(X))


def test_pyfunc_predicts_exactly_like_the_model_on_frames_of_any_column_order(tmp_path, xgb_classifier, breast_cancer):
    X, y = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", signature=infer_signature(X, y))
    loaded = mlcask.pyfunc.load_model(tmp_path / "m")
    shuffled = X[list(reversed(X.columns))]  # enforcement puts the columns back in order
    for frame in (X, X.head(1), shuffled, X.astype("float32")):
        np.testing.assert_array_equal(loaded.predict(frame), xgb_classifier.predict(frame[X.columns]))
