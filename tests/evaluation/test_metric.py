"""make_metric, MetricValue and evaluate_extra_metrics: MLflow's parameter resolution and errors."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from mlcask.evaluation import builtin_metrics as bm
from mlcask.evaluation.metric import (
    EvaluationMetric,
    MetricValue,
    aggregate_metric_values,
    check_extra_metrics,
    eval_table_columns,
    evaluate_extra_metrics,
    make_metric,
    other_output_columns_used,
)
from mlcask.exceptions import MlcaskException, MlflowException


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    x = pd.DataFrame({"x": rng.normal(size=200), "w": rng.uniform(1.0, 2.0, size=200)})
    y = 2 * x["x"].to_numpy() + rng.normal(size=200) * 0.3
    pred = pd.Series(2 * x["x"].to_numpy())
    return x, y, pred


def run(metrics, data, *, builtin=None, col_mapping=None, config=None, other=None, targets="given", **kw):
    x, y, pred = data
    return evaluate_extra_metrics(
        metrics, predictions=pred, targets=y if targets == "given" else targets, input_df=x,
        other_outputs=other, builtin_metrics=builtin or {}, col_mapping=col_mapping or {},
        evaluator_config=config or {}, **kw)


def flat(values, **kw):
    return aggregate_metric_values(values, **kw)


# --- make_metric / EvaluationMetric / MetricValue -----------------------------------------------

def test_make_metric_takes_the_function_name_and_keeps_mlflow_fields():
    def my_metric(predictions):
        return 1.0

    m = make_metric(eval_fn=my_metric, greater_is_better=False, version="v1", metric_details="d")
    assert isinstance(m, EvaluationMetric)
    assert (m.name, m.long_name, m.version, m.greater_is_better) == ("my_metric", "my_metric", "v1", False)
    assert str(m) == ("EvaluationMetric(name=my_metric, greater_is_better=False, long_name=my_metric, "
                      "version=v1, metric_details=d)")
    assert m(predictions=pd.Series([1])) == 1.0  # callable with keywords, as MLflow's


def test_make_metric_name_errors():
    with pytest.raises(MlflowException, match="`name` must be specified if `eval_fn` is a lambda function."):
        make_metric(eval_fn=lambda predictions: 1.0, greater_is_better=True)

    class NoName:
        def __call__(self, predictions):
            return 1.0

    with pytest.raises(MlcaskException, match="does not have a `__name__` attribute"):
        make_metric(eval_fn=NoName(), greater_is_better=True)
    with pytest.raises(MlcaskException) as err:
        make_metric(eval_fn=lambda p: 1.0, greater_is_better=True, name="a/b")
    assert err.value.message == "Invalid metric name 'a/b'. Metric names cannot include forward slashes ('/')."
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("name, words", [("my metric", "not a valid Python identifier"),
                                          ("lambda", "reserved Python keyword"),
                                          ("targets", "special parameter")])
def test_make_metric_warns_of_names_other_metrics_cannot_use(name, words, caplog):
    with caplog.at_level(logging.WARNING, logger="mlcask.evaluation.metric"):
        make_metric(eval_fn=lambda predictions: 1.0, greater_is_better=True, name=name)
    assert words in caplog.text


def test_metric_value_fills_standard_aggregations_from_numeric_scores():
    v = MetricValue(scores=[1.0, 2.0, 3.0, 4.0])
    assert v.aggregate_results == pytest.approx({"mean": 2.5, "variance": 1.25, "p90": 3.7})
    assert MetricValue(scores=["a", "b"]).aggregate_results is None
    assert MetricValue(scores=[1, True]).aggregate_results is None  # a bool is not a number here
    assert MetricValue(scores=[1.0], aggregate_results={"x": 5}).aggregate_results == {"x": 5}


# --- parameter resolution -------------------------------------------------------------------

def test_metric_depending_on_another_metric_listed_after_it(data):
    x, y, pred = data

    def mae_times_two(predictions, targets):
        return float(np.mean(np.abs(predictions - targets))) * 2

    def derived(predictions, mae_times_two, r2_score):  # r2_score: a builtin metric
        return mae_times_two.aggregate_results["mae_times_two"] + r2_score.aggregate_results["r2_score"]

    metrics = [make_metric(eval_fn=derived, greater_is_better=True),
               make_metric(eval_fn=mae_times_two, greater_is_better=False)]
    values = run(metrics, data, builtin={"r2_score": 0.5})
    assert list(values) == ["mae_times_two", "derived"]  # computed in dependency order
    expected = float(np.mean(np.abs(pred - y))) * 2
    assert flat(values) == pytest.approx({"mae_times_two": expected, "derived": expected + 0.5})


def test_input_column_through_col_mapping_and_config_value(data):
    x, y, pred = data

    def weighted_error(predictions, targets, weight, power):
        return float(np.sum(np.abs(predictions - targets) ** power * weight) / np.sum(weight))

    values = run([make_metric(eval_fn=weighted_error, greater_is_better=False)], data,
                 col_mapping={"weight": "w"}, config={"power": 2, "col_mapping": {"weight": "w"}})
    w = x["w"].to_numpy()
    assert flat(values)["weighted_error"] == pytest.approx(np.sum((pred - y) ** 2 * w) / np.sum(w))


def test_col_mapping_to_a_value_and_other_outputs_and_defaults(data):
    x, y, pred = data
    seen = {}

    def m(predictions, constant, score_col, missing=41):
        seen.update(constant=constant, score_col=score_col, missing=missing)
        return constant + missing

    other = pd.DataFrame({"score": np.arange(200.0)})
    values = run([make_metric(eval_fn=m, greater_is_better=True)], data, col_mapping={
        "constant": 1, "score_col": "score"}, other=other)
    assert flat(values) == {"m": 42}
    assert seen["score_col"].equals(other["score"])
    # the output columns a metric used go to the eval table, as in MLflow
    other["proba"] = 0.5
    metrics = [make_metric(eval_fn=m, greater_is_better=True)]
    assert other_output_columns_used(metrics, input_df=x, other_outputs=other,
                                     col_mapping={"constant": 1, "score_col": "score"}) == ["score"]
    assert other_output_columns_used(metrics, input_df=x, other_outputs=None, col_mapping={}) == []


def test_metrics_param_holds_builtins_as_metric_values_and_named_columns(data):
    x, y, pred = data
    got = {}

    def m(label, output, metrics):  # the targets' and predictions' own column names
        got.update(label=label, output=output, metrics=metrics)
        return len(label)

    run([make_metric(eval_fn=m, greater_is_better=True)], data, builtin={"accuracy_score": 0.9},
        predictions_name="output", targets_name="label")
    assert np.array_equal(got["label"].to_numpy(), y)
    assert np.array_equal(got["output"].to_numpy(), pred.to_numpy())
    assert got["metrics"]["accuracy_score"] == MetricValue(aggregate_results={"accuracy_score": 0.9})


def test_legacy_two_argument_form_gets_eval_df_and_flat_metrics(data):
    x, y, pred = data
    got = {}

    def old_style(eval_df, builtin_metrics):
        got.update(df=eval_df, metrics=builtin_metrics)
        eval_df["prediction"] = 0  # a copy: the next metric sees the real predictions
        return builtin_metrics["mean_absolute_error"] * 10

    def after(predictions):
        return float(predictions.sum())

    values = run([make_metric(eval_fn=old_style, greater_is_better=True),
                  make_metric(eval_fn=after, greater_is_better=True)], data,
                 builtin={"mean_absolute_error": 0.25})
    assert list(got["df"].columns) == ["prediction", "target"]
    assert got["metrics"]["mean_absolute_error"] == 0.25
    assert flat(values) == pytest.approx({"old_style": 2.5, "after": float(pred.sum())})


# --- errors -----------------------------------------------------------------------------------

def test_missing_parameters_error_names_them_and_the_columns(data):
    def needs(predictions, targets, nowhere):
        return 1.0

    with pytest.raises(MlcaskException) as err:
        run([make_metric(eval_fn=needs, greater_is_better=True)], data, targets=None,
            other=pd.DataFrame({"proba": np.zeros(200)}), predictions_name="pred")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert err.value.message == (
        "Error: Metric calculation failed for the following metrics:\n"
        "Metric 'needs' requires the following:\n"
        "- the 'targets' parameter needs to be specified\n"
        "- missing columns ['nowhere'] need to be defined or mapped\n"
        "\n"
        "Below are the existing column names for the input/output data:\n"
        "Input Columns: ['x', 'w']\n"
        "Output Columns: ['proba', 'pred']\n"
        "\n"
        "To resolve this issue, you may need to:\n"
        "- specify any required parameters\n"
        "- if you are missing columns, check that there are no circular dependencies among your\n"
        "metrics, and you may want to map them to an existing column using the following\n"
        "configuration:\n"
        "evaluator_config={'col_mapping': {<missing column name>: <existing column name>}}")


def test_circular_dependency_fails_with_both_metrics(data):
    def a(predictions, b):
        return 1.0

    def b(predictions, a):
        return 2.0

    with pytest.raises(MlcaskException) as err:
        run([make_metric(eval_fn=a, greater_is_better=True), make_metric(eval_fn=b, greater_is_better=True)],
            data, targets_name="y")
    assert "Metric 'a' requires the following:\n- missing columns ['b']" in err.value.message
    assert "Metric 'b' requires the following:\n- missing columns ['a']" in err.value.message
    assert "Input Columns: ['x', 'w', 'y']\nOutput Columns: ['predictions']" in err.value.message


def test_first_row_test_reports_every_failing_metric_before_the_full_run(data):
    calls = []

    def boom(predictions):
        calls.append(len(predictions))
        raise ValueError("bad input")

    def raises_mlcask(predictions):
        raise MlcaskException("custom failure")

    with pytest.raises(MlcaskException) as err:
        run([make_metric(eval_fn=boom, greater_is_better=True),
             make_metric(eval_fn=raises_mlcask, greater_is_better=True)], data)
    assert calls == [1]  # only the one-row test ran
    assert err.value.message.startswith("Metric 'boom': Error:\nValueError('bad input')\nTraceback")
    assert "Metric 'raises_mlcask': Error:\ncustom failure\nTraceback" in err.value.message


def test_wrong_type_in_extra_metrics(data):
    def fine(predictions):
        return 1.0

    with pytest.raises(MlcaskException) as err:
        run([make_metric(eval_fn=fine, greater_is_better=True), "rmse", fine], data)
    first, second = err.value.message.splitlines()[1:3]
    assert err.value.message.startswith("In the 'extra_metrics' parameter, the following metrics have "
                                        "the wrong type:\n- Metric 'rmse' has type 'str'\n")
    assert first == "- Metric 'rmse' has type 'str'" and second.endswith("has type 'function'")
    assert err.value.message.endswith(
        "Please ensure that all extra metrics are instances of mlflow.metrics.EvaluationMetric.")
    assert check_extra_metrics(None) == []


def test_results_numbers_wrapped_none_and_malformed_skipped_with_warning(data, caplog):
    def number(predictions):
        return np.float32(1.5)

    def nothing(predictions):
        return None

    def text(predictions):
        return "high"

    def tuple_scores(predictions):
        return MetricValue(scores=(1.0, 2.0), aggregate_results={"mean": 1.5})

    def bad_aggregate(predictions):
        return MetricValue(aggregate_results={"mean": "x"})

    metrics = [make_metric(eval_fn=f, greater_is_better=True)
               for f in (number, nothing, text, tuple_scores, bad_aggregate)]
    with caplog.at_level(logging.WARNING, logger="mlcask.evaluation.metric"):
        values = run(metrics, data)
    assert flat(values) == {"number": np.float32(1.5)}
    prefix = "Did not log metric '{}' at index {} in the `extra_metrics` parameter because it"
    assert prefix.format("nothing", 1) + " returned None." in caplog.text
    assert prefix.format("text", 2) + " did not return a MetricValue." in caplog.text
    assert prefix.format("tuple_scores", 3) + " must return MetricValue with scores as a list." in caplog.text
    assert (prefix.format("bad_aggregate", 4) + " must return MetricValue with aggregate_results with str "
            "keys and numeric values.") in caplog.text


def test_none_from_a_dependency_reaches_the_dependent_as_none(data):
    got = []

    def first(predictions):
        return None

    def second(predictions, first):
        got.append(first)
        return 3.0

    values = run([make_metric(eval_fn=second, greater_is_better=True),
                  make_metric(eval_fn=first, greater_is_better=True)], data)
    assert got == [None, None] and flat(values) == {"second": 3.0}


# --- keys ------------------------------------------------------------------------------------

def test_aggregate_names_versions_prefix_and_table_columns(data):
    def per_row(predictions, targets):
        return MetricValue(scores=list(np.abs(predictions - targets)), justifications=["j"] * len(targets))

    def total(predictions):
        return MetricValue(aggregate_results={"total": 5.0, "skipped": None, "other": 1.0})

    values = run([make_metric(eval_fn=per_row, greater_is_better=False, version="v2"),
                  make_metric(eval_fn=total, greater_is_better=True)], data)
    assert set(flat(values)) == {"per_row/v2/mean", "per_row/v2/variance", "per_row/v2/p90",
                                 "total", "total/other"}
    assert set(flat(values, prefix="p_")) == {"p_per_row/v2/p_mean", "p_per_row/v2/p_variance",
                                              "p_per_row/v2/p_p90", "p_total", "p_total/p_other"}
    columns = eval_table_columns(values)
    assert set(columns) == {"per_row/v2/score", "per_row/v2/justification"}
    assert len(columns["per_row/v2/score"]) == 200


def test_extra_metric_with_a_builtin_name_replaces_it(data):
    x, y, pred = data
    values = run([bm.mae()], data, builtin={"mean_absolute_error": -1.0, "r2_score": 0.1})
    assert flat(values) == pytest.approx({"mean_absolute_error": sk.mean_absolute_error(y, pred)})


# --- mlflow.metrics' ready-made metrics -------------------------------------------------------

@pytest.mark.filterwarnings("ignore:R.2 score is not well-defined")  # the one-row test, as in MLflow
def test_builtin_factories_match_sklearn(data):
    x, y, pred = data
    factories = [bm.mae, bm.mse, bm.rmse, bm.r2_score, bm.max_error, bm.mape]
    values = flat(run([f() for f in factories], data))
    assert values == pytest.approx({
        "mean_absolute_error": sk.mean_absolute_error(y, pred),
        "mean_squared_error": sk.mean_squared_error(y, pred),
        "root_mean_squared_error": sk.root_mean_squared_error(y, pred),
        "r2_score": sk.r2_score(y, pred),
        "max_error": sk.max_error(y, pred),
        "mean_absolute_percentage_error": sk.mean_absolute_percentage_error(y, pred)}, rel=1e-12)
    assert [f().greater_is_better for f in factories] == [False, False, False, True, False, False]


def test_classification_factories_read_pos_label_from_config():
    y = np.array(["a", "a", "a", "b", "b", "b"])
    p = pd.Series(["a", "a", "b", "b", "a", "a"])
    x = pd.DataFrame({"f": np.arange(6)})
    values = flat(evaluate_extra_metrics(
        [bm.recall_score(), bm.precision_score(), bm.f1_score()], predictions=p, targets=y, input_df=x,
        other_outputs=None, builtin_metrics={}, col_mapping={}, evaluator_config={"pos_label": "a"}))
    assert values == pytest.approx({"recall_score": sk.recall_score(y, p, pos_label="a"),
                                    "precision_score": sk.precision_score(y, p, pos_label="a"),
                                    "f1_score": sk.f1_score(y, p, pos_label="a")})
    assert values["recall_score"] != pytest.approx(sk.recall_score(y, p, pos_label="b"))


def test_builtin_factories_without_targets_log_nothing(data):
    assert run([bm.mae(), bm.r2_score()], data, targets=None) == {}
