import pytest
import yaml

import mlcask
from mlcask.exceptions import InvalidArgumentError, ModelFormatError, ModelNotFoundError, UnsafeModelError


@pytest.fixture
def saved_xgb(tmp_path, xgb_classifier):
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    # These tests reach the loader's own checks, as for a folder MLflow saved (no manifest).
    (tmp_path / "m" / "mlcask-manifest.json").unlink()
    return tmp_path / "m"


def edit_mlmodel(folder, change):
    content = yaml.safe_load((folder / "MLmodel").read_text())
    change(content)
    (folder / "MLmodel").write_text(yaml.safe_dump(content))


def test_file_uri_and_path_object_both_load(saved_xgb, breast_cancer):
    X, _ = breast_cancer
    by_uri = mlcask.pyfunc.load_model(saved_xgb.as_uri()).predict(X.head())
    by_path = mlcask.pyfunc.load_model(saved_xgb).predict(X.head())
    assert list(by_uri) == list(by_path)


def test_unknown_scheme_names_the_supported_ones():
    with pytest.raises(InvalidArgumentError, match=r"scheme 'gs:' is not supported here \(supported: paths, file:"):
        mlcask.pyfunc.load_model("gs://bucket/model")


def test_missing_model_path(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        mlcask.pyfunc.load_model(tmp_path / "absent")


def test_model_without_pyfunc_flavor(saved_xgb):
    edit_mlmodel(saved_xgb, lambda c: c["flavors"].pop("python_function"))
    with pytest.raises(ModelFormatError, match=r'Model does not have the "python_function" flavor.*\[.xgboost.\]') as info:
        mlcask.pyfunc.load_model(saved_xgb)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_unknown_mlflow_flavor_lists_supported_loaders(saved_xgb):
    edit_mlmodel(saved_xgb, lambda c: c["flavors"]["python_function"].update(loader_module="mlflow.prophet"))
    with pytest.raises(ModelFormatError, match=r"'mlflow.prophet', a flavor mlcask does not support"):
        mlcask.pyfunc.load_model(saved_xgb)


def test_unimportable_custom_loader(saved_xgb):
    edit_mlmodel(saved_xgb, lambda c: c["flavors"]["python_function"].update(loader_module="no_such_loader_mod"))
    with pytest.raises(UnsafeModelError, match="loader module 'no_such_loader_mod'.*allow_pickle=True"):
        mlcask.pyfunc.load_model(saved_xgb)  # an unsigned folder may not choose code to import
    with pytest.raises(ModelFormatError, match="'no_such_loader_mod', which cannot be imported"):
        mlcask.pyfunc.load_model(saved_xgb, allow_pickle=True)


def test_missing_data_file_is_named(saved_xgb):
    (saved_xgb / "model.ubj").unlink()
    with pytest.raises(ModelFormatError, match=r"data file is missing: expected '.*model.ubj'"):
        mlcask.pyfunc.load_model(saved_xgb)


def test_data_file_outside_the_model_folder_is_refused(saved_xgb):
    edit_mlmodel(saved_xgb, lambda c: c["flavors"]["xgboost"].update(data="../../etc/passwd"))
    with pytest.raises(ModelFormatError, match="outside the model folder"):
        mlcask.xgboost.load_model(saved_xgb)


def test_missing_code_folder_is_named(saved_xgb):
    edit_mlmodel(saved_xgb, lambda c: c["flavors"]["python_function"].update(code="code"))
    with pytest.raises(ModelFormatError, match="names code folder 'code'"):
        mlcask.pyfunc.load_model(saved_xgb)


def test_get_model_dependencies(saved_xgb):
    pip_file = mlcask.pyfunc.get_model_dependencies(str(saved_xgb))
    assert pip_file.endswith("requirements.txt") and "xgboost==" in open(pip_file).read()
    assert mlcask.pyfunc.get_model_dependencies(str(saved_xgb), format="conda").endswith("conda.yaml")
    with pytest.raises(InvalidArgumentError, match="format must be 'pip' or 'conda'"):
        mlcask.pyfunc.get_model_dependencies(str(saved_xgb), format="poetry")
