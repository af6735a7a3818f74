"""Data balance of the sensitive features and of the target."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, demographic_parity_ratio

from mlcask.evaluation.balance import DataBalance, data_balance
from mlcask.evaluation.fairness import MISSING_GROUP, sensitive_frame
from mlcask.evaluation.labels import LabelSpace, label_space
from mlcask.exceptions import MlcaskException


def _hand_data():
    # sex: F 2 rows (1 "yes"), M 6 rows (3 "yes"); race: a 3 rows (3 "yes"), b 5 rows (1 "yes").
    data = pd.DataFrame({"sex": ["F", "F", "M", "M", "M", "M", "M", "M"],
                         "race": ["a", "b", "a", "a", "b", "b", "b", "b"]})
    y = np.array(["yes", "no", "yes", "yes", "no", "no", "no", "yes"])
    return sensitive_frame(data, ["sex", "race"]), y


def test_binary_tables_worked_by_hand():
    sensitive, y = _hand_data()
    space = label_space(y, y)
    balance = data_balance(sensitive, y, model_type="classifier", space=space)
    assert isinstance(balance, DataBalance)
    sex = balance.features["sex"]
    assert list(sex.columns) == ["count", "share", "positive_rate"]
    assert sex["count"].tolist() == [2, 6]
    assert sex["share"].tolist() == [0.25, 0.75]
    assert sex["positive_rate"].tolist() == [0.5, 0.5]
    race = balance.features["race"]
    assert race["count"].tolist() == [3, 5]
    assert race["positive_rate"].tolist() == pytest.approx([1.0, 0.2])
    assert list(balance.crossed.index) == ["F & a", "F & b", "M & a", "M & b"]
    assert balance.crossed.index.name == "sex & race"
    assert balance.crossed["count"].tolist() == [1, 1, 2, 4]
    assert balance.crossed["positive_rate"].tolist() == pytest.approx([1.0, 0.0, 1.0, 0.25])
    assert balance.target["count"].to_dict() == {"no": 4, "yes": 4}
    m = balance.measures
    assert m["sex/min_max_share_ratio"] == pytest.approx(1 / 3)
    assert m["sex/positive_rate_difference"] == 0.0 and m["sex/positive_rate_ratio"] == 1.0
    assert m["race/positive_rate_difference"] == pytest.approx(0.8)
    assert m["race/positive_rate_ratio"] == pytest.approx(0.2)
    assert m["sex & race/min_max_share_ratio"] == pytest.approx(0.25)
    assert m["target/min_max_class_share_ratio"] == 1.0


def test_label_parity_is_fairlearns_demographic_parity_on_the_labels():
    rng = np.random.default_rng(0)
    n = 800
    data = pd.DataFrame({"group": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])})
    y = (rng.random(n) < np.where(data["group"] == "a", 0.6, 0.3)).astype(int)
    balance = data_balance(sensitive_frame(data, ["group"]), y, model_type="classifier", space=label_space(y, y))
    positive = y == 1
    assert balance.measures["group/positive_rate_difference"] == pytest.approx(
        demographic_parity_difference(positive, positive, sensitive_features=data["group"]), rel=1e-12)
    assert balance.measures["group/positive_rate_ratio"] == pytest.approx(
        demographic_parity_ratio(positive, positive, sensitive_features=data["group"]), rel=1e-12)
    assert balance.crossed is None


def test_the_positive_class_follows_the_label_space():
    sensitive, y = _hand_data()
    space = label_space(y, y, pos_label="no")
    balance = data_balance(sensitive, y, model_type="classifier", space=space)
    assert balance.features["sex"]["positive_rate"].tolist() == [0.5, 0.5]
    assert balance.features["race"]["positive_rate"].tolist() == pytest.approx([0.0, 0.8])


def test_multiclass_class_shares_per_group():
    data = pd.DataFrame({"sex": ["F", "F", "F", "M", "M"]})
    y = np.array([0, 1, 2, 2, 2])
    balance = data_balance(sensitive_frame(data, ["sex"]), y, model_type="classifier",
                           space=LabelSpace(np.array([0, 1, 2]), None, -1))
    sex = balance.features["sex"]
    assert list(sex.columns) == ["count", "share", "share_0", "share_1", "share_2"]
    assert sex.loc["F", ["share_0", "share_1", "share_2"]].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert sex.loc["M", ["share_0", "share_1", "share_2"]].tolist() == [0.0, 0.0, 1.0]
    assert balance.measures["sex/share_2_difference"] == pytest.approx(2 / 3)
    assert balance.target["count"].tolist() == [1, 1, 3]
    assert balance.measures["target/min_max_class_share_ratio"] == pytest.approx(1 / 3)
    # A class of the label space absent from the targets still has its row.
    wider = data_balance(sensitive_frame(data, ["sex"]), y, model_type="classifier",
                         space=LabelSpace(np.array([0, 1, 2, 3]), None, -1))
    assert wider.target.loc[3, "count"] == 0
    assert wider.measures["target/min_max_class_share_ratio"] == 0.0


def test_regressor_means_and_summary():
    data = pd.DataFrame({"sex": ["F", "F", "M", "M"]})
    y = np.array([1.0, 3.0, 10.0, 20.0])
    balance = data_balance(sensitive_frame(data, ["sex"]), y, model_type="regressor", space=None)
    assert balance.features["sex"]["target_mean"].tolist() == [2.0, 15.0]
    assert balance.measures["sex/target_mean_difference"] == 13.0
    assert list(balance.target.columns) == ["count", "mean", "std", "min", "q25", "median", "q75", "max"]
    assert balance.target.loc["target", "mean"] == 8.5
    assert balance.target.loc["target", "median"] == 6.5
    assert balance.target.loc["target", "count"] == 4
    assert "target/min_max_class_share_ratio" not in balance.measures


def test_missing_sensitive_values_are_a_group():
    data = pd.DataFrame({"sex": ["F", None, "M", None]})
    balance = data_balance(sensitive_frame(data, ["sex"]), [1, 0, 1, 1], model_type="classifier", space=None)
    assert balance.features["sex"].loc[MISSING_GROUP, "count"] == 2
    assert balance.features["sex"].loc[MISSING_GROUP, "positive_rate"] == 0.5


def test_a_ratio_with_no_positive_anywhere_is_nan():
    data = pd.DataFrame({"sex": ["F", "M", "F", "M"]})
    balance = data_balance(sensitive_frame(data, ["sex"]), [0, 0, 0, 0], model_type="classifier",
                           space=LabelSpace(np.array([0, 1]), 1, 1))
    assert balance.measures["sex/positive_rate_difference"] == 0.0
    assert math.isnan(balance.measures["sex/positive_rate_ratio"])


def test_bad_input_is_refused():
    sensitive = sensitive_frame(pd.DataFrame({"sex": ["F", "M"]}), ["sex"])
    with pytest.raises(MlcaskException, match=r"one value per row of the sensitive features \(2 rows\)"):
        data_balance(sensitive, [1, 0, 1], model_type="classifier", space=None)
    with pytest.raises(MlcaskException, match="got 'ranker'"):
        data_balance(sensitive, [1, 0], model_type="ranker", space=None)
    with pytest.raises(MlcaskException, match="must be numbers"):
        data_balance(sensitive, ["a", "b"], model_type="regressor", space=None)
