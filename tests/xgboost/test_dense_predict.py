"""The pyfunc wrapper's direct predict (one C call) gives exactly what XGBoost's own predict gives."""

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

import mlcask

RNG = np.random.default_rng(0)
X = pd.DataFrame(RNG.normal(size=(300, 6)), columns=[f"f{i}" for i in range(6)])
X.iloc[::7, 2] = np.nan  # missing values go down each tree's default branch


def _kinds():
    binary = (X["f0"] + X["f1"] > 0).astype(int)
    three = pd.cut(X["f0"], [-np.inf, -0.5, 0.5, np.inf], labels=False)
    labels = np.stack([binary, (X["f3"] > 0).astype(int)], axis=1)
    target = X["f0"] * 2 + X["f4"]
    fit = {"n_estimators": 12, "max_depth": 3, "random_state": 0}
    return {
        "binary": (xgb.XGBClassifier(**fit), binary),
        "multiclass": (xgb.XGBClassifier(**fit), three),
        "softmax": (xgb.XGBClassifier(objective="multi:softmax", **fit), three),
        "multilabel": (xgb.XGBClassifier(tree_method="hist", **fit), labels),
        "regressor": (xgb.XGBRegressor(**fit), target),
        "multioutput": (xgb.XGBRegressor(tree_method="hist", **fit), np.stack([target, -target], axis=1)),
        "dart": (xgb.XGBRegressor(booster="dart", rate_drop=0.3, **fit), target),
        "missing=0": (xgb.XGBRegressor(missing=0.0, **fit), target),
    }


@pytest.mark.parametrize("kind", list(_kinds()))
def test_direct_predict_is_xgboosts_predict(tmp_path, kind):
    model, y = _kinds()[kind]
    model.fit(X, y)
    mlcask.xgboost.save_model(model, tmp_path / "m")
    loaded = mlcask.pyfunc.load_model(tmp_path / "m")
    wrapper = loaded._model_impl
    assert wrapper._dense is not None  # the direct path is what is compared
    data = X.copy()
    data.iloc[0, 1] = 0.0  # a zero: missing only for missing=0
    for rows in (data.head(1), data.head(8), data, data.iloc[::-3], data.head(0)):
        got, expected = wrapper.predict(rows), model.predict(rows)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(loaded.predict(rows), expected)


def test_direct_predict_follows_early_stopping(tmp_path):
    y = X["f0"] * 2 + X["f4"] + RNG.normal(scale=2.0, size=len(X))
    model = xgb.XGBRegressor(n_estimators=200, learning_rate=0.5, early_stopping_rounds=3, random_state=0)
    model.fit(X[:200], y[:200], eval_set=[(X[200:], y[200:])], verbose=False)
    rounds = model.get_booster().num_boosted_rounds()
    assert model.best_iteration + 1 < rounds
    mlcask.xgboost.save_model(model, tmp_path / "m")
    wrapper = mlcask.pyfunc.load_model(tmp_path / "m")._model_impl
    assert wrapper._dense is not None
    np.testing.assert_array_equal(wrapper.predict(X), model.predict(X))
    assert not np.array_equal(wrapper.predict(X), model.predict(X, iteration_range=(0, rounds)))


def test_other_models_keep_xgboosts_predict(tmp_path):
    y = (X["f0"] > 0).astype(int)
    linear = xgb.XGBClassifier(booster="gblinear", n_estimators=5).fit(X.fillna(0), y)
    mlcask.xgboost.save_model(linear, tmp_path / "linear")
    wrapper = mlcask.pyfunc.load_model(tmp_path / "linear")._model_impl
    assert wrapper._dense is None
    np.testing.assert_array_equal(wrapper.predict(X.fillna(0)), linear.predict(X.fillna(0)))

    class Custom(xgb.XGBClassifier):
        pass

    assert mlcask.xgboost._DensePredict.for_model(Custom(n_estimators=2).fit(X, y)) is None


def test_direct_predict_from_several_threads_at_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    model = xgb.XGBRegressor(n_estimators=20, random_state=0).fit(X, X["f0"] * 2 + X["f4"])
    mlcask.xgboost.save_model(model, tmp_path / "m")
    wrapper = mlcask.pyfunc.load_model(tmp_path / "m")._model_impl
    assert wrapper._dense is not None
    parts = [X.iloc[i:i + 1 + i % 9].reset_index(drop=True) for i in range(0, 280, 7)]
    expected = [model.predict(part) for part in parts]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            got = list(pool.map(wrapper.predict, parts))
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_array_equal(g, e)
