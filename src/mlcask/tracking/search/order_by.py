"""MLflow's order_by clauses: ``"metrics.acc DESC"``, ``"params.depth"``, ``"`tags.my key` asc"``.

Each clause is a name (as in filters: ``entity.key``, a bare attribute, quoted keys) and an
optional direction, ``ASC`` (the default) or ``DESC``, in any case. Which names a search can
order by comes from its :class:`~mlcask.tracking.search.filter.Grammar`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.search.filter import RUNS, Grammar, Scanner, read_name, resolve_entity, unknown_key


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """One order_by clause: canonical ``entity`` and ``key``, direction, and its index in the list.

    ``dataset_name``/``dataset_digest`` narrow a logged model's metric to one dataset
    (MLflow's dictionary form of ``search_logged_models`` order_by).
    """

    entity: str
    key: str
    ascending: bool
    index: int
    dataset_name: str | None = None
    dataset_digest: str | None = None


def parse_order_by_clause(clause: str, *, allowed: Grammar = RUNS, index: int = 0) -> OrderTerm:
    """Parse one order_by clause; raises InvalidArgumentError naming the position of a problem."""
    if not isinstance(clause, str):
        raise InvalidArgumentError(f"An order_by clause must be a string, not {type(clause).__name__}: {clause!r}")
    s = Scanner(clause, "order_by clause")
    if s.at_end():
        raise s.unexpected("a name such as metrics.<key> or an attribute")
    name = read_name(s, allowed, split_quoted=True)
    entity = resolve_entity(s, allowed, name)
    if entity == "attributes":
        if name.key not in allowed.order_attributes:
            raise unknown_key(s, allowed, name, entity, list(dict.fromkeys(allowed.order_attributes)),
                              [e for e in allowed.canonical_entities() if e in allowed.order_keyed])
        key = allowed.order_attributes[name.key]
    elif entity in allowed.order_keyed:
        key = name.key
    else:
        orderable = sorted(allowed.order_keyed) + ["attributes"] if allowed.order_keyed else ["attributes"]
        raise s.error(f"{allowed.name} cannot be ordered by {entity} (position {name.entity_position}); "
                      f"order by {', '.join(orderable)}", name.entity_position)
    ascending = True
    if not s.at_end():
        position = s.pos
        direction = s.word()
        if direction is None or direction.upper() not in ("ASC", "DESC"):
            raise s.unexpected("ASC or DESC", position)
        ascending = direction.upper() == "ASC"
        if not s.at_end():
            raise s.unexpected("the end of the clause")
    return OrderTerm(entity, key, ascending, index)


def _from_dict(clause: Mapping[str, Any], allowed: Grammar, index: int) -> OrderTerm:
    field_name = clause.get("field_name")
    if not isinstance(field_name, str):
        raise InvalidArgumentError(f"order_by[{index}] needs a 'field_name' string: {dict(clause)!r}")
    ascending = clause.get("ascending", True)
    if ascending not in (True, False):
        raise InvalidArgumentError(f"order_by[{index}]: 'ascending' must be a boolean, got {ascending!r}")
    dataset_name, dataset_digest = clause.get("dataset_name"), clause.get("dataset_digest")
    if dataset_digest and not dataset_name:
        raise InvalidArgumentError(f"order_by[{index}]: 'dataset_digest' needs 'dataset_name' as well")
    term = parse_order_by_clause(field_name, allowed=allowed, index=index)
    return OrderTerm(term.entity, term.key, bool(ascending), index, dataset_name or None, dataset_digest or None)


def parse_order_by(order_by: Sequence[str | Mapping[str, Any]] | str | None, *,
                   allowed: Grammar = RUNS) -> list[OrderTerm]:
    """Parse a list of order_by clauses (strings, or MLflow's ``{"field_name": ..., "ascending": ...}``).

    A single string is taken as a one-clause list. Two clauses on the same field are refused,
    as MLflow does.
    """
    if not order_by:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    terms: list[OrderTerm] = []
    seen: dict[tuple[str, str], int] = {}
    for index, clause in enumerate(order_by):
        term = (_from_dict(clause, allowed, index) if isinstance(clause, Mapping)
                else parse_order_by_clause(clause, allowed=allowed, index=index))
        field = (term.entity, term.key)
        if field in seen:
            raise InvalidArgumentError(f"order_by contains duplicate fields: clauses {seen[field]} and {index} "
                                       f"both order by {term.entity}.{term.key}: {list(order_by)!r}")
        seen[field] = index
        terms.append(term)
    return terms
