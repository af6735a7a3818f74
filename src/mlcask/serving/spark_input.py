"""What ``mlcask models predict --spark`` reads: input files found and checked on the driver.

An input is a Parquet or CSV file, a folder of them (walked recursively; Hive-style
``key=value`` sub-folders become columns, as Spark reads them), a glob (``*``, ``?``,
``[...]``, ``**`` for any depth) matching such files, or a Spark catalog table
(``--input-table``). Names starting with ``.`` or ``_`` are skipped, as Spark and Hadoop
skip them (``_SUCCESS``, ``.crc`` files). Every check that needs no data is made here,
before Spark starts or runs a job: the path matches files, they are of one format, CSV
files share one header; then, against the Spark schema, the model's required columns are
there with types its signature accepts and ``--keep-columns`` names existing columns.
"""

from __future__ import annotations

import csv
import glob
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcask.serving.batch_predict import BatchPredictError
from mlcask.types import DataType, Schema

PARQUET, CSV = "parquet", "csv"
INPUT_FORMATS = (PARQUET, CSV)
_EXTENSIONS = {".parquet": PARQUET, ".pq": PARQUET, ".csv": CSV}
_SHOWN_FILES = 3
_GLOB_CHARACTERS = frozenset("*?[")

# Spark types (by class name) each scalar signature type accepts: the conversions mlcask's
# enforcement makes (integers to any number, values checked; floats only wider; decimals to
# floats; strings parsed as datetimes), so what passes here fails at the executors only for
# data-dependent reasons (a value out of range, a missing value in an integer column).
_INTEGERS = ("ByteType", "ShortType", "IntegerType", "LongType")
ACCEPTED_SPARK_TYPES: dict[DataType, tuple[str, ...]] = {
    DataType.boolean: ("BooleanType",),
    DataType.integer: ("IntegerType", "ByteType", "ShortType", "LongType"),
    DataType.long: ("LongType", "ByteType", "ShortType", "IntegerType"),
    DataType.float: ("FloatType", *_INTEGERS, "DecimalType"),
    DataType.double: ("DoubleType", "FloatType", *_INTEGERS, "DecimalType"),
    DataType.string: ("StringType", "CharType", "VarcharType"),
    DataType.binary: ("BinaryType", "StringType"),
    DataType.datetime: ("TimestampType", "TimestampNTZType", "DateType", "StringType"),
}


@dataclass(frozen=True)
class InputFiles:
    """Data files found for an ``--input-path``.

    ``spark_paths`` is what Spark reads (every file found, with ``root`` as Spark's
    ``basePath``, so ``key=value`` folders below it become columns); file names in the
    output are relative to ``root``.
    """

    given: str
    format: str
    files: tuple[Path, ...]
    spark_paths: tuple[str, ...]
    root: Path
    is_folder: bool

    @property
    def description(self) -> str:
        count = len(self.files)
        return f"'{self.given}' ({count} {self.format} file{'s' if count != 1 else ''})"


def _local_path(given: str) -> Path:
    parsed = urllib.parse.urlparse(given)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise BatchPredictError(f"Input URI '{given}' names host '{parsed.netloc}'; only local files are read.")
        return Path(urllib.parse.unquote(parsed.path))
    if len(parsed.scheme) > 1:
        raise BatchPredictError(
            f"Input path '{given}' has scheme '{parsed.scheme}:'; --spark reads local paths and file: URIs. "
            "Data in remote storage is read as a table of your Spark catalog (--input-table NAME).")
    return Path(os.path.expanduser(given))


def _skipped(name: str) -> bool:
    return name.startswith((".", "_"))


def _listed(paths: list[Path]) -> str:
    shown = ", ".join(f"'{p}'" for p in paths[:_SHOWN_FILES])
    return shown + (f" and {len(paths) - _SHOWN_FILES} more" if len(paths) > _SHOWN_FILES else "")


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for top, dirs, files in os.walk(folder, onerror=_raise):
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        found.extend(Path(top, name) for name in sorted(files) if not _skipped(name))
    return found


def _raise(error: OSError) -> None:
    raise BatchPredictError(f"Cannot list input folder '{error.filename}': {error.strerror}.")


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = [part for part in _leading(parts)]
    return Path(*fixed) if fixed else Path(".")


def _leading(parts: tuple[str, ...]) -> list[str]:
    fixed: list[str] = []
    for part in parts[:-1]:
        if _GLOB_CHARACTERS & set(part):
            break
        fixed.append(part)
    return fixed


def _formats(files: list[Path], content_type: str, given: str) -> str:
    by_format: dict[str, list[Path]] = {}
    unknown: list[Path] = []
    for path in files:
        fmt = _EXTENSIONS.get(path.suffix.lower())
        if fmt is None and content_type == "auto":
            unknown.append(path)
        else:
            by_format.setdefault(fmt or content_type, []).append(path)
    if unknown:
        raise BatchPredictError(
            f"Cannot tell the format of {_listed(unknown)} in input '{given}' from the extension; name Parquet "
            "files .parquet and CSV files .csv, pass a glob that selects the data files, or pass "
            "--content-type csv|parquet.")
    if len(by_format) > 1 or (content_type != "auto" and content_type not in by_format):
        parts = [f"{len(paths)} {fmt} file{'s' if len(paths) != 1 else ''} ({_listed(paths)})"
                 for fmt, paths in sorted(by_format.items())]
        wanted = "" if content_type == "auto" else f" with --content-type {content_type}"
        raise BatchPredictError(
            f"Input '{given}' mixes formats{wanted}: {' and '.join(parts)}. Score one format at a time "
            "(a glob such as 'folder/*.parquet' selects one).")
    return next(iter(by_format))


def find_input_files(input_path: str, content_type: str = "auto") -> InputFiles:
    """The data files at ``input_path`` (a file, folder or glob), all of one format; raises if there are none."""
    if content_type not in ("auto", *INPUT_FORMATS):
        raise BatchPredictError(f"--spark reads Parquet and CSV input, not '{content_type}'; JSON is scored on "
                                "one machine (drop --spark).")
    path = _local_path(input_path)
    is_folder = False
    if _GLOB_CHARACTERS & set(str(path)):
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True)
                       if os.path.isfile(p) and not _skipped(os.path.basename(p)))
        if not files:
            raise BatchPredictError(f"Input path '{input_path}' matches no file.")
        root, spark_paths = _glob_root(str(path)), tuple(str(f.resolve()) for f in files)
    elif path.is_dir():
        files, root, is_folder = _walk(path), path, True
        if not files:
            raise BatchPredictError(f"Input folder '{input_path}' holds no Parquet or CSV file.")
        spark_paths = tuple(str(f.resolve()) for f in files)
    elif path.is_file():
        files, root, spark_paths = [path], path.parent, (str(path.resolve()),)
    else:
        raise BatchPredictError(f"Input path '{input_path}' does not exist.")
    for file in files:
        if not os.access(file, os.R_OK):
            raise BatchPredictError(f"Input file '{file}' is not readable (permission denied).")
    fmt = _formats(files, content_type, input_path)
    return InputFiles(input_path, fmt, tuple(files), spark_paths, root.resolve(), is_folder)


def csv_header(files: tuple[Path, ...]) -> list[str]:
    """The header row every CSV file starts with; raises naming the files when they differ."""
    first: list[str] | None = None
    for path in files:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
        if not header:
            raise BatchPredictError(f"CSV file '{path}' is empty: a header row naming the columns is expected.")
        if first is None:
            first, first_path = header, path
        elif header != first:
            raise BatchPredictError(f"CSV files have different headers: '{first_path}' has {first}, "
                                    f"'{path}' has {header}; score files of one layout together.")
    assert first is not None
    return first


# -- checks against the Spark schema -------------------------------------------------------------
def spark_type_name(data_type: Any) -> str:
    """A Spark type as messages name it: ``DoubleType``, ``ArrayType(DoubleType)``."""
    name = type(data_type).__name__
    element = getattr(data_type, "elementType", None)
    return f"{name}({spark_type_name(element)})" if element is not None else name


def check_keep_columns(columns: list[str], keep: list[str], where: str) -> None:
    missing = [name for name in keep if name not in columns]
    if missing:
        raise BatchPredictError(f"--keep-columns names {_names(missing)} that the input {where} does not have; "
                                f"the input has columns {columns}.")
    repeated = sorted({name for name in keep if keep.count(name) > 1})
    if repeated:
        raise BatchPredictError(f"--keep-columns names {_names(repeated)} more than once.")


def _names(names: list[str]) -> str:
    return (f"column '{names[0]}'" if len(names) == 1 else "columns " + ", ".join(f"'{n}'" for n in names))


def model_columns(spark_schema: Any, input_schema: Schema | None, where: str) -> list[str]:
    """The input columns passed to the model, after checking them against its signature.

    Without a signature, or with unnamed inputs, every column goes to the model (as the
    single-machine ``models predict`` passes the whole file); with named inputs, the
    signature's columns that the input has (a missing required one is an error).
    """
    columns = [field.name for field in spark_schema.fields]
    if input_schema is None or not input_schema.has_input_names():
        return columns
    present = set(columns)
    missing = [name for name in input_schema.required_input_names() if name not in present]
    if missing:
        raise BatchPredictError(f"Model is missing inputs {missing}: the input {where} has no such column. "
                                f"The input has columns {columns}.")
    if not input_schema.is_tensor_spec():
        _check_types(spark_schema, input_schema, where)
    return [name for name in input_schema.input_names() if name in present]


def _check_types(spark_schema: Any, input_schema: Schema, where: str) -> None:
    types = {field.name: field.dataType for field in spark_schema.fields}
    problems: list[str] = []
    for spec in input_schema.inputs:
        if spec.name not in types or not isinstance(spec.type, DataType):
            continue  # absent optional columns; Array/Object/Map/Any columns are checked by the model's enforcement
        given = types[spec.name]
        accepted = ACCEPTED_SPARK_TYPES[spec.type]
        if type(given).__name__ not in accepted:
            problems.append(f"Incompatible input types for column {spec.name}. Can not safely convert "
                            f"{spark_type_name(given)} to {accepted[0]}. Column '{spec.name}': the signature "
                            f"declares {spec.type.name}, which takes Spark {', '.join(accepted)}; the input has "
                            f"{spark_type_name(given)}")
    if problems:
        raise BatchPredictError("; ".join(problems) + f" (in the input {where}).")


def csv_schema(header: list[str], input_schema: Schema | None) -> Any:
    """The Spark schema CSV files are read with: each signature column typed as the signature declares
    (so a value that does not parse fails the job instead of becoming null), every other column a string."""
    from pyspark.sql import types as T

    from mlcask.pyfunc.spark_types import spark_type_of

    declared: dict[str, Any] = {}
    if input_schema is not None and input_schema.has_input_names() and not input_schema.is_tensor_spec():
        declared = {spec.name: spec.type for spec in input_schema.inputs}

    def spark_type(name: str) -> Any:
        column_type = declared.get(name)
        if isinstance(column_type, DataType) and column_type not in (DataType.string, DataType.binary):
            return spark_type_of(column_type)
        return T.StringType()  # text as written (ids keep their leading zeros); CSV holds no binary

    return T.StructType([T.StructField(name, spark_type(name), True) for name in header])
