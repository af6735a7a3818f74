"""Error cohorts: a shallow tree on the model's errors finds where it fails, in readable conditions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcask.evaluation.error_analysis import Cohort, cohort_table, error_cohorts
from mlcask.exceptions import MlcaskException


def _people(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return rng, pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "sex": rng.choice(["F", "M"], n),
        "income": rng.normal(50.0, 10.0, n),
        "noise": rng.random(n),
    })


def _check_numbers(cohort: Cohort, errors: np.ndarray) -> None:
    errors = errors.astype(float)
    assert cohort.size == int(cohort.mask.sum())
    assert cohort.error_rate == pytest.approx(errors[cohort.mask].mean())
    assert cohort.error_share == pytest.approx(errors[cohort.mask].sum() / errors.sum())


def test_a_planted_cohort_is_found_with_merged_bounds_and_a_category():
    rng, X = _people()
    planted = ((X["age"] > 30) & (X["age"] <= 45) & (X["sex"] == "F")).to_numpy()
    errors = planted & (rng.random(len(X)) < 0.9) | ~planted & (rng.random(len(X)) < 0.02)
    cohorts = error_cohorts(X, errors, model_type="classifier")
    first = cohorts[0]
    assert first.id == "cohort_1"
    assert sorted(first.conditions) == ["30.5 < age <= 45.5", "sex == 'F'"]
    np.testing.assert_array_equal(first.mask, planted)
    _check_numbers(first, errors)
    assert first.error_share > 0.8


def test_cohorts_are_ranked_by_error_rate_then_size_and_respect_min_size():
    rng, X = _people(3000, seed=1)
    errors = rng.random(len(X)) < np.where(X["income"] > 55, 0.4, 0.1)
    cohorts = error_cohorts(X, errors, model_type="classifier", top=8, min_size=100)
    assert [c.id for c in cohorts] == [f"cohort_{i}" for i in range(1, len(cohorts) + 1)]
    rates = [c.error_rate for c in cohorts]
    assert rates == sorted(rates, reverse=True)
    assert all(c.size >= 100 for c in cohorts)
    for cohort in cohorts:
        _check_numbers(cohort, errors)
    # The leaves cover disjoint rows.
    assert np.sum([c.mask for c in cohorts], axis=0).max() == 1
    assert len(error_cohorts(X, errors, model_type="classifier", top=2)) == 2


def test_the_default_min_size_is_one_percent_of_the_rows_but_at_least_20():
    rng, X = _people(4000, seed=2)
    errors = rng.random(len(X)) < np.clip(X["noise"].to_numpy(), 0.05, 0.95)
    cohorts = error_cohorts(X, errors, model_type="classifier", max_depth=6, top=100)
    assert min(c.size for c in cohorts) >= 40
    small = error_cohorts(X.iloc[:1000], errors[:1000], model_type="classifier", max_depth=8, top=100)
    assert min(c.size for c in small) >= 20


def test_regressor_errors_find_where_the_absolute_error_is_large():
    rng, X = _people(seed=3)
    planted = (X["income"] > 60).to_numpy()
    abs_error = np.abs(rng.normal(0, 1, len(X))) + 5 * planted
    [first, second] = error_cohorts(X, abs_error, model_type="regressor", max_depth=1)
    [condition] = first.conditions
    assert condition.startswith("income > 60") or condition.startswith("income > 59.9")
    np.testing.assert_array_equal(first.mask, planted)
    assert second.conditions == [condition.replace(">", "<=")]
    _check_numbers(first, abs_error)
    # Deeper, the worst leaf lies inside the planted rows.
    deeper = error_cohorts(X, abs_error, model_type="regressor")[0]
    assert deeper.conditions[0] == condition
    assert planted[deeper.mask].all() and deeper.error_rate > 5


def test_a_category_set_from_many_values():
    rng = np.random.default_rng(4)
    n = 3000
    X = pd.DataFrame({"city": rng.choice([f"c{i:02d}" for i in range(25)], n), "noise": rng.random(n)})
    planted = X["city"].isin(["c03", "c11", "c17"]).to_numpy()
    errors = planted | (rng.random(n) < 0.01)
    first = error_cohorts(X, errors, model_type="classifier")[0]
    assert first.conditions == ["city in ['c03', 'c11', 'c17']"]
    np.testing.assert_array_equal(first.mask, planted)


def test_not_equal_and_bool_conditions():
    rng = np.random.default_rng(5)
    n = 1500
    X = pd.DataFrame({"grade": rng.choice(["A", "B", "C"], n), "member": rng.random(n) < 0.5})
    planted = ((X["grade"] != "A") & X["member"]).to_numpy()
    first = error_cohorts(X, planted, model_type="classifier")[0]
    assert sorted(first.conditions) == ["grade != 'A'", "member == True"]
    np.testing.assert_array_equal(first.mask, planted)


def test_missing_values_in_a_numeric_feature():
    rng, X = _people(seed=6)
    X["income"] = X["income"].where(rng.random(len(X)) > 0.2)
    planted = X["income"].isna().to_numpy()
    first = error_cohorts(X, planted, model_type="classifier")[0]
    assert first.conditions == ["income is missing"]
    np.testing.assert_array_equal(first.mask, planted)
    cohorts = error_cohorts(X, planted, model_type="classifier", top=10)
    assert any("income is not missing" in c.conditions for c in cohorts)


def test_missing_values_in_a_text_feature_are_a_category():
    rng = np.random.default_rng(7)
    n = 1000
    X = pd.DataFrame({"sex": rng.choice(["F", "M", None], n), "noise": rng.random(n)})
    planted = X["sex"].isna().to_numpy()
    first = error_cohorts(X, planted, model_type="classifier")[0]
    assert first.conditions == ["sex is missing"]


def test_columns_the_tree_cannot_use_are_skipped():
    rng, X = _people(500, seed=8)
    X["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 100, len(X)), unit="D")
    X["vector"] = [[1.0, 2.0]] * len(X)
    errors = (X["sex"] == "M").to_numpy()
    first = error_cohorts(X, errors, model_type="classifier")[0]
    assert first.conditions == ["sex == 'M'"]
    only_dates = error_cohorts(X[["when"]], errors, model_type="classifier")
    assert [c.conditions for c in only_dates] == [[]]


def test_no_split_gives_one_cohort_of_every_row_and_no_error_gives_none():
    _, X = _people(30)
    errors = np.zeros(len(X), dtype=bool)
    errors[:5] = True
    [only] = error_cohorts(X, errors, model_type="classifier")  # 30 rows, min_size 20: no split
    assert only.conditions == [] and only.size == 30 and only.mask.all()
    assert only.error_rate == pytest.approx(5 / 30) and only.error_share == 1.0
    assert error_cohorts(X, np.zeros(len(X), dtype=bool), model_type="classifier") == []


def test_deterministic():
    rng, X = _people(seed=9)
    errors = rng.random(len(X)) < 0.2
    a = error_cohorts(X, errors, model_type="classifier", max_depth=4)
    b = error_cohorts(X, errors, model_type="classifier", max_depth=4)
    assert [c.conditions for c in a] == [c.conditions for c in b]
    assert all((x.mask == y.mask).all() for x, y in zip(a, b, strict=True))


def test_bad_input_is_refused():
    _, X = _people(50)
    with pytest.raises(MlcaskException, match="one value per row of the features \\(50 rows\\)"):
        error_cohorts(X, np.zeros(49, dtype=bool), model_type="classifier")
    with pytest.raises(MlcaskException, match="'classifier' or 'regressor', got 'ranker'"):
        error_cohorts(X, np.zeros(50, dtype=bool), model_type="ranker")
    with pytest.raises(MlcaskException, match="2 NaN values"):
        error_cohorts(X, np.r_[np.nan, np.nan, np.ones(48)], model_type="regressor")
    with pytest.raises(MlcaskException, match="must be booleans"):
        error_cohorts(X, np.full(50, 0.5), model_type="classifier")
    with pytest.raises(MlcaskException, match="some are negative"):
        error_cohorts(X, np.r_[-1.0, np.ones(49)], model_type="regressor")


def test_cohort_table():
    rng, X = _people(seed=10)
    errors = (X["sex"] == "F").to_numpy() & (rng.random(len(X)) < 0.5)
    cohorts = error_cohorts(X, errors, model_type="classifier", max_depth=2)
    table = cohort_table(cohorts)
    assert list(table.columns) == ["id", "conditions", "size", "error_rate", "error_share"]
    assert table["id"].tolist() == [c.id for c in cohorts]
    assert table["conditions"].iloc[0] == " and ".join(cohorts[0].conditions)
    assert table["size"].tolist() == [c.size for c in cohorts]
    _, small = _people(30)
    errors = np.zeros(30, dtype=bool)
    errors[0] = True
    assert cohort_table(error_cohorts(small, errors, model_type="classifier"))["conditions"].tolist() == ["all rows"]
    assert len(cohort_table([])) == 0


def test_missing_values_going_with_a_side_of_a_split_say_so():
    rng = np.random.default_rng(11)
    n = 2000
    income = rng.normal(50.0, 10.0, n)
    missing = rng.random(n) < 0.15
    planted = (income <= 40) | missing
    X = pd.DataFrame({"income": np.where(missing, np.nan, income)})
    [first, second] = error_cohorts(X, planted, model_type="classifier", max_depth=1)
    [condition] = first.conditions
    assert condition.startswith("(income <= 4") and condition.endswith(" or income is missing)")
    np.testing.assert_array_equal(first.mask, planted)
    assert second.conditions == [condition[1:].split(" or ")[0].replace("<=", ">")]


def test_columns_sharing_a_name_are_each_used():
    rng = np.random.default_rng(12)
    n = 600
    X = pd.DataFrame(np.column_stack([rng.random(n), rng.choice([0.0, 1.0], n)]), columns=["x", "x"])
    planted = X.iloc[:, 1].to_numpy() == 1.0
    first = error_cohorts(X, planted, model_type="classifier")[0]
    assert first.conditions == ["x > 0.5"]
    np.testing.assert_array_equal(first.mask, planted)
