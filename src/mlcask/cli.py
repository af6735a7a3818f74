"""The ``mlcask`` command: experiments, runs, artifacts, models, gc and the database, from a terminal.

One module per command group (``cli_experiments``, ``cli_runs``, ``cli_artifacts``, ``cli_gc``,
``cli_server``, ``cli_ui``, ``cli_predict``, ``cli_signing``, ``cli_import``, ``cli_env``,
``cli_docker``, ``cli_deployments``), registered here.
"""

from __future__ import annotations

import json
import os

import click

from mlcask.cli_artifacts import artifacts as _artifacts_group
from mlcask.cli_env import env_manager_option
from mlcask.cli_env import prepare_env as _prepare_env_command
from mlcask.cli_experiments import experiment_options, resolve_experiment_id
from mlcask.cli_experiments import experiments as _experiments_group
from mlcask.cli_gc import gc as _gc_command
from mlcask.cli_output import Group as _Group
from mlcask.cli_output import all_pages, echo_json, output_option, table, when
from mlcask.cli_runs import runs as _runs_group
from mlcask.cli_signing import allow_pickle_option
from mlcask.cli_signing import register as register_signing_commands
from mlcask.cli_store import needs_store, reading_client, tracking_uri_option
from mlcask.exceptions import InvalidArgumentError

__all__ = ["cli", "table"]


@click.group(cls=_Group)
@click.version_option(package_name="mlcask")
def cli() -> None:
    """mlcask: track, register, load and serve models in the MLflow format."""


cli.add_command(_experiments_group)
cli.add_command(_runs_group)
cli.add_command(_artifacts_group)
cli.add_command(_gc_command)


# -- models ------------------------------------------------------------------------------------
@cli.group(cls=_Group)
def models() -> None:
    """Logged and registered models."""


@models.command("list")
@tracking_uri_option
@click.option("--registered", is_flag=True, help="List registered models instead of logged ones.")
@experiment_options("Default: the logged models of every experiment.")
@output_option
def models_list(tracking_uri: str | None, registered: bool, experiment_id: str | None,
                experiment_name: str | None, output: str) -> None:
    """List logged models (or registered models with --registered)."""
    from mlcask.entities.messages import logged_model_to_message, registered_model_to_message

    client = reading_client(tracking_uri)
    experiment_id = resolve_experiment_id(client, experiment_id, experiment_name)
    if registered and experiment_id is not None:
        raise click.UsageError("--registered lists the registry, which is not per experiment: drop "
                               "--experiment-id/--experiment-name, or drop --registered for logged models.")
    if registered:
        found = all_pages(lambda token: client.search_registered_models(max_results=1000, page_token=token))
        if output == "json":
            echo_json([registered_model_to_message(m) for m in found])
            return
        click.echo(table(["NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"], [
            [m.name, max((int(v.version) for v in m.latest_versions), default="-"),
             ", ".join(f"{a}->v{v}" for a, v in sorted(m.aliases.items())), when(m.last_updated_timestamp),
             (m.description or "")[:40]] for m in found]))
        return
    ids = [experiment_id] if experiment_id else [e.experiment_id for e in all_pages(
        lambda token: client.search_experiments(page_token=token))]
    found = all_pages(lambda token: client.search_logged_models(ids, max_results=1000, page_token=token))
    if output == "json":
        echo_json([logged_model_to_message(m) for m in found])
        return
    click.echo(table(["MODEL ID", "NAME", "STATUS", "RUN ID", "CREATED"],
                     [[m.model_id, m.name, m.status, m.source_run_id, when(m.creation_timestamp)] for m in found]))


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
              help="0: a batch is the requests already queued; above 0, it also lets the event loop turn for "
                   "requests already received. Never a wait on the clock.")
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
@env_manager_option
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

from mlcask.cli_deployments import deployments as _deployments_group  # noqa: E402
from mlcask.cli_docker import build_docker_command as _build_docker_command  # noqa: E402
from mlcask.cli_docker import generate_dockerfile_command as _generate_dockerfile_command  # noqa: E402
from mlcask.cli_evaluate import evaluate_command as _evaluate_command  # noqa: E402
from mlcask.cli_predict import predict as _predict_command  # noqa: E402
from mlcask.cli_server import server as _server_command  # noqa: E402
from mlcask.cli_ui import ui as _ui_command  # noqa: E402

models.add_command(allow_pickle_option(_predict_command))
models.add_command(_evaluate_command)
models.add_command(_prepare_env_command)
models.add_command(_generate_dockerfile_command)
models.add_command(_build_docker_command)
cli.add_command(_server_command)
cli.add_command(_ui_command)
cli.add_command(_deployments_group)
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
