"""``mlcask experiments``: MLflow's ``mlflow experiments`` verbs (search, get, create, rename, delete,
restore, csv) with the same options and messages, plus ``list``."""

from __future__ import annotations

from typing import Any

import click

from mlcask.cli_output import (
    Group,
    all_pages,
    echo_json,
    option_errors,
    output_option,
    table,
    when,
)
from mlcask.cli_store import open_client, reading_client, tracking_uri_option
from mlcask.entities import LifecycleStage, ViewType

__all__ = ["experiment_options", "experiments", "resolve_experiment_id"]

_HINT = "`mlcask experiments list` shows the experiments of this store"
VIEWS = {"active_only": ViewType.ACTIVE_ONLY, "deleted_only": ViewType.DELETED_ONLY, "all": ViewType.ALL}
view_option = click.option("--view", "-v", type=click.Choice(list(VIEWS), case_sensitive=False),
                           default="active_only", show_default=True, help="Which lifecycle stages to show.")
experiment_id_option = click.option("--experiment-id", "-x", required=True, help="The experiment's id.")


def resolve_experiment_id(client: Any, experiment_id: str | None, experiment_name: str | None) -> str | None:
    """The id of the experiment given by --experiment-id or --experiment-name (None if neither), checked."""
    if experiment_id is not None and experiment_name is not None:
        raise click.UsageError("--experiment-id and --experiment-name are mutually exclusive: give one of them.")
    if experiment_name is not None:
        found = client.get_experiment_by_name(experiment_name)
        if found is None:
            raise click.BadParameter(f"no experiment is named {experiment_name!r} in {client.tracking_uri}; {_HINT}.",
                                     param_hint="'--experiment-name'")
        return found.experiment_id
    if experiment_id is None:
        return None
    return _experiment(client, experiment_id).experiment_id


def _experiment(client: Any, experiment_id: str, option: str = "--experiment-id") -> Any:
    with option_errors(option, f"no experiment has id {experiment_id!r} in {client.tracking_uri}; {_HINT}."):
        return client.get_experiment(experiment_id)


def experiment_options(default_help: str) -> Any:
    """``--experiment-id`` and ``--experiment-name`` (mutually exclusive), for commands reading one experiment."""

    def decorate(command: Any) -> Any:
        command = click.option("--experiment-name", default=None,
                               help=f"The experiment's name (or give --experiment-id). {default_help}")(command)
        return click.option("--experiment-id", default=None,
                            help=f"The experiment's id (or give --experiment-name). {default_help}")(command)

    return decorate


def _message(experiment: Any) -> dict[str, Any]:
    from mlcask.entities.messages import experiment_to_message

    return experiment_to_message(experiment)


@click.group(cls=Group)
def experiments() -> None:
    """List, search, create, rename, delete and restore experiments."""


@experiments.command("list")
@tracking_uri_option
@click.option("--view", type=click.Choice(["active", "deleted", "all"]), default="active", show_default=True)
@output_option
def experiments_list(tracking_uri: str | None, view: str, output: str) -> None:
    """List experiments."""
    view_type = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}[view]
    client = reading_client(tracking_uri)
    found = all_pages(lambda token: client.search_experiments(view_type=view_type, page_token=token))
    if output == "json":
        echo_json([_message(e) for e in found])
        return
    click.echo(table(["ID", "NAME", "STAGE", "CREATED", "ARTIFACT LOCATION"],
                     [[e.experiment_id, e.name, e.lifecycle_stage, when(e.creation_time), e.artifact_location]
                      for e in found]))


@experiments.command("search")
@tracking_uri_option
@view_option
@click.option("--max-results", type=click.IntRange(min=0), default=None,
              help="Most experiments to return. [default: all]")
@output_option
def experiments_search(tracking_uri: str | None, view: str, max_results: int | None, output: str) -> None:
    """Search for experiments in the tracking store."""
    client = reading_client(tracking_uri)
    view_type = VIEWS[view.lower()]
    found = [] if max_results == 0 else all_pages(
        lambda token: client.search_experiments(view_type=view_type, page_token=token), max_results)
    if output == "json":
        echo_json([_message(e) for e in found])
        return
    rows = sorted(([e.experiment_id, e.name, e.artifact_location] for e in found),
                  key=lambda row: (int(row[0]) if row[0].isdigit() else 0, row[0]))
    click.echo(table(["EXPERIMENT ID", "NAME", "ARTIFACT LOCATION"], rows))


@experiments.command("get")
@tracking_uri_option
@click.option("--experiment-id", "-x", default=None, help="The experiment's id.")
@click.option("--experiment-name", "-n", default=None, help="The experiment's name.")
@output_option
def experiments_get(tracking_uri: str | None, experiment_id: str | None, experiment_name: str | None,
                    output: str) -> None:
    """Show an experiment, by id or by name."""
    if (experiment_id is None) == (experiment_name is None):
        raise click.UsageError("Must specify exactly one of --experiment-id or --experiment-name.")
    client = reading_client(tracking_uri)
    found = client.get_experiment(resolve_experiment_id(client, experiment_id, experiment_name))
    if output == "json":  # what `mlflow experiments get --output json` prints
        echo_json({"artifact_location": found.artifact_location, "creation_time": found.creation_time,
                   "experiment_id": found.experiment_id, "last_update_time": found.last_update_time,
                   "lifecycle_stage": found.lifecycle_stage, "name": found.name, "tags": dict(found.tags)})
        return
    click.echo(table(["FIELD", "VALUE"], [
        ["experiment_id", found.experiment_id], ["name", found.name],
        ["artifact_location", found.artifact_location], ["lifecycle_stage", found.lifecycle_stage],
        ["created", when(found.creation_time)], ["updated", when(found.last_update_time)],
        ["tags", ", ".join(f"{k}={v}" for k, v in sorted(found.tags.items()))]]))


@experiments.command("create")
@tracking_uri_option
@click.option("--experiment-name", "-n", required=True)
@click.option("--artifact-location", "-l", default=None,
              help="Where the experiment's runs keep artifacts ($artifact_location/$run_id/artifacts); default: "
                   "under the store's artifact root.")
def experiments_create(tracking_uri: str | None, experiment_name: str, artifact_location: str | None) -> None:
    """Create an experiment and print its id."""
    client = open_client(tracking_uri)
    with option_errors("--experiment-name"):
        experiment_id = client.create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {experiment_id}")


@experiments.command("rename")
@tracking_uri_option
@experiment_id_option
@click.option("--new-name", required=True)
def experiments_rename(tracking_uri: str | None, experiment_id: str, new_name: str) -> None:
    """Rename an active experiment."""
    client = reading_client(tracking_uri)
    found = _experiment(client, experiment_id)
    if found.lifecycle_stage != LifecycleStage.ACTIVE:
        raise click.BadParameter(f"experiment {experiment_id} ('{found.name}') is deleted: only an active "
                                 f"experiment can be renamed (`mlcask experiments restore -x {experiment_id}` "
                                 "first).", param_hint="'--experiment-id'")
    with option_errors("--new-name"):
        client.rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment with id {experiment_id} has been renamed to '{new_name}'.")


def _change_lifecycle(tracking_uri: str | None, experiment_id: str, change: str, message: str) -> None:
    """``delete`` or ``restore`` (``change``) the experiment, then print ``message``."""
    client = reading_client(tracking_uri)
    _experiment(client, experiment_id)
    with option_errors("--experiment-id"):
        getattr(client, f"{change}_experiment")(experiment_id)
    click.echo(message)


@experiments.command("delete")
@tracking_uri_option
@experiment_id_option
def experiments_delete(tracking_uri: str | None, experiment_id: str) -> None:
    """Mark an active experiment and its runs deleted (restore undoes it; `mlcask gc` removes them for good)."""
    _change_lifecycle(tracking_uri, experiment_id, "delete", f"Experiment with ID {experiment_id} has been deleted.")


@experiments.command("restore")
@tracking_uri_option
@experiment_id_option
def experiments_restore(tracking_uri: str | None, experiment_id: str) -> None:
    """Restore a deleted experiment and its runs."""
    _change_lifecycle(tracking_uri, experiment_id, "restore", f"Experiment with id {experiment_id} has been restored.")


@experiments.command("csv")
@tracking_uri_option
@experiment_id_option
@click.option("--filename", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="The CSV file to write; default: print it.")
def experiments_csv(tracking_uri: str | None, experiment_id: str, filename: str | None) -> None:
    """Write the active runs of an experiment as CSV (the table `mlflow.search_runs` returns)."""
    from mlcask.tracking.fluent import runs_to_frame

    client = reading_client(tracking_uri)
    _experiment(client, experiment_id)
    runs = all_pages(lambda token: client.search_runs([experiment_id], "", ViewType.ACTIVE_ONLY, 1000, None, token))
    frame = runs_to_frame(runs)
    if filename:
        frame.to_csv(filename, index=False)
        click.echo(f"Experiment with ID {experiment_id} has been exported as a CSV to file: {filename}.")
    else:
        click.echo(frame.to_csv(index=False), nl=False)
