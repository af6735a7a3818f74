"""Patching a library's methods for autologging, safely and reversibly.

A patched method calls ``wrapper(original, *args, **kwargs)``. The wrapper decides
what to log around the call; ``original`` is the library's own method. Two rules
keep training intact:

- an exception raised by the original (the user's training failing) propagates
  unchanged;
- an exception raised by the wrapper's own logging becomes one warning, and the
  caller gets exactly what the original returned (the original is called if the
  wrapper failed before calling it).

Patches are recorded per integration and ``revert_patches`` puts back exactly what was
there (an inherited method is removed again rather than copied down).
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mlcask.autologging.config import get_config

_logger = logging.getLogger("mlcask.autolog")
_MISSING = object()
_state = threading.local()


@dataclass
class _Patch:
    owner: Any
    name: str
    previous: Any  # the owner's own attribute before patching, or _MISSING if inherited
    patched: Any  # what safe_patch set: the wrapper (a staticmethod of it for a static method)


_patches: dict[str, list[_Patch]] = {}


class _OriginalCall:
    """Calls the original once, remembering whether it ran and what it returned."""

    __slots__ = ("function", "called", "result")

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.called = False
        self.result: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.called = True
        try:
            self.result = self.function(*args, **kwargs)
        except BaseException as exc:
            exc.__mlcask_from_original__ = True  # type: ignore[attr-defined]
            raise
        return self.result


def _active(integration: str) -> set[str]:
    active = getattr(_state, "active", None)
    if active is None:
        active = _state.active = set()
    return active


def inside_patched_call(integration: str) -> bool:
    """Whether this thread is already inside a patched call of ``integration``."""
    return integration in _active(integration)


@contextmanager
def nested_scope(integration: str) -> Iterator[None]:
    """Run a block as if inside a patched call of ``integration`` on this thread: patched calls
    in it go straight to the originals (e.g. a worker thread running part of an outer ``fit``)."""
    active = _active(integration)
    outermost = integration not in active
    active.add(integration)
    try:
        yield
    finally:
        if outermost:
            active.discard(integration)


def warn_once(integration: str, message: str) -> None:
    """Report an autologging problem; silenced by ``autolog(silent=True)``."""
    config = get_config(integration) or {}
    if not config.get("silent"):
        warnings.warn(f"mlcask {integration} autologging: {message}", UserWarning, stacklevel=3)
    _logger.debug("%s autologging: %s", integration, message)


def safe_patch(integration: str, owner: Any, name: str,
               wrapper: Callable[..., Any], *, nested_calls_original: bool = True) -> None:
    """Replace ``owner.name`` with a call of ``wrapper(original, *args, **kwargs)``.

    A call made while this thread is already inside a patched call of the same
    integration (a Pipeline fitting its steps, ``XGBClassifier.fit`` calling
    ``xgboost.train``) goes straight to the original when ``nested_calls_original``.
    """
    raw = owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING
    original = getattr(owner, name)
    is_static = isinstance(raw, staticmethod)
    function = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else original

    @functools.wraps(function)
    def patched(*args: Any, **kwargs: Any) -> Any:
        # When patched on a class, look the original up through the instance's class so a
        # subclass's own override (also patched) is the one that runs.
        if get_config(integration) is None or (nested_calls_original and inside_patched_call(integration)):
            return function(*args, **kwargs)
        active = _active(integration)
        outermost = integration not in active  # False for a nested call with nested_calls_original=False
        active.add(integration)
        call = _OriginalCall(function)
        try:
            return wrapper(call, *args, **kwargs)
        except BaseException as exc:
            if getattr(exc, "__mlcask_from_original__", False):
                del exc.__mlcask_from_original__
                raise
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            warn_once(integration, f"logging failed and was skipped ({type(exc).__name__}: {exc})")
            return call.result if call.called else function(*args, **kwargs)
        finally:
            if outermost:  # a nested call must not end the outer call's "inside" state
                active.discard(integration)

    patched.__mlcask_patched__ = True  # type: ignore[attr-defined]
    installed = staticmethod(patched) if is_static else patched
    setattr(owner, name, installed)
    _patches.setdefault(integration, []).append(_Patch(owner, name, raw, installed))


def _replaced_from_outside(patch: _Patch) -> bool:
    """Whether ``patch.owner.name`` is no longer this patch, nor another autologging patch put over
    it: code outside autologging set or deleted it since (a ``mock.patch`` that was undone, the user)."""
    if hasattr(patch.owner, "__dict__"):  # its own attribute: one inherited from a base is not this patch
        current = patch.owner.__dict__.get(patch.name, _MISSING)
    else:
        current = getattr(patch.owner, patch.name, _MISSING)
    if current is patch.patched:
        return False
    function = current.__func__ if isinstance(current, (staticmethod, classmethod)) else current
    return not getattr(function, "__mlcask_patched__", False)


def revert_patches(integration: str) -> None:
    """Put back every attribute ``integration`` patched, exactly as it was; an attribute code outside
    autologging has set since is left as that code set it (undoing a ``mock.patch`` made around
    ``autolog()`` must not bring the mock back)."""
    for patch in reversed(_patches.pop(integration, [])):
        if _replaced_from_outside(patch):
            continue
        if patch.previous is _MISSING:
            try:
                delattr(patch.owner, patch.name)
            except AttributeError:
                pass
        else:
            setattr(patch.owner, patch.name, patch.previous)


def patched_attributes(integration: str) -> list[tuple[Any, str]]:
    return [(p.owner, p.name) for p in _patches.get(integration, [])]
