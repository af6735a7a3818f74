"""The search selects, run on SQLite and PostgreSQL against rows inserted directly."""

from __future__ import annotations

import json
import math

import pytest

from mlcask.entities import ViewType
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.search import (
    experiments_select,
    like_to_glob,
    logged_models_select,
    model_versions_select,
    registered_models_select,
    runs_select,
)
from mlcask.tracking.store import schema as s
from mlcask.tracking.store.db import engine_for

ALL = ["1", "2"]


@pytest.fixture
def engine(store_uri):
    return engine_for(store_uri)


def ids(engine, stmt) -> list:
    with engine.connect() as connection:
        rows = connection.execute(stmt).all()
    return [row[0] if len(row) == 1 else tuple(row) for row in rows]


def insert(engine, table, *rows):
    with engine.begin() as connection:
        connection.execute(table.insert(), [dict(r) for r in rows])


# -- runs fixture data -------------------------------------------------------------------------
def run(run_uuid, start_time, *, experiment_id=1, name=None, status="FINISHED", stage="active", user="ann",
        end_time=None, artifact_uri=None):
    return {"run_uuid": run_uuid, "name": name, "user_id": user, "status": status, "start_time": start_time,
            "end_time": end_time, "lifecycle_stage": stage, "experiment_id": experiment_id,
            "artifact_uri": artifact_uri or f"s3://bucket/{run_uuid}"}


def metric(run_uuid, key, value):
    nan = isinstance(value, float) and math.isnan(value)
    return {"run_uuid": run_uuid, "key": key, "value": 0.0 if nan else value, "is_nan": nan, "timestamp": 1,
            "step": 0}


@pytest.fixture
def runs_db(engine):
    insert(engine, s.experiments, {"experiment_id": 1, "name": "one", "lifecycle_stage": "active"},
           {"experiment_id": 2, "name": "two", "lifecycle_stage": "active"})
    insert(engine, s.runs,
           run("r1", 100, name="Alpha", end_time=150, user="ann"),
           run("r2", 200, name="alpha-2", status="RUNNING", user="Bob"),
           run("r3", 300, name="beta", status="FAILED", stage="deleted"),
           run("r4", 300, name=None, user="ann_x"),
           run("r5", 50, experiment_id=2, name="other"))
    insert(engine, s.latest_metrics, metric("r1", "acc", 0.9), metric("r2", "acc", float("nan")),
           metric("r3", "acc", 0.5), metric("r5", "acc", 0.7), metric("r1", "loss", 0.1), metric("r4", "loss", -1.0),
           metric("r2", "loss", 0.0))
    insert(engine, s.params, *[{"run_uuid": r, "key": k, "value": v} for r, k, v in [
        ("r1", "model", "tree"), ("r2", "model", "Tree"), ("r3", "model", "linear"), ("r4", "model", "tree%"),
        ("r5", "model", "a*b"), ("r1", "depth", "3"), ("r2", "depth", "10"), ("r4", "a b", "x")]])
    insert(engine, s.tags, *[{"run_uuid": r, "key": k, "value": v} for r, k, v in [
        ("r1", "team", "Core"), ("r2", "team", "core"), ("r4", "mlflow.runName", "from-tag"),
        ("r1", "mlflow.runName", "Alpha"), ("r5", "team", "[x]")]])
    insert(engine, s.datasets, *[{"dataset_uuid": d, "experiment_id": 1, "name": n, "digest": g,
                                  "dataset_source_type": "local", "dataset_source": "{}"}
                                 for d, n, g in [("d1", "iris", "aaa"), ("d2", "wine", "bbb")]])
    insert(engine, s.inputs, *[{"input_uuid": i, "source_type": "DATASET", "source_id": d, "destination_type": "RUN",
                                "destination_id": r} for i, d, r in [("i1", "d1", "r1"), ("i2", "d2", "r1"),
                                                                     ("i3", "d2", "r2")]],
           {"input_uuid": "i4", "source_type": "MODEL", "source_id": "d1", "destination_type": "RUN",
            "destination_id": "r4"})
    insert(engine, s.input_tags, {"input_uuid": "i1", "name": "mlflow.data.context", "value": "training"},
           {"input_uuid": "i2", "name": "mlflow.data.context", "value": "eval"},
           {"input_uuid": "i3", "name": "mlflow.data.context", "value": "Training"})
    return engine


def search(engine, filter_string=None, order_by=None, *, view=ViewType.ALL, experiments=ALL, max_results=100,
           offset=0):
    return ids(engine, runs_select(experiments, filter_string, view, order_by, max_results, offset))


# -- runs: filters -------------------------------------------------------------------------------
@pytest.mark.parametrize(("filter_string", "expected"), [
    ("metrics.acc > 0.6", {"r1", "r5"}),
    ("metrics.acc >= 0.5", {"r1", "r3", "r5"}),
    ("metrics.acc < 1", {"r1", "r3", "r5"}),  # NaN satisfies nothing but !=
    ("metrics.acc = 0", set()),  # a NaN's stored 0 never matches
    ("metrics.acc != 0.9", {"r2", "r3", "r5"}),  # NaN != anything; r4 has no acc
    ("metrics.loss <= 0", {"r2", "r4"}),
    ("metrics.loss > -1.5 AND metrics.acc > 0", {"r1"}),
    ("metrics.missing > 0", set()),
])
def test_metric_filters(runs_db, filter_string, expected):
    assert set(search(runs_db, filter_string)) == expected


@pytest.mark.parametrize(("filter_string", "expected"), [
    ("params.model = 'tree'", {"r1"}),
    ("params.model != 'tree'", {"r2", "r3", "r4", "r5"}),
    ("params.model LIKE 'tree%'", {"r1", "r4"}),  # case-sensitive on both databases
    ("params.model LIKE 'T%'", {"r2"}),
    ("params.model ILIKE 'tree%'", {"r1", "r2", "r4"}),
    ("params.model ILIKE 'TREE'", {"r1", "r2"}),
    ("params.model LIKE 'tre_'", {"r1"}),
    ("params.model LIKE 'tree\\%'", {"r4"}),  # escaped wildcard
    ("params.model ILIKE 'TREE\\%'", {"r4"}),
    ("params.model LIKE 'a*%'", {"r5"}),  # GLOB characters are literal
    ("params.model LIKE '*'", set()),
    ("params.model LIKE '%'", {"r1", "r2", "r3", "r4", "r5"}),
    ("params.depth = '3'", {"r1"}),
    ("params.depth IS NULL", {"r3", "r4", "r5"}),
    ("params.depth IS NOT NULL", {"r1", "r2"}),
    ("params.`a b` = 'x'", {"r4"}),
    ("tags.team = 'core'", {"r2"}),
    ("tags.team LIKE 'C%'", {"r1"}),
    ("tags.team ILIKE 'c%'", {"r1", "r2"}),
    ("tags.team LIKE '[x]'", {"r5"}),
    ("tags.team LIKE '[x%'", {"r5"}),
    ("tags.team != 'core'", {"r1", "r5"}),
    ("tags.team IS NULL", {"r3", "r4"}),
    ("params.model LIKE 'tree%' AND tags.team IS NOT NULL", {"r1"}),
])
def test_param_and_tag_filters(runs_db, filter_string, expected):
    assert set(search(runs_db, filter_string)) == expected


@pytest.mark.parametrize(("filter_string", "expected"), [
    ("run_id = 'r1'", {"r1"}),
    ("attributes.run_id IN ('r1', 'r3', 'nope')", {"r1", "r3"}),
    ("run_id NOT IN ('r1', 'r3')", {"r2", "r4", "r5"}),
    ("run_id LIKE 'r%'", {"r1", "r2", "r3", "r4", "r5"}),
    ("status = 'RUNNING'", {"r2"}),
    ("status != 'FINISHED'", {"r2", "r3"}),
    ("user_id LIKE 'ann%'", {"r1", "r4", "r5", "r3", "r2"} - {"r2"}),
    ("user_id ILIKE 'BOB'", {"r2"}),
    ("run_name = 'Alpha'", {"r1"}),
    ("run_name LIKE 'alpha%'", {"r2"}),
    ("run_name ILIKE 'alpha%'", {"r1", "r2"}),
    ("run_name = 'from-tag'", {"r4"}),  # no name column: MLflow's mlflow.runName tag
    ("`Run name` != 'Alpha'", {"r2", "r3", "r4", "r5"}),
    ("start_time > 100", {"r2", "r3", "r4"}),
    ("created >= 300", {"r3", "r4"}),
    ("start_time < 100.5", {"r1", "r5"}),
    ("end_time = 150", {"r1"}),
    ("end_time > 0", {"r1"}),  # NULL end times never match
    ("artifact_uri LIKE 's3://bucket/r1'", {"r1"}),
])
def test_attribute_filters(runs_db, filter_string, expected):
    assert set(search(runs_db, filter_string)) == expected


@pytest.mark.parametrize(("filter_string", "expected"), [
    ("datasets.name = 'iris'", {"r1"}),
    ("datasets.name = 'wine'", {"r1", "r2"}),
    ("datasets.name IN ('iris', 'nope')", {"r1"}),
    ("datasets.name != 'iris'", {"r1", "r2"}),  # r1 also has a dataset that is not iris
    ("datasets.digest = 'bbb'", {"r1", "r2"}),
    ("datasets.digest NOT IN ('aaa')", {"r1", "r2"}),
    ("datasets.context = 'training'", {"r1"}),
    ("datasets.context ILIKE 'train%'", {"r1", "r2"}),
    ("datasets.context LIKE 'T%'", {"r2"}),
    ("datasets.context IN ('eval')", {"r1"}),
    ("datasets.name = 'iris' AND datasets.context = 'eval'", {"r1"}),  # each on any input, as MLflow
])
def test_dataset_filters(runs_db, filter_string, expected):
    assert set(search(runs_db, filter_string)) == expected


def test_view_types_and_experiments(runs_db):
    assert set(search(runs_db, view=ViewType.ACTIVE_ONLY)) == {"r1", "r2", "r4", "r5"}
    assert search(runs_db, view=ViewType.DELETED_ONLY) == ["r3"]
    assert set(search(runs_db, view=ViewType.ALL)) == {"r1", "r2", "r3", "r4", "r5"}
    assert search(runs_db, experiments=["2"]) == ["r5"]
    assert search(runs_db, experiments=[2]) == ["r5"]
    assert search(runs_db, experiments=[]) == []
    with pytest.raises(InvalidArgumentError, match="Invalid experiment ID 'x'"):
        search(runs_db, experiments=["x"])
    with pytest.raises(InvalidArgumentError, match="view_type"):
        search(runs_db, view=7)


# -- runs: order -------------------------------------------------------------------------------
@pytest.mark.parametrize(("order_by", "expected"), [
    (None, ["r3", "r4", "r2", "r1", "r5"]),  # start_time DESC, then run_uuid
    (["start_time"], ["r5", "r1", "r2", "r3", "r4"]),
    (["created DESC"], ["r3", "r4", "r2", "r1", "r5"]),
    # values, then NaN, then missing, in both directions; ties on start_time DESC, run_uuid
    (["metrics.acc"], ["r3", "r5", "r1", "r2", "r4"]),
    (["metrics.acc DESC"], ["r1", "r5", "r3", "r2", "r4"]),
    (["metrics.loss ASC"], ["r4", "r2", "r1", "r3", "r5"]),
    (["metrics.loss DESC"], ["r1", "r2", "r4", "r3", "r5"]),
    (["params.depth"], ["r2", "r1", "r3", "r4", "r5"]),  # strings: '10' < '3'
    (["params.depth DESC"], ["r1", "r2", "r3", "r4", "r5"]),
    (["tags.team DESC"], ["r2", "r5", "r1", "r3", "r4"]),  # code points: 'Core' < '[x]' < 'core'
    (["`tags.team` ASC", "metrics.acc DESC"], ["r1", "r5", "r2", "r3", "r4"]),
    (["end_time DESC"], ["r1", "r3", "r4", "r2", "r5"]),  # missing end times last
    (["end_time ASC"], ["r1", "r3", "r4", "r2", "r5"]),
    (["run_name"], ["r1", "r2", "r3", "r5", "r4"]),  # the name column; r4 has none
    (["status", "run_id DESC"], ["r3", "r5", "r4", "r1", "r2"]),
    (["user_id DESC", "start_time ASC"], ["r4", "r5", "r1", "r3", "r2"]),
])
def test_run_order(runs_db, order_by, expected):
    assert search(runs_db, order_by=order_by) == expected


def test_run_order_with_filter_and_paging(runs_db):
    everything = search(runs_db, order_by=["metrics.acc DESC"])
    assert search(runs_db, order_by=["metrics.acc DESC"], max_results=2) == everything[:2]
    assert search(runs_db, order_by=["metrics.acc DESC"], max_results=2, offset=2) == everything[2:4]
    assert search(runs_db, order_by=["metrics.acc DESC"], max_results=2, offset=4) == everything[4:]
    assert search(runs_db, order_by=["metrics.acc DESC"], max_results=0) == []
    assert search(runs_db, order_by=["metrics.acc DESC"], max_results=None) == everything
    assert search(runs_db, "params.model ILIKE 'tree%'", ["metrics.acc DESC", "params.model"],
                  view=ViewType.ACTIVE_ONLY) == ["r1", "r2", "r4"]
    with pytest.raises(InvalidArgumentError, match="max_results"):
        search(runs_db, max_results=-1)
    with pytest.raises(InvalidArgumentError, match="offset"):
        search(runs_db, offset=-1)


def test_bad_filters_and_order_raise_before_sql(runs_db):
    with pytest.raises(InvalidArgumentError, match="position 13"):
        search(runs_db, "metrics.acc >> 0.9")
    with pytest.raises(InvalidArgumentError, match="duplicate fields"):
        search(runs_db, order_by=["metrics.acc", "metric.acc DESC"])


def test_statement_cache_keeps_each_like_pattern(runs_db):
    # Same statement shape, different patterns: the cached compilation must bind each value.
    for _ in range(2):
        assert set(search(runs_db, "params.model LIKE 'tree%'")) == {"r1", "r4"}
        assert set(search(runs_db, "params.model LIKE 'T%'")) == {"r2"}
        assert set(search(runs_db, "params.model LIKE 'a*%'")) == {"r5"}


def test_selects_compose_and_compile_per_dialect(runs_db):
    from sqlalchemy import func, select
    from sqlalchemy.dialects import postgresql, sqlite

    stmt = runs_select(ALL, "params.model LIKE 'tree%'", ViewType.ALL, ["params.model DESC"], None)
    assert ids(runs_db, select(func.count()).select_from(stmt.subquery())) == [2]
    pg, lite = str(stmt.compile(dialect=postgresql.dialect())), str(stmt.compile(dialect=sqlite.dialect()))
    assert "LIKE" in pg and "GLOB" not in pg and "GLOB" in lite and " LIKE " not in lite
    # strings order by code point everywhere, whatever PostgreSQL's database collation
    assert 'order_0.value COLLATE "C" DESC' in pg and "COLLATE" not in lite


@pytest.mark.parametrize(("pattern", "glob"), [
    ("a%", "a*"), ("a_b", "a?b"), ("a*", "a[*]"), ("?[", "[?][[]"), ("a\\%", "a%"), ("a\\_", "a_"),
    ("a\\\\", "a\\"), ("a\\", "a\\"), ("]x", "]x"),
])
def test_like_to_glob(pattern, glob):
    assert like_to_glob(pattern) == glob


# -- experiments -------------------------------------------------------------------------------
@pytest.fixture
def experiments_db(engine):
    insert(engine, s.experiments, *[{"experiment_id": i, "name": n, "lifecycle_stage": st, "creation_time": c,
                                     "last_update_time": u} for i, n, st, c, u in [
        (1, "Default", "active", 10, 40), (2, "exp-a", "active", 30, 30), (3, "Exp-B", "deleted", 20, 20),
        (4, "exp_c", "active", 30, None), (5, "other", "active", None, 50)]])
    insert(engine, s.experiment_tags, {"experiment_id": 2, "key": "team", "value": "core"},
           {"experiment_id": 4, "key": "team", "value": "Core"}, {"experiment_id": 5, "key": "x y", "value": "1"})
    return engine


def experiments(engine, filter_string=None, order_by=None, view=ViewType.ALL, max_results=100, offset=0):
    return ids(engine, experiments_select(view, filter_string, order_by, max_results, offset))


@pytest.mark.parametrize(("filter_string", "expected"), [
    ("name = 'exp-a'", {2}),
    ("name LIKE 'exp%'", {2, 4}),
    ("name ILIKE 'exp%'", {2, 3, 4}),
    ("name LIKE 'exp\\_c'", {4}),
    ("name != 'Default'", {2, 3, 4, 5}),
    ("experiment_id = '2'", {2}),
    ("experiment_id IN ('1', '3')", {1, 3}),
    ("experiment_id NOT IN ('1', '3')", {2, 4, 5}),
    ("creation_time >= 30", {2, 4}),
    ("last_update_time < 35", {2, 3}),
    ("tags.team = 'core'", {2}),
    ("tags.team ILIKE 'CORE'", {2, 4}),
    ("tags.team IS NULL", {1, 3, 5}),
    ("tags.`x y` IS NOT NULL AND name = 'other'", {5}),
])
def test_experiment_filters(experiments_db, filter_string, expected):
    assert set(experiments(experiments_db, filter_string)) == expected


def test_experiment_order_and_view(experiments_db):
    # MLflow's default: creation_time DESC, experiment_id ASC (missing times last)
    assert experiments(experiments_db) == [2, 4, 3, 1, 5]
    assert experiments(experiments_db, view=ViewType.ACTIVE_ONLY) == [2, 4, 1, 5]
    assert experiments(experiments_db, view=ViewType.DELETED_ONLY) == [3]
    # a given order breaks ties on experiment_id DESC, as MLflow
    assert experiments(experiments_db, order_by=["creation_time"]) == [1, 3, 4, 2, 5]
    assert experiments(experiments_db, order_by=["last_update_time DESC"]) == [5, 1, 2, 3, 4]
    assert experiments(experiments_db, order_by=["name"]) == [1, 3, 2, 4, 5]
    assert experiments(experiments_db, max_results=2, offset=1) == [4, 3]
    with pytest.raises(InvalidArgumentError, match="experiment_id compares with integer IDs") as info:
        experiments(experiments_db, "name = 'x' AND experiment_id = 'abc'")
    assert "position 15" in str(info.value) and info.value.message.splitlines()[-1].index("^") == 4 + 15


# -- logged models -----------------------------------------------------------------------------
@pytest.fixture
def models_db(runs_db):
    engine = runs_db
    insert(engine, s.logged_models, *[{
        "model_id": m, "experiment_id": e, "name": n, "artifact_location": f"/a/{m}", "creation_timestamp_ms": c,
        "last_updated_timestamp_ms": c + 1, "status": st, "lifecycle_stage": lc, "model_type": None,
        "source_run_id": r} for m, e, n, c, st, lc, r in [
        ("m-1", 1, "model", 10, "READY", "active", "r1"), ("m-2", 1, "Model", 20, "PENDING", "active", "r2"),
        ("m-3", 1, "model", 20, "READY", "deleted", "r1"), ("m-4", 2, "other", 5, "FAILED", "active", None),
        ("m-5", 1, "model_x", 20, "READY", "active", None)]])
    insert(engine, s.logged_model_params, {"model_id": "m-1", "key": "lr", "value": "0.1"},
           {"model_id": "m-2", "key": "lr", "value": "0.2"})
    insert(engine, s.logged_model_tags, {"model_id": "m-1", "key": "stage", "value": "Prod"},
           {"model_id": "m-5", "key": "stage", "value": "prod"})
    rows = [  # (model, key, value, timestamp, step, dataset)
        ("m-1", "acc", 0.5, 1, 0, "val"), ("m-1", "acc", 0.8, 2, 0, "test"), ("m-2", "acc", 0.9, 1, 0, "val"),
        ("m-2", "acc", 0.6, 1, 1, "test"), ("m-5", "acc", float("nan"), 1, 0, "val"), ("m-4", "acc", 0.99, 1, 0, None)]
    insert(engine, s.metrics, *[{
        "run_uuid": "r1", "key": k, "value": 0.0 if math.isnan(v) else v, "is_nan": math.isnan(v), "timestamp": t,
        "step": st, "model_id": m, "dataset_name": d, "dataset_digest": d and f"{d}-digest"}
        for m, k, v, t, st, d in rows])
    return engine


def models(engine, filter_string=None, order_by=None, experiments=ALL, max_results=100, offset=0, datasets=None):
    return ids(engine, logged_models_select(experiments, filter_string, order_by, max_results, offset,
                                            datasets=datasets))


@pytest.mark.parametrize(("filter_string", "expected"), [
    (None, {"m-1", "m-2", "m-4", "m-5"}),
    ("name = 'model'", {"m-1"}),
    ("name LIKE 'model%'", {"m-1", "m-5"}),
    ("name ILIKE 'model'", {"m-1", "m-2"}),
    ("model_id IN ('m-1', 'm-4')", {"m-1", "m-4"}),
    ("status != 'READY'", {"m-2", "m-4"}),
    ("source_run_id = 'r1'", {"m-1"}),
    ("creation_timestamp >= 20", {"m-2", "m-5"}),
    ("creation_time < 10", {"m-4"}),
    ("metrics.acc > 0.7", {"m-1", "m-2", "m-4"}),  # any logged value of the model, as MLflow
    ("metrics.acc < 0.55", {"m-1"}),
    ("metrics.acc != 0.5", {"m-1", "m-2", "m-4", "m-5"}),
    ("params.lr = '0.1'", {"m-1"}),
    ("params.lr IN ('0.1', '0.2')", {"m-1", "m-2"}),
    ("tags.stage LIKE 'P%'", {"m-1"}),
    ("tags.stage ILIKE 'P%'", {"m-1", "m-5"}),
])
def test_logged_model_filters(models_db, filter_string, expected):
    assert set(models(models_db, filter_string)) == expected


def test_logged_model_datasets_and_order(models_db):
    assert set(models(models_db, datasets=[{"dataset_name": "test"}])) == {"m-1", "m-2"}
    assert set(models(models_db, "metrics.acc > 0.7", datasets=[{"dataset_name": "val"}])) == {"m-2"}
    assert set(models(models_db, datasets=[{"dataset_name": "val", "dataset_digest": "nope"}])) == set()
    with pytest.raises(InvalidArgumentError, match="dataset_name"):
        models(models_db, datasets=[{"dataset_digest": "x"}])
    # default: creation_timestamp DESC, model_id ASC
    assert models(models_db) == ["m-2", "m-5", "m-1", "m-4"]
    assert models(models_db, experiments=["1"]) == ["m-2", "m-5", "m-1"]
    assert models(models_db, order_by=["name"]) == ["m-2", "m-1", "m-5", "m-4"]
    # latest value (timestamp, then step): m-1 0.8, m-2 0.6, m-4 0.99, m-5 NaN
    assert models(models_db, order_by=["metrics.acc DESC"]) == ["m-4", "m-1", "m-2", "m-5"]
    assert models(models_db, order_by=[{"field_name": "metrics.acc", "ascending": True}]) == [
        "m-2", "m-1", "m-4", "m-5"]
    assert models(models_db, order_by=[{"field_name": "metrics.acc", "ascending": False, "dataset_name": "val"}]) == [
        "m-2", "m-1", "m-5", "m-4"]
    assert models(models_db, order_by=["creation_time ASC"], max_results=2, offset=1) == ["m-1", "m-2"]


# -- registry ----------------------------------------------------------------------------------
@pytest.fixture
def registry_db(engine):
    insert(engine, s.registered_models, *[{"name": n, "creation_time": c, "last_updated_time": u}
                                          for n, c, u in [("alpha", 1, 30), ("Beta", 2, 20), ("gamma_1", 3, 20),
                                                          ("prompt", 4, 40)]])
    insert(engine, s.registered_model_tags, {"name": "alpha", "key": "team", "value": "core"},
           {"name": "Beta", "key": "team", "value": "Core"},
           {"name": "prompt", "key": "mlflow.prompt.is_prompt", "value": "true"},
           {"name": "gamma_1", "key": "mlflow.prompt.is_prompt", "value": "false"})
    insert(engine, s.model_versions, *[{
        "name": n, "version": v, "creation_time": c, "last_updated_time": u, "current_stage": st, "source": src,
        "run_id": r, "model_id": m} for n, v, c, u, st, src, r, m in [
        ("alpha", 1, 1, 10, "None", "s3://a/1", "r1", "m-1"), ("alpha", 2, 2, 30, "None", "s3://a/2", "r2", None),
        ("alpha", 3, 3, 30, "Deleted_Internal", "s3://a/3", "r3", None),
        ("Beta", 1, 4, 30, "Production", "file:///b", "r1", "m-2"),
        ("prompt", 1, 5, 50, "None", "x", None, None)]])
    insert(engine, s.model_version_tags, {"name": "alpha", "version": 1, "key": "k", "value": "v"},
           {"name": "Beta", "version": 1, "key": "k", "value": "V"},
           {"name": "prompt", "version": 1, "key": "mlflow.prompt.is_prompt", "value": "true"})
    return engine


@pytest.mark.parametrize(("filter_string", "expected"), [
    (None, ["Beta", "alpha", "gamma_1"]),  # name ASC (binary order), prompts hidden
    ("name = 'alpha'", ["alpha"]),
    ("name LIKE 'a%'", ["alpha"]),
    ("name ILIKE '%a'", ["Beta", "alpha"]),
    ("name IN ('alpha', 'prompt', 'Beta')", ["Beta", "alpha"]),
    ("name NOT IN ('alpha')", ["Beta", "gamma_1"]),
    ("name LIKE 'gamma\\_%'", ["gamma_1"]),
    ("tags.team = 'core'", ["alpha"]),
    ("tags.team ILIKE 'core'", ["Beta", "alpha"]),
    ("tags.team != 'core'", ["Beta"]),
    ("tags.`mlflow.prompt.is_prompt` = 'true'", ["prompt"]),
    ("tags.`mlflow.prompt.is_prompt` != 'false' AND name LIKE 'p%'", ["prompt"]),
    ("tags.`mlflow.prompt.is_prompt` = 'false'", ["Beta", "alpha", "gamma_1"]),
])
def test_registered_model_filters(registry_db, filter_string, expected):
    assert ids(registry_db, registered_models_select(filter_string, None, 100)) == expected


def test_registered_model_order(registry_db):
    def names(order_by, max_results=100, offset=0):
        return ids(registry_db, registered_models_select(None, order_by, max_results, offset))

    assert names(["name DESC"]) == ["gamma_1", "alpha", "Beta"]
    assert names(["timestamp DESC"]) == ["alpha", "Beta", "gamma_1"]
    assert names(["last_updated_timestamp ASC"]) == ["Beta", "gamma_1", "alpha"]
    assert names(["creation_timestamp DESC"]) == ["gamma_1", "Beta", "alpha"]
    assert names(None, max_results=1, offset=1) == ["alpha"]


@pytest.mark.parametrize(("filter_string", "expected"), [
    (None, [("Beta", 1), ("alpha", 2), ("alpha", 1)]),  # last_updated DESC, name ASC, version DESC
    ("name = 'alpha'", [("alpha", 2), ("alpha", 1)]),
    ("name IN ('alpha', 'Beta')", [("Beta", 1), ("alpha", 2), ("alpha", 1)]),
    ("run_id = 'r1'", [("Beta", 1), ("alpha", 1)]),
    ("run_id IN ('r2', 'r3')", [("alpha", 2)]),  # version 3 is deleted
    ("version_number > 1", [("alpha", 2)]),
    ("version = 1 AND name ILIKE 'ALPHA'", [("alpha", 1)]),
    ("source_path LIKE 's3://%'", [("alpha", 2), ("alpha", 1)]),
    ("model_id = 'm-2'", [("Beta", 1)]),
    ("tags.k = 'v'", [("alpha", 1)]),
    ("tags.k ILIKE 'v'", [("Beta", 1), ("alpha", 1)]),
    ("tags.`mlflow.prompt.is_prompt` = 'true'", [("prompt", 1)]),
])
def test_model_version_filters(registry_db, filter_string, expected):
    assert ids(registry_db, model_versions_select(filter_string, None, 100)) == expected


def test_model_version_order(registry_db):
    def versions(order_by, max_results=100, offset=0):
        return ids(registry_db, model_versions_select(None, order_by, max_results, offset))

    assert versions(["creation_timestamp"]) == [("alpha", 1), ("alpha", 2), ("Beta", 1)]
    assert versions(["version_number ASC"]) == [("Beta", 1), ("alpha", 1), ("alpha", 2)]
    assert versions(["name DESC"]) == [("alpha", 2), ("alpha", 1), ("Beta", 1)]
    assert versions(None, max_results=2, offset=1) == [("alpha", 2), ("alpha", 1)]


# -- against real MLflow -----------------------------------------------------------------------
MLFLOW_CASES = [
    (None, None), ("metrics.acc > 0.5", None), ("metrics.acc != 0.9", ["metrics.acc DESC"]),
    ("params.model LIKE 'tree%'", None), ("params.model ILIKE 'TREE%'", ["params.model"]),
    ("tags.team = 'core'", None), ("attributes.run_name ILIKE 'a%'", ["run_name DESC"]),
    ("run_id IN ('{r1}', '{r3}')", None), ("params.depth IS NULL", ["metrics.acc"]),
    (None, ["metrics.acc"]), (None, ["metrics.acc DESC"]), (None, ["metrics.loss ASC", "params.depth DESC"]),
    (None, ["tags.team"]), (None, ["tags.team DESC", "start_time"]), (None, ["end_time DESC"]),
    ("datasets.name = 'iris'", None), ("datasets.context = 'eval'", None),
    ("datasets.name IN ('wine') AND datasets.context = 'training'", None), ("metrics.acc < 1", None),
    ("params.model != 'tree' AND tags.team IS NOT NULL", None), ("status = 'FINISHED'", ["created"]),
    ("start_time >= 200 AND run_name != 'beta'", None), ("run_id NOT IN ('{r2}')", ["params.model DESC"]),
    ("tags.team LIKE 'C%'", ["metrics.loss DESC"]), ("metrics.loss <= 0", ["run_name"]),
]

MLFLOW_SCRIPT = r"""
import json, math, sys
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
client = MlflowClient()
exp = client.create_experiment("search")
spec = json.loads(sys.argv[1])
ids = {}
for r in spec["runs"]:
    run = client.create_run(exp, start_time=r["start"], run_name=r["name"])
    ids[r["alias"]] = run.info.run_id
    client.log_batch(run.info.run_id,
                     metrics=[Metric(k, float(v), 1, 0) for k, v in r["metrics"].items()],
                     params=[Param(k, v) for k, v in r["params"].items()],
                     tags=[RunTag(k, v) for k, v in r["tags"].items()])
    if r.get("end") is not None:
        client.set_terminated(run.info.run_id, end_time=r["end"])
    for name, context in r.get("datasets", []):
        ds = mlflow.data.from_dict({"x": [1]}, name=name) if hasattr(mlflow.data, "from_dict") else None
        import pandas as pd
        ds = mlflow.data.from_pandas(pd.DataFrame({"x": [1]}), name=name, digest=name[:4])
        from mlflow.entities import DatasetInput, InputTag
        client.log_inputs(run.info.run_id, [DatasetInput(ds._to_mlflow_entity(), [InputTag("mlflow.data.context", context)])])
out = {"ids": ids, "results": []}
for f, order in spec["cases"]:
    f = f.format(**ids) if f else f
    runs = client.search_runs([exp], f or "", ViewType.ALL, 1000, order)
    out["results"].append([r.info.run_id for r in runs])
print(json.dumps(out))
"""


@pytest.mark.interop
def test_runs_search_matches_real_mlflow(engine, tmp_path):
    """Same runs in MLflow's store and ours: every case returns the same runs in the same order."""
    from bench.mlflow_env import run_in_mlflow

    spec_runs = [
        {"alias": "r1", "start": 100, "end": 150, "name": "Alpha", "metrics": {"acc": 0.9, "loss": 0.1},
         "params": {"model": "tree", "depth": "3"}, "tags": {"team": "Core"},
         "datasets": [["iris", "training"], ["wine", "eval"]]},
        {"alias": "r2", "start": 200, "name": "alpha-2", "metrics": {"acc": "nan", "loss": 0.0},
         "params": {"model": "Tree", "depth": "10"}, "tags": {"team": "core"}, "datasets": [["wine", "training"]]},
        {"alias": "r3", "start": 300, "end": 400, "name": "beta", "metrics": {"acc": 0.5},
         "params": {"model": "linear"}, "tags": {}},
        {"alias": "r4", "start": 300, "name": "gamma", "metrics": {"loss": -1.0}, "params": {"model": "tree%"},
         "tags": {"team": "Core"}},
        {"alias": "r5", "start": 50, "name": "other", "metrics": {"acc": 0.7}, "params": {}, "tags": {}},
    ]
    spec = {"runs": spec_runs, "cases": MLFLOW_CASES}
    out = json.loads(run_in_mlflow(MLFLOW_SCRIPT.replace("sys.argv[1]", repr(json.dumps(spec))), cwd=tmp_path))
    real = {alias: run_id for alias, run_id in out["ids"].items()}
    alias = {run_id: name for name, run_id in real.items()}
    named = [[alias[run_id] for run_id in result] for result in out["results"]]
    assert named[0][2:] == ["r2", "r1", "r5"] and set(named[0][:2]) == {"r3", "r4"}  # the cases mean something
    assert named[2] == ["r5", "r3", "r2"]  # NaN satisfies !=, sorts after values
    assert named[10] == ["r1", "r5", "r3", "r2", "r4"]
    insert(engine, s.experiments, {"experiment_id": 1, "name": "search", "lifecycle_stage": "active"})
    dataset_ids: dict[str, str] = {}
    for r in spec_runs:
        run_id = real[r["alias"]]
        insert(engine, s.runs, run(run_id, r["start"], name=r["name"], end_time=r.get("end"),
                                   status="FINISHED" if r.get("end") else "RUNNING"))
        for k, v in r["metrics"].items():
            insert(engine, s.latest_metrics, metric(run_id, k, float(v)))
        for k, v in r["params"].items():
            insert(engine, s.params, {"run_uuid": run_id, "key": k, "value": v})
        for k, v in {**r["tags"], "mlflow.runName": r["name"]}.items():
            insert(engine, s.tags, {"run_uuid": run_id, "key": k, "value": v})
        for name, context in r.get("datasets", []):
            if name not in dataset_ids:
                dataset_ids[name] = f"dataset-{name}"
                insert(engine, s.datasets, {"dataset_uuid": dataset_ids[name], "experiment_id": 1, "name": name,
                                            "digest": name[:4], "dataset_source_type": "code", "dataset_source": "{}"})
            input_uuid = f"{run_id[:8]}-{name}"
            insert(engine, s.inputs, {"input_uuid": input_uuid, "source_type": "DATASET",
                                      "source_id": dataset_ids[name], "destination_type": "RUN",
                                      "destination_id": run_id})
            insert(engine, s.input_tags, {"input_uuid": input_uuid, "name": "mlflow.data.context", "value": context})
    for (filter_string, order_by), expected in zip(MLFLOW_CASES, out["results"]):
        f = filter_string.format(**real) if filter_string else filter_string
        got = ids(engine, runs_select(["1"], f, ViewType.ALL, order_by, 1000))
        assert got == expected, (filter_string, order_by)
