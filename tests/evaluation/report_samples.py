"""ReportData built from a synthetic binary (or regression) evaluation, for the report's tests and the UI's.

Everything is computed here from the data (scikit-learn's curves, pandas group-bys), so the report's
tests do not depend on ``evaluate``; the values are consistent with each other (group sizes sum to the
rows, cohort masks match their sizes, ...), as ``evaluate`` would give them.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from mlcask.evaluation.balance import DataBalance
from mlcask.evaluation.curves import Curve
from mlcask.evaluation.error_analysis import Cohort
from mlcask.evaluation.explanation import Explanation
from mlcask.evaluation.fairness import GroupMetrics
from mlcask.evaluation.labels import LabelSpace
from mlcask.evaluation.report import ReportData

# Names an attacker controls: column names, group values, conditions, the model URI.
SCRIPT = "<script>parent.postMessage('ran', '*')</script>"
HOSTILE_FEATURE = 'col "quoted" </svg><script>alert(1)</script>'
HOSTILE_GROUP = "<img src=x onerror=alert(1)>"
HOSTILE_URI = "runs:/abc/model\"><script>alert('uri')</script>"


def _auc(t: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC by ranks (scores have no ties here)."""
    positives = int(t.sum())
    negatives = len(t) - positives
    if not positives or not negatives:
        return float("nan")
    ranks = np.empty(len(s))
    ranks[np.argsort(s)] = np.arange(1, len(s) + 1)
    return float((ranks[t == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _group_frame(y: np.ndarray, pred: np.ndarray, proba: np.ndarray, values: pd.Series) -> GroupMetrics:
    rows = {}
    for group, index in values.groupby(values, sort=True).indices.items():
        t, p, s = y[index], pred[index], proba[index]
        tp, fp, fn = int(((t == 1) & (p == 1)).sum()), int(((t == 0) & (p == 1)).sum()), int(((t == 1) & (p == 0)).sum())
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        rows[group] = {"count": len(index), "example_count": len(index), "accuracy_score": float((t == p).mean()),
                       "precision_score": precision, "recall_score": recall,
                       "f1_score": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
                       "true_positives": tp, "roc_auc": _auc(t, s)}
    by = pd.DataFrame.from_dict(rows, orient="index")
    metrics = by.drop(columns="count")
    return GroupMetrics(str(values.name), by, metrics.max() - metrics.min(), metrics.min() / metrics.max())


def classifier_report_data(*, n_rows: int = 2000, n_features: int = 20, hostile: bool = False,
                           seed: int = 0) -> ReportData:
    """A binary classifier's evaluation: 3 sensitive features (2, 3 and 5 groups), 5 cohorts, 20 features."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(n_features)]
    if hostile:
        names[0] = HOSTILE_FEATURE
    X = pd.DataFrame(rng.normal(size=(n_rows, n_features)), columns=names)
    score = X.iloc[:, 0] * 1.5 - X.iloc[:, 1] + rng.normal(scale=0.8, size=n_rows)
    y = (score > 0).astype(int).to_numpy()
    seen = score.to_numpy() + rng.normal(scale=0.9, size=n_rows)  # what the model sees: a noisy score
    proba = 1 / (1 + np.exp(-seen * 1.2))
    pred = (proba > 0.5).astype(int)
    sex = pd.Series(rng.choice(["F", "M"], n_rows), name="sex")
    region = pd.Series(rng.choice(["north", "south", HOSTILE_GROUP if hostile else "east"], n_rows),
                       name=HOSTILE_FEATURE if hostile else "region")
    age = pd.Series(rng.choice(["<25", "25-34", "35-44", "45-54", "55+"], n_rows), name="age band")
    groups = [_group_frame(y, pred, proba, s) for s in (sex, region, age)]
    errors = pred != y
    cohorts, importance = [], {}
    for k in range(5):
        mask = (X.iloc[:, k].to_numpy() > 0.5) & (X.iloc[:, k + 1].to_numpy() < 0)
        feature = names[k]
        conditions = [f"{feature} > 0.5", f"{names[k + 1]} <= 0"]
        if hostile and k == 0:
            conditions.append(f"region == '{HOSTILE_GROUP}'")
        cohorts.append(Cohort(f"C{k + 1}", conditions, mask, int(mask.sum()), float(errors[mask].mean()),
                              float(errors[mask].sum() / max(errors.sum(), 1))))
        importance[f"C{k + 1}"] = pd.Series(rng.random(n_features), index=names).sort_values(ascending=False)
    global_importance = pd.Series(np.abs(rng.normal(size=n_features)), index=names).sort_values(ascending=False)
    explanation = Explanation("xgboost_pred_contribs", True, names, global_importance, np.arange(min(n_rows, 2000)))
    fpr, tpr, _ = roc_curve(y, proba)
    precision, recall, _ = precision_recall_curve(y, proba)
    edges = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(proba, edges[1:-1]), 0, 9)
    calibration = pd.DataFrame([{"bin_low": edges[b], "bin_high": edges[b + 1], "mean_predicted": proba[which == b].mean(),
                                 "fraction_positive": y[which == b].mean(), "count": int((which == b).sum())}
                                for b in range(10) if (which == b).any()])
    confusion = np.array([[((y == t) & (pred == p)).sum() for p in (0, 1)] for t in (0, 1)])
    features = {}
    for s in (sex, region, age):
        counts = s.value_counts().sort_index()
        features[str(s.name)] = pd.DataFrame({"count": counts, "share": counts / n_rows,
                                              "target_rate": pd.Series(y).groupby(s).mean()})
    target_counts = pd.Series(y).value_counts().sort_index()
    balance = DataBalance(features, pd.DataFrame({"count": target_counts, "share": target_counts / n_rows}),
                          measures={"demographic_parity_difference/sex": 0.04})
    metrics = {"example_count": float(n_rows), "accuracy_score": float((pred == y).mean()),
               "roc_auc": float(roc_auc_score(y, proba)), "precision_recall_auc": float(average_precision_score(y, proba)),
               "f1_score/sex/F": 0.8}
    return ReportData(
        title="Evaluation of <script>alert('title')</script>" if hostile else "Evaluation of churn-model",
        model_uri=HOSTILE_URI if hostile else "models:/churn/3", model_type="classifier", run_id="0123abcd",
        dataset_name=SCRIPT if hostile else "holdout", n_rows=n_rows, feature_names=names,
        target=SCRIPT if hostile else "churned", metrics=metrics,
        space=LabelSpace(np.array([0, 1]), 1, 1), confusion=confusion,
        roc=[Curve(fpr, tpr, "positive class: 1", float(roc_auc_score(y, proba)))],
        pr=[Curve(recall, precision, "positive class: 1", float(average_precision_score(y, proba)))],
        calibration=calibration, explanation=explanation, groups=groups, cohorts=cohorts,
        cohort_importance=importance, balance=balance,
        created=datetime(2026, 12, 2, 1, 30, tzinfo=timezone.utc))


def regressor_report_data(*, n_rows: int = 500, seed: int = 1) -> ReportData:
    """A regressor's evaluation with no sensitive features, no explanation and no cohorts."""
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n_rows)
    pred = y + rng.normal(0, 1, n_rows)
    return ReportData(title="Evaluation of a regressor", model_uri=None, model_type="regressor", run_id=None,
                      dataset_name=None, n_rows=n_rows, feature_names=["x"], target="y",
                      metrics={"mean_absolute_error": float(np.abs(y - pred).mean()), "r2_score": 0.9},
                      residuals=y - pred)
