"""``--env-manager local|uv|virtualenv`` on ``mlcask models serve`` and ``models predict``, and
``mlcask models prepare-env``: run a command in the model's own environment.

With ``uv`` or ``virtualenv`` the command resolves the model URI to a local folder, prepares
the environment (:func:`mlcask.environments.prepare_environment`) and runs the same command
again with the environment's Python (``python -I -m mlcask models serve -m <folder> ...``,
without ``--env-manager``), forwarding signals and returning its exit code. With ``local``
(the default) it runs here and warns once about the model's requirement pins this
environment violates.
"""

from __future__ import annotations

import ctypes
import functools
import inspect
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mlcask.cli_store import check_store_for, tracking_uri_option

ENV_MANAGER_CHOICES = ("local", "uv", "virtualenv", "conda")
ENV_MANAGER_HELP = ("Where the model runs: 'local' (this environment; warns about the model's pins it violates), "
                    "'uv' or 'virtualenv' (its own environment, built from its python_env.yaml and requirements.txt "
                    "and cached under $MLCASK_HOME/envs).")
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_warned: set[Path] = set()


def resolve_model_folder(model_uri: str, tracking_uri: str | None = None) -> Path:
    """The local folder of ``model_uri``, absolute.

    Parameters
    ----------
    model_uri : str
        A path, ``file:``, ``runs:/``, ``models:/`` ... URI (:func:`mlcask.models.uri.resolve_model_path`).
    tracking_uri : str, optional
        The store of ``runs:/`` and ``models:/`` URIs; it must exist (nothing is created).

    Returns
    -------
    Path
        The model folder (a download-cache copy for remote models).
    """
    from mlcask.models.uri import resolve_model_path

    check_store_for(model_uri, tracking_uri)  # never creates a store
    if tracking_uri:
        from mlcask.tracking import fluent

        fluent.set_tracking_uri(tracking_uri)
    return Path(os.path.abspath(resolve_model_path(model_uri)))


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_forwarding_signals(argv: Sequence[str], env: dict[str, str]) -> int:
    """Run ``argv`` as a child and pass it the signals this process gets (INT, TERM, HUP, QUIT).

    Parameters
    ----------
    argv : sequence of str
        The command.
    env : dict
        Its whole process environment.

    Returns
    -------
    int
        Its exit code; 128 + N when signal N ended it, as a shell reports. The child gets
        SIGTERM if this process dies first (Linux).
    """
    child = subprocess.Popen(list(argv), env=env, process_group=0, preexec_fn=_die_with_parent)
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in FORWARDED_SIGNALS:
            previous[number] = signal.signal(number, lambda signum, _frame: child.send_signal(signum))
    try:
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if child.poll() is None:
            child.kill()
            child.wait()
    return 128 - code if code < 0 else code


def environment_command(folder: Path, env_manager: str, command: Sequence[str], args: Sequence[str], *,
                        log: Callable[[str], None] | None = _echo_err) -> tuple[list[str], dict[str, str]]:
    """Prepare the model's environment, and say how to run ``mlcask <command>`` in it.

    Parameters
    ----------
    folder : Path
        The local model folder.
    env_manager : str
        ``"uv"`` or ``"virtualenv"``.
    command, args : sequence of str
        The command's names (``("models", "serve")``) and its options other than ``-m``.
    log : callable, optional
        Where progress lines go.

    Returns
    -------
    tuple of (list of str, dict)
        The argv (``<env>/bin/python -I -m mlcask <command> -m <folder> <args>``) and the environment.
    """
    from mlcask.environments import prepare_environment

    prepared = prepare_environment(folder, env_manager, log=log)
    if log:
        state = "Reused" if prepared.reused else "Built"
        log(f"{state} the model's {env_manager} environment {prepared.path} ({prepared.seconds:.2f}s).")
    argv = [str(prepared.python), "-I", "-m", "mlcask", *command, "-m", str(folder), *args]
    return argv, prepared.env_vars()


def run_in_model_environment(model_uri: str, env_manager: str, command: Sequence[str], args: Sequence[str] = (),
                             *, tracking_uri: str | None = None,
                             log: Callable[[str], None] | None = _echo_err) -> int:
    """Run ``mlcask <command> -m <folder> <args>`` in the model's own environment; its exit code.

    Parameters
    ----------
    model_uri : str
        A path, ``runs:/``, ``models:/`` ... URI, resolved here to a local folder.
    env_manager : str
        ``"uv"`` or ``"virtualenv"``.
    command : sequence of str
        The command's names, ``("models", "serve")``.
    args : sequence of str
        Its other options (no ``-m`` and no ``--env-manager``).
    tracking_uri : str, optional
        The store for ``runs:/`` and ``models:/`` URIs.
    log : callable, optional
        Where progress lines go (stderr by default).

    Returns
    -------
    int
        The command's exit code.
    """
    folder = resolve_model_folder(model_uri, tracking_uri)
    argv, env = environment_command(folder, env_manager, command, args, log=log)
    return run_forwarding_signals(argv, env)


def warn_violated_pins(model_uri: str, tracking_uri: str | None = None) -> list[str]:
    """Warn once per model folder (on stderr) about its requirement pins this environment violates.

    Parameters
    ----------
    model_uri : str
        The model, as given to the command.
    tracking_uri : str, optional
        Its store, for ``runs:/`` and ``models:/`` URIs.

    Returns
    -------
    list of str
        The violated pins warned about (empty when none, when already warned, or when the model
        cannot be read: the command itself reports that).
    """
    from mlcask.environments import violated_pins
    from mlcask.exceptions import MlcaskException

    try:
        folder = resolve_model_folder(model_uri, tracking_uri)
        if folder in _warned:
            return []
        _warned.add(folder)
        found = violated_pins(folder)
    except (MlcaskException, click.ClickException, OSError):
        return []  # the command itself reports what is wrong with the model
    if found:
        click.echo("Warning: serving in the current environment (--env-manager local), which does not satisfy "
                   "the model's requirements:\n" + "\n".join(f"  {line}" for line in found)
                   + "\nUse --env-manager uv to run it in its own environment.", err=True)
    return found


def _option_args(param: click.Option, value: Any) -> list[str]:
    """The command-line words that give ``param`` the parsed ``value``."""
    name = max(param.opts, key=len)
    if param.is_flag:
        if param.secondary_opts:
            return [name] if value else [max(param.secondary_opts, key=len)]
        return [name] if value else []
    if isinstance(value, dict):
        values = [f"{key}={setting}" for key, setting in value.items()]
    elif param.multiple:
        values = [",".join(map(str, v)) if isinstance(v, tuple) else v for v in value]
    else:
        values = [value]
    return [word for v in values if v is not None for word in (name, str(v))]


def command_line_args(ctx: click.Context, skip: Sequence[str] = ("model_uri", "env_manager")) -> list[str]:
    """The options given on the command line to ``ctx``'s command, as words to give them again.

    Parameters
    ----------
    ctx : click.Context
        The running command's context.
    skip : sequence of str
        Parameter names left out.

    Returns
    -------
    list of str
        ``["--port", "8080", "--no-batching", ...]``: options from defaults or environment variables
        are left out (the child inherits the environment).
    """
    words: list[str] = []
    for param in ctx.command.params:
        if (isinstance(param, click.Option) and param.name not in skip and param.name in ctx.params
                and ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE):
            words += _option_args(param, ctx.params[param.name])
    return words


def _command_names(ctx: click.Context) -> list[str]:
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or ctx.command.name or "")
        ctx = ctx.parent
    return names[::-1]


def env_manager_option(function: Callable[..., Any] | None = None, *,
                       help: str = ENV_MANAGER_HELP) -> Any:  # noqa: A002 (click's name)
    """Add ``--env-manager local|uv|virtualenv`` to a command taking ``--model-uri``.

    Put it right above the function (below ``@click.command`` and the other options), bare
    (``@env_manager_option``) or with another help text (``@env_manager_option(help=...)``).
    With ``uv``/``virtualenv`` the command runs again inside the model's environment and this
    process exits with its code; with ``local`` the function runs here after a warning about
    violated pins. A function with an ``env_manager`` parameter receives the value; when the
    command was given ``--spark``, it also runs here (the Spark UDF takes the environment manager).
    """
    if function is None:
        return functools.partial(env_manager_option, help=help)
    wants_value = "env_manager" in inspect.signature(function).parameters

    @functools.wraps(function)
    def wrapper(*args: Any, env_manager: str = "local", **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        if env_manager == "conda":
            raise click.BadParameter("conda is not supported by mlcask: use uv (fast) or virtualenv, which build "
                                     "from the model's python_env.yaml and requirements.txt.",
                                     param_hint="'--env-manager'")
        tracking_uri = kwargs.get("tracking_uri")
        if env_manager != "local" and not kwargs.get("spark"):
            from mlcask.exceptions import MlcaskException

            try:
                code = run_in_model_environment(kwargs["model_uri"], env_manager, _command_names(ctx),
                                                command_line_args(ctx), tracking_uri=tracking_uri)
            except MlcaskException as exc:
                raise click.ClickException(exc.cli_message) from None
            ctx.exit(code)
        if env_manager == "local":
            warn_violated_pins(kwargs["model_uri"], tracking_uri)
        if wants_value:
            kwargs["env_manager"] = env_manager
        return function(*args, **kwargs)

    return click.option("--env-manager", type=click.Choice(ENV_MANAGER_CHOICES), default="local",
                        show_default=True, help=help)(wrapper)


@click.command("prepare-env")
@tracking_uri_option
@click.option("--model-uri", "-m", required=True, help="A path, runs:/<run_id>/<name>, models:/<model_id>, "
                                                        "models:/<name>/<version> or models:/<name>@<alias>.")
@click.option("--env-manager", type=click.Choice(["uv", "virtualenv"]), default="uv", show_default=True,
              help="The installer: uv (fast) or virtualenv (venv + pip).")
def prepare_env(tracking_uri: str | None, model_uri: str, env_manager: str) -> None:
    """Build the model's own environment ahead of serving (reused if it exists); print where it is."""
    from mlcask.environments import prepare_environment
    from mlcask.exceptions import MlcaskException

    try:
        folder = resolve_model_folder(model_uri, tracking_uri)
        prepared = prepare_environment(folder, env_manager, log=_echo_err)
    except MlcaskException as exc:
        raise click.ClickException(exc.cli_message) from None
    state = "Reused" if prepared.reused else "Built"
    click.echo(f"{state} the model's {env_manager} environment in {prepared.seconds:.2f}s: {prepared.path}")
