"""``mlcask.pyfunc.spark_udf``: a model as a Spark pandas UDF, for batch scoring on Spark.

The driver resolves the model URI to a local folder, loads the model once (so a broken,
untrusted or non-pyfunc model fails there, with the load's own message), works out the
result type and checks the params. The UDF is an iterator pandas UDF: each Python worker
loads the model once (:mod:`mlcask.pyfunc.spark_cache`), then for each Arrow batch builds
one DataFrame from the batch's columns, enforces the signature once and predicts, and
converts the predictions column-wise (:mod:`mlcask.pyfunc.spark_results`). With pyspark >= 4.2
and a primitive result type it is an iterator Arrow UDF instead, which builds the DataFrame
from the Arrow batch in one conversion (:mod:`mlcask.pyfunc.spark_arrow`); the model sees
the same DataFrame either way.

This module imports pandas; pyspark only when :func:`spark_udf` is called.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Tuple, Union  # noqa: UP035 (pandas_udf reads these type hints)

import pandas as pd

from mlcask.exceptions import INVALID_PARAMETER_VALUE, InvalidInputError, MlcaskException
from mlcask.models.enforcement import enforce_params, enforce_schema
from mlcask.models.home import HOME_ENV
from mlcask.models.signing import SIGNING_KEY_FILE_ENV, TRUSTED_KEYS_ENV
from mlcask.models.trust import ALLOW_PICKLE_ENV, REQUIRE_SIGNATURE_ENV
from mlcask.models.uri import resolve_model_path
from mlcask.pyfunc.loading import load_model
from mlcask.pyfunc.spark_arrow import arrow_frame, arrow_udf_available, arrow_values, struct_frame
from mlcask.pyfunc.spark_cache import cached_model, shares_driver_filesystem, ship_model, shipped_folder
from mlcask.pyfunc.spark_env import ServedEnvironment, serve_in_environment
from mlcask.pyfunc.spark_results import PRIMITIVE_NUMPY_TYPES, to_spark_values
from mlcask.pyfunc.spark_types import infer_result_type, parse_result_type

_logger = logging.getLogger(__name__)

ENV_MANAGERS = ("local", "conda", "virtualenv", "uv")
# The settings a load is verified under, passed from the driver to the workers so that the
# workers' load follows the same trust rules as the driver's (secrets are not passed).
_TRUST_ENV = (ALLOW_PICKLE_ENV, REQUIRE_SIGNATURE_ENV, TRUSTED_KEYS_ENV, SIGNING_KEY_FILE_ENV, HOME_ENV,
              "MLFLOW_DISABLE_SCHEMA_DETAILS")


@dataclass(frozen=True)
class _Scorer:
    """What a worker needs to score batches (pickled into the UDF; the model is not)."""

    folder: str | None  # the driver's folder, read directly in local mode
    archive: str | None  # else the archive shipped with SparkContext.addFile
    version: int  # the MLmodel file's mtime: a folder saved again is loaded again
    model_config: dict[str, Any] | None
    names: list[str] | None  # the signature's input names, None without a signature
    required: int
    result_type: Any
    params: dict[str, Any] | None
    env: dict[str, str] = field(default_factory=dict)
    arrow: bool = False  # an arrow_udf (batches of pyarrow arrays), else a pandas_udf
    timezone: str = "UTC"  # the session's, for timestamps in the Arrow path
    served: ServedEnvironment | None = None  # env_manager uv/virtualenv: the model's own environment

    def _load(self) -> Any:
        folder = self.folder if self.archive is None else shipped_folder(self.archive)
        return load_model(folder, model_config=self.model_config)

    def model(self) -> Any:
        config = json.dumps(self.model_config, sort_keys=True, default=str) if self.model_config else ""
        return cached_model((self.folder, self.archive, self.version, config), self._load)

    def predictor(self) -> Callable[[pd.DataFrame], Any]:
        """``predict(batch frame)``: the model loaded in this worker, or (``served``) its
        scoring server in the model's own environment, which enforces the signature itself."""
        if self.served is not None:
            folder = self.folder if self.archive is None else shipped_folder(self.archive)
            return self.served.predictor(Path(folder), self.env)
        model = self.model()
        meta = model.metadata
        schema = None if getattr(meta, "is_signature_from_type_hint", False) else meta.get_input_schema()
        if schema is None:
            return lambda data: model.predict(data, self.params)
        return lambda data: model.predict_enforced(_enforced(data, schema), self.params, strict_params=False)

    def score(self, batches: Iterator[Any]) -> Iterator[pd.Series | pd.DataFrame]:
        with _environment(self.env):
            predict = self.predictor()
            for batch in batches:
                columns = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
                if len(columns[0]) == 0:
                    continue
                values = to_spark_values(predict(self.frame(columns)), self.result_type)
                yield arrow_values(values) if self.arrow else values

    def frame(self, columns: tuple[Any, ...]) -> pd.DataFrame:
        """The model input for one batch: one struct's fields as a DataFrame, else one
        DataFrame of the columns, named from the signature ("0", "1", ... without one)."""
        if len(columns) == 1 and (isinstance(columns[0], pd.DataFrame) or _is_arrow_struct(columns[0])):
            return struct_frame(columns[0], self.timezone) if self.arrow else columns[0]
        names = self.names if self.names is not None else [str(i) for i in range(len(columns))]
        columns = columns[:len(names)]
        if len(columns) < self.required:
            raise _missing_columns(names, self.required, len(columns))
        if self.arrow:
            return arrow_frame(columns, names[:len(columns)], self.timezone)
        data = {name: column if isinstance(column, pd.Series) else _struct_values(column)
                for name, column in zip(names, columns)}
        return pd.DataFrame(data, copy=False)


def _is_arrow_struct(column: Any) -> bool:
    kind = getattr(column, "type", None)
    return kind is not None and type(kind).__name__ == "StructType" and type(kind).__module__.startswith("pyarrow")


def _struct_values(frame: pd.DataFrame) -> pd.Series:
    """A struct column among several columns: one dict per row (MLflow passes it so)."""
    return pd.Series(frame.to_dict(orient="records"), index=frame.index)


def _enforced(data: pd.DataFrame, schema: Any) -> Any:
    try:
        return enforce_schema(data, schema)
    except InvalidInputError as exc:  # one line: it ends up as the last line of Spark's error
        raise InvalidInputError("spark_udf: the input columns do not match the model's signature: "
                                + " ".join(exc.message.split()), error_code=INVALID_PARAMETER_VALUE) from None


def _missing_columns(names: list[str], required: int, given: int) -> MlcaskException:
    # MLflow's message, and the names of the missing columns.
    return MlcaskException(
        f"Model input is missing required columns. Expected {required} required input columns {names}, but the "
        f"model received only {given} unnamed input columns (Since the columns were passed unnamed they are expected "
        f"to be in the order specified by the schema). Missing: {names[given:required]}.",
        error_code=INVALID_PARAMETER_VALUE)


@contextmanager
def _environment(update: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``update`` applied, restored after (MLflow's ``extra_env``)."""
    saved = {key: os.environ.get(key) for key in update}
    os.environ.update(update)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check_env_manager(env_manager: str | None, prebuilt_env_uri: str | None) -> str:
    """``env_manager`` checked: "local" (for None too), "uv" or "virtualenv"."""
    if prebuilt_env_uri is not None:
        raise MlcaskException("'prebuilt_env_uri' is for Databricks Serverless and Databricks Connect, which "
                              "mlcask's spark_udf does not support; leave it unset.", error_code=INVALID_PARAMETER_VALUE)
    if env_manager is None or env_manager == "local":
        return "local"
    if env_manager not in ENV_MANAGERS:  # MLflow's message
        raise MlcaskException(f"Invalid value for `env_manager`: {env_manager}. Must be one of {list(ENV_MANAGERS)}",
                              error_code=INVALID_PARAMETER_VALUE)
    from mlcask.environments import check_env_manager

    return check_env_manager(env_manager)  # conda: not supported, saying what to use


def _result_type(result_type: Any, meta: Any) -> Any:
    if result_type is not None:
        return parse_result_type(result_type)
    output_schema = meta.get_output_schema()
    if output_schema is not None:
        return infer_result_type(output_schema)
    _logger.warning("No 'result_type' provided for spark_udf and the model does not have an output schema. "
                    "'result_type' is set to 'double' type.")
    return parse_result_type("double")


def _model_location(spark: Any, folder: Path) -> tuple[str | None, str | None]:
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        raise MlcaskException("spark_udf needs a classic SparkSession (with a SparkContext); Spark Connect "
                              "sessions are not supported yet.", error_code=INVALID_PARAMETER_VALUE)
    if shares_driver_filesystem(spark):
        return str(folder.resolve()), None
    return None, ship_model(spark, folder)


def spark_udf(spark: Any, model_uri: str | os.PathLike, result_type: Any = None, env_manager: str | None = "local",
              params: dict[str, Any] | None = None, extra_env: dict[str, str] | None = None,
              prebuilt_env_uri: str | None = None, model_config: dict[str, Any] | None = None) -> Any:
    """A Spark UDF that scores rows with the model at ``model_uri`` (MLflow's ``spark_udf``).

    Call it on columns, on one ``struct``, or on nothing (then on the columns named by the
    model's signature): ``df.withColumn("prediction", udf("a", "b"))``,
    ``udf(struct("a", "b"))``, ``udf()``. Columns passed one by one get the signature's input
    names, in order (``"0"``, ``"1"``, ... for a model without one); a struct's fields keep
    their names. A model with a tensor signature takes array columns, reshaped in C order
    to the tensor's shape. The model's signature is enforced on each batch, as
    :meth:`PyFuncModel.predict` enforces it.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session the UDF runs in (a classic session: local mode or a cluster).
    model_uri : str or path-like
        A local path, ``file:``, ``runs:/<run_id>/<path>`` or ``models:/...`` URI. It is
        resolved (downloaded) to a local folder on the driver, and the model is loaded there
        first, so that a missing, broken, untrusted or non-pyfunc model fails on the driver
        with the load's own message. Executors read that folder in local mode (``local``,
        ``local[N]``); elsewhere the folder is zipped and shipped with
        ``SparkContext.addFile``. Each Python worker loads the model once, verified as any
        :func:`mlcask.pyfunc.load_model` is; the driver's ``MLCASK_ALLOW_PICKLE``,
        ``MLCASK_REQUIRE_SIGNATURE``, ``MLCASK_TRUSTED_KEYS``, ``MLCASK_SIGNING_KEY_FILE`` and
        ``MLCASK_HOME`` apply in the workers too (a secret ``MLCASK_SIGNING_KEY`` is not
        passed: give it in ``extra_env`` if the workers need it).
    result_type : pyspark.sql.types.DataType or str, optional
        The UDF's type: a primitive (``int``, ``long``, ``float``, ``double``, ``string``,
        ``boolean``/``bool``; the leftmost prediction column of a compatible type), an
        array of those or nested arrays (all compatible columns), or a struct of such
        fields (the prediction columns of the fields' names; by position for a 2-D array),
        as a DataType or a DDL string (``"array<double>"``, ``"label long, score double"``).
        By default, inferred from the signature's output schema (a struct when the model has
        several outputs), or ``double`` for a model without one.
    env_manager : {"local", "uv", "virtualenv"}, default "local"
        ``"local"`` (or ``None``) scores in the workers' Python environment. ``"uv"`` and
        ``"virtualenv"`` score in the model's own environment (its ``python_env.yaml`` and
        ``requirements.txt``), built on the driver by
        :func:`mlcask.environments.prepare_environment` (cached under ``$MLCASK_HOME/envs``;
        a requirement that does not resolve fails here, naming it): each Python worker
        starts the model's scoring server in it once and sends it every batch
        (:mod:`mlcask.pyfunc.spark_env`). An executor that does not find the environment
        (a cluster's other machines) builds the same one itself. ``"conda"`` is refused
        (mlcask builds no conda environments). ``model_config`` is not supported with them.
    params : dict, optional
        Inference params, checked against the signature's params schema on the driver
        (defaults filled in; undeclared ones dropped with a warning, as MLflow) and passed to
        every ``predict``.
    extra_env : dict of str to str, optional
        Environment variables set in the Python workers while the UDF runs (and restored
        after), as MLflow's.
    prebuilt_env_uri : None
        MLflow's, for Databricks only; refused.
    model_config : dict, optional
        Passed to :func:`mlcask.pyfunc.load_model` on the driver and in the workers.

    Returns
    -------
    callable
        ``udf(*columns) -> pyspark.sql.Column``; its ``metadata`` is the model's
        :class:`~mlcask.models.Model`.

    Raises
    ------
    MlcaskException
        On the driver: a model that does not load, an unsupported ``result_type`` or
        ``env_manager``, an environment that cannot be built, or in which the model's
        server does not start, invalid ``params``, too few columns. In a task (the last line of
        Spark's error): input that does not match the signature, naming the column.

    Examples
    --------
    >>> from pyspark.sql.functions import struct
    >>> predict = mlcask.pyfunc.spark_udf(spark, "models:/churn/3")
    >>> scored = df.withColumn("prediction", predict(struct(*df.columns)))
    """
    env_manager = _check_env_manager(env_manager, prebuilt_env_uri)
    try:
        from pyspark.sql.functions import pandas_udf
        from pyspark.sql.types import StructType
    except ImportError:
        raise MlcaskException("spark_udf needs pyspark: pip install 'mlcask[spark]'") from None
    folder = resolve_model_path(model_uri)
    env = {key: os.environ[key] for key in _TRUST_ENV if key in os.environ}
    env.update(extra_env or {})
    prepared = None
    if env_manager == "local":
        meta = load_model(folder, model_config=model_config).metadata
    else:  # the model is checked by its own environment's scoring server, started once here
        with _environment(env):
            meta, prepared = serve_in_environment(folder, env_manager, model_config)
    result_type = _result_type(result_type, meta)
    params = enforce_params(params, meta.get_params_schema(), strict=False) or None
    schema = meta.get_input_schema()
    local_folder, archive = _model_location(spark, folder)
    # The Arrow path skips pyspark's per-column pandas conversion; it returns primitives only.
    arrow = type(result_type).__name__ in PRIMITIVE_NUMPY_TYPES and arrow_udf_available()
    scorer = _Scorer(local_folder, archive, (folder / "MLmodel").stat().st_mtime_ns, model_config,
                     [str(n) for n in schema.input_names()] if schema is not None else None,
                     len(schema.required_input_names()) if schema is not None else 0,
                     result_type, params, env, arrow, spark.conf.get("spark.sql.session.timeZone") or "UTC",
                     ServedEnvironment(env_manager, prepared, params) if prepared is not None else None)
    if arrow:
        import pyarrow as pa
        from pyspark.sql.functions import arrow_udf

        def score_arrow(batches: Iterator[Tuple[pa.Array, ...]]) -> Iterator[pa.Array]:
            return scorer.score(batches)

        score_arrow.__annotations__ = {"batches": Iterator[Tuple[pa.Array, ...]], "return": Iterator[pa.Array]}
        return _ModelUdf(arrow_udf(score_arrow, result_type), meta, scorer)
    if isinstance(result_type, StructType):
        def predict(batches: Iterator[Tuple[Union[pd.Series, pd.DataFrame], ...]]) -> Iterator[pd.DataFrame]:
            return scorer.score(batches)
    else:
        def predict(batches: Iterator[Tuple[Union[pd.Series, pd.DataFrame], ...]]) -> Iterator[pd.Series]:
            return scorer.score(batches)
    return _ModelUdf(pandas_udf(predict, result_type), meta, scorer)


class _ModelUdf:
    """The UDF spark_udf returns: checks the columns on the driver, then applies the pandas UDF."""

    def __init__(self, udf: Any, metadata: Any, scorer: _Scorer) -> None:
        self._udf = udf
        self.metadata = metadata
        self._scorer = scorer
        self.__name__ = "spark_udf"

    @property
    def returnType(self) -> Any:  # noqa: N802 (pyspark's UDF attribute)
        return self._scorer.result_type

    def __call__(self, *columns: Any) -> Any:
        names, required = self._scorer.names, self._scorer.required
        if not columns:
            columns = tuple(self._default_columns())
        elif len(columns) > 1 and names is not None and len(columns[:len(names)]) < required:
            raise _missing_columns(names, required, len(columns))
        return self._udf(*columns)

    def _default_columns(self) -> list[str]:
        # MLflow's messages.
        schema = self.metadata.get_input_schema()
        if schema is None or not schema.inputs:
            raise MlcaskException("Attempting to apply udf on zero columns because no column names were specified "
                                  "as arguments or inferred from the model signature.",
                                  error_code=INVALID_PARAMETER_VALUE)
        if schema.optional_input_names():
            raise MlcaskException("Cannot apply UDF without column names specified when model signature contains "
                                  "optional columns.", error_code=INVALID_PARAMETER_VALUE)
        if not schema.has_input_names():
            raise MlcaskException(f"Cannot apply udf because no column names specified. The udf expects "
                                  f"{len(schema.inputs)} columns with types: {schema.inputs}. Input column names "
                                  "could not be inferred from the model signature (column names not found).",
                                  error_code=INVALID_PARAMETER_VALUE)
        return [str(name) for name in schema.input_names()]
