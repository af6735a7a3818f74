"""The model folder on Spark executors, and the model loaded once per Python worker.

On a cluster whose executors may not see the driver's filesystem, :func:`ship_model` zips
the model folder and adds the archive to the job with ``SparkContext.addFile``; an executor
finds it with ``SparkFiles.get`` and unpacks it once (:func:`shipped_folder`). In local mode
the executors read the driver's folder itself.

:func:`cached_model` keeps each loaded model in the Python worker process (Spark reuses its
Python workers across tasks), keyed by where the folder is and how it is loaded, so a
worker loads a model once, through :func:`mlcask.pyfunc.load_model`: verified against its
integrity manifest and under the trust rules of any load.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_models: dict[Any, Any] = {}
_shipped: dict[tuple[str, str, int], str] = {}
_lock = threading.Lock()
_ARCHIVE = re.compile(r"^mlcask-model-[0-9a-f]{32}\.zip$")


def cached_model(key: Any, load: Callable[[], Any]) -> Any:
    """The model cached under ``key`` in this process, loaded by ``load()`` the first time."""
    with _lock:
        model = _models.get(key)
        if model is None:
            model = _models[key] = load()
        return model


def cached_model_count() -> int:
    """How many models this process holds (for tests: one per model, however many tasks ran)."""
    return len(_models)


def shares_driver_filesystem(spark: Any) -> bool:
    """Whether the executors run in the driver's process tree on its machine: ``local`` and
    ``local[N]`` masters (not ``local-cluster``, whose executors are other processes, as on a
    real cluster: the model is shipped to them, which is how that path is tested)."""
    master = spark.sparkContext.master
    return re.fullmatch(r"local(\[[^\]]*\])?", master) is not None


def ship_model(spark: Any, folder: Path) -> str:
    """Zip ``folder``, add the archive to ``spark``'s jobs; return the archive's file name.

    A folder is shipped once per Spark application (again if its MLmodel file changed).
    """
    sc = spark.sparkContext
    key = (sc.applicationId, str(folder.resolve()), (folder / "MLmodel").stat().st_mtime_ns)
    with _lock:
        name = _shipped.get(key)
        if name is not None:
            return name
        staging = Path(tempfile.mkdtemp(prefix="mlcask-spark-udf-"))
        atexit.register(shutil.rmtree, staging, ignore_errors=True)
        name = f"mlcask-model-{uuid.uuid4().hex}.zip"
        with zipfile.ZipFile(staging / name, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                # Symbolic links are not followed: a link in a model folder must not ship what it points at.
                if path.is_file() and not path.is_symlink() and not _under_a_link(path, folder):
                    archive.write(path, path.relative_to(folder).as_posix())
        sc.addFile(str(staging / name))
        _shipped[key] = name
        return name


def _under_a_link(path: Path, folder: Path) -> bool:
    return any(parent.is_symlink() for parent in path.relative_to(folder).parents if parent != Path("."))



def shipped_folder(name: str) -> Path:
    """The model folder unpacked from the archive ``name`` added by :func:`ship_model`
    (unpacked once per executor; every worker process of it reads the same folder)."""
    from pyspark import SparkFiles

    if not _ARCHIVE.fullmatch(name):
        raise ValueError(f"'{name}' is not the name of a model archive shipped by mlcask's spark_udf.")
    archive = Path(SparkFiles.get(name))
    target = archive.with_suffix("")
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=archive.parent))
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(staging)  # names with '..' or a leading '/' are made safe by zipfile
    try:
        os.rename(staging, target)
    except OSError:  # another worker of this executor unpacked it first
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
    return target
