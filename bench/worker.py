"""Run one benchmark for one tool in this (fresh) process and print its raw samples.

    python bench/worker.py TOOL BENCH REPEAT WORKDIR

TOOL is ``mlflow`` or ``mlcask``; the package is imported under the name ``mlflow``
either way (mlcask is drop-in), so both tools run exactly the same code below.
BENCH is one of ``BENCHES``. Timings are in seconds, taken with ``time.perf_counter_ns``
around the measured call only, after a warm-up. The result is printed as one line
``BENCH_RESULT {json}`` on stdout; on failure the traceback goes to stderr and the exit
status is non-zero.

This file is self-contained (standard library plus the tool and its ML libraries) because
it also runs in MLflow's own virtual environment, where neither mlcask nor ``bench`` exist.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

RESULT_MARKER = "BENCH_RESULT "
PACKAGES = ("mlflow", "mlcask", "xgboost", "scikit-learn", "skops", "numpy", "pandas")


def load_data() -> tuple[Any, Any]:
    """Breast-cancer features (DataFrame, 30 float columns) and target (Series ``target``)."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True, as_frame=True)


def fit_model(kind: str, X: Any, y: Any) -> Any:
    if kind == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=100, random_state=0).fit(X, y)
    if kind == "sklearn":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
    raise ValueError(f"unknown model kind {kind!r}")


class Tool:
    """The tool under test, reached through MLflow's names: ``mlflow.<flavor>``, ``mlflow.pyfunc``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mlflow = importlib.import_module(name)

    def flavor(self, kind: str) -> Any:
        return importlib.import_module(f"{self.name}.{kind}")

    def infer_signature(self, X: Any, y: Any) -> Any:
        return importlib.import_module(f"{self.name}.models").infer_signature(X, y)

    def load_pyfunc(self, path: Path | str) -> Any:
        return importlib.import_module(f"{self.name}.pyfunc").load_model(str(path))


def make_saver(tool: Tool, kind: str) -> tuple[Any, Callable[[Path], None]]:
    """Fit a model and return it with ``save(path)``, the exact call the save benchmark times."""
    X, y = load_data()
    model = fit_model(kind, X, y)
    flavor = tool.flavor(kind)
    signature = tool.infer_signature(X, y)
    example = X.sample(n=1, random_state=0)

    def save(path: Path) -> None:
        flavor.save_model(model, str(path), signature=signature, input_example=example)

    return model, save


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1e9


def bench_save(tool: Tool, kind: str, repeat: int, workdir: Path) -> dict[str, Any]:
    _, save = make_saver(tool, kind)
    save(workdir / "warm-up")
    samples = []
    for i in range(repeat):
        path = workdir / f"model-{i}"
        samples.append(timed(lambda: save(path)))
    files = sorted(p.name for p in (workdir / "warm-up").iterdir())
    return {"samples": samples, "files": files}


def bench_load(tool: Tool, kind: str, repeat: int, workdir: Path) -> dict[str, Any]:
    _, save = make_saver(tool, kind)
    path = workdir / "model"
    save(path)
    tool.load_pyfunc(path)  # warm-up: imports and first-use costs are not measured
    return {"samples": [timed(lambda: tool.load_pyfunc(path)) for _ in range(repeat)]}


def bench_predict(tool: Tool, rows: int, repeat: int, workdir: Path) -> dict[str, Any]:
    """Time ``pyfunc.predict(df)`` against the raw XGBoost model's ``predict(df)``, interleaved."""
    import numpy as np

    X, _ = load_data()
    model, save = make_saver(tool, "xgboost")
    path = workdir / "model"
    save(path)
    pyfunc = tool.load_pyfunc(path)
    df = X.sample(n=rows, replace=rows > len(X), random_state=1)
    same = bool(np.array_equal(np.asarray(pyfunc.predict(df)).ravel(), model.predict(df).ravel()))
    for _ in range(min(50, repeat)):  # warm-up
        model.predict(df)
        pyfunc.predict(df)
    raw, wrapped = [], []
    for i in range(repeat):  # alternate which goes first so drift hits both alike
        if i % 2:
            raw.append(timed(lambda: model.predict(df)))
            wrapped.append(timed(lambda: pyfunc.predict(df)))
        else:
            wrapped.append(timed(lambda: pyfunc.predict(df)))
            raw.append(timed(lambda: model.predict(df)))
    return {"raw": raw, "pyfunc": wrapped, "rows": rows, "same_predictions": same}


def start_tracking(tool: Tool, workdir: Path) -> Any:
    """A fresh SQLite tracking store in ``workdir`` (the embedded default of both tools)."""
    os.environ["MLCASK_ARTIFACT_ROOT"] = str(workdir / "artifacts")
    tool.mlflow.set_tracking_uri(f"sqlite:///{workdir / 'tracking.db'}")
    tool.mlflow.set_experiment("bench")
    return tool.mlflow.start_run()


def bench_log_metric(tool: Tool, repeat: int, workdir: Path) -> dict[str, Any]:
    """One ``log_metric`` call per sample, in a loop, as a training loop logs."""
    start_tracking(tool, workdir)
    for step in range(20):  # warm-up: connection, schema, first-use costs
        tool.mlflow.log_metric("warmup", 0.5, step=step)
    samples = [timed(lambda i=i: tool.mlflow.log_metric("loss", 1.0 / (i + 1), step=i)) for i in range(repeat)]
    tool.mlflow.end_run()
    return {"samples": samples}


def bench_log_metrics(tool: Tool, repeat: int, workdir: Path) -> dict[str, Any]:
    """One ``log_metrics`` call with 1,000 keys per sample."""
    start_tracking(tool, workdir)
    metrics = {f"metric_{i}": float(i) for i in range(1000)}
    tool.mlflow.log_metrics(metrics, step=0)
    samples = [timed(lambda i=i: tool.mlflow.log_metrics(metrics, step=i + 1)) for i in range(repeat)]
    tool.mlflow.end_run()
    return {"samples": samples}


def bench_log_model(tool: Tool, repeat: int, workdir: Path) -> dict[str, Any]:
    """``xgboost.log_model`` into a run, with signature and input example (the seed's call)."""
    X, y = load_data()
    model = fit_model("xgboost", X, y)
    flavor = tool.flavor("xgboost")
    signature = tool.infer_signature(X, y)
    example = X.sample(n=1, random_state=0)
    start_tracking(tool, workdir)
    flavor.log_model(model, name="warmup", signature=signature, input_example=example)
    samples = [timed(lambda i=i: flavor.log_model(model, name=f"classifier{i}", signature=signature,
                                                  input_example=example)) for i in range(repeat)]
    tool.mlflow.end_run()
    return {"samples": samples}


def bench_alias_load(tool: Tool, repeat: int, workdir: Path) -> dict[str, Any]:
    """Resolve ``models:/<name>@<alias>`` and load the (small, scikit-learn) model it names."""
    X, y = load_data()
    model = fit_model("sklearn", X, y)
    start_tracking(tool, workdir)
    info = tool.flavor("sklearn").log_model(model, name="model", registered_model_name="bench-model")
    tool.mlflow.end_run()
    client = tool.mlflow.MlflowClient()
    client.set_registered_model_alias("bench-model", "champion", info.registered_model_version)
    uri = "models:/bench-model@champion"
    tool.load_pyfunc(uri)  # warm-up
    return {"samples": [timed(lambda: tool.load_pyfunc(uri)) for _ in range(repeat)]}


def bench_autolog(tool: Tool, kind: str, log_models: bool, repeat: int, workdir: Path) -> dict[str, Any]:
    """``fit`` under ``mlflow.autolog(log_models=...)`` against the same plain ``fit``, interleaved.

    Samples are the autologged fit times, ``plain`` the plain ones; autologging is turned on
    and off with ``mlflow.autolog`` between fits (not timed). Each autologged fit starts and
    ends its own run in a fresh SQLite store.
    """
    X, y = load_data()
    os.environ["MLCASK_ARTIFACT_ROOT"] = str(workdir / "artifacts")
    tool.mlflow.set_tracking_uri(f"sqlite:///{workdir / 'tracking.db'}")
    tool.mlflow.set_experiment("bench")

    def autolog(on: bool) -> None:
        if on:
            tool.mlflow.autolog(log_models=log_models, silent=True)
        else:
            tool.mlflow.autolog(disable=True, silent=True)

    for on in (False, True):  # warm-up: imports, first-use costs, the store's schema
        autolog(on)
        fit_model(kind, X, y)
    plain, logged = [], []
    for i in range(repeat):  # alternate which goes first so drift hits both alike
        for on in ((True, False) if i % 2 else (False, True)):
            autolog(on)
            (logged if on else plain).append(timed(lambda: fit_model(kind, X, y)))
    autolog(False)
    runs = tool.mlflow.search_runs(experiment_names=["bench"], output_format="list")
    if len(runs) != repeat + 1:
        raise RuntimeError(f"autolog logged {len(runs)} runs for {repeat + 1} fits")
    models = [m for r in runs for m in tool.mlflow.MlflowClient().search_logged_models(
        [r.info.experiment_id], filter_string=f"source_run_id = '{r.info.run_id}'")]
    if bool(models) != log_models:
        raise RuntimeError(f"autolog(log_models={log_models}) logged {len(models)} models")
    return {"samples": logged, "plain": plain}


def versions() -> dict[str, Any]:
    """Versions read from package metadata (no imports), plus the interpreter."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {"python": platform.python_version(), "executable": sys.executable, "packages": found}


BENCHES: dict[str, Callable[[Tool, int, Path], dict[str, Any]]] = {
    "save-xgboost": lambda t, n, d: bench_save(t, "xgboost", n, d),
    "save-sklearn": lambda t, n, d: bench_save(t, "sklearn", n, d),
    "load-xgboost": lambda t, n, d: bench_load(t, "xgboost", n, d),
    "load-sklearn": lambda t, n, d: bench_load(t, "sklearn", n, d),
    "predict-1": lambda t, n, d: bench_predict(t, 1, n, d),
    "predict-10000": lambda t, n, d: bench_predict(t, 10_000, n, d),
    "log-metric": bench_log_metric,
    "log-metrics-1000": bench_log_metrics,
    "log-model-xgboost": bench_log_model,
    "alias-load": bench_alias_load,
    "autolog-xgboost": lambda t, n, d: bench_autolog(t, "xgboost", True, n, d),
    "autolog-xgboost-nomodel": lambda t, n, d: bench_autolog(t, "xgboost", False, n, d),
    "autolog-sklearn": lambda t, n, d: bench_autolog(t, "sklearn", True, n, d),
    "autolog-sklearn-nomodel": lambda t, n, d: bench_autolog(t, "sklearn", False, n, d),
}


def main(argv: list[str]) -> None:
    tool_name, bench, repeat, workdir = argv[0], argv[1], int(argv[2]), Path(argv[3])
    if tool_name not in ("mlflow", "mlcask"):
        raise SystemExit(f"unknown tool {tool_name!r}")
    if bench == "info":
        result = versions()
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        result = BENCHES[bench](Tool(tool_name), repeat, workdir)
    result.update(tool=tool_name, bench=bench, pid=os.getpid())
    print(RESULT_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
