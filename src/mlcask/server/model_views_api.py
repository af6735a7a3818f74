"""mlcask's endpoints for the web UI's model pages (under ``/api/2.0/mlcask``, ajax twin
``/ajax-api/2.0/mlcask``): a model's details (signature, environment, integrity, input
example) and scoring a model version from the Test tab.

- ``GET model-versions/details?name=&version=`` and ``GET logged-models/details?model_id=``:
  what a model folder says of itself: ``flavors``, ``signature`` (``inputs``, ``outputs``,
  ``params`` as parsed column, tensor and param specs, ``inputs_kind`` ``columns`` or
  ``tensors``), ``input_example`` (the saved serving input example, when at most
  ``MAX_EXAMPLE_BYTES``), ``environment`` (``requirements``, ``python``,
  ``build_dependencies``, ``conda``), ``integrity`` (see :func:`integrity_of`), ``size_bytes``,
  ``files``, ``mlflow_version``, ``utc_time_created``. Files are read through the artifact
  repository the server uses; an unknown model is a 404, a folder without ``MLmodel`` a 400.
- ``POST model-versions/score`` ``{name, version, request}``: ``request`` is MLflow's scoring
  JSON (``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``, and
  ``params``). It is scored in a worker process (:mod:`mlcask.server.scoring_worker`) and
  answered as ``{predictions, latency_ms, predict_ms, load_ms, from_cache, model}``. Bad
  input is a 400 with the scorer's message; a model that could run code and is not trusted
  is a 403 saying how to allow it.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

from mlcask.exceptions import BAD_REQUEST, InvalidArgumentError, MlcaskException, ModelNotFoundError
from mlcask.models.integrity import MANIFEST_FILE_NAME, ModelIntegrityError, verify_model
from mlcask.models.model import MAX_MLMODEL_BYTES, Model
from mlcask.server.artifact_roots import repository_for
from mlcask.server.config import ServerConfig
from mlcask.server.endpoints import MLCASK_PREFIX, Context, Endpoint, F
from mlcask.tracking.artifacts import is_local_uri, local_path_of
from mlcask.tracking.protocols import ArtifactRepository
from mlcask.utils.bounded_yaml import load_yaml
from mlcask.utils.paths import clean_relative_path

__all__ = ["ENDPOINTS", "integrity_of", "model_details", "routes"]

MAX_EXAMPLE_BYTES = 1 << 20
MAX_ENV_BYTES = 256 << 10
MAX_LISTED_FILES = 10_000
_GROUP = "Model views"


# -- reading a model folder ------------------------------------------------------------------------------------------

def _read_optional(repository: ArtifactRepository, path: str | None, limit: int,
                   sizes: dict[str, int] | None = None) -> bytes | None:
    """A file of the folder, or None when it is absent or over ``limit`` bytes (not read at all when the
    listing's ``sizes`` say so)."""
    if not path:
        return None
    if sizes is not None and sizes.get(path, 0) > limit:
        return None
    try:
        data = repository.read_bytes(clean_relative_path(path, "model file"))
    except MlcaskException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    except (FileNotFoundError, IsADirectoryError):
        return None
    return data if len(data) <= limit else None


def _listing(repository: ArtifactRepository) -> list[tuple[str, int]]:
    files, pending = [], [""]
    while pending and len(files) < MAX_LISTED_FILES:
        folder = pending.pop()
        for info in repository.list_artifacts(folder or None):
            if info.is_dir:
                pending.append(info.path)
            else:
                files.append((info.path, int(info.file_size or 0)))
    return sorted(files)


def _mlmodel(repository: ArtifactRepository, where: str, sizes: dict[str, int]) -> Model:
    if sizes.get("MLmodel", 0) > MAX_MLMODEL_BYTES:
        raise InvalidArgumentError(f"The MLmodel file of '{where}' is {sizes['MLmodel']} bytes, over the "
                                   f"{MAX_MLMODEL_BYTES} bytes a model's metadata may take.")
    data = _read_optional(repository, "MLmodel", MAX_MLMODEL_BYTES)
    if data is None:
        raise InvalidArgumentError(f"'{where}' is not a model folder: it has no MLmodel file.")
    return Model.from_yaml(data, f"{where}/MLmodel")


def _signature(model: Model) -> dict[str, Any] | None:
    signature = model.signature
    if signature is None:
        return None
    inputs = signature.inputs
    return {
        "inputs": inputs.to_dict() if inputs is not None else None,
        "inputs_kind": None if inputs is None else ("tensors" if inputs.is_tensor_spec() else "columns"),
        "outputs": signature.outputs.to_dict() if signature.outputs is not None else None,
        "params": signature.params.to_dict() if signature.params is not None else None,
    }


def _input_example(repository: ArtifactRepository, model: Model, sizes: dict[str, int]) -> dict[str, Any]:
    info = model.saved_input_example_info or {}
    path = info.get("serving_input_path") if isinstance(info, dict) else None
    if not isinstance(path, str):
        return {"input_example": None, "input_example_truncated": False}
    if sizes.get(path, 0) > MAX_EXAMPLE_BYTES:
        return {"input_example": None, "input_example_truncated": True, "input_example_bytes": sizes[path]}
    data = _read_optional(repository, path, MAX_EXAMPLE_BYTES)
    if data is None:
        return {"input_example": None, "input_example_truncated": False}
    from mlcask.serving.codec import loads

    try:
        return {"input_example": loads(data), "input_example_truncated": False}
    except MlcaskException:
        return {"input_example": None, "input_example_truncated": False,
                "input_example_error": f"{path} is not valid JSON."}


def _yaml(data: bytes | None, where: str) -> Any:
    if data is None:
        return None
    try:
        return load_yaml(data, where, MAX_ENV_BYTES)
    except MlcaskException:
        return None


def _environment(repository: ArtifactRepository, model: Model, sizes: dict[str, int]) -> dict[str, Any]:
    env = (model.flavors.get("python_function") or {}).get("env") or {}
    virtualenv = env.get("virtualenv", "python_env.yaml") if isinstance(env, dict) else "python_env.yaml"
    conda_path = env.get("conda", "conda.yaml") if isinstance(env, dict) else "conda.yaml"
    requirements = _read_optional(repository, "requirements.txt", MAX_ENV_BYTES, sizes)
    python_env = _yaml(_read_optional(repository, virtualenv, MAX_ENV_BYTES, sizes), virtualenv)
    conda = _read_optional(repository, conda_path, MAX_ENV_BYTES, sizes)
    python_env = python_env if isinstance(python_env, dict) else {}
    return {
        "requirements": None if requirements is None else [
            line.strip() for line in requirements.decode("utf-8", "replace").splitlines()
            if line.strip() and not line.strip().startswith("#")],
        "python": python_env.get("python"),
        "build_dependencies": python_env.get("build_dependencies"),
        "dependencies": python_env.get("dependencies"),
        "conda": None if conda is None else conda.decode("utf-8", "replace"),
    }


def local_model_folder(config: ServerConfig, uri: str) -> Path:
    """A local folder holding the model at ``uri``: the folder itself for a local destination, else a
    verified copy in the private download cache (:mod:`mlcask.tracking.downloads`)."""
    resolved = repository_for(config, uri).artifact_uri
    if is_local_uri(resolved):
        folder = local_path_of(resolved)
        if not (folder / "MLmodel").is_file():
            if not folder.exists():
                raise ModelNotFoundError(f"No model at '{uri}': its folder does not exist.")
            raise InvalidArgumentError(f"'{uri}' is not a model folder: it has no MLmodel file.")
        return folder
    from mlcask.tracking.downloads import download_model

    return download_model(resolved)


def integrity_of(config: ServerConfig, uri: str) -> dict[str, Any]:
    """What checking the folder against its signed manifest found: ``status`` is ``verified`` (files match,
    signed by a key this server trusts), ``signed_untrusted`` (files match, signed by a key not trusted here),
    ``unsigned`` (files match, no signature), ``no_manifest`` (saved by MLflow: nothing to check) or ``failed``
    (with the ``reason``)."""
    try:
        verification = verify_model(local_model_folder(config, uri))
    except ModelIntegrityError as exc:
        return {"status": "failed", "reason": exc.message, "signed_by": None, "trusted": False}
    result: dict[str, Any] = {"files_checked": verification.files_checked, "signed_by": verification.signed_by,
                              "trusted": verification.trusted, "signer_source": verification.signer_source}
    if verification.files_checked is None:
        result["status"] = "no_manifest"
    elif verification.trusted:
        result["status"] = "verified"
    elif verification.signed_by:
        result["status"] = "signed_untrusted"
    else:
        result["status"] = "unsigned"
    return result


def model_details(config: ServerConfig, uri: str) -> dict[str, Any]:
    """The details of the model folder at ``uri`` (see the module's docstring)."""
    repository = repository_for(config, uri)
    files = _listing(repository)
    sizes = dict(files)
    model = _mlmodel(repository, uri, sizes)
    return {
        "artifact_uri": uri,
        "flavors": model.flavors,
        "signature": _signature(model),
        **_input_example(repository, model, sizes),
        "environment": _environment(repository, model, sizes),
        "integrity": integrity_of(config, uri),
        "size_bytes": model.model_size_bytes if model.model_size_bytes is not None else sum(s for _, s in files),
        "files": len(files),
        "has_manifest": any(path == MANIFEST_FILE_NAME for path, _ in files),
        "mlflow_version": model.mlflow_version,
        "utc_time_created": model.utc_time_created,
        "run_id": model.run_id,
        "model_id": model.model_id,
    }


def model_version_details(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    root = ctx.registry.get_model_version_download_uri(args["name"], args["version"])
    return {"name": args["name"], "version": args["version"], **model_details(ctx.config, root)}


def logged_model_details(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    model = ctx.tracking.get_logged_model(args["model_id"])
    return {"model_id": args["model_id"], **model_details(ctx.config, model.artifact_location)}


# -- scoring ---------------------------------------------------------------------------------------------------------

def _digest(folder: Path) -> str:
    """A digest of the folder's contents as listed (paths, sizes, modification times) and of its MLmodel and
    manifest: a changed model gets a new cache key."""
    hasher = hashlib.sha256()
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            info = os.lstat(path)
            hasher.update(f"{os.path.relpath(path, folder)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    for name in ("MLmodel", MANIFEST_FILE_NAME):
        file = folder / name
        if file.is_file():
            hasher.update(file.read_bytes())
    return hasher.hexdigest()[:24]


def score_model_version(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    request = args["request"]
    if not isinstance(request, dict):
        raise MlcaskException("Invalid value for parameter 'request': expected MLflow's scoring request as a JSON "
                              "object (with dataframe_split, dataframe_records, instances or inputs), got "
                              f"{type(request).__name__}.", BAD_REQUEST)
    started = time.perf_counter()
    root = ctx.registry.get_model_version_download_uri(args["name"], args["version"])
    folder = local_model_folder(ctx.config, root)
    key = f"{args['name']}/{args['version']}@{_digest(folder)}"
    answer = ctx.state.scoring.score(key, folder, request)
    return {"predictions": answer["predictions"], "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "predict_ms": answer.get("predict_ms"), "load_ms": answer.get("load_ms"),
            "from_cache": answer.get("from_cache"), "model": {"name": args["name"], "version": args["version"]}}


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/model-versions/details", model_version_details, (
        F("name", "string", required=True), F("version", "string", required=True)),
        "A model version's flavors, signature, input example, environment and integrity.", _GROUP,
        prefix=MLCASK_PREFIX),
    Endpoint("GET", "/logged-models/details", logged_model_details, (F("model_id", "string", required=True),),
             "A logged model's flavors, signature, input example, environment and integrity.", _GROUP,
             prefix=MLCASK_PREFIX),
    Endpoint("POST", "/model-versions/score", score_model_version, (
        F("name", "string", required=True), F("version", "string", required=True),
        F("request", "json", required=True, description="MLflow's scoring request (dataframe_split, "
                                                         "dataframe_records, instances or inputs; params)")),
        "Score a model version in a worker process (the web UI's Test tab).", _GROUP, prefix=MLCASK_PREFIX),
)


def routes() -> list[Endpoint]:
    """The model-view endpoints."""
    return list(ENDPOINTS)
