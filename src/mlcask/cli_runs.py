"""``mlcask runs``: MLflow's ``mlflow runs`` verbs (list, describe, delete, restore) with its options
and messages; ``list`` and ``describe`` print tables, or MLflow's JSON with ``--output json``."""

from __future__ import annotations

from typing import Any

import click

from mlcask.cli_experiments import VIEWS, experiment_options, resolve_experiment_id, view_option
from mlcask.cli_output import Group, all_pages, echo_json, option_errors, output_option, table, when
from mlcask.cli_store import reading_client, tracking_uri_option
from mlcask.entities import LifecycleStage
from mlcask.exceptions import MlcaskException

__all__ = ["get_run_or_fail", "runs"]

run_id_option = click.option("--run-id", required=True, help="The run's id.")


def get_run_or_fail(client: Any, run_id: str, option: str = "--run-id") -> Any:
    """The run ``run_id``; an unknown id is a usage error naming ``option``."""
    with option_errors(option, f"no run has id {run_id!r} in {client.tracking_uri}; `mlcask runs list` shows the "
                               "runs of an experiment."):
        return client.get_run(run_id)


def run_dictionary(run: Any) -> dict[str, Any]:
    """What ``mlflow runs describe`` prints: info, data (metrics, params, tags as objects), inputs, outputs."""
    from mlcask.entities.messages import run_inputs_to_message, run_outputs_to_message

    info = run.info
    inputs = run_inputs_to_message(run.inputs)
    outputs = run_outputs_to_message(run.outputs)
    return {
        "info": {"artifact_uri": info.artifact_uri, "end_time": info.end_time, "experiment_id": info.experiment_id,
                 "lifecycle_stage": info.lifecycle_stage, "run_id": info.run_id, "run_name": info.run_name,
                 "start_time": info.start_time, "status": info.status, "user_id": info.user_id},
        "data": {"metrics": dict(run.data.metrics), "params": dict(run.data.params), "tags": dict(run.data.tags)},
        "inputs": {"model_inputs": inputs.get("model_inputs", []), "dataset_inputs": inputs.get("dataset_inputs", [])},
        "outputs": {"model_outputs": outputs.get("model_outputs", [])},
    }


@click.group(cls=Group)
def runs() -> None:
    """List, describe, delete and restore runs."""


@runs.command("list")
@tracking_uri_option
@experiment_options("Default: 0, the Default experiment.")
@view_option
@click.option("--filter", "filter_string", default="", help="MLflow filter, e.g. \"metrics.acc > 0.9\".")
@click.option("--max-results", type=click.IntRange(min=1), default=100, show_default=True)
@output_option
def runs_list(tracking_uri: str | None, experiment_id: str | None, experiment_name: str | None, view: str,
              filter_string: str, max_results: int, output: str) -> None:
    """List the runs of an experiment, newest first."""
    from mlcask.entities.messages import run_to_message

    client = reading_client(tracking_uri)
    chosen = resolve_experiment_id(client, experiment_id, experiment_name) or resolve_experiment_id(client, "0", None)
    try:
        found = all_pages(lambda token: client.search_runs([chosen], filter_string, VIEWS[view.lower()],
                                                           min(max_results, 1000), None, token), max_results)
    except MlcaskException as exc:
        raise click.BadParameter(exc.message, param_hint="'--filter'") from None
    if output == "json":
        echo_json([run_to_message(r) for r in found])
        return
    rows = [[r.info.run_id, r.info.run_name, r.info.status, when(r.info.start_time),
             ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.data.metrics.items())[:4])] for r in found]
    headers = ["RUN ID", "NAME", "STATUS", "STARTED", "METRICS"]
    if view.lower() != "active_only":
        headers.insert(3, "STAGE")
        for row, run in zip(rows, found, strict=True):
            row.insert(3, run.info.lifecycle_stage)
    click.echo(table(headers, rows))


@runs.command("describe")
@tracking_uri_option
@run_id_option
@output_option
def runs_describe(tracking_uri: str | None, run_id: str, output: str) -> None:
    """Show a run: info, params, metrics, tags and logged models (--output json: as `mlflow runs describe`)."""
    client = reading_client(tracking_uri)
    run = get_run_or_fail(client, run_id)
    if output == "json":
        echo_json(run_dictionary(run))
        return
    info = run.info
    click.echo(table(["FIELD", "VALUE"], [
        ["run_id", info.run_id], ["name", info.run_name], ["experiment_id", info.experiment_id],
        ["status", info.status], ["lifecycle_stage", info.lifecycle_stage], ["started", when(info.start_time)],
        ["ended", when(info.end_time)], ["artifact_uri", info.artifact_uri],
    ]))
    for title, values in (("PARAM", run.data.params), ("METRIC", run.data.metrics), ("TAG", run.data.tags)):
        if values:
            click.echo("")
            click.echo(table([title, "VALUE"], sorted(values.items())))
    models = client.search_logged_models([info.experiment_id], f"source_run_id = '{run_id}'")
    if models:
        click.echo("")
        click.echo(table(["LOGGED MODEL", "NAME", "STATUS"], [[m.model_id, m.name, m.status] for m in models]))


@runs.command("delete")
@tracking_uri_option
@run_id_option
def runs_delete(tracking_uri: str | None, run_id: str) -> None:
    """Mark a run deleted (`mlcask runs restore` undoes it; `mlcask gc` removes it for good)."""
    client = reading_client(tracking_uri)
    get_run_or_fail(client, run_id)
    client.delete_run(run_id)
    click.echo(f"Run with ID {run_id} has been deleted.")


@runs.command("restore")
@tracking_uri_option
@run_id_option
def runs_restore(tracking_uri: str | None, run_id: str) -> None:
    """Restore a deleted run."""
    client = reading_client(tracking_uri)
    run = get_run_or_fail(client, run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise click.BadParameter(
            f"run {run_id} is in the deleted experiment {experiment.experiment_id} ('{experiment.name}'): restore "
            f"the experiment instead (`mlcask experiments restore -x {experiment.experiment_id}`).",
            param_hint="'--run-id'")
    client.restore_run(run_id)
    click.echo(f"Run with id {run_id} has been restored.")
