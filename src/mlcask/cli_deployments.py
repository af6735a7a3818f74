"""``mlcask deployments``: managed endpoints of an ``mlcask server``, in the shape of ``mlflow deployments``.

The commands, options and messages are MLflow's (``create``, ``update``, ``delete``, ``list``,
``get``, ``predict``, ``explain``, ``help``, ``run-local``, and the ``*-endpoint`` commands; ``-t/--target``,
``--name``, ``-m/--model-uri``, ``-f/--flavor``, ``-C/--config NAME=VALUE``, ``--endpoint``,
``-I/--input-path``, ``-O/--output-path``), run through
:class:`mlcask.deployments.client.MlcaskDeploymentClient`. Differences: ``--target`` may be left
out (the tracking server); a ``-C`` value is read as JSON when it parses (``traffic=10`` is a
number, ``env_manager=uv`` text); ``create-endpoint`` and ``update-endpoint`` take
``--traffic DEPLOYMENT=PERCENT``; the listings are tables (``--output json`` for JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from mlcask.cli_output import Group, echo_json, output_option, table
from mlcask.exceptions import INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, MlcaskException

__all__ = ["deployments", "parse_config", "parse_traffic"]

_CONFIG_HINT = "'-C' / '--config'"
_TRAFFIC_HINT = "'--traffic'"

target_option = click.option(
    "--target", "-t", default=None, metavar="URI",
    help="The mlcask server: 'mlcask' (the tracking server, MLFLOW_TRACKING_URI), 'mlcask:/http://host:port' "
         "or 'http://host:port'. [default: MLFLOW_DEPLOYMENTS_TARGET, else 'mlcask']")
name_option = click.option("--name", "name", required=True, help="Name of the deployment.")
config_option = click.option(
    "--config", "-C", metavar="NAME=VALUE", multiple=True,
    help="Deployment config, repeatable: env_manager=local|uv|virtualenv, traffic=PERCENT, max_batch_size=N, "
         "timeout=SECONDS... (a value is read as JSON when it parses). See `mlcask deployments help`.")
endpoint_config_option = click.option(
    "--config", "-C", metavar="NAME=VALUE", multiple=True,
    help="Endpoint config, repeatable: traffic='{\"blue\": 90, \"green\": 10}' (a value is read as JSON when "
         "it parses).")
traffic_option = click.option(
    "--traffic", metavar="DEPLOYMENT=PERCENT", multiple=True,
    help="The traffic split, one deployment per option (--traffic blue=90 --traffic green=10); the same as "
         "-C traffic='{\"blue\": 90, \"green\": 10}'.")
optional_endpoint_option = click.option(
    "--endpoint", default=None,
    help="Name of the endpoint. [default: create: the deployment's name; otherwise the endpoint holding "
         "the deployment]")
required_endpoint_option = click.option("--endpoint", required=True, help="Name of the endpoint.")
flavor_option = click.option("--flavor", "-f", default=None,
                             help="Which flavor to deploy (python_function, which mlcask serves, when not given).")
input_option = click.option("--input-path", "-I", required=True,
                            type=click.Path(exists=True, dir_okay=False),
                            help="A JSON file: a scoring payload ({\"dataframe_split\": ...}, {\"inputs\": ...}), "
                                 "or a table as pandas.read_json reads it.")
output_path_option = click.option("--output-path", "-O", default=None, type=click.Path(dir_okay=False),
                                  help="Write the predictions (JSON) to this file instead of standard output.")
scoring_name_option = click.option("--name", "name", default=None,
                                   help="The deployment to ask (with or without --endpoint).")
scoring_endpoint_option = click.option("--endpoint", default=None,
                                       help="The endpoint, whose traffic split chooses a deployment unless "
                                            "--name pins one.")


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_config(pairs: Sequence[str], hint: str = _CONFIG_HINT) -> dict[str, Any]:
    """``-C NAME=VALUE`` options as a dict (a value read as JSON when it parses, else as the text).

    Parameters
    ----------
    pairs
        The option's values, each ``NAME=VALUE`` (the value may hold ``=``).
    hint
        The option as an error names it.

    Returns
    -------
    dict

    Raises
    ------
    click.BadParameter
        For an item without ``=`` or a name, or a name given twice.
    """
    config: dict[str, Any] = {}
    for item in pairs:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE (e.g. -C env_manager=uv), got {item!r}.", param_hint=hint)
        if name in config:
            raise click.BadParameter(f"{name!r} is given twice.", param_hint=hint)
        config[name] = _json_or_text(value)
    return config


def parse_traffic(pairs: Sequence[str]) -> dict[str, int]:
    """``--traffic DEPLOYMENT=PERCENT`` options as a split (integer percentages; the server checks the sum)."""
    split: dict[str, int] = {}
    for item in pairs:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise click.BadParameter(f"expected DEPLOYMENT=PERCENT (e.g. --traffic blue=90), got {item!r}.",
                                     param_hint=_TRAFFIC_HINT)
        if name in split:
            raise click.BadParameter(f"deployment {name!r} is given twice.", param_hint=_TRAFFIC_HINT)
        try:
            percent = int(value.strip().rstrip("%"))
        except ValueError:
            raise click.BadParameter(f"{item!r}: the percentage must be an integer from 0 to 100.",
                                     param_hint=_TRAFFIC_HINT) from None
        if not 0 <= percent <= 100:
            raise click.BadParameter(f"{item!r}: the percentage must be from 0 to 100.", param_hint=_TRAFFIC_HINT)
        split[name] = percent
    return split


def _endpoint_config(config: Sequence[str], traffic: Sequence[str]) -> dict[str, Any]:
    parsed = parse_config(config)
    if traffic:
        if "traffic" in parsed:
            raise click.UsageError("The traffic split is given twice, by --traffic and by -C traffic=...: give one.")
        parsed["traffic"] = parse_traffic(traffic)
    return parsed


def _client(target: str | None) -> Any:
    from mlcask.deployments.client import get_deploy_client

    try:
        return get_deploy_client(target)
    except MlcaskException as exc:
        if exc.error_code != INVALID_PARAMETER_VALUE:
            raise
        raise click.BadParameter(exc.message, param_hint="'-t' / '--target'") from None


@contextmanager
def _refusals() -> Iterator[None]:
    """The server's refusal of what the user typed (a bad value, an unknown or taken name) as a usage error
    (exit 2); other errors go on to the group (exit 1)."""
    try:
        yield
    except MlcaskException as exc:
        if exc.error_code not in (INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS):
            raise
        raise click.UsageError(exc.message) from None


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _echo_fields(item: dict[str, Any], output: str) -> None:
    """One object as MLflow's get commands print it (``key: value`` lines), or as JSON."""
    if output == "json":
        echo_json(item)
        return
    for key, value in item.items():
        click.echo(f"{key}: {_shown(value)}")
    click.echo("\n")


def _traffic_text(traffic: dict[str, Any] | None) -> str:
    return ", ".join(f"{name}={share}%" for name, share in (traffic or {}).items()) or "-"


@click.group("deployments", cls=Group)
def deployments() -> None:
    """Deploy models to managed endpoints of an mlcask server (MLflow's `mlflow deployments`).

    An endpoint (/endpoints/<endpoint>/invocations) splits its traffic between deployments; each
    deployment is a scoring process of one model, run by the server in the model's environment.
    Run `mlcask deployments help` for the target forms and the config keys.
    """


@deployments.command("create")
@optional_endpoint_option
@config_option
@name_option
@target_option
@click.option("--model-uri", "-m", required=True, metavar="URI",
              help="The model: models:/<name>/<version>, models:/<name>@<alias>, runs:/<run_id>/<path>, "
                   "models:/<model_id> or a path the server can read.")
@flavor_option
def create_deployment(flavor: str | None, model_uri: str, target: str | None, name: str, config: tuple[str, ...],
                      endpoint: str | None) -> None:
    """Deploy the model at --model-uri as deployment --name (waits until it serves).

    Without --endpoint the deployment gets an endpoint of its own name. Config: -C key=value.
    """
    config_dict = parse_config(config)
    client = _client(target)
    with _refusals():
        deployment = client.create_deployment(name, model_uri, flavor, config=config_dict, endpoint=endpoint)
    click.echo(f"\n{deployment.get('flavor') or 'python_function'} deployment {deployment['name']} is created")
    click.echo(f"Endpoint {deployment['endpoint']}: {client.server_url}/endpoints/{deployment['endpoint']}"
               "/invocations")


@deployments.command("update")
@optional_endpoint_option
@config_option
@name_option
@target_option
@click.option("--model-uri", "-m", default=None, metavar="URI", help="The model to serve instead (see create).")
@flavor_option
def update_deployment(flavor: str | None, model_uri: str | None, target: str | None, name: str,
                      config: tuple[str, ...], endpoint: str | None) -> None:
    """Serve another model (--model-uri) and/or change the config (-C) of deployment --name."""
    config_dict = parse_config(config)
    if model_uri is None and not config_dict:
        raise click.UsageError("Nothing to update: give --model-uri and/or -C key=value.")
    client = _client(target)
    with _refusals():
        deployment = client.update_deployment(name, model_uri=model_uri, flavor=flavor, config=config_dict,
                                              endpoint=endpoint)
    click.echo(f"Deployment {name} is updated (with flavor {deployment.get('flavor') or 'python_function'})")


@deployments.command("delete")
@optional_endpoint_option
@config_option
@name_option
@target_option
def delete_deployment(target: str | None, name: str, config: tuple[str, ...], endpoint: str | None) -> None:
    """Stop and delete deployment --name (its traffic goes to the endpoint's other deployments)."""
    config_dict = parse_config(config)
    client = _client(target)
    with _refusals():
        client.delete_deployment(name, config=config_dict or None, endpoint=endpoint)
    click.echo(f"Deployment {name} is deleted")


@deployments.command("list")
@optional_endpoint_option
@target_option
@output_option
def list_deployments(target: str | None, endpoint: str | None, output: str) -> None:
    """List the deployments (of --endpoint, or of every endpoint)."""
    client = _client(target)
    with _refusals():
        found = client.list_deployments(endpoint=endpoint)
    if output == "json":
        echo_json(found)
        return
    click.echo("List of all deployments:")
    click.echo(table(["NAME", "ENDPOINT", "STATE", "TRAFFIC", "MODEL URI", "SERVING"], [
        [d.get("name"), d.get("endpoint"), d.get("state"), f"{d.get('traffic', 0)}%", d.get("model_uri"),
         d.get("resolved_uri") or d.get("model_uri")] for d in found]))


@deployments.command("get")
@optional_endpoint_option
@name_option
@target_option
@output_option
def get_deployment(target: str | None, name: str, endpoint: str | None, output: str) -> None:
    """Show deployment --name: its model, state, health, traffic and metrics."""
    client = _client(target)
    with _refusals():
        found = client.get_deployment(name, endpoint=endpoint)
    _echo_fields(found, output)


@deployments.command("help")
@target_option
def target_help(target: str | None) -> None:
    """Show the target URI forms and the config keys."""
    from mlcask.deployments.targets import target_help as help_text

    click.echo(help_text())


@deployments.command("run-local")
@config_option
@name_option
@target_option
@click.option("--model-uri", "-m", required=True, metavar="URI", help="The model to serve (see create).")
@flavor_option
def run_local(flavor: str | None, model_uri: str, target: str | None, name: str, config: tuple[str, ...]) -> None:
    """Serve the model on this machine in the foreground, as a deployment would serve it (no server needed).

    Config: the deployment's keys plus -C host=ADDRESS and -C port=PORT (default 127.0.0.1:5000).
    """
    import subprocess

    from mlcask.deployments.local import run_local as serve_locally
    from mlcask.deployments.targets import get_deployments_target

    config_dict = parse_config(config)
    with _refusals():
        try:
            serve_locally(target or get_deployments_target(), name, model_uri, flavor, config_dict)
        except subprocess.CalledProcessError as exc:
            raise click.exceptions.Exit(exc.returncode) from None


def _read_inputs(input_path: str) -> Any:
    """The input file: a scoring payload as it is, else a table read as MLflow reads it (pandas.read_json)."""
    import io

    from mlcask.deployments.client import is_scoring_payload

    with open(input_path, encoding="utf-8") as file:
        text = file.read()
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"{input_path!r} is not valid JSON: {exc}.", param_hint="'-I' / '--input-path'") \
            from None
    if is_scoring_payload(parsed):
        return parsed
    import pandas as pd

    try:
        return pd.read_json(io.StringIO(text))
    except ValueError as exc:
        raise click.BadParameter(f"{input_path!r} is neither a scoring payload (with dataframe_split, "
                                 f"dataframe_records, instances or inputs) nor a table pandas.read_json reads: {exc}",
                                 param_hint="'-I' / '--input-path'") from None


def _scoring_target(name: str | None, endpoint: str | None) -> None:
    if name is None and endpoint is None:
        raise click.UsageError("Give --endpoint (its traffic split chooses), --name (that deployment), or both.")


@deployments.command("predict")
@scoring_name_option
@scoring_endpoint_option
@target_option
@input_option
@output_path_option
def predict(target: str | None, name: str | None, input_path: str, output_path: str | None,
            endpoint: str | None) -> None:
    """Score the input file with an endpoint (--endpoint) or one deployment (--name)."""
    _scoring_target(name, endpoint)
    inputs = _read_inputs(input_path)
    client = _client(target)
    with _refusals():
        result = client.predict(name, inputs, endpoint=endpoint)
    if output_path is not None:
        result.to_json(output_path)
    else:
        click.echo(result.to_json())


@deployments.command("explain")
@scoring_name_option
@scoring_endpoint_option
@target_option
@input_option
@output_path_option
def explain(target: str | None, name: str | None, input_path: str, output_path: str | None,
            endpoint: str | None) -> None:
    """Explanations of predictions (not offered by mlcask endpoints: use `mlcask models evaluate`)."""
    _scoring_target(name, endpoint)
    inputs = _read_inputs(input_path)
    _client(target).explain(name, inputs, endpoint=endpoint)


@deployments.command("create-endpoint")
@endpoint_config_option
@traffic_option
@required_endpoint_option
@target_option
def create_endpoint(target: str | None, endpoint: str, config: tuple[str, ...], traffic: tuple[str, ...]) -> None:
    """Create endpoint --endpoint (empty: add deployments with `create --endpoint`)."""
    config_dict = _endpoint_config(config, traffic)
    client = _client(target)
    with _refusals():
        created = client.create_endpoint(endpoint, config=config_dict or None)
    click.echo(f"\nEndpoint {created['name']} is created")


@deployments.command("update-endpoint")
@endpoint_config_option
@traffic_option
@required_endpoint_option
@target_option
def update_endpoint(target: str | None, endpoint: str, config: tuple[str, ...], traffic: tuple[str, ...]) -> None:
    """Change endpoint --endpoint: its traffic split (--traffic blue=90 --traffic green=10), without restarts."""
    config_dict = _endpoint_config(config, traffic)
    if not config_dict:
        raise click.UsageError("Nothing to update: give --traffic DEPLOYMENT=PERCENT or -C traffic=...")
    client = _client(target)
    with _refusals():
        updated = client.update_endpoint(endpoint, config=config_dict)
    click.echo(f"\nEndpoint {endpoint} is updated")
    if updated and updated.get("traffic") is not None:
        click.echo(f"Traffic: {_traffic_text(updated['traffic'])}")


@deployments.command("delete-endpoint")
@required_endpoint_option
@target_option
def delete_endpoint(target: str | None, endpoint: str) -> None:
    """Delete endpoint --endpoint and stop its deployments."""
    client = _client(target)
    with _refusals():
        client.delete_endpoint(endpoint)
    click.echo(f"\nEndpoint {endpoint} is deleted")


@deployments.command("list-endpoints")
@target_option
@output_option
def list_endpoints(target: str | None, output: str) -> None:
    """List the endpoints with their traffic split and request counts."""
    client = _client(target)
    found = client.list_endpoints()
    if output == "json":
        echo_json(found)
        return
    click.echo("List of all endpoints:")
    click.echo(table(["NAME", "URL", "TRAFFIC", "REQUESTS", "ERRORS", "P99 MS"], [
        [e.get("name"), e.get("url"), _traffic_text(e.get("traffic")), (e.get("metrics") or {}).get("requests", 0),
         (e.get("metrics") or {}).get("errors", 0), (e.get("metrics") or {}).get("latency_ms_p99", "-")]
        for e in found]))


@deployments.command("get-endpoint")
@required_endpoint_option
@target_option
@output_option
def get_endpoint(target: str | None, endpoint: str, output: str) -> None:
    """Show endpoint --endpoint: its URL, traffic split, deployments and metrics."""
    client = _client(target)
    with _refusals():
        found = client.get_endpoint(endpoint)
    _echo_fields(found, output)
