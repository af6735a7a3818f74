import pytest
import yaml

from mlcask.exceptions import ModelFormatError, ModelNotFoundError
from mlcask.models import Model
from mlcask.version import MLFLOW_FORMAT_VERSION


def test_round_trip_keeps_every_field_including_unknown_ones(tmp_path):
    model = Model(run_id="abc", artifact_path="classifier", metadata={"team": "x"},
                  model_size_bytes=12, model_id="m-1", future_field={"a": 1})
    model.add_flavor("python_function", loader_module="mlflow.xgboost", data="model.ubj")
    model.save(tmp_path / "MLmodel")

    loaded = Model.load(tmp_path)

    assert loaded.to_dict() == model.to_dict()
    assert loaded.extra_fields == {"future_field": {"a": 1}}
    assert loaded.mlflow_version == MLFLOW_FORMAT_VERSION


def test_to_dict_matches_mlflow_field_rules():
    model = Model(model_uuid="u", utc_time_created="2026-01-01 00:00:00.000000")
    model.add_flavor("python_function", loader_module="mlflow.sklearn")
    written = model.to_dict()
    # MLflow writes these even when null ...
    assert written["model_id"] is None and written["prompts"] is None
    # ... and drops these when null.
    for dropped in ("run_id", "artifact_path", "metadata", "model_size_bytes", "signature", "resources"):
        assert dropped not in written
    assert yaml.safe_load(model.to_yaml())["flavors"] == {"python_function": {"loader_module": "mlflow.sklearn"}}


def test_missing_path_is_a_not_found_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        Model.load(tmp_path / "nowhere")


def test_folder_without_mlmodel_is_named(tmp_path):
    with pytest.raises(ModelFormatError, match=r"has no 'MLmodel' file"):
        Model.load(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("flavors: [unclosed", "Malformed MLmodel file"),
        ("- a list\n- not a mapping\n", "expected a YAML mapping of fields, got list"),
        ("run_id: abc\n", "expected a 'flavors' mapping"),
        ("flavors: [a]\n", "expected a 'flavors' mapping"),
    ],
)
def test_malformed_mlmodel_names_file_and_problem(tmp_path, content, message):
    (tmp_path / "MLmodel").write_text(content)
    with pytest.raises(ModelFormatError, match=message) as info:
        Model.load(tmp_path)
    assert str(tmp_path / "MLmodel") in str(info.value)


def test_flavor_lookup_lists_available_flavors():
    model = Model().add_flavor("xgboost", data="model.ubj")
    with pytest.raises(ModelFormatError, match=r"no 'sklearn' flavor.*\['xgboost'\]"):
        model.flavor("sklearn")
