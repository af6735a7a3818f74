"""What a model being loaded may do: run code (pickle, cloudpickle, a python_model, its
``code/``), and which skops types it may build.

A load first pins and verifies the folder (:func:`mlcask.models.integrity.open_verified`),
then runs under a :class:`LoadTrust`, through which the flavors read the folder's files.
Code may run only when the model's manifest is signed by a trusted key, or the caller
allows it (``allow_pickle=True`` or ``MLCASK_ALLOW_PICKLE=1``). skops builds the types
skops trusts by default, the types the caller names, and the types recorded in the model
only when its signature verified (or the caller allowed code, which is more); a trust list
read from an unsigned folder counts for nothing by itself.
``MLCASK_REQUIRE_SIGNATURE=1`` refuses every model not signed by a trusted key.

A refusal names the remedies that work where the load was asked for: the arguments of
the ``load_model`` that was called (``entry_point``), and the ``mlcask`` command's flags
in :attr:`~mlcask.exceptions.UnsafeModelError.cli_message`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from mlcask.exceptions import ModelFormatError, UnsafeModelError
from mlcask.models.integrity import Verification, VerifiedFolder, open_verified

ALLOW_PICKLE_ENV = "MLCASK_ALLOW_PICKLE"
REQUIRE_SIGNATURE_ENV = "MLCASK_REQUIRE_SIGNATURE"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class EntryPoint:
    """The function a load was asked through: its name, and whether it takes ``skops_trusted_types``."""

    name: str = "mlcask.pyfunc.load_model"
    takes_skops_types: bool = False


@dataclass(frozen=True)
class LoadTrust:
    """The trust a load runs under (see the module docstring), and the folder it reads."""

    folder: VerifiedFolder
    caller_allows_code: bool = False
    caller_skops_types: tuple[str, ...] = ()
    entry_point: EntryPoint = EntryPoint()

    @property
    def verification(self) -> Verification:
        return self.folder.verification

    @property
    def code_allowed(self) -> bool:
        return self.verification.trusted or self.caller_allows_code

    def _why_untrusted(self) -> str:
        signed = self.verification.signed_by
        return (f"it is signed by key {signed}, which is not trusted here" if signed
                else "it is not signed by a trusted key")

    def _sign_or_trust(self) -> str:
        return (f"sign it with `mlcask models sign -m {self.folder.path}` after reviewing it, or trust the key "
                "that signed it (MLCASK_TRUSTED_KEYS; see SECURITY.md)")

    def require_code(self, what: str) -> None:
        """Raise unless this load may run code; ``what`` names the thing that would run it."""
        if self.code_allowed:
            return
        head = (f"Refusing to load {what} from the model in '{self.folder.path}': loading it can run arbitrary "
                f"code, and {self._why_untrusted()}. If you trust this model, ")
        python = (f"pass allow_pickle=True to {self.entry_point.name}() (or set MLCASK_ALLOW_PICKLE=1), or "
                  f"{self._sign_or_trust()}.")
        cli = f"add --allow-pickle to the command (or set MLCASK_ALLOW_PICKLE=1), or {self._sign_or_trust()}."
        raise UnsafeModelError(head + python, head + cli)

    def refuse_skops_types(self, file: str, refused: list[str]) -> None:
        """Raise naming the skops types of ``file`` that this load may not build."""
        unsigned = "" if self.verification.trusted else (
            " The model is not signed by a trusted key, so the types its MLmodel records are not trusted.")
        head = f"The skops file '{file}' contains types that are not trusted: {refused}.{unsigned} If you trust " \
               "this model, "
        if self.entry_point.takes_skops_types:
            python = (f"pass skops_trusted_types={refused} to {self.entry_point.name}(), or allow_pickle=True "
                      "(which trusts every type the model records)")
        else:
            python = (f"pass allow_pickle=True to {self.entry_point.name}() (which trusts every type the model "
                      f"records), or load it natively with skops_trusted_types={refused} "
                      "(mlcask.sklearn.load_model or mlcask.lightgbm.load_model)")
        cli = "add --allow-pickle to the command (it trusts every type the model records)"
        tail = f", or {self._sign_or_trust()}."
        raise UnsafeModelError(head + python + tail, head + cli + tail)

    def skops_types(self, recorded: Iterable[str] | None) -> set[str]:
        """The types beyond skops' defaults a skops load may build. A caller who allows
        code to run allows, a fortiori, the types the model records."""
        allowed = set(self.caller_skops_types)
        if self.code_allowed:
            allowed.update(recorded or ())
        return allowed


_current: ContextVar[LoadTrust | None] = ContextVar("mlcask_load_trust", default=None)


def current_trust() -> LoadTrust:
    """The trust of the load in progress; only flavor loaders, inside :func:`loading`, ask."""
    trust = _current.get()
    if trust is None:
        raise RuntimeError("current_trust() is only available while a model loads (inside loading()).")
    return trust


def open_model(folder: str | os.PathLike, allow_pickle: bool | None = None,
               skops_trusted_types: Iterable[str] | None = None,
               entry_point: EntryPoint = EntryPoint()) -> LoadTrust:
    """Pin and verify ``folder`` and decide what loading it may do.

    ``allow_pickle`` None means: ``MLCASK_ALLOW_PICKLE``, or what the load this one runs
    inside allowed (a custom model loading the models it ships). Run the load in
    ``with loading(trust)``, which closes the folder at the end.
    """
    verified = open_verified(folder)
    try:
        verification = verified.verification
        if _env_flag(REQUIRE_SIGNATURE_ENV) and not verification.trusted:
            raise UnsafeModelError(
                f"MLCASK_REQUIRE_SIGNATURE is set and the model in '{folder}' is not signed by a trusted key "
                f"({'signed by untrusted key ' + verification.signed_by if verification.signed_by else 'unsigned'})."
            )
    except BaseException:
        verified.close()
        raise
    if allow_pickle is None:
        outer = _current.get()
        allow_pickle = _env_flag(ALLOW_PICKLE_ENV) or (outer is not None and outer.caller_allows_code)
    return LoadTrust(verified, bool(allow_pickle), tuple(skops_trusted_types or ()), entry_point)


@contextmanager
def loading(trust: LoadTrust) -> Iterator[LoadTrust]:
    """Run a block (a flavor's load) under ``trust``; the pinned folder is closed after it."""
    token = _current.set(trust)
    try:
        yield trust
    finally:
        _current.reset(token)
        trust.folder.close()


def model_file_name(folder: Path, name: object, what: str) -> str:
    """``name`` read from MLmodel as a relative, ``/``-separated path inside ``folder``."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ModelFormatError(f"Malformed MLmodel in '{folder}': the {what} path must be a non-empty "
                               f"string, got {name!r}.")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith(("/", "\\")):
        raise ModelFormatError(f"Malformed MLmodel in '{folder}': the {what} '{name}' lies outside the "
                               "model folder.")
    return "/".join(parts)
