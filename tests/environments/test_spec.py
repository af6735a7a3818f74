"""Reading what a model folder asks of its environment: python_env.yaml, requirements.txt, conda.yaml."""

from __future__ import annotations

import os

import pytest

from mlcask.environments import read_environment_spec, requirement_files
from mlcask.exceptions import InvalidArgumentError, ModelFormatError

PYTHON_ENV = "python: 3.11.7\nbuild_dependencies:\n- pip==23.2.1\n- wheel\ndependencies:\n- -r requirements.txt\n"


def _folder(tmp_path, files):
    folder = tmp_path / "model"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_python_env_with_requirements_file(tmp_path):
    folder = _folder(tmp_path, {"python_env.yaml": PYTHON_ENV,
                     "requirements.txt": "mlflow==3.17.2\n# a comment\nscikit-learn==1.5.2  # pinned\n\n-c cons.txt\n",
                     "cons.txt": "numpy<2\n"})
    spec = read_environment_spec(folder)
    assert spec.python_version == "3.11.7"
    assert spec.build_dependencies == ("pip==23.2.1", "wheel")
    assert spec.requirements == ("mlflow==3.17.2", "scikit-learn==1.5.2")
    assert spec.constraints == ("numpy<2",)
    real = folder.resolve()
    assert spec.files == (real / "python_env.yaml", real / "requirements.txt", real / "cons.txt")
    assert requirement_files(folder) == [real / "requirements.txt", real / "cons.txt"]


def test_requirements_txt_alone_and_mlmodel_python(tmp_path):
    folder = _folder(tmp_path, {"requirements.txt": "xgboost==1.5.2\n",
                     "MLmodel": "flavors:\n  python_function:\n    python_version: 3.12.1\n"})
    spec = read_environment_spec(folder)
    assert (spec.python_version, spec.requirements, spec.build_dependencies) == ("3.12.1", ("xgboost==1.5.2",), ())


def test_conda_yaml_fallback(tmp_path):
    conda = ("channels: [conda-forge]\ndependencies:\n- python=3.10.13\n- pip<=23.2.1\n- pip:\n"
             "  - mlflow==3.17.2\n  - lightgbm==4.0.0\nname: mlflow-env\n")
    spec = read_environment_spec(_folder(tmp_path, {"conda.yaml": conda}))
    assert spec.python_version == "3.10.13"
    assert spec.requirements == ("mlflow==3.17.2", "lightgbm==4.0.0")


def test_requirements_file_outside_the_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere.txt").write_text("evil==1\n")
    folder = _folder(tmp_path, {"python_env.yaml": "python: 3.11.7\ndependencies:\n- -r ../elsewhere.txt\n"})
    with pytest.raises(InvalidArgumentError, match=r"'-r \.\./elsewhere\.txt'.*outside the model folder"):
        read_environment_spec(folder)
    with pytest.raises(InvalidArgumentError, match="outside the model folder"):
        requirement_files(folder)


def test_link_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "secret.txt").write_text("evil==1\n")
    folder = _folder(tmp_path, {"python_env.yaml": PYTHON_ENV})
    os.symlink(tmp_path / "secret.txt", folder / "requirements.txt")
    with pytest.raises(InvalidArgumentError, match=r"outside the model folder .*secret\.txt"):
        read_environment_spec(folder)


def test_nested_include_outside_is_refused(tmp_path):
    folder = _folder(tmp_path, {"requirements.txt": "-r sub/more.txt\n", "sub/more.txt": "--requirement ../../x.txt\n"})
    with pytest.raises(InvalidArgumentError, match=r"sub/more\.txt' line 1.*outside the model folder"):
        read_environment_spec(folder)


@pytest.mark.parametrize("line", ["--index-url https://evil.example/simple", "-e .", "--extra-index-url=x"])
def test_installer_options_are_refused(tmp_path, line):
    folder = _folder(tmp_path, {"requirements.txt": f"numpy\n{line}\n"})
    with pytest.raises(InvalidArgumentError, match="line 2.*requirement lines, -r and -c only"):
        read_environment_spec(folder)


def test_local_wheel_inside_the_folder(tmp_path):
    folder = _folder(tmp_path, {"requirements.txt": "wheels/pkg-1.0-py3-none-any.whl\n",
                                "wheels/pkg-1.0-py3-none-any.whl": "PK"})
    wheel = (folder / "wheels" / "pkg-1.0-py3-none-any.whl").resolve()
    spec = read_environment_spec(folder)
    assert spec.requirements == (str(wheel),)
    assert wheel in spec.files


def test_bad_python_version_and_bad_yaml(tmp_path):
    folder = _folder(tmp_path, {"python_env.yaml": "python: three\n"})
    with pytest.raises(ModelFormatError, match="'three'.*expected X.Y or X.Y.Z"):
        read_environment_spec(folder)
    (folder / "python_env.yaml").write_text("- a list\n")
    with pytest.raises(ModelFormatError, match="must be a YAML mapping"):
        read_environment_spec(folder)


def test_not_a_folder(tmp_path):
    with pytest.raises(InvalidArgumentError, match="is not a folder"):
        read_environment_spec(tmp_path / "missing")
