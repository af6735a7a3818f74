"""``mlcask db import``: copy an MLflow store (its database or a running server) into an mlcask store."""

from __future__ import annotations

import os
import sys

import click

__all__ = ["db_import"]

_FROM_HELP = ("The store to copy: MLflow's database (sqlite:///mlflow.db, postgresql://...), a running tracking "
              "server (http(s)://host:port: mlflow server or mlcask server), or an mlcask store.")
_TO_HELP = ("The mlcask tracking URI to copy into (sqlite:///..., postgresql://..., or a folder); created if "
            "missing. Default: MLCASK_TRACKING_URI, else mlcask.db in the working folder.")


def _destination(to: str | None) -> tuple[str, str, str]:
    """``(tracking URI, database, artifact root)`` of the destination (nothing opened yet)."""
    from mlcask.tracking import stores

    uri = to or os.environ.get("MLCASK_TRACKING_URI") or stores.default_tracking_uri()
    if stores.is_server_uri(uri):
        raise click.UsageError(f"--to '{uri}' is a tracking server: mlcask db import writes to an mlcask database. "
                               "Give the server's own database (its --backend-store-uri) as --to.")
    database, artifact_root = stores.database_and_artifact_root(uri)
    return uri, database, artifact_root


@click.command("import")
@click.option("--from", "source_uri", required=True, metavar="URI", help=_FROM_HELP)
@click.option("--to", "to", default=None, metavar="URI", help=_TO_HELP)
@click.option("--sign", is_flag=True,
              help="Seal and sign every copied model with your signing key, so it loads as trusted. Signing vouches "
                   "for the models' code and pickles: only for models you trust.")
@click.option("--workspace", default=None, help="For an MLflow database with workspaces: the one to copy.")
def db_import(source_uri: str, to: str | None, sign: bool, workspace: str | None) -> None:
    """Copy experiments, runs (params, tags, every metric step, datasets), logged models, registered models
    (versions, tags, aliases) and their artifacts from an MLflow store into mlcask.

    Run ids, model ids and experiment ids (where free) are kept, so runs:/ and models:/ URIs keep
    working. Running it again copies only what is missing: an interrupted import continues.
    """
    from mlcask.tracking import stores
    from mlcask.tracking.importing.copier import Importer, check_distinct
    from mlcask.tracking.importing.sources import open_source
    from mlcask.utils.redaction import redact_uri

    uri, database, artifact_root = _destination(to)
    source = open_source(source_uri, workspace)
    try:
        check_distinct(getattr(source, "uri", source_uri), database)
        stores.tracking_store(uri)  # creates and migrates a new database; refuses a foreign one, saying what it is
        importer = Importer(source, database, artifact_root, sign=sign, destination_name=redact_uri(uri))
        click.echo(f"Reading {source.describe()}...", err=True)
        steps = importer.plan()
        with click.progressbar(length=steps, label="Importing", file=sys.stderr, show_pos=True) as bar:
            report = importer.run(bar.update)
    finally:
        source.close()
    for line in report.lines():
        click.echo(line)
