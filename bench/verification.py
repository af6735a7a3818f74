"""What verifying a model's integrity manifest and signature adds to ``load_model``.

    .venv/bin/python bench/verification.py [--repeat N] [--markdown]

Saves a ~10 MB XGBoost model (ubj) and a ~10 MB scikit-learn random forest (skops) with
mlcask, then times ``mlcask.pyfunc.load_model`` on each, interleaved, in three ways:
with verification turned off (the baseline: the same load with the manifest check
replaced by "no manifest"), with verification re-hashing every file on every load
(``MLCASK_DIGEST_CACHE=0``: a file this machine has never seen, say one just downloaded),
and with the digest cache warm (a file saved or verified here before, unchanged since). MLflow's ``pyfunc.load_model`` of the same
folders, in its own venv, is shown for reference: MLflow checks nothing. Medians.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import run_in_mlflow  # noqa: E402


def build_models(folder: Path) -> dict[str, Path]:
    import xgboost
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import mlcask

    X, y = make_classification(20_000, 30, random_state=0)
    booster = xgboost.XGBClassifier(n_estimators=8000, max_depth=10, n_jobs=1, random_state=0).fit(X, y)
    forest = RandomForestClassifier(n_estimators=45, random_state=0, n_jobs=1).fit(X, y)
    paths = {"XGBoost (ubj)": folder / "xgb", "scikit-learn forest (skops)": folder / "forest"}
    mlcask.xgboost.save_model(booster, paths["XGBoost (ubj)"])
    mlcask.sklearn.save_model(forest, paths["scikit-learn forest (skops)"])
    return paths


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def time_loads(path: Path, repeat: int) -> dict[str, list[float]]:
    """Interleaved samples of a whole ``load_model`` and of the verification alone, with the
    digest cache off (every file hashed) and warm. Timing the verification by itself and
    comparing it with the load it is part of is steadier than differencing two loads,
    which vary by several ms from one to the next."""
    import mlcask
    from mlcask.models import digests
    from mlcask.models.integrity import verify_model

    def timed(fn) -> float:
        gc.collect()  # a collection landing inside one timing would swamp a few ms
        gc.disable()
        try:
            started = time.perf_counter_ns()
            fn()
            return (time.perf_counter_ns() - started) / 1e9
        finally:
            gc.enable()

    samples: dict[str, list[float]] = {"load": [], "verify-hash": [], "verify-cached": []}
    mlcask.pyfunc.load_model(path)  # warm-up: imports, page cache, digest cache
    for _ in range(repeat):
        samples["load"].append(timed(lambda: mlcask.pyfunc.load_model(path)))
        os.environ[digests.CACHE_ENV] = "0"
        samples["verify-hash"].append(timed(lambda: verify_model(path)))
        os.environ[digests.CACHE_ENV] = "1"
        samples["verify-cached"].append(timed(lambda: verify_model(path)))
    return samples


def mlflow_loads(path: Path, repeat: int) -> list[float]:
    code = f"""
import json, time, mlflow
path = {str(path)!r}
mlflow.pyfunc.load_model(path)
samples = []
for _ in range({repeat}):
    started = time.perf_counter_ns(); mlflow.pyfunc.load_model(path)
    samples.append((time.perf_counter_ns() - started) / 1e9)
print(json.dumps(samples))
"""
    return json.loads(run_in_mlflow(code).strip().splitlines()[-1])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLCASK_HOME"] = str(Path(tmp) / "home")
        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # MLflow 3.17 refuses skops otherwise
        header = ["model", "size", "MLflow load", "mlcask load, without verification",
                  "verification, every file hashed", "adds", "verification, digest cache warm", "adds"]
        rows = []
        for label, path in build_models(Path(tmp)).items():
            samples = {k: statistics.median(v) for k, v in time_loads(path, args.repeat).items()}
            mlflow = statistics.median(mlflow_loads(path, args.repeat))
            bare = samples["load"] - samples["verify-cached"]  # the load's own work
            rows.append([label, f"{folder_mb(path):.1f} MB", ms(mlflow), ms(bare), ms(samples["verify-hash"]),
                         f"+{samples['verify-hash'] / bare:.1%}", ms(samples["verify-cached"]),
                         f"+{samples['verify-cached'] / bare:.1%}"])
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in [header, *rows]:
            print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
