"""``mlcask models predict``: score a CSV, JSON or Parquet file with a model, locally."""

from __future__ import annotations

import sys

import click

from mlcask.cli_store import check_store_for, tracking_uri_option


@click.command("predict")
@click.option("--model-uri", "-m", required=True,
              help="A path, runs:/<run_id>/<name>, models:/<model_id>, models:/<name>/<version> or "
                   "models:/<name>@<alias>.")
@click.option("--input-path", "-i", required=True,
              help="The file to score: .csv (with a header row), .json (a scoring payload as sent to "
                   "/invocations, or JSON Lines of records), .jsonl or .parquet.")
@click.option("--output-path", "-o", default="-", show_default=True,
              help="Where to write the predictions: .csv, .json ({\"predictions\": [...]}), .jsonl or "
                   ".parquet; '-' writes JSON to stdout.")
@click.option("--content-type", "-t", type=click.Choice(["auto", "csv", "json", "parquet"]), default="auto",
              show_default=True, help="The input's format; 'auto' goes by the file extension.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Rows scored at a time: memory use is bounded by it, not by the file size.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr (it is off anyway when "
                                                   "stderr is not a terminal).")
@click.option("--env-manager", type=click.Choice(["local"]), default="local", hidden=True,
              help="Accepted for MLflow compatibility: mlcask scores in the current environment.")
@tracking_uri_option
def predict(model_uri: str, input_path: str, output_path: str, content_type: str, chunk_size: int,
            no_progress: bool, env_manager: str, tracking_uri: str | None) -> None:
    """Score a file with a model, chunk by chunk, enforcing its signature as the server does.

    The output is written to a temporary file beside OUTPUT_PATH and renamed over it at
    the end, so a failed run leaves no half-written file.
    """
    from mlcask.exceptions import MlcaskException
    from mlcask.serving.batch_predict import check_input, output_format, predict_file

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
        show_progress = not no_progress and sys.stderr.isatty()
        result = predict_file(model, input_path, output_path, content_type=content_type,
                              chunk_size=chunk_size, progress=show_progress)
    except MlcaskException as exc:
        raise click.ClickException(exc.cli_message) from None
    if output_path != "-":
        rate = result.rows / result.seconds if result.seconds > 0 else 0.0
        click.echo(f"Wrote {result.rows:,} predictions to {output_path} "
                   f"({result.chunks} chunk{'s' if result.chunks != 1 else ''}, {result.seconds:.2f}s, "
                   f"{rate:,.0f} rows/s).", err=True)
