"""Model evaluation: ``mlcask.evaluate`` vs MLflow's ``mlflow.evaluate``, in one run.

    .venv/bin/python bench/evaluate.py [--rows N] [--rounds N] [--markdown]

Makes ``--rows`` rows x 20 features of a binary problem (``make_classification``, seeded),
trains an XGBoost classifier (100 trees, depth 6) and saves it with
``mlcask.xgboost.save_model`` (with a signature) in a temporary folder, with the data as
Parquet. Then two processes, one after the other, each with its own SQLite tracking store
in its own folder, evaluate that folder on that data ``--rounds`` times, each in a new run,
with default settings on both sides (``model_type="classifier"``, ``targets="label"``):

- ``mlcask``: ``mlcask.evaluate`` (this venv: metrics, plots, XGBoost's own SHAP values);
- ``mlflow``: ``mlflow.evaluate`` (MLflow's venv, with ``shap`` installed: its default
  explainability runs, as it does for MLflow users who have shap).

The first round of each side (imports done, first use of the plotting and explainer
code) is shown apart; the table gives medians of the others. Every metric both sides log
is compared (relative tolerance 1e-9) and the run fails if one differs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import ensure_mlflow_python  # noqa: E402
from bench.tables import render_table  # noqa: E402

RESULT_MARKER = "BENCH-EVALUATE-RESULT "

# Runs in either venv: the tool is imported as `mlflow` (mlcask under that name on our side).
WORKER = r'''
import json, os, sys, time, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
tool, folder, data_path, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if tool == "mlcask":
    import mlcask as mlflow
else:
    import mlflow
import pandas as pd
data = pd.read_parquet(data_path)
mlflow.set_tracking_uri("sqlite:///" + os.path.join(os.getcwd(), "store.db"))
mlflow.set_experiment("bench-evaluate")
times, result = [], None
for _ in range(rounds):
    start = time.perf_counter()
    with mlflow.start_run():
        result = mlflow.evaluate(folder, data, targets="label", model_type="classifier")
    times.append(time.perf_counter() - start)
metrics = {k: float(v) for k, v in result.metrics.items()}
print("''' + RESULT_MARKER + r'''" + json.dumps({"times": times, "metrics": metrics,
                                             "artifacts": sorted(result.artifacts)}))
'''


def _prepare(root: Path, rows: int) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from sklearn.datasets import make_classification

    import mlcask
    from mlcask.models import infer_signature

    X, y = make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    model = xgb.XGBClassifier(n_estimators=100, max_depth=6, random_state=0).fit(frame, y)
    folder = root / "model"
    mlcask.xgboost.save_model(model, folder, signature=infer_signature(frame, model.predict(frame[:10])))
    data = frame.assign(label=np.asarray(y, dtype="int64"))
    data.to_parquet(root / "data.parquet", index=False)
    return folder, root / "data.parquet"


def _run(python: Path, tool: str, folder: Path, data: Path, rounds: int, root: Path) -> dict:
    cwd = root / tool
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLFLOW_", "MLCASK_"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run([str(python), "-c", WORKER, tool, str(folder), str(data), str(rounds)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=3600)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER):])
    raise SystemExit(f"{tool} worker failed (exit {done.returncode}):\n{done.stderr[-4000:]}")


def _compare(ours: dict[str, float], theirs: dict[str, float]) -> list[str]:
    shared = sorted(set(ours) & set(theirs))
    bad = [f"{k}: mlcask {ours[k]!r} vs MLflow {theirs[k]!r}" for k in shared
           if abs(ours[k] - theirs[k]) > 1e-9 * max(abs(theirs[k]), 1e-300)]
    return [f"{len(shared)} shared metrics: {', '.join(shared)}", *bad]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    mlflow_python = ensure_mlflow_python()
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        root = Path(tmp)
        folder, data = _prepare(root, args.rows)
        ours = _run(Path(sys.executable), "mlcask", folder, data, args.rounds, root)
        theirs = _run(mlflow_python, "mlflow", folder, data, args.rounds, root)
    rows = []
    for name, result in (("mlcask evaluate", ours), ("MLflow evaluate (with shap)", theirs)):
        rest = result["times"][1:] or result["times"]
        rows.append([name, f"{result['times'][0]:.2f} s", f"{statistics.median(rest):.3f} s",
                     str(len(result["artifacts"]))])
    ratio = statistics.median(theirs["times"][1:] or theirs["times"]) / statistics.median(ours["times"][1:] or ours["times"])
    print(f"{args.rows:,} rows x 20 features, binary XGBoost (100 trees, depth 6), {args.rounds} rounds, "
          f"load {os.getloadavg()[0]:.1f}")
    print(render_table(["side", "first round", "median of the rest", "artifacts"], rows, args.markdown))
    print(f"\nmlcask is {ratio:.1f}x faster (medians).")
    print("mlcask artifacts:", ", ".join(ours["artifacts"]))
    print("MLflow artifacts:", ", ".join(theirs["artifacts"]))
    findings = _compare(ours["metrics"], theirs["metrics"])
    print("\n".join(findings))
    if len(findings) > 1:
        raise SystemExit("metrics differ")


if __name__ == "__main__":
    main()
