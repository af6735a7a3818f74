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
    import mlcask
    from mlcask.models import digests, integrity, trust

    real_verify = trust.verify_model

    def load() -> float:
        started = time.perf_counter_ns()
        mlcask.pyfunc.load_model(path)
        return (time.perf_counter_ns() - started) / 1e9

    samples: dict[str, list[float]] = {"off": [], "hash": [], "cached": []}
    load()  # warm-up: imports, page cache
    for _ in range(repeat):
        # The baseline skips the check but keeps the trust the signed model earns.
        trust.verify_model = lambda folder: integrity.Verification(Path(folder), None, "-", "-", "-")
        samples["off"].append(load())
        trust.verify_model = real_verify
        os.environ[digests.CACHE_ENV] = "0"
        samples["hash"].append(load())
        os.environ[digests.CACHE_ENV] = "1"
        load()  # fills the cache if it was empty
        samples["cached"].append(load())
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
        header = ["model", "size", "MLflow load", "mlcask load, no verification",
                  "mlcask load, verify (hash every file)", "overhead", "mlcask load, verify (digest cache warm)",
                  "overhead"]
        rows = []
        for label, path in build_models(Path(tmp)).items():
            samples = {k: statistics.median(v) for k, v in time_loads(path, args.repeat).items()}
            mlflow = statistics.median(mlflow_loads(path, args.repeat))
            off = samples["off"]
            rows.append([label, f"{folder_mb(path):.1f} MB", ms(mlflow), ms(off), ms(samples["hash"]),
                         f"{(samples['hash'] - off) / off:+.1%}", ms(samples["cached"]),
                         f"{(samples['cached'] - off) / off:+.1%}"])
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
