"""Per-group metrics, their disparity (fairlearn's definitions), the logged keys and the table."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import accuracy_score, log_loss, precision_score, recall_score, roc_auc_score

from mlcask.evaluation.fairness import (
    MISSING_GROUP,
    GroupMetrics,
    fairness_metric_keys,
    fairness_table,
    group_metrics,
    sensitive_frame,
)
from mlcask.exceptions import MlcaskException
from mlcask.tracking.validation import validate_metric_key


# Functions of the evaluation's calling convention: fn(y_true, y_pred, *, y_proba=None, sample_weight=None).
def _accuracy(y_true, y_pred, *, y_proba=None, sample_weight=None):
    return accuracy_score(y_true, y_pred, sample_weight=sample_weight)


def _precision(y_true, y_pred, *, y_proba=None, sample_weight=None):
    return precision_score(y_true, y_pred, sample_weight=sample_weight, zero_division=0)


def _recall(y_true, y_pred, *, y_proba=None, sample_weight=None):
    return recall_score(y_true, y_pred, sample_weight=sample_weight, zero_division=0)


def _roc_auc(y_true, y_pred, *, y_proba=None, sample_weight=None):
    return roc_auc_score(y_true, y_proba, sample_weight=sample_weight)


def _log_loss(y_true, y_pred, *, y_proba=None, sample_weight=None):
    return log_loss(y_true, y_proba, labels=[0, 1, 2], sample_weight=sample_weight)


METRICS = {"accuracy_score": _accuracy, "precision_score": _precision, "recall_score": _recall,
           "roc_auc": _roc_auc}


def _random_data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["a", "b", "c"], n),
                         "age": rng.integers(18, 90, n)})
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.75, y_true, 1 - y_true)
    proba = np.clip(y_true * 0.4 + rng.random(n) * 0.6, 0, 1)
    return data, y_true, y_pred, proba, rng.random(n) + 0.5


# --- sensitive_frame -------------------------------------------------------------------------

def test_sensitive_frame_keeps_the_columns_in_order_with_a_fresh_index():
    data = pd.DataFrame({"x": [1.5, 2.5, 3.5], "sex": ["F", "M", "F"], "race": ["a", "a", "b"]},
                        index=[10, 20, 30])
    frame = sensitive_frame(data, ["race", "sex"])
    assert list(frame.columns) == ["race", "sex"]
    assert list(frame.index) == [0, 1, 2]
    assert frame["sex"].tolist() == ["F", "M", "F"]
    assert list(sensitive_frame(data, "sex").columns) == ["sex"]


def test_sensitive_frame_names_the_absent_column_and_lists_the_columns():
    data = pd.DataFrame({"age": [1, 2], "sex": ["F", "M"]})
    with pytest.raises(MlcaskException, match=r"Sensitive feature 'gender' is not a column.*\['age', 'sex'\]") as e:
        sensitive_frame(data, ["sex", "gender"])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_sensitive_frame_refuses_a_single_group_naming_it():
    data = pd.DataFrame({"sex": ["F", "F", "F"], "race": ["a", "b", "a"]})
    with pytest.raises(MlcaskException, match=r"'sex' has a single group \('F'\)"):
        sensitive_frame(data, ["race", "sex"])
    with pytest.raises(MlcaskException, match=r"'sex' has a single group \(\(missing\)\)"):
        sensitive_frame(pd.DataFrame({"sex": [None, None]}), ["sex"])


def test_sensitive_frame_refuses_empty_and_repeated_names():
    data = pd.DataFrame({"sex": ["F", "M"]})
    with pytest.raises(MlcaskException, match="empty"):
        sensitive_frame(data, [])
    with pytest.raises(MlcaskException, match="'sex' more than once"):
        sensitive_frame(data, ["sex", "sex"])


def test_missing_values_form_their_own_group():
    data = pd.DataFrame({"sex": ["F", None, "M", np.nan], "band": [1.0, np.nan, 2.0, 1.0]})
    frame = sensitive_frame(data, ["sex", "band"])
    assert frame["sex"].tolist() == ["F", MISSING_GROUP, "M", MISSING_GROUP]
    # A numeric column with missing values becomes text, whole floats without ".0".
    assert frame["band"].tolist() == ["1", MISSING_GROUP, "2", "1"]
    # One value plus missing values: two groups, accepted.
    assert sensitive_frame(pd.DataFrame({"s": ["F", None]}), ["s"])["s"].tolist() == ["F", MISSING_GROUP]


def test_a_numeric_column_with_many_values_must_be_binned():
    data = pd.DataFrame({"age": np.arange(100), "small": np.arange(100) % 5})
    with pytest.raises(MlcaskException, match=r"'age' is numeric with 100 distinct values.*pd\.cut"):
        sensitive_frame(data, ["age"])
    assert sensitive_frame(data, ["small"])["small"].nunique() == 5
    ids = pd.DataFrame({"user": [f"u{i}" for i in range(150)]})
    with pytest.raises(MlcaskException, match="'user' has 150 distinct values"):
        sensitive_frame(ids, ["user"])


# --- group_metrics ---------------------------------------------------------------------------

def test_hand_worked_accuracy_difference_and_ratio():
    # Group F: 4 of 4 right (1.0); group M: 2 of 4 right (0.5).
    sensitive = sensitive_frame(pd.DataFrame({"sex": list("FFFFMMMM")}), ["sex"])
    y_true = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    y_pred = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    [result] = group_metrics({"accuracy_score": _accuracy}, y_true, y_pred, sensitive)
    assert isinstance(result, GroupMetrics)
    assert result.feature == "sex"
    assert result.by_group.loc["F", "accuracy_score"] == 1.0
    assert result.by_group.loc["M", "accuracy_score"] == 0.5
    assert result.by_group["count"].tolist() == [4, 4]
    assert result.difference["accuracy_score"] == pytest.approx(0.5)
    assert result.ratio["accuracy_score"] == pytest.approx(0.5)


def test_values_match_fairlearn_metricframe_with_weights_and_probabilities():
    data, y_true, y_pred, proba, weights = _random_data()
    sensitive = sensitive_frame(data, ["sex", "race"])
    groups = group_metrics(METRICS, y_true, y_pred, sensitive, y_proba=proba, sample_weights=weights)
    assert [g.feature for g in groups] == ["sex", "race", "sex & race"]

    def adapt(fn):
        return lambda yt, yp, y_proba, sample_weight: fn(yt, yp, y_proba=y_proba, sample_weight=sample_weight)

    for group, features in zip(groups, [data["sex"], data["race"], data[["sex", "race"]]], strict=True):
        frame = MetricFrame(metrics={k: adapt(f) for k, f in METRICS.items()}, y_true=y_true, y_pred=y_pred,
                            sensitive_features=features,
                            sample_params={k: {"y_proba": proba, "sample_weight": weights} for k in METRICS})
        expected = frame.by_group
        if isinstance(expected.index, pd.MultiIndex):
            expected.index = [" & ".join(key) for key in expected.index]
        pd.testing.assert_frame_equal(group.by_group.drop(columns="count"), expected, check_names=False,
                                      check_index_type=False, rtol=1e-12)
        pd.testing.assert_series_equal(group.difference, frame.difference(), check_names=False, rtol=1e-12)
        pd.testing.assert_series_equal(group.ratio, frame.ratio(), check_names=False, rtol=1e-12)
        assert group.by_group["count"].sum() == len(data)


def test_the_intersection_leaves_out_combinations_absent_from_the_data():
    data = pd.DataFrame({"sex": ["F", "F", "M", "M", "M"], "race": ["a", "b", "a", "a", "a"]})
    y = np.array([1, 0, 1, 1, 0])
    pred = np.array([1, 1, 1, 0, 0])
    groups = group_metrics({"accuracy_score": _accuracy}, y, pred, sensitive_frame(data, ["sex", "race"]))
    crossed = groups[2]
    assert crossed.feature == "sex & race"
    assert list(crossed.by_group.index) == ["F & a", "F & b", "M & a"]
    assert crossed.by_group["count"].tolist() == [1, 1, 3]
    assert crossed.by_group["accuracy_score"].tolist() == pytest.approx([1.0, 0.0, 2 / 3])
    assert crossed.difference["accuracy_score"] == pytest.approx(1.0)
    assert crossed.ratio["accuracy_score"] == 0.0


def test_a_metric_failing_on_a_group_is_nan_there_and_the_disparity_uses_the_others(caplog):
    # Group "b" holds a single class: roc_auc is undefined there (this one raises, as a strict metric would).
    def strict_auc(y_true, y_pred, *, y_proba=None, sample_weight=None):
        if len(set(y_true)) < 2:
            raise ValueError("only one class present")
        return roc_auc_score(y_true, y_proba)

    sensitive = sensitive_frame(pd.DataFrame({"g": list("aaaabbbcccc")}), ["g"])
    y_true = np.array([0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1])
    proba = np.array([.1, .9, .2, .8, .7, .6, .9, .3, .6, .4, .8])
    with caplog.at_level("INFO", logger="mlcask.evaluation.fairness"):
        [result] = group_metrics({"roc_auc": strict_auc, "accuracy_score": _accuracy}, y_true, proba > 0.5,
                                 sensitive, y_proba=proba)
    assert ("Metric 'roc_auc' is undefined on 1 of the 3 groups of g (left NaN): ValueError: only one class "
            "present") in caplog.text
    assert math.isnan(result.by_group.loc["b", "roc_auc"])
    assert result.by_group.loc["a", "roc_auc"] == 1.0
    # c: positives .4 and .8 against negatives .3 and .6: 3 of 4 pairs ordered right.
    assert result.by_group.loc["c", "roc_auc"] == pytest.approx(0.75)
    assert result.difference["roc_auc"] == pytest.approx(0.25)
    assert result.ratio["roc_auc"] == pytest.approx(0.75)


def test_probability_metrics_are_left_out_without_probabilities():
    data, y_true, y_pred, _, _ = _random_data(200)
    [result] = group_metrics(METRICS, y_true, y_pred, sensitive_frame(data, ["sex"]))
    assert list(result.by_group.columns) == ["count", "accuracy_score", "precision_score", "recall_score"]
    assert "roc_auc" not in result.difference


def test_a_probability_matrix_is_sliced_by_rows_for_multiclass_metrics():
    rng = np.random.default_rng(3)
    n = 300
    proba = rng.dirichlet([1, 1, 1], n)
    y_true = rng.integers(0, 3, n)
    data = pd.DataFrame({"sex": rng.choice(["F", "M"], n)})
    [result] = group_metrics({"log_loss": _log_loss}, y_true, proba.argmax(axis=1), sensitive_frame(data, ["sex"]),
                             y_proba=proba)
    for sex in ("F", "M"):
        rows = (data["sex"] == sex).to_numpy()
        assert result.by_group.loc[sex, "log_loss"] == pytest.approx(log_loss(y_true[rows], proba[rows],
                                                                              labels=[0, 1, 2]), rel=1e-12)


def test_missing_sensitive_values_are_scored_as_a_group():
    data = pd.DataFrame({"sex": ["F", "F", None, None, "M", "M"]})
    y = np.array([1, 1, 1, 1, 1, 1])
    pred = np.array([1, 1, 0, 0, 1, 0])
    [result] = group_metrics({"accuracy_score": _accuracy}, y, pred, sensitive_frame(data, ["sex"]))
    assert result.by_group.loc[MISSING_GROUP, "accuracy_score"] == 0.0
    assert result.by_group.loc[MISSING_GROUP, "count"] == 2


def test_rows_that_do_not_line_up_are_refused():
    sensitive = sensitive_frame(pd.DataFrame({"sex": list("FMFM")}), ["sex"])
    with pytest.raises(MlcaskException, match="predictions have 3 rows; the sensitive features have 4"):
        group_metrics({"accuracy_score": _accuracy}, [1, 0, 1, 0], [1, 0, 1], sensitive)


# --- fairness_metric_keys --------------------------------------------------------------------

def test_metric_keys_for_groups_and_disparities():
    sensitive = sensitive_frame(pd.DataFrame({"sex": list("FFFFMMMM")}), ["sex"])
    groups = group_metrics({"accuracy_score": _accuracy}, [1, 0, 1, 0, 1, 0, 1, 0], [1, 0, 1, 0, 1, 1, 0, 0],
                           sensitive)
    assert fairness_metric_keys(groups) == {
        "count/sex/F": 4.0, "accuracy_score/sex/F": 1.0,
        "count/sex/M": 4.0, "accuracy_score/sex/M": 0.5,
        "accuracy_score_difference/sex": 0.5, "accuracy_score_ratio/sex": 0.5,
    }


def test_keys_are_sanitized_collisions_numbered_and_nan_left_out():
    data = pd.DataFrame({"sex": ["F", "F", "M", "M", "M", "M"],
                         "place": ["a/b", "a/b", "a_b", "a_b", "x:y?", ".."]})
    y = np.array([1, 0, 1, 0, 1, 1])
    proba = np.array([.8, .2, .7, .4, .9, .6])
    groups = group_metrics({"roc_auc": _roc_auc}, y, proba > .5, sensitive_frame(data, ["sex", "place"]),
                           y_proba=proba)
    keys = fairness_metric_keys(groups)
    for key in keys:
        validate_metric_key(key)  # MLflow's rule: raises on a bad key
    # Groups in sorted order: '..', 'a/b', 'a_b', 'x:y?' -> '_', 'a_b', 'a_b_2', 'x_y_'
    assert "count/place/_" in keys
    assert keys["count/place/a_b"] == 2.0 and keys["count/place/a_b_2"] == 2.0
    assert "count/place/x_y_" in keys
    assert "count/sex and place/M and a_b" in keys
    # roc_auc is undefined on single-class groups ('..', 'x:y?', 'M & ..'): not logged; defined ones are.
    assert "roc_auc/place/x_y_" not in keys and "roc_auc/place/_" not in keys
    assert keys["roc_auc/place/a_b"] == 1.0
    assert all(not math.isnan(v) for v in keys.values())
    assert all(re.fullmatch(r"[\w.\- /]+", k) for k in keys)


def test_feature_names_are_sanitized_and_kept_apart():
    data = pd.DataFrame({"a b": ["x", "y", "x", "y"], "a&b": ["p", "p", "q", "q"]})
    groups = group_metrics({"accuracy_score": _accuracy}, [1, 1, 0, 0], [1, 0, 0, 0],
                           sensitive_frame(data, ["a b", "a&b"]))
    keys = fairness_metric_keys(groups)
    assert "accuracy_score_difference/a b" in keys
    assert "accuracy_score_difference/aandb" in keys
    assert "accuracy_score_difference/a b and aandb" in keys


# --- fairness_table --------------------------------------------------------------------------

def test_fairness_table_long_form_with_disparity_rows():
    data, y_true, y_pred, proba, _ = _random_data(300)
    groups = group_metrics(METRICS, y_true, y_pred, sensitive_frame(data, ["sex", "race"]), y_proba=proba)
    table = fairness_table(groups)
    assert list(table.columns) == ["sensitive_feature", "row", "group", "count", *METRICS]
    assert table["sensitive_feature"].unique().tolist() == ["sex", "race", "sex & race"]
    sex = table[table["sensitive_feature"] == "sex"]
    assert sex["row"].tolist() == ["group", "group", "difference", "ratio"]
    assert sex["group"].tolist()[:2] == ["F", "M"]
    assert sex["count"].iloc[:2].sum() == 300 and sex["count"].iloc[2:].isna().all()
    assert sex["accuracy_score"].iloc[2] == pytest.approx(groups[0].difference["accuracy_score"])
    assert sex["accuracy_score"].iloc[3] == pytest.approx(groups[0].ratio["accuracy_score"])
    assert len(table) == 2 + 2 + 3 + 2 + 6 + 2
    # It writes as CSV and reads back with the same values.
    back = pd.read_csv(pd.io.common.StringIO(table.to_csv(index=False)))
    assert back["accuracy_score"].to_numpy() == pytest.approx(table["accuracy_score"].to_numpy())


def test_fairness_table_of_nothing_has_the_columns():
    assert list(fairness_table([]).columns) == ["sensitive_feature", "row", "group", "count"]


def test_long_names_are_cut_to_keep_keys_valid():
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    data = pd.DataFrame({"g": [long_a, long_a, long_b, long_b]})
    groups = group_metrics({"accuracy_score": _accuracy}, [1, 0, 1, 0], [1, 1, 1, 0], sensitive_frame(data, ["g"]))
    keys = fairness_metric_keys(groups)
    assert sorted(keys) == sorted(["count/g/" + "x" * 100, "accuracy_score/g/" + "x" * 100,
                                   "count/g/" + "x" * 100 + "_2", "accuracy_score/g/" + "x" * 100 + "_2",
                                   "accuracy_score_difference/g", "accuracy_score_ratio/g"])
    for key in keys:
        validate_metric_key(key)


def test_no_metric_gives_counts_only():
    [result] = group_metrics({}, [1, 0], [1, 0], sensitive_frame(pd.DataFrame({"g": ["a", "b"]}), ["g"]))
    assert list(result.by_group.columns) == ["count"]
    assert result.difference.empty and result.ratio.empty
    assert fairness_metric_keys([result]) == {"count/g/a": 1.0, "count/g/b": 1.0}


def test_count_metrics_are_shown_per_group_without_disparity():
    def true_positives(y_true, y_pred, *, y_proba=None, sample_weight=None):
        return int(np.sum((np.asarray(y_true) == 1) & (np.asarray(y_pred) == 1)))

    sensitive = sensitive_frame(pd.DataFrame({"sex": list("FFFMMMMM")}), ["sex"])
    [result] = group_metrics({"true_positives": true_positives, "accuracy_score": _accuracy},
                             [1, 1, 0, 1, 1, 1, 0, 0], [1, 1, 0, 1, 1, 0, 0, 1], sensitive)
    assert result.by_group["true_positives"].tolist() == [2, 2]
    assert list(result.difference.index) == ["accuracy_score"] and list(result.ratio.index) == ["accuracy_score"]
    keys = fairness_metric_keys([result])
    assert keys["true_positives/sex/F"] == 2.0
    assert "true_positives_difference/sex" not in keys and "accuracy_score_difference/sex" in keys
    table = fairness_table([result])
    assert table["true_positives"].iloc[2:].isna().all()
    assert table.to_csv(index=False).splitlines()[1] == "sex,group,F,3,2,1.0"
