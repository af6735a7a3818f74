"""MLflow's search filter language, parsed by hand into a tiny AST.

A filter is a conjunction of comparisons joined by ``AND``::

    metrics.acc > 0.9 AND params.model = 'tree' AND tags.`my tag` LIKE 'a%' AND run_id IN ('a', 'b')

Each comparison is ``<entity>.<key> <op> <value>`` (a bare ``<key>`` is an attribute). What
each search (runs, experiments, logged models, registered models, model versions) accepts
is described by a :class:`Grammar`; the grammars below follow MLflow's SQL stores. Every
error is an :class:`~mlcask.exceptions.InvalidArgumentError` naming the position of the
offending character, with the filter and a caret under that position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

from mlcask.exceptions import InvalidArgumentError

Value: TypeAlias = "str | int | float | tuple[str, ...] | None"

#: Every operator, in the order error messages list them.
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")
NUMERIC_OPS = frozenset({"=", "!=", ">", ">=", "<", "<="})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
LIST_OPS = frozenset({"IN", "NOT IN"})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_SYMBOL_OP = re.compile(r"<>|==|!=|>=|<=|[<>=]")
_QUOTES = "'\"`"


@dataclass(frozen=True, slots=True)
class Field:
    """How a key compares: its value ``kind`` ("string", "number" or "integer") and operators."""

    kind: str
    ops: frozenset[str]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``<entity>.<key> <op> <value>`` of a filter.

    ``entity`` is canonical ("metrics", "params", "tags", "attributes", "datasets"), ``key``
    is canonical for attributes (``created`` becomes ``start_time``), ``op`` is upper case
    (one of :data:`OPERATORS`), ``value`` is a ``float`` for metrics, an ``int``/``float``
    for numeric attributes, a ``str``, a ``tuple`` of ``str`` for ``IN``/``NOT IN`` and
    ``None`` for ``IS [NOT] NULL``. ``position`` is where the comparison starts in the filter.
    """

    entity: str
    key: str
    op: str
    value: Value
    position: int


@dataclass(frozen=True, eq=False)
class Grammar:
    """What one search accepts in its filter and order_by.

    ``entities`` maps each spelling to a canonical entity; ``keyed`` gives the field of the
    entities whose keys are free (metrics, params, tags); ``fixed`` maps, for the other
    entities (attributes, datasets), each spelling of a key to its canonical key and field.
    ``order_keyed`` are the free-key entities order_by accepts; ``order_attributes`` maps the
    attribute spellings order_by accepts to canonical keys.
    """

    name: str
    entities: Mapping[str, str]
    keyed: Mapping[str, Field]
    fixed: Mapping[str, Mapping[str, tuple[str, Field]]]
    order_keyed: frozenset[str]
    order_attributes: Mapping[str, str]

    def canonical_entities(self) -> list[str]:
        """The canonical entity names, in a stable order, for messages."""
        return list(dict.fromkeys(self.entities.values()))


# -- errors ----------------------------------------------------------------------------------
def syntax_error(what: str, text: str, message: str, position: int) -> InvalidArgumentError:
    """An error about ``text`` (a filter or an order_by clause) with a caret under ``position``."""
    shown = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return InvalidArgumentError(f'Invalid {what} "{text}": {message}\n    {shown}\n    {" " * position}^')


class Scanner:
    """A cursor over the text of a filter or order_by clause, shared by both parsers."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.pos = 0

    def error(self, message: str, position: int | None = None) -> InvalidArgumentError:
        return syntax_error(self.what, self.text, message, self.pos if position is None else position)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    def word(self) -> str | None:
        self.skip_ws()
        return self.match(_WORD)

    def describe(self, position: int | None = None) -> str:
        """What stands at ``position``: a whole word, one character, or the end."""
        position = self.pos if position is None else position
        if position >= len(self.text):
            return f"end of {self.what}"
        found = _WORD.match(self.text, position)
        return f"'{found.group() if found else self.text[position]}'"

    def unexpected(self, expected: str, position: int | None = None) -> InvalidArgumentError:
        position = self.pos if position is None else position
        return self.error(f"unexpected {self.describe(position)} at position {position}; expected {expected}",
                          position)

    def quoted(self) -> str:
        """Read a quoted string or name at the cursor; a doubled quote or a backslash escapes it."""
        quote, start = self.text[self.pos], self.pos
        out: list[str] = []
        i = start + 1
        while i < len(self.text):
            char = self.text[i]
            if char == quote:
                if self.text.startswith(quote, i + 1):
                    out.append(quote)
                    i += 2
                    continue
                self.pos = i + 1
                return "".join(out)
            if char == "\\" and i + 1 < len(self.text) and self.text[i + 1] in (quote, "\\"):
                out.append(self.text[i + 1])
                i += 2
                continue
            out.append(char)
            i += 1
        raise self.error(f"unclosed quote {quote} starting at position {start}", start)


@dataclass(frozen=True, slots=True)
class Name:
    """A parsed ``<entity>.<key>`` (``entity`` None for a bare key) with where each part starts."""

    entity: str | None
    entity_position: int
    key: str
    key_position: int


def read_name(scanner: Scanner, grammar: Grammar, *, split_quoted: bool = False) -> Name:
    """Read ``entity.key``, ``entity.`quoted key```, a bare ``key`` or a quoted bare key.

    With ``split_quoted`` (order_by), a wholly quoted ``"tags.my key"`` is split at its first
    dot when what precedes it is an entity, as MLflow's order_by does.
    """
    scanner.skip_ws()
    start = scanner.pos
    char = scanner.peek()
    if char in ('`', '"'):
        first = scanner.quoted()
    else:
        word = scanner.match(_WORD)
        if word is None:
            raise scanner.unexpected("a name such as metrics.<key>, params.<key>, tags.<key> or an attribute")
        first = word
    if scanner.peek() != ".":
        if split_quoted and char in ('`', '"') and "." in first and first.split(".", 1)[0] in grammar.entities:
            entity, key = first.split(".", 1)
            return Name(entity, start + 1, key, start + 2 + len(entity))
        return Name(None, start, first, start + 1 if char in ('`', '"') else start)
    scanner.pos += 1
    key_start = scanner.pos
    if scanner.peek() and scanner.peek() in _QUOTES:
        key = scanner.quoted()
        key_position = key_start + 1
    else:
        key = scanner.match(_KEY)
        if key is None:
            raise scanner.unexpected(f"a key after '{first}.' (quote keys with special characters in backticks)")
        key_position = key_start
    return Name(first, start, key, key_position)


def resolve_entity(scanner: Scanner, grammar: Grammar, name: Name) -> str:
    """The canonical entity of ``name`` (``attributes`` for a bare key)."""
    if name.entity is None:
        return "attributes"
    entity = grammar.entities.get(name.entity)
    if entity is None:
        raise scanner.error(f"unknown entity '{name.entity}' at position {name.entity_position}; expected one of "
                            f"{', '.join(grammar.canonical_entities())}", name.entity_position)
    return entity


def unknown_key(scanner: Scanner, grammar: Grammar, name: Name, entity: str, keys: list[str],
                prefixes: list[str] | None = None) -> InvalidArgumentError:
    """The error for a key that ``entity`` does not have; ``prefixes`` are the entities to suggest."""
    label = "attribute" if entity == "attributes" else f"{entity[:-1]} key"
    hint = ""
    if name.entity is None:
        if prefixes is None:
            prefixes = [e for e in grammar.canonical_entities() if e != "attributes"]
        hint = f" (or a name with an entity prefix: {', '.join(p + '.' for p in prefixes)})" if prefixes else ""
    position = name.entity_position if name.entity is None else name.key_position
    return scanner.error(f"unknown {label} '{name.key}' at position {position} for {grammar.name}; expected one of "
                         f"{', '.join(keys)}{hint}", position)


# -- the filter parser -----------------------------------------------------------------------
def _describe(entity: str, key: str) -> str:
    return f"{entity[:-1]} '{key}'"


class _FilterParser:
    def __init__(self, text: str, grammar: Grammar) -> None:
        self.s = Scanner(text, "filter")
        self.grammar = grammar

    def parse(self) -> list[Comparison]:
        comparisons = [self.comparison()]
        while not self.s.at_end():
            position = self.s.pos
            word = self.s.match(_WORD)
            if word is None:
                raise self.s.unexpected("AND or the end of the filter")
            if word.upper() == "OR":
                raise self.s.error(f"OR at position {position} is not supported: a filter is comparisons joined "
                                   "by AND only (run one search per alternative, or use IN (...))", position)
            if word.upper() != "AND":
                raise self.s.unexpected("AND or the end of the filter", position)
            if self.s.at_end():
                raise self.s.unexpected("a comparison after AND")
            comparisons.append(self.comparison())
        return comparisons

    def comparison(self) -> Comparison:
        s = self.s
        s.skip_ws()
        start = s.pos
        name = read_name(s, self.grammar)
        entity = resolve_entity(s, self.grammar, name)
        if entity in self.grammar.keyed:
            key, field = name.key, self.grammar.keyed[entity]
        else:
            keys = self.grammar.fixed.get(entity, {})
            if name.key not in keys:
                raise unknown_key(s, self.grammar, name, entity, list(dict.fromkeys(k for k, _ in keys.values())))
            key, field = keys[name.key]
        if s.text[s.pos - 1] not in _QUOTES and s.peek() and not s.peek().isspace() and s.peek() not in "<>=!":
            whole = re.compile(r"[^\s<>=!'\"]+").match(s.text, name.key_position)
            raise s.error(f"unexpected '{s.peek()}' at position {s.pos} in a name; quote keys with special "
                          f"characters in backticks, e.g. {name.entity or 'attributes'}.`{whole.group() if whole else name.key}`")
        op = self.operator(field, entity, key)
        return Comparison(entity, key, op, self.value(field, entity, key, op), start)

    def operator(self, field: Field, entity: str, key: str) -> str:
        s = self.s
        allowed = ", ".join(op for op in OPERATORS if op in field.ops)
        s.skip_ws()
        position = s.pos
        symbol = s.match(_SYMBOL_OP)
        if symbol in ("<>", "=="):
            raise s.error(f"unsupported operator '{symbol}' at position {position}; use "
                          f"'{'!=' if symbol == '<>' else '='}'", position)
        op = symbol or self.word_operator(allowed)
        if op not in field.ops:
            raise s.error(f"operator '{op}' at position {position} is not supported for {_describe(entity, key)} in "
                          f"{self.grammar.name}; expected one of {allowed}", position)
        return op

    def word_operator(self, allowed: str) -> str:
        """LIKE, ILIKE, IN, NOT IN, IS NULL or IS NOT NULL, in any case and spacing."""
        s = self.s
        words: list[str] = []
        expected = {(): f"an operator ({allowed})", ("NOT",): "IN after NOT (NOT LIKE is not supported)",
                    ("IS",): "NULL or NOT NULL after IS", ("IS", "NOT"): "NULL after IS NOT"}
        while True:
            s.skip_ws()
            position = s.pos
            words.append((s.match(_WORD) or "").upper())
            op = " ".join(words)
            if op in ("LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"):
                return op
            if op not in ("NOT", "IS", "IS NOT"):
                raise s.unexpected(expected[tuple(words[:-1])], position)

    def value(self, field: Field, entity: str, key: str, op: str) -> Value:
        s = self.s
        if op in NULL_OPS:
            return None
        if op in LIST_OPS:
            return self.string_list()
        s.skip_ws()
        position = s.pos
        if field.kind in ("number", "integer"):
            literal = s.match(_NUMBER)
            if literal is None:
                if s.peek() and s.peek() in "'\"":
                    raise s.error(f"a string at position {position} where {_describe(entity, key)} needs a number; "
                                  "write numbers without quotes", position)
                raise s.unexpected("a number", position)
            trailing = _WORD.match(s.text, s.pos)
            if trailing:
                raise s.error(f"invalid number '{literal}{trailing.group()}' at position {position}", position)
            if field.kind == "integer":
                if not _INTEGER.fullmatch(literal):
                    raise s.error(f"{_describe(entity, key)} needs an integer, got {literal} at position {position}",
                                  position)
                return int(literal)
            if entity == "metrics":
                return float(literal)
            return int(literal) if _INTEGER.fullmatch(literal) else float(literal)
        return self.string(f"a quoted string for {_describe(entity, key)}, e.g. 'value'")

    def string(self, expected: str) -> str:
        s = self.s
        s.skip_ws()
        position = s.pos
        char = s.peek()
        if char and char in "'\"":
            return s.quoted()
        if char == "`":
            raise s.error(f"backticks at position {position} quote names, not values; quote values with ' or \"",
                          position)
        bare = s.match(_WORD) or s.match(_NUMBER)
        if bare is not None:
            raise s.error(f"unquoted value {bare} at position {position}; strings must be quoted, e.g. '{bare}'",
                          position)
        raise s.unexpected(expected)

    def string_list(self) -> tuple[str, ...]:
        s = self.s
        s.skip_ws()
        if s.peek() != "(":
            raise s.unexpected("'(' starting a list of quoted strings")
        open_position = s.pos
        s.pos += 1
        items: list[str] = []
        while True:
            s.skip_ws()
            if s.peek() == ")":
                if not items:
                    raise s.error(f"empty list at position {open_position}; IN needs at least one value",
                                  open_position)
                s.pos += 1
                return tuple(items)
            items.append(self.string("a quoted string in the list"))
            s.skip_ws()
            if s.peek() == ",":
                s.pos += 1
            elif s.peek() != ")":
                raise s.unexpected("',' or ')'")


# -- grammars (MLflow's, see the module docstring) -----------------------------------------
def _f(kind: str, *groups: frozenset[str]) -> Field:
    return Field(kind, frozenset().union(*groups))


_METRIC = _f("number", NUMERIC_OPS)
_NUMERIC_ATTR = _f("number", NUMERIC_OPS)
_INTEGER_ATTR = _f("integer", NUMERIC_OPS)
_STRING = _f("string", STRING_OPS)
_STRING_OR_NULL = _f("string", STRING_OPS, NULL_OPS)
_STRING_OR_LIST = _f("string", STRING_OPS, LIST_OPS)
_RUN_ID = _f("string", STRING_OPS, LIST_OPS)  # MLflow: run_id takes LIKE too
_ID_NO_LIKE = _f("string", frozenset({"=", "!="}), LIST_OPS)

_METRICS = {"metric": "metrics", "metrics": "metrics"}
_PARAMS = {"param": "params", "params": "params", "parameter": "params", "parameters": "params"}
_TAGS = {"tag": "tags", "tags": "tags"}
_ATTRIBUTES = {"attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes"}
_DATASETS = {"dataset": "datasets", "datasets": "datasets"}


def _keys(*entries: tuple[tuple[str, ...], Field]) -> dict[str, tuple[str, Field]]:
    """``((canonical, *aliases), field)`` entries as a spelling -> (canonical, field) map."""
    return {spelling: (names[0], field) for names, field in entries for spelling in names}


RUNS = Grammar(
    name="runs",
    entities={**_METRICS, **_PARAMS, **_TAGS, **_ATTRIBUTES, **_DATASETS},
    keyed={"metrics": _METRIC, "params": _STRING_OR_NULL, "tags": _STRING_OR_NULL},
    fixed={
        "attributes": _keys(
            (("run_id",), _RUN_ID), (("run_name", "run name", "Run name", "Run Name"), _STRING),
            (("status",), _STRING), (("user_id",), _STRING), (("artifact_uri",), _STRING),
            (("start_time", "created", "Created"), _NUMERIC_ATTR), (("end_time",), _NUMERIC_ATTR),
        ),
        "datasets": _keys((("name",), _STRING_OR_LIST), (("digest",), _STRING_OR_LIST),
                          (("context",), _STRING_OR_LIST)),
    },
    order_keyed=frozenset({"metrics", "params", "tags"}),
    order_attributes={"run_id": "run_id", "run_name": "run_name", "status": "status", "user_id": "user_id",
                      "artifact_uri": "artifact_uri", "start_time": "start_time", "created": "start_time",
                      "Created": "start_time", "end_time": "end_time"},
)

EXPERIMENTS = Grammar(
    name="experiments",
    entities={**_ATTRIBUTES, **_TAGS},
    keyed={"tags": _STRING_OR_NULL},
    fixed={"attributes": _keys(
        (("name",), _STRING), (("experiment_id",), _ID_NO_LIKE),
        (("creation_time",), _INTEGER_ATTR), (("last_update_time",), _INTEGER_ATTR),
    )},
    order_keyed=frozenset(),
    order_attributes={k: k for k in ("name", "experiment_id", "creation_time", "last_update_time")},
)

_LOGGED_MODEL_TIMES = {"creation_timestamp": "creation_timestamp", "creation_time": "creation_timestamp",
                       "creation_timestamp_ms": "creation_timestamp",
                       "last_updated_timestamp": "last_updated_timestamp",
                       "last_updated_time": "last_updated_timestamp",
                       "last_updated_timestamp_ms": "last_updated_timestamp"}

LOGGED_MODELS = Grammar(
    name="logged models",
    entities={**_ATTRIBUTES, **_METRICS, **_PARAMS, **_TAGS},
    keyed={"metrics": _METRIC, "params": _STRING_OR_LIST, "tags": _STRING_OR_LIST},
    fixed={"attributes": {
        **_keys((("name",), _STRING_OR_LIST), (("model_id",), _STRING_OR_LIST), (("model_type",), _STRING_OR_LIST),
                (("status",), _STRING_OR_LIST), (("source_run_id",), _STRING_OR_LIST)),
        **{spelling: (key, _NUMERIC_ATTR) for spelling, key in _LOGGED_MODEL_TIMES.items()},
    }},
    order_keyed=frozenset({"metrics"}),
    order_attributes={**{k: k for k in ("name", "model_id", "model_type", "status", "source_run_id")},
                      **_LOGGED_MODEL_TIMES},
)

REGISTERED_MODELS = Grammar(
    name="registered models",
    entities={**_ATTRIBUTES, **_TAGS},
    keyed={"tags": _STRING},
    fixed={"attributes": _keys((("name",), _STRING_OR_LIST))},
    order_keyed=frozenset(),
    order_attributes={"name": "name", "timestamp": "last_updated_timestamp",
                      "last_updated_timestamp": "last_updated_timestamp", "creation_timestamp": "creation_timestamp"},
)

MODEL_VERSIONS = Grammar(
    name="model versions",
    entities={**_ATTRIBUTES, **_TAGS},
    keyed={"tags": _STRING},
    fixed={"attributes": _keys(
        (("name",), _STRING_OR_LIST), (("run_id",), _STRING_OR_LIST), (("model_id",), _STRING_OR_LIST),
        (("source_path", "source"), _STRING), (("version_number", "version"), _INTEGER_ATTR),
    )},
    order_keyed=frozenset(),
    order_attributes={"name": "name", "version_number": "version_number", "version": "version_number",
                      "creation_timestamp": "creation_timestamp", "last_updated_timestamp": "last_updated_timestamp"},
)


def parse_filter(text: str | None, *, allowed: Grammar = RUNS) -> list[Comparison]:
    """Parse a search filter into its comparisons (an empty or blank filter has none).

    ``allowed`` is the grammar of the search (:data:`RUNS`, :data:`EXPERIMENTS`,
    :data:`LOGGED_MODELS`, :data:`REGISTERED_MODELS`, :data:`MODEL_VERSIONS`). Raises
    :class:`~mlcask.exceptions.InvalidArgumentError` naming the position of the first problem.
    """
    if text is None:
        return []
    if not isinstance(text, str):
        raise InvalidArgumentError(f"A filter must be a string, not {type(text).__name__}: {text!r}")
    if not text.strip():
        return []
    return list(_parse_cached(text, allowed))


@lru_cache(maxsize=512)
def _parse_cached(text: str, grammar: Grammar) -> tuple[Comparison, ...]:
    return tuple(_FilterParser(text, grammar).parse())
