"""The MLmodel file: a model folder's metadata, read and written as MLflow 3.x does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlcask.exceptions import ModelFormatError, ModelNotFoundError
from mlcask.utils.bounded_yaml import load_yaml
from mlcask.version import MLFLOW_FORMAT_VERSION, __version__

_logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mlcask.models.signature import ModelSignature
    from mlcask.types import ParamSchema, Schema

MLMODEL_FILE_NAME = "MLmodel"
# MLflow's message for set_model() given something that is not a model (see mlcask.models.from_code).
SET_MODEL_ERROR = "Model should either be an instance of PyFuncModel, Langchain type, or LlamaIndex index."
# The model a models-from-code file set last (MLflow's name; see mlcask.models.set_model).
__mlflow_model__ = None
MAX_MLMODEL_BYTES = 8 << 20
PYFUNC_FLAVOR = "python_function"

# Fields MLflow drops from MLmodel when they are None.
_DROPPED_WHEN_NONE = (
    "artifact_path", "run_id", "metadata", "resources", "model_size_bytes",
    "auth_policy", "env_vars", "saved_input_example_info", "signature",
)


class Model:
    """An MLflow model's metadata, as stored in its ``MLmodel`` file.

    Every field MLflow 3.x writes is kept, and fields this version does not know are
    carried through unchanged, so reading and writing an MLmodel file loses nothing.
    """

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | Callable[[], str] | None = lambda: uuid.uuid4().hex,
        mlflow_version: str | None = MLFLOW_FORMAT_VERSION,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        resources: Any = None,
        env_vars: list[str] | None = None,
        auth_policy: Any = None,
        model_id: str | None = None,
        prompts: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = utc_time_created or str(dt.datetime.now(dt.UTC).replace(tzinfo=None))
        self.flavors = flavors if flavors is not None else {}
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        # A new id by default; None (an MLmodel file without one) stays None, as in MLflow.
        self.model_uuid = model_uuid() if callable(model_uuid) else model_uuid
        self.mlflow_version = mlflow_version
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.resources = resources
        self.env_vars = env_vars
        self.auth_policy = auth_policy
        self.model_id = model_id
        self.prompts = prompts
        self.is_signature_from_type_hint = kwargs.pop("is_signature_from_type_hint", False)
        self.type_hint_from_example = kwargs.pop("type_hint_from_example", False)
        self.mlcask_version = kwargs.pop("mlcask_version", __version__)
        # Fields written by other MLflow releases or tools, kept as they were.
        self.extra_fields: dict[str, Any] = kwargs

    # -- flavors --------------------------------------------------------------------
    def add_flavor(self, name: str, **params: Any) -> Model:
        """Record a flavor and its configuration; returns ``self`` for chaining."""
        self.flavors[name] = params
        return self

    def flavor(self, name: str) -> dict[str, Any]:
        """The configuration of flavor ``name``, or a clear error naming what the model has."""
        try:
            return self.flavors[name]
        except KeyError:
            raise ModelFormatError(
                f"The model has no '{name}' flavor; its MLmodel file lists the flavors "
                f"{sorted(self.flavors)}."
            ) from None

    # -- signature accessors (MLflow's names) --------------------------------------
    def _is_signature_from_type_hint(self) -> bool:
        """Whether the signature was read from ``predict``'s type hints (MLflow's name)."""
        return bool(self.is_signature_from_type_hint
                    or getattr(self.signature, "_is_signature_from_type_hint", False))

    def get_input_schema(self) -> Schema | None:
        """The input schema of the model's signature, or None without one."""
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        """The output schema of the model's signature, or None without one."""
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        """The params schema of the model's signature, or None without one."""
        return getattr(self.signature, "params", None) if self.signature is not None else None

    def get_model_info(self, logged_model: Any = None) -> ModelInfo:
        """This metadata as a :class:`ModelInfo`, its ``model_uri`` as MLflow writes it."""
        uri = f"models:/{self.model_id}" if self.model_id else f"runs:/{self.run_id}/{self.artifact_path}"
        return ModelInfo.from_model(self, model_uri=uri, logged_model=logged_model)

    # -- the input example saved with the model ----------------------------------------
    def _example_folder(self, path: str | os.PathLike | None) -> Path:
        from mlcask.models.uri import resolve_model_path

        if path is None:
            path = f"models:/{self.model_id}" if self.model_id else f"runs:/{self.run_id}/{self.artifact_path}"
        return resolve_model_path(path)

    def load_input_example(self, path: str | os.PathLike | None = None) -> Any:
        """The input example saved with the model, or None when it was saved without one.

        Parameters
        ----------
        path : str or path-like, optional
            The model folder, or a ``runs:/`` or ``models:/`` URI; by default the model this
            metadata was logged as.

        Raises
        ------
        FileNotFoundError
            When the metadata names an example file that the folder does not hold.
        """
        from mlcask.models.input_example import InputExampleNotFoundError, load_input_example

        if self.saved_input_example_info is None:
            return None
        is_uri = path is None or len(urllib.parse.urlparse(os.fspath(path)).scheme) > 1
        folder = self._example_folder(path) if is_uri else Path(path)
        name = self.saved_input_example_info.get("artifact_path", "input_example.json")
        if not (folder / name).is_file():  # as MLflow: the error of opening the file
            raise InputExampleNotFoundError(f"[Errno 2] No such file or directory: '{folder / name}'")
        return load_input_example(self, folder)

    def load_input_example_params(self, path: str | os.PathLike) -> dict[str, Any] | None:
        """The params saved with the input example (``(data, params)`` examples), or None."""
        from mlcask.models.input_example import load_input_example_params

        if self.saved_input_example_info is None:
            return None
        return load_input_example_params(self, self._example_folder(path))

    def get_serving_input(self, path: str | os.PathLike) -> str | None:
        """The text of the model's ``serving_input_example.json``, or None when it has none."""
        name = (self.saved_input_example_info or {}).get("serving_input_path")
        if not isinstance(name, str):
            return None
        file = self._example_folder(path) / name
        return file.read_text() if file.is_file() else None

    # -- logging into a run (the tracking layer does the work) -------------------------
    @classmethod
    def log(cls, artifact_path: str | None, flavor: Any, registered_model_name: str | None = None,
            await_registration_for: int = 300, metadata: dict[str, Any] | None = None,
            run_id: str | None = None, resources: Any = None, auth_policy: Any = None,
            prompts: list[str] | None = None, name: str | None = None, model_type: str | None = None,
            params: dict[str, Any] | None = None, tags: dict[str, Any] | None = None, step: int = 0,
            model_id: str | None = None, **kwargs: Any) -> ModelInfo:
        """Log a model with ``flavor`` (a module with ``save_model``) into the active run.

        ``flavor.save_model(path=..., mlflow_model=..., **kwargs)`` writes the folder; it is
        logged as a logged model of the run (``models:/<model_id>``), and registered as a
        new version of ``registered_model_name`` when given. A run is started if none is active.
        """
        from mlcask.models.logging_hook import log_with_flavor

        return log_with_flavor(
            cls, ModelInfo, flavor, name=name, artifact_path=artifact_path, registered_model_name=registered_model_name,
            await_registration_for=await_registration_for, metadata=metadata, run_id=run_id,
            resources=resources, auth_policy=auth_policy, prompts=prompts, model_type=model_type,
            params=params, tags=tags, step=step, model_id=model_id, save_kwargs=kwargs)

    # -- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        res: dict[str, Any] = {
            "artifact_path": self.artifact_path,
            "run_id": self.run_id,
            "utc_time_created": self.utc_time_created,
            "flavors": self.flavors,
            "saved_input_example_info": self.saved_input_example_info,
            "model_uuid": self.model_uuid,
            "mlflow_version": self.mlflow_version,
            "mlcask_version": self.mlcask_version,
            "metadata": self.metadata,
            "model_size_bytes": self.model_size_bytes,
            "resources": self.resources,
            "env_vars": self.env_vars,
            "auth_policy": self.auth_policy,
            "model_id": self.model_id,
            "prompts": self.prompts,
            **self.extra_fields,
        }
        if self.signature is not None:
            res["signature"] = self.signature.to_dict()
            res["is_signature_from_type_hint"] = bool(
                self.is_signature_from_type_hint or getattr(self.signature, "_is_signature_from_type_hint", False))
            res["type_hint_from_example"] = bool(
                self.type_hint_from_example or getattr(self.signature, "_is_type_hint_from_example", False))
        for key in _DROPPED_WHEN_NONE:
            if res.get(key, 0) is None:
                del res[key]
        if self.mlflow_version is None:
            del res["mlflow_version"]
        return res

    def to_yaml(self, stream: Any = None) -> str | None:
        """The MLmodel YAML text; written to ``stream`` instead when one is given (then None)."""
        return yaml.safe_dump(self.to_dict(), stream=stream, default_flow_style=False)

    def to_json(self) -> str:
        """The MLmodel fields as JSON."""
        import json

        return json.dumps(self.to_dict())

    def __str__(self) -> str:
        return self.to_yaml()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def save(self, path: str | os.PathLike) -> None:
        """Write this metadata as an ``MLmodel`` YAML file at ``path``."""
        Path(path).write_text(self.to_yaml())

    @classmethod
    def from_dict(cls, model_dict: dict[str, Any]) -> Model:
        fields = dict(model_dict)
        if isinstance(fields.get("signature"), dict):
            from mlcask.models.signature import ModelSignature

            fields["signature"] = ModelSignature.from_dict(fields["signature"])
        fields.setdefault("model_uuid", None)
        fields.setdefault("mlflow_version", None)
        return cls(**fields)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Model:
        """Read a model's ``MLmodel`` file.

        ``path`` is the model folder or its MLmodel file, a ``file:`` URI, or a ``runs:/``
        or ``models:/`` URI (resolved through the tracking layer).
        """
        if isinstance(path, str) and len(urllib.parse.urlparse(path).scheme) > 1:
            from mlcask.models.uri import resolve_model_path

            # a one-letter scheme is a Windows drive; "<model URI>/MLmodel" names the model's file
            uri = path.rstrip("/")
            folder_uri = uri[:-len(MLMODEL_FILE_NAME) - 1] if uri.endswith("/" + MLMODEL_FILE_NAME) else uri
            path = resolve_model_path(folder_uri)
        path = Path(path)
        file = path / MLMODEL_FILE_NAME if path.is_dir() else path
        try:
            with open(file, "rb") as handle:
                data = handle.read(MAX_MLMODEL_BYTES + 1)
        except FileNotFoundError:
            if not path.exists():
                raise ModelNotFoundError(f"No model at '{path}': the path does not exist.") from None
            raise ModelFormatError(
                f"'{path}' is not an MLflow model folder: it has no '{MLMODEL_FILE_NAME}' file."
            ) from None
        return cls.from_yaml(data, str(file))

    @classmethod
    def from_yaml(cls, data: bytes | str, where: str = MLMODEL_FILE_NAME) -> Model:
        """Parse the text of an ``MLmodel`` file (read from ``where``, named in errors).

        At most ``MAX_MLMODEL_BYTES`` are read, and YAML aliases may not blow it up
        (:func:`mlcask.utils.bounded_yaml.load_yaml`): real MLmodel files are a few KB.
        """
        try:
            content = load_yaml(data, "it", MAX_MLMODEL_BYTES)
        except (ModelFormatError, UnicodeDecodeError) as exc:
            raise ModelFormatError(f"Malformed MLmodel file '{where}': {exc}") from None
        if not isinstance(content, dict):
            raise ModelFormatError(
                f"Malformed MLmodel file '{where}': expected a YAML mapping of fields, "
                f"got {type(content).__name__}."
            )
        flavors = content.get("flavors")
        # An empty mapping is allowed, as MLflow writes and reads a Model with no flavors yet.
        if not isinstance(flavors, dict) \
                or not all(isinstance(k, str) and isinstance(v, dict) for k, v in flavors.items()):
            raise ModelFormatError(
                f"Malformed MLmodel file '{where}': expected a 'flavors' mapping of flavor names to "
                f"mappings, got {_shown(flavors)}."
            )
        content = {str(k): v for k, v in content.items()}
        try:
            return cls.from_dict(content)
        except (ModelFormatError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ModelFormatError(f"Malformed MLmodel file '{where}': {exc}") from None


def get_model_info(model_uri: str | os.PathLike) -> ModelInfo:
    """The :class:`ModelInfo` of the model at ``model_uri`` (a path, ``runs:/`` or ``models:/`` URI).

    For a ``runs:/`` or ``models:/`` URI, the logged model's tracking record (params, tags,
    metrics) comes along, read through the tracking layer.
    """
    from mlcask.models.logging_hook import logged_model_of

    model = Model.load(model_uri)
    through_store = isinstance(model_uri, str) and model_uri.startswith(("models:", "runs:"))
    return model.get_model_info(logged_model_of(model.model_id) if through_store else None)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


@dataclasses.dataclass(eq=False)
class ModelInfo:
    """What ``save_model``/``log_model`` return: where the model is and what it holds.

    ``logged_model`` is the tracking record of a logged model (None for a saved one); its
    ``name``, ``params``, ``tags``, ``metrics`` and ``creation_timestamp`` show through.
    """

    artifact_path: str | None
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str | None
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    mlflow_version: str | None
    metadata: dict[str, Any] | None = None
    model_id: str | None = None
    registered_model_version: int | None = None
    env_vars: list[str] | None = None
    prompts: list[str] | None = None
    logged_model: Any = None

    @property
    def name(self) -> str | None:
        """The logged model's name (its artifact path for a model saved outside a run)."""
        return getattr(self.logged_model, "name", None) or self.artifact_path

    @property
    def params(self) -> dict[str, str] | None:
        return getattr(self.logged_model, "params", None)

    @property
    def tags(self) -> dict[str, str] | None:
        return getattr(self.logged_model, "tags", None)

    @property
    def metrics(self) -> list[Any] | None:
        return getattr(self.logged_model, "metrics", None)

    @property
    def creation_timestamp(self) -> int | None:
        return getattr(self.logged_model, "creation_timestamp", None)

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature is not None else None

    @classmethod
    def from_model(cls, model: Model, model_uri: str | None = None, logged_model: Any = None) -> ModelInfo:
        return cls(
            artifact_path=model.artifact_path,
            flavors=model.flavors,
            model_uri=model_uri or "",
            model_uuid=model.model_uuid,
            run_id=model.run_id,
            saved_input_example_info=model.saved_input_example_info,
            signature=model.signature,
            utc_time_created=model.utc_time_created,
            mlflow_version=model.mlflow_version,
            metadata=model.metadata,
            model_id=model.model_id,
            env_vars=model.env_vars,
            prompts=model.prompts,
            logged_model=logged_model,
        )
