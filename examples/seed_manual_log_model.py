"""The seed article's two examples, run with ``import mlcask as mlflow``: autolog, then the
manual ``log_model``, then serving the logged model.

Train an XGBoost classifier, infer a signature, build a custom conda environment, take
an input example, and log the model into a run of the embedded SQLite store (in
OUTPUT_DIR), registering it. Then load it back by every kind of URI, natively and as a
generic pyfunc model, predict, search the runs, and show a refused bad input. The
folder the model is logged to is a real MLflow model: ``mlflow.pyfunc.load_model``
reads it as it is.

Usage: python examples/seed_manual_log_model.py [OUTPUT_DIR]
"""

from __future__ import annotations

import os
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
    if output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True)
    os.environ["MLCASK_ARTIFACT_ROOT"] = str(output_dir.absolute() / "mlcask-artifacts")
    mlflow.set_tracking_uri(f"sqlite:///{output_dir.absolute() / 'mlcask.db'}")
    mlflow.set_experiment("seed-demo")

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    # The seed's first example: one line, and fit logs everything.
    mlflow.autolog()
    auto_model = XGBClassifier(eval_metric="logloss")
    start = time.perf_counter()
    auto_model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    auto_run = mlflow.last_active_run()
    print(f"autolog: fit + logging in {1000 * (time.perf_counter() - start):.0f} ms -> run {auto_run.info.run_id}: "
          f"{len(auto_run.data.params)} params, metrics {sorted(auto_run.data.metrics)}, artifacts "
          f"{[f.path for f in mlflow.MlflowClient().list_artifacts(auto_run.info.run_id)]}")
    # The seed's second example logs the model by hand: autolog stays on for params and
    # metrics only.
    mlflow.autolog(log_models=False)

    with mlflow.start_run(run_name="xgboost-manual") as run:
        model = XGBClassifier(eval_metric="logloss")
        model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
        y_pred = model.predict(X_test)
        accuracy = accuracy_score(y_test, y_pred)
        mlflow.log_params({"n_estimators": model.get_booster().num_boosted_rounds(), "eval_metric": "logloss"})
        mlflow.log_metric("accuracy", accuracy)
        print(f"trained XGBClassifier: accuracy {accuracy:.3f} (run {run.info.run_id})")

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

        # Log the model manually
        start = time.perf_counter()
        info = mlflow.xgboost.log_model(model, artifact_path="classifier", conda_env=custom_env,
                                        signature=signature, input_example=input_example,
                                        registered_model_name="breast-cancer-classifier")
        print(f"logged the model in {1000 * (time.perf_counter() - start):.1f} ms as {info.model_uri} "
              f"(registered version {info.registered_model_version})")

    model_dir = Path(mlflow.MlflowClient().get_logged_model(info.model_id).artifact_location)
    for file in sorted(model_dir.iterdir()):
        print(f"  {file.name:28} {file.stat().st_size:>8} bytes")

    mlflow.MlflowClient().set_registered_model_alias("breast-cancer-classifier", "champion",
                                                     info.registered_model_version)
    native = mlflow.xgboost.load_model(info.model_uri)
    print(f"xgboost.load_model({info.model_uri}) -> {type(native).__name__}")
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/classifier", "models:/breast-cancer-classifier/1",
                "models:/breast-cancer-classifier@champion"):
        start = time.perf_counter()
        loaded = mlflow.pyfunc.load_model(uri)
        predictions = loaded.predict(X_test)
        assert (predictions == y_pred).all(), "pyfunc predictions differ from the model's own"
        print(f"pyfunc.load_model({uri}) + predict on {len(X_test)} rows: "
              f"{1000 * (time.perf_counter() - start):.1f} ms, predictions match")

    runs = mlflow.search_runs(filter_string="metrics.accuracy > 0.9", order_by=["metrics.accuracy DESC"])
    print(f"search_runs('metrics.accuracy > 0.9') -> {len(runs)} run(s):")
    print(runs[["run_id", "status", "metrics.accuracy", "params.n_estimators"]].to_string(index=False))

    try:
        loaded.predict(X_test.drop(columns=["mean radius", "worst area"]))
    except mlflow.exceptions.MlcaskException as exc:
        print(f"bad input is refused with a clear error:\n  {str(exc)[:160]}...")
    show_integrity(info.model_uri, output_dir)
    serve("models:/breast-cancer-classifier@champion")
    print(f"\nstore: {output_dir / 'mlcask.db'}; try: mlcask runs list --tracking-uri "
          f"sqlite:///{output_dir.absolute() / 'mlcask.db'} --experiment-id {run.info.experiment_id}")


def show_integrity(model_uri: str, output_dir: Path) -> None:
    """Every saved model is sealed and signed with this machine's key; a changed copy is refused."""
    from mlcask.models import verify_model
    from mlcask.models.uri import resolve_model_path

    folder = resolve_model_path(model_uri)
    verification = verify_model(folder)
    print(f"{model_uri}: {verification.files_checked} files match their SHA-256; signed by trusted key "
          f"{verification.trusted_signer}")
    tampered = output_dir / "tampered-copy"
    shutil.rmtree(tampered, ignore_errors=True)
    shutil.copytree(folder, tampered)
    with open(tampered / "model.ubj", "r+b") as model_file:
        model_file.seek(100)
        model_file.write(b"\x00")
    try:
        mlflow.pyfunc.load_model(str(tampered))
    except mlflow.exceptions.MlcaskException as exc:
        print(f"a copy with one byte changed is refused:\n  {str(exc)[:150]}...")


def serve(model_uri: str) -> None:
    """Deploy with no scoring script: start the scoring server and send it the model's own example."""
    import json
    import socket
    import threading
    import urllib.request

    import uvicorn

    from mlcask.serving import create_app

    app = create_app(model_uri)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        base = f"http://127.0.0.1:{port}"
        example = app.state.served.serving_input_example
        request = urllib.request.Request(f"{base}/invocations", data=example.encode(),
                                         headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            answer = json.loads(response.read())
        print(f"served {model_uri} at {base}: POST /invocations with the saved example -> {answer} "
              f"in {1000 * (time.perf_counter() - start):.1f} ms")
        with urllib.request.urlopen(f"{base}/openapi.json") as response:
            paths = sorted(json.loads(response.read())["paths"])
        print(f"  OpenAPI from the signature: {', '.join(paths[:6])}, ...; Swagger UI at {base}/docs, "
              f"test page at {base}/")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo-output"))
