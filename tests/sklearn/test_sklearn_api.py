"""mlcask.sklearn's public names as MLflow's tests use them, MLflow's pinned error messages, and
the README's decided differences for the scikit-learn flavor."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import StandardScaler

import mlcask
from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidArgumentError, ModelFormatError, UnsafeModelError
from mlcask.models import Model
from mlcask.models.environment import package_version


def test_constants():
    assert mlcask.sklearn.FLAVOR_NAME == "sklearn"
    assert (mlcask.sklearn.SERIALIZATION_FORMAT_PICKLE, mlcask.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            mlcask.sklearn.SERIALIZATION_FORMAT_SKOPS) == ("pickle", "cloudpickle", "skops")
    assert mlcask.sklearn.SUPPORTED_SERIALIZATION_FORMATS == ["skops", "pickle", "cloudpickle"]
    assert {"get_default_conda_env", "get_default_pip_requirements", "log_model"} <= set(mlcask.sklearn.__all__)


def test_default_pip_requirements_take_mlflows_flags():
    sklearn = f"scikit-learn=={package_version('scikit-learn')}"
    assert mlcask.sklearn.get_default_pip_requirements() == [sklearn]
    assert mlcask.sklearn.get_default_pip_requirements(include_cloudpickle=True) == [
        sklearn, f"cloudpickle=={package_version('cloudpickle')}"]
    assert mlcask.sklearn.get_default_pip_requirements(include_skops=True) == [
        sklearn, f"skops=={package_version('skops')}"]


def test_default_conda_env_is_usable_as_a_conda_env(tmp_path, logistic_regression):
    env = mlcask.sklearn.get_default_conda_env()
    assert env["dependencies"][-1]["pip"][-1] == f"scikit-learn=={package_version('scikit-learn')}"
    env["dependencies"].append("pytest")  # as MLflow's test does
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", conda_env=env)
    saved = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    # Same entries (mlcask writes the pip list last; MLflow keeps the given order).
    assert sorted(map(str, saved["dependencies"])) == sorted(map(str, env["dependencies"]))
    assert {k: v for k, v in saved.items() if k != "dependencies"} == {
        k: v for k, v in env.items() if k != "dependencies"}


def test_unrecognized_serialization_format_is_mlflows_error_and_writes_nothing(tmp_path, logistic_regression):
    with pytest.raises(InvalidArgumentError, match=r"^Unrecognized serialization format: not a valid format\. "
                       r"Please specify one of the following supported formats: \['skops', 'pickle', "
                       r"'cloudpickle'\]\.$") as raised:
        mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", serialization_format="not a valid format")
    assert raised.value.error_code == INVALID_PARAMETER_VALUE
    assert not (tmp_path / "m").exists()
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m")  # the same path saves afterwards


def test_serialization_format_none_is_the_default(tmp_path, logistic_regression):
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", serialization_format=None)
    assert Model.load(tmp_path / "m").flavors["sklearn"]["serialization_format"] == "skops"


def test_a_malformed_mlmodel_format_names_the_supported_ones(tmp_path, logistic_regression):
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m")
    (tmp_path / "m" / "mlcask-manifest.json").unlink()
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("serialization_format: skops", "serialization_format: marshal"))
    with pytest.raises(ModelFormatError, match=r"unknown serialization_format 'marshal' \(expected one of "
                                               r"\['skops', 'pickle', 'cloudpickle'\]\)"):
        mlcask.sklearn.load_model(tmp_path / "m")


# -- the README's table --------------------------------------------------------------------------
def test_readme_skops_is_the_default_everywhere(tmp_path, logistic_regression, monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")  # where MLflow would pick cloudpickle
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m")
    conf = Model.load(tmp_path / "m").flavors["sklearn"]
    assert (conf["serialization_format"], conf["pickled_model"]) == ("skops", "model.skops")
    assert "skops==" in (tmp_path / "m" / "requirements.txt").read_text()


def test_readme_untrusted_skops_types_are_recorded_and_trusted_only_when_signed(tmp_path, breast_cancer):
    X, y = breast_cancer
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    mlcask.sklearn.save_model(forest, tmp_path / "m")  # MLflow refuses this without skops_trusted_types
    assert "sklearn.tree._tree.Tree" in Model.load(tmp_path / "m").flavors["sklearn"]["skops_trusted_types"]
    np.testing.assert_array_equal(mlcask.sklearn.load_model(tmp_path / "m").predict(X), forest.predict(X))
    (tmp_path / "m" / "mlcask-manifest.json").unlink()  # unsigned now, as a folder from elsewhere
    with pytest.raises(UnsafeModelError, match=r"not trusted: \['sklearn.tree._tree.Tree'\]\. The model is not "
                                               r"signed by a trusted key, so the types its MLmodel records"):
        mlcask.sklearn.load_model(tmp_path / "m")
    loaded = mlcask.sklearn.load_model(tmp_path / "m", skops_trusted_types=["sklearn.tree._tree.Tree"])
    np.testing.assert_array_equal(loaded.predict(X), forest.predict(X))


def test_readme_a_transformer_saves_without_pyfunc_and_a_missing_predict_fn_is_refused(
        tmp_path, breast_cancer, logistic_regression):
    X, _ = breast_cancer
    scaler = StandardScaler().fit(X)
    with pytest.warns(UserWarning, match="StandardScaler has no method 'predict'.*without the python_function"):
        mlcask.sklearn.save_model(scaler, tmp_path / "scaler")
    assert sorted(Model.load(tmp_path / "scaler").flavors) == ["sklearn"]
    np.testing.assert_allclose(mlcask.sklearn.load_model(tmp_path / "scaler").transform(X), scaler.transform(X))
    with pytest.raises(ModelFormatError, match='Model does not have the "python_function" flavor'):
        mlcask.pyfunc.load_model(tmp_path / "scaler")
    with pytest.raises(InvalidArgumentError, match="pyfunc_predict_fn='predict_joint_log_proba': Pipeline has no "
                                                   "such method"):
        mlcask.sklearn.save_model(logistic_regression, tmp_path / "lr", pyfunc_predict_fn="predict_joint_log_proba")
    assert not (tmp_path / "lr").exists()
