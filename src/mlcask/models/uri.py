"""Model URIs: the ``models:/`` grammar, and turning any model URI into a local model folder.

The ``models:/`` grammar (:func:`parse_models_uri`) is MLflow's, written once for every
caller (loading, registry sources, ``copy_model_version``, the scoring server):

- ``models:/<model_id>``: a logged model (MLflow 3's ids start with ``m-``).
- ``models:/<name>/<version>``: a registered model version (a number from 1).
- ``models:/<name>/<stage>``: the highest version in a stage (``Staging``, ``Production``,
  ``Archived``, ``None``; any case).
- ``models:/<name>/latest`` (any case; also ``models:/<name>@latest``): the highest version.
- ``models:/<name>@<alias>``: the version an alias points at.
- The registered forms may go on with ``/<path>``, a path inside the version's files, as
  MLflow's downloads allow (``models:/<name>/1/MLmodel``); a trailing ``/`` adds nothing.
- ``models:///...`` (an empty authority) is ``models:/...``; ``models://<profile>/...``
  (MLflow's Databricks profile form) is refused: mlcask has one registry per tracking URI.

Names are taken as written, without percent-decoding (as MLflow): ``models:/my model/1``
names ``my model``, ``models:/my%20model/1`` names ``my%20model``. The sub-path is checked
and decoded as every artifact path is (:func:`mlcask.utils.paths.clean_relative_path`).
Everything else is refused with what was expected and what was given, as are control
characters, whitespace at the edges of the URI or of a part, a ``?`` (MLflow drops a query
silently), ``:`` in a name (no registered model has one), a name made only of dots, and
``..`` in the sub-path. ``#`` is part of a name, as in MLflow (no fragments).

Plain paths and ``file:`` URIs resolve here. Store-backed schemes (``runs:/``,
``models:/``) are registered by the tracking layer with :func:`register_scheme`; this
module only knows the name of the module that registers them.
"""

from __future__ import annotations

import importlib
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError, ModelNotFoundError
from mlcask.utils.paths import clean_relative_path, shown

MODELS_SCHEME = "models"
MODEL_ID_PREFIX = "m-"
LATEST = "latest"
# The registry's stages, as MLflow spells them (mlcask.tracking.registry.validation uses this list).
MODEL_STAGES = ("None", "Staging", "Production", "Archived")
MAX_VERSION = 2**31 - 1  # the registry's version column is a 32-bit integer
_STAGES = {stage.lower(): stage for stage in MODEL_STAGES}
_PREFIX = f"{MODELS_SCHEME}:"
_FORMS = (f"models:/<model_id>, models:/<name>/<version>, models:/<name>/<stage> ({', '.join(MODEL_STAGES[1:])} "
          "or None), models:/<name>/latest or models:/<name>@<alias>, the registered forms optionally "
          "followed by /<path>")


@dataclass(frozen=True, slots=True)
class ModelsUri:
    """A parsed ``models:/`` URI.

    Either ``model_id`` is set (a logged model), or ``name`` with exactly one of
    ``version``, ``stage`` (canonical spelling: ``"Production"``), ``alias`` or ``latest``.
    ``path`` is the normalised sub-path inside the model's files (``""``: the model itself).
    """

    model_id: str | None = None
    name: str | None = None
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False
    path: str = ""


def is_models_uri(uri: object) -> bool:
    """Whether ``uri`` is meant as a ``models:`` URI (scheme ``models``, any case), well-formed or not.

    Leading whitespace and control characters are skipped, as URL parsers skip them, so that
    :func:`parse_models_uri` can refuse them instead of a caller reading the URI as a path.
    """
    if not isinstance(uri, str):
        return False
    return uri.lstrip("".join(map(chr, range(33))))[:len(_PREFIX)].lower() == _PREFIX


def _invalid(uri: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Invalid models URI {shown(uri)}: {problem}; expected {_FORMS}.")


def _check_characters(uri: str) -> None:
    for position, char in enumerate(uri):
        if ord(char) < 32 or 0x7F <= ord(char) <= 0x9F:
            where = f"after {uri[:position]!r}" if position else "at the start"
            raise _invalid(uri, f"it contains the control character U+{ord(char):04X} {where}")
    if uri != uri.strip():
        raise _invalid(uri, "it starts or ends with whitespace")
    if "?" in uri:
        raise _invalid(uri, "it contains '?'; a models URI takes no query (MLflow would drop it silently)")


def _body(uri: str) -> str:
    """What follows ``models:/`` (or ``models:///``)."""
    if uri[:len(_PREFIX)].lower() != _PREFIX:
        raise _invalid(uri, f"it does not start with {_PREFIX!r}")
    rest = uri[len(_PREFIX):]
    if rest.startswith("//"):
        authority = rest[2:].split("/", 1)[0]
        if authority:
            raise _invalid(uri, f"it names the registry {authority!r} (models://<profile>/..., a Databricks form); "
                                "mlcask uses the registry of the tracking URI: write models:/... and set "
                                "MLCASK_TRACKING_URI")
        rest = rest[2:] or "/"
    if not rest.startswith("/"):
        raise _invalid(uri, f"expected '/' after {_PREFIX!r}, got {rest[:20]!r}")
    body = rest[1:]
    if not body:
        raise _invalid(uri, "it names no model")
    if body.startswith("/"):
        raise _invalid(uri, "it has an empty part (two '/' in a row) where the model id or name should be")
    return body


def _check_part(uri: str, what: str, value: str) -> None:
    if not value.strip():
        raise _invalid(uri, f"the {what} is empty")
    if value != value.strip():
        raise _invalid(uri, f"the {what} {value!r} starts or ends with whitespace")


def _check_name(uri: str, name: str) -> None:
    _check_part(uri, "model name", name)
    if ":" in name:
        raise _invalid(uri, f"the model name {name!r} contains ':', which registered model names cannot")
    if not name.strip("."):
        raise _invalid(uri, f"the model name {name!r} is only dots, which would read as a path")


def _sub_path(uri: str, parts: list[str]) -> str:
    try:
        return clean_relative_path("/".join(parts), "path inside the model")
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Invalid models URI {shown(uri)}: {exc.message[0].lower()}{exc.message[1:]}") from None


def _suffix(uri: str, name: str, suffix: str, path: str) -> ModelsUri:
    """The version, stage or ``latest`` after ``<name>/``."""
    if not suffix:
        raise _invalid(uri, f"nothing follows {name + '/'!r}: expected a version number, a stage or 'latest'")
    _check_part(uri, "version or stage", suffix)
    if suffix.isascii() and suffix.isdigit():
        version = int(suffix)
        if not 1 <= version <= MAX_VERSION:
            raise _invalid(uri, f"version {suffix} is out of range: versions count from 1 to {MAX_VERSION}")
        return ModelsUri(name=name, version=version, path=path)
    if suffix.lower() == LATEST:
        return ModelsUri(name=name, latest=True, path=path)
    if suffix.lower() in _STAGES:
        return ModelsUri(name=name, stage=_STAGES[suffix.lower()], path=path)
    raise _invalid(uri, f"{suffix!r} after {name + '/'!r} is not a version number, a stage or 'latest'")


def parse_models_uri(uri: str) -> ModelsUri:
    """The parts of a ``models:/`` URI (see the module docstring for the grammar).

    Raises :class:`~mlcask.exceptions.InvalidArgumentError` naming what is wrong and the
    forms expected.
    """
    if not isinstance(uri, str):
        raise InvalidArgumentError(f"A models URI must be a string, got {type(uri).__name__} {uri!r}.")
    _check_characters(uri)
    head, *rest = _body(uri).split("/")
    if "@" in head:
        name, alias = head.rsplit("@", 1)
        _check_name(uri, name)
        _check_part(uri, "alias after '@'", alias)
        path = _sub_path(uri, rest)
        if alias.lower() == LATEST:
            return ModelsUri(name=name, latest=True, path=path)
        return ModelsUri(name=name, alias=alias, path=path)
    if head.startswith(MODEL_ID_PREFIX) and rest in ([], [""]):
        _check_part(uri, "logged model id", head[len(MODEL_ID_PREFIX):])
        return ModelsUri(model_id=head)
    if not rest:
        _check_name(uri, head)
        raise _invalid(uri, f"{head!r} is not a logged model id (those start with {MODEL_ID_PREFIX!r}); for a "
                            f"registered model give a version (models:/{head}/1), a stage, 'latest' or an alias "
                            f"(models:/{head}@champion)")
    _check_name(uri, head)
    return _suffix(uri, head, rest[0], _sub_path(uri, rest[1:]))


# -- resolving any model URI to a folder ------------------------------------------------------
Resolver = Callable[[str], Path]
_resolvers: dict[str, Resolver] = {}
# Schemes whose resolvers live in a higher layer, imported (by name) on first use.
_PLUGINS = {scheme: "mlcask.tracking.uris" for scheme in ("runs", "models", "s3", "mlflow-artifacts", "http", "https")}


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
