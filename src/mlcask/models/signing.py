"""Signing keys: which key signs the models this process saves, and which keys it trusts.

Two kinds of key:

- **HMAC-SHA256**, a shared secret of at least 16 bytes: the value of ``MLCASK_SIGNING_KEY``,
  or a file holding it. Whoever verifies needs the same secret.
- **Ed25519** (needs the ``cryptography`` package, ``pip install "mlcask[signing]"``): a PEM
  (or OpenSSH) private key signs; anyone holding the public key (PEM, or an OpenSSH
  ``ssh-ed25519 ...`` line) verifies.

The key that signs is, in order: ``MLCASK_SIGNING_KEY`` (the secret itself),
``MLCASK_SIGNING_KEY_FILE`` (an HMAC secret or a PEM private key), or the local key
``$MLCASK_HOME/signing.key`` (``~/.mlcask`` by default), created with 32 random bytes and
mode 0600 the first time a model is saved. The keys trusted when loading are the signing
key, the local key, and the files listed in ``MLCASK_TRUSTED_KEYS`` (separated by
``os.pathsep``, absolute paths; HMAC secrets or public keys). ``MLCASK_SIGNING=0`` saves
models unsigned.

Key files are checked every time they are read (:mod:`mlcask.models.home`): a link, another
user's file or one others may write is refused, and so is a secret (HMAC secret, private
key) that others may read. Whatever looks like a public key is read as one or refused,
never taken as an HMAC secret: holding a public key file must not let anyone sign.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import re
import secrets
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.home import HOME_ENV, check_key_file, check_private_folder, mlcask_home

SIGNING_KEY_ENV = "MLCASK_SIGNING_KEY"
SIGNING_KEY_FILE_ENV = "MLCASK_SIGNING_KEY_FILE"
TRUSTED_KEYS_ENV = "MLCASK_TRUSTED_KEYS"
SIGNING_ENV = "MLCASK_SIGNING"
LOCAL_KEY_FILE_NAME = "signing.key"

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
MIN_SECRET_BYTES = 16


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


def _crypto() -> tuple[Any, Any]:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise InvalidArgumentError("Ed25519 keys need the 'cryptography' package "
                                   "(pip install \"mlcask[signing]\").") from None
    return serialization, ed25519


def _ed25519_key(public: Any, private: Any, source: str) -> SigningKey:
    serialization, ed25519 = _crypto()
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise InvalidArgumentError(f"The key in {source} is a {type(public).__name__}; mlcask signs with "
                                   "Ed25519 keys only.")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]
    return SigningKey(ED25519, key_id, source, private_key=private, public_key=public)


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_OPENSSH_PUBLIC = re.compile(rb"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( .*)?$")
_SECRET = re.compile(rb"[\x21-\x7e]+")  # one printable token, no spaces: what a generated secret looks like


def parse_key(data: bytes, source: str) -> SigningKey:
    """The key in ``data``: a PEM or OpenSSH Ed25519 key (public or private), or an HMAC secret.

    Whatever looks like a public key (PEM armour, an OpenSSH ``ssh-...`` line, even with a
    byte-order mark or comment lines around it) is read as a key or refused, never taken
    as a secret. A secret is one token of printable characters, at least 16 bytes long.
    """
    text = data.removeprefix(b"\xef\xbb\xbf").strip()
    if b"-----BEGIN" in text:
        return _pem_key(text, source)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith(b"#")]
    if any(_OPENSSH_PUBLIC.match(line) or line.startswith((b"ssh-", b"ecdsa-", b"sk-")) for line in lines):
        if len(lines) != 1:
            raise InvalidArgumentError(f"{source} holds {len(lines)} OpenSSH key lines; a key file holds one key.")
        serialization, _ = _crypto()
        try:
            public = serialization.load_ssh_public_key(lines[0])
        except Exception as exc:  # cryptography raises ValueError, TypeError or UnsupportedAlgorithm
            raise InvalidArgumentError(f"Cannot read the OpenSSH public key in {source}: {exc}") from None
        return _ed25519_key(public, None, source)
    if not _SECRET.fullmatch(text):
        raise InvalidArgumentError(
            f"{source} holds neither a PEM or OpenSSH Ed25519 key nor an HMAC secret (one token of printable "
            "characters, such as the output of `openssl rand -hex 32`); refusing to use it as a key.")
    return hmac_key(text, source)


def _pem_key(text: bytes, source: str) -> SigningKey:
    blocks = _PEM_BLOCK.findall(text)
    match = _PEM_BLOCK.search(text)
    if match is None or len(blocks) != 1:
        raise InvalidArgumentError(f"{source} holds PEM armour but not exactly one whole PEM key block; "
                                   "refusing to use it as a key.")
    block, label = match.group(0), match.group(1)
    serialization, _ = _crypto()
    private = None
    try:
        if label == b"OPENSSH PRIVATE KEY":
            private = serialization.load_ssh_private_key(block, password=None)
        elif label.endswith(b"PRIVATE KEY"):
            private = serialization.load_pem_private_key(block, password=None)
        public = private.public_key() if private is not None else serialization.load_pem_public_key(block)
    except Exception as exc:  # cryptography raises ValueError, TypeError or UnsupportedAlgorithm
        raise InvalidArgumentError(f"Cannot read the PEM key in {source}: {exc}") from None
    return _ed25519_key(public, private, source)


_file_cache: dict[tuple[Any, ...], SigningKey] = {}


def key_from_file(path: str | os.PathLike, what: str = "key file", to_sign: bool = False) -> SigningKey:
    """The key in the file at absolute ``path`` (see :func:`parse_key`), after checking the file.

    The file must be a regular file (not a link) of yours that others cannot write; one that
    holds a secret (an HMAC secret or a private key) must not be readable by others either.
    ``to_sign``: the key will sign, so it must be a secret.
    """
    file = Path(path).expanduser()
    if not file.is_absolute():
        raise InvalidArgumentError(f"The {what} path '{path}' is relative; give an absolute path (a relative one "
                                   "would name a different file in every working folder).")
    try:
        descriptor = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            check_key_file(file, os.lstat(file), what, secret=True)
        raise InvalidArgumentError(f"Cannot read the {what} '{file}': {exc.strerror}.") from None
    try:
        st = os.fstat(descriptor)
        check_key_file(file, st, what, secret=False)
        cache_key = (str(file), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        key = _file_cache.get(cache_key)
        if key is None:
            with os.fdopen(os.dup(descriptor), "rb") as handle:
                key = parse_key(handle.read(1 << 16), f"'{file}'")
            _file_cache[cache_key] = key
    finally:
        os.close(descriptor)
    if key.can_sign:
        check_key_file(file, st, what, secret=True)
    elif to_sign:
        raise InvalidArgumentError(f"The {what} '{file}' holds a public key; signing needs the private key.")
    return key


def local_key_path() -> Path:
    return mlcask_home() / LOCAL_KEY_FILE_NAME


def _create_local_key(file: Path) -> None:
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_private_folder(file.parent, HOME_ENV)  # again: someone may have made it first
    staging = file.with_name(f".{file.name}.{os.getpid()}-{threading.get_ident()}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
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
    if not os.path.lexists(file):
        if not create:
            return None
        _create_local_key(file)
    return key_from_file(file, "local signing key")


def signing_key() -> SigningKey | None:
    """The key that signs saved models, or None when ``MLCASK_SIGNING=0``."""
    if os.environ.get(SIGNING_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    secret = os.environ.get(SIGNING_KEY_ENV)
    if secret:
        return hmac_key(secret.encode(), f"${SIGNING_KEY_ENV}")
    path = os.environ.get(SIGNING_KEY_FILE_ENV)
    if path:
        return key_from_file(path, f"signing key file (${SIGNING_KEY_FILE_ENV})", to_sign=True)
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
        keys.append(key_from_file(os.environ[SIGNING_KEY_FILE_ENV], f"signing key file (${SIGNING_KEY_FILE_ENV})"))
    for path in filter(None, os.environ.get(TRUSTED_KEYS_ENV, "").split(os.pathsep)):
        keys.append(key_from_file(path, f"trusted key file (${TRUSTED_KEYS_ENV})"))
    return {key.key_id: key for key in keys if key is not None}


def generate_ed25519_key(private_file: str | os.PathLike, public_file: str | os.PathLike) -> SigningKey:
    """Write a new Ed25519 key pair as PEM files (the private one mode 0600)."""
    serialization, ed25519 = _crypto()
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    descriptor = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    Path(public_file).write_bytes(public_pem)
    return key_from_file(Path(private_file).absolute(), "private key file")
