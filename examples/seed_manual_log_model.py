"""The seed article's two examples, run with ``import mlcask as mlflow``: autolog, then the
manual ``log_model``, then serving the logged model.

Train an XGBoost classifier, infer a signature, build a custom conda environment, take
an input example, and log the model into a run of the embedded SQLite store (in
OUTPUT_DIR), registering it. Then load it back by every kind of URI, natively and as a
generic pyfunc model, predict, search the runs as the README does, and show a refused bad
input. The folder the model is logged to is a real MLflow model: ``mlflow.pyfunc.load_model``
reads it as it is. Last, the model is served and scored over HTTP; with ``--serve`` the
server stays up (Swagger UI, test page) until Ctrl-C.

Usage: python examples/seed_manual_log_model.py [OUTPUT_DIR] [--serve] [--port PORT]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

import mlcask as mlflow
from mlcask.models import infer_signature
from mlcask.utils.environment import _mlflow_conda_env

# The README's search_runs example ("Tracking quick start"), run as written there.
README_FILTER = "metrics.accuracy > 0.9 and params.max_depth = '6'"


def main(output_dir: Path, keep_serving: bool = False, port: int = 0) -> None:
    if output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True)
    os.environ["MLCASK_ARTIFACT_ROOT"] = str(output_dir.absolute() / "mlcask-artifacts")
    store = f"sqlite:///{output_dir.absolute() / 'mlcask.db'}"
    mlflow.set_tracking_uri(store)
    mlflow.set_experiment("seed-demo")

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    autolog_example(X_train, X_test, y_train, y_test)
    run, info, y_pred = manual_example(X_train, X_test, y_train, y_test)

    model_dir = Path(mlflow.MlflowClient().get_logged_model(info.model_id).artifact_location)
    for file in sorted(model_dir.iterdir()):
        print(f"  {file.name:28} {file.stat().st_size:>8} bytes")
    mlflow.MlflowClient().set_registered_model_alias("breast-cancer-classifier", "champion",
                                                     info.registered_model_version)
    loaded = load_by_every_uri(info.model_uri, run.info.run_id, X_test, y_pred)

    runs = mlflow.search_runs(filter_string=README_FILTER, order_by=["metrics.accuracy DESC"])
    assert len(runs) > 0, f"the README's search_runs example found no run ({README_FILTER})"
    print(f"search_runs({README_FILTER!r}) -> {len(runs)} run(s):")
    print(runs[["run_id", "status", "metrics.accuracy", "params.max_depth"]].to_string(index=False))

    try:
        loaded.predict(X_test.drop(columns=["mean radius", "worst area"]))
    except mlflow.exceptions.MlcaskException as exc:
        print(f"bad input is refused with a clear error:\n  {str(exc)[:160]}...")
    show_integrity(info.model_uri, output_dir)
    assess("models:/breast-cancer-classifier@champion", X_test, y_test, output_dir)
    print(f"\nstore: {store}; try: .venv/bin/mlcask runs list --tracking-uri {store} --experiment-name seed-demo")
    serve("models:/breast-cancer-classifier@champion", store, keep_serving=keep_serving, port=port)


def autolog_example(X_train, X_test, y_train, y_test) -> None:
    """The seed's first example: one line, and fit logs everything."""
    mlflow.autolog()
    auto_model = XGBClassifier(eval_metric="logloss")
    start = time.perf_counter()
    auto_model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    auto_run = mlflow.last_active_run()
    print(f"autolog: fit + logging in {1000 * (time.perf_counter() - start):.0f} ms -> run {auto_run.info.run_id}: "
          f"{len(auto_run.data.params)} params, metrics {sorted(auto_run.data.metrics)}, artifacts "
          f"{[f.path for f in mlflow.MlflowClient().list_artifacts(auto_run.info.run_id)]}")


def manual_example(X_train, X_test, y_train, y_test):
    """The seed's second example: log the model by hand (autolog stays on for params and metrics only).

    Returns the run, the ModelInfo and the model's predictions on X_test.
    """
    mlflow.autolog(log_models=False)
    with mlflow.start_run(run_name="xgboost-manual") as run:
        # max_depth is set (XGBoost's default is None) so that the README's search_runs finds this run.
        model = XGBClassifier(eval_metric="logloss", max_depth=6)
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
    return run, info, y_pred


def load_by_every_uri(model_uri: str, run_id: str, X_test, y_pred):
    """Load the logged model natively and as pyfunc by each kind of URI; returns the last pyfunc model."""
    native = mlflow.xgboost.load_model(model_uri)
    print(f"xgboost.load_model({model_uri}) -> {type(native).__name__}")
    for uri in (model_uri, f"runs:/{run_id}/classifier", "models:/breast-cancer-classifier/1",
                "models:/breast-cancer-classifier@champion"):
        start = time.perf_counter()
        loaded = mlflow.pyfunc.load_model(uri)
        predictions = loaded.predict(X_test)
        assert (predictions == y_pred).all(), "pyfunc predictions differ from the model's own"
        print(f"pyfunc.load_model({uri}) + predict on {len(X_test)} rows: "
              f"{1000 * (time.perf_counter() - start):.1f} ms, predictions match")
    return loaded


def assess(model_uri: str, X_test, y_test, output_dir: Path) -> None:
    """The seed's Responsible-AI assessment: MLflow's metrics and plots, then per-group metrics over a
    column the model does not take, the error cohorts and the offline HTML report."""
    import pandas as pd

    band = pd.cut(X_test["mean radius"], [0, 12, 15, 100], labels=["small", "medium", "large"]).astype(str)
    data = X_test.assign(target=y_test.to_numpy(), radius_band=band)
    start = time.perf_counter()
    with mlflow.start_run(run_name="assessment") as run:
        result = mlflow.evaluate(model_uri, data, targets="target", model_type="classifier",
                                 evaluator_config={"sensitive_features": ["radius_band"]})
    m = result.metrics
    by_band = ", ".join(f"{band} {m['accuracy_score/radius_band/' + band]:.3f}" for band in ("small", "medium", "large"))
    print(f"evaluate({model_uri}) in {time.perf_counter() - start:.2f} s -> run {run.info.run_id}: "
          f"accuracy {m['accuracy_score']:.3f}, roc_auc {m['roc_auc']:.3f}, accuracy by radius band {by_band} "
          f"(difference {m['accuracy_score_difference/radius_band']:.3f})")
    report = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="responsible_ai_report.html",
                                                      dst_path=str(output_dir)))
    print(f"  {len(result.artifacts)} artifacts; the Responsible-AI report (offline HTML, also on the run's "
          f"'Responsible AI' tab in mlcask ui): {report}")


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


def serve(model_uri: str, store: str, *, keep_serving: bool, port: int = 0) -> None:
    """Deploy with no scoring script: start the scoring server and send it the model's own example.

    URLs are printed only while the server answers them; without ``keep_serving`` it stops
    right after the check, and the message says so.
    """
    import json
    import urllib.request

    from mlcask.serving import create_app

    app = create_app(model_uri)
    server, thread, base = start_server(app, port)
    try:
        example = app.state.served.serving_input_example
        request = urllib.request.Request(f"{base}/invocations", data=example.encode(),
                                         headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            answer = json.loads(response.read())
        with urllib.request.urlopen(f"{base}/openapi.json") as response:
            paths = sorted(json.loads(response.read())["paths"])
        elapsed = 1000 * (time.perf_counter() - start)
        print(f"serving {model_uri}: POST /invocations with the saved example -> {answer} in {elapsed:.1f} ms; "
              f"OpenAPI from the signature: {', '.join(paths[:6])}, ...")
        if keep_serving:
            print(f"the server is up at {base} (Swagger UI {base}/docs, test page {base}/); Ctrl-C stops it")
            while thread.is_alive():
                thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"the scoring server has stopped. To serve the model yourself: .venv/bin/mlcask models serve -m "
          f"{model_uri} --tracking-uri {store} --port 5000 (then its Swagger UI is at /docs and the test page at /), "
          "or run: scripts/demo --serve")


def start_server(app, port: int = 0):
    """Start uvicorn on 127.0.0.1 in a thread; returns (server, thread, base URL) once it accepts requests."""
    import socket
    import threading

    import uvicorn

    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit(f"the scoring server could not start on 127.0.0.1:{port} (is the port in use?)")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", nargs="?", type=Path, default=Path("demo-output"),
                        help="where the store and artifacts go (replaced on each run; default: demo-output)")
    parser.add_argument("--serve", action="store_true", help="keep the scoring server up until Ctrl-C")
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    main(arguments.output_dir, keep_serving=arguments.serve, port=arguments.port)
