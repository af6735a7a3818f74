"""What verifying a model's integrity manifest and signature adds to ``load_model``.

    .venv/bin/python bench/verification.py [--repeat N] [--markdown]

Saves a ~10 MB XGBoost model (ubj) and a ~10 MB scikit-learn random forest (skops) with
mlcask, then times ``mlcask.pyfunc.load_model`` on each, interleaved, in three ways:
without verification (the baseline: a copy of the folder with no manifest, loaded with
``allow_pickle=True``), with verification re-hashing every file on every load
(``MLCASK_DIGEST_CACHE=0``: a file this machine has never seen, say one just downloaded),
and with the digest cache warm (a file saved or verified here before, unchanged since;
the cache never covers skops files, which are hashed on every load). MLflow's
``pyfunc.load_model`` of the same folders, in its own venv, is shown for reference: MLflow
checks nothing. Medians; what verification adds is the difference of the medians.
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
    """Interleaved samples of whole ``load_model`` calls: of a copy of the folder without its
    manifest (nothing to verify: the baseline), and of the folder itself with the digest
    cache off (every file hashed) and warm. Since loads pin the folder and hash whatever can
    run code from the bytes they parse, verification is no longer a separate step that
    could be timed alone: its cost is the difference between the loads."""
    import shutil

    import mlcask
    from mlcask.models import digests
    from mlcask.models.integrity import MANIFEST_FILE_NAME

    bare = path.parent / f"{path.name}-no-manifest"
    shutil.copytree(path, bare)
    (bare / MANIFEST_FILE_NAME).unlink()

    def timed(fn) -> float:
        gc.collect()  # a collection landing inside one timing would swamp a few ms
        gc.disable()
        try:
            started = time.perf_counter_ns()
            fn()
            return (time.perf_counter_ns() - started) / 1e9
        finally:
            gc.enable()

    samples: dict[str, list[float]] = {"bare": [], "load-hash": [], "load-cached": []}
    for _ in range(2):  # warm-up: imports, page cache, digest cache
        mlcask.pyfunc.load_model(path)
        mlcask.pyfunc.load_model(bare, allow_pickle=True)
    for _ in range(repeat):
        samples["bare"].append(timed(lambda: mlcask.pyfunc.load_model(bare, allow_pickle=True)))
        os.environ[digests.CACHE_ENV] = "0"
        samples["load-hash"].append(timed(lambda: mlcask.pyfunc.load_model(path)))
        os.environ[digests.CACHE_ENV] = "1"
        samples["load-cached"].append(timed(lambda: mlcask.pyfunc.load_model(path)))
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
            bare = samples["bare"]
            hashed, cached = samples["load-hash"] - bare, samples["load-cached"] - bare
            rows.append([label, f"{folder_mb(path):.1f} MB", ms(mlflow), ms(bare), ms(hashed),
                         f"{hashed / bare:+.1%}", ms(cached), f"{cached / bare:+.1%}"])
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
