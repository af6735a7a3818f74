"""Signed manifests, trusted keys, and what an unsigned model may not do when loaded."""

import json
import os
import stat
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli
from mlcask.exceptions import InvalidArgumentError, ModelFormatError, UnsafeModelError
from mlcask.models import set_signature, verify_model
from mlcask.models.integrity import MANIFEST_FILE_NAME, ModelIntegrityError
from mlcask.models.signing import local_key_path, signing_key
from tests.support import Doubler

SECRET = "a-team-secret-of-more-than-16-bytes"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A machine of its own: a fresh MLCASK_HOME and no keys from the environment."""
    folder = tmp_path / "home"
    monkeypatch.setenv("MLCASK_HOME", str(folder))
    return folder


def other_machine(monkeypatch, tmp_path, name="elsewhere"):
    monkeypatch.setenv("MLCASK_HOME", str(tmp_path / name))


def manifest(folder):
    return json.loads((folder / MANIFEST_FILE_NAME).read_text())


def test_first_save_creates_a_private_local_key_and_signs_with_it(home, tmp_path, xgb_classifier):
    assert not local_key_path().exists()
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    key_file = local_key_path()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    signature = manifest(tmp_path / "m")["signature"]
    assert signature["algorithm"] == "hmac-sha256" and signature["key_id"] == signing_key().key_id
    verification = verify_model(tmp_path / "m")
    assert verification.trusted and verification.trusted_signer == signature["key_id"]
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m2")  # the same key, not a new one
    assert manifest(tmp_path / "m2")["signature"]["key_id"] == signature["key_id"]


def test_own_pickled_models_load_with_no_prompt(home, tmp_path, logistic_regression, breast_cancer):
    X, _ = breast_cancer
    mlcask.pyfunc.save_model(tmp_path / "custom", python_model=Doubler())
    assert mlcask.pyfunc.load_model(tmp_path / "custom").predict(np.ones((2, 2))).tolist() == [[2, 2], [2, 2]]
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "cp", serialization_format="cloudpickle")
    assert mlcask.sklearn.load_model(tmp_path / "cp").predict(X.head(3)).shape == (3,)


def test_pickle_from_another_machine_is_refused_with_the_ways_to_allow_it(home, tmp_path, monkeypatch,
                                                                           logistic_regression):
    mlcask.pyfunc.save_model(tmp_path / "custom", python_model=Doubler())
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "cp", serialization_format="pickle")
    other_machine(monkeypatch, tmp_path)
    assert not verify_model(tmp_path / "custom").trusted  # signed, but by a key unknown here
    with pytest.raises(UnsafeModelError, match=r"pickled python model 'python_model.pkl'.*signed by key hmac:\w+, "
                                               r"which is not trusted here.*allow_pickle=True.*MLCASK_ALLOW_PICKLE=1"):
        mlcask.pyfunc.load_model(tmp_path / "custom")
    with pytest.raises(UnsafeModelError, match="the pickle file 'model.pkl'"):
        mlcask.sklearn.load_model(tmp_path / "cp")
    with pytest.raises(UnsafeModelError):
        mlcask.pyfunc.load_model(tmp_path / "cp")
    assert mlcask.pyfunc.load_model(tmp_path / "custom", allow_pickle=True).predict(np.ones(1)).tolist() == [2]
    assert mlcask.sklearn.load_model(tmp_path / "cp", allow_pickle=True) is not None
    monkeypatch.setenv("MLCASK_ALLOW_PICKLE", "1")
    assert mlcask.pyfunc.load_model(tmp_path / "custom") is not None


def test_a_shared_hmac_key_makes_models_trusted_on_every_machine_that_holds_it(home, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCASK_SIGNING_KEY", SECRET)
    mlcask.pyfunc.save_model(tmp_path / "custom", python_model=Doubler())
    key_id = manifest(tmp_path / "custom")["signature"]["key_id"]
    assert SECRET not in json.dumps(manifest(tmp_path / "custom"))
    other_machine(monkeypatch, tmp_path)  # same secret, different home
    assert verify_model(tmp_path / "custom").trusted_signer == key_id
    assert mlcask.pyfunc.load_model(tmp_path / "custom").predict(np.ones(1)).tolist() == [2]
    monkeypatch.delenv("MLCASK_SIGNING_KEY")
    key_file = tmp_path / "team.key"
    key_file.write_text(SECRET + "\n")
    key_file.chmod(0o600)  # a secret: readable by no one else
    monkeypatch.setenv("MLCASK_TRUSTED_KEYS", str(key_file))  # trusted, though not the signing key
    assert verify_model(tmp_path / "custom").trusted_signer == key_id


def test_short_hmac_secrets_are_refused(home, tmp_path, monkeypatch, xgb_classifier):
    monkeypatch.setenv("MLCASK_SIGNING_KEY", "short")
    with pytest.raises(InvalidArgumentError, match="5 bytes long; use at least 16"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")


def test_ed25519_signs_where_the_private_key_is_and_verifies_with_the_public_key(home, tmp_path, monkeypatch):
    pytest.importorskip("cryptography")
    result = CliRunner().invoke(cli, ["keys", "generate", "--private-key", str(tmp_path / "k.pem"),
                                      "--public-key", str(tmp_path / "k.pub")])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    monkeypatch.setenv("MLCASK_SIGNING_KEY_FILE", str(tmp_path / "k.pem"))
    mlcask.pyfunc.save_model(tmp_path / "custom", python_model=Doubler())
    signature = manifest(tmp_path / "custom")["signature"]
    assert signature["algorithm"] == "ed25519" and signature["key_id"].startswith("ed25519:")
    monkeypatch.delenv("MLCASK_SIGNING_KEY_FILE")
    other_machine(monkeypatch, tmp_path)
    with pytest.raises(UnsafeModelError):
        mlcask.pyfunc.load_model(tmp_path / "custom")
    monkeypatch.setenv("MLCASK_TRUSTED_KEYS", str(tmp_path / "k.pub"))
    assert mlcask.pyfunc.load_model(tmp_path / "custom").predict(np.ones(1)).tolist() == [2]
    # A public key cannot sign.
    monkeypatch.setenv("MLCASK_SIGNING_KEY_FILE", str(tmp_path / "k.pub"))
    with pytest.raises(InvalidArgumentError, match="a public key; signing needs the private key"):
        mlcask.pyfunc.save_model(tmp_path / "again", python_model=Doubler())


@pytest.mark.parametrize("forgery", ["edit-hash", "swap-file", "copy-signature", "bad-value"])
def test_a_signature_that_does_not_verify_stops_the_load(home, tmp_path, forgery, logistic_regression):
    mlcask.pyfunc.save_model(tmp_path / "custom", python_model=Doubler())
    folder = tmp_path / "custom"
    data = manifest(folder)
    if forgery == "edit-hash":  # replace the pickle and fix up its entry, keeping the old signature
        evil = b"cos\nsystem\n(S'true'\ntR."
        (folder / "python_model.pkl").write_bytes(evil)
        import hashlib

        data["files"]["python_model.pkl"] = {"sha256": hashlib.sha256(evil).hexdigest(), "size": len(evil)}
    elif forgery == "swap-file":  # a new file and a manifest entry for it
        (folder / "extra.py").write_text("import os\n")
        import hashlib

        data["files"]["extra.py"] = {"sha256": hashlib.sha256(b"import os\n").hexdigest(), "size": 10}
    elif forgery == "copy-signature":  # a signature lifted from another model this key signed
        mlcask.sklearn.save_model(logistic_regression, tmp_path / "other")
        data["signature"] = manifest(tmp_path / "other")["signature"]
    else:
        data["signature"]["value"] = "00" * 32
    (folder / MANIFEST_FILE_NAME).write_text(json.dumps(data))
    with pytest.raises(ModelIntegrityError, match="signature does not verify.*Refusing to load it"):
        mlcask.pyfunc.load_model(folder, allow_pickle=True)


def test_stripping_the_signature_only_makes_the_model_untrusted(home, tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "custom", python_model=Doubler())
    data = manifest(tmp_path / "custom")
    del data["signature"]
    (tmp_path / "custom" / MANIFEST_FILE_NAME).write_text(json.dumps(data))
    assert verify_model(tmp_path / "custom").files_checked and not verify_model(tmp_path / "custom").trusted
    with pytest.raises(UnsafeModelError, match="it is not signed by a trusted key"):
        mlcask.pyfunc.load_model(tmp_path / "custom")


def test_require_signature_refuses_every_model_not_signed_by_a_trusted_key(home, tmp_path, monkeypatch,
                                                                          xgb_classifier):
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "mine")
    monkeypatch.setenv("MLCASK_SIGNING", "0")
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "unsigned")
    assert "signature" not in manifest(tmp_path / "unsigned")
    monkeypatch.setenv("MLCASK_REQUIRE_SIGNATURE", "1")
    mlcask.xgboost.load_model(tmp_path / "mine")
    with pytest.raises(UnsafeModelError, match="MLCASK_REQUIRE_SIGNATURE is set.*unsigned"):
        mlcask.xgboost.load_model(tmp_path / "unsigned")


def test_unsigned_native_models_load_as_before(home, tmp_path, monkeypatch, xgb_classifier, breast_cancer):
    X, _ = breast_cancer
    monkeypatch.setenv("MLCASK_SIGNING", "0")
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    (tmp_path / "m" / MANIFEST_FILE_NAME).unlink()  # as MLflow saves it
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(X.head(2)).shape == (2,)


def test_unsigned_model_code_is_not_imported(home, tmp_path, monkeypatch, xgb_classifier):
    module = tmp_path / "src" / "planted_helper.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m", code_paths=[str(module)])
    other_machine(monkeypatch, tmp_path)
    with pytest.raises(UnsafeModelError, match="its code folder 'code'"):
        mlcask.xgboost.load_model(tmp_path / "m")
    assert str(tmp_path / "m" / "code") not in sys.path


def test_planted_bytecode_in_model_code_is_never_run(home, tmp_path, monkeypatch):
    """A ``.pyc`` beside signed source is outside the manifest; mlcask compiles the source."""
    import importlib.util
    import py_compile

    code = tmp_path / "src"
    code.mkdir()
    (code / "sig_helper_mod.py").write_text("def double(x):\n    return x * 2\n")

    class UsesHelper(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            import sig_helper_mod

            return sig_helper_mod.double(np.asarray(model_input))

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=UsesHelper(), code_paths=[str(code / "sig_helper_mod.py")])
    folder = tmp_path / "m" / "code"
    # Bytecode for different source, with a header matching the saved source's size and mtime.
    evil_source = tmp_path / "evil" / "sig_helper_mod.py"
    evil_source.parent.mkdir()
    evil_source.write_text("def double(x):\n    return x * 3\n")  # same size as the real one
    saved = folder / "sig_helper_mod.py"
    os.utime(evil_source, ns=(saved.stat().st_atime_ns, saved.stat().st_mtime_ns))
    planted = folder / "__pycache__" / os.path.basename(importlib.util.cache_from_source(str(saved)))
    planted.parent.mkdir()
    py_compile.compile(str(evil_source), cfile=str(planted))
    sys.modules.pop("sig_helper_mod", None)
    try:
        model = mlcask.pyfunc.load_model(tmp_path / "m")
        assert model.predict(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]
        assert not any(p.name != planted.name for p in planted.parent.iterdir())  # nothing written either
    finally:
        sys.modules.pop("sig_helper_mod", None)


def test_other_files_in_pycache_count_as_extra(home, tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    (tmp_path / "m" / "__pycache__").mkdir()
    (tmp_path / "m" / "__pycache__" / "payload.py").write_text("import os\n")
    with pytest.raises(ModelIntegrityError, match="extra file '__pycache__/payload.py'"):
        mlcask.pyfunc.load_model(tmp_path / "m")


def test_a_symlink_in_a_model_folder_stops_the_load(home, tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    (tmp_path / "secret").write_text("outside")
    (tmp_path / "m" / "python_model.pkl").rename(tmp_path / "moved.pkl")
    os.symlink(tmp_path / "moved.pkl", tmp_path / "m" / "python_model.pkl")
    with pytest.raises(ModelIntegrityError, match="'python_model.pkl' is a symbolic link"):
        mlcask.pyfunc.load_model(tmp_path / "m")


@pytest.mark.parametrize("field, value", [
    ("python_model", "../../outside.pkl"),
    ("code", "../../outside"),
    ("artifacts", {"vocab": {"path": "../../../etc/passwd", "uri": "x"}}),
])
def test_mlmodel_paths_outside_the_folder_are_refused(home, tmp_path, field, value):
    import yaml

    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    (tmp_path / "m" / MANIFEST_FILE_NAME).unlink()
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"][field] = value
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(ModelFormatError, match="lies outside the model folder"):
        mlcask.pyfunc.load_model(tmp_path / "m", allow_pickle=True)


def test_allow_pickle_carries_into_models_a_custom_model_loads(home, tmp_path, monkeypatch, logistic_regression):
    mlcask.sklearn.save_model(logistic_regression, tmp_path / "inner", serialization_format="cloudpickle")

    class Wrapper(mlcask.pyfunc.PythonModel):
        def load_context(self, context):
            self.inner = mlcask.sklearn.load_model(context.artifacts["inner"])

        def predict(self, context, model_input, params=None):
            return self.inner.predict(model_input)

    mlcask.pyfunc.save_model(tmp_path / "outer", python_model=Wrapper(), artifacts={"inner": str(tmp_path / "inner")})
    other_machine(monkeypatch, tmp_path)
    with pytest.raises(UnsafeModelError):
        mlcask.pyfunc.load_model(tmp_path / "outer")
    assert mlcask.pyfunc.load_model(tmp_path / "outer", allow_pickle=True) is not None


def test_set_signature_keeps_a_trusted_signature_and_never_signs_a_foreign_model(home, tmp_path, monkeypatch,
                                                                                 xgb_classifier, breast_cancer):
    X, y = breast_cancer
    signature = mlcask.models.infer_signature(X, y)
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "mine")
    set_signature(tmp_path / "mine", signature)
    assert verify_model(tmp_path / "mine").trusted
    other_machine(monkeypatch, tmp_path)
    set_signature(tmp_path / "mine", signature)  # another person edits it: not re-signed as theirs
    assert "signature" not in manifest(tmp_path / "mine")
    assert verify_model(tmp_path / "mine").files_checked


def test_sign_command_vouches_for_a_reviewed_mlflow_folder(home, tmp_path, monkeypatch):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    (tmp_path / "m" / MANIFEST_FILE_NAME).unlink()  # as MLflow saves it
    result = CliRunner().invoke(cli, ["models", "verify", "-m", str(tmp_path / "m")])
    assert result.exit_code == 1 and "no integrity manifest" in result.output
    with pytest.raises(UnsafeModelError):
        mlcask.pyfunc.load_model(tmp_path / "m")
    result = CliRunner().invoke(cli, ["models", "sign", "-m", str(tmp_path / "m")])
    assert result.exit_code == 0 and "Signed" in result.output and "hmac:" in result.output
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(np.ones(1)).tolist() == [2]
    result = CliRunner().invoke(cli, ["models", "verify", "-m", str(tmp_path / "m")])
    assert result.exit_code == 0 and "signed by trusted key hmac:" in result.output
    (tmp_path / "m" / "python_model.pkl").write_bytes(b"changed")
    result = CliRunner().invoke(cli, ["models", "sign", "-m", str(tmp_path / "m")])
    assert result.exit_code == 1 and "changed file 'python_model.pkl'" in result.output


def test_keys_show_lists_the_signing_and_trusted_keys(home, tmp_path, monkeypatch):
    key_file = tmp_path / "team.key"
    key_file.write_text(SECRET)
    key_file.chmod(0o600)
    monkeypatch.setenv("MLCASK_TRUSTED_KEYS", str(key_file))
    result = CliRunner().invoke(cli, ["keys", "show"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("signing key: hmac:") and str(local_key_path()) in lines[0]
    assert len([line for line in lines if line.startswith("trusted:")]) == 2


def test_serve_and_predict_accept_allow_pickle(home, tmp_path, monkeypatch):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    other_machine(monkeypatch, tmp_path)
    (tmp_path / "in.csv").write_text("a\n1\n2\n")
    args = ["models", "predict", "-m", str(tmp_path / "m"), "-i", str(tmp_path / "in.csv"), "-o",
            str(tmp_path / "out.csv")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "add --allow-pickle to the command" in result.output
    assert "allow_pickle=True" not in result.output  # a Python keyword means nothing at a terminal
    monkeypatch.setenv("MLCASK_ALLOW_PICKLE", "0")  # restored after the flag sets it
    result = CliRunner().invoke(cli, [*args, "--allow-pickle"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.csv").read_text().split()[1:] == ["2", "4"]


def test_leftovers_of_an_interrupted_rewrite_do_not_block_the_load(home, tmp_path):
    mlcask.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    (tmp_path / "m" / ".MLmodel.tmp-4242").write_text("half")
    (tmp_path / "m" / f".{MANIFEST_FILE_NAME}.tmp-4242").write_text("{")
    assert mlcask.pyfunc.load_model(tmp_path / "m").predict(np.ones(1)).tolist() == [2]
    (tmp_path / "m" / ".MLmodel.tmp-x").write_text("not ours")
    with pytest.raises(ModelIntegrityError, match=r"extra file '\.MLmodel\.tmp-x'"):
        mlcask.pyfunc.load_model(tmp_path / "m")


def test_a_read_only_home_saves_unsigned_with_a_warning(tmp_path, monkeypatch, xgb_classifier):
    if os.geteuid() == 0:
        home = tmp_path / "not-a-folder"
        home.write_text("a file where the home folder should be")  # mkdir fails even for root
    else:
        home = tmp_path / "ro"
        home.mkdir(mode=0o500)
    monkeypatch.setenv("MLCASK_HOME", str(home / "mlcask"))
    with pytest.warns(UserWarning, match="could not create its local signing key.*saved unsigned"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    assert "signature" not in manifest(tmp_path / "m")
    assert verify_model(tmp_path / "m").files_checked


def test_threads_saving_their_first_models_at_once_share_one_key(home, tmp_path, xgb_classifier):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: mlcask.xgboost.save_model(xgb_classifier, tmp_path / f"m{i}"), range(8)))
    key_ids = {manifest(tmp_path / f"m{i}")["signature"]["key_id"] for i in range(8)}
    assert key_ids == {signing_key().key_id}
    assert sorted(p.name for p in local_key_path().parent.iterdir()) == ["signing.key"]


def test_refusals_name_the_remedies_of_the_function_that_was_called(home, tmp_path, monkeypatch):
    """An MLflow-saved forest needs a skops type skops does not trust by default: each entry
    point names the remedies it accepts, and only those."""
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit([[0, 1], [1, 0], [1, 1]], [0, 1, 1])
    mlcask.sklearn.save_model(forest, tmp_path / "forest")
    other_machine(monkeypatch, tmp_path)  # signed by a key unknown here: the recorded types do not count
    with pytest.raises(UnsafeModelError) as native:
        mlcask.sklearn.load_model(tmp_path / "forest")
    assert "skops_trusted_types=['sklearn.tree._tree.Tree'] to mlcask.sklearn.load_model()" in str(native.value)
    with pytest.raises(UnsafeModelError) as pyfunc:
        mlcask.pyfunc.load_model(tmp_path / "forest")
    message = str(pyfunc.value)
    assert "pass allow_pickle=True to mlcask.pyfunc.load_model()" in message
    assert "to mlcask.pyfunc.load_model" not in message.split("or load it natively")[1]
    assert "skops_trusted_types=['sklearn.tree._tree.Tree'] (mlcask.sklearn.load_model" in message
    assert mlcask.pyfunc.load_model(tmp_path / "forest", allow_pickle=True) is not None
    assert mlcask.sklearn.load_model(tmp_path / "forest", skops_trusted_types=["sklearn.tree._tree.Tree"])
    with pytest.raises(UnsafeModelError, match=r"allow_pickle=True to mlcask\.xgboost\.load_model\(\)"):
        mlcask.xgboost.load_model(_xgb_with_code(tmp_path, monkeypatch))
    (tmp_path / "in.csv").write_text("a,b\n0,1\n")
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(tmp_path / "forest"), "-i",
                                      str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 1 and "add --allow-pickle to the command" in result.output
    assert "skops_trusted_types=" not in result.output and "allow_pickle=True" not in result.output


def _xgb_with_code(tmp_path, monkeypatch):
    from xgboost import XGBClassifier

    (tmp_path / "helper.py").write_text("X = 1\n")
    model = XGBClassifier(n_estimators=2).fit([[0, 1], [1, 0]], [0, 1])
    monkeypatch.setenv("MLCASK_HOME", str(tmp_path / "saver"))
    mlcask.xgboost.save_model(model, tmp_path / "xgb", code_paths=[str(tmp_path / "helper.py")])
    other_machine(monkeypatch, tmp_path)
    return tmp_path / "xgb"
