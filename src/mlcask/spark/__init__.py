"""The Spark ML flavor: ``pyspark.ml`` pipeline models and transformers in Spark ML's own
persistence format (under ``sparkml/``), as MLflow's ``mlflow.spark`` writes and reads them.

``import mlcask.spark`` does not import pyspark; saving and loading do.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.models.environment import _mlflow_conda_env, package_version, pinned
from mlcask.models.flavor_docs import shared_parameter_docs
from mlcask.models.flavor_files import copy_model_to
from mlcask.models.input_example import refuse_spark_dataframe, split_example_and_params
from mlcask.models.model import Model, ModelInfo
from mlcask.models.trust import current_trust, model_file_name
from mlcask.pyfunc.native import open_flavor
from mlcask.spark._files import check_stage_classes, private_copy, spark_readable_path, write_spark_model
from mlcask.spark._pyfunc import SparkModelWrapper, infer_spark_signature
from mlcask.spark._session import error_summary, require_pyspark, session
from mlcask.tracking.model_logging import flavor_log_model

__all__ = ["FLAVOR_NAME", "get_default_conda_env", "get_default_pip_requirements", "load_model", "log_model",
           "save_model"]

_logger = logging.getLogger(__name__)
FLAVOR_NAME = "spark"
SPARK_MODEL_PATH_SUB = "sparkml"  # where MLflow puts the Spark ML model in the folder
_CONNECT_PREFIX = "pyspark.ml.connect."


def get_default_pip_requirements() -> list[str]:
    """The pinned requirements MLflow lists for a Spark ML model: ``["pyspark==<installed>"]``
    (a ``dev`` version without its suffix, as MLflow pins it)."""
    require_pyspark()
    return [re.sub(r"(\.?)dev.*$", "", pinned("pyspark"))]


def get_default_conda_env() -> dict[str, Any]:
    """The conda environment of :func:`get_default_pip_requirements`, in MLflow's layout."""
    return _mlflow_conda_env(additional_pip_deps=get_default_pip_requirements())


def _model_requirements() -> list[str]:
    """What a saved model lists: pyspark and what the pyfunc wrapper uses (numpy, pandas,
    pyarrow; scipy when installed, which pyspark.ml imports then), as MLflow infers them."""
    names = ["numpy", "pandas", "pyarrow"] + (["scipy"] if package_version("scipy") else [])
    return sorted({*get_default_pip_requirements(), *(pinned(name) for name in names)})


def _validated(spark_model: Any) -> Any:
    """``spark_model`` as the ``PipelineModel`` saved (a single stage is wrapped, as in MLflow)."""
    require_pyspark()
    from pyspark.ml import Model as SparkModel
    from pyspark.ml import PipelineModel, Transformer
    from pyspark.ml.util import MLReadable, MLWritable

    kind = f"{type(spark_model).__module__}.{type(spark_model).__qualname__}"
    if kind.startswith(_CONNECT_PREFIX):
        raise InvalidArgumentError(f"Spark Connect ML models ({kind}) are not supported by mlcask.spark.")
    if not isinstance(spark_model, (SparkModel, Transformer)) or not isinstance(spark_model, MLReadable) \
            or not isinstance(spark_model, MLWritable):
        # MLflow's sentence, then what was given.
        raise InvalidArgumentError(
            "Cannot serialize this model. MLflow can only save descendants of pyspark.ml.Model or "
            f"pyspark.ml.Transformer that implement MLWritable and MLReadable. Got {kind}.")
    return spark_model if isinstance(spark_model, PipelineModel) else PipelineModel([spark_model])


def _signature_from_example(spark: Any, model: Any, input_example: Any) -> Any:
    from mlcask.models.input_example import InputExample

    try:
        return infer_spark_signature(spark, model, InputExample(input_example).inference_data)
    except Exception as exc:  # MLflow also saves without a signature when this fails
        _logger.warning("Could not infer the model signature from the input example: %s", exc)
        return None


@shared_parameter_docs
def save_model(
    spark_model: Any,
    path: str | os.PathLike,
    mlflow_model: Model | None = None,
    conda_env: dict | str | None = None,
    code_paths: list[str] | None = None,
    dfs_tmpdir: str | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Save a Spark ML model (a ``PipelineModel``, or a single transformer or model, saved as a
    one-stage ``PipelineModel`` as MLflow does) to ``path``, in Spark ML's format under ``sparkml/``.

    Parameters
    ----------
    spark_model : pyspark.ml.Model or pyspark.ml.Transformer
        The fitted model; it must implement ``MLWritable`` and ``MLReadable``.
    {path, mlflow_model, conda_env, code_paths}
    dfs_tmpdir : str, optional
        Where Spark writes the model first when its default file system is distributed (HDFS,
        ...); then it is copied into ``path``. Default ``MLFLOW_DFS_TMP`` or ``/tmp/mlflow``.
        Unused when the default file system is local.
    {signature, input_example, pip_requirements, extra_pip_requirements, metadata}
    **kwargs
        Accepted for MLflow's signature and unused by ``save_model`` (as in MLflow; a warning
        names them). ``log_model`` takes here the logging arguments of MLflow 3's other
        flavors: ``name`` (instead of ``artifact_path``), ``params``, ``tags``, ``model_type``,
        ``step`` and ``model_id``.

    Returns
    -------
    ModelInfo
        The saved model's metadata; ``model_uri`` is the folder's absolute path.
    """
    from mlcask.models.packaging import save_model_folder

    model = _validated(spark_model)
    refuse_spark_dataframe(split_example_and_params(input_example)[0])  # before inferring from it
    if kwargs:
        _logger.warning("mlcask.spark.save_model: ignoring the unused arguments %s.", sorted(kwargs))
    spark = session()
    if signature is None and input_example is not None:
        signature = _signature_from_example(spark, model, input_example)
    import pyspark

    def write_data(folder: Path) -> dict[str, Any]:
        write_spark_model(spark, model, folder / SPARK_MODEL_PATH_SUB, dfs_tmpdir)
        return {"pyspark_version": pyspark.__version__, "model_data": SPARK_MODEL_PATH_SUB,
                "model_class": f"{type(model).__module__}.{type(model).__qualname__}"}

    saved = save_model_folder(
        path,
        flavor_name=FLAVOR_NAME,
        write_data=write_data,
        pyfunc_conf=lambda conf: {"loader_module": "mlflow.spark", "data": conf["model_data"]},
        default_requirements=lambda _: _model_requirements(),
        mlflow_model=mlflow_model, signature=signature, input_example=input_example,
        conda_env=conda_env, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, code_paths=code_paths, metadata=metadata,
    )
    return ModelInfo.from_model(saved, model_uri=str(Path(path).absolute()))


def _load(model_dir: Path, conf: dict[str, Any], dfs_tmpdir: str | None) -> Any:
    """The ``PipelineModel`` of the model being loaded, read by Spark ML from a private copy
    of the verified ``sparkml/`` files, once every class its metadata names may be loaded."""
    require_pyspark()
    model_class = conf.get("model_class")
    if isinstance(model_class, str) and model_class.startswith(_CONNECT_PREFIX):
        raise ModelFormatError(f"The model in '{model_dir}' is a Spark Connect ML model ({model_class}), which "
                               "mlcask.spark does not load.")
    trust = current_trust()
    data_dir = model_file_name(model_dir, conf.get("model_data", SPARK_MODEL_PATH_SUB), "Spark ML model data")
    if not trust.folder.pinned.is_dir(data_dir):
        raise ModelFormatError(f"The model's Spark ML data folder is missing: expected '{model_dir / data_dir}'.")
    check_stage_classes(trust, data_dir)
    local = private_copy(trust, data_dir)
    spark = session()
    from pyspark.ml import PipelineModel

    try:
        return PipelineModel.load(spark_readable_path(spark, local, dfs_tmpdir))
    except Exception as exc:
        raise ModelFormatError(f"Spark ML could not load the model in '{model_dir / data_dir}': "
                               f"{error_summary(exc)}") from None


def load_model(model_uri: str | os.PathLike, dfs_tmpdir: str | None = None, dst_path: str | None = None,
               allow_pickle: bool | None = None) -> Any:
    """Load the Spark ML model saved at ``model_uri`` as a ``pyspark.ml.PipelineModel``.

    Parameters
    ----------
    model_uri : str or path-like
        A local path, ``runs:/<run_id>/<path>``, ``models:/<name>/<version>`` or
        ``models:/<model_id>`` URI, or any artifact URI.
    dfs_tmpdir : str, optional
        Where the model is copied for Spark to read when its default file system is distributed
        (default ``MLFLOW_DFS_TMP`` or ``/tmp/mlflow``); unused when it is local.
    dst_path : str, optional
        An existing local folder to copy (download) the model into before loading it.
    allow_pickle : bool, optional
        Allow loading a model whose metadata names classes outside Spark ML (custom Python
        stages: loading imports and runs their code) or that ships ``code_paths``, when it
        is not signed by a trusted key. Default: ``MLCASK_ALLOW_PICKLE``.

    Returns
    -------
    pyspark.ml.PipelineModel
        The model, loaded in the active SparkSession (a local one is started if none is).
    """
    if dst_path is not None:
        model_uri = copy_model_to(model_uri, dst_path)
    with open_flavor(model_uri, FLAVOR_NAME, allow_pickle) as (model_dir, _, conf):
        return _load(model_dir, conf, dfs_tmpdir)


def load_pyfunc_model(model_dir: Path, meta: Model, model_config: dict[str, Any] | None = None) -> SparkModelWrapper:
    model = _load(model_dir, meta.flavor(FLAVOR_NAME), None)
    return SparkModelWrapper(session(), model, signature=meta.signature)


log_model = flavor_log_model(
    save_model, FLAVOR_NAME,
    "spark_model artifact_path conda_env code_paths dfs_tmpdir registered_model_name signature input_example "
    "await_registration_for pip_requirements extra_pip_requirements metadata **kwargs",
    what="a Spark ML model",
)
