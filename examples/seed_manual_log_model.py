"""The seed article's manual example, run with ``import mlcask as mlflow``.

Train an XGBoost classifier, infer a signature, build a custom conda environment,
take an input example, save the model in the MLflow format, then load it back both
natively and as a generic pyfunc model and predict. The folder written is a real
MLflow model: ``mlflow.pyfunc.load_model`` reads it as it is.

Usage: python examples/seed_manual_log_model.py [OUTPUT_DIR]
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

import mlcask as mlflow
from mlcask.models import infer_signature
from mlcask.utils.environment import _mlflow_conda_env


def main(output_dir: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    model = XGBClassifier(eval_metric="logloss")
    model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    y_pred = model.predict(X_test)
    accuracy = accuracy_score(y_test, y_pred)
    print(f"trained XGBClassifier: accuracy {accuracy:.3f}")

    # Signature
    signature = infer_signature(X_test, y_test)
    # Conda environment
    custom_env = _mlflow_conda_env(
        additional_conda_deps=None,
        additional_pip_deps=["xgboost==1.5.2"],
        additional_conda_channels=None,
    )
    # Sample
    input_example = X_train.sample(n=1, random_state=0)

    model_path = output_dir / "classifier"
    if model_path.exists():
        shutil.rmtree(model_path)
    start = time.perf_counter()
    info = mlflow.xgboost.save_model(model, model_path, conda_env=custom_env,
                                     signature=signature, input_example=input_example)
    print(f"saved the model in {1000 * (time.perf_counter() - start):.1f} ms to {info.model_uri}")
    for file in sorted(model_path.iterdir()):
        print(f"  {file.name:28} {file.stat().st_size:>8} bytes")

    native = mlflow.xgboost.load_model(info.model_uri)
    print(f"xgboost.load_model -> {type(native).__name__}")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    predictions = loaded.predict(X_test)
    assert (predictions == y_pred).all(), "pyfunc predictions differ from the model's own"
    print(f"pyfunc.load_model -> predictions on {len(X_test)} rows match the trained model")
    print(f"signature inputs: {len(signature.inputs.input_names())} columns, "
          f"e.g. {signature.inputs.inputs[0]!r}")

    try:
        loaded.predict(X_test.drop(columns=["mean radius", "worst area"]))
    except mlflow.exceptions.MlcaskException as exc:
        print(f"bad input is refused with a clear error:\n  {exc}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo-output"))
