"""Fork server for test_kill_during_save.py: saves models in forked children and SIGKILLs them.

    python _kill_worker.py MODE FOLDER ROUNDS SEED [--unsafe]

It imports mlcask and the libraries and trains the models once, then for every round forks
a child that saves (MODE ``save``: ``save_model`` of the XGBoost, scikit-learn/skops and
pyfunc flavors, one flavor per round, round robin) or logs (MODE ``log``: a run with
``log_artifacts`` of a folder and ``xgboost.log_model`` into a SQLite store) in a loop,
each time to a fresh path, and kills it with SIGKILL after a random delay of 0 to 1.5
times one save. It prints one JSON line for the test to check the folder against: the
rounds, the rows and the predictions a loaded model must give, and where things are.

``--unsafe`` replaces the private staging folder by writing straight into the target (and
uploads by copying straight onto the target file): only for checking that the test can fail.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import statistics
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import mlcask  # noqa: E402
import mlcask.pyfunc  # noqa: E402
import mlcask.sklearn  # noqa: E402
import mlcask.xgboost  # noqa: E402

FLAVORS = ("xgboost", "sklearn", "pyfunc")
SAVES_PER_CHILD = 500  # a child that reaches this was never killed: the test fails
ROW_IDS = [0, 1, 19, 20, 100]


class Affine(mlcask.pyfunc.PythonModel):
    def __init__(self, weight: float, bias: float) -> None:
        self.weight = weight
        self.bias = bias

    def predict(self, context, model_input, params=None):
        return model_input.sum(axis=1).to_numpy() * self.weight + self.bias


def _unsafe_staging(path):
    @contextmanager
    def straight_into_target(target):
        target = Path(target).absolute()
        target.mkdir(parents=True, exist_ok=True)
        yield target

    return straight_into_target(path)


def _unsafe_log_artifacts(self, local_dir, artifact_path=None):
    target = self._target(artifact_path)
    for source in sorted(Path(local_dir).rglob("*")):
        if source.is_file():
            final = target / source.relative_to(local_dir)
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(source, "rb") as reader, open(final, "wb") as writer:
                while chunk := reader.read(16384):
                    writer.write(chunk)


def _train():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from xgboost import XGBRegressor

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    xgb = XGBRegressor(n_estimators=8, max_depth=3, n_jobs=1).fit(X, y)
    sk = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    return X, xgb, sk, Affine(0.5, -3.0)


def _fork_and_kill(loop, delay: float) -> dict:
    """Fork a child running ``loop``; SIGKILL it ``delay`` seconds after it started."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's cleanup
        code = 3
        try:
            os.close(read_end)
            os.write(write_end, b"s")
            loop()
        except BaseException:
            os.write(2, traceback.format_exc().encode())
            code = 2
        finally:
            os._exit(code)
    os.close(write_end)
    started = os.read(read_end, 1) == b"s"
    os.close(read_end)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return {"pid": pid, "delay": delay, "started": started, "killed": killed,
            "exit_code": None if killed else os.waitstatus_to_exitcode(status)}


def _first_save_in_child(action, count: int = 3) -> float:
    """How long a freshly forked child takes for its first ``action(i)`` (median of ``count``
    children): slower than in the parent, as the child's first touch of each page copies it."""
    durations = []
    for i in range(count):
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 2
            try:
                os.close(read_end)
                start = time.perf_counter()
                action(i)
                os.write(write_end, str(time.perf_counter() - start).encode())
                code = 0
            except BaseException:
                os.write(2, traceback.format_exc().encode())
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            reported = reader.read()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("the calibration child failed (its traceback is on stderr)")
        durations.append(float(reported))
    return statistics.median(durations)


def run_save(folder: Path, rounds: int, rng: random.Random) -> dict:
    X, xgb, sk, affine = _train()
    rows = X.iloc[ROW_IDS]
    example = X.head(2)
    savers = {
        "xgboost": lambda path: mlcask.xgboost.save_model(xgb, path, input_example=example),
        "sklearn": lambda path: mlcask.sklearn.save_model(sk, path, input_example=example,
                                                          pyfunc_predict_fn="predict_proba"),
        "pyfunc": lambda path: mlcask.pyfunc.save_model(path, python_model=affine, input_example=example),
    }
    expected = {"xgboost": xgb.predict(rows), "sklearn": sk.predict_proba(rows),
                "pyfunc": affine.predict(None, rows)}
    warmup = folder / "warmup"
    for name in FLAVORS:  # the first save of each flavor imports what it needs
        savers[name](warmup / name)
    seconds = {name: _first_save_in_child(lambda i, name=name: savers[name](warmup / f"{name}-{i}"))
               for name in FLAVORS}
    shutil.rmtree(warmup)

    results = []
    for number in range(rounds):
        flavor = FLAVORS[number % len(FLAVORS)]
        target = folder / "models" / flavor
        target.mkdir(parents=True, exist_ok=True)
        save = savers[flavor]

        def loop(save=save, target=target, number=number):
            for i in range(SAVES_PER_CHILD):
                save(target / f"r{number:03d}-{i:03d}")

        results.append({"round": number, "flavor": flavor,
                        **_fork_and_kill(loop, rng.uniform(0, 1.5 * seconds[flavor]))})
    return {"rounds": results, "save_seconds": seconds,
            "rows": rows.to_dict(orient="split"),
            "expected": {name: value.tolist() for name, value in expected.items()}}


def run_log(folder: Path, rounds: int, rng: random.Random) -> dict:
    from mlcask.tracking.store.db import dispose_all

    X, xgb, _, _ = _train()
    rows = X.iloc[ROW_IDS]
    example = X.head(2)
    source = folder / "upload-source"
    (source / "sub" / "deeper").mkdir(parents=True)
    data = random.Random(7)
    (source / "notes.txt").write_text("a small text file\n" * 20)
    (source / "sub" / "big.bin").write_bytes(data.randbytes(4 << 20))
    (source / "sub" / "deeper" / "mid.bin").write_bytes(data.randbytes(256 << 10))
    (source / "sub" / "deeper" / "table.json").write_text(json.dumps({"rows": list(range(5000))}))

    os.environ["MLCASK_ARTIFACT_ROOT"] = str(folder / "artifacts")
    uri = f"sqlite:///{folder / 'tracking.db'}"
    mlcask.set_tracking_uri(uri)

    def iteration(_=None):
        with mlcask.start_run():
            mlcask.log_artifacts(str(source), "files")
            mlcask.xgboost.log_model(xgb, name="model", input_example=example)

    iteration()
    dispose_all()
    seconds = _first_save_in_child(iteration)
    results = []
    for number in range(rounds):
        dispose_all()  # no pooled SQLite connection crosses a fork

        def loop():
            for _ in range(SAVES_PER_CHILD):
                iteration()

        results.append({"round": number, **_fork_and_kill(loop, rng.uniform(0, 1.5 * seconds))})
    return {"rounds": results, "save_seconds": seconds, "tracking_uri": uri,
            "artifact_root": os.environ["MLCASK_ARTIFACT_ROOT"], "source": str(source),
            "rows": rows.to_dict(orient="split"), "expected": {"xgboost": xgb.predict(rows).tolist()}}


def main() -> None:
    mode, folder, rounds, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if "--unsafe" in sys.argv[5:]:
        import mlcask.models.packaging

        mlcask.models.packaging.staging_folder = _unsafe_staging
        if mode == "log":
            import mlcask.tracking.artifacts

            mlcask.tracking.artifacts.LocalArtifactRepository.log_artifacts = _unsafe_log_artifacts
    rng = random.Random(seed)
    summary = (run_save if mode == "save" else run_log)(folder, rounds, rng)
    print(json.dumps({"mode": mode, **summary}))


if __name__ == "__main__":
    main()
