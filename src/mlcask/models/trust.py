"""What a model being loaded may do: run code (pickle, cloudpickle, a python_model, its
``code/``), and which skops types it may build.

A load first verifies the folder (:func:`mlcask.models.integrity.verify_model`), then
runs under a :class:`LoadTrust`. Code may run only when the model's manifest is signed
by a trusted key, or the caller allows it (``allow_pickle=True`` or
``MLCASK_ALLOW_PICKLE=1``). skops builds the types skops trusts by default, the types
the caller names, and the types recorded in the model only when its signature
verified (or the caller allowed code, which is more); a trust list read from an
unsigned folder counts for nothing by itself.
``MLCASK_REQUIRE_SIGNATURE=1`` refuses every model not signed by a trusted key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from mlcask.exceptions import UnsafeModelError
from mlcask.models.integrity import Verification, verify_model

ALLOW_PICKLE_ENV = "MLCASK_ALLOW_PICKLE"
REQUIRE_SIGNATURE_ENV = "MLCASK_REQUIRE_SIGNATURE"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class LoadTrust:
    """The trust a load runs under (see the module docstring)."""

    verification: Verification
    caller_allows_code: bool = False
    caller_skops_types: tuple[str, ...] = ()

    @property
    def code_allowed(self) -> bool:
        return self.verification.trusted or self.caller_allows_code

    def require_code(self, what: str) -> None:
        """Raise unless this load may run code; ``what`` names the thing that would run it."""
        if self.code_allowed:
            return
        folder = self.verification.folder
        signed = self.verification.signed_by
        why = (f"it is signed by key {signed}, which is not trusted here" if signed
               else "it is not signed by a trusted key")
        raise UnsafeModelError(
            f"Refusing to load {what} from the model in '{folder}': loading it can run arbitrary code, and {why}. "
            "If you trust this model, pass allow_pickle=True (or set MLCASK_ALLOW_PICKLE=1), or sign it with "
            f"`mlcask models sign -m {folder}` after reviewing it, or trust the key that signed it "
            "(MLCASK_TRUSTED_KEYS; see SECURITY.md)."
        )

    def skops_types(self, recorded: Iterable[str] | None) -> set[str]:
        """The types beyond skops' defaults a skops load may build. A caller who allows
        code to run allows, a fortiori, the types the model records."""
        allowed = set(self.caller_skops_types)
        if self.code_allowed:
            allowed.update(recorded or ())
        return allowed


_current: ContextVar[LoadTrust | None] = ContextVar("mlcask_load_trust", default=None)


def current_trust(folder: str | os.PathLike | None = None) -> LoadTrust:
    """The trust of the load in progress; outside any load, an unsigned one (env allowances only)."""
    trust = _current.get()
    if trust is None:
        return LoadTrust(Verification(Path(folder or "."), None), caller_allows_code=_env_flag(ALLOW_PICKLE_ENV))
    return trust


def open_model(folder: str | os.PathLike, allow_pickle: bool | None = None,
               skops_trusted_types: Iterable[str] | None = None) -> LoadTrust:
    """Verify ``folder`` and decide what loading it may do.

    ``allow_pickle`` None means: ``MLCASK_ALLOW_PICKLE``, or what the load this one runs
    inside allowed (a custom model loading the models it ships).
    """
    verification = verify_model(folder)
    if _env_flag(REQUIRE_SIGNATURE_ENV) and not verification.trusted:
        raise UnsafeModelError(
            f"MLCASK_REQUIRE_SIGNATURE is set and the model in '{folder}' is not signed by a trusted key "
            f"({'signed by untrusted key ' + verification.signed_by if verification.signed_by else 'unsigned'})."
        )
    if allow_pickle is None:
        outer = _current.get()
        allow_pickle = _env_flag(ALLOW_PICKLE_ENV) or (outer is not None and outer.caller_allows_code)
    return LoadTrust(verification, bool(allow_pickle), tuple(skops_trusted_types or ()))


@contextmanager
def loading(trust: LoadTrust) -> Iterator[LoadTrust]:
    """Run a block (a flavor's load) under ``trust``."""
    token = _current.set(trust)
    try:
        yield trust
    finally:
        _current.reset(token)
