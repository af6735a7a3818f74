"""The pyfunc face of a Spark ML model, with MLflow's rules (``mlflow.spark``):

- a pandas DataFrame goes through the SparkSession (``createDataFrame``); columns the
  signature types as a Spark ML vector, and the last stage's ``featuresCol`` when it is an
  ``array<double>``, become vectors;
- a pipeline whose last stage has an ``outputCol`` and writes no ``prediction`` column is
  made to write its output there; the result is the ``prediction`` column, as a list of
  its values; a vector column the signature's output types as a Spark ML vector comes as
  lists of floats (without such a signature, as pyspark's vectors, as in MLflow).
"""

from __future__ import annotations

import logging
from typing import Any

from mlcask.exceptions import InvalidInputError, MlcaskException
from mlcask.spark._session import error_summary
from mlcask.types.schema import ColSpec, Schema, SparkMLVector

_logger = logging.getLogger(__name__)
PREDICTION_COLUMN = "prediction"


def _is_double_array(data_type: Any) -> bool:
    from pyspark.sql import types

    return isinstance(data_type, types.ArrayType) and isinstance(data_type.elementType, types.DoubleType)


def _vector_columns(schema: Schema | None, frame_columns: list[Any]) -> list[Any]:
    """The input columns the signature types as Spark ML vectors."""
    if schema is None or schema.is_tensor_spec():
        return []
    return [spec.name if spec.name is not None else frame_columns[0]
            for spec in schema.inputs if isinstance(spec.type, SparkMLVector)]


def _features_column(model: Any) -> str | None:
    """The ``featuresCol`` of the model's last stage (MLflow's fallback for a pipeline
    whose features arrive as ``array<double>``), or None."""
    stage = model.stages[-1] if hasattr(model, "stages") and model.stages else model
    if stage.hasParam("featuresCol"):
        return stage.getOrDefault(stage.featuresCol)
    return None


def to_spark_frame(spark: Any, model: Any, data: Any, inputs: Schema | None) -> Any:
    """The Spark DataFrame of a pandas DataFrame, vector columns as Spark ML vectors."""
    import pandas as pd
    from pyspark.ml.functions import array_to_vector

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    vectors = _vector_columns(inputs, list(frame.columns))
    if vectors:
        frame = frame.copy(deep=False)
        for column in vectors:
            if column not in frame.columns:
                raise InvalidInputError(f"The input has no column {column!r}, a Spark ML vector in the model's "
                                        f"signature; it has {list(frame.columns)}.")
            frame[column] = frame[column].map(lambda values: [float(v) for v in values])
    spark_df = spark.createDataFrame(frame)
    features = _features_column(model)
    if features is not None and features not in vectors and features in spark_df.columns \
            and _is_double_array(spark_df.schema[features].dataType):
        vectors.append(features)
    for column in vectors:
        spark_df = spark_df.withColumn(column, array_to_vector(column))
    return spark_df


def set_prediction_column(model: Any, spark_df: Any) -> str:
    """MLflow's rule: a pipeline whose last stage has an ``outputCol`` and produces no
    ``prediction`` column writes its output as ``prediction``. Returns the column's name."""
    from pyspark.ml import PipelineModel

    if isinstance(model, PipelineModel) and model.stages and model.stages[-1].hasParam("outputCol"):
        empty = spark_df.sparkSession.createDataFrame([], spark_df.schema)
        if PREDICTION_COLUMN not in model.transform(empty).columns:
            model.stages[-1].setOutputCol(PREDICTION_COLUMN)
    return PREDICTION_COLUMN


def prediction_output(model: Any, spark_df: Any) -> Any:
    """The model's ``prediction`` column of ``spark_df``, as the model writes it."""
    column = set_prediction_column(model, spark_df)
    transformed = model.transform(spark_df)
    if column not in transformed.columns:
        raise MlcaskException(f"The Spark ML model writes no '{column}' column (it writes "
                              f"{transformed.columns}): the pyfunc output is the '{column}' column. Set the "
                              "model's output column to 'prediction' (e.g. setPredictionCol('prediction')).")
    return transformed.select(column)


def predictions(model: Any, spark_df: Any, outputs: Schema | None) -> Any:
    """:func:`prediction_output`; a vector the output schema types as a Spark ML vector
    turned into ``array<double>``."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT

    out = prediction_output(model, spark_df)
    wants_arrays = outputs is not None and not outputs.is_tensor_spec() and any(
        isinstance(spec.type, SparkMLVector) for spec in outputs.inputs)
    if wants_arrays and isinstance(out.schema[PREDICTION_COLUMN].dataType, VectorUDT):
        out = out.withColumn(PREDICTION_COLUMN, vector_to_array(PREDICTION_COLUMN))
    return out


def collect_column(spark_df: Any) -> list[Any]:
    """The values of a one-column Spark DataFrame, arrays as lists."""
    return [_plain(row[0]) for row in spark_df.collect()]


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


class SparkModelWrapper:
    """pyfunc's ``predict(pandas_df, params)`` for a Spark ML model (see the module docstring)."""

    def __init__(self, spark: Any, spark_model: Any, signature: Any = None) -> None:
        self.spark = spark
        self.spark_model = spark_model
        self.signature = signature

    def get_raw_model(self) -> Any:
        """The Spark ML ``PipelineModel``."""
        return self.spark_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """The ``prediction`` column of the model's ``transform`` of ``data``, as a list."""
        if params:
            _logger.warning("The Spark ML flavor takes no params; ignoring %s.", sorted(params))
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        signature = self.signature
        try:
            spark_df = to_spark_frame(self.spark, self.spark_model, data, signature.inputs if signature else None)
            return collect_column(predictions(self.spark_model, spark_df, signature.outputs if signature else None))
        except (PySparkException, Py4JJavaError) as exc:  # on the driver: Spark's message, not its stack traces
            raise InvalidInputError(f"The Spark ML model could not score the input: {error_summary(exc)}") from None


def infer_spark_signature(spark: Any, model: Any, example: Any) -> Any:
    """The signature MLflow infers for a Spark ML model from a pandas input example: the
    example's columns, and one unnamed output column (a Spark ML vector for vector output)."""
    import pandas as pd
    from pyspark.ml.linalg import VectorUDT

    from mlcask.models.signature import ModelSignature
    from mlcask.types.inference import infer_schema

    frame = example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)
    model = model.copy()  # choosing the prediction column may change the last stage
    out = prediction_output(model, to_spark_frame(spark, model, frame, None))
    if isinstance(out.schema[PREDICTION_COLUMN].dataType, VectorUDT):
        output_type: Any = SparkMLVector()
    else:
        output_type = infer_schema(pd.Series(collect_column(out))).inputs[0].type
    return ModelSignature(inputs=infer_schema(frame), outputs=Schema([ColSpec(output_type)]))
