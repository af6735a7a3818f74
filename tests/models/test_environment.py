import pytest
import yaml

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.environment import (
    MLFLOW_REQUIREMENT,
    PYTHON_VERSION,
    Environment,
    infer_pip_requirements,
    package_version,
)
from mlcask.utils.environment import _mlflow_conda_env


def names(requirements):
    return [r.split("==")[0] for r in requirements]


def test_infers_packages_of_the_classes_inside_a_pipeline(logistic_regression):
    requirements = infer_pip_requirements(["scikit-learn"], [logistic_regression])
    assert requirements[0] == f"scikit-learn=={package_version('scikit-learn')}"
    assert "numpy" in names(requirements)  # fitted coefficients are numpy arrays
    assert all("==" in r for r in requirements)


def test_infers_a_third_party_class_nested_in_a_meta_estimator(xgb_classifier):
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression

    voting = VotingClassifier([("xgb", xgb_classifier), ("lr", LogisticRegression())])
    assert "xgboost" in names(infer_pip_requirements(["scikit-learn"], [voting]))


def test_default_environment_pins_mlflow_first_and_writes_three_files(tmp_path):
    env = Environment.resolve(["numpy==1.0"])
    env.write(tmp_path)
    assert (tmp_path / "requirements.txt").read_text() == f"{MLFLOW_REQUIREMENT}\nnumpy==1.0"
    conda = yaml.safe_load((tmp_path / "conda.yaml").read_text())
    assert conda["name"] == "mlflow-env" and conda["channels"] == ["conda-forge"]
    assert conda["dependencies"][0] == f"python={PYTHON_VERSION}"
    assert conda["dependencies"][-1] == {"pip": [MLFLOW_REQUIREMENT, "numpy==1.0"]}
    python_env = (tmp_path / "python_env.yaml").read_text()
    assert python_env.startswith(f"python: {PYTHON_VERSION}\nbuild_dependencies:\n- pip")
    assert python_env.endswith("dependencies:\n- -r requirements.txt\n")


def test_pip_requirements_replace_the_defaults():
    env = Environment.resolve(["numpy==1.0"], pip_requirements=["xgboost==1.5.2"])
    assert env.requirements == [MLFLOW_REQUIREMENT, "xgboost==1.5.2"]


def test_extra_pip_requirements_add_to_the_defaults():
    env = Environment.resolve(["numpy==1.0"], extra_pip_requirements=["shap"])
    assert env.requirements == [MLFLOW_REQUIREMENT, "numpy==1.0", "shap"]


def test_user_pinned_mlflow_is_kept():
    env = Environment.resolve([], pip_requirements=["mlflow==2.9.0", "numpy"])
    assert env.requirements == ["mlflow==2.9.0", "numpy"]


def test_requirements_file_with_nested_files_and_constraints(tmp_path):
    (tmp_path / "base.txt").write_text("numpy==1.0\n# comment\n")
    (tmp_path / "pins.txt").write_text("scipy<2\n")
    (tmp_path / "req.txt").write_text("-r base.txt\n-c pins.txt\npandas  # inline comment\n")
    env = Environment.resolve([], pip_requirements=str(tmp_path / "req.txt"))
    assert env.requirements == [MLFLOW_REQUIREMENT, "numpy==1.0", "pandas", "-c constraints.txt"]
    assert env.constraints == ["scipy<2"]
    (tmp_path / "out").mkdir()
    env.write(tmp_path / "out")
    assert (tmp_path / "out" / "constraints.txt").read_text() == "scipy<2"


def test_conda_env_dict_is_kept_and_mlflow_added():
    conda = _mlflow_conda_env(additional_pip_deps=["xgboost==1.5.2"], install_mlflow=False)
    env = Environment.resolve(["ignored==1"], conda_env=conda)
    assert env.requirements == [MLFLOW_REQUIREMENT, "xgboost==1.5.2"]
    assert env.conda_env["dependencies"][-1] == {"pip": [MLFLOW_REQUIREMENT, "xgboost==1.5.2"]}


def test_conda_env_from_a_file(tmp_path):
    (tmp_path / "env.yaml").write_text(yaml.safe_dump({"name": "x", "dependencies": ["python=3.11", {"pip": ["numpy"]}]}))
    env = Environment.resolve([], conda_env=str(tmp_path / "env.yaml"))
    assert env.requirements == [MLFLOW_REQUIREMENT, "numpy"]
    assert env.conda_env["name"] == "x"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"conda_env": {}, "pip_requirements": ["a"]}, "Only one of conda_env, pip_requirements"),
        ({"conda_env": 3}, "conda_env must be a dict or the path"),
        ({"conda_env": "/no/such/env.yaml"}, "conda_env file '/no/such/env.yaml' does not exist"),
        ({"pip_requirements": 5}, "pip_requirements must be a list"),
        ({"pip_requirements": "/no/such/req.txt"}, "Requirements file '/no/such/req.txt' does not exist"),
    ],
)
def test_bad_environment_arguments_are_refused(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Environment.resolve([], **kwargs)


def test_seed_conda_env_call_matches_mlflow_layout(tmp_path):
    env = _mlflow_conda_env(additional_conda_deps=None, additional_pip_deps=["xgboost==1.5.2"],
                            additional_conda_channels=None)
    assert env["dependencies"][-1] == {"pip": [MLFLOW_REQUIREMENT, "xgboost==1.5.2"]}
    assert env["dependencies"][1].startswith("pip<=")
    assert _mlflow_conda_env(path=tmp_path / "c.yaml", additional_conda_channels=["defaults"]) is None
    assert yaml.safe_load((tmp_path / "c.yaml").read_text())["channels"] == ["conda-forge", "defaults"]


def test_a_conda_env_dict_keeps_its_order_with_the_pip_entry_in_place():
    from mlcask.models.environment import Environment

    given = {"name": "env", "channels": ["conda-forge"],
             "dependencies": ["python=3.11", {"pip": ["mlflow==3.17.2", "scikit-learn"]}, "pytest"]}
    env = Environment.resolve(["numpy"], conda_env=given)
    assert env.conda_env == given
    without_pip = Environment.resolve(["numpy"], conda_env={"name": "env", "dependencies": ["python=3.11"]})
    assert without_pip.conda_env["dependencies"][0] == "python=3.11"
    assert without_pip.conda_env["dependencies"][1]["pip"][0].startswith("mlflow==")
