import json

import numpy as np
import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli
from mlcask.models import infer_signature, set_signature
from mlcask.models.integrity import MANIFEST_FILE_NAME, ModelIntegrityError, verify_model_folder


@pytest.fixture
def saved(tmp_path, xgb_classifier, breast_cancer):
    X, y = breast_cancer
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", input_example=X.head(1))
    return tmp_path / "m"


def test_every_file_is_recorded_with_its_hash_and_size(saved):
    manifest = json.loads((saved / MANIFEST_FILE_NAME).read_text())
    files = sorted(p.name for p in saved.iterdir() if p.name != MANIFEST_FILE_NAME)
    assert sorted(manifest["files"]) == files
    assert manifest["files"]["model.ubj"]["size"] == (saved / "model.ubj").stat().st_size
    assert len(manifest["files"]["MLmodel"]["sha256"]) == 64
    assert verify_model_folder(saved) == len(files)


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda m: (m / "model.ubj").write_bytes((m / "model.ubj").read_bytes()[:-1] + b"\x00"), "changed file 'model.ubj'"),
        (lambda m: (m / "conda.yaml").unlink(), "missing file 'conda.yaml'"),
        (lambda m: (m / "evil.py").write_text("import os"), "extra file 'evil.py'"),
        (lambda m: (m / "MLmodel").write_text((m / "MLmodel").read_text().replace("ubj", "json")), "changed file 'MLmodel'"),
    ],
)
def test_a_tampered_model_never_loads(saved, tamper, message):
    tamper(saved)
    for load in (mlcask.pyfunc.load_model, mlcask.xgboost.load_model):
        with pytest.raises(ModelIntegrityError, match=message):
            load(saved)


def test_an_unreadable_manifest_is_refused(saved):
    (saved / MANIFEST_FILE_NAME).write_text("{not json")
    with pytest.raises(ModelIntegrityError, match="unreadable"):
        mlcask.pyfunc.load_model(saved)


def test_bytecode_caches_do_not_count(saved):
    (saved / "__pycache__").mkdir()
    (saved / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"cache")
    assert verify_model_folder(saved) is not None


def test_set_signature_reseals_but_never_a_tampered_folder(saved, breast_cancer):
    X, y = breast_cancer
    set_signature(str(saved), infer_signature(X, y))
    assert verify_model_folder(saved) is not None
    (saved / "extra.txt").write_text("x")
    with pytest.raises(ModelIntegrityError, match="extra file 'extra.txt'"):
        set_signature(str(saved), infer_signature(X, y))


def test_models_verify_command(saved):
    result = CliRunner().invoke(cli, ["models", "verify", "-m", str(saved)])
    assert result.exit_code == 0 and result.output.startswith("OK: 7 files")
    (saved / "model.ubj").write_bytes(b"x")
    result = CliRunner().invoke(cli, ["models", "verify", "-m", str(saved)])
    assert result.exit_code == 1 and "changed file 'model.ubj'" in result.output
    (saved / MANIFEST_FILE_NAME).unlink()
    result = CliRunner().invoke(cli, ["models", "verify", "-m", str(saved)])
    assert result.exit_code == 1 and "no integrity manifest" in result.output


def test_loaded_model_still_predicts(saved, xgb_classifier, breast_cancer):
    X, _ = breast_cancer
    np.testing.assert_array_equal(mlcask.pyfunc.load_model(saved).predict(X.head(3)), xgb_classifier.predict(X.head(3)))
