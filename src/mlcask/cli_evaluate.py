"""``mlcask models evaluate``: evaluate a model on a CSV, JSON or Parquet file, log the metrics and
artifacts into a run, print the metrics, and write the Responsible-AI report to a file."""

from __future__ import annotations

import json
from typing import Any

import click

from mlcask.cli_signing import allow_pickle_option
from mlcask.cli_store import check_store_for, tracking_uri_option

_READ_ALL = 1 << 40  # one chunk: the whole file


def _names(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Column names given comma-separated, the option repeated, or both."""
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _config(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]!r}: {exc.strerror}.") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg} at position {exc.pos}): {text[:80]!r}.") from None
    if not isinstance(config, dict):
        raise click.BadParameter(f"expected a JSON object such as '{{\"pos_label\": 1}}', got {text[:80]!r}.")
    return config


def read_table(path: str, content_type: str = "auto") -> Any:
    """The whole file as one DataFrame (CSV, Parquet, JSON records / JSON Lines / a dataframe payload),
    read by the readers ``models predict`` uses."""
    import pandas as pd

    from mlcask.serving.batch_predict import BatchPredictError, read_chunks

    chunks, _ = read_chunks(path, content_type, chunk_size=_READ_ALL)
    frames = [chunk.data for chunk in chunks]
    if not frames:
        raise BatchPredictError(f"Input file '{path}' holds no rows.")
    if not all(isinstance(f, pd.DataFrame) for f in frames):
        raise BatchPredictError(f"'{path}' is not a table: evaluation data must be rows of named columns "
                                "(CSV, Parquet, JSON records or a dataframe_split/dataframe_records payload).")
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _echo_metrics(metrics: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({k: float(v) for k, v in metrics.items()}, indent=2, sort_keys=True))
        return
    width = max((len(k) for k in metrics), default=0)
    for key in sorted(metrics):
        value = float(metrics[key])
        shown = f"{value:.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
        click.echo(f"{key.ljust(width)}  {shown}")


def feature_columns(model_uri: str, data: Any, options: dict[str, Any]) -> list[str] | None:
    """The model's feature columns in the file: ``--features``, else its signature's inputs, else the
    columns its native model was fitted on; None (every other column, as MLflow) when it says nothing."""
    if options.get("features"):
        return list(options["features"])
    from mlcask.evaluation.model_access import resolve_model

    names = resolve_model(model_uri).input_names() or []
    if names and all(n in data.columns for n in names) and options["targets"] not in names:
        return names
    return None


def _run_evaluation(model_uri: str, data: Any, options: dict[str, Any]) -> Any:
    from mlcask.evaluation.evaluator import evaluate
    from mlcask.tracking import fluent

    if options["experiment_name"] or options["experiment_id"]:
        fluent.set_experiment(experiment_name=options["experiment_name"], experiment_id=options["experiment_id"])
    kwargs = {"targets": options["targets"], "model_type": options["model_type"],
              "evaluator_config": options["config"], "feature_names": feature_columns(model_uri, data, options)}
    if options["run_id"]:
        with fluent.start_run(run_id=options["run_id"]):
            return evaluate(model_uri, data, **kwargs)
    return evaluate(model_uri, data, **kwargs)


@click.command("evaluate")
@click.option("--model-uri", "-m", required=True,
              help="A path, runs:/<run_id>/<name>, models:/<model_id>, models:/<name>/<version> or models:/<name>@<alias>.")
@click.option("--data", "-d", "data_path", required=True, type=click.Path(dir_okay=False),
              help="The evaluation data: a CSV, Parquet or JSON file (features and the targets column).")
@click.option("--content-type", "-t", type=click.Choice(["auto", "csv", "json", "parquet"]), default="auto",
              show_default=True, help="The data file's format (auto: from its extension).")
@click.option("--targets", required=True, metavar="COLUMN", help="The column holding the true labels or values.")
@click.option("--model-type", required=True, type=click.Choice(["classifier", "regressor"]))
@click.option("--features", multiple=True, callback=_names, metavar="COLUMNS",
              help="The model's feature columns (default: its signature's inputs, else every other column).")
@click.option("--sensitive-feature", "sensitive", multiple=True, callback=_names, metavar="COLUMN",
              help="A sensitive feature for per-group metrics and disparities (repeatable or comma-separated).")
@click.option("--evaluator-config", "config", callback=_config, metavar="JSON",
              help="evaluator_config as a JSON object (or @file.json), e.g. '{\"pos_label\": 1}'.")
@click.option("--output", "-o", "report_path", type=click.Path(dir_okay=False),
              help="Write the Responsible-AI report (HTML) to this file.")
@click.option("--experiment-name", default=None, help="The experiment of the new run (default: the active one).")
@click.option("--experiment-id", default=None, help="The experiment id of the new run.")
@click.option("--run-id", default=None, help="Log into this existing run instead of a new one.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@tracking_uri_option
@allow_pickle_option
def evaluate_command(model_uri: str, data_path: str, content_type: str, targets: str, model_type: str,
                     features: tuple[str, ...], sensitive: tuple[str, ...], config: dict[str, Any], report_path: str | None,
                     experiment_name: str | None, experiment_id: str | None, run_id: str | None, as_json: bool,
                     tracking_uri: str | None) -> None:
    """Evaluate a model on a data file: MLflow's metrics and plots, logged into a run.

    With --sensitive-feature, also per-group metrics, their disparity, the error cohorts and the
    data balance, and the Responsible-AI report (logged, and written to --output when given).
    """
    from mlcask.exceptions import MlcaskException

    if experiment_name and experiment_id:
        raise click.UsageError("Give --experiment-name or --experiment-id, not both.")
    if sensitive:
        config = {**config, "sensitive_features": list(sensitive)}
    if report_path:
        config = {**config, "log_report": True}
    try:
        check_store_for(model_uri, tracking_uri)
        if tracking_uri:
            from mlcask.tracking import fluent

            fluent.set_tracking_uri(tracking_uri)
        data = read_table(data_path, content_type)
        result = _run_evaluation(model_uri, data, {
            "targets": targets, "model_type": model_type, "config": config, "experiment_name": experiment_name,
            "experiment_id": experiment_id, "run_id": run_id, "features": features})
        report = result.artifacts.get("responsible_ai_report")
        if report_path and report is not None:
            with open(report_path, "w", encoding="utf-8") as f:
                f.write(report.content)
    except MlcaskException as exc:
        raise click.ClickException(exc.cli_message) from None
    except (ValueError, TypeError, KeyError, OSError) as exc:  # from the model or a library: one line, no trace
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    _echo_metrics(result.metrics, as_json)
    click.echo(f"Logged to run {result.run_id}.", err=True)
    if report_path:
        click.echo(f"Wrote the report to {report_path}.", err=True)

