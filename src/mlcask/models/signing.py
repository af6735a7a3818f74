"""Signing keys: which key signs the models this process saves, and which keys it trusts.

Two kinds of key:

- **HMAC-SHA256**, a shared secret of at least 16 bytes: the value of ``MLCASK_SIGNING_KEY``,
  or a file holding it. Whoever verifies needs the same secret.
- **Ed25519** (needs the ``cryptography`` package, ``pip install "mlcask[signing]"``): a PEM
  private key signs; anyone holding the PEM public key verifies.

The key that signs is, in order: ``MLCASK_SIGNING_KEY`` (the secret itself),
``MLCASK_SIGNING_KEY_FILE`` (an HMAC secret or a PEM private key), or the local key
``$MLCASK_HOME/signing.key`` (``~/.mlcask`` by default), created with 32 random bytes and
mode 0600 the first time a model is saved. The keys trusted when loading are the signing
key, the local key, and the files listed in ``MLCASK_TRUSTED_KEYS`` (separated by
``os.pathsep``; HMAC secrets or PEM public keys). ``MLCASK_SIGNING=0`` saves models
unsigned.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError

SIGNING_KEY_ENV = "MLCASK_SIGNING_KEY"
SIGNING_KEY_FILE_ENV = "MLCASK_SIGNING_KEY_FILE"
TRUSTED_KEYS_ENV = "MLCASK_TRUSTED_KEYS"
SIGNING_ENV = "MLCASK_SIGNING"
HOME_ENV = "MLCASK_HOME"
LOCAL_KEY_FILE_NAME = "signing.key"

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
MIN_SECRET_BYTES = 16
_PEM = b"-----BEGIN"


@dataclass(frozen=True)
class SigningKey:
    """A key that signs and verifies manifests; ``source`` says where it came from."""

    algorithm: str
    key_id: str
    source: str
    secret: bytes | None = field(default=None, repr=False)  # HMAC
    private_key: Any = field(default=None, repr=False)  # Ed25519, only when it can sign
    public_key: Any = field(default=None, repr=False)  # Ed25519

    @property
    def can_sign(self) -> bool:
        return self.secret is not None or self.private_key is not None

    def sign(self, payload: bytes) -> str:
        if self.secret is not None:
            return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()
        if self.private_key is None:
            raise InvalidArgumentError(f"The key {self.key_id} from {self.source} is a public key; it cannot sign.")
        return self.private_key.sign(payload).hex()

    def verify(self, payload: bytes, signature: str) -> bool:
        if self.secret is not None:
            return hmac.compare_digest(self.sign(payload), signature)
        from cryptography.exceptions import InvalidSignature

        try:
            self.public_key.verify(bytes.fromhex(signature), payload)
        except (InvalidSignature, ValueError):
            return False
        return True


def hmac_key(secret: bytes, source: str) -> SigningKey:
    if len(secret) < MIN_SECRET_BYTES:
        raise InvalidArgumentError(f"The HMAC signing key from {source} is {len(secret)} bytes long; use at least "
                                   f"{MIN_SECRET_BYTES} random bytes (for instance `openssl rand -hex 32`).")
    # The id is itself an HMAC, so it tells nothing about the secret.
    key_id = "hmac:" + hmac.new(secret, b"mlcask key id", hashlib.sha256).hexdigest()[:16]
    return SigningKey(HMAC_SHA256, key_id, source, secret=secret)


def _ed25519_key(pem: bytes, source: str) -> SigningKey:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise InvalidArgumentError(f"{source} holds a PEM key; Ed25519 keys need the 'cryptography' package "
                                   "(pip install \"mlcask[signing]\").") from None
    private = None
    try:
        if b"PRIVATE KEY" in pem:
            private = serialization.load_pem_private_key(pem, password=None)
            public = private.public_key()
        else:
            public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise InvalidArgumentError(f"Cannot read the PEM key in {source}: {exc}") from None
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise InvalidArgumentError(f"The PEM key in {source} is a {type(public).__name__}; mlcask signs with "
                                   "Ed25519 keys only.")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]
    return SigningKey(ED25519, key_id, source, private_key=private, public_key=public)


_file_cache: dict[tuple[str, int, int], SigningKey] = {}


def key_from_file(path: str | os.PathLike) -> SigningKey:
    """The key in ``path``: a PEM Ed25519 key, or an HMAC secret (the file's bytes, stripped)."""
    file = Path(path).expanduser()
    try:
        stat = file.stat()
    except OSError as exc:
        raise InvalidArgumentError(f"Cannot read the key file '{file}': {exc.strerror}.") from None
    cache_key = (str(file.absolute()), stat.st_mtime_ns, stat.st_size)
    key = _file_cache.get(cache_key)
    if key is None:
        data = file.read_bytes().strip()
        key = _ed25519_key(data, f"'{file}'") if data.startswith(_PEM) else hmac_key(data, f"'{file}'")
        _file_cache[cache_key] = key
    return key


def mlcask_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".mlcask").expanduser()


def local_key_path() -> Path:
    return mlcask_home() / LOCAL_KEY_FILE_NAME


def _create_local_key(file: Path) -> None:
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = file.with_name(f".{file.name}.{os.getpid()}-{threading.get_ident()}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    try:
        os.link(staging, file)  # never replaces a key another process created first
    except FileExistsError:
        pass
    finally:
        staging.unlink()


def local_key(create: bool = False) -> SigningKey | None:
    """The machine's own key (created, mode 0600, when ``create`` and missing)."""
    file = local_key_path()
    if not file.exists():
        if not create:
            return None
        _create_local_key(file)
    return key_from_file(file)


def signing_key() -> SigningKey | None:
    """The key that signs saved models, or None when ``MLCASK_SIGNING=0``."""
    if os.environ.get(SIGNING_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    secret = os.environ.get(SIGNING_KEY_ENV)
    if secret:
        return hmac_key(secret.encode(), f"${SIGNING_KEY_ENV}")
    path = os.environ.get(SIGNING_KEY_FILE_ENV)
    if path:
        key = key_from_file(path)
        if not key.can_sign:
            raise InvalidArgumentError(f"${SIGNING_KEY_FILE_ENV} points at '{path}', a public key; "
                                       "signing needs the private key.")
        return key
    try:
        return local_key(create=True)
    except OSError as exc:  # a read-only home: save unsigned rather than not at all
        _warn_once(f"mlcask could not create its local signing key '{local_key_path()}' ({exc.strerror}); "
                   f"models are saved unsigned. Set {HOME_ENV} to a writable folder, or {SIGNING_KEY_ENV}.")
        return None


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, stacklevel=3)


def trusted_keys() -> dict[str, SigningKey]:
    """The keys whose signatures make a model trusted here, by key id."""
    keys: list[SigningKey | None] = [local_key()]
    secret = os.environ.get(SIGNING_KEY_ENV)
    if secret:
        keys.append(hmac_key(secret.encode(), f"${SIGNING_KEY_ENV}"))
    if os.environ.get(SIGNING_KEY_FILE_ENV):
        keys.append(key_from_file(os.environ[SIGNING_KEY_FILE_ENV]))
    for path in filter(None, os.environ.get(TRUSTED_KEYS_ENV, "").split(os.pathsep)):
        keys.append(key_from_file(path))
    return {key.key_id: key for key in keys if key is not None}


def generate_ed25519_key(private_file: str | os.PathLike, public_file: str | os.PathLike) -> SigningKey:
    """Write a new Ed25519 key pair as PEM files (the private one mode 0600)."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise InvalidArgumentError("Ed25519 keys need the 'cryptography' package "
                                   "(pip install \"mlcask[signing]\").") from None
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    descriptor = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    Path(public_file).write_bytes(public_pem)
    return key_from_file(private_file)
