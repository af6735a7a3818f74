"""Credentials: what a username, password and token may be, how they are hashed and checked.

Passwords and tokens are stored as Argon2id hashes (argon2-cffi's ``PasswordHasher``).
Checking a credential for a user that does not exist still verifies a hash (a dummy
one), so the time of a refusal does not tell whether the user exists. At most
``max_concurrent_hashes`` hashes run at once: each takes tens of MiB, and a flood of
wrong passwords must not exhaust memory.

A verified credential is remembered for a short time (:class:`CredentialCache`) so that
a client logging hundreds of batches a second pays the hash once. The cache is keyed by
an HMAC of the credential under a random per-process key (the credential itself is never
kept) and holds the stored hash the credential was verified against: a hit counts only
while the user's (or token's) stored hash is still that one, so a password change, a
deleted user or a revoked token takes effect at once, in every worker process.

Tokens look like ``mlc_<id>_<secret>``: ``id`` finds the token's row, ``secret`` (32
random bytes) is checked against its hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

from mlcask.exceptions import InvalidArgumentError

__all__ = ["BasicCredentials", "CredentialCache", "FailureThrottle", "Hasher", "TokenParts", "check_password",
           "check_username", "new_token", "parse_authorization", "split_token"]

MAX_USERNAME_CHARS = 255
MAX_PASSWORD_CHARS = 1024
MAX_HEADER_CHARS = 8192
TOKEN_PREFIX = "mlc_"


def check_username(username: object) -> str:
    """``username`` in NFC form, or an InvalidArgumentError saying what a username may be.

    Any printable Unicode is accepted, except ``:`` (HTTP Basic puts the password after
    the first colon, so such a user could never sign in) and surrounding spaces.
    """
    if not isinstance(username, str):
        raise InvalidArgumentError(f"Invalid username {repr(username)[:80]}: expected a string.")
    name = unicodedata.normalize("NFC", username)
    if not name:
        raise InvalidArgumentError("Invalid username '': a username cannot be empty.")
    if len(name) > MAX_USERNAME_CHARS:
        raise InvalidArgumentError(f"Invalid username: {len(name)} characters, at most {MAX_USERNAME_CHARS} "
                                   "are allowed.")
    if ":" in name or name != name.strip() or any(not ch.isprintable() for ch in name):
        raise InvalidArgumentError(f"Invalid username {name[:80]!r}: expected printable characters without ':' "
                                   "and without leading or trailing spaces.")
    return name


def check_password(password: object, what: str = "password") -> str:
    """``password`` unchanged, or an InvalidArgumentError (not a string, empty, too long, a NUL)."""
    if not isinstance(password, str):
        raise InvalidArgumentError(f"Invalid {what}: expected a string, got {type(password).__name__}.")
    if not password:
        raise InvalidArgumentError(f"Invalid {what}: it cannot be empty.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidArgumentError(f"Invalid {what}: {len(password)} characters, at most {MAX_PASSWORD_CHARS} "
                                   "are allowed.")
    if "\x00" in password:
        raise InvalidArgumentError(f"Invalid {what}: it cannot contain a NUL character.")
    return password


class Hasher:
    """Argon2id hashing and verification, with a dummy hash for unknown users."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65_536, parallelism: int = 4,
                 max_concurrent: int = 4) -> None:
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        self._dummy = self.hash(secrets.token_urlsafe(16))

    def hash(self, secret: str) -> str:
        with self._slots:
            return self._hasher.hash(secret)

    def verify(self, stored_hash: str | None, secret: str) -> bool:
        """Whether ``secret`` matches ``stored_hash``; with None, a dummy hash is verified (and False returned)."""
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        target = stored_hash if stored_hash is not None else self._dummy
        try:
            with self._slots:
                matched = self._hasher.verify(target, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except Exception:  # a hash this version cannot read: keep it, verification decides
            return False


class CredentialCache:
    """Recently verified credentials: HMAC(credential) -> (stored hash, expiry); bounded LRU."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max(1, max_entries)
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, kind: str, name: str, secret: str) -> bytes:
        message = b"\x00".join(part.encode("utf-8", "surrogatepass") for part in (kind, name, secret))
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def matches(self, key: bytes, stored_hash: str) -> bool:
        """Whether ``key`` was verified against ``stored_hash`` less than ``ttl`` seconds ago."""
        if self.ttl <= 0:
            return False
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            if entry[1] < time.monotonic():
                del self._entries[key]
                return False
            self._entries.move_to_end(key)
        return hmac.compare_digest(entry[0].encode(), stored_hash.encode())

    def remember(self, key: bytes, stored_hash: str) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (stored_hash, time.monotonic() + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class FailureThrottle:
    """Refuses a (client, username) pair for a while after ``limit`` failed sign-ins within ``window`` seconds.

    Password guessing from one address is slowed to ``limit`` guesses per window, without
    letting anyone lock a user out from everywhere (the pair includes the client's address).
    Bounded: the oldest pairs are forgotten first.
    """

    def __init__(self, limit: int = 20, window: float = 300.0, max_entries: int = 100_000) -> None:
        self.limit, self.window, self.max_entries = limit, window, max_entries
        self._failures: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> list[float]:
        times = [t for t in self._failures.get(key, ()) if t > now - self.window]
        if times:
            self._failures[key] = times
        else:
            self._failures.pop(key, None)
        return times

    def retry_after(self, client: str, username: str) -> float:
        """Seconds until the pair may try again (0 when it may now)."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            times = self._recent((client, username), now)
        return max(0.0, times[0] + self.window - now) if len(times) >= self.limit else 0.0

    def failed(self, client: str, username: str) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            times = self._recent((client, username), now)
            self._failures[(client, username)] = [*times[-self.limit:], now]
            self._failures.move_to_end((client, username))
            while len(self._failures) > self.max_entries:
                self._failures.popitem(last=False)

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.pop((client, username), None)


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class TokenParts:
    public_id: str
    secret: str


def parse_authorization(header: str | None) -> BasicCredentials | TokenParts | None:
    """The credentials of an ``Authorization`` header, or None when it holds none we accept.

    ``Basic <base64(user:password)>`` (UTF-8; the username is NFC-normalised like stored
    names) and ``Bearer <token>``. Malformed headers (bad base64, no colon, bytes that
    are not UTF-8, an unknown scheme) are treated like missing credentials: a 401.
    """
    if not header or len(header) > MAX_HEADER_CHARS:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        username, colon, password = decoded.partition(":")
        if not colon or not username or not password:
            return None
        return BasicCredentials(unicodedata.normalize("NFC", username), password)
    if scheme.lower() == "bearer":
        return split_token(value)
    return None


def new_token() -> tuple[str, str, str]:
    """A new token: (the token shown to its owner once, its public id, its secret)."""
    public_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}{public_id}_{secret}", public_id, secret


def split_token(token: str) -> TokenParts | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    public_id, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or len(public_id) != 16 or not secret or len(secret) > 128:
        return None
    if any(ch not in "0123456789abcdef" for ch in public_id):
        return None
    return TokenParts(public_id, secret)
