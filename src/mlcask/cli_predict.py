"""``mlcask models predict``: score a CSV, JSON or Parquet file with a model, locally, or files and
tables on Apache Spark with ``--spark`` (:mod:`mlcask.serving.spark_predict`)."""

from __future__ import annotations

import sys
from typing import Any

import click

from mlcask.cli_env import env_manager_option
from mlcask.cli_store import check_store_for, tracking_uri_option

DEFAULT_MASTER = "local[*]"  # mlcask.serving.spark_predict.DEFAULT_MASTER (not imported: it would load the module)


def _names(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Column names given comma-separated, the option repeated, or both."""
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _conf(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    conf = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE (such as spark.executor.memory=4g), got {value!r}.")
        conf[key.strip()] = setting
    return conf


def spark_options(command: Any) -> Any:
    """The options of ``models predict --spark``."""
    options = [
        click.option("--spark", is_flag=True,
                     help="Score on Apache Spark (pip install 'mlcask[spark]'; needs Java 17): Parquet or CSV "
                          "files, or a table, into a folder of Parquet files."),
        click.option("--spark-master", default=DEFAULT_MASTER, show_default=True, metavar="URL",
                     help="The Spark master: local[N], spark://host:7077, yarn, ..."),
        click.option("--spark-conf", multiple=True, callback=_conf, metavar="KEY=VALUE",
                     help="A Spark setting for the session (repeatable), such as spark.executor.memory=4g or a "
                          "catalog's settings for --input-table."),
        click.option("--input-table", metavar="NAME",
                     help="With --spark, score a table of the session's catalog ('db.table', or "
                          "'catalog.db.table') instead of --input-path."),
        click.option("--keep-columns", multiple=True, callback=_names, metavar="COLUMNS",
                     help="Input columns copied to the output before the predictions, such as ids "
                          "(comma-separated or repeated)."),
        click.option("--with-file-name", is_flag=True,
                     help="Add a 'file_name' column: the file each row comes from, relative to the input "
                          "folder (or the glob's folder)."),
        click.option("--with-row-number", is_flag=True,
                     help="Add a 'row_number' column: the row's position in its file, from 0 (the header "
                          "is not counted)."),
        click.option("--prediction-column", metavar="NAME",
                     help="The prediction column's name (default: the signature's output name, else "
                          "'prediction'); a model returning several columns keeps their names."),
        click.option("--partition-by", multiple=True, callback=_names, metavar="COLUMNS",
                     help="Output columns to partition the Parquet folder by (key=value sub-folders)."),
        click.option("--overwrite", is_flag=True,
                     help="Replace an existing output folder of Parquet files, once the new output is "
                          "complete (without it, an existing --output-path is an error)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def predict_on_spark(model_uri: str, input_path: str | None, output_path: str, content_type: str,
                     chunk_size: int, progress: bool, env_manager: str, tracking_uri: str | None, *,
                     spark_master: str, spark_conf: dict[str, str], input_table: str | None,
                     keep_columns: tuple[str, ...], with_file_name: bool, with_row_number: bool,
                     prediction_column: str | None, partition_by: tuple[str, ...], overwrite: bool) -> None:
    """``models predict --spark``: every check that needs no Spark first, then the session and the job."""
    from mlcask.exceptions import MlcaskException
    from mlcask.serving.spark_predict import prepare, run, start_session

    if input_path is None and input_table is None:
        raise click.UsageError("Missing option '--input-path' / '-i' (or --input-table with --spark).")
    try:
        from mlcask.environments import check_env_manager

        check_env_manager(env_manager)  # conda: refused before Spark starts
        check_store_for(model_uri, tracking_uri)  # scoring never creates a store
        if tracking_uri:
            from mlcask.tracking import fluent

            fluent.set_tracking_uri(tracking_uri)
        job = prepare(model_uri, output_path, input_path=input_path, input_table=input_table,
                      content_type=content_type, keep_columns=keep_columns, with_file_name=with_file_name,
                      with_row_number=with_row_number, prediction_column=prediction_column,
                      partition_by=partition_by, overwrite=overwrite, env_manager=env_manager)
        conf = {"spark.sql.execution.arrow.maxRecordsPerBatch": str(chunk_size), **spark_conf}
        spark = start_session(spark_master, conf)
        try:
            result = run(spark, job, progress=progress)
        finally:
            spark.stop()
    except MlcaskException as exc:
        raise click.ClickException(exc.cli_message) from None
    rate = result.rows / result.seconds if result.seconds > 0 else 0.0
    click.echo(f"Wrote {result.rows:,} predictions to {result.output} ({result.files} Parquet "
               f"file{'s' if result.files != 1 else ''}, {result.seconds:.2f}s, {rate:,.0f} rows/s).", err=True)


@click.command("predict")
@click.option("--model-uri", "-m", required=True,
              help="A path, runs:/<run_id>/<name>, models:/<model_id>, models:/<name>/<version> or "
                   "models:/<name>@<alias>.")
@click.option("--input-path", "-i",
              help="The file to score: .csv (with a header row), .json (a scoring payload as sent to "
                   "/invocations, or JSON Lines of records), .jsonl or .parquet. With --spark: a Parquet or "
                   "CSV file, a folder of them or a glob ('data/*.parquet', 'data/**/*.csv').")
@click.option("--output-path", "-o", default="-", show_default=True,
              help="Where to write the predictions: .csv, .json ({\"predictions\": [...]}), .jsonl or "
                   ".parquet; '-' writes JSON to stdout. With --spark: a folder of Parquet files to create.")
@click.option("--content-type", "-t", type=click.Choice(["auto", "csv", "json", "parquet"]), default="auto",
              show_default=True, help="The input's format; 'auto' goes by the file extension.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Rows scored at a time: memory use is bounded by it, not by the file size (with "
                   "--spark: rows per Arrow batch, one predict call each).")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr (it is off anyway when "
                                                   "stderr is not a terminal).")
@spark_options
@tracking_uri_option
@env_manager_option(help="Where the model runs: 'local', this environment (warning about the model's pins it "
                         "violates); 'uv' or 'virtualenv', the model's own environment (python_env.yaml, "
                         "requirements.txt; cached under $MLCASK_HOME/envs): the whole command runs again in it, "
                         "or with --spark each Spark Python worker scores through the model's server in it. "
                         "'conda' is not supported.")
def predict(model_uri: str, input_path: str | None, output_path: str, content_type: str, chunk_size: int,
            no_progress: bool, env_manager: str, tracking_uri: str | None, **spark: Any) -> None:
    """Score a file with a model, chunk by chunk, enforcing its signature as the server does.

    The output is written to a temporary file beside OUTPUT_PATH and renamed over it at
    the end, so a failed run leaves no half-written file.

    With --spark, files or a table are scored on Apache Spark into a folder of Parquet
    files, written under a temporary name beside OUTPUT_PATH and renamed into place at
    the end.
    """
    from mlcask.exceptions import MlcaskException
    from mlcask.serving.batch_predict import check_input, output_format, predict_file

    show_progress = not no_progress and sys.stderr.isatty()
    if spark.pop("spark"):
        predict_on_spark(model_uri, input_path, output_path, content_type, chunk_size, show_progress, env_manager,
                         tracking_uri, **spark)
        return
    used = [f"--{name.replace('_', '-')}" for name, value in spark.items()
            if value and not (name == "spark_master" and value == DEFAULT_MASTER)]
    if used:
        raise click.UsageError(f"{', '.join(used)} appl{'ies' if len(used) == 1 else 'y'} only with --spark.")
    if input_path is None:
        raise click.UsageError("Missing option '--input-path' / '-i'.")
    try:
        # Check the cheap things (formats, the input file) before loading the model.
        output_format(output_path)
        check_input(input_path, content_type, chunk_size)
        check_store_for(model_uri, tracking_uri)  # scoring never creates a store
        if tracking_uri:
            from mlcask.tracking import fluent

            fluent.set_tracking_uri(tracking_uri)
        from mlcask.pyfunc import load_model

        model = load_model(model_uri)
        result = predict_file(model, input_path, output_path, content_type=content_type,
                              chunk_size=chunk_size, progress=show_progress)
    except MlcaskException as exc:
        raise click.ClickException(exc.cli_message) from None
    if output_path != "-":
        rate = result.rows / result.seconds if result.seconds > 0 else 0.0
        click.echo(f"Wrote {result.rows:,} predictions to {output_path} "
                   f"({result.chunks} chunk{'s' if result.chunks != 1 else ''}, {result.seconds:.2f}s, "
                   f"{rate:,.0f} rows/s).", err=True)
