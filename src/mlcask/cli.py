"""The ``mlcask`` command: experiments, runs, models and the database, from a terminal."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from typing import Any

import click

from mlcask.cli_signing import allow_pickle_option
from mlcask.cli_signing import register as register_signing_commands
from mlcask.cli_store import needs_store, open_client, reading_client, tracking_uri_option
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException


def _experiment_id(client: Any, experiment_id: str | None, experiment_name: str | None) -> str | None:
    """The id of the experiment given by --experiment-id or --experiment-name (None if neither), checked."""
    if experiment_id is not None and experiment_name is not None:
        raise click.UsageError("--experiment-id and --experiment-name are mutually exclusive: give one of them.")
    hint = "`mlcask experiments list` shows the experiments of this store"
    if experiment_name is not None:
        found = client.get_experiment_by_name(experiment_name)
        if found is None:
            raise click.BadParameter(f"no experiment is named {experiment_name!r} in {client.tracking_uri}; {hint}.",
                                     param_hint="'--experiment-name'")
        return found.experiment_id
    if experiment_id is None:
        return None
    try:
        return client.get_experiment(experiment_id).experiment_id
    except MlcaskException as exc:
        if exc.error_code == RESOURCE_DOES_NOT_EXIST:
            raise click.BadParameter(f"no experiment has id {experiment_id!r} in {client.tracking_uri}; {hint}.",
                                     param_hint="'--experiment-id'") from None
        raise click.BadParameter(exc.message, param_hint="'--experiment-id'") from None


def experiment_options(default_help: str) -> Any:
    """``--experiment-id`` and ``--experiment-name`` (mutually exclusive), for commands reading one experiment."""

    def decorate(command: Any) -> Any:
        command = click.option("--experiment-name", default=None,
                               help=f"The experiment's name (or give --experiment-id). {default_help}")(command)
        return click.option("--experiment-id", default=None,
                            help=f"The experiment's id (or give --experiment-name). {default_help}")(command)

    return decorate


def _time(ms: int | None) -> str:
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as an aligned text table with a header rule."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class _Group(click.Group):
    """Shows an mlcask error as one line and exit code 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlcaskException as exc:
            raise click.ClickException(exc.cli_message) from None


@click.group(cls=_Group)
@click.version_option(package_name="mlcask")
def cli() -> None:
    """mlcask: track, register, load and serve models in the MLflow format."""


# -- experiments ---------------------------------------------------------------------------
@cli.group(cls=_Group)
def experiments() -> None:
    """List and create experiments."""


@experiments.command("list")
@tracking_uri_option
@click.option("--view", type=click.Choice(["active", "deleted", "all"]), default="active")
def experiments_list(tracking_uri: str | None, view: str) -> None:
    """List experiments."""
    view_type = {"active": 1, "deleted": 2, "all": 3}[view]
    found = reading_client(tracking_uri).search_experiments(view_type=view_type)
    click.echo(table(["ID", "NAME", "STAGE", "CREATED", "ARTIFACT LOCATION"],
                     [[e.experiment_id, e.name, e.lifecycle_stage, _time(e.creation_time), e.artifact_location]
                      for e in found]))


@experiments.command("create")
@tracking_uri_option
@click.option("--experiment-name", "-n", required=True)
@click.option("--artifact-location", "-l", default=None)
def experiments_create(tracking_uri: str | None, experiment_name: str, artifact_location: str | None) -> None:
    """Create an experiment and print its id."""
    experiment_id = open_client(tracking_uri).create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {experiment_id}")


# -- runs ------------------------------------------------------------------------------------
@cli.group(cls=_Group)
def runs() -> None:
    """List and describe runs."""


@runs.command("list")
@tracking_uri_option
@experiment_options("Default: 0, the Default experiment.")
@click.option("--filter", "filter_string", default="", help="MLflow filter, e.g. \"metrics.acc > 0.9\".")
@click.option("--max-results", type=click.IntRange(min=1), default=100, show_default=True)
def runs_list(tracking_uri: str | None, experiment_id: str | None, experiment_name: str | None, filter_string: str,
              max_results: int) -> None:
    """List the runs of an experiment, newest first."""
    client = reading_client(tracking_uri)
    chosen = _experiment_id(client, experiment_id, experiment_name) or _experiment_id(client, "0", None)
    try:
        found = client.search_runs([chosen], filter_string, max_results=max_results)
    except MlcaskException as exc:
        raise click.BadParameter(exc.message, param_hint="'--filter'") from None
    click.echo(table(["RUN ID", "NAME", "STATUS", "STARTED", "METRICS"],
                     [[r.info.run_id, r.info.run_name, r.info.status, _time(r.info.start_time),
                       ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.data.metrics.items())[:4])]
                      for r in found]))


@runs.command("describe")
@tracking_uri_option
@click.option("--run-id", required=True)
def runs_describe(tracking_uri: str | None, run_id: str) -> None:
    """Show a run: info, params, metrics, tags and logged models."""
    client = reading_client(tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlcaskException as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            raise click.BadParameter(exc.message, param_hint="'--run-id'") from None
        raise click.BadParameter(f"no run has id {run_id!r} in {client.tracking_uri}; `mlcask runs list` shows the "
                                 "runs of an experiment.", param_hint="'--run-id'") from None
    info = run.info
    click.echo(table(["FIELD", "VALUE"], [
        ["run_id", info.run_id], ["name", info.run_name], ["experiment_id", info.experiment_id],
        ["status", info.status], ["started", _time(info.start_time)], ["ended", _time(info.end_time)],
        ["artifact_uri", info.artifact_uri],
    ]))
    for title, values in (("PARAM", run.data.params), ("METRIC", run.data.metrics), ("TAG", run.data.tags)):
        if values:
            click.echo("")
            click.echo(table([title, "VALUE"], sorted(values.items())))
    models = client.search_logged_models([info.experiment_id], f"source_run_id = '{run_id}'")
    if models:
        click.echo("")
        click.echo(table(["LOGGED MODEL", "NAME", "STATUS"], [[m.model_id, m.name, m.status] for m in models]))


# -- models ------------------------------------------------------------------------------------
@cli.group(cls=_Group)
def models() -> None:
    """Logged and registered models."""


@models.command("list")
@tracking_uri_option
@click.option("--registered", is_flag=True, help="List registered models instead of logged ones.")
@experiment_options("Default: the logged models of every experiment.")
def models_list(tracking_uri: str | None, registered: bool, experiment_id: str | None,
                experiment_name: str | None) -> None:
    """List logged models (or registered models with --registered)."""
    client = reading_client(tracking_uri)
    experiment_id = _experiment_id(client, experiment_id, experiment_name)
    if registered and experiment_id is not None:
        raise click.UsageError("--registered lists the registry, which is not per experiment: drop "
                               "--experiment-id/--experiment-name, or drop --registered for logged models.")
    if registered:
        found = client.search_registered_models(max_results=1000)
        click.echo(table(["NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"], [
            [m.name, max((int(v.version) for v in m.latest_versions), default="-"),
             ", ".join(f"{a}->v{v}" for a, v in sorted(m.aliases.items())), _time(m.last_updated_timestamp),
             (m.description or "")[:40]] for m in found]))
        return
    ids = [experiment_id] if experiment_id else [e.experiment_id for e in client.search_experiments()]
    found = client.search_logged_models(ids, max_results=1000)
    click.echo(table(["MODEL ID", "NAME", "STATUS", "RUN ID", "CREATED"],
                     [[m.model_id, m.name, m.status, m.source_run_id, _time(m.creation_timestamp)] for m in found]))


@models.command("describe")
@tracking_uri_option
@click.option("--model-uri", "-m", required=True, help="models:/<model_id>, models:/<name>/<version>, "
                                                        "models:/<name>@<alias>, runs:/<run_id>/<name> or a path.")
def models_describe(tracking_uri: str | None, model_uri: str) -> None:
    """Show a model: where it is, its flavors, signature and requirements."""
    from mlcask.models.model import Model
    from mlcask.models.uri import resolve_model_path
    from mlcask.tracking import fluent

    if needs_store(model_uri):
        reading_client(tracking_uri)
    if tracking_uri:
        fluent.set_tracking_uri(tracking_uri)
    try:
        path = resolve_model_path(model_uri)
    except InvalidArgumentError as exc:
        raise click.BadParameter(exc.message, param_hint="'--model-uri'") from None
    meta = Model.load(path)
    rows = [["uri", model_uri], ["path", str(path)], ["flavors", ", ".join(sorted(meta.flavors))],
            ["model_id", meta.model_id], ["run_id", meta.run_id], ["created", meta.utc_time_created],
            ["size", f"{meta.model_size_bytes} bytes" if meta.model_size_bytes else "-"]]
    click.echo(table(["FIELD", "VALUE"], rows))
    if meta.signature is not None:
        click.echo("")
        inputs = meta.signature.inputs
        click.echo(table(["INPUT", "TYPE", "REQUIRED"],
                         [[getattr(s, "name", None) or "-", json.dumps(s.to_dict().get("type")),
                           getattr(s, "required", True)] for s in inputs.inputs]))
    requirements = path / "requirements.txt"
    if requirements.is_file():
        click.echo("")
        click.echo("requirements: " + ", ".join(requirements.read_text().split()))



@models.command("serve")
@tracking_uri_option
@click.option("--model-uri", "-m", required=True, help="A path, runs:/<run_id>/<name>, models:/<model_id>, "
                                                        "models:/<name>/<version> or models:/<name>@<alias>.")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", "-p", type=int, default=5000, show_default=True)
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes; each loads the model once.")
@click.option("--timeout", "-t", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds a prediction may take before the request gets 504.")
@click.option("--max-batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Most rows merged from concurrent requests into one predict call.")
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Longest wait for more requests to join a batch.")
@click.option("--batching/--no-batching", default=None,
              help="Merge concurrent requests (default: on for sklearn, xgboost and lightgbm models).")
@click.option("--name", "model_name", default=None, help="The model's name in /v2/models/{name}.")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (a log line per request costs throughput).")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=None,
              help="The largest request body taken (413 over). [default: 50 MiB]")
@click.option("--max-decoded-bytes", type=click.IntRange(min=1), default=None,
              help="The most a Parquet body may decode to (413 over). [default: 4 x --max-body-bytes]")
@click.option("--body-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds a request body may take to arrive (408 after).")
@click.option("--max-header-bytes", type=click.IntRange(min=1024), default=None,
              help="The most request-header bytes taken (431 over). [default: 64 KiB]")
@allow_pickle_option
def models_serve(tracking_uri: str | None, model_uri: str, host: str, port: int, workers: int, timeout: float,
                 max_batch_size: int, max_wait_ms: float, batching: bool | None, model_name: str | None,
                 access_log: bool, max_body_bytes: int | None, max_decoded_bytes: int | None, body_timeout: float,
                 max_header_bytes: int | None) -> None:
    """Serve a model over HTTP: MLflow's /invocations, OIP v2 and /openapi.json."""
    import logging

    from mlcask.serving.app import SERVE_OPTIONS_ENV
    from mlcask.serving.server import run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

    if needs_store(model_uri):
        reading_client(tracking_uri)
    if tracking_uri:
        from mlcask.tracking import fluent

        fluent.set_tracking_uri(tracking_uri)
        os.environ["MLCASK_TRACKING_URI"] = tracking_uri
    options = dict(model_uri=model_uri, model_name=model_name, max_batch_size=max_batch_size,
                   max_wait_ms=max_wait_ms, batching=batching, timeout=timeout, max_decoded_bytes=max_decoded_bytes,
                   body_timeout=body_timeout)
    if max_body_bytes is not None:  # else the app's own default
        options["max_body_bytes"] = max_body_bytes
    limits = {"max_header_bytes": max_header_bytes} if max_header_bytes is not None else {}
    if workers > 1:
        os.environ[SERVE_OPTIONS_ENV] = json.dumps(options)
        run("mlcask.serving.app:app_from_env", factory=True, host=host, port=port, workers=workers,
            access_log=access_log, **limits)
        return
    from mlcask.serving import create_app

    uri = options.pop("model_uri")
    run(create_app(uri, **options), host=host, port=port, access_log=access_log, **limits)

from mlcask.cli_predict import predict as _predict_command  # noqa: E402
from mlcask.cli_server import server as _server_command  # noqa: E402
from mlcask.cli_ui import ui as _ui_command  # noqa: E402

models.add_command(allow_pickle_option(_predict_command))
cli.add_command(_server_command)
cli.add_command(_ui_command)
register_signing_commands(models, cli, tracking_uri_option)


# -- database ----------------------------------------------------------------------------------
@cli.group(cls=_Group)
def db() -> None:
    """The tracking database."""


@db.command("upgrade")
@click.argument("url")
def db_upgrade(url: str) -> None:
    """Bring the existing database at URL (a tracking URI) to the schema this mlcask uses (back it up first)."""
    from mlcask.tracking.store.db import HEAD_REVISION, upgrade
    from mlcask.tracking.stores import database_and_artifact_root

    database, _ = database_and_artifact_root(url)
    changed = upgrade(database)
    done = "upgraded to" if changed else "already at"
    click.echo(f"Database {database} is {done} the current schema (revision {HEAD_REVISION}).")


from mlcask.cli_import import db_import as _db_import_command  # noqa: E402

db.add_command(_db_import_command)


if __name__ == "__main__":  # pragma: no cover
    cli()
