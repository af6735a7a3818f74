"""Time of check to time of use: a model folder swapped while it is verified, loaded, signed
or saved never makes mlcask read, run or sign the attacker's files.

The attacker of these tests can rename entries in the folder that holds the model (a
group-writable team folder): at the worst moment it moves the victim's model away and puts
its own folder, with a pickle that leaves a mark when it runs, at the same path.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import ModelFormatError, UnsafeModelError
from mlcask.models import integrity, metadata, packaging, trust
from mlcask.models.integrity import MANIFEST_FILE_NAME, ModelIntegrityError, verify_model
from mlcask.models.pinned import FolderChangedError, PinnedFolder
from tests.support import Doubler


class _Mark:
    """Unpickling this writes ``path``: proof that the attacker's pickle ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path(self.path).write_text, ("pwned",))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCASK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLCASK_ALLOW_PICKLE", raising=False)
    return tmp_path / "home"


def attacker_folder(victim: Path, mark: Path) -> Path:
    """A copy of the victim's model whose every pickle and code file is the attacker's."""
    evil = victim.parent / ".evil"
    shutil.copytree(victim, evil)
    payload = pickle.dumps(_Mark(str(mark)))
    for file in evil.rglob("*"):
        if file.suffix in (".pkl", ".skops"):
            file.write_bytes(payload)
        elif file.suffix == ".py":
            file.write_text(f"open({str(mark)!r}, 'w').write('pwned')\n")
    return evil


def swap(victim: Path, evil: Path) -> None:
    """Move the victim's folder away and the attacker's into its place (two renames)."""
    os.rename(victim, victim.parent / ".moved-away")
    os.rename(evil, victim)


def swap_after(monkeypatch, module, name: str, victim: Path, evil: Path) -> None:
    """Patch ``module.name`` to swap the folders right after it returns."""
    real = getattr(module, name)

    def then_swap(*args, **kwargs):
        result = real(*args, **kwargs)
        swap(victim, evil)
        return result

    monkeypatch.setattr(module, name, then_swap)


def test_a_python_model_swapped_after_verification_loads_the_verified_bytes(home, tmp_path, monkeypatch):
    victim = tmp_path / "shared" / "model"
    mlcask.pyfunc.save_model(victim, python_model=Doubler())
    mark = tmp_path / "mark"
    swap_after(monkeypatch, trust, "open_verified", victim, attacker_folder(victim, mark))
    loaded = mlcask.pyfunc.load_model(victim)
    assert loaded.predict(np.ones(2)).tolist() == [2, 2]
    assert not mark.exists()


def test_a_pickled_estimator_swapped_after_verification_is_not_run(home, tmp_path, monkeypatch, logistic_regression,
                                                                 breast_cancer):
    X, _ = breast_cancer
    victim = tmp_path / "shared" / "model"
    mlcask.sklearn.save_model(logistic_regression, victim, serialization_format="cloudpickle")
    mark = tmp_path / "mark"
    swap_after(monkeypatch, trust, "open_verified", victim, attacker_folder(victim, mark))
    model = mlcask.sklearn.load_model(victim)
    assert (model.predict(X[:5]) == logistic_regression.predict(X[:5])).all()
    assert not mark.exists()


def test_an_mlmodel_swapped_after_verification_does_not_steer_the_load(home, tmp_path, monkeypatch, xgb_classifier,
                                                                       breast_cancer):
    X, _ = breast_cancer
    victim = tmp_path / "shared" / "model"
    mlcask.xgboost.save_model(xgb_classifier, victim)
    evil = attacker_folder(victim, tmp_path / "mark")
    (evil / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: os\n")
    swap_after(monkeypatch, trust, "open_verified", victim, evil)
    loaded = mlcask.pyfunc.load_model(victim)
    assert loaded.loader_module == "mlflow.xgboost"
    assert (loaded.predict(X[:5]) == xgb_classifier.predict(X[:5])).all()


def test_code_imported_lazily_after_the_load_comes_from_the_verified_sources(home, tmp_path, monkeypatch):
    package = tmp_path / "src" / "lazy_helpers_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "late.py").write_text("FACTOR = 3\n")
    (package / "model.py").write_text(
        "import mlcask\n\n"
        "class LateImporter(mlcask.pyfunc.PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        from lazy_helpers_pkg.late import FACTOR  # imported only now, after the load\n"
        "        return [FACTOR * x for x in model_input]\n")
    sys.path.insert(0, str(package.parent))
    try:
        from lazy_helpers_pkg.model import LateImporter

        victim = tmp_path / "shared" / "model"
        mlcask.pyfunc.save_model(victim, python_model=LateImporter(), code_paths=[str(package)])
    finally:
        sys.path.remove(str(package.parent))
        for name in [m for m in sys.modules if m.startswith("lazy_helpers_pkg")]:
            del sys.modules[name]
    loaded = mlcask.pyfunc.load_model(victim)
    assert not any(str(victim) in entry for entry in sys.path)  # never importable by path
    mark = tmp_path / "mark"
    swap(victim, attacker_folder(victim, mark))
    assert loaded.predict([1, 2]) == [3, 6]
    assert not mark.exists()
    # a module the model never shipped is not found under its package, not read from disk
    (victim / "code" / "lazy_helpers_pkg" / "planted.py").write_text(f"open({str(mark)!r}, 'w')\n")
    with pytest.raises(ModuleNotFoundError, match="no such verified source"):
        __import__("lazy_helpers_pkg.planted")
    assert not mark.exists()
    for name in [m for m in sys.modules if m.startswith("lazy_helpers_pkg")]:
        del sys.modules[name]


def test_a_file_replaced_inside_the_pinned_folder_is_refused(home, tmp_path, monkeypatch, xgb_classifier):
    """A large native file is read again for the loader: it must still be the verified file."""
    from mlcask.models import pinned

    monkeypatch.setattr(pinned, "SMALL_FILE_BYTES", 16)
    monkeypatch.setattr(integrity, "KEEP_BYTES", 0)
    victim = tmp_path / "model"
    mlcask.xgboost.save_model(xgb_classifier, victim)
    real = trust.open_verified

    def then_replace(folder):
        verified = real(folder)
        (victim / "other").write_bytes((victim / "model.ubj").read_bytes())
        os.replace(victim / "other", victim / "model.ubj")  # same bytes, another inode
        return verified

    monkeypatch.setattr(trust, "open_verified", then_replace)
    with pytest.raises(FolderChangedError, match="model.ubj.*changed after the folder was verified"):
        mlcask.xgboost.load_model(victim)


def test_a_large_pickle_is_hashed_from_the_bytes_that_are_unpickled(home, tmp_path, monkeypatch):
    """Above the in-memory size, a file is read again for the loader: those bytes are hashed."""
    from mlcask.models import pinned

    monkeypatch.setattr(pinned, "SMALL_FILE_BYTES", 16)
    monkeypatch.setattr(integrity, "KEEP_BYTES", 0)  # nothing kept from verification
    victim = tmp_path / "model"
    mlcask.pyfunc.save_model(victim, python_model=Doubler())
    real = PinnedFolder.read
    calls = []

    def tampering_read(self, name):
        data = real(self, name)
        calls.append(name)
        if name == "python_model.pkl" and calls.count(name) == 2:  # the loader's read, after verification
            return pickle.dumps(_Mark(str(tmp_path / "mark")))
        return data

    monkeypatch.setattr(PinnedFolder, "read", tampering_read)
    with pytest.raises(ModelIntegrityError, match="python_model.pkl.*changed after it was verified"):
        mlcask.pyfunc.load_model(victim)
    assert not (tmp_path / "mark").exists()


def test_set_signature_never_signs_a_folder_swapped_in_meanwhile(home, tmp_path, monkeypatch, xgb_classifier,
                                                                 breast_cancer):
    X, y = breast_cancer
    victim = tmp_path / "shared" / "model"
    mlcask.pyfunc.save_model(victim, python_model=Doubler())
    evil = attacker_folder(victim, tmp_path / "mark")
    (evil / MANIFEST_FILE_NAME).unlink()
    swap_after(monkeypatch, metadata, "open_verified", victim, evil)
    metadata.set_signature(victim, mlcask.models.infer_signature(X, y))
    moved = tmp_path / "shared" / ".moved-away"
    assert verify_model(moved).trusted  # the verified folder got the new signature, signed
    assert "signature" in (moved / "MLmodel").read_text()
    assert not (victim / MANIFEST_FILE_NAME).exists()  # the attacker's folder was not sealed
    with pytest.raises(UnsafeModelError):
        mlcask.pyfunc.load_model(victim)
    assert not (tmp_path / "mark").exists()


def test_sign_model_refuses_folders_others_can_write(home, tmp_path):
    folder = tmp_path / "team" / "model"
    mlcask.pyfunc.save_model(folder, python_model=Doubler())
    (folder / MANIFEST_FILE_NAME).unlink()  # as MLflow would have saved it
    folder.chmod(0o775)
    with pytest.raises(ModelFormatError, match=r"'\.' in it is writable by others.*chmod -R go-w"):
        metadata.sign_model(folder)
    folder.chmod(0o755)
    (folder / "python_model.pkl").chmod(0o666)
    with pytest.raises(ModelFormatError, match="'python_model.pkl' in it is writable by others"):
        metadata.sign_model(folder)
    assert not (folder / MANIFEST_FILE_NAME).exists()
    (folder / "python_model.pkl").chmod(0o644)
    assert metadata.sign_model(folder).trusted


@pytest.mark.skipif(os.getuid() != 0, reason="making a file another user's needs root")
def test_sign_model_refuses_another_users_files(home, tmp_path):
    folder = tmp_path / "model"
    mlcask.pyfunc.save_model(folder, python_model=Doubler())
    os.chown(folder / "python_model.pkl", 65534, 65534)
    with pytest.raises(ModelFormatError, match="'python_model.pkl' in it belongs to user id 65534"):
        metadata.sign_model(folder)


def test_sign_model_signs_the_bytes_it_read_not_a_folder_swapped_in_after(home, tmp_path, monkeypatch):
    victim = tmp_path / "shared" / "model"
    mlcask.pyfunc.save_model(victim, python_model=Doubler())
    (victim / MANIFEST_FILE_NAME).unlink()
    evil = attacker_folder(victim, tmp_path / "mark")
    swap_after(monkeypatch, metadata, "open_verified", victim, evil)
    metadata.sign_model(victim)
    assert verify_model(tmp_path / "shared" / ".moved-away").trusted
    assert not (victim / MANIFEST_FILE_NAME).exists()


def _hijack_staging_during(monkeypatch, tmp_path, step: str) -> Path:
    """Replace the staging folder with the attacker's right after ``packaging.<step>`` runs."""
    real = getattr(packaging, step)
    planted = tmp_path / "planted.pkl"
    planted.write_bytes(pickle.dumps(_Mark(str(tmp_path / "mark"))))

    def hijack(*args, **kwargs):
        result = real(*args, **kwargs)
        staging = next((tmp_path / "shared").glob(".model.saving-*"))
        os.rename(staging, tmp_path / "shared" / ".stolen")
        staging.mkdir()
        shutil.copy(planted, staging / "python_model.pkl")
        return result

    monkeypatch.setattr(packaging, step, hijack)
    return tmp_path / "shared" / "model"


@pytest.mark.parametrize("step", ["copy_code_paths", "folder_size"])
def test_a_hijacked_staging_folder_fails_the_save_and_signs_nothing(home, tmp_path, monkeypatch, step):
    (tmp_path / "shared").mkdir()
    target = _hijack_staging_during(monkeypatch, tmp_path, step)
    with pytest.raises(ModelIntegrityError, match="not the private folder mlcask wrote.*Nothing was signed"):
        mlcask.pyfunc.save_model(target, python_model=Doubler())
    for folder in (tmp_path / "shared").iterdir():
        manifest = folder / MANIFEST_FILE_NAME
        if folder.name != ".stolen" and manifest.exists():
            pytest.fail(f"{folder} was sealed: {json.loads(manifest.read_text())}")
    if target.exists():
        with pytest.raises(UnsafeModelError):
            mlcask.pyfunc.load_model(target)
    assert not (tmp_path / "mark").exists()


def test_a_staging_folder_swapped_at_the_final_rename_fails_the_save(home, tmp_path, monkeypatch):
    (tmp_path / "shared").mkdir()
    target = tmp_path / "shared" / "model"
    real_rename = os.rename

    def swapping_rename(source, destination):
        if Path(destination) == target:
            real_rename(source, tmp_path / "shared" / ".stolen")
            os.mkdir(source)
            shutil.copy(tmp_path / "shared" / ".stolen" / "MLmodel", Path(source) / "MLmodel")
            (Path(source) / "python_model.pkl").write_bytes(pickle.dumps(_Mark(str(tmp_path / "mark"))))
        return real_rename(source, destination)

    monkeypatch.setattr(packaging.os, "rename", swapping_rename)
    with pytest.raises(ModelIntegrityError, match="after it was renamed into place"):
        mlcask.pyfunc.save_model(target, python_model=Doubler())
    assert not (target / MANIFEST_FILE_NAME).exists()
    with pytest.raises(UnsafeModelError):
        mlcask.pyfunc.load_model(target)
    assert not (tmp_path / "mark").exists()


def test_the_pinned_folder_reads_through_its_descriptor(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("verified")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.bin").write_bytes(b"x" * 10)
    os.symlink("/etc/passwd", folder / "link")
    with PinnedFolder.open(folder) as pinned:
        assert sorted(pinned.files()) == ["a.txt", "link", "sub/b.bin"]
        assert not pinned.is_file("link")
        os.rename(folder, tmp_path / "elsewhere")
        folder.mkdir()
        (folder / "a.txt").write_text("attacker")
        assert pinned.read("a.txt") == b"verified"
        assert pinned.read("sub/b.bin") == b"x" * 10
        with pytest.raises(ModelFormatError, match="no regular file 'link'"):
            pinned.read("link")


def test_a_frame_still_predicts_after_the_folder_is_gone(home, tmp_path, xgb_classifier, breast_cancer):
    X, _ = breast_cancer
    folder = tmp_path / "model"
    mlcask.xgboost.save_model(xgb_classifier, folder, input_example=X[:2])
    loaded = mlcask.pyfunc.load_model(folder)
    shutil.rmtree(folder)
    assert (loaded.predict(pd.DataFrame(X[:3])) == xgb_classifier.predict(X[:3])).all()


@pytest.mark.parametrize("via", ["artifacts", "data_path"])
def test_custom_model_folders_never_pack_a_link_leading_out(home, tmp_path, via):
    secret = tmp_path / "credentials"
    secret.write_text("aws_secret_access_key = hunter2")
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "vocab.txt").write_text("a b c")
    os.symlink(secret, folder / "creds")
    kwargs = ({"python_model": Doubler(), "artifacts": {"bundle": str(folder)}} if via == "artifacts"
              else {"loader_module": "my_loader", "data_path": str(folder)})
    with pytest.raises(mlcask.exceptions.InvalidArgumentError, match="symbolic link .*creds.* leads outside"):
        mlcask.pyfunc.save_model(tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()
    (folder / "creds").unlink()
    os.symlink("vocab.txt", folder / "alias.txt")  # a link that stays inside is copied as its file
    mlcask.pyfunc.save_model(tmp_path / "m", **kwargs)
    copied = next((tmp_path / "m").rglob("alias.txt"))
    assert not copied.is_symlink() and copied.read_text() == "a b c"


def test_the_served_input_example_is_the_verified_one(home, tmp_path, xgb_classifier, breast_cancer):
    from mlcask.serving.app import load_served_model

    X, _ = breast_cancer
    victim = tmp_path / "shared" / "model"
    mlcask.xgboost.save_model(xgb_classifier, victim, input_example=X[:1])
    real = (victim / "serving_input_example.json").read_text()
    model = mlcask.pyfunc.load_model(victim)
    evil = attacker_folder(victim, tmp_path / "mark")
    (evil / "serving_input_example.json").write_text('{"inputs": "<script>alert(1)</script>"}')
    swap(victim, evil)
    assert model.serving_input_example == real
    (tmp_path / "shared" / "model").rename(tmp_path / "shared" / ".evil-again")
    (tmp_path / "shared" / ".moved-away").rename(victim)
    served = load_served_model(str(victim))
    assert served.serving_input_example == real
