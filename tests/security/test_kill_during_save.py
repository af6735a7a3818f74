"""Killing a process while it saves a model never leaves half a model behind.

save_model, log_model and artifact uploads write into a private staging folder (mode
0700) beside the target and rename it into place at the end. Here a fork server
(``_kill_worker.py``: mlcask imported and the models trained once) forks a child per
round that saves models in a loop, each to a fresh path, and SIGKILLs it after a random
delay of 0 to 1.5 times the child's first save. Afterwards every target path is either
absent or a whole model that verifies against its manifest (and, on a sample, loads and
predicts as the original); leftover staging folders are allowed, but only private and
never at a target path. The counts show that the kills really landed mid-save.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcask.models.integrity import MANIFEST_FILE_NAME, verify_model_folder

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_kill_worker.py")
SAVE_ROUNDS = 240  # 80 kills for each of the three flavors
LOG_ROUNDS = 80
LOADS_PER_FLAVOR = 4
TARGET = re.compile(r"r(\d{3})-(\d{3})")
STAGING = re.compile(r"\.r(\d{3})-(\d{3})\.saving-.+")


def run_worker(mode: str, folder: Path, rounds: int, seed: int, *extra: str) -> dict:
    """Run the fork server; returns its summary after checking every round ended in a SIGKILL."""
    temp = folder / "shared-tmp"  # the worker's TMPDIR: nothing may be staged there
    temp.mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(temp), "OMP_NUM_THREADS": "1"}
    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLCASK_ARTIFACT_ROOT"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, str(WORKER), mode, str(folder), str(rounds), str(seed), *extra],
                          capture_output=True, text=True, timeout=300, cwd=folder, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    rounds_run = summary["rounds"]
    assert len(rounds_run) == rounds
    not_killed = [r for r in rounds_run if not (r["started"] and r["killed"])]
    assert not not_killed, f"children that ended before the kill: {not_killed[:5]}\n{done.stderr[-3000:]}"
    assert not list(temp.iterdir()), f"something was staged in the shared temp folder: {list(temp.iterdir())}"
    return summary


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def check_leftover(path: Path) -> str:
    """A leftover staging entry must be private; returns its phase (the files it holds)."""
    if path.is_dir() and not path.is_symlink():
        files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        if mode_of(path) != 0o700:
            # The one allowed exception: killed after the final chmod, just before the rename.
            assert MANIFEST_FILE_NAME in files and verify_model_folder(path), (
                f"leftover staging folder {path} is mode {oct(mode_of(path))}, not 0700, and not a whole model")
            return f"(mode {oct(mode_of(path))}, whole) " + " ".join(files)
        return " ".join(re.sub(r"\d{3,}", "N", name) for name in files) or "(empty)"
    assert path.is_file(), f"leftover staging entry {path} is neither a file nor a folder"
    assert mode_of(path) & 0o077 == 0, (
        f"leftover staging file {path} is mode {oct(mode_of(path))}: readable by others, "
        "not in a private staging folder")
    return "(a file)"


def check_loads(path: Path, rows: pd.DataFrame, expected: list) -> None:
    import mlcask.pyfunc

    predicted = np.asarray(mlcask.pyfunc.load_model(str(path)).predict(rows))
    np.testing.assert_allclose(predicted, np.asarray(expected), rtol=1e-6, err_msg=str(path))


def frame(rows: dict) -> pd.DataFrame:
    return pd.DataFrame(rows["data"], index=rows["index"], columns=rows["columns"])


def test_killed_save_model_leaves_no_half_model(tmp_path):
    summary = run_worker("save", tmp_path, SAVE_ROUNDS, seed=20240611)
    rows = frame(summary["rows"])
    rng = random.Random(0)
    kills = len(summary["rounds"])
    complete: Counter[str] = Counter()
    mid_save_rounds: set[int] = set()
    phases: Counter[str] = Counter()
    for flavor in ("xgboost", "sklearn", "pyfunc"):
        folder = tmp_path / "models" / flavor
        whole = []
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                match = STAGING.fullmatch(entry.name)
                assert match, f"unexpected hidden entry {entry}"
                phases[f"{flavor}: {check_leftover(entry)}"] += 1
                mid_save_rounds.add(int(match[1]))
                continue
            assert TARGET.fullmatch(entry.name), f"unexpected entry {entry}"
            assert entry.is_dir() and not entry.is_symlink(), f"{entry} is not a folder"
            files = verify_model_folder(entry)  # raises on a changed, missing or extra file
            assert files, f"{entry} is at a target path but has no manifest: half a model"
            assert (entry / "MLmodel").is_file()
            whole.append(entry)
        complete[flavor] = len(whole)
        for entry in rng.sample(whole, min(LOADS_PER_FLAVOR, len(whole))):
            check_loads(entry, rows, summary["expected"][flavor])

    share = len(mid_save_rounds) / kills
    print(f"\n{kills} kills, {len(mid_save_rounds)} mid-save ({share:.0%}), whole models {dict(complete)}, "
          f"first save in a child {summary['save_seconds']}")
    for phase, count in sorted(phases.items()):
        print(f"  {count:4d} left over holding: {phase}")
    assert kills >= 200
    assert share >= 0.5, "too few kills landed while a model was being written: the test proves little"
    assert all(complete.values()), f"some flavor never completed a save before its kill: {dict(complete)}"
    assert len(phases) >= 6, "the kills landed at too few points of the save"


def test_killed_log_model_and_upload_leave_whole_files(tmp_path, tracking_state):
    from mlcask.tracking.artifacts import local_path_of
    from mlcask.tracking.client import MlcaskClient

    summary = run_worker("log", tmp_path, LOG_ROUNDS, seed=7)
    rows = frame(summary["rows"])
    kills = len(summary["rounds"])
    source = Path(summary["source"])
    root = Path(summary["artifact_root"])

    database = summary["tracking_uri"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    connection.close()

    tracking_state(summary["tracking_uri"], root)
    client = MlcaskClient()
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, max_results=1000)
    logged = client.search_logged_models(experiments, max_results=1000)

    statuses: Counter[str] = Counter()
    model_folders: set[Path] = set()
    whole_models = []
    for model in logged:
        folder = local_path_of(model.artifact_location).absolute()
        model_folders.add(folder)
        if not folder.exists() or not any(folder.iterdir()):
            statuses[f"{model.status} absent"] += 1
            continue
        files = verify_model_folder(folder)
        assert files, f"logged model {model.model_id} ({model.status}) has files but no manifest: half a model"
        statuses[f"{model.status} whole"] += 1
        whole_models.append(model)
    assert not any(s.startswith("READY absent") for s in statuses), statuses

    source_files = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*") if p.is_file()}
    uploads: Counter[str] = Counter()
    leftovers: Counter[str] = Counter()
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                leftovers[("model " if ".saving-" in entry.name else "upload ") + check_leftover(entry)] += 1
            elif entry.is_dir() and entry not in model_folders:
                stack.append(entry)
            elif entry.is_file():
                parts = entry.relative_to(root).parts  # <experiment>/<run>/artifacts/files/<path>
                assert parts[2:4] == ("artifacts", "files"), f"unexpected file {entry}"
                relative = "/".join(parts[4:])
                assert relative in source_files, f"unexpected file {entry}"
                assert entry.read_bytes() == source_files[relative], f"uploaded file {entry} is not whole"
                uploads[relative] += 1

    # A folder logged to a new destination appears at once: each run's "files" is absent or complete.
    upload_folders = sorted(root.glob("*/*/artifacts/files"))
    for folder in upload_folders:
        present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        assert present == sorted(source_files), f"{folder} holds only part of the uploaded folder: {present}"

    for model in whole_models[:3]:
        check_loads(local_path_of(model.artifact_location), rows, summary["expected"]["xgboost"])
    ready = [model for model in whole_models if model.status == "READY"]
    if ready:
        check_loads(f"models:/{ready[-1].model_id}", rows, summary["expected"]["xgboost"])

    mid_save = sum(leftovers.values())
    print(f"\n{kills} kills, {len(runs)} runs, logged models {dict(statuses)}, "
          f"{len(upload_folders)} whole uploaded folders, {mid_save} leftover staging entries, "
          f"one iteration in a child {summary['save_seconds']:.3f} s")
    for phase, count in sorted(leftovers.items()):
        print(f"  {count:4d} left over holding: {phase}")
    assert kills >= 50
    assert whole_models and sum(uploads.values()), "nothing was ever completed: the kills came too early"
    assert mid_save >= kills // 8, "too few kills landed while a model or upload was being written"
    kinds = {phase.split()[0] for phase in leftovers}
    assert kinds == {"model", "upload"}, f"no kill landed in the middle of every kind of write: {kinds}"
