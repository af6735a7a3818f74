import numpy as np
import pytest
import yaml
from sklearn.ensemble import RandomForestClassifier

import mlcask
from mlcask.exceptions import InvalidArgumentError, ModelFormatError, UnsafeModelError
from mlcask.models import Model, infer_signature


def unseal(folder):
    """Drop the integrity manifest, as in a folder MLflow saved, to reach the loader's own checks."""
    (folder / "mlcask-manifest.json").unlink()



def test_skops_is_the_default_format(tmp_path, logistic_regression, breast_cancer):
    X, y = breast_cancer
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", signature=infer_signature(X, y))
    meta = Model.load(tmp_path / "m")
    assert meta.flavors["sklearn"]["serialization_format"] == "skops"
    assert meta.flavors["sklearn"]["pickled_model"] == "model.skops"
    assert meta.flavors["sklearn"]["skops_trusted_types"] is None
    assert meta.flavors["python_function"]["predict_fn"] == "predict"
    np.testing.assert_array_equal(mlcask.sklearn.load_model(tmp_path / "m").predict(X), logistic_regression.predict(X))


def test_tree_ensembles_save_without_extra_arguments(tmp_path, breast_cancer):
    X, y = breast_cancer
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    mlcask.sklearn.save_model(forest, tmp_path / "m")
    assert Model.load(tmp_path / "m").flavors["sklearn"]["skops_trusted_types"] == ["sklearn.tree._tree.Tree"]
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(tmp_path / "m").predict(X), forest.predict(X))


def test_pyfunc_predict_fn_selects_the_method(tmp_path, logistic_regression, breast_cancer):
    X, _ = breast_cancer
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", pyfunc_predict_fn="predict_proba")
    np.testing.assert_allclose(mlcask.pyfunc.load_model(tmp_path / "m").predict(X),
                               logistic_regression.predict_proba(X))


@pytest.mark.parametrize("serialization_format", ["cloudpickle", "pickle"])
def test_pickle_formats_when_asked(tmp_path, logistic_regression, breast_cancer, serialization_format):
    X, _ = breast_cancer
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", serialization_format=serialization_format)
    assert (tmp_path / "m" / "model.pkl").exists()
    requirements = (tmp_path / "m" / "requirements.txt").read_text()
    assert ("cloudpickle==" in requirements) and ("skops" not in requirements)
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(tmp_path / "m").predict(X), logistic_regression.predict(X))


def test_bad_arguments(tmp_path, logistic_regression):
    with pytest.raises(InvalidArgumentError, match="Unrecognized serialization format: joblib. Please specify one of the following supported formats"):
        mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", serialization_format="joblib")
    with pytest.raises(InvalidArgumentError, match="pyfunc_predict_fn='transform_all'"):
        mlcask.sklearn.save_model(logistic_regression, tmp_path / "m", pyfunc_predict_fn="transform_all")
    assert not (tmp_path / "m").exists()


def test_recorded_types_are_trusted_only_from_a_signed_model(tmp_path, breast_cancer):
    from collections import Counter

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = breast_cancer
    # A function from outside the ML libraries is a type skops will not load by default.
    pipe = make_pipeline(FunctionTransformer(np.log1p, kw_args={"out": None}), LogisticRegression(max_iter=50))
    pipe.steps.insert(0, ("count", FunctionTransformer(Counter)))
    pipe.steps.pop(0)
    pipe.fit(X, y)
    pipe.steps[0][1].func = Counter  # Counter is a collections type: not one we trust from a file
    mlcask.sklearn.save_model(pipe, tmp_path / "m")
    recorded = Model.load(tmp_path / "m").flavors["sklearn"]["skops_trusted_types"]
    assert "collections.Counter" in recorded
    # Signed by this machine's key when saved: the recorded list is the saver's own word.
    assert mlcask.sklearn.load_model(tmp_path / "m").steps[0][1].func is Counter
    unseal(tmp_path / "m")  # as a folder from elsewhere: the list in its MLmodel counts for nothing
    with pytest.raises(UnsafeModelError, match=r"not trusted: \['collections.Counter'\]\. The model is not "
                                               r"signed.*skops_trusted_types="):
        mlcask.sklearn.load_model(tmp_path / "m")
    loaded = mlcask.sklearn.load_model(tmp_path / "m", skops_trusted_types=["collections.Counter"])
    assert loaded.steps[0][1].func is Counter


def test_corrupt_skops_file(tmp_path, logistic_regression):
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m")
    unseal(tmp_path / "m")
    (tmp_path / "m" / "model.skops").write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(ModelFormatError, match=r"Could not read the skops model file '.*model.skops'"):
        mlcask.sklearn.load_model(tmp_path / "m")


def test_unknown_serialization_format_in_mlmodel(tmp_path, logistic_regression):
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "m")
    unseal(tmp_path / "m")
    content = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    content["flavors"]["sklearn"]["serialization_format"] = "marshal"
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(content))
    with pytest.raises(ModelFormatError, match="unknown serialization_format 'marshal'"):
        mlcask.sklearn.load_model(tmp_path / "m")
