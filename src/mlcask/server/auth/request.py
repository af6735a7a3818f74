"""What an authorization rule reads from a request, read the way the handlers read it.

A resource id can reach a handler from the query string, the JSON body, the URL path,
and in MLflow's proto-JSON under its ``lowerCamelCase`` name too (``run_id`` and
``runId``; ``run_uuid`` for ``run_id``). The rules never guess which one the handler
takes: every place is collected, and a request that names two different values for the
same field, or gives a field a value that is not a string or an integer, is refused
with a 400 before any handler runs. The body is parsed with the handlers' own JSON
parser (orjson), so a key repeated in the body means the same to both: the last one.
So the id that was authorized is the only id the handler can see.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from mlcask.exceptions import InvalidArgumentError

__all__ = ["AuthRequest", "BadRequest", "parse_json_object"]

MAX_IDS_PER_REQUEST = 1000
#: The longest id, name, path or URI a rule reads (an experiment name, a model version's source).
MAX_VALUE_CHARS = 8192


class BadRequest(InvalidArgumentError):
    """The request is malformed or ambiguous; answered with a 400 naming the problem."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def parse_json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object in ``body`` (None for an empty body), or a BadRequest.

    Parsed with orjson, the parser of the server's handlers: a key given twice means what
    it means to them (the last one), so the value authorized is the value they use.
    """
    if not body.strip():
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"Invalid JSON body: {str(error)[:200]}.") from None
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid JSON body: expected an object, got {type(value).__name__}.")
    return value


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadRequest(f"Invalid value for parameter '{name}': expected a string, got {type(value).__name__}.")
    text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        raise BadRequest(f"Invalid value for parameter '{name}': {len(text)} characters, at most {MAX_VALUE_CHARS}.")
    if "\x00" in text:
        raise BadRequest(f"Invalid value for parameter '{name}': it contains a NUL character.")
    return text


@dataclass
class AuthRequest:
    """A request as the rules see it (HEAD is read as GET)."""

    method: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] | None = None

    @classmethod
    def build(cls, method: str, query_string: bytes, body: dict[str, Any] | None,
              path_params: dict[str, str] | None = None) -> AuthRequest:
        try:
            query = urllib.parse.parse_qsl(query_string.decode("latin-1"), keep_blank_values=True,
                                           max_num_fields=10_000)
        except ValueError as error:
            raise BadRequest(f"Invalid query string: {error}.") from None
        return cls("GET" if method == "HEAD" else method, dict(path_params or {}), query, body)

    def _names(self, names: Iterable[str]) -> list[str]:
        result: list[str] = []
        for name in names:
            for spelled in (name, _camel(name)):
                if spelled not in result:
                    result.append(spelled)
        return result

    def values(self, *names: str) -> list[str]:
        """Every value given for the field ``names[0]`` (or its aliases), anywhere in the request."""
        found: list[str] = []
        for name in self._names(names):
            if name in self.path_params:
                found.append(self.path_params[name])
            found.extend(_scalar(name, value) for key, value in self.query if key == name)
            if self.body is not None and name in self.body and self.body[name] is not None:
                found.append(_scalar(name, self.body[name]))
        return found

    def param(self, *names: str) -> str | None:
        """The one value of a field, None when absent; a BadRequest when two places disagree."""
        found = set(self.values(*names))
        if len(found) > 1:
            shown = ", ".join(sorted(repr(v[:60]) for v in found)[:4])
            raise BadRequest(f"Conflicting values for parameter '{names[0]}': {shown}. Give it once.")
        return found.pop() if found else None

    def required(self, *names: str) -> str:
        value = self.param(*names)
        if value is None:
            raise BadRequest(f"Missing value for required parameter '{names[0]}'. See the API docs for more "
                             "information about request parameters.")
        return value

    def id_list(self, name: str) -> list[str]:
        """A repeated field (``experiment_ids``, ``run_ids``): the same list wherever it is given."""
        lists: list[list[str]] = []
        for spelled in self._names([name]):
            from_query = [value for key, value in self.query if key == spelled]
            if from_query:
                lists.append(from_query)
            if self.body is not None and self.body.get(spelled) is not None:
                raw = self.body[spelled]
                if not isinstance(raw, list):
                    raw = [raw]
                lists.append([_scalar(spelled, value) for value in raw])
        if not lists:
            return []
        if any(sorted(other) != sorted(lists[0]) for other in lists[1:]):
            raise BadRequest(f"Conflicting values for parameter '{name}': give the list once.")
        if len(lists[0]) > MAX_IDS_PER_REQUEST:
            raise BadRequest(f"Too many values for parameter '{name}': {len(lists[0])}, at most "
                             f"{MAX_IDS_PER_REQUEST}.")
        return lists[0]

    def nested_ids(self, list_name: str, field_name: str) -> list[str]:
        """``field_name`` of each object in the body's list ``list_name`` (``metrics[].model_id``)."""
        ids: list[str] = []
        keys = self._names([field_name])
        for spelled in self._names([list_name]):
            items = (self.body or {}).get(spelled)
            if items is None:
                continue
            if not isinstance(items, list):
                raise BadRequest(f"Invalid value for parameter '{list_name}': expected a list.")
            for item in items:
                if isinstance(item, dict):
                    ids.extend(_scalar(field_name, item[key]) for key in keys if item.get(key) not in (None, ""))
        return ids
