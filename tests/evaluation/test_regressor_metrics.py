"""regressor_metrics / regressor_metric_functions: MLflow's keys, values and value types."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from mlcask.evaluation.regressor_metrics import regressor_metric_functions, regressor_metrics
from mlcask.exceptions import MlcaskException

KEYS = ["example_count", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
        "sum_on_target", "mean_on_target", "r2_score", "max_error", "mean_absolute_percentage_error"]


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(5.0, 3.0, n)
    return y, y + rng.normal(0, 1.0, n), rng.uniform(0.1, 2.0, n)


@pytest.mark.parametrize("weighted", [False, True])
def test_values_equal_sklearn(weighted):
    y, pred, w = data()
    w = w if weighted else None
    ours = regressor_metrics(y, pred, sample_weights=w)
    total = float((y * w).sum()) if weighted else sum(y)
    expected = {
        "example_count": len(y),
        "mean_absolute_error": sk.mean_absolute_error(y, pred, sample_weight=w),
        "mean_squared_error": sk.mean_squared_error(y, pred, sample_weight=w),
        "root_mean_squared_error": sk.root_mean_squared_error(y, pred, sample_weight=w),
        "sum_on_target": total,
        "mean_on_target": total / len(y),
        "r2_score": sk.r2_score(y, pred, sample_weight=w),
        "max_error": sk.max_error(y, pred),
        "mean_absolute_percentage_error": sk.mean_absolute_percentage_error(y, pred, sample_weight=w),
    }
    assert list(ours) == KEYS
    assert ours == pytest.approx(expected, rel=1e-12)


def test_sum_on_target_adds_in_order_like_pythons_sum():
    # Values where pairwise (ndarray.sum) and left-to-right (MLflow's sum()) addition differ.
    y = np.array([1e16, 1.0, -1e16, 1.0] * 50 + [0.1] * 300)
    assert float(np.sum(y)) != sum(y)
    ours = regressor_metrics(y, y)
    assert ours["sum_on_target"] == sum(y)
    assert ours["mean_on_target"] == sum(y) / len(y)


def test_integer_targets_keep_an_integer_sum():
    y = np.arange(1, 11)
    ours = regressor_metrics(y, y + 0.5)
    assert type(ours["sum_on_target"]) is int and ours["sum_on_target"] == 55
    assert type(ours["example_count"]) is int
    assert type(ours["mean_on_target"]) is float and ours["mean_on_target"] == 5.5


def test_max_error_ignores_weights():
    y, pred, w = data()
    assert regressor_metrics(y, pred, sample_weights=w)["max_error"] == regressor_metrics(y, pred)["max_error"]


def test_functions_work_on_a_subset():
    y, pred, w = data()
    fns = regressor_metric_functions()
    assert list(fns) == KEYS
    part = slice(0, 40)
    assert {k: fn(y[part], pred[part], sample_weight=w[part]) for k, fn in fns.items()} == \
        regressor_metrics(y[part], pred[part], sample_weights=w[part])


def test_object_numbers_are_accepted_strings_refused():
    y, pred, _ = data(20)
    assert regressor_metrics(y.astype(object), pred)["mean_squared_error"] == pytest.approx(
        sk.mean_squared_error(y, pred))
    with pytest.raises(MlcaskException, match=r"numeric targets; got values of type <U3 .*'classifier'"):
        regressor_metrics(np.array(["cat", "dog"]), np.array([1.0, 2.0]))
    with pytest.raises(MlcaskException, match="numeric predictions; got values of type object"):
        regressor_metrics(np.array([1.0, 2.0]), np.array(["a", 1.0], dtype=object))


def test_length_mismatch_and_column_predictions():
    y, pred, _ = data(20)
    with pytest.raises(MlcaskException, match=r"targets \(20 rows\) and the predictions \(19 rows\)"):
        regressor_metrics(y, pred[1:])
    assert regressor_metrics(y, pred[:, None]) == regressor_metrics(y, pred)
