"""Key files and MLCASK_HOME: refused when others could plant, replace or read a key, and
trusted keys parsed strictly, so that a public key is never taken for an HMAC secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, UnsafeModelError
from mlcask.models import verify_model
from mlcask.models.home import UnsafeKeyStorageError
from mlcask.models.integrity import MANIFEST_FILE_NAME, _signed_payload
from mlcask.models.signing import key_from_file, parse_key, signing_key, trusted_keys
from tests.support import Doubler

SECRET = "a-team-secret-of-more-than-16-bytes"


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    monkeypatch.setenv("MLCASK_HOME", str(folder))
    for name in ("MLCASK_SIGNING_KEY", "MLCASK_SIGNING_KEY_FILE", "MLCASK_TRUSTED_KEYS", "MLCASK_ALLOW_PICKLE"):
        monkeypatch.delenv(name, raising=False)
    return folder


def write(path, data, mode):
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    path.chmod(mode)
    return path


@pytest.fixture
def ed25519_pair(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = private.public_key()
    return {
        "private_pem": pem,
        "public_pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "openssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "openssh_private": private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                 serialization.NoEncryption()),
    }


# -- MLCASK_HOME -------------------------------------------------------------------------------

def test_a_home_that_is_a_link_is_refused(home, tmp_path, xgb_classifier):
    real = tmp_path / "real-home"
    real.mkdir(mode=0o700)
    os.symlink(real, home)
    with pytest.raises(UnsafeKeyStorageError, match="MLCASK_HOME .* is a symbolic link"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("mode, who", [(0o770, "its group"), (0o777, "others"), (0o702, "others")])
def test_a_home_others_can_write_is_refused_with_the_fix(home, tmp_path, xgb_classifier, mode, who):
    home.mkdir()
    home.chmod(mode)
    with pytest.raises(UnsafeKeyStorageError, match=f"writable by {who}.*chmod 700"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    home.chmod(0o700)
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    with pytest.raises(UnsafeKeyStorageError):  # loading asks for the trusted keys: refused too
        home.chmod(0o777)
        mlcask.pyfunc.load_model(tmp_path / "m")
    home.chmod(0o700)


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_home_owned_by_another_user_is_refused(home, tmp_path, xgb_classifier):
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    with pytest.raises(UnsafeKeyStorageError, match="belongs to user id 65534"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")


def test_a_local_key_file_others_can_read_is_refused(home, tmp_path, xgb_classifier):
    mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    (home / "signing.key").chmod(0o644)
    with pytest.raises(UnsafeKeyStorageError, match="readable by others.*chmod 600"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m2")


def test_a_local_key_that_is_a_link_is_refused(home, tmp_path, xgb_classifier):
    home.mkdir(mode=0o700)
    elsewhere = write(tmp_path / "planted.key", SECRET, 0o600)
    os.symlink(elsewhere, home / "signing.key")
    with pytest.raises(UnsafeKeyStorageError, match="is a symbolic link"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")


# -- key files -----------------------------------------------------------------------------

def test_a_signing_key_file_others_can_read_or_write_is_refused(home, tmp_path, monkeypatch, xgb_classifier):
    key = write(tmp_path / "team.key", SECRET, 0o640)
    monkeypatch.setenv("MLCASK_SIGNING_KEY_FILE", str(key))
    with pytest.raises(UnsafeKeyStorageError, match="readable by others"):
        signing_key()
    key.chmod(0o622)
    with pytest.raises(UnsafeKeyStorageError, match="writable by others"):
        signing_key()
    key.chmod(0o600)
    assert signing_key().key_id.startswith("hmac:")


def test_an_ed25519_private_key_readable_by_others_does_not_sign(home, tmp_path, monkeypatch, ed25519_pair):
    key = write(tmp_path / "private.pem", ed25519_pair["private_pem"], 0o644)
    monkeypatch.setenv("MLCASK_SIGNING_KEY_FILE", str(key))
    with pytest.raises(UnsafeKeyStorageError, match="holds a secret key and is readable by others"):
        signing_key()


def test_a_signing_key_file_that_is_a_link_is_refused(home, tmp_path, monkeypatch):
    target = write(tmp_path / "team.key", SECRET, 0o600)
    os.symlink(target, tmp_path / "link.key")
    monkeypatch.setenv("MLCASK_SIGNING_KEY_FILE", str(tmp_path / "link.key"))
    with pytest.raises(UnsafeKeyStorageError, match="is a symbolic link"):
        signing_key()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_a_trusted_key_owned_by_another_user_is_refused(home, tmp_path, monkeypatch, ed25519_pair):
    key = write(tmp_path / "colleague.pub", ed25519_pair["public_pem"], 0o644)
    os.chown(key, 65534, 65534)
    monkeypatch.setenv("MLCASK_TRUSTED_KEYS", str(key))
    with pytest.raises(UnsafeKeyStorageError, match="belongs to user id 65534"):
        trusted_keys()


@pytest.mark.parametrize("variable", ["MLCASK_SIGNING_KEY_FILE", "MLCASK_TRUSTED_KEYS"])
def test_relative_key_paths_are_refused(home, tmp_path, monkeypatch, variable):
    write(tmp_path / "team.key", SECRET, 0o600)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, "team.key")
    with pytest.raises(InvalidArgumentError, match="'team.key' is relative; give an absolute path"):
        trusted_keys() if variable == "MLCASK_TRUSTED_KEYS" else signing_key()


def test_a_public_key_file_may_be_world_readable(home, tmp_path, monkeypatch, ed25519_pair):
    key = write(tmp_path / "colleague.pub", ed25519_pair["public_pem"], 0o644)
    monkeypatch.setenv("MLCASK_TRUSTED_KEYS", str(key))
    assert any(k.algorithm == "ed25519" for k in trusted_keys().values())


# -- strict parsing: a public key is never an HMAC secret --------------------------------------

@pytest.mark.parametrize("variant", ["openssh", "openssh-comment-lines", "pem-bom", "pem-comments", "pem-crlf"])
def test_public_keys_in_every_spelling_are_read_as_ed25519(ed25519_pair, variant):
    pem, ssh = ed25519_pair["public_pem"], ed25519_pair["openssh"]
    data = {
        "openssh": ssh + b" alice@laptop\n",
        "openssh-comment-lines": b"# the team's key\n" + ssh + b"\n",
        "pem-bom": b"\xef\xbb\xbf" + pem,
        "pem-comments": b"# rotated 2026-11\n# owner: platform team\n" + pem,
        "pem-crlf": pem.replace(b"\n", b"\r\n"),
    }[variant]
    key = parse_key(data, "test")
    assert key.algorithm == "ed25519" and not key.can_sign
    assert key.key_id == parse_key(pem, "test").key_id


@pytest.mark.parametrize("data", [
    b"-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n",
    b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n",  # no END line
    b"ssh-ed25519 AAAA-not-a-key",
    b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob@host",
    b"this is a sentence, not a secret",
    b"line-one-of-a-secret\nline-two-of-a-secret\n",
])
def test_key_files_that_are_neither_a_key_nor_a_secret_are_refused(data):
    with pytest.raises(InvalidArgumentError) as info:
        parse_key(data, "'k'")
    assert "hmac" not in str(info.value).lower() or "neither" in str(info.value)


def test_an_openssh_private_key_signs(home, tmp_path, monkeypatch, ed25519_pair):
    key = write(tmp_path / "id_ed25519", ed25519_pair["openssh_private"], 0o600)
    monkeypatch.setenv("MLCASK_SIGNING_KEY_FILE", str(key))
    assert signing_key().algorithm == "ed25519" and signing_key().can_sign


def _forge_hmac_signature(folder, secret: bytes) -> None:
    manifest_file = folder / MANIFEST_FILE_NAME
    manifest = json.loads(manifest_file.read_text())
    key_id = "hmac:" + hmac.new(secret, b"mlcask key id", hashlib.sha256).hexdigest()[:16]
    value = hmac.new(secret, _signed_payload(manifest), hashlib.sha256).hexdigest()
    manifest["signature"] = {"algorithm": "hmac-sha256", "key_id": key_id, "value": value}
    manifest_file.write_text(json.dumps(manifest))


@pytest.mark.parametrize("spelling", ["pem-bom", "pem-comments", "openssh", "bare-base64"])
def test_holding_the_public_key_file_does_not_let_an_attacker_sign(home, tmp_path, monkeypatch, ed25519_pair,
                                                                   spelling):
    """The attacker reads the public key file listed in MLCASK_TRUSTED_KEYS and uses its bytes
    as an HMAC secret to sign a pickle: the model must not load as trusted."""
    public = {
        "pem-bom": b"\xef\xbb\xbf" + ed25519_pair["public_pem"],
        "pem-comments": b"# team key\n" + ed25519_pair["public_pem"],
        "openssh": ed25519_pair["openssh"] + b" team\n",
        # the base64 body alone: not recognisably a public key, so it could pass for a secret,
        # but a file readable by others is never trusted as one
        "bare-base64": base64.b64encode(b"x" * 32) + b"\n",
    }[spelling]
    key_file = write(tmp_path / "team.pub", public, 0o644)
    folder = tmp_path / "evil"
    mlcask.pyfunc.save_model(folder, python_model=Doubler())
    _forge_hmac_signature(folder, public.removeprefix(b"\xef\xbb\xbf").strip())
    monkeypatch.setenv("MLCASK_HOME", str(tmp_path / "victim-home"))
    monkeypatch.setenv("MLCASK_TRUSTED_KEYS", str(key_file))
    try:
        trusted = verify_model(folder).trusted
    except UnsafeKeyStorageError:
        trusted = False  # the bare body is taken for a secret, and refused as readable by others
    assert not trusted
    with pytest.raises((UnsafeModelError, UnsafeKeyStorageError)):
        mlcask.pyfunc.load_model(folder)


def test_key_from_file_rereads_a_changed_file(home, tmp_path):
    key = write(tmp_path / "k", SECRET, 0o600)
    first = key_from_file(key).key_id
    write(key, SECRET + "-rotated", 0o600)
    assert key_from_file(key).key_id != first


def test_a_home_planted_between_the_check_and_the_key_creation_is_refused(home, tmp_path, monkeypatch,
                                                                          xgb_classifier):
    from pathlib import Path

    real_mkdir = Path.mkdir

    def attacker_first(self, *args, **kwargs):
        if self == home:
            real_mkdir(self, mode=0o777)
            self.chmod(0o777)  # the attacker's folder, open to all
        return real_mkdir(self, *args, **{**kwargs, "exist_ok": True})

    monkeypatch.setattr(Path, "mkdir", attacker_first)
    with pytest.raises(UnsafeKeyStorageError, match="writable by others"):
        mlcask.xgboost.save_model(xgb_classifier, tmp_path / "m")
    assert not (home / "signing.key").exists()
