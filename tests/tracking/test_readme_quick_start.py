"""The README's "Tracking quick start" code, run as written (with the data it assumes)."""

from __future__ import annotations

import re
from pathlib import Path

import mlcask

README = Path(__file__).resolve().parents[2] / "README.md"


def _quick_start_code() -> str:
    section = README.read_text().split("## Tracking quick start", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_search_runs_example_finds_the_run_it_logged(tracking, breast_cancer):
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split
    from xgboost import XGBClassifier

    X, y = breast_cancer
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    code = _quick_start_code()
    *body, last = code.strip().split("\n\n")  # the last paragraph is the search_runs call
    assert last.startswith("mlflow.search_runs(")
    namespace = {"XGBClassifier": XGBClassifier, "accuracy_score": accuracy_score, "X_train": X_train,
                 "X_test": X_test, "y_train": y_train, "y_test": y_test}
    exec(compile("\n\n".join(body), str(README), "exec"), namespace)
    found = eval(compile(last, str(README), "eval"), namespace)
    assert list(found["run_id"]) == [namespace["run"].info.run_id]
    assert mlcask.pyfunc.load_model("models:/cancer-classifier@champion") is not None
