"""Score Parquet or CSV files, or a catalog table, on Apache Spark: what ``mlcask models predict --spark`` runs.

The model scores through :func:`mlcask.pyfunc.spark_udf` (so each Python worker loads and
verifies it as any load does, and its signature is enforced per Arrow batch), and the
output is a folder of Parquet files (``part-*.parquet``, optionally Hive-partitioned by
``partition_by`` columns) holding, in this order: the ``keep_columns`` of the input, the
source file (``file_name``, relative to the input folder or the glob's fixed prefix, as
Azure ML batch endpoints name the file each prediction comes from) and the row's position
in that file (``row_number``, from 0, header not counted: the index ``pandas.read_csv``
or ``pandas.read_parquet`` gives it), then the prediction: one column (named after the
signature's single output, else ``prediction``) or, for a model returning several
columns, one column each.

Everything that needs no data is checked before Spark runs a job (:func:`prepare`, then
the schema checks of :mod:`mlcask.serving.spark_input`). The output is written to a
hidden folder beside the destination (``.<name>.mlcask-<token>.part``) and renamed into
place when the job has succeeded: a failed run leaves nothing behind. An existing
destination is an error unless ``overwrite`` is given, and even then it is replaced only
if it holds nothing but Parquet output (Parquet files, ``key=value`` folders, Spark's
``_SUCCESS`` and ``.crc`` files), and only once the new output is complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mlcask.exceptions import MlcaskException
from mlcask.serving.batch_predict import BatchPredictError
from mlcask.serving.spark_input import (
    CSV,
    InputFiles,
    check_keep_columns,
    csv_header,
    csv_schema,
    find_input_files,
    model_columns,
)

FILE_NAME_COLUMN = "file_name"
ROW_NUMBER_COLUMN = "row_number"
DEFAULT_PREDICTION_COLUMN = "prediction"
DEFAULT_MASTER = "local[*]"
SPARK_LOG_LEVEL_ENV = "MLCASK_SPARK_LOG_LEVEL"  # the session's log level (default FATAL)
_PYSPARK_ERROR_LOGGERS = ("DataFrameQueryContextLogger", "SQLQueryContextLogger")
_PARQUET_SUFFIXES = (".parquet", ".pq")
# One input file per Spark partition (no file split, none packed with another), so a row's
# position in its partition is its position in its file: how CSV rows get their number.
_ONE_FILE_PER_PARTITION = {"spark.sql.files.maxPartitionBytes": str(1 << 50),
                           "spark.sql.files.openCostInBytes": str(1 << 50)}
_PARTITION_ROW_BITS = (1 << 33) - 1  # monotonically_increasing_id: partition index << 33 | row in partition


@dataclass
class SparkResult:
    rows: int
    files: int
    seconds: float
    output: str
    columns: list[str] = field(default_factory=list)


@dataclass
class SparkPredictJob:
    """A checked request: the input found, the output path free (or replaceable), the model's metadata read."""

    model_uri: str
    output: Path
    model: Any  # mlcask.models.Model (its MLmodel file)
    source: InputFiles | None = None
    table: str | None = None
    keep_columns: list[str] = field(default_factory=list)
    with_file_name: bool = False
    with_row_number: bool = False
    prediction_column: str | None = None
    partition_by: list[str] = field(default_factory=list)
    overwrite: bool = False
    env_manager: str = "local"

    @property
    def where(self) -> str:
        return f"table '{self.table}'" if self.table is not None else self.source.description  # type: ignore[union-attr]


# -- before Spark ------------------------------------------------------------------------------
def _is_output_folder(folder: Path) -> str | None:
    """None when ``folder`` holds only Parquet output, else the first entry that is not."""
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if entry.is_symlink():
            return str(entry)
        if entry.is_dir():
            inner = _is_output_folder(entry) if ("=" in name or name.startswith((".", "_"))) else str(entry)
            if inner is not None:
                return inner
        elif not (name.startswith((".", "_")) or name.endswith(_PARQUET_SUFFIXES)):
            return str(entry)
    return None


def _check_replaceable(output: Path) -> None:
    if output.is_symlink() or not output.is_dir():
        raise BatchPredictError(f"Output path '{output}' exists and is not a folder; --spark writes a folder of "
                                "Parquet files and --overwrite replaces only such a folder.")
    stranger = _is_output_folder(output)
    if stranger is not None:
        raise BatchPredictError(f"Output folder '{output}' holds '{stranger}', which is not Parquet output; "
                                "--overwrite replaces only a folder of Parquet files (a previous output). "
                                "Choose another --output-path or remove the folder yourself.")


def check_output(output_path: str, *, overwrite: bool = False) -> Path:
    """The local output folder, after checking it can be written (and is free, or replaceable with ``overwrite``)."""
    if output_path in ("", "-"):
        raise BatchPredictError("--spark writes a folder of Parquet files: pass --output-path FOLDER.")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]+:", output_path) and not output_path.startswith("file:"):
        raise BatchPredictError(f"Output path '{output_path}' is not local; --spark writes to a local folder "
                                "(or a file: URI), which it renames into place at the end.")
    output = Path(os.path.expanduser(output_path.removeprefix("file://").removeprefix("file:"))).absolute()
    parent = output.parent
    if not parent.is_dir():
        raise BatchPredictError(f"Output folder '{output}' cannot be created: its parent '{parent}' does not exist.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BatchPredictError(f"Output folder '{output}' cannot be created: its parent '{parent}' is not "
                                "writable (permission denied).")
    if output.exists() or output.is_symlink():
        if not overwrite:
            raise BatchPredictError(f"Output folder '{output}' already exists; pass --overwrite to replace it "
                                    "(it is replaced only once the new output is complete).")
        _check_replaceable(output)
    return output


def _check_overlap(output: Path, source: InputFiles) -> None:
    from mlcask.utils.paths import path_relation, refuse_overlap

    if source.is_folder:
        refuse_overlap(output, source.root, "Output path", "the input folder '{folder}'",
                       "Write the predictions outside the folder being scored.")
        return
    real_output = os.path.realpath(output)
    for file in source.files:
        if path_relation(os.path.realpath(file), real_output) in ("is", "is inside"):
            raise BatchPredictError(f"Output path '{output}' is refused: it holds input file '{file}'. Write the "
                                    "predictions elsewhere.")


def prepare(model_uri: str, output_path: str, *, input_path: str | None = None, input_table: str | None = None,
            content_type: str = "auto", keep_columns: Sequence[str] = (), with_file_name: bool = False,
            with_row_number: bool = False, prediction_column: str | None = None,
            partition_by: Sequence[str] = (), overwrite: bool = False, env_manager: str = "local") -> SparkPredictJob:
    """Check a ``--spark`` request without Spark: the output path, the input files, the model's MLmodel file."""
    from mlcask.models.model import PYFUNC_FLAVOR, Model

    if (input_path is None) == (input_table is None):
        raise BatchPredictError("Pass either --input-path (files) or --input-table (a Spark catalog table), not "
                                f"{'both' if input_path is not None else 'neither'}.")
    if input_table is not None and not input_table.strip():
        raise BatchPredictError("--input-table needs a table name, such as 'sales.customers'.")
    output = check_output(output_path, overwrite=overwrite)
    source = None
    if input_path is not None:
        source = find_input_files(input_path, content_type)
        _check_overlap(output, source)
    model = Model.load(model_uri)
    if PYFUNC_FLAVOR not in model.flavors:  # before Spark starts; spark_udf's load says the same, later
        raise BatchPredictError(f'Model does not have the "{PYFUNC_FLAVOR}" flavor: the model at \'{model_uri}\' '
                                f"cannot be scored as a pyfunc model; its flavors are {sorted(model.flavors)}.")
    return SparkPredictJob(model_uri, output, model, source, input_table, list(keep_columns), with_file_name,
                           with_row_number, prediction_column, list(partition_by), overwrite, env_manager)


# -- Spark -------------------------------------------------------------------------------------
def start_session(master: str = DEFAULT_MASTER, conf: dict[str, str] | None = None,
                  app_name: str = "mlcask models predict") -> Any:
    """A SparkSession on ``master`` whose Python workers run this interpreter (unless PYSPARK_PYTHON says)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BatchPredictError("--spark needs pyspark, which is not installed: pip install 'mlcask[spark]' "
                                "(Spark also needs Java 17).") from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    builder = builder.config("spark.ui.showConsoleProgress", "false")  # mlcask draws its own bar
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - no Java, a bad master URL, a port taken
        raise BatchPredictError(f"Cannot start Spark on master '{master}': {_first_line(exc)}") from None
    # Failures are reported once, by mlcask, with their cause: not as the executors' logged stack traces.
    session.sparkContext.setLogLevel(os.environ.get(SPARK_LOG_LEVEL_ENV, "FATAL"))
    return session


@contextlib.contextmanager
def _quiet_pyspark_errors() -> Iterator[None]:
    """pyspark 4 logs each analysis error with its JVM stack trace as it raises it; mlcask reports them itself."""
    loggers = [logging.getLogger(name) for name in _PYSPARK_ERROR_LOGGERS]
    saved = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in zip(loggers, saved):
            logger.disabled = disabled


@contextlib.contextmanager
def _session_conf(spark: Any, values: dict[str, str]) -> Iterator[None]:
    saved = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _read(spark: Any, job: SparkPredictJob) -> Any:
    if job.table is not None:
        try:
            return spark.read.table(job.table)
        except Exception as exc:  # noqa: BLE001 - AnalysisException: no such table
            raise BatchPredictError(f"Cannot read table '{job.table}': {_first_line(exc)}") from None
    source = job.source
    assert source is not None
    reader = spark.read.option("basePath", str(source.root))
    if source.format == CSV:
        header = csv_header(source.files)
        schema = job.model.get_input_schema()
        reader = reader.option("header", "true").option("mode", "FAILFAST")
        if schema is None or not schema.has_input_names():
            reader = reader.option("inferSchema", "true")  # no signature: guess types (one pass over the files)
        else:
            reader = reader.schema(csv_schema(header, schema))
        return reader.csv(list(source.spark_paths))
    return reader.parquet(*source.spark_paths)


def _quoted(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _metadata_fields(df: Any, job: SparkPredictJob) -> list[str]:
    try:
        return [f.name for f in df.select("_metadata").schema["_metadata"].dataType.fields]
    except Exception:  # noqa: BLE001 - AnalysisException: not a file-based source
        flags = " and ".join(f for f, on in (("--with-file-name", job.with_file_name),
                                             ("--with-row-number", job.with_row_number)) if on)
        raise BatchPredictError(f"{flags} need{'s' if ' and ' not in flags else ''} file input; "
                                f"the input {job.where} is not read from files.") from None


def _source_columns(df: Any, job: SparkPredictJob) -> tuple[list[Any], bool]:
    """The file name and row number columns asked for, and whether rows are numbered by partition."""
    from pyspark.sql import functions as F

    if not (job.with_file_name or job.with_row_number):
        return [], False
    fields = _metadata_fields(df, job)
    columns, by_partition = [], False
    if job.with_file_name:
        path = F.url_decode(F.regexp_replace(F.col("_metadata.file_path"), r"\+", "%2B"))
        if job.source is not None:
            prefix = f"file:{job.source.root.as_posix().rstrip('/')}/"
            path = F.when(path.startswith(prefix), F.substring(path, len(prefix) + 1, 1 << 30)).otherwise(path)
        columns.append(path.alias(FILE_NAME_COLUMN))
    if job.with_row_number:
        if "row_index" in fields:  # Parquet: Spark knows each row's index in its file, however files are split
            columns.append(F.col("_metadata.row_index").alias(ROW_NUMBER_COLUMN))
        else:
            by_partition = True
            row = F.monotonically_increasing_id().bitwiseAND(F.lit(_PARTITION_ROW_BITS))
            columns.append(row.alias(ROW_NUMBER_COLUMN))
    return columns, by_partition


def _prediction_name(job: SparkPredictJob) -> str:
    if job.prediction_column:
        return job.prediction_column
    schema = job.model.get_output_schema()
    if schema is not None and schema.has_input_names() and len(schema.inputs) == 1:
        return str(schema.inputs[0].name)
    return DEFAULT_PREDICTION_COLUMN


def scored_frame(spark: Any, df: Any, job: SparkPredictJob) -> tuple[Any, bool]:
    """The output DataFrame (not computed yet) and whether it needs one input file per partition."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    columns = [f.name for f in df.schema.fields]
    check_keep_columns(columns, job.keep_columns, job.where)
    features = model_columns(df.schema, job.model.get_input_schema(), job.where)
    if not features:
        raise BatchPredictError(f"The input {job.where} has no column to score.")
    sources, by_partition = _source_columns(df, job)
    from mlcask.pyfunc import spark_udf

    predict = spark_udf(spark, job.model_uri, env_manager=job.env_manager)
    signature = job.model.get_input_schema()
    if signature is not None and signature.has_input_names() and features == list(signature.input_names()):
        prediction = predict(*[_quoted(name) for name in features])  # named by position: no struct to unpack
    else:  # optional columns absent, or no names to go by: a struct's fields keep the input's names
        prediction = predict(F.struct(*[_quoted(name) for name in features]))
    frame = df.select(*[_quoted(name) for name in job.keep_columns], *sources, prediction.alias("__mlcask_p"))
    result_type = frame.schema["__mlcask_p"].dataType
    if isinstance(result_type, T.StructType):
        outputs = [(F.col("__mlcask_p")[f.name], f.name) for f in result_type.fields]
    else:
        outputs = [(F.col("__mlcask_p"), _prediction_name(job))]
    names = [*job.keep_columns, *(c for c, on in ((FILE_NAME_COLUMN, job.with_file_name),
                                                  (ROW_NUMBER_COLUMN, job.with_row_number)) if on),
             *(name for _, name in outputs)]
    _check_output_columns(names, job)
    kept = [_quoted(name) for name in names[:len(names) - len(outputs)]]
    return frame.select(*kept, *(column.alias(name) for column, name in outputs)), by_partition


def _check_output_columns(names: list[str], job: SparkPredictJob) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BatchPredictError(f"The output would have column {repeated[0]!r} twice (output columns: {names}); "
                                "leave it out of --keep-columns or name the prediction with --prediction-column.")
    unknown = [name for name in job.partition_by if name not in names]
    if unknown:
        raise BatchPredictError(f"--partition-by names {unknown}, which the output does not have; the output has "
                                f"columns {names}.")
    if job.partition_by and len(job.partition_by) == len(names):
        raise BatchPredictError("--partition-by cannot name every output column: the Parquet files would hold no "
                                "column.")


# -- the job -----------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_PYTHON_ERROR = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): ?(.*)$")


def job_failure(exc: BaseException) -> str:
    """What went wrong in a failed Spark job, in one sentence: the Python worker's own exception when
    there is one (not the executor's stack trace), else the first line of Spark's message."""
    text = str(exc)
    if "Traceback (most recent call last):" in text:
        last = text.rsplit("Traceback (most recent call last):", 1)[1]
        for line in last.splitlines():
            match = _PYTHON_ERROR.match(line)
            if match:
                kind, message = match.groups()
                if kind.startswith("mlcask.") or kind.startswith("mlflow."):
                    return message
                return f"The model's predict raised {kind.rsplit('.', 1)[-1]}: {message}"
    causes = _java_causes(exc)
    return ": ".join(causes) if causes else _first_line(exc)


def _java_causes(exc: BaseException) -> list[str]:
    """The first line of each message in the JVM exception's cause chain, without the SQLSTATEs."""
    throwable = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    messages: list[str] = []
    for _ in range(10):
        if throwable is None:
            break
        try:
            text = str(throwable.getMessage() or "").strip()
            throwable = throwable.getCause()
        except Exception:  # noqa: BLE001 - the gateway is gone: keep what was read
            break
        line = re.sub(r"\s*SQLSTATE: \w+\.?$", "", text.splitlines()[0] if text else "").rstrip(" .")
        if line and line not in messages and not line.startswith("Job aborted due to stage failure"):
            messages.append(line)
    return messages


def _publish(tmp: Path, output: Path, overwrite: bool) -> None:
    if not (output.exists() or output.is_symlink()):
        os.rename(tmp, output)
        return
    if not overwrite:
        raise BatchPredictError(f"Output folder '{output}' appeared while scoring; the new output is discarded "
                                "(pass --overwrite to replace a folder).")
    _check_replaceable(output)
    old = output.with_name(f".{output.name}.mlcask-{uuid.uuid4().hex[:12]}.old")
    os.rename(output, old)
    try:
        os.rename(tmp, output)
    except OSError:
        os.rename(old, output)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _parquet_files(folder: Path) -> int:
    return sum(1 for _, _, files in os.walk(folder) for name in files if name.endswith(_PARQUET_SUFFIXES))


def run(spark: Any, job: SparkPredictJob, *, progress: bool = False, stream: IO[str] | None = None) -> SparkResult:
    """Score ``job`` on ``spark`` and publish the output folder; raises :class:`BatchPredictError` leaving nothing."""
    started = time.perf_counter()
    with _quiet_pyspark_errors():
        return _run(spark, job, started, progress, stream)


def _run(spark: Any, job: SparkPredictJob, started: float, progress: bool, stream: IO[str] | None) -> SparkResult:
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from mlcask.serving.spark_progress import SparkProgress

    frame, by_partition = scored_frame(spark, _read(spark, job), job)
    observation = Observation("mlcask_predict")
    frame = frame.observe(observation, F.count(F.lit(1)).alias("rows"))
    tmp = job.output.with_name(f".{job.output.name}.mlcask-{uuid.uuid4().hex[:12]}.part")
    writer = frame.write.mode("errorifexists")
    if job.partition_by:
        writer = writer.partitionBy(*job.partition_by)
    conf = _ONE_FILE_PER_PARTITION if by_partition else {}
    try:
        with _session_conf(spark, conf), SparkProgress(spark.sparkContext, f"mlcask models predict -> {job.output}",
                                                       enabled=progress, stream=stream):
            try:
                writer.parquet(str(tmp))
            except MlcaskException:
                raise
            except Exception as exc:  # noqa: BLE001 - Py4J/Spark errors: say what failed, not where in the JVM
                raise BatchPredictError(f"Scoring on Spark failed: {job_failure(exc)} (input {job.where}; nothing "
                                        f"was written to '{job.output}').") from None
        rows = int(observation.get["rows"])
        files = _parquet_files(tmp)
        _publish(tmp, job.output, job.overwrite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SparkResult(rows, files, time.perf_counter() - started, str(job.output), list(frame.columns))


def predict_spark(spark: Any, model_uri: str, output_path: str, *, progress: bool = False,
                  stream: IO[str] | None = None, **options: Any) -> SparkResult:
    """Score files or a table with the model at ``model_uri`` on ``spark`` into the Parquet folder ``output_path``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session to run on.
    model_uri : str
        A path, ``runs:/``, ``models:/`` or ``file:`` URI of a model with a ``python_function`` flavor.
    output_path : str
        The folder to create (see the module's docstring for its columns and the overwrite rules).
    progress : bool
        Draw a bar of the job's tasks on ``stream`` (stderr by default).
    **options
        :func:`prepare`'s keyword arguments: ``input_path`` or ``input_table``, ``content_type``,
        ``keep_columns``, ``with_file_name``, ``with_row_number``, ``prediction_column``,
        ``partition_by``, ``overwrite``, ``env_manager``.

    Returns
    -------
    SparkResult
        Rows and Parquet files written, seconds taken, the output folder and its columns.
    """
    return run(spark, prepare(model_uri, output_path, **options), progress=progress, stream=stream)
