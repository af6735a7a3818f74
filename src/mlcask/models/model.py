"""The MLmodel file: a model folder's metadata, read and written as MLflow 3.x does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlcask.exceptions import ModelFormatError, ModelNotFoundError
from mlcask.utils.bounded_yaml import load_yaml
from mlcask.version import MLFLOW_FORMAT_VERSION, __version__

if TYPE_CHECKING:
    from mlcask.models.signature import ModelSignature
    from mlcask.types import ParamSchema, Schema

MLMODEL_FILE_NAME = "MLmodel"
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
        model_uuid: str | None = None,
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
        self.model_uuid = model_uuid if model_uuid is not None else uuid.uuid4().hex
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
    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        return getattr(self.signature, "params", None) if self.signature is not None else None

    def get_model_info(self) -> ModelInfo:
        return ModelInfo.from_model(self)

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
            res["is_signature_from_type_hint"] = self.is_signature_from_type_hint
            res["type_hint_from_example"] = self.type_hint_from_example
        for key in _DROPPED_WHEN_NONE:
            if res.get(key, 0) is None:
                del res[key]
        if self.mlflow_version is None:
            del res["mlflow_version"]
        return res

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), default_flow_style=False)

    def __str__(self) -> str:
        return self.to_yaml()

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
        """Read a model folder's ``MLmodel`` file (``path`` is the folder or the file)."""
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
        if not isinstance(flavors, dict) or not flavors \
                or not all(isinstance(k, str) and isinstance(v, dict) for k, v in flavors.items()):
            raise ModelFormatError(
                f"Malformed MLmodel file '{where}': expected a non-empty 'flavors' mapping of flavor names to "
                f"mappings, got {_shown(flavors)}."
            )
        content = {str(k): v for k, v in content.items()}
        try:
            return cls.from_dict(content)
        except (ModelFormatError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ModelFormatError(f"Malformed MLmodel file '{where}': {exc}") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


@dataclasses.dataclass
class ModelInfo:
    """What ``save_model``/``log_model`` return: where the model is and what it holds."""

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

    @property
    def name(self) -> str | None:
        return self.artifact_path

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature is not None else None

    @classmethod
    def from_model(cls, model: Model, model_uri: str | None = None) -> ModelInfo:
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
        )
