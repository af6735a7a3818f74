"""explain(): native TreeSHAP, shap's explainers, permutation importance, MLflow's config keys and skip rules."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlcask.lightgbm
import mlcask.pyfunc
import mlcask.sklearn
import mlcask.xgboost
from mlcask.evaluation import tree_cost
from mlcask.evaluation.explain import cohort_importance, explain, sample_rows
from mlcask.evaluation.labels import LabelSpace
from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

BINARY = LabelSpace(np.array([0, 1]), 1, 1)
LOGGER = "mlcask.evaluation.explain"


def _frame(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(1500, 6, n_informative=3, n_redundant=0, random_state=0)
    return _frame(X), y


def _pyfunc(tmp_path_factory, flavor, model):
    path = tmp_path_factory.mktemp("model") / "m"
    flavor.save_model(model, str(path))
    return mlcask.pyfunc.load_model(str(path))


@pytest.fixture(scope="module")
def xgb_binary(binary, tmp_path_factory):
    import xgboost

    X, y = binary
    model = xgboost.XGBClassifier(n_estimators=30, max_depth=4, n_jobs=1).fit(X, y)
    return model, _pyfunc(tmp_path_factory, mlcask.xgboost, model)


@pytest.fixture
def no_shap(monkeypatch):
    monkeypatch.setitem(sys.modules, "shap", None)  # `import shap` raises ImportError


def _explain(pyfunc, X, y, config=None, space=BINARY, model_type="classifier", **kwargs):
    return explain(pyfunc, X, model_type=model_type, y_true=y, space=space, config=config or {}, **kwargs)


def test_xgboost_contributions_sum_to_margin_and_match_shap(binary, xgb_binary):
    X, y = binary
    model, pyfunc = xgb_binary
    found = _explain(pyfunc, X, y, {"explainability_nsamples": 400})
    assert (found.method, found.is_shap, found.output) == ("xgboost_pred_contribs", True, "log-odds of class 1")
    assert found.contributions.shape == (400, 6) and found.feature_names == list(X.columns)
    sample = X.iloc[found.rows]
    margin = model.predict(sample, output_margin=True)
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values, margin, atol=1e-4)
    assert found.base_value == pytest.approx(found.base_values[0])
    expected = pd.Series(np.abs(found.contributions).mean(axis=0), index=X.columns).sort_values(ascending=False)
    pd.testing.assert_series_equal(found.importance, expected, check_names=False, check_index_type=False)
    shap = pytest.importorskip("shap")
    reference = shap.TreeExplainer(model).shap_values(sample)
    np.testing.assert_allclose(found.contributions, reference, atol=1e-4)


def test_rows_are_mlflows_sample_and_the_default_explains_a_prefix(binary, xgb_binary):
    X, y = binary
    _, pyfunc = xgb_binary
    rows = sample_rows(len(X), 1000)
    shap = pytest.importorskip("shap")
    np.testing.assert_array_equal(X.index[rows], shap.sample(X, 1000, random_state=0).index)
    default = _explain(pyfunc, X, y)
    expected = tree_cost.tree_rows(tree_cost.xgboost_units(xgb_binary[0].get_booster()), "xgboost", len(X))
    assert tree_cost.MIN_ROWS <= len(default.rows) == expected <= len(X)
    np.testing.assert_array_equal(default.rows, sample_rows(len(X), 2000)[:expected])
    assert len(_explain(pyfunc, X, y, {"explainability_nsamples": 1500}).rows) == 1500


def test_tree_rows_budget():
    assert tree_cost.tree_rows(1.0, "xgboost", 2000) == 2000          # tiny model: the whole sample
    assert tree_cost.tree_rows(1e12, "xgboost", 2000) is None         # hopeless: permutation instead
    assert tree_cost.tree_rows(1e6, "xgboost", 2000) == tree_cost.MIN_ROWS
    assert tree_cost.tree_rows(None, "shap", 50) == 50


def test_binary_negative_positive_index_flips_the_output(binary, xgb_binary):
    X, y = binary
    model, pyfunc = xgb_binary
    space = LabelSpace(np.array([1, 0]), 0, 0)  # pos_label 0: predict_proba's first column
    found = _explain(pyfunc, X, y, {"explainability_nsamples": 200}, space=space)
    margin = model.predict(X.iloc[found.rows], output_margin=True)
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values, -margin, atol=1e-4)
    assert found.output == "log-odds of class 0"


def test_xgboost_multiclass_explains_each_rows_predicted_class(tmp_path_factory):
    import xgboost

    X, y = make_classification(600, 5, n_informative=4, n_redundant=0, n_classes=3, random_state=1)
    X = _frame(X)
    model = xgboost.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1).fit(X, y)
    pyfunc = _pyfunc(tmp_path_factory, mlcask.xgboost, model)
    found = _explain(pyfunc, X, y, space=LabelSpace(np.array([0, 1, 2]), None, 0))
    sample = X.iloc[found.rows]
    margin = model.predict(sample, output_margin=True)
    predicted = model.predict(sample)
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values,
                               margin[np.arange(len(sample)), predicted], atol=1e-4)
    assert found.output == "margin of each row's predicted class" and found.base_value is None


def test_xgboost_regressor_with_missing_values(tmp_path_factory):
    import xgboost

    X, y = make_regression(500, 4, random_state=0)
    X = _frame(X)
    X.iloc[::7, 1] = np.nan
    model = xgboost.XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1).fit(X, y)
    found = _explain(_pyfunc(tmp_path_factory, mlcask.xgboost, model), X, y, space=None, model_type="regressor")
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values,
                               model.predict(X.iloc[found.rows]), rtol=1e-4, atol=1e-3)
    assert found.output == "predicted value"


def test_lightgbm_contributions_sum_to_raw_score(binary, tmp_path_factory):
    import lightgbm

    X, y = binary
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1, n_jobs=1).fit(X, y)
    found = _explain(_pyfunc(tmp_path_factory, mlcask.lightgbm, model), X, y, {"explainability_nsamples": 300})
    assert found.method == "lightgbm_pred_contrib"
    raw = model.predict(X.iloc[found.rows], raw_score=True)
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values, raw, atol=1e-6)
    assert list(found.importance.index[:3]) != [] and found.importance.is_monotonic_decreasing


def test_sklearn_forest_through_shap_tree_explainer(binary, tmp_path_factory):
    pytest.importorskip("shap")
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    X, y = binary
    model = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    found = _explain(_pyfunc(tmp_path_factory, mlcask.sklearn, model), X, y, {"explainability_nsamples": 300})
    assert found.method == "shap_tree" and found.output == "probability of class 1"
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values,
                               model.predict_proba(X.iloc[found.rows])[:, 1], atol=1e-6)
    boosted = GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y)
    found = _explain(_pyfunc(tmp_path_factory, mlcask.sklearn, boosted), X, y, {"explainability_nsamples": 300})
    assert found.method == "shap_tree" and found.output == "log-odds of class 1"
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values,
                               boosted.decision_function(X.iloc[found.rows]), atol=1e-6)


def test_logistic_regression_linear_shap_or_permutation(binary, tmp_path_factory, monkeypatch):
    X, y = binary
    model = LogisticRegression().fit(X, y)
    pyfunc = _pyfunc(tmp_path_factory, mlcask.sklearn, model)
    pytest.importorskip("shap")
    linear = _explain(pyfunc, X, y)
    assert linear.method == "shap_linear"
    np.testing.assert_allclose(linear.contributions.sum(axis=1) + linear.base_values,
                               model.decision_function(X.iloc[linear.rows]), atol=1e-6)
    monkeypatch.setitem(sys.modules, "shap", None)
    perm = _explain(pyfunc, X, y)
    assert (perm.method, perm.is_shap, perm.contributions, perm.output) == ("permutation", False, None,
                                                                             "drop in accuracy_score")
    assert set(perm.importance.index[:2]) == set(linear.importance.index[:2])


def test_permutation_agrees_with_sklearn(binary, no_shap):
    from sklearn.inspection import permutation_importance

    X, y = binary
    model = LogisticRegression().fit(X, y)
    found = _explain(None, X, y, predict=model.predict)
    np.testing.assert_allclose(found.row_effects.mean(axis=0), found.importance.reindex(X.columns), atol=1e-12)
    sample, y_sample = X.iloc[found.rows], y[found.rows]
    reference = permutation_importance(model, sample, y_sample, scoring="accuracy", n_repeats=20, random_state=0)
    expected = pd.Series(reference.importances_mean, index=X.columns)
    np.testing.assert_allclose(found.importance.reindex(X.columns), expected, atol=0.02)
    assert found.importance.index[0] == expected.idxmax()
    assert (found.importance_std.reindex(X.columns) >= 0).all()


def test_permutation_regressor_is_the_drop_in_r2(no_shap):
    from sklearn.inspection import permutation_importance

    X, y = make_regression(800, 4, n_informative=2, noise=5.0, random_state=0)
    X = _frame(X)
    model = LinearRegression().fit(X, y)
    found = _explain(None, X, y, space=None, model_type="regressor", predict=model.predict)
    assert found.output == "drop in r2_score"
    reference = permutation_importance(model, X, y, scoring="r2", n_repeats=20, random_state=0)
    np.testing.assert_allclose(found.importance.reindex(X.columns), reference.importances_mean, rtol=0.15, atol=0.01)


def test_pipeline_is_explained_as_a_whole_by_permutation(binary, tmp_path_factory):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = binary
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    found = _explain(_pyfunc(tmp_path_factory, mlcask.sklearn, pipeline), X, y)
    assert found.method == "permutation" and found.importance.iloc[0] > 0.05


def test_turned_off_and_unknown_algorithm(binary, xgb_binary):
    X, y = binary
    assert _explain(xgb_binary[1], X, y, {"log_model_explainability": False}) is None
    with pytest.raises(MlcaskException, match="Specified explainer algorithm tree is unsupported. Currently only "
                                              "support exact,permutation,partition,kernel algorithms.") as info:
        _explain(xgb_binary[1], X, y, {"explainability_algorithm": "tree"})
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    with pytest.raises(MlcaskException, match="'explainability_nsamples' must be a positive integer.*got 0"):
        _explain(xgb_binary[1], X, y, {"explainability_nsamples": 0})


def test_skip_rules_warn(binary, xgb_binary, caplog):
    X, y = binary
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _explain(xgb_binary[1], X, np.where(y == 1, "yes", "no")) is None
        assert "requires all label values to be numeric or boolean" in caplog.text
        assert _explain(xgb_binary[1], X.assign(x0=X["x0"].astype(str)), y) is None
        assert "requires all feature values to be numeric" in caplog.text and "column 'x0'" in caplog.text
        assert _explain(None, X, y) is None
        assert "there is no model to explain" in caplog.text


def test_ignore_exceptions(binary, no_shap, caplog):
    X, y = binary

    def broken(frame):
        raise RuntimeError("scoring service down")

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _explain(None, X, y, predict=broken) is None
    assert "Shap evaluation failed. Reason: RuntimeError('scoring service down')" in caplog.text
    with pytest.raises(RuntimeError, match="scoring service down"):
        _explain(None, X, y, {"ignore_exceptions": False}, predict=broken)


@pytest.mark.slow  # shap's permutation explainer compiles its numba kernels first (~12 s)
def test_explicit_algorithm_runs_shap_on_predict(binary):
    pytest.importorskip("shap")
    X, y = binary
    model = LogisticRegression().fit(X, y)
    found = _explain(None, X, y, {"explainability_algorithm": "permutation", "explainability_nsamples": 8},
                     predict=model.predict)
    assert found.method == "shap_permutation" and found.contributions.shape == (8, 6)
    np.testing.assert_allclose(found.contributions.sum(axis=1) + found.base_values,
                               model.predict(X.iloc[found.rows]), atol=1e-6)


def test_kernel_link_is_checked(binary, caplog):
    pytest.importorskip("shap")
    X, y = binary
    model = LogisticRegression().fit(X, y)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _explain(None, X, y, {"explainability_algorithm": "kernel", "explainability_kernel_link": "probit"},
                        predict=model.predict) is None
    assert "but got 'probit'" in caplog.text
    bad_link = {"explainability_algorithm": "kernel", "explainability_kernel_link": "probit",
                "explainability_nsamples": 10, "ignore_exceptions": False}
    with pytest.raises(ValueError, match="can only be set to 'identity' or 'logit', but got 'probit'"):
        _explain(None, X, y, bad_link, predict=model.predict)


def test_explicit_algorithm_without_shap_names_the_install(binary, no_shap, caplog):
    X, y = binary
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _explain(None, X, y, {"explainability_algorithm": "exact"},
                        predict=LogisticRegression().fit(X, y).predict) is None
    assert "pip install shap" in caplog.text


def test_cohort_importance(binary, xgb_binary, no_shap):
    X, y = binary
    found = _explain(xgb_binary[1], X, y, {"explainability_nsamples": 500})
    mask = (X["x0"] > 0).to_numpy()
    inside = mask[found.rows]
    expected = pd.Series(np.abs(found.contributions[inside]).mean(axis=0), index=X.columns)
    got = cohort_importance(found, mask)
    np.testing.assert_allclose(got.reindex(X.columns), expected)
    assert got.is_monotonic_decreasing
    assert cohort_importance(found, np.zeros(len(X), dtype=bool)).empty
    with pytest.raises(MlcaskException, match="cohort mask has 10 values"):
        cohort_importance(found, np.ones(10, dtype=bool))
    perm = _explain(None, X, y, predict=LogisticRegression().fit(X, y).predict)
    np.testing.assert_allclose(cohort_importance(perm, np.ones(len(X), dtype=bool)).reindex(X.columns),
                               perm.importance.reindex(X.columns))
