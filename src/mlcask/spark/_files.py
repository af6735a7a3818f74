"""Moving Spark ML model folders between a model folder and where Spark reads and writes,
and the trust check of the classes a Spark ML model's metadata names.

Spark ML reads and writes through Hadoop's file system: the local one in local mode or
when the cluster's default file system is ``file:``, a distributed one (HDFS, ...)
otherwise. A load hands Spark a private copy made of the model folder's verified bytes,
never the folder itself, so what Spark reads is what the manifest covers.
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from mlcask.environment_variables import MLFLOW_DFS_TMP
from mlcask.exceptions import ModelFormatError
from mlcask.models.trust import LoadTrust

_logger = logging.getLogger(__name__)

# Spark ML's own classes, on the Python and the JVM side; any other class is user code.
TRUSTED_CLASS_PREFIXES = ("pyspark.ml.", "org.apache.spark.ml.")
# Suffixes Hadoop decompresses by on read: such a metadata file would hide what it names.
_COMPRESSED = (".gz", ".bz2", ".deflate", ".lz4", ".snappy", ".zst", ".zstd", ".br", ".xz")
# A stage's folder is named after its uid (``stages/<i>_<uid>``): a uid must be a plain name.
_UID = re.compile(r"[A-Za-z0-9_\-]+")
_private_copies: list[str] = []


def dfs_tmpdir_base(dfs_tmpdir: str | None) -> str:
    """``dfs_tmpdir``, else ``MLFLOW_DFS_TMP``, else ``/tmp/mlflow`` (MLflow's default)."""
    return dfs_tmpdir or MLFLOW_DFS_TMP.get()


def _hadoop(spark: Any) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    return jvm, jvm.org.apache.hadoop.fs.FileSystem.get(spark.sparkContext._jsc.hadoopConfiguration())


def default_fs_is_local(spark: Any) -> bool:
    """Whether Spark's default file system is the local one (paths without scheme are local)."""
    jvm, fs = _hadoop(spark)
    qualified = fs.makeQualified(jvm.org.apache.hadoop.fs.Path("/")).toString()
    return qualified.startswith("file:")


def write_spark_model(spark: Any, model: Any, target: Path, dfs_tmpdir: str | None) -> None:
    """Save ``model`` with Spark ML's writer into the local folder ``target``; through a
    temporary folder under ``dfs_tmpdir`` (then copied here) when the default file system
    is distributed."""
    if default_fs_is_local(spark):
        model.write().save(str(target))
        return
    jvm, fs = _hadoop(spark)
    remote = f"{dfs_tmpdir_base(dfs_tmpdir).rstrip('/')}/{uuid.uuid4().hex}"
    model.write().save(remote)
    fs.copyToLocalFile(True, jvm.org.apache.hadoop.fs.Path(remote), jvm.org.apache.hadoop.fs.Path(str(target)))


def spark_readable_path(spark: Any, local: Path, dfs_tmpdir: str | None) -> str:
    """A path Spark reads the local folder ``local`` by: itself when the default file
    system is local, else a copy under ``dfs_tmpdir`` (kept: Spark may read it lazily)."""
    if default_fs_is_local(spark):
        return str(local)
    jvm, fs = _hadoop(spark)
    remote = f"{dfs_tmpdir_base(dfs_tmpdir).rstrip('/')}/{uuid.uuid4().hex}"
    fs.copyFromLocalFile(False, jvm.org.apache.hadoop.fs.Path(str(local)), jvm.org.apache.hadoop.fs.Path(remote))
    _logger.info("Copied the Spark ML model to %s", remote)
    return remote


def _is_metadata_file(relative: str) -> bool:
    """A file Spark ML reads class names from: any visible file in a ``metadata`` folder
    (Spark reads the whole folder as text, skipping names starting with ``_`` or ``.``)."""
    parts = relative.split("/")
    return len(parts) >= 2 and parts[-2] == "metadata" and not parts[-1].startswith(("_", "."))


def _classes_in(trust: LoadTrust, relative: str) -> list[str]:
    where = trust.folder.path / relative
    if relative.lower().endswith(_COMPRESSED):
        raise ModelFormatError(f"The Spark ML metadata file '{where}' is compressed; mlcask reads only the plain "
                               "JSON metadata Spark ML writes.")
    classes = []
    for number, line in enumerate(trust.folder.read(relative, runs_code=True).decode("utf-8", "replace")
                                  .splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise ModelFormatError(f"The Spark ML metadata file '{where}' is not JSON (line {number}: {exc}).") \
                from None
        name = entry.get("class") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise ModelFormatError(f"The Spark ML metadata file '{where}' names no class (line {number}).")
        _check_uids(entry, where)
        classes.append(name)
    return classes


def _check_uids(entry: dict[str, Any], where: Path) -> None:
    """Spark ML finds a pipeline's stages at ``stages/<index>_<uid>``: a uid that is not a
    plain name would send it to read a folder outside the model."""
    params = entry.get("paramMap")
    stage_uids = params.get("stageUids", []) if isinstance(params, dict) else []
    for uid in [entry.get("uid", ""), *(stage_uids if isinstance(stage_uids, list) else [stage_uids])]:
        if not isinstance(uid, str) or (uid and not _UID.fullmatch(uid)):
            raise ModelFormatError(f"The Spark ML metadata file '{where}' names the stage uid {uid!r}, which is not "
                                   "a plain name (letters, digits, '_', '-'): refusing to load it.")


def check_stage_classes(trust: LoadTrust, data_dir: str) -> list[str]:
    """Every class the Spark ML metadata under ``data_dir`` names (sorted); classes outside
    Spark ML (a custom Python stage: loading it imports and runs its module) need the
    load's trust to run code."""
    classes: set[str] = set()
    for relative in trust.folder.pinned.files_under(data_dir):
        if _is_metadata_file(relative):
            classes.update(_classes_in(trust, relative))
    if not classes:
        raise ModelFormatError(f"'{trust.folder.path / data_dir}' holds no Spark ML model: no metadata file "
                               "names a class.")
    custom = sorted(c for c in classes if not c.startswith(TRUSTED_CLASS_PREFIXES))
    if custom:
        trust.require_code(f"the Spark ML stage class{'es' if len(custom) > 1 else ''} "
                           f"{', '.join(repr(c) for c in custom)} (not part of Spark ML: loading imports "
                           "and runs its code)")
    return sorted(classes)


def private_copy(trust: LoadTrust, data_dir: str) -> Path:
    """A private local copy of the verified files under ``data_dir``, removed when the
    process exits (not before: Spark may read a model's data lazily)."""
    target = Path(tempfile.mkdtemp(prefix="mlcask-sparkml-"))
    if not _private_copies:
        atexit.register(_remove_private_copies)
    _private_copies.append(str(target))
    prefix = data_dir.strip("/") + "/"
    for relative in trust.folder.pinned.files_under(data_dir):
        destination = target / relative[len(prefix):]
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(trust.folder.read(relative, runs_code=_is_metadata_file(relative)))
    return target


def _remove_private_copies() -> None:
    for folder in _private_copies:
        shutil.rmtree(folder, ignore_errors=True)
