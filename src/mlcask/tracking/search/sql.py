"""Search filters and order_by as SQLAlchemy Core selects, identical on SQLite and PostgreSQL.

Each ``*_select`` returns a :class:`sqlalchemy.Select` of the matching ids, ordered and
paged, for the store to run (and to join or wrap as it likes). The semantics are MLflow's
SQL store's:

* metric comparisons use the run's latest value (``latest_metrics``); a NaN value (stored
  as 0 with ``is_nan``) satisfies only ``!=``;
* a param/tag/dataset comparison needs a row that satisfies it (so ``params.a != 'x'`` skips
  runs without ``a``); ``IS NULL`` means the key is absent;
* ``LIKE`` is case-sensitive and ``ILIKE`` is not, on both databases; in patterns ``%`` and
  ``_`` are wildcards and a backslash makes the next character literal;
* ordered values that are missing come last whatever the direction, NaN metrics just before
  them; strings sort by code point on both databases (``COLLATE "C"`` on PostgreSQL, whose
  default collation may be linguistic); ties fall back to each search's default order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from mlcask.entities import LifecycleStage, ViewType
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.search.filter import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    Comparison,
    parse_filter,
    syntax_error,
)
from mlcask.tracking.search.order_by import OrderTerm, parse_order_by
from mlcask.tracking.store.schema import (
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    latest_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    model_metric_values,
    model_version_tags,
    model_versions,
    params,
    registered_model_tags,
    registered_models,
    runs,
    tags,
)
from mlcask.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT, MLFLOW_RUN_NAME

RUN_NAME_TAG = MLFLOW_RUN_NAME
DATASET_CONTEXT_TAG = MLFLOW_DATASET_CONTEXT
PROMPT_TAG = "mlflow.prompt.is_prompt"
STAGE_DELETED_INTERNAL = "Deleted_Internal"

# -- LIKE, case-sensitive on both databases --------------------------------------------------
def complete_escapes(pattern: str) -> str:
    """``pattern`` with a lone trailing backslash made literal (PostgreSQL refuses it)."""
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return pattern + "\\" if trailing % 2 else pattern


def like_to_glob(pattern: str) -> str:
    """A SQLite GLOB pattern matching what the LIKE ``pattern`` matches (backslash escapes)."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
        elif char in "%_":
            out.append("*" if char == "%" else "?")
            continue
        out.append(f"[{char}]" if char in "*?[" else char)
    return "".join(out)


class _Wrapper(ColumnElement[Any]):
    """A column wrapped in SQL that differs by dialect (its FROM is the column's)."""

    inherit_cache = True
    column: ColumnElement[Any]

    @property
    def _from_objects(self) -> list[Any]:
        return self.column._from_objects


class CaseSensitiveLike(_Wrapper):
    """``column LIKE pattern``, case-sensitive: GLOB on SQLite, LIKE elsewhere."""

    __visit_name__ = "mlcask_case_sensitive_like"
    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("like_pattern", InternalTraversal.dp_clauseelement),
                           ("glob_pattern", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any], pattern: str) -> None:
        self.column = column
        self.like_pattern = sa.literal(complete_escapes(pattern), sa.String())
        self.glob_pattern = sa.literal(like_to_glob(pattern), sa.String())


class CodePointOrder(_Wrapper):
    """A string column sorted by code point, as SQLite does: ``COLLATE "C"`` on PostgreSQL."""

    __visit_name__ = "mlcask_code_point_order"
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(CaseSensitiveLike)
def _compile_like(element: CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    glob = compiler.dialect.name == "sqlite"
    pattern = compiler.process(element.glob_pattern if glob else element.like_pattern, **kw)
    return f"({compiler.process(element.column, **kw)} {'GLOB' if glob else 'LIKE'} {pattern})"


@compiles(CodePointOrder)
def _compile_order(element: CodePointOrder, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f'{column} COLLATE "C"' if compiler.dialect.name == "postgresql" else column


def compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """``column <op> value`` for a parsed operator (``IS [NOT] NULL`` is handled by callers)."""
    if op == "LIKE":
        return CaseSensitiveLike(column, value)
    if op == "ILIKE":
        return column.ilike(complete_escapes(value), escape="\\")
    if op == "IN":
        return column.in_(value)
    if op == "NOT IN":
        return column.not_in(value)
    return {
        "=": column.__eq__, "!=": column.__ne__, ">": column.__gt__, ">=": column.__ge__,
        "<": column.__lt__, "<=": column.__le__,
    }[op](value)


def _metric_condition(table: sa.TableClause, c: Comparison) -> ColumnElement[bool]:
    # Every comparison with NaN is false except "!=", so the stored 0 never satisfies a filter.
    condition = compare(table.c.value, c.op, c.value)
    if c.op == "!=":
        return sa.or_(condition, table.c.is_nan)
    return sa.and_(condition, sa.not_(table.c.is_nan))


def _key_value(table: sa.TableClause, owner: Sequence[ColumnElement[bool]], c: Comparison) -> ColumnElement[bool]:
    """A condition on a key/value child table (params, tags...): a matching row exists or not."""
    keyed = [*owner, table.c.key == c.key]
    if c.op == "IS NULL":
        return ~sa.exists().where(*keyed)
    if c.op == "IS NOT NULL":
        return sa.exists().where(*keyed)
    return sa.exists().where(*keyed, compare(table.c.value, c.op, c.value))


# -- ordering and paging ---------------------------------------------------------------------
def _code_points(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return CodePointOrder(column) if isinstance(column.type, sa.String) else column


def _sorted(column: sa.Column[Any], ascending: bool) -> list[Any]:
    key = _code_points(column).asc() if ascending else _code_points(column).desc()
    return [key.nulls_last() if column.nullable else key]


def _sorted_value(value: ColumnElement[Any], ascending: bool, is_nan: ColumnElement[Any] | None = None) -> list[Any]:
    """Present values first, then NaN (metrics), then missing, whatever the direction."""
    rank = (sa.case((is_nan, 1), (value.is_(None), 2), else_=0) if is_nan is not None
            else sa.case((value.is_(None), 1), else_=0))
    value = _code_points(value)
    return [rank, value.asc() if ascending else value.desc()]


def _page(stmt: sa.Select[Any], max_results: int | None, offset: int) -> sa.Select[Any]:
    for name, value in (("max_results", 0 if max_results is None else max_results), ("offset", offset)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidArgumentError(f"{name} must be a non-negative integer, got {value!r}")
    stmt = stmt if max_results is None else stmt.limit(max_results)
    return stmt.offset(offset) if offset else stmt


def _stages(view_type: int) -> tuple[str, ...]:
    try:
        return ViewType.stages(view_type)
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"Invalid view_type {view_type!r}: use ViewType.ACTIVE_ONLY (1), "
                                   "DELETED_ONLY (2) or ALL (3)") from None


def _experiment_ids(experiment_ids: Sequence[str | int] | str | int) -> list[int]:
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [experiment_ids]
    ids = []
    for experiment_id in experiment_ids:
        try:
            ids.append(int(experiment_id))
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"Invalid experiment ID {experiment_id!r}: experiment IDs are integers") from None
    return ids


class _BadValue(Exception):
    """A value the grammar accepts but the column cannot hold (reported with its position)."""


def _conditions(filter_string: str | None, comparisons: list[Comparison],
                condition: Callable[[Comparison], ColumnElement[bool] | None]) -> list[ColumnElement[bool]]:
    out = []
    for c in comparisons:
        try:
            made = condition(c)
        except _BadValue as exc:
            raise syntax_error("filter", filter_string or "", str(exc), c.position) from None
        if made is not None:
            out.append(made)
    return out


# -- runs --------------------------------------------------------------------------------------
def _run_name() -> ColumnElement[Any]:
    # MLflow filters run_name on the mlflow.runName tag; the column is the same name, and
    # empty only for runs logged by MLflow <= 1.29, so fall back to the tag then.
    tag = (sa.select(tags.c.value).where(tags.c.run_uuid == runs.c.run_uuid, tags.c.key == RUN_NAME_TAG)
           .scalar_subquery())
    return sa.func.coalesce(sa.func.nullif(runs.c.name, ""), tag)


_RUN_COLUMNS = {"run_id": runs.c.run_uuid, "status": runs.c.status, "user_id": runs.c.user_id,
                "artifact_uri": runs.c.artifact_uri, "start_time": runs.c.start_time, "end_time": runs.c.end_time,
                "run_name": runs.c.name}


def _run_condition(c: Comparison) -> ColumnElement[bool]:
    owner = runs.c.run_uuid
    if c.entity == "attributes":
        column = _run_name() if c.key == "run_name" else _RUN_COLUMNS[c.key]
        return compare(column, c.op, c.value)
    if c.entity == "metrics":
        m = latest_metrics
        return sa.exists().where(m.c.run_uuid == owner, m.c.key == c.key, _metric_condition(m, c))
    if c.entity in ("params", "tags"):
        table = params if c.entity == "params" else tags
        return _key_value(table, [table.c.run_uuid == owner], c)
    link = [inputs.c.destination_id == owner, inputs.c.destination_type == "RUN", inputs.c.source_type == "DATASET",
            datasets.c.dataset_uuid == inputs.c.source_id]
    if c.key == "context":
        link += [input_tags.c.input_uuid == inputs.c.input_uuid, input_tags.c.name == DATASET_CONTEXT_TAG,
                 compare(input_tags.c.value, c.op, c.value)]
    else:
        link.append(compare(datasets.c[c.key], c.op, c.value))
    return sa.exists().where(*link)


@lru_cache(maxsize=64)
def _order_alias(entity: str, index: int) -> sa.Alias:
    """The joined table an order_by term sorts on (aliases are immutable, so shared)."""
    return {"metrics": latest_metrics, "params": params, "tags": tags}[entity].alias(f"order_{index}")


def runs_select(experiment_ids: Sequence[str], filter_string: str | None, view_type: int,
                order_by: Sequence[str] | None, max_results: int | None, offset: int = 0) -> sa.Select[Any]:
    """``SELECT runs.run_uuid`` of the runs in ``experiment_ids`` matching ``filter_string``.

    Ordered by ``order_by`` (metrics, params, tags or attributes), then ``start_time DESC``
    and ``run_uuid``, MLflow's default; at most ``max_results`` (None: all) from ``offset``.
    """
    comparisons = parse_filter(filter_string, allowed=RUNS)
    terms = parse_order_by(order_by, allowed=RUNS)
    source: sa.FromClause = runs
    keys: list[Any] = []
    for index, term in enumerate(terms):
        if term.entity == "attributes":
            keys += _sorted(_RUN_COLUMNS[term.key], term.ascending)
            continue
        table = _order_alias(term.entity, index)
        source = source.outerjoin(table, sa.and_(table.c.run_uuid == runs.c.run_uuid, table.c.key == term.key))
        keys += _sorted_value(table.c.value, term.ascending, table.c.is_nan if term.entity == "metrics" else None)
    if not any(t.entity == "attributes" and t.key == "start_time" for t in terms):
        keys += _sorted(runs.c.start_time, False)
    keys.append(runs.c.run_uuid)  # hex ids: no collation needed
    stmt = (sa.select(runs.c.run_uuid).select_from(source)
            .where(runs.c.experiment_id.in_(_experiment_ids(experiment_ids)),
                   runs.c.lifecycle_stage.in_(_stages(view_type)),
                   *_conditions(filter_string, comparisons, _run_condition))
            .order_by(*keys))
    return _page(stmt, max_results, offset)


# -- experiments -------------------------------------------------------------------------------
def _experiment_condition(c: Comparison) -> ColumnElement[bool]:
    if c.entity == "tags":
        t = experiment_tags
        return _key_value(t, [t.c.experiment_id == experiments.c.experiment_id], c)
    value = c.value
    if c.key == "experiment_id":
        try:
            value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(value)  # type: ignore[arg-type]
        except ValueError:
            raise _BadValue(f"experiment_id compares with integer IDs, got {c.value!r} "
                             f"at position {c.position}") from None
    return compare(experiments.c[c.key], c.op, value)


def experiments_select(view_type: int, filter_string: str | None, order_by: Sequence[str] | None,
                       max_results: int | None, offset: int = 0) -> sa.Select[Any]:
    """``SELECT experiments.experiment_id`` of the experiments matching ``filter_string``.

    Filters: ``name``, ``experiment_id``, ``creation_time``, ``last_update_time``,
    ``tags.<key>``. Default order: ``creation_time DESC, experiment_id ASC``; given an order,
    ties break on ``experiment_id DESC`` (both as MLflow).
    """
    comparisons = parse_filter(filter_string, allowed=EXPERIMENTS)
    terms = parse_order_by(order_by or ["creation_time DESC", "experiment_id ASC"], allowed=EXPERIMENTS)
    keys: list[Any] = []
    for term in terms:
        keys += _sorted(experiments.c[term.key], term.ascending)
    if not any(t.key == "experiment_id" for t in terms):
        keys.append(experiments.c.experiment_id.desc())
    stmt = (sa.select(experiments.c.experiment_id)
            .where(experiments.c.lifecycle_stage.in_(_stages(view_type)),
                   *_conditions(filter_string, comparisons, _experiment_condition))
            .order_by(*keys))
    return _page(stmt, max_results, offset)


# -- logged models -----------------------------------------------------------------------------
_LOGGED_MODEL_COLUMNS = {"creation_timestamp": logged_models.c.creation_timestamp_ms,
                         "last_updated_timestamp": logged_models.c.last_updated_timestamp_ms}


def _logged_model_column(key: str) -> sa.Column[Any]:
    return _LOGGED_MODEL_COLUMNS[key] if key in _LOGGED_MODEL_COLUMNS else logged_models.c[key]


def _on_datasets(dataset_filters: Sequence[Mapping[str, Any]] | None,
                 values: sa.FromClause) -> list[ColumnElement[bool]]:
    """Metric values (rows of ``values``) logged on any of the given datasets (MLflow's ``datasets`` argument)."""
    if not dataset_filters:
        return []
    options = []
    for d in dataset_filters:
        name = d.get("dataset_name") if isinstance(d, Mapping) else None
        if not name:
            raise InvalidArgumentError(f"Each dataset filter needs a 'dataset_name': {d!r}")
        option = values.c.dataset_name == name
        if d.get("dataset_digest"):
            option = sa.and_(option, values.c.dataset_digest == d["dataset_digest"])
        options.append(option)
    return [sa.or_(*options)]


def logged_models_select(experiment_ids: Sequence[str], filter_string: str | None,
                         order_by: Sequence[str | Mapping[str, Any]] | None, max_results: int | None,
                         offset: int = 0, *, datasets: Sequence[Mapping[str, Any]] | None = None) -> sa.Select[Any]:
    """``SELECT logged_models.model_id`` of the live logged models in ``experiment_ids`` matching the filter.

    Filters: ``name``, ``model_id``, ``model_type``, ``status``, ``source_run_id``,
    ``creation_timestamp``, ``last_updated_timestamp``, ``metrics.x`` (any logged value of
    the model), ``params.x``, ``tags.x``. ``order_by`` takes strings (``"metrics.acc DESC"``)
    or MLflow's dictionaries (``field_name``, ``ascending``, ``dataset_name``,
    ``dataset_digest``); a metric orders by the model's latest value. Ties break on
    ``creation_timestamp DESC, model_id ASC``. ``datasets`` (``[{"dataset_name": ...,
    "dataset_digest": ...}]``) keeps metrics logged on those datasets only.
    """
    comparisons = parse_filter(filter_string, allowed=LOGGED_MODELS)
    terms = parse_order_by(order_by, allowed=LOGGED_MODELS)
    values = model_metric_values()  # logged for the model, or the run's values linked to it
    on_datasets = _on_datasets(datasets, values)
    lm = logged_models
    owner = [values.c.model_id == lm.c.model_id]

    def condition(c: Comparison) -> ColumnElement[bool]:
        if c.entity == "attributes":
            return compare(_logged_model_column(c.key), c.op, c.value)
        if c.entity == "metrics":
            return sa.exists().where(*owner, values.c.key == c.key, _metric_condition(values, c), *on_datasets)
        table = logged_model_params if c.entity == "params" else logged_model_tags
        return _key_value(table, [table.c.model_id == lm.c.model_id], c)

    conditions = _conditions(filter_string, comparisons, condition)
    if on_datasets and not any(c.entity == "metrics" for c in comparisons):
        conditions.append(sa.exists().where(*owner, *on_datasets))
    source: sa.FromClause = lm
    keys: list[Any] = []
    for index, term in enumerate(terms):
        if term.entity == "attributes":
            keys += _sorted(_logged_model_column(term.key), term.ascending)
            continue
        latest = _latest_model_metric(term, index)
        source = source.outerjoin(latest, latest.c.model_id == lm.c.model_id)
        keys += _sorted_value(latest.c.value, term.ascending, latest.c.is_nan)
    if not any(t.entity == "attributes" and t.key == "creation_timestamp" for t in terms):
        keys.append(lm.c.creation_timestamp_ms.desc())
    if not any(t.entity == "attributes" and t.key == "model_id" for t in terms):
        keys.append(lm.c.model_id.asc())
    stmt = (sa.select(lm.c.model_id).select_from(source)
            .where(lm.c.lifecycle_stage != LifecycleStage.DELETED,
                   lm.c.experiment_id.in_(_experiment_ids(experiment_ids)), *conditions)
            .order_by(*keys))
    return _page(stmt, max_results, offset)


def _latest_model_metric(term: OrderTerm, index: int) -> sa.Subquery:
    """Each model's latest value of metric ``term.key`` (by timestamp, then step), as MLflow."""
    m = model_metric_values(f"values_{index}")
    narrow = [m.c.dataset_name == term.dataset_name] if term.dataset_name else []
    if term.dataset_digest:
        narrow.append(m.c.dataset_digest == term.dataset_digest)
    rank = sa.func.row_number().over(partition_by=m.c.model_id,
                                     order_by=[m.c.timestamp.desc(), m.c.step.desc(), m.c.run_uuid.asc()])
    ranked = (sa.select(m.c.model_id, m.c.value, m.c.is_nan, rank.label("row_number"))
              .where(m.c.key == term.key, m.c.model_id.is_not(None), *narrow).subquery(f"ranked_{index}"))
    return (sa.select(ranked.c.model_id, ranked.c.value, ranked.c.is_nan)
            .where(ranked.c.row_number == 1).subquery(f"order_{index}"))


# -- model registry ----------------------------------------------------------------------------
def _querying_prompts(comparisons: list[Comparison]) -> bool:
    """MLflow hides prompts unless the filter asks for them by their tag."""
    for c in comparisons:
        if c.entity == "tags" and c.key == PROMPT_TAG and isinstance(c.value, str):
            return (c.op == "=" and c.value.lower() == "true") or (c.op == "!=" and c.value.lower() == "false")
    return False


def registered_models_select(filter_string: str | None, order_by: Sequence[str] | None,
                             max_results: int | None, offset: int = 0) -> sa.Select[Any]:
    """``SELECT registered_models.name`` of the registered models (prompts excluded) matching the filter.

    Filters: ``name`` (=, !=, LIKE, ILIKE, IN, NOT IN) and ``tags.<key>``. Order by ``name``,
    ``creation_timestamp``, ``last_updated_timestamp`` (or ``timestamp``); ties break on
    ``name ASC``, the default order.
    """
    comparisons = parse_filter(filter_string, allowed=REGISTERED_MODELS)
    terms = parse_order_by(order_by, allowed=REGISTERED_MODELS)
    rm, t = registered_models, registered_model_tags
    prompts = _querying_prompts(comparisons)

    def condition(c: Comparison) -> ColumnElement[bool] | None:
        if c.entity == "attributes":
            return compare(rm.c.name, c.op, c.value)
        if c.key == PROMPT_TAG and not prompts:
            return None
        return _key_value(t, [t.c.name == rm.c.name], c)

    conditions = _conditions(filter_string, comparisons, condition)
    if not prompts:
        conditions.append(~sa.exists().where(t.c.name == rm.c.name, t.c.key == PROMPT_TAG, t.c.value == "true"))
    columns = {"name": rm.c.name, "creation_timestamp": rm.c.creation_time,
               "last_updated_timestamp": rm.c.last_updated_time}
    keys: list[Any] = []
    for term in terms:
        keys += _sorted(columns[term.key], term.ascending)
    if not any(term.key == "name" for term in terms):
        keys.append(_code_points(rm.c.name).asc())
    return _page(sa.select(rm.c.name).where(*conditions).order_by(*keys), max_results, offset)


def model_versions_select(filter_string: str | None, order_by: Sequence[str] | None,
                          max_results: int | None, offset: int = 0) -> sa.Select[Any]:
    """``SELECT model_versions.name, model_versions.version`` of the versions matching the filter.

    Filters: ``name``, ``run_id`` (both with IN), ``model_id``, ``source_path`` (or
    ``source``), ``version_number`` (or ``version``), ``tags.<key>``. Deleted versions and
    prompts are left out. Default order: ``last_updated_timestamp DESC, name ASC,
    version_number DESC``; ties break on ``name ASC, version_number DESC``.
    """
    comparisons = parse_filter(filter_string, allowed=MODEL_VERSIONS)
    terms = parse_order_by(order_by or ["last_updated_timestamp DESC", "name ASC", "version_number DESC"],
                           allowed=MODEL_VERSIONS)
    mv, t = model_versions, model_version_tags
    prompts = _querying_prompts(comparisons)
    columns = {"name": mv.c.name, "run_id": mv.c.run_id, "model_id": mv.c.model_id, "source_path": mv.c.source,
               "version_number": mv.c.version, "creation_timestamp": mv.c.creation_time,
               "last_updated_timestamp": mv.c.last_updated_time}

    def condition(c: Comparison) -> ColumnElement[bool] | None:
        if c.entity == "attributes":
            return compare(columns[c.key], c.op, c.value)
        if c.key == PROMPT_TAG and not prompts:
            return None
        return _key_value(t, [t.c.name == mv.c.name, t.c.version == mv.c.version], c)

    conditions = [mv.c.current_stage != STAGE_DELETED_INTERNAL, *_conditions(filter_string, comparisons, condition)]
    if not prompts:
        conditions.append(~sa.exists().where(t.c.name == mv.c.name, t.c.key == PROMPT_TAG, t.c.value == "true"))
    keys: list[Any] = []
    for term in terms:
        keys += _sorted(columns[term.key], term.ascending)
    if not any(term.key == "name" for term in terms):
        keys.append(_code_points(mv.c.name).asc())
    if not any(term.key == "version_number" for term in terms):
        keys.append(mv.c.version.desc())
    return _page(sa.select(mv.c.name, mv.c.version).where(*conditions).order_by(*keys), max_results, offset)
