"""``mlcask artifacts``: MLflow's ``mlflow artifacts`` verbs (list, download, log-artifact, log-artifacts)
with its options, over the artifact repositories of :mod:`mlcask.tracking.artifacts`."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import click

from mlcask.cli_output import Group, echo_json, option_errors, output_option, table
from mlcask.cli_runs import get_run_or_fail
from mlcask.cli_store import reading_client, tracking_uri_option

__all__ = ["artifacts"]

artifact_path_option = click.option(
    "--artifact-path", "-a", default=None,
    help="A folder of the run's artifacts (relative to their root); default: the root.")


def _run_id_option(help_text: str, required: bool = True) -> Any:
    return click.option("--run-id", "-r", required=required, help=help_text)


@click.group(cls=Group)
def artifacts() -> None:
    """List, download and upload the artifacts of runs."""


@artifacts.command("list")
@tracking_uri_option
@_run_id_option("The run whose artifacts to list.")
@artifact_path_option
@output_option
def artifacts_list(tracking_uri: str | None, run_id: str, artifact_path: str | None, output: str) -> None:
    """List the artifacts directly under a run's artifact root, or under one of its folders."""
    from mlcask.entities.messages import file_info_to_message

    client = reading_client(tracking_uri)
    get_run_or_fail(client, run_id)
    with option_errors("--artifact-path"):
        found = client.list_artifacts(run_id, artifact_path or None)
    if output == "json":  # what `mlflow artifacts list` prints
        echo_json([file_info_to_message(info) for info in found])
        return
    click.echo(table(["PATH", "TYPE", "SIZE"],
                     [[info.path + ("/" if info.is_dir else ""), "folder" if info.is_dir else "file",
                       "" if info.is_dir or info.file_size is None else f"{info.file_size:,} B"] for info in found]))


def _download_uri(tracking_uri: str | None, artifact_uri: str, dst_path: str | None) -> str:
    """A local copy of the file or folder at ``artifact_uri`` (runs:/, models:/, a path, file:, s3://,
    mlflow-artifacts:/ or http(s)://); a local one itself when ``dst_path`` is None."""
    from mlcask.cli_store import tracking_uri_and_origin
    from mlcask.tracking.artifacts import LocalArtifactRepository, get_artifact_repository
    from mlcask.tracking.runs_uri import split_runs_uri

    scheme = urllib.parse.urlparse(artifact_uri).scheme.lower()
    if scheme == "runs":
        client = reading_client(tracking_uri)
        run_id, path = split_runs_uri(artifact_uri)
        get_run_or_fail(client, run_id, "--artifact-uri")
        return client.download_artifacts(run_id, path, dst_path)
    if scheme == "models":
        from mlcask.models.uri import resolve_model_path
        from mlcask.tracking import fluent

        fluent.set_tracking_uri(reading_client(tracking_uri).tracking_uri)
        folder = resolve_model_path(artifact_uri)
        return str(folder) if dst_path is None else LocalArtifactRepository(folder.parent).download_artifacts(
            folder.name, dst_path)
    # Any other URI: its parent's repository, asked for the last segment (a file or a folder).
    server, _ = tracking_uri_and_origin(tracking_uri)  # for host-less mlflow-artifacts:/ URIs
    parent, _, name = artifact_uri.rstrip("/").rpartition("/")
    if not urllib.parse.urlparse(artifact_uri).path.strip("/") or not parent or parent.endswith((":", "//")):
        return get_artifact_repository(artifact_uri, server).download_artifacts("", dst_path)
    return get_artifact_repository(parent, server).download_artifacts(name, dst_path)


@artifacts.command("download")
@tracking_uri_option
@_run_id_option("The run to download from.", required=False)
@click.option("--artifact-path", "-a", default=None,
              help="With --run-id: the file or folder to download, relative to the run's artifact root.")
@click.option("--artifact-uri", "-u", default=None,
              help="Instead of --run-id: runs:/<run_id>/<path>, models:/..., a path, file:, s3://, "
                   "mlflow-artifacts:/ or http(s):// URI of a file or folder.")
@click.option("--dst-path", "-d", type=click.Path(file_okay=False), default=None,
              help="The local folder to download into (created if missing); default: a new temporary folder, "
                   "or the artifacts' own local path when they are already local.")
def artifacts_download(tracking_uri: str | None, run_id: str | None, artifact_path: str | None,
                       artifact_uri: str | None, dst_path: str | None) -> None:
    """Download an artifact file or folder; prints its local path."""
    if artifact_uri is None and run_id is None:
        raise click.UsageError("Either --artifact-uri or --run-id must be provided (with --run-id, --artifact-path "
                               "picks a file or folder of the run's artifacts).")
    if dst_path is not None:
        Path(dst_path).mkdir(parents=True, exist_ok=True)
    if artifact_uri is not None:  # as MLflow: --artifact-uri wins over --run-id and --artifact-path
        with option_errors("--artifact-uri"):
            click.echo(_download_uri(tracking_uri, artifact_uri, dst_path))
        return
    assert run_id is not None
    client = reading_client(tracking_uri)
    get_run_or_fail(client, run_id)
    with option_errors("--artifact-path"):
        click.echo(client.download_artifacts(run_id, artifact_path or "", dst_path))


def _log(tracking_uri: str | None, run_id: str, local: str, artifact_path: str | None, folder: bool) -> None:
    client = reading_client(tracking_uri)
    get_run_or_fail(client, run_id)
    repository = client.artifact_repository(run_id)
    with option_errors("--artifact-path"):
        if folder:
            repository.log_artifacts(local, artifact_path)
        else:
            repository.log_artifact(local, artifact_path)
    kind = "dir" if folder else "file"
    click.echo(f"Logged artifact from local {kind} {local} to artifact_path={artifact_path}")


@artifacts.command("log-artifact")
@tracking_uri_option
@click.option("--local-file", "-l", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The local file to upload.")
@_run_id_option("The run to log the artifact into.")
@click.option("--artifact-path", "-a", default=None,
              help="The folder of the run's artifacts to put it in; default: the root.")
def artifacts_log_artifact(tracking_uri: str | None, local_file: str, run_id: str, artifact_path: str | None) -> None:
    """Upload a local file into a run's artifacts."""
    _log(tracking_uri, run_id, local_file, artifact_path, folder=False)


@artifacts.command("log-artifacts")
@tracking_uri_option
@click.option("--local-dir", "-l", required=True, type=click.Path(exists=True, file_okay=False),
              help="The local folder whose files to upload.")
@_run_id_option("The run to log the artifacts into.")
@click.option("--artifact-path", "-a", default=None,
              help="The folder of the run's artifacts to put them in; default: the root.")
def artifacts_log_artifacts(tracking_uri: str | None, local_dir: str, run_id: str, artifact_path: str | None) -> None:
    """Upload the files of a local folder into a run's artifacts."""
    _log(tracking_uri, run_id, local_dir, artifact_path, folder=True)
