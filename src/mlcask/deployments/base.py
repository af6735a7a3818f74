"""MLflow's deployment client contract: :class:`BaseDeploymentClient` and :class:`PredictionsResponse`.

The names, arguments and return values are those of ``mlflow.deployments``, so code written
for an MLflow deployment plugin runs against mlcask's client
(:class:`mlcask.deployments.client.MlcaskDeploymentClient`) unchanged.
"""

from __future__ import annotations

import abc
import json
from typing import Any

from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

__all__ = ["NOT_IMPLEMENTED", "BaseDeploymentClient", "PredictionsResponse"]

NOT_IMPLEMENTED = "NOT_IMPLEMENTED"


class PredictionsResponse(dict):
    """The answer of a scoring request (``{"predictions": ...}`` and any other fields the server sent).

    A ``dict``, as MLflow's, with the predictions in the format asked for.
    """

    def get_predictions(self, predictions_format: str = "dataframe", dtype: Any = None) -> Any:
        """The predictions as a pandas DataFrame or a numpy array.

        Parameters
        ----------
        predictions_format
            ``"dataframe"`` (default) or ``"ndarray"``.
        dtype
            For ``"ndarray"``: the numpy dtype to convert to.

        Returns
        -------
        pandas.DataFrame or numpy.ndarray
        """
        predictions = self["predictions"]
        if predictions_format == "dataframe":
            import pandas as pd

            if isinstance(predictions, str):
                return pd.DataFrame(data=[predictions])
            if isinstance(predictions, dict) and not any(isinstance(v, (list, tuple)) for v in predictions.values()):
                return pd.DataFrame(data=predictions, index=[0])  # one row of named scalars
            return pd.DataFrame(data=predictions)
        if predictions_format == "ndarray":
            import numpy as np

            return np.array(predictions, dtype)
        raise MlcaskException(f"predictions_format={predictions_format!r}: expected 'dataframe' or 'ndarray'.",
                              error_code=INVALID_PARAMETER_VALUE)

    def to_json(self, path: str | None = None) -> str | None:
        """The response as JSON text, or written to the file ``path`` (then None)."""
        text = json.dumps(dict(self))
        if path is None:
            return text
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
        return None

    @classmethod
    def from_json(cls, json_str: str) -> PredictionsResponse:
        """A response read from JSON text, which must be an object with ``predictions``."""
        try:
            parsed = json.loads(json_str)
        except ValueError as exc:
            raise MlcaskException(f"The predictions response is not valid JSON: {exc}.") from None
        if not isinstance(parsed, dict) or "predictions" not in parsed:
            shown = json_str if len(json_str) <= 300 else json_str[:300] + "..."
            raise MlcaskException("The predictions response must be a JSON object with a 'predictions' field; "
                                  f"got {shown}")
        return cls(parsed)


class BaseDeploymentClient(abc.ABC):
    """What every deployment client offers (MLflow's ``mlflow.deployments.BaseDeploymentClient``).

    Parameters
    ----------
    target_uri
        The target the client was made for.
    """

    def __init__(self, target_uri: str) -> None:
        self.target_uri = target_uri

    @abc.abstractmethod
    def create_deployment(self, name: str, model_uri: str, flavor: str | None = None,
                          config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        """Deploy ``model_uri`` as ``name``; returns the deployment (a dict with ``name``)."""

    @abc.abstractmethod
    def update_deployment(self, name: str, model_uri: str | None = None, flavor: str | None = None,
                          config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        """Change a deployment's model and/or config; returns the deployment."""

    @abc.abstractmethod
    def delete_deployment(self, name: str, config: dict[str, Any] | None = None,
                          endpoint: str | None = None) -> None:
        """Delete a deployment (deleting one that is gone is no error)."""

    @abc.abstractmethod
    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """Every deployment (of ``endpoint``, when given), each a dict with ``name``."""

    @abc.abstractmethod
    def get_deployment(self, name: str, endpoint: str | None = None) -> dict[str, Any]:
        """One deployment, a dict with ``name``; an error when there is none."""

    @abc.abstractmethod
    def predict(self, deployment_name: str | None = None, inputs: Any = None, endpoint: str | None = None,
                params: dict[str, Any] | None = None) -> PredictionsResponse:
        """Score ``inputs`` with a deployment or an endpoint."""

    def predict_stream(self, deployment_name: str | None = None, inputs: Any = None,
                       endpoint: str | None = None) -> Any:
        """Streamed predictions; a target without them raises NotImplementedError."""
        raise NotImplementedError(f"{type(self).__name__} does not stream predictions.")

    def explain(self, deployment_name: str | None = None, df: Any = None, endpoint: str | None = None) -> Any:
        """Explanations of predictions; a target without them raises an MlcaskException."""
        raise MlcaskException(f"Explaining predictions is not supported by {type(self).__name__}.",
                              error_code=NOT_IMPLEMENTED)

    def create_endpoint(self, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create an endpoint; returns it (a dict with ``name``)."""
        raise MlcaskException(f"{type(self).__name__} has no endpoints.", error_code=NOT_IMPLEMENTED)

    def update_endpoint(self, endpoint: str, config: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Change an endpoint's config."""
        raise MlcaskException(f"{type(self).__name__} has no endpoints.", error_code=NOT_IMPLEMENTED)

    def delete_endpoint(self, endpoint: str) -> None:
        """Delete an endpoint (deleting one that is gone is no error)."""
        raise MlcaskException(f"{type(self).__name__} has no endpoints.", error_code=NOT_IMPLEMENTED)

    def list_endpoints(self) -> list[dict[str, Any]]:
        """Every endpoint, each a dict with ``name``."""
        raise MlcaskException(f"{type(self).__name__} has no endpoints.", error_code=NOT_IMPLEMENTED)

    def get_endpoint(self, endpoint: str) -> dict[str, Any]:
        """One endpoint, a dict with ``name``; an error when there is none."""
        raise MlcaskException(f"{type(self).__name__} has no endpoints.", error_code=NOT_IMPLEMENTED)
