import os

import pytest

from mlcask.exceptions import InvalidArgumentError, MlcaskException
from mlcask.models import Model
from mlcask.models.packaging import save_model_folder, staging_folder


def write_four_bytes(folder):
    (folder / "data.bin").write_bytes(b"1234")
    return {"data": "data.bin"}


def save(path, write_data=write_four_bytes, **kwargs):
    return save_model_folder(
        path, flavor_name="demo", write_data=write_data,
        pyfunc_conf=lambda conf: {"loader_module": "demo_loader", **conf},
        default_requirements=lambda conf: ["numpy==1.0"], **kwargs,
    )


def test_writes_a_complete_mlflow_model_folder(tmp_path):
    model = save(tmp_path / "m", metadata={"owner": "me"})
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["MLmodel", "conda.yaml", "data.bin", "mlcask-manifest.json", "python_env.yaml",
                     "requirements.txt"]
    loaded = Model.load(tmp_path / "m")
    assert loaded.flavors["demo"] == {"code": None, "data": "data.bin"}
    assert loaded.flavors["python_function"]["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert loaded.model_size_bytes == 4
    assert loaded.metadata == {"owner": "me"} == model.metadata


def test_refuses_a_non_empty_destination_and_leaves_it_untouched(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("precious")
    with pytest.raises(MlcaskException, match=r"Path '.*m' already exists and is not empty") as info:
        save(tmp_path / "m")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["keep.txt"]


def test_refuses_a_file_as_destination(tmp_path):
    (tmp_path / "m").write_text("x")
    with pytest.raises(MlcaskException, match="already exists and is not empty"):
        save(tmp_path / "m")


def test_an_existing_empty_folder_is_filled(tmp_path):
    (tmp_path / "m").mkdir()
    save(tmp_path / "m")
    assert (tmp_path / "m" / "MLmodel").exists()


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    def failing(folder):
        (folder / "half.bin").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save(tmp_path / "m", write_data=failing)
    assert os.listdir(tmp_path) == []


def test_staging_folder_is_private(tmp_path):
    with staging_folder(tmp_path / "m") as staging:
        assert staging.parent == tmp_path
        assert staging.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "m").is_dir() and not staging.exists()


def test_code_paths_are_copied_and_recorded(tmp_path):
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    save(tmp_path / "m", code_paths=[str(tmp_path / "helpers.py"), str(tmp_path / "pkg")])
    assert (tmp_path / "m" / "code" / "helpers.py").read_text() == "X = 1\n"
    assert (tmp_path / "m" / "code" / "pkg" / "__init__.py").exists()
    assert Model.load(tmp_path / "m").flavors["python_function"]["code"] == "code"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"code_paths": ["/no/such/file.py"]}, "code_paths entry '/no/such/file.py' does not exist"),
        ({"code_paths": "helpers.py"}, "code_paths must be a list of paths"),
        ({"metadata": ["not", "a", "dict"]}, "metadata must be a dict"),
        ({"signature": {"inputs": "x"}}, "signature must be a ModelSignature"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        save(tmp_path / "m", **kwargs)
    assert os.listdir(tmp_path) == []
