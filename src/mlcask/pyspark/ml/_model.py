"""Which fitted ``pyspark.ml`` models autologging logs, and how big they are.

Two gates, both before anything is written to the run:

- the allowlist (MLflow's): the model's class, and for a ``PipelineModel``, ``OneVsRestModel``
  or parameter search model the classes of the models inside it, must be listed (a trailing
  ``*`` matches a prefix). The list is ``autolog(log_model_allowlist=...)``, else the file named
  by the Spark conf ``spark.mlflow.pysparkml.autolog.logModelAllowlistFile`` (a path, a
  ``file:`` or ``http(s):`` URI), else :data:`DEFAULT_ALLOWLIST`;
- the size limit (mlcask's): the model's Spark ML files as written (``model.write().save``, to a
  temporary folder of the cluster's default file system, measured through Hadoop's file system
  API, then deleted) must not exceed ``autolog(log_model_max_size=...)`` bytes, else
  ``MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE``, else 1 GiB; 0 turns the check (and its extra write) off.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from typing import Any

from mlcask.environment_variables import EnvironmentVariable

_logger = logging.getLogger("mlcask.pyspark.ml.autolog")

ALLOWLIST_CONF = "spark.mlflow.pysparkml.autolog.logModelAllowlistFile"
DEFAULT_MAX_SIZE = 1024**3
MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE = EnvironmentVariable("MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE", int,
                                                           DEFAULT_MAX_SIZE)
NOT_LOGGED_TAG = "mlcask.autologging.modelNotLogged"

# MLflow's default allowlist: the pyspark.ml models it autologs (not, e.g., ALS or LDA models,
# which can be large), plus SynapseML's packages.
DEFAULT_ALLOWLIST = frozenset({
    *(f"pyspark.ml.classification.{name}" for name in (
        "LinearSVCModel", "DecisionTreeClassificationModel", "GBTClassificationModel", "LogisticRegressionModel",
        "RandomForestClassificationModel", "NaiveBayesModel", "OneVsRestModel")),
    *(f"pyspark.ml.clustering.{name}" for name in ("BisectingKMeansModel", "KMeansModel", "GaussianMixtureModel")),
    *(f"pyspark.ml.regression.{name}" for name in (
        "AFTSurvivalRegressionModel", "DecisionTreeRegressionModel", "GBTRegressionModel",
        "GeneralizedLinearRegressionModel", "LinearRegressionModel", "RandomForestRegressionModel")),
    *(f"pyspark.ml.feature.{name}" for name in (
        "BucketedRandomProjectionLSHModel", "ChiSqSelectorModel", "CountVectorizerModel", "IDFModel",
        "ImputerModel", "MaxAbsScalerModel", "MinHashLSHModel", "MinMaxScalerModel", "OneHotEncoderModel",
        "RobustScalerModel", "RFormulaModel", "StandardScalerModel", "StringIndexerModel",
        "VarianceThresholdSelectorModel", "VectorIndexerModel", "UnivariateFeatureSelectorModel")),
    "pyspark.ml.pipeline.PipelineModel",
    "pyspark.ml.tuning.CrossValidatorModel",
    "pyspark.ml.tuning.TrainValidationSplitModel",
    *(f"synapse.ml.{package}.*" for package in (
        "cognitive", "exploratory", "featurize", "geospatial", "image", "io", "isolationforest", "lightgbm",
        "nn", "opencv", "stages", "vw")),
})


# -- the allowlist --------------------------------------------------------------------------------
def _parse_allowlist(lines: Any) -> set[str]:
    return {line.strip() for line in lines if line.strip() and not line.strip().startswith("#")}


def read_allowlist_file(location: str) -> set[str]:
    """The class names in an allowlist file: one a line, ``#`` comments and blank lines ignored."""
    from urllib.parse import urlparse

    from mlcask.exceptions import InvalidArgumentError

    parsed = urlparse(location)
    if parsed.scheme in ("http", "https"):
        import urllib.request

        with urllib.request.urlopen(location, timeout=30) as response:  # noqa: S310 (http(s) only)
            return _parse_allowlist(response.read().decode("utf-8").splitlines())
    path = parsed.path if parsed.scheme == "file" else location
    if not os.path.exists(path):
        raise InvalidArgumentError(f"{location} does not exist")
    with open(path, encoding="utf-8") as file:
        return _parse_allowlist(file)


def resolve_allowlist(given: Any) -> frozenset[str]:
    """``autolog``'s ``log_model_allowlist``, else the Spark conf's file, else the default list."""
    if given:
        return frozenset(name.strip() for name in given)
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    location = session.sparkContext.getConf().get(ALLOWLIST_CONF, None) if session is not None else None
    if not location:
        return DEFAULT_ALLOWLIST
    try:
        return frozenset(read_allowlist_file(location))
    except Exception:
        _logger.exception("Reading from custom log_models allowlist file %s failed, fallback to built-in "
                          "allowlist file.", location)
        return DEFAULT_ALLOWLIST


def _listed(name: str, allowlist: frozenset[str]) -> bool:
    return name in allowlist or any(entry.endswith("*") and name.startswith(entry[:-1]) for entry in allowlist)


def is_allowed(model: Any, allowlist: frozenset[str]) -> bool:
    """Whether ``model`` and every model inside it are allowlisted."""
    from pyspark.ml import Model, PipelineModel
    from pyspark.ml.classification import OneVsRestModel

    from mlcask.pyspark.ml._params import class_name, is_search_model, param_map

    if not _listed(class_name(model), allowlist):
        return False
    if isinstance(model, OneVsRestModel):
        return is_allowed(model.models[0], allowlist) if model.models else True
    if isinstance(model, PipelineModel):
        return all(is_allowed(stage, allowlist) for stage in model.stages if isinstance(stage, Model))
    if is_search_model(model):
        return is_allowed(model.bestModel, allowlist)
    return all(is_allowed(value, allowlist) for value in param_map(model).values() if isinstance(value, Model))


def not_allowed_message(model: Any) -> str:
    return (f"Model {model.uid} will not be autologged because it is not allowlisted or or because one or more "
            "of its nested models are not allowlisted. Call mlflow.spark.log_model() to explicitly log the "
            f"model, or specify a custom allowlist via the {ALLOWLIST_CONF} Spark conf (see "
            "mlflow.pyspark.ml.autolog docs for more info).")


# -- the size limit -------------------------------------------------------------------------------
def resolve_max_size(given: int | None) -> int:
    """The size limit in bytes (0: none) from ``autolog``'s argument or the environment."""
    from mlcask.exceptions import InvalidArgumentError

    value = MLCASK_PYSPARK_ML_LOG_MODEL_MAX_SIZE.get() if given is None else given
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"`log_model_max_size` must be a number of bytes >= 0 (0: no limit), "
                                   f"instead got {value!r}.")
    return value


def written_size(model: Any) -> int:
    """The bytes of ``model``'s Spark ML files as ``model.write().save()`` writes them."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        raise RuntimeError("no active SparkSession to measure the model with")
    hadoop_conf = session.sparkContext._jsc.hadoopConfiguration()
    local = (hadoop_conf.get("fs.defaultFS") or "file:///").startswith("file:")
    folder = tempfile.mkdtemp(prefix="mlcask-model-size-") if local else None
    target = f"file://{folder}/model" if folder else f"/tmp/mlcask-model-size-{uuid.uuid4().hex}"
    jvm_path = session.sparkContext._jvm.org.apache.hadoop.fs.Path(target)
    file_system = jvm_path.getFileSystem(hadoop_conf)
    try:
        model.write().save(target)
        return int(file_system.getContentSummary(jvm_path).getLength())
    finally:
        file_system.delete(jvm_path, True)
        if folder:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


def human_size(size: float) -> str:
    """``512 bytes``, ``1.5 KiB``, ``3.2 MiB``, ``1.0 GiB``."""
    if size < 1024:
        return f"{int(size)} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"
