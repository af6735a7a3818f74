"""Costly metadata: an MLmodel file that is huge, or small but blown up by YAML aliases,
is refused quickly with a clear error, by every reader and by ``mlcask models serve``."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli
from mlcask.exceptions import ModelFormatError
from mlcask.models import Model
from mlcask.models.model import MAX_MLMODEL_BYTES


def alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "flavors:\n  python_function: {loader_module: mlflow.sklearn}\n" + "\n".join(lines) + "\n"


@pytest.fixture
def saved(tmp_path, xgb_classifier):
    folder = tmp_path / "m"
    mlcask.xgboost.save_model(xgb_classifier, folder)
    return folder


def replace_mlmodel(folder, text):
    (folder / "MLmodel").write_text(text)
    (folder / "mlcask-manifest.json").unlink()  # an unsigned folder from elsewhere


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    started = time.perf_counter()
    with pytest.raises(ModelFormatError, match="expands to more than .* YAML nodes"):
        Model.from_yaml(alias_bomb(), "bomb")
    assert time.perf_counter() - started < 5


def test_a_self_referencing_alias_is_refused():
    with pytest.raises(ModelFormatError, match="nests deeper than|nests too deeply"):
        Model.from_yaml("flavors: {x: {}}\nloop: &l [*l]\n")


def test_deeply_nested_yaml_is_refused():
    with pytest.raises(ModelFormatError, match="nests deeper than"):
        Model.from_yaml("flavors: {x: {}}\nmetadata: " + "[" * 500 + "]" * 500 + "\n")


def test_an_oversized_mlmodel_is_refused_without_reading_it_all(tmp_path):
    file = tmp_path / "MLmodel"
    with open(file, "w") as handle:
        handle.write("flavors: {x: {}}\nmetadata: {blob: '")
        handle.write("x" * (MAX_MLMODEL_BYTES + 10))
        handle.write("'}\n")
    started = time.perf_counter()
    with pytest.raises(ModelFormatError, match=f"at most {MAX_MLMODEL_BYTES:,} are read"):
        Model.load(file)
    assert time.perf_counter() - started < 5


def test_a_node_heavy_mlmodel_is_refused_quickly():
    text = "flavors: {x: {}}\nmetadata:\n" + "".join(f"  k{i}: [1, 2, 3]\n" for i in range(60_000))
    started = time.perf_counter()
    with pytest.raises(ModelFormatError, match="holds more than .* YAML nodes"):
        Model.from_yaml(text)
    assert time.perf_counter() - started < 5


def test_a_wide_signature_still_loads():
    import json

    columns = [{"type": "double", "name": f"f{i}", "required": True} for i in range(20_000)]
    text = ("flavors: {python_function: {loader_module: mlflow.sklearn}}\n"
            f"signature:\n  inputs: '{json.dumps(columns)}'\n  outputs: null\n  params: null\n")
    model = Model.from_yaml(text)
    assert len(model.signature.inputs.inputs) == 20_000


def test_loading_a_model_with_a_bomb_is_a_clear_error(saved):
    replace_mlmodel(saved, alias_bomb())
    with pytest.raises(ModelFormatError, match=r"Malformed MLmodel file .*MLmodel.*expands to more than"):
        mlcask.pyfunc.load_model(saved)
    with pytest.raises(ModelFormatError, match="expands to more than"):
        mlcask.xgboost.load_model(saved)


@pytest.mark.parametrize("command", [["models", "serve"], ["models", "describe"]])
def test_the_cli_refuses_a_bomb_with_a_message_not_a_crash(saved, command):
    replace_mlmodel(saved, alias_bomb())
    result = CliRunner().invoke(cli, [*command, "-m", str(saved)])
    assert result.exit_code == 1, result.output
    assert "expands to more than" in result.output and "Traceback" not in result.output
    assert not isinstance(result.exception, MemoryError)


def test_flavors_must_be_mappings(tmp_path):
    with pytest.raises(ModelFormatError, match="expected a 'flavors' mapping of flavor names"):
        Model.from_yaml("flavors: {python_function: [1, 2]}\n", "x")


def test_a_conda_env_file_with_an_alias_bomb_is_refused(tmp_path, xgb_classifier):
    from mlcask.exceptions import InvalidArgumentError

    conda = tmp_path / "conda.yaml"
    conda.write_text(alias_bomb().replace("flavors:\n  python_function: {loader_module: mlflow.sklearn}\n", ""))
    with pytest.raises(InvalidArgumentError, match="conda_env file .* expands to more than"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", conda_env=str(conda))
    assert not (tmp_path / "m").exists()
