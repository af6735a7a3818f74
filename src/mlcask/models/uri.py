"""Turning a model URI into a local model folder.

Plain paths and ``file:`` URIs resolve here. Store-backed schemes (``runs:/``,
``models:/``) are registered by the tracking layer with :func:`register_scheme`; this
module only knows the name of the module that registers them.
"""

from __future__ import annotations

import importlib
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError, ModelNotFoundError

Resolver = Callable[[str], Path]
_resolvers: dict[str, Resolver] = {}
# Schemes whose resolvers live in a higher layer, imported (by name) on first use.
_PLUGINS = {"runs": "mlcask.tracking.uris", "models": "mlcask.tracking.uris"}


def register_scheme(scheme: str, resolver: Resolver) -> None:
    """Let ``resolver`` turn URIs of ``scheme`` (e.g. ``"runs"``) into local folders."""
    _resolvers[scheme] = resolver


def _file_uri_path(uri: str) -> Path:
    parsed = urllib.parse.urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise InvalidArgumentError(f"file: URI '{uri}' names host '{parsed.netloc}'; only local files are supported.")
    return Path(urllib.parse.unquote(parsed.path))


def resolve_model_path(model_uri: str | os.PathLike) -> Path:
    """The local folder holding the model at ``model_uri``; raises if there is none."""
    if isinstance(model_uri, os.PathLike):
        path = Path(model_uri)
    elif not isinstance(model_uri, str) or not model_uri:
        raise InvalidArgumentError(f"model_uri must be a non-empty string or path, got {model_uri!r}.")
    else:
        scheme = urllib.parse.urlparse(model_uri).scheme
        if scheme == "file":
            path = _file_uri_path(model_uri)
        elif len(scheme) > 1:  # one letter is a Windows drive, not a scheme
            if scheme not in _resolvers and scheme in _PLUGINS:
                importlib.import_module(_PLUGINS[scheme]).register()
            resolver = _resolvers.get(scheme)
            if resolver is None:
                known = ", ".join(["paths", "file:", *(f"{s}:" for s in sorted(_resolvers))])
                raise InvalidArgumentError(
                    f"Cannot resolve model URI '{model_uri}': scheme '{scheme}:' is not supported "
                    f"here (supported: {known})."
                )
            return resolver(model_uri)
        else:
            path = Path(model_uri)
    if not path.exists():
        raise ModelNotFoundError(f"No model at '{model_uri}': the path '{path}' does not exist.")
    return path
