"""Spark DataFrames for autologging: the dataset record, the model's feature columns, the input
example and the signature, as MLflow's pyspark.ml autologging builds them.

- The training (and evaluation) DataFrame is logged as a dataset with a ``code`` source, MLflow's
  digest (the normalized MD5 of ``df.semanticHash()``, so the same query gives the same digest in
  both), its column schema and an approximate row count as profile.
- The feature columns are the columns the fitted model cannot do without (dropping one makes
  ``transform`` fail on analysis); the input example is their first rows, vectors as arrays.
- The signature is the feature columns' schema and the type of the ``prediction`` column; only
  MLflow's scalar types and Spark ML vectors are typed: other columns leave the model unsigned.
"""

from __future__ import annotations

import json
import logging
import re
from functools import cached_property
from typing import Any

from mlcask.data.dataset import Dataset

_logger = logging.getLogger("mlcask.pyspark.ml.autolog")
INPUT_EXAMPLE_ROWS = 5
_PREDICTION = "prediction"


def spark_column_type(data_type: Any) -> Any:
    """The mlcask column type of a Spark SQL type (mlcask.types' Spark mapping), or None for a
    type MLflow's autologging does not put in a signature (maps, structs, arrays of those, and
    types with no signature type)."""
    from pyspark.sql import types as t

    from mlcask.exceptions import MlcaskException
    from mlcask.types.spark_inference import spark_column_type as column_type

    element = data_type
    while isinstance(element, t.ArrayType):
        element = element.elementType
    if isinstance(element, (t.StructType, t.MapType)):
        return None
    try:
        return column_type(data_type)
    except MlcaskException:
        return None


def frame_schema(df: Any) -> Any:
    """The column schema of a Spark DataFrame (``None`` if a column has no mlcask type)."""
    from mlcask.types import ColSpec, Schema

    specs = []
    for field in df.schema.fields:
        column_type = spark_column_type(field.dataType)
        if column_type is None:
            return None
        specs.append(ColSpec(column_type, field.name))
    return Schema(specs)


def _semantic_hash(df: Any) -> int:
    return int(df.semanticHash())


class SparkDataset(Dataset):
    """A Spark DataFrame as an autologging dataset: MLflow's digest, schema and profile."""

    def __init__(self, df: Any, source: Any, name: str | None = None, digest: str | None = None) -> None:
        self._df = df
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        import numpy as np

        from mlcask.data.digest_utils import get_normalized_md5_digest

        return get_normalized_md5_digest([np.int64(_semantic_hash(self._df))])

    @cached_property
    def schema(self) -> Any:
        try:
            return frame_schema(self._df)
        except Exception as exc:
            _logger.warning("Failed to infer schema for Spark dataset. Exception: %s", exc)
            return None

    @cached_property
    def profile(self) -> Any:
        try:  # an estimate within 5 s, as MLflow's ("unknown" when it timed out empty), counted in the JVM
            count = int(self._df._jdf.rdd().countApprox(5000, 0.9).initialValue().mean())
            return {"approx_count": count if count > 0 else "unknown"}
        except Exception as exc:
            _logger.warning("Encountered an unexpected exception while computing Spark dataset profile. "
                            "Exception: %s", exc)
            return None

    def to_dict(self) -> dict[str, str]:
        fields = super().to_dict()
        schema = self.schema
        fields["schema"] = json.dumps({"mlflow_colspec": schema.to_dict()}) if schema else None
        fields["profile"] = json.dumps(self.profile)
        return fields


def spark_dataset(df: Any) -> SparkDataset:
    """``df`` as a dataset built by the running code (source type ``code``)."""
    from mlcask.data.code_dataset_source import CodeDatasetSource, context_tags

    return SparkDataset(df, CodeDatasetSource(context_tags()))


def log_dataset(client: Any, run_id: str, df: Any, context: str) -> None:
    from mlcask.data import dataset_input

    try:
        client.log_inputs(run_id, datasets=[dataset_input(spark_dataset(df), context)])
    except Exception as exc:  # as MLflow: a warning of its own, the rest is logged
        _logger.warning("Failed to log %s dataset information to MLflow Tracking. Reason: %s",
                        "training" if context == "train" else "evaluation", exc)


# -- the logged model's input example and signature -----------------------------------------------
def feature_columns(df: Any, model: Any) -> list[str]:
    """The columns of ``df`` that ``model.transform`` needs, in ``df``'s order."""
    from pyspark.errors.exceptions.base import IllegalArgumentException

    try:
        from pyspark.errors.exceptions.base import AnalysisException
    except ImportError:  # older pyspark
        AnalysisException = IllegalArgumentException  # noqa: N806
    sample = df.limit(1)
    needed = []
    for column in df.columns:
        try:
            model.transform(sample.drop(column)).schema  # analysis only: no Spark job
        except (IllegalArgumentException, AnalysisException) as exc:
            if re.search(r"does not exist|no such struct field|cannot be resolved|UNRESOLVED_COLUMN",
                         str(exc), re.IGNORECASE):
                needed.append(column)
                continue
            raise
    return needed


def example_frame(df: Any, columns: list[str]) -> Any:
    """The first rows of ``columns`` as a Spark DataFrame."""
    return df.select(columns).limit(INPUT_EXAMPLE_ROWS)


def to_pandas_example(example: Any) -> Any:
    """A Spark example as pandas, Spark ML vectors as arrays of doubles (as MLflow logs them)."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT

    for field in example.schema.fields:
        if isinstance(field.dataType, VectorUDT):
            example = example.withColumn(field.name, vector_to_array(field.name))
    return example.toPandas()


def unsupported_columns(df: Any) -> list[Any]:
    """The fields of ``df`` a signature cannot type."""
    return [field for field in df.schema.fields if spark_column_type(field.dataType) is None]


def _prediction_column(model: Any, example: Any) -> str:
    """``prediction``; a pipeline whose last stage writes another column is made to write ``prediction``
    (the model is a copy), as MLflow does so that the pyfunc model predicts by default."""
    from pyspark.ml import PipelineModel

    if isinstance(model, PipelineModel) and model.stages and model.stages[-1].hasParam("outputCol"):
        columns = model.transform(example.limit(0)).columns
        if _PREDICTION not in columns:
            model.stages[-1].setOutputCol(_PREDICTION)
    return _PREDICTION


def infer_model_signature(model: Any, example: Any) -> Any:
    """The model's signature from its Spark input example: the example's columns in, the
    ``prediction`` column's type out (unnamed, as MLflow writes it), or no output schema when
    that type cannot be typed."""
    from mlcask.models.signature import ModelSignature
    from mlcask.types import ColSpec, Schema

    column = _prediction_column(model, example)
    output_field = model.transform(example.limit(0)).schema[column]
    inputs = frame_schema(example)
    output_type = spark_column_type(output_field.dataType)
    if output_type is None:
        _logger.warning("Model outputs contain unsupported Spark data types: %s. Output schema is not logged.",
                        [output_field])
    outputs = Schema([ColSpec(output_type)]) if output_type is not None else None
    return ModelSignature(inputs=inputs, outputs=outputs)
