"""What every built-in flavor shares when loading: find its files, wrap its predict."""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidInputError, ModelFormatError
from mlcask.models.model import Model
from mlcask.models.trust import EntryPoint, current_trust, loading, model_file_name, open_model
from mlcask.models.uri import resolve_model_path
from mlcask.pyfunc.loading import add_code_path, read_mlmodel


@contextmanager
def open_flavor(model_uri: str | os.PathLike, flavor: str, allow_pickle: bool | None = None,
                skops_trusted_types: Iterable[str] | None = None,
                takes_skops_types: bool = False) -> Iterator[tuple[Path, Model, dict[str, Any]]]:
    """Resolve, pin and verify ``model_uri``; inside the block, (model folder, metadata, the
    flavor's configuration), with the load's trust in force (:mod:`mlcask.models.trust`).
    ``takes_skops_types``: the flavor's ``load_model`` accepts ``skops_trusted_types``."""
    model_dir = resolve_model_path(model_uri)
    if model_dir.is_file():  # MLflow accepts the data file itself; use its folder
        model_dir = model_dir.parent
    entry = EntryPoint(f"mlcask.{flavor}.load_model", takes_skops_types)
    with loading(open_model(model_dir, allow_pickle, skops_trusted_types, entry)) as trust:
        meta = read_mlmodel(trust)
        conf = meta.flavor(flavor)
        add_code_path(trust, conf)
        yield trust.folder.path, meta, conf


def data_file(model_dir: Path, conf: dict[str, Any], *keys: str) -> str:
    """The name (relative to the model folder) of the flavor's data file named by the first
    of ``keys`` present in ``conf``; it must exist. Read it with :func:`read_data_file`."""
    name = next((conf[k] for k in keys if conf.get(k)), None)
    if not isinstance(name, str):
        raise ModelFormatError(f"Malformed MLmodel in '{model_dir}': the flavor names no data file "
                               f"(expected one of the keys {list(keys)}).")
    relative = model_file_name(model_dir, name, "data file")
    if not current_trust().folder.pinned.is_file(relative):
        raise ModelFormatError(f"The model's data file is missing: expected '{model_dir / relative}'.")
    return relative


def read_data_file(name: str, runs_code: bool) -> bytes:
    """The verified bytes of the data file ``name`` of the model being loaded; ``runs_code``:
    the flavor parses them in a way that can run code (pickle) or build objects (skops)."""
    return current_trust().folder.read(name, runs_code=runs_code)


def import_class(qualified_name: str, allowed_modules: tuple[str, ...]) -> type:
    """Import ``package.module.Class``, but only from ``allowed_modules`` (names come from files)."""
    module_name, _, class_name = qualified_name.rpartition(".")
    if not module_name or not module_name.split(".")[0] in allowed_modules:
        raise ModelFormatError(
            f"Model class '{qualified_name}' is not one this flavor loads (expected a class from "
            f"{', '.join(allowed_modules)})."
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ModelFormatError(f"Cannot import model class '{qualified_name}': {exc}") from None
    if not isinstance(cls, type):
        raise ModelFormatError(f"Model class '{qualified_name}' is not a class.")
    return cls


def accepted_kwargs(fn: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``fn`` accepts, or None if it takes ``**kwargs``."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


class NativeModelWrapper:
    """pyfunc face of a native model: ``predict(data, params)`` calls ``model.<predict_fn>``.

    Params are passed as keyword arguments; a param the method does not take is refused
    with the list of those it does take.
    """

    def __init__(self, model: Any, predict_fn: str = "predict") -> None:
        method = getattr(model, predict_fn, None)
        if not callable(method):
            raise ModelFormatError(f"The model ({type(model).__name__}) has no method '{predict_fn}'.")
        self.model = model
        self.predict_fn = predict_fn
        self._method = method
        self._accepted = accepted_kwargs(method)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if not params:
            return self._method(data)
        if self._accepted is not None:
            unknown = sorted(set(params) - self._accepted)
            if unknown:
                raise InvalidInputError(
                    f"Params {unknown} are not accepted by {type(self.model).__name__}.{self.predict_fn}; "
                    f"it accepts {sorted(self._accepted - {'self', 'X', 'data'})}."
                )
        return self._method(data, **params)

    def get_raw_model(self) -> Any:
        return self.model
