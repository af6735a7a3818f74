"""The filter and order_by parsers: every form MLflow accepts, and errors that name the position."""

from __future__ import annotations

import re

import pytest

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.search import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    Comparison,
    OrderTerm,
    parse_filter,
    parse_order_by,
)


def one(text: str, grammar=RUNS) -> tuple:
    (c,) = parse_filter(text, allowed=grammar)
    return c.entity, c.key, c.op, c.value


def error(text: str, grammar=RUNS) -> str:
    with pytest.raises(InvalidArgumentError) as info:
        parse_filter(text, allowed=grammar)
    return str(info.value)


def caret_position(message: str) -> int:
    """The column of the caret line, relative to the echoed filter line above it."""
    lines = message.splitlines()
    return lines[-1].index("^") - 4


# -- valid filters -----------------------------------------------------------------------------
@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_filter_has_no_comparisons(text):
    assert parse_filter(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("metrics.acc > 0.9", ("metrics", "acc", ">", 0.9)),
    ("metric.acc >= 1", ("metrics", "acc", ">=", 1.0)),
    ("metrics.acc < -1", ("metrics", "acc", "<", -1.0)),
    ("metrics.acc <= 1e-3", ("metrics", "acc", "<=", 0.001)),
    ("metrics.acc = 1.5E+3", ("metrics", "acc", "=", 1500.0)),
    ("metrics.acc != .5", ("metrics", "acc", "!=", 0.5)),
    ("metrics.acc>-1.5e-3", ("metrics", "acc", ">", -0.0015)),
    ("metrics.acc > +2", ("metrics", "acc", ">", 2.0)),
    ("params.model = 'tree'", ("params", "model", "=", "tree")),
    ('param.model = "tree"', ("params", "model", "=", "tree")),
    ("parameter.model != 'x'", ("params", "model", "!=", "x")),
    ("parameters.model LIKE 'tr%'", ("params", "model", "LIKE", "tr%")),
    ("params.model ilike 'TR%'", ("params", "model", "ILIKE", "TR%")),
    ("params.model like 'tr_e'", ("params", "model", "LIKE", "tr_e")),
    ("params.model IS NULL", ("params", "model", "IS NULL", None)),
    ("tags.team is not   null", ("tags", "team", "IS NOT NULL", None)),
    ("tag.team = 'core'", ("tags", "team", "=", "core")),
    ("attributes.status = 'FINISHED'", ("attributes", "status", "=", "FINISHED")),
    ("attribute.status = 'FINISHED'", ("attributes", "status", "=", "FINISHED")),
    ("attr.user_id LIKE 'a%'", ("attributes", "user_id", "LIKE", "a%")),
    ("run.artifact_uri ILIKE '%s3%'", ("attributes", "artifact_uri", "ILIKE", "%s3%")),
    ("status != 'FAILED'", ("attributes", "status", "!=", "FAILED")),
    ("run_name = 'r'", ("attributes", "run_name", "=", "r")),
    ("`Run name` = 'r'", ("attributes", "run_name", "=", "r")),
    ('attributes."run name" = \'r\'', ("attributes", "run_name", "=", "r")),
    ("run_id = 'abc'", ("attributes", "run_id", "=", "abc")),
    ("run_id LIKE 'ab%'", ("attributes", "run_id", "LIKE", "ab%")),
    ("run_id IN ('a', \"b\")", ("attributes", "run_id", "IN", ("a", "b"))),
    ("run_id in ('a',)", ("attributes", "run_id", "IN", ("a",))),
    ("run_id not  in ('a')", ("attributes", "run_id", "NOT IN", ("a",))),
    ("start_time > 5", ("attributes", "start_time", ">", 5)),
    ("start_time > 5.5", ("attributes", "start_time", ">", 5.5)),
    ("created >= 5", ("attributes", "start_time", ">=", 5)),
    ("attributes.Created >= 5", ("attributes", "start_time", ">=", 5)),
    ("end_time != 0", ("attributes", "end_time", "!=", 0)),
    ("datasets.name = 'iris'", ("datasets", "name", "=", "iris")),
    ("dataset.digest IN ('a', 'b')", ("datasets", "digest", "IN", ("a", "b"))),
    ("datasets.context NOT IN ('eval')", ("datasets", "context", "NOT IN", ("eval",))),
    ("datasets.context LIKE 'tr%'", ("datasets", "context", "LIKE", "tr%")),
])
def test_comparison_forms(text, expected):
    assert one(text) == expected


@pytest.mark.parametrize(("text", "key"), [
    ("metrics.`my metric` > 1", "my metric"),
    ('metrics."my metric" > 1', "my metric"),
    ("metrics.'my metric' > 1", "my metric"),
    ("metrics.`val/loss` > 1", "val/loss"),
    ("metrics.a.b.c > 1", "a.b.c"),
    ("metrics.`a.b` > 1", "a.b"),
    ("metrics.1st > 1", "1st"),
    ("metrics.select > 1", "select"),
    ("metrics.`a``b` > 1", "a`b"),
    ('metrics."a""b" > 1', 'a"b'),
    ("`metrics`.acc > 1", "acc"),
    ("tags.mlflow.runName > 1", None),
])
def test_keys(text, key):
    if key is None:  # tags take strings
        assert one(text.replace("> 1", "= 'x'"))[1] == "mlflow.runName"
        return
    assert one(text)[1] == key


@pytest.mark.parametrize(("text", "value"), [
    ("params.a = 'it''s'", "it's"),
    ("params.a = 'it\\'s'", "it's"),
    ('params.a = "say ""hi"""', 'say "hi"'),
    ('params.a = "say \\"hi\\""', 'say "hi"'),
    ("params.a = 'back\\\\slash'", "back\\slash"),
    ("params.a LIKE 'a\\_b%'", "a\\_b%"),  # unknown escapes stay: LIKE gives them meaning
    ("params.a = 'C:\\temp'", "C:\\temp"),
    ("params.a = ''", ""),
    ('params.a = ""', ""),
    ("params.a = 'AND'", "AND"),
    ("params.a = 'x OR y'", "x OR y"),
])
def test_string_values_and_escapes(text, value):
    assert one(text)[3] == value


def test_conjunction_positions_and_case_insensitive_and():
    comparisons = parse_filter("metrics.acc > 0.9 and params.a = 'x'AND  tags.t != 'y' AnD run_id IN ('r')")
    assert [(c.entity, c.position) for c in comparisons] == [
        ("metrics", 0), ("params", 22), ("tags", 41), ("attributes", 59)]
    assert all(isinstance(c, Comparison) for c in comparisons)


def test_comparisons_are_frozen_and_parsing_is_cached():
    first = parse_filter("metrics.acc > 1")
    assert first == parse_filter("metrics.acc > 1")
    with pytest.raises(AttributeError):
        first[0].key = "other"  # type: ignore[misc]
    first.append("mutating the returned list must not touch the cache")  # type: ignore[arg-type]
    assert len(parse_filter("metrics.acc > 1")) == 1


def test_no_whitespace_needed_around_operators():
    assert [(c.op, c.value) for c in parse_filter("metrics.a>=1 and params.b='x'")] == [(">=", 1.0), ("=", "x")]


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "position", "fragment"), [
    ("metrics.acc >> 0.9", 13, "unexpected '>' at position 13; expected a number"),
    ("metrcs.acc > 1", 0, "unknown entity 'metrcs' at position 0; expected one of metrics, params, tags, "
                          "attributes, datasets"),
    ("METRICS.acc > 1", 0, "unknown entity 'METRICS'"),
    ("metrics.acc = '0.9'", 14, "a string at position 14 where metric 'acc' needs a number"),
    ("start_time > '5'", 13, "needs a number"),
    ("params.a = 'x", 11, "unclosed quote ' starting at position 11"),
    ('params.`a = 1', 7, "unclosed quote ` starting at position 7"),
    ("metrics.acc > ", 14, "unexpected end of filter at position 14; expected a number"),
    ("params.a = ", 11, "unexpected end of filter at position 11; expected a quoted string"),
    ("metrics.acc", 11, "expected an operator"),
    ("metrics.acc > 1 AND", 19, "unexpected end of filter at position 19; expected a comparison after AND"),
    ("metrics.acc > 1 AND  ", 21, "expected a comparison after AND"),
    ("metrics.acc > 1 OR params.a = 'x'", 16, "OR at position 16 is not supported"),
    ("metrics.acc > 1 or params.a = 'x'", 16, "AND only"),
    ("metrics.a > 1 metrics.b > 2", 14, "unexpected 'metrics' at position 14; expected AND"),
    ("metrics.a > 1;", 13, "unexpected ';' at position 13"),
    ("params.a = 'x' AND (metrics.b > 1)", 19, "unexpected '(' at position 19"),
    ("AND metrics.a > 1", 0, "unknown attribute 'AND' at position 0"),
    ("params.a == 'x'", 9, "unsupported operator '==' at position 9; use '='"),
    ("metrics.a <> 1", 10, "unsupported operator '<>' at position 10; use '!='"),
    ("metrics.a LIKE 1", 10, "operator 'LIKE' at position 10 is not supported for metric 'a' in runs; "
                             "expected one of =, !=, >, >=, <, <="),
    ("metrics.a IS NULL", 10, "operator 'IS NULL' at position 10 is not supported for metric 'a'"),
    ("params.a > 'x'", 9, "operator '>' at position 9 is not supported for param 'a' in runs; expected one of "
                          "=, !=, LIKE, ILIKE, IS NULL, IS NOT NULL"),
    ("params.a IN ('x')", 9, "operator 'IN' at position 9 is not supported for param 'a'"),
    ("status IN ('x')", 7, "operator 'IN' at position 7 is not supported for attribute 'status'"),
    ("start_time LIKE 5", 11, "operator 'LIKE' at position 11 is not supported for attribute 'start_time'"),
    ("params.a NOT LIKE 'x'", 13, "expected IN after NOT"),
    ("params.a IS 'x'", 12, "expected NULL or NOT NULL after IS"),
    ("params.a IS NOT 'x'", 16, "expected NULL after IS NOT"),
    ("params.a ISNULL", 9, "unexpected 'ISNULL' at position 9; expected an operator (=, !=, LIKE, ILIKE, IS NULL"),
    ("params.a = x", 11, "unquoted value x at position 11; strings must be quoted, e.g. 'x'"),
    ("params.a = 1", 11, "unquoted value 1 at position 11"),
    ("params.a = `x`", 11, "backticks at position 11 quote names, not values"),
    ("run_id IN ()", 10, "empty list at position 10"),
    ("run_id IN ('a' 'b')", 15, "unexpected ''' at position 15; expected ',' or ')'"),
    ("run_id IN (1, 2)", 11, "unquoted value 1 at position 11"),
    ("run_id IN 'a'", 10, "expected '(' starting a list"),
    ("run_id IN ('a'", 14, "unexpected end of filter at position 14; expected ',' or ')'"),
    ("metrics.a > 0x10", 12, "invalid number '0x10' at position 12"),
    ("metrics.a > inf", 12, "unexpected 'inf' at position 12; expected a number"),
    ("metrics.a > - 1", 12, "unexpected '-' at position 12"),
    ("metrics.train/loss > 1", 13, "unexpected '/' at position 13 in a name; quote keys with special characters "
                                   "in backticks, e.g. metrics.`train/loss`"),
    ("params.my-key = 'x'", 9, "params.`my-key`"),
    ("metrics.`a`b > 1", 11, "unexpected 'b' at position 11; expected an operator"),
    ("metrics. > 1", 8, "expected a key after 'metrics.'"),
    ("lifecycle_stage = 'active'", 0, "unknown attribute 'lifecycle_stage' at position 0 for runs; expected one of "
                                      "run_id, run_name, status, user_id, artifact_uri, start_time, end_time "
                                      "(or a name with an entity prefix: metrics., params., tags., datasets.)"),
    ("attributes.foo = 'x'", 11, "unknown attribute 'foo' at position 11"),
    ("datasets.foo = 'x'", 9, "unknown dataset key 'foo' at position 9 for runs; expected one of name, digest, "
                              "context"),
    ("= 'x'", 0, "unexpected '=' at position 0; expected a name"),
])
def test_errors_name_the_position(text, position, fragment):
    message = error(text)
    assert message.startswith(f'Invalid filter "{text}": ')
    assert fragment in message
    assert caret_position(message) == position
    assert message.splitlines()[-2] == "    " + text


def test_error_is_an_invalid_argument_with_mlflow_error_code():
    with pytest.raises(InvalidArgumentError) as info:
        parse_filter("metrics.acc >> 1")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert isinstance(info.value, ValueError)


def test_non_string_filter_is_refused():
    with pytest.raises(InvalidArgumentError, match="must be a string"):
        parse_filter(42)  # type: ignore[arg-type]


def test_caret_line_survives_newlines_in_the_filter():
    message = error("metrics.a > 1\nOR params.b = 'x'")
    assert caret_position(message) == 14


# -- other searches ----------------------------------------------------------------------------
@pytest.mark.parametrize(("grammar", "text", "expected"), [
    (EXPERIMENTS, "name LIKE 'exp%'", ("attributes", "name", "LIKE", "exp%")),
    (EXPERIMENTS, "attribute.name = 'e'", ("attributes", "name", "=", "e")),
    (EXPERIMENTS, "experiment_id IN ('1', '2')", ("attributes", "experiment_id", "IN", ("1", "2"))),
    (EXPERIMENTS, "creation_time > 5", ("attributes", "creation_time", ">", 5)),
    (EXPERIMENTS, "tags.t IS NULL", ("tags", "t", "IS NULL", None)),
    (LOGGED_MODELS, "name = 'm'", ("attributes", "name", "=", "m")),
    (LOGGED_MODELS, "status IN ('READY')", ("attributes", "status", "IN", ("READY",))),
    (LOGGED_MODELS, "creation_time > 5", ("attributes", "creation_timestamp", ">", 5)),
    (LOGGED_MODELS, "last_updated_timestamp_ms < 5", ("attributes", "last_updated_timestamp", "<", 5)),
    (LOGGED_MODELS, "metrics.acc > 0.5", ("metrics", "acc", ">", 0.5)),
    (LOGGED_MODELS, "params.lr IN ('0.1')", ("params", "lr", "IN", ("0.1",))),
    (LOGGED_MODELS, "tags.t != 'x'", ("tags", "t", "!=", "x")),
    (REGISTERED_MODELS, "name IN ('a', 'b')", ("attributes", "name", "IN", ("a", "b"))),
    (REGISTERED_MODELS, "tags.`k k` ILIKE '%v'", ("tags", "k k", "ILIKE", "%v")),
    (MODEL_VERSIONS, "version_number > 1", ("attributes", "version_number", ">", 1)),
    (MODEL_VERSIONS, "version = 2", ("attributes", "version_number", "=", 2)),
    (MODEL_VERSIONS, "source_path LIKE 's3://%'", ("attributes", "source_path", "LIKE", "s3://%")),
    (MODEL_VERSIONS, "run_id NOT IN ('r')", ("attributes", "run_id", "NOT IN", ("r",))),
    (MODEL_VERSIONS, "model_id = 'm-1'", ("attributes", "model_id", "=", "m-1")),
])
def test_other_grammars(grammar, text, expected):
    assert one(text, grammar) == expected


@pytest.mark.parametrize(("grammar", "text", "fragment"), [
    (EXPERIMENTS, "params.a = 'x'", "unknown entity 'params' at position 0; expected one of attributes, tags"),
    (EXPERIMENTS, "name IN ('a')", "operator 'IN' at position 5 is not supported for attribute 'name' in experiments"),
    (EXPERIMENTS, "experiment_id LIKE '1%'", "not supported for attribute 'experiment_id'"),
    (EXPERIMENTS, "creation_time > 5.5", "attribute 'creation_time' needs an integer, got 5.5 at position 16"),
    (REGISTERED_MODELS, "tags.t IS NULL", "operator 'IS NULL' at position 7 is not supported for tag 't'"),
    (REGISTERED_MODELS, "creation_timestamp > 1", "unknown attribute 'creation_timestamp'"),
    (MODEL_VERSIONS, "version_number IN ('1')", "operator 'IN' at position 15 is not supported"),
    (MODEL_VERSIONS, "version_number = 1.5", "needs an integer"),
    (MODEL_VERSIONS, "source_path IN ('a')", "not supported for attribute 'source_path'"),
    (LOGGED_MODELS, "datasets.name = 'x'", "unknown entity 'datasets'"),
    (LOGGED_MODELS, "foo = 'x'", "unknown attribute 'foo' at position 0 for logged models"),
])
def test_other_grammar_errors(grammar, text, fragment):
    assert fragment in error(text, grammar)


# -- order_by ------------------------------------------------------------------------------
@pytest.mark.parametrize(("clause", "expected"), [
    ("metrics.acc DESC", ("metrics", "acc", False)),
    ("metrics.acc desc", ("metrics", "acc", False)),
    ("metric.acc Desc", ("metrics", "acc", False)),
    ("params.depth", ("params", "depth", True)),
    ("attributes.start_time ASC", ("attributes", "start_time", True)),
    ("`tags.my key` desc", ("tags", "my key", False)),
    ('"tags.my key"', ("tags", "my key", True)),
    ("tags.`my key` desc", ("tags", "my key", False)),
    ("metrics.`a.b` asc", ("metrics", "a.b", True)),
    ("metrics.a.b", ("metrics", "a.b", True)),
    ("created", ("attributes", "start_time", True)),
    ("run_name DESC", ("attributes", "run_name", False)),
    ("  status   desc  ", ("attributes", "status", False)),
])
def test_order_by_clauses(clause, expected):
    (term,) = parse_order_by([clause])
    assert (term.entity, term.key, term.ascending) == expected
    assert isinstance(term, OrderTerm) and term.index == 0


@pytest.mark.parametrize(("clause", "position", "fragment"), [
    ("metrics.acc DOWN", 12, "unexpected 'DOWN' at position 12; expected ASC or DESC"),
    ("metrcs.acc", 0, "unknown entity 'metrcs' at position 0"),
    ("metrics.acc DESC ASC", 17, "expected the end of the clause"),
    ("metrics.acc, params.b", 11, "unexpected ',' at position 11; expected ASC or DESC"),
    ("", 0, "unexpected end of order_by clause at position 0"),
    ("datasets.name", 0, "runs cannot be ordered by datasets"),
    ("lifecycle_stage", 0, "unknown attribute 'lifecycle_stage' at position 0 for runs"),
    ("`tags.a", 0, "unclosed quote ` starting at position 0"),
])
def test_order_by_errors(clause, position, fragment):
    with pytest.raises(InvalidArgumentError) as info:
        parse_order_by([clause])
    message = str(info.value)
    assert message.startswith(f'Invalid order_by clause "{clause}": ')
    assert fragment in message
    assert caret_position(message) == position


def test_order_by_lists_and_duplicates():
    terms = parse_order_by(["metrics.acc DESC", "params.depth", "attributes.start_time ASC"])
    assert [(t.entity, t.key, t.ascending, t.index) for t in terms] == [
        ("metrics", "acc", False, 0), ("params", "depth", True, 1), ("attributes", "start_time", True, 2)]
    assert parse_order_by(None) == [] and parse_order_by([]) == []
    assert parse_order_by("params.a DESC")[0].ascending is False
    with pytest.raises(InvalidArgumentError, match=re.escape("duplicate fields: clauses 0 and 1")):
        parse_order_by(["start_time", "created DESC"])
    with pytest.raises(InvalidArgumentError, match="must be a string"):
        parse_order_by([3])  # type: ignore[list-item]


@pytest.mark.parametrize(("grammar", "clause", "expected"), [
    (EXPERIMENTS, "last_update_time desc", ("attributes", "last_update_time", False)),
    (EXPERIMENTS, "experiment_id", ("attributes", "experiment_id", True)),
    (REGISTERED_MODELS, "timestamp DESC", ("attributes", "last_updated_timestamp", False)),
    (REGISTERED_MODELS, "creation_timestamp", ("attributes", "creation_timestamp", True)),
    (MODEL_VERSIONS, "version_number DESC", ("attributes", "version_number", False)),
    (LOGGED_MODELS, "creation_time", ("attributes", "creation_timestamp", True)),
    (LOGGED_MODELS, "metrics.acc DESC", ("metrics", "acc", False)),
])
def test_order_by_other_grammars(grammar, clause, expected):
    (term,) = parse_order_by([clause], allowed=grammar)
    assert (term.entity, term.key, term.ascending) == expected


@pytest.mark.parametrize(("grammar", "clause", "fragment"), [
    (EXPERIMENTS, "tags.a", "experiments cannot be ordered by tags"),
    (REGISTERED_MODELS, "foo", "unknown attribute 'foo' at position 0 for registered models; expected one of name, "
                               "timestamp, last_updated_timestamp, creation_timestamp"),
    (LOGGED_MODELS, "params.lr", "logged models cannot be ordered by params"),
    (MODEL_VERSIONS, "run_id", "unknown attribute 'run_id'"),
])
def test_order_by_other_grammar_errors(grammar, clause, fragment):
    with pytest.raises(InvalidArgumentError, match=re.escape(fragment)):
        parse_order_by([clause], allowed=grammar)


def test_logged_model_order_by_dictionaries():
    (term,) = parse_order_by([{"field_name": "metrics.acc", "ascending": False, "dataset_name": "d",
                               "dataset_digest": "x"}], allowed=LOGGED_MODELS)
    assert term == OrderTerm("metrics", "acc", False, 0, "d", "x")
    with pytest.raises(InvalidArgumentError, match="field_name"):
        parse_order_by([{"ascending": True}], allowed=LOGGED_MODELS)
    with pytest.raises(InvalidArgumentError, match="boolean"):
        parse_order_by([{"field_name": "name", "ascending": "yes"}], allowed=LOGGED_MODELS)
    with pytest.raises(InvalidArgumentError, match="dataset_name"):
        parse_order_by([{"field_name": "metrics.a", "dataset_digest": "x"}], allowed=LOGGED_MODELS)
