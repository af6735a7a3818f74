"""Shared fixtures: small trained models and the data they were trained on."""

from __future__ import annotations

import os

import pytest

# Keep BLAS/OpenMP to one thread: tests run beside other work on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def xgb_classifier(breast_cancer):
    from xgboost import XGBClassifier

    X, y = breast_cancer
    return XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(X, y)


@pytest.fixture(scope="session")
def logistic_regression(breast_cancer):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
