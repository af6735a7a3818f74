"""``mlcask gc``: remove, for good, the runs, logged models and experiments in the ``deleted``
lifecycle stage, with their artifacts (MLflow's ``mlflow gc``: same options, rules and messages).

As in MLflow, each ``--*-ids`` option narrows only its own kind: ``--run-ids a`` still removes
every deleted experiment and logged model. Unlike MLflow, every given id is checked before
anything is removed (one bad id removes nothing), and an experiment goes with all of its logged
models' files. Each removal is one database transaction, after its artifacts are gone: a failure
leaves the run (or model, or experiment) in the store, ``deleted``, for the next ``gc``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import click

from mlcask.cli_output import all_pages
from mlcask.entities import LifecycleStage, ViewType
from mlcask.exceptions import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException

__all__ = ["gc", "parse_older_than"]

_DURATION = re.compile(r"^((?P<days>[.\d]+?)d)?((?P<hours>[.\d]+?)h)?((?P<minutes>[.\d]+?)m)?((?P<seconds>[.\d]+?)s)?$")


def parse_older_than(text: str) -> int:
    """``#d#h#m#s`` (each part optional, floats allowed: ``1.5d``, ``2h30m``) in milliseconds."""
    parts = _DURATION.match(text)
    try:
        values = {name: float(value) for name, value in (parts.groupdict() if parts else {}).items() if value}
    except ValueError:
        parts = None
    if parts is None:
        raise click.BadParameter(f"Could not parse any time information from '{text}'. Examples of valid strings: "
                                 "'8h', '2d8h5m20s', '2m4s'", param_hint="'--older-than'")
    return int(dt.timedelta(**values).total_seconds() * 1000)


def _ids(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@dataclass
class _Plan:
    """What one ``gc`` removes, in this order: runs, logged models, experiments."""

    runs: list[Any] = field(default_factory=list)
    models: list[Any] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    #: Runs and logged models of removed experiments that are not removed on their own (not deleted, or deleted
    #: more recently than --older-than): their files go, their rows go with the experiment.
    experiment_runs: list[Any] = field(default_factory=list)
    experiment_models: list[Any] = field(default_factory=list)


def _store(backend_store_uri: str | None, tracking_uri: str | None) -> Any:
    """The SQL store to collect from; a tracking server or a missing database is an error."""
    from mlcask.tracking.store.db import DatabaseError, check_existing
    from mlcask.tracking.store.gc import HardDeletingStore
    from mlcask.tracking.stores import (
        current_tracking_uri,
        database_and_artifact_root,
        is_server_uri,
        tracking_store,
    )

    uri = backend_store_uri or tracking_uri or current_tracking_uri()
    if is_server_uri(uri):
        raise click.UsageError(
            f"mlcask gc removes rows from a tracking database, and '{uri}' is a tracking server: MLflow's REST API "
            "has no permanent deletion. Run gc where the server's database is reachable, with --backend-store-uri "
            "<its database URI> (and --tracking-uri <the server> or --artifacts-destination <its artifact "
            "destination> for proxied mlflow-artifacts:/ artifacts).")
    database, _ = database_and_artifact_root(uri)
    try:
        check_existing(database)
    except DatabaseError as exc:
        raise click.ClickException(f"{exc.message} (the store gc was pointed at: '{uri}').") from None
    store = tracking_store(uri)
    if not isinstance(store, HardDeletingStore):
        raise click.ClickException("This command can only be used with a backend that allows hard-deleting runs.")
    return store


def _checked(get: Any, given: str, option: str, what: str) -> Any:
    try:
        return get(given)
    except MlcaskException as exc:
        if exc.error_code == RESOURCE_DOES_NOT_EXIST:
            raise click.BadParameter(f"no {what} has id {given!r} in this store.", param_hint=f"'{option}'") from None
        if exc.error_code != INVALID_PARAMETER_VALUE:
            raise
        raise click.BadParameter(exc.message, param_hint=f"'{option}'") from None


def _plan_experiments(store: Any, experiment_ids: list[str] | None, older_than: str | None, delta: int) -> list[str]:
    from mlcask.tracking.store.experiments import DEFAULT_EXPERIMENT_ID

    threshold = int(dt.datetime.now().timestamp() * 1000) - delta
    if not experiment_ids:  # every deleted one, but the Default experiment, which every store keeps
        found = all_pages(lambda token: store.search_experiments(view_type=ViewType.DELETED_ONLY, page_token=token))
        return [e.experiment_id for e in found if e.experiment_id != DEFAULT_EXPERIMENT_ID
                and (not older_than or (e.last_update_time is not None and e.last_update_time < threshold))]
    found = [_checked(store.get_experiment, given, "--experiment-ids", "experiment") for given in experiment_ids]
    if any(e.experiment_id == DEFAULT_EXPERIMENT_ID for e in found):
        raise click.BadParameter("the Default experiment (id 0) cannot be permanently deleted: every store has it. "
                                 "Its deleted runs can be (--run-ids).", param_hint="'--experiment-ids'")
    active = [e.experiment_id for e in found if e.lifecycle_stage != LifecycleStage.DELETED]
    if active:
        raise click.BadParameter(f"Experiments {active} are not in the deleted lifecycle stage. Only experiments in "
                                 "the deleted lifecycle stage can be hard-deleted.", param_hint="'--experiment-ids'")
    young = [e.experiment_id for e in found if older_than and (e.last_update_time is None
                                                                 or e.last_update_time >= threshold)]
    if young:
        raise click.BadParameter(f"Experiments {young} are not older than the required age. Only experiments older "
                                 f"than {older_than} can be deleted.", param_hint="'--experiment-ids'")
    return list(dict.fromkeys(e.experiment_id for e in found))


def _plan_runs(store: Any, plan: _Plan, run_ids: list[str] | None, older_than: str | None, delta: int) -> None:
    old_runs = set(store.deleted_run_ids(delta))
    for run_id in dict.fromkeys(run_ids if run_ids is not None else sorted(old_runs)):
        run = _checked(store.get_run, run_id, "--run-ids", "run")
        if run.info.lifecycle_stage != LifecycleStage.DELETED:
            raise click.BadParameter(f"Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` "
                                     "lifecycle stage can be deleted.", param_hint="'--run-ids'")
        if older_than and run_id not in old_runs:
            raise click.BadParameter(f"Run {run_id} is not older than the required age. Only runs older than "
                                     f"{older_than} can be deleted.", param_hint="'--run-ids'")
        plan.runs.append(run)
    planned = {run.info.run_id for run in plan.runs}
    if plan.experiments:
        for run in all_pages(lambda token: store.search_runs(plan.experiments, "", ViewType.ALL, 1000, None, token)):
            if run.info.run_id not in planned:
                deleted = run.info.lifecycle_stage == LifecycleStage.DELETED
                (plan.runs if deleted else plan.experiment_runs).append(run)


def _plan_models(store: Any, plan: _Plan, model_ids: list[str] | None, older_than: str | None, delta: int) -> None:
    deleted_models, old_models = set(store.deleted_logged_model_ids(0)), set(store.deleted_logged_model_ids(delta))
    for model_id in dict.fromkeys(model_ids if model_ids is not None else sorted(old_models)):
        model = _checked(lambda m: store.get_logged_model(m, allow_deleted=True), model_id, "--logged-model-ids",
                         "logged model")
        if model_id not in deleted_models:
            raise click.BadParameter(f"Logged model {model_id} is not in `deleted` lifecycle stage. Only logged "
                                     "models in `deleted` lifecycle stage can be deleted.",
                                     param_hint="'--logged-model-ids'")
        if older_than and model_id not in old_models:
            raise click.BadParameter(f"Logged model {model_id} is not older than the required age. Only logged "
                                     f"models older than {older_than} can be deleted.",
                                     param_hint="'--logged-model-ids'")
        plan.models.append(model)
    if plan.experiments:
        planned = {model.model_id for model in plan.models}
        for experiment_id in plan.experiments:
            plan.experiment_models.extend(all_pages(
                lambda token, e=experiment_id: store.search_logged_models([e], page_token=token)))
        plan.experiment_models.extend(
            model for model in (store.get_logged_model(m, allow_deleted=True) for m in sorted(deleted_models - planned))
            if model.experiment_id in plan.experiments)


def _plan(store: Any, run_ids: list[str] | None, experiment_ids: list[str] | None,
          model_ids: list[str] | None, older_than: str | None, delta: int) -> _Plan:
    """Everything one gc removes, every given id checked first (a refusal removes nothing)."""
    plan = _Plan(experiments=_plan_experiments(store, experiment_ids, older_than, delta))
    _plan_runs(store, plan, run_ids, older_than, delta)
    _plan_models(store, plan, model_ids, older_than, delta)
    return plan


def _repository(uri: str, tracking_uri: str | None, artifacts_destination: str | None) -> Any:
    """The repository of an artifact location; ``mlflow-artifacts:`` ones under ``--artifacts-destination``."""
    from mlcask.server.artifact_roots import proxied_path
    from mlcask.tracking.artifacts import get_artifact_repository

    if artifacts_destination:
        relative = proxied_path(uri)
        if relative is None and urllib.parse.urlparse(uri).scheme.lower() in ("http", "https"):
            from mlcask.tracking.rest.artifacts import resolve_artifact_uri

            relative = resolve_artifact_uri(uri)[1]
        if relative is not None:
            base = artifacts_destination.rstrip("/")
            return get_artifact_repository(f"{base}/{relative}" if relative else base)
    return get_artifact_repository(uri, tracking_uri)


def _remove_files(uri: str | None, tracking_uri: str | None, artifacts_destination: str | None) -> None:
    """Delete every file at ``uri``; an unresolvable URI is a warning (gc goes on, as MLflow's does)."""
    if not uri:
        return
    try:
        repository = _repository(uri, tracking_uri, artifacts_destination)
    except InvalidArgumentError as exc:
        click.secho(f"An exception {exc!r} was raised during the deletion of a model artifact", fg="yellow")
        click.secho(f"Unable to resolve the provided artifact URL: '{uri}'. The gc process will continue and bypass "
                    "artifact deletion. Please ensure that the artifact exists and consider manually deleting any "
                    "unused artifacts. ", fg="yellow")
        return
    repository.delete_artifacts()
    from mlcask.tracking.artifacts import LocalArtifactRepository

    if isinstance(repository, LocalArtifactRepository):  # the emptied folder, and the one above "artifacts"
        folder = repository.root
        for candidate in (folder, folder.parent) if folder.name == "artifacts" else (folder,):
            try:
                os.rmdir(candidate)
            except OSError:
                break


def _server(tracking_uri: str | None) -> str | None:
    from mlcask.tracking.stores import env_tracking_uri, is_server_uri

    uri = tracking_uri or env_tracking_uri()
    return uri if uri and is_server_uri(uri) else None


@click.command("gc")
@click.option("--older-than", default=None,
              help="Only what was deleted longer ago than this: #d#h#m#s, floats allowed (1d2h3m4s, 1.5d).")
@click.option("--backend-store-uri", default=None, metavar="URI",
              help="The tracking database to collect (sqlite:///..., postgresql://..., a folder). Default: "
                   "--tracking-uri, else MLCASK_TRACKING_URI, else ./mlcask.db.")
@click.option("--artifacts-destination", default=None, metavar="URI",
              help="Where a server keeps proxied artifacts: mlflow-artifacts:/ locations are removed there.")
@click.option("--run-ids", default=None, help="Comma-separated runs to remove (each must be deleted). "
                                              "Default: every deleted run.")
@click.option("--experiment-ids", default=None, help="Comma-separated experiments to remove with all their runs "
                                                     "(each must be deleted). Default: every deleted experiment.")
@click.option("--logged-model-ids", default=None, help="Comma-separated logged models to remove (each must be "
                                                       "deleted). Default: every deleted logged model.")
@click.option("--tracking-uri", default=None, help="With --backend-store-uri: the tracking server "
                                                   "that mlflow-artifacts:/ locations refer to (http://host:port). "
                                                   "Alone: the database to collect.")
def gc(older_than: str | None, backend_store_uri: str | None, artifacts_destination: str | None,
       run_ids: str | None, experiment_ids: str | None, logged_model_ids: str | None,
       tracking_uri: str | None) -> None:
    """Permanently delete runs in the `deleted` lifecycle stage, with their artifacts, metrics, params, tags,
    inputs and outputs; and deleted experiments (with everything in them) and deleted logged models."""
    delta = parse_older_than(older_than) if older_than is not None else 0
    store = _store(backend_store_uri, tracking_uri)
    plan = _plan(store, _ids(run_ids), _ids(experiment_ids), _ids(logged_model_ids), older_than, delta)
    server = _server(tracking_uri)
    for run in plan.runs:
        _remove_files(run.info.artifact_uri, server, artifacts_destination)
        store.hard_delete_run(run.info.run_id)
        click.echo(f"Run with ID {run.info.run_id} has been permanently deleted.")
    for model in plan.models:
        _remove_files(model.artifact_location, server, artifacts_destination)
        store.hard_delete_logged_model(model.model_id)
        click.echo(f"Logged model with ID {model.model_id} has been permanently deleted.")
    for experiment_id in plan.experiments:
        for run in plan.experiment_runs:
            if run.info.experiment_id == experiment_id:
                _remove_files(run.info.artifact_uri, server, artifacts_destination)
        for model in plan.experiment_models:
            if model.experiment_id == experiment_id:
                _remove_files(model.artifact_location, server, artifacts_destination)
        store.hard_delete_experiment(experiment_id)
        click.echo(f"Experiment with ID {experiment_id} has been permanently deleted.")
    if not (plan.runs or plan.models or plan.experiments):
        click.echo("Nothing to delete: no run, logged model or experiment is in the `deleted` lifecycle stage"
                   + (f" for longer than {older_than}." if older_than else "."))
