"""``log_model`` for every flavor: save the model as a logged model of the active run.

:func:`flavor_log_model` builds a flavor's ``log_model`` from its ``save_model``: the
arguments of ``save_model`` (bar ``path`` and ``mlflow_model``) plus the logging ones, in
the order of MLflow's ``<flavor>.log_model``, with a numpydoc docstring made of
``save_model``'s own entries. Every call goes to :func:`log_model`, which creates the
logged model record (``models:/<model_id>``) or takes the one named by ``model_id``, saves
the folder in a private local staging folder, uploads it through the logged model's
artifact repository (local, S3 or a tracking server's proxy: a reader sees the whole
folder or none of it), marks the model READY (or FAILED), records it as an output of the
run at ``step``, links the run's metric values already logged at ``step`` to the model and
registers it when asked, as MLflow does.

Only the standard library is imported here at module level: ``import mlcask.sklearn``
(which builds its ``log_model`` with this module) stays cheap.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcask.entities import LoggedModel, ModelVersion
    from mlcask.models.model import Model, ModelInfo
    from mlcask.tracking.client import MlcaskClient
    from mlcask.tracking.protocols import ArtifactRepository

_logger = logging.getLogger(__name__)

DEFAULT_AWAIT_MAX_SLEEP_SECONDS = 300
AWAIT_MODEL_VERSION_CREATE_SLEEP_INTERVAL_SECONDS = 3
_PENDING, _READY = "PENDING_REGISTRATION", "READY"
_IS_EXTERNAL_TAG = "mlflow.model.isExternal"
_MODEL_VERSIONS_TAG = "mlflow.modelVersions"

Save = Callable[[str, "Model"], "ModelInfo"]


def log_model(
    save: Save,
    *,
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    flavor: str | None = None,
    await_registration_for: int | None = DEFAULT_AWAIT_MAX_SLEEP_SECONDS,
    step: int = 0,
    model_id: str | None = None,
    run_id: str | None = None,
    prompts: list[Any] | None = None,
    model_config: dict[str, Any] | str | None = None,
) -> ModelInfo:
    """Log the model that ``save(path, mlflow_model)`` writes into a run (the active one; a run
    is started, and ended after, if none is active and no ``run_id`` is given)."""
    from mlcask.entities import LoggedModelOutput
    from mlcask.tracking import fluent
    from mlcask.tracking.context import current_client, record_logged_model

    model_name = _model_name(name, artifact_path)
    if prompts is not None:
        warnings.warn("log_model: prompts (linking prompt versions from the prompt registry) is not supported by "
                      f"mlcask; {len(prompts)} prompt(s) were not linked to the model.", UserWarning, stacklevel=3)
    client = current_client()
    started_here = run_id is None and fluent.active_run() is None
    if run_id is None:
        run_id = (fluent.start_run() if started_here else fluent.active_run()).info.run_id
    try:
        logged = _logged_model(client, model_id, model_name, run_id, params, tags, model_type or flavor)
        record_logged_model(logged.model_id, run_id, int(step))  # the last logged model; an output of the run
        info = _save_logged_model(client, logged, run_id, save)
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, int(step))])
        client.link_model_metrics(logged.model_id, run_id, int(step))  # the run's values at step, as MLflow
        _log_model_config(client, run_id, model_config)
        if registered_model_name is not None:
            version = register_logged_model(client, logged.model_id, registered_model_name, run_id=run_id,
                                            tags=tags, await_registration_for=await_registration_for)
            info.registered_model_version = int(version.version)
        info.logged_model = client.get_logged_model(logged.model_id)
        return info
    finally:
        if started_here:
            fluent.end_run()


def _model_name(name: str | None, artifact_path: str | None) -> str:
    from mlcask.exceptions import InvalidArgumentError
    from mlcask.utils.paths import clean_relative_path

    if name is not None and artifact_path is not None:
        raise InvalidArgumentError("Both `artifact_path` (deprecated) and `name` parameters were specified. "
                                   "Please only specify `name`.")
    if artifact_path is not None:
        _logger.warning("`artifact_path` is deprecated. Please use `name` instead.")
    return clean_relative_path(name or artifact_path or "model", "model name") or "model"


def _logged_model(client: MlcaskClient, model_id: str | None, model_name: str, run_id: str,
                  params: dict[str, Any] | None, tags: dict[str, Any] | None, model_type: str | None) -> LoggedModel:
    """The logged model to save into: a new one (params merged with the run's, context tags), or
    the existing ``model_id`` (one from ``initialize_logged_model`` or ``create_external_model``),
    which gets ``params`` and ``tags`` too."""
    from mlcask.tracking.fluent import default_run_tags

    run = client.get_run(run_id)
    given_tags = {k: str(v) for k, v in (tags or {}).items()}
    given_params = {k: str(v) for k, v in (params or {}).items()}
    if model_id is not None:
        model = client.get_logged_model(model_id)
        if given_tags:
            client.set_logged_model_tags(model_id, given_tags)
        if given_params:
            client.store.log_logged_model_params(model_id, given_params)
        return model
    return client.create_logged_model(
        run.info.experiment_id, model_name, run_id,
        tags={**default_run_tags(), **given_tags},
        params={**given_params, **run.data.params},  # the run's params win, as in MLflow
        model_type=model_type,
    )


def _save_logged_model(client: MlcaskClient, logged: LoggedModel, run_id: str, save: Save) -> ModelInfo:
    """Save into the logged model's artifact location and finalize it READY (FAILED if saving fails)."""
    from mlcask.entities import LoggedModelStatus
    from mlcask.models.model import Model
    from mlcask.tracking.artifacts import get_artifact_repository

    mlflow_model = Model(artifact_path=logged.name, run_id=run_id, model_id=logged.model_id)
    external = logged.tags.get(_IS_EXTERNAL_TAG, "false").lower() == "true"
    try:
        repository = get_artifact_repository(logged.artifact_location, client.tracking_uri)
        if external:  # its folder holds only the placeholder MLmodel create_external_model wrote
            _remove_placeholder(repository)
        info = _save_into(repository, save, mlflow_model)
        if external:  # it now has MLflow-format artifacts
            client.store.delete_logged_model_tag(logged.model_id, _IS_EXTERNAL_TAG)
    except BaseException:
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    info.model_uri = f"models:/{logged.model_id}"
    return info


def _remove_placeholder(repository: ArtifactRepository) -> None:
    """Delete an external model's placeholder MLmodel, and nothing else: a folder holding more is
    left for saving to refuse."""
    from mlcask.models.model import MLMODEL_FILE_NAME

    if [entry.path for entry in repository.list_artifacts()] == [MLMODEL_FILE_NAME]:
        repository.delete_artifacts(MLMODEL_FILE_NAME)


def _save_into(repository: ArtifactRepository, save: Save, mlflow_model: Model) -> ModelInfo:
    """Save the model folder into ``repository``'s root.

    A local repository is written in place: saving already stages the folder next to its
    destination and renames it whole (so a killed writer leaves nothing in shared temp
    folders). Any other repository gets the folder staged in a private local folder and
    uploaded through it.
    """
    import shutil
    import tempfile

    from mlcask.tracking.artifacts import LocalArtifactRepository

    if isinstance(repository, LocalArtifactRepository):
        return save(str(repository.local_path("")), mlflow_model)
    staging = Path(tempfile.mkdtemp(prefix="mlcask-log-model-"))
    try:
        info = save(str(staging / "model"), mlflow_model)
        repository.log_artifacts(staging / "model")
        return info
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _log_model_config(client: MlcaskClient, run_id: str, model_config: dict[str, Any] | str | None) -> None:
    """pyfunc's ``model_config`` (a dict, or a JSON/YAML file) logged as run params, nested keys joined by ``/``."""
    if not model_config:
        return
    config: Any = model_config
    if isinstance(model_config, (str, Path)):
        import yaml

        try:
            text = Path(model_config).read_text()
            config = json.loads(text) if str(model_config).lower().endswith(".json") else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            _logger.warning("model_config '%s' could not be read (%s); not logged as params.", model_config, exc)
            return
    if not isinstance(config, Mapping):
        _logger.warning("model_config is not a mapping (%s); not logged as params.", type(config).__name__)
        return
    from mlcask.entities import Param

    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in _flatten(config).items()])


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# -- registering ---------------------------------------------------------------------------
def register_logged_model(client: MlcaskClient, model_id: str, name: str, *, run_id: str | None = None,
                          tags: dict[str, Any] | None = None,
                          await_registration_for: int | None = DEFAULT_AWAIT_MAX_SLEEP_SECONDS) -> ModelVersion:
    """Register logged model ``model_id`` as a new version of ``name`` (created if needed), printing
    MLflow's messages, and wait up to ``await_registration_for`` seconds for it to be READY."""
    from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, MlcaskException

    try:
        client.create_registered_model(name)
        print(f"Successfully registered model '{name}'.", file=sys.stderr)
    except MlcaskException as exc:
        if exc.error_code != RESOURCE_ALREADY_EXISTS:
            raise
        print(f"Registered model {name!r} already exists. Creating a new version of this model...", file=sys.stderr)
    version = client.create_model_version(name, f"models:/{model_id}", run_id=run_id, tags=tags, model_id=model_id)
    print(f"Created version '{version.version}' of model '{version.name}'.", file=sys.stderr)
    _list_version_on_model(client, model_id, version)
    return await_model_version(client, version, await_registration_for)


def _list_version_on_model(client: MlcaskClient, model_id: str, version: ModelVersion) -> None:
    """Add the version to the logged model's ``mlflow.modelVersions`` tag (a tracking server may already have)."""
    entry = {"name": version.name, "version": int(version.version)}
    listed = json.loads(client.get_logged_model(model_id).tags.get(_MODEL_VERSIONS_TAG) or "[]")
    if entry not in listed:
        client.set_logged_model_tags(model_id, {_MODEL_VERSIONS_TAG: json.dumps([*listed, entry])})


def await_model_version(client: MlcaskClient, version: ModelVersion, await_for: int | None) -> ModelVersion:
    """``version`` once it has left PENDING_REGISTRATION, polled for up to ``await_for`` seconds
    (None or 0: not waited for); raises MLflow's errors when it times out or failed."""
    from mlcask.exceptions import MlcaskException

    if not await_for or await_for <= 0:
        return version
    if version.status == _PENDING:
        _logger.info("Waiting up to %s seconds for model version to finish creation. Model name: %s, version %s",
                     await_for, version.name, version.version)
    deadline = time.monotonic() + await_for
    while version.status == _PENDING:
        if time.monotonic() > deadline:
            raise MlcaskException(f"Exceeded max wait time for model name: {version.name} version: {version.version} "
                                  f"to become READY. Status: {version.status} Wait Time: {await_for}.")
        version = client.get_model_version(version.name, version.version)
        if version.status == _PENDING:
            time.sleep(min(AWAIT_MODEL_VERSION_CREATE_SLEEP_INTERVAL_SECONDS, max(deadline - time.monotonic(), 0)))
    if version.status != _READY:
        raise MlcaskException(f"Model version creation failed for model name: {version.name} version: "
                              f"{version.version} with status: {version.status} and message: "
                              f"{getattr(version, 'status_message', None)}")
    return version


# -- the factory ---------------------------------------------------------------------------
_P = inspect.Parameter
_NOT_FORWARDED = ("path", "mlflow_model")
# The logging arguments every log_model has: default, annotation, numpydoc entry.
_LOGGING_ARGUMENTS: dict[str, tuple[Any, str, str]] = {
    "artifact_path": (None, "str | None", "str, optional\n    Deprecated: use ``name`` (giving both is an error)."),
    "registered_model_name": (None, "str | None", "str, optional\n    Register the logged model as a new version "
                              "of this registered model, created if it does not exist."),
    "await_registration_for": (DEFAULT_AWAIT_MAX_SLEEP_SECONDS, "int | None",
                               "int or None, default 300\n    Seconds to wait for the registered version to be READY; "
                               "0 or None: do not wait."),
    "name": (None, "str | None", "str, optional\n    The logged model's name (default ``model``)."),
    "params": (None, "dict[str, Any] | None", "dict, optional\n    Params of the logged model, with the run's "
               "params (which win on a clash)."),
    "tags": (None, "dict[str, Any] | None", "dict, optional\n    Tags of the logged model (and of its registered "
             "version)."),
    "model_type": (None, "str | None", "str, optional\n    A user-defined type to search models by "
                   "(default: the flavor's name)."),
    "step": (0, "int", "int, default 0\n    The step of the run the model belongs to, recorded on the run's output."),
    "model_id": (None, "str | None", "str, optional\n    Log into this existing logged model (from "
                 "``initialize_logged_model`` or ``create_external_model``) instead of a new one."),
    "prompts": (None, "list[str] | None", "list, optional\n    Not supported by mlcask: warns, and links nothing."),
}
_FORWARDED_TO_LOGGING = (*_LOGGING_ARGUMENTS, "model_config")


def flavor_log_model(save_model: Callable[..., Any], flavor: str, order: str, *,
                     unsupported: Mapping[str, Any] | None = None, what: str | None = None) -> Callable[..., Any]:
    """A flavor's ``log_model``, made from its ``save_model``.

    Parameters
    ----------
    save_model : callable
        The flavor's ``save_model(model, path, ..., mlflow_model=None, ...)``.
    flavor : str
        The flavor's name (``FLAVOR_NAME``), the logged model's default ``model_type``.
    order : str
        The parameter names of MLflow's ``<flavor>.log_model``, in order, space-separated
        (``**kwargs`` for its catch-all): each an argument of ``save_model``, a logging
        argument, or one of ``unsupported``. Arguments of ``save_model`` not named are
        appended (before ``**kwargs``), so a new ``save_model`` argument is logged too.
    unsupported : mapping, optional
        MLflow arguments mlcask does not implement (name -> default): accepted, and warned
        about when given another value.
    what : str, optional
        What the flavor logs, for the docstring (``"a scikit-learn model"``).

    Returns
    -------
    callable
        ``log_model`` with MLflow's ``inspect.signature`` and a numpydoc docstring.
    """
    unsupported = {k: v for k, v in (unsupported or {}).items()}
    parameters = _log_model_parameters(save_model, flavor, order.split(), unsupported)
    signature = inspect.Signature(parameters, return_annotation="ModelInfo")
    save_names = set(inspect.signature(save_model).parameters)
    save_takes_kwargs = any(p.kind is _P.VAR_KEYWORD for p in inspect.signature(save_model).parameters.values())
    unsupported = {k: v for k, v in unsupported.items() if k not in save_names}
    names_the_model = "name" in order.split()

    def log_model(*args: Any, **kwargs: Any) -> ModelInfo:
        save_kwargs = dict(signature.bind(*args, **kwargs).arguments)
        extra = save_kwargs.pop("kwargs", None) or {}
        if extra and not save_takes_kwargs:
            raise TypeError(f"{flavor} log_model: unexpected keyword arguments {sorted(extra)} (save_model takes "
                            "no such arguments).")
        save_kwargs.update(extra)
        for key in [k for k in save_kwargs if k in unsupported]:
            value = save_kwargs.pop(key)
            if value != unsupported[key]:
                warnings.warn(f"{flavor} log_model: {key}={value!r} is not supported by mlcask and is ignored.",
                              UserWarning, stacklevel=2)
        logging_kwargs = {k: save_kwargs.pop(k) for k in list(save_kwargs)
                          if k in _LOGGING_ARGUMENTS and k not in save_names}
        if "model_config" in save_kwargs:
            logging_kwargs["model_config"] = save_kwargs["model_config"]
        if not names_the_model and logging_kwargs.get("artifact_path") is not None and "name" not in logging_kwargs:
            # MLflow's log_model for this flavor (mlflow.spark) has no `name`: artifact_path is current, not deprecated.
            logging_kwargs["name"] = logging_kwargs.pop("artifact_path")
        return globals()["log_model"](
            lambda path, mlflow_model: save_model(path=path, mlflow_model=mlflow_model, **save_kwargs),
            flavor=flavor, **logging_kwargs)

    log_model.__signature__ = signature  # type: ignore[attr-defined]
    log_model.__name__ = log_model.__qualname__ = "log_model"
    log_model.__module__ = save_model.__module__
    log_model.__doc__ = _docstring(save_model, parameters, what or f"a {flavor} model")
    log_model.__annotations__ = {**{p.name: p.annotation for p in parameters
                                    if p.annotation is not _P.empty}, "return": "ModelInfo"}
    return log_model


def _log_model_parameters(save_model: Callable[..., Any], flavor: str, order: list[str],
                          unsupported: Mapping[str, Any]) -> list[inspect.Parameter]:
    save_parameters = {n: p for n, p in inspect.signature(save_model).parameters.items() if n not in _NOT_FORWARDED}
    named = [n.removeprefix("**") for n in order]
    appended = [n for n, p in save_parameters.items()
                if n not in named and p.kind not in (_P.VAR_KEYWORD, _P.VAR_POSITIONAL)]
    if "**kwargs" in order:
        at = order.index("**kwargs")
        order = [*order[:at], *appended, *order[at:]]
    else:
        order = [*order, *appended]
    parameters = []
    for name in order:
        if name == "**kwargs":
            parameters.append(_P("kwargs", _P.VAR_KEYWORD))
        elif name in save_parameters:
            parameters.append(save_parameters[name].replace(kind=_P.POSITIONAL_OR_KEYWORD))
        elif name in _LOGGING_ARGUMENTS:
            default, annotation, _ = _LOGGING_ARGUMENTS[name]
            parameters.append(_P(name, _P.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation))
        elif name in unsupported:
            parameters.append(_P(name, _P.POSITIONAL_OR_KEYWORD, default=unsupported[name]))
        else:
            raise TypeError(f"{flavor} log_model: {name!r} in the parameter order is neither an argument of "
                            f"{save_model.__module__}.save_model, a logging argument ({sorted(_LOGGING_ARGUMENTS)}) "
                            "nor an unsupported one.")
    return parameters


def _docstring(save_model: Callable[..., Any], parameters: list[inspect.Parameter], what: str) -> str:
    """numpydoc: the logging arguments' entries, and ``save_model``'s own for the others."""
    entries = _numpydoc_parameters(save_model.__doc__ or "")
    lines = [f"Log {what} as a logged model of the active run (MLflow's ``log_model``).", "",
             "Arguments are those of ``save_model``, and the logging ones.", "", "Parameters", "----------"]
    for parameter in parameters:
        if parameter.kind is _P.VAR_KEYWORD:
            lines += ["**kwargs", entries.get("kwargs", "    Passed to ``save_model``.").split("\n", 1)[-1]]
        elif parameter.name in _LOGGING_ARGUMENTS and parameter.name not in entries:
            lines.append(f"{parameter.name} : {_LOGGING_ARGUMENTS[parameter.name][2]}")
        else:
            lines.append(f"{parameter.name} : " + entries.get(parameter.name, "optional\n    As in ``save_model``."))
    lines += ["", "Returns", "-------", "ModelInfo",
              "    The logged model: ``model_uri`` is ``models:/<model_id>``, ``registered_model_version`` is set "
              "when registered."]
    return "\n".join(lines)


def _numpydoc_parameters(doc: str) -> dict[str, str]:
    """``name -> "type\\n    description"`` from a numpydoc ``Parameters`` section."""
    text = inspect.cleandoc(doc)
    _, found, rest = text.partition("Parameters\n----------\n")
    if not found:
        return {}
    entries: dict[str, str] = {}
    current: str | None = None
    for line in rest.splitlines():
        if line and not line.startswith(" "):
            if not line.strip(" -") or line.strip() in ("Returns", "Raises", "Notes", "Examples", "See Also"):
                break
            name, _, kind = line.partition(" : ")
            current = name.strip().removeprefix("**")
            entries[current] = kind.strip()
        elif current is not None:
            entries[current] += "\n" + line
    return {k: v.rstrip() for k, v in entries.items()}
