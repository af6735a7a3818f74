"""A pure-Python Spark ML transformer: a model holding it names a class outside Spark ML."""

from __future__ import annotations

from pyspark.ml import Transformer
from pyspark.ml.param.shared import HasInputCol, HasOutputCol
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable


class AddOne(Transformer, HasInputCol, HasOutputCol, DefaultParamsReadable, DefaultParamsWritable):
    """``outputCol = inputCol + 1``."""

    def __init__(self, inputCol: str = "a", outputCol: str = "a1") -> None:
        super().__init__()
        self._set(inputCol=inputCol, outputCol=outputCol)

    def _transform(self, dataset):
        from pyspark.sql import functions

        return dataset.withColumn(self.getOutputCol(), functions.col(self.getInputCol()) + 1.0)
