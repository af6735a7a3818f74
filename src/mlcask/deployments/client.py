"""The ``mlflow.deployments``-style client of ``mlcask server``'s managed endpoints.

``get_deploy_client("http://host:5000")`` returns a :class:`MlcaskDeploymentClient`, with
MLflow's ``BaseDeploymentClient`` methods and arguments, calling the server's management API
(``/api/2.0/mlcask/endpoints/...`` and ``/api/2.0/mlcask/deployments/...``) and its scoring
routes (``/endpoints/<endpoint>/invocations``). Requests go through the tracking client's HTTP
layer (:mod:`mlcask.tracking.rest.http`): the same credentials (``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD`` or ``MLFLOW_TRACKING_TOKEN``), TLS settings, timeouts and retries,
and the server's errors raised as :class:`~mlcask.exceptions.MlcaskException` with its message
and code.

Deployments live in endpoints. A deployment created without ``endpoint`` gets an endpoint of
its own name; the other deployment methods, given no ``endpoint``, find the one endpoint that
holds a deployment of that name. Creating or updating a deployment waits until it serves (its
state is ``ready``) or fails (then raises with the server's message).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from mlcask.deployments.base import NOT_IMPLEMENTED, BaseDeploymentClient, PredictionsResponse
from mlcask.deployments.targets import get_deployments_target, resolve_target
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException

__all__ = ["DEFAULT_WAIT_S", "MlcaskDeploymentClient", "get_deploy_client", "is_scoring_payload", "scoring_payload"]

DEFAULT_WAIT_S = 600.0
_API = "/mlcask"
# The keys of a body that already is a scoring payload (MLflow's four, and Azure ML's input_data).
_AZURE_KEY = "input_data"
_READY, _FAILED = "ready", ("failed", "stopped")


def get_deploy_client(target_uri: str | None = None) -> MlcaskDeploymentClient:
    """A deployment client of the ``mlcask server`` that ``target_uri`` names.

    Parameters
    ----------
    target_uri
        ``"mlcask"`` (the tracking server: the tracking URI must be ``http(s)://``),
        ``"mlcask:/http(s)://host:port"`` or ``"http(s)://host:port"``. None: the target set by
        :func:`~mlcask.deployments.targets.set_deployments_target`, else ``MLFLOW_DEPLOYMENTS_TARGET``,
        else ``"mlcask"``.

    Returns
    -------
    MlcaskDeploymentClient

    Examples
    --------
    >>> client = get_deploy_client("http://127.0.0.1:5000")  # doctest: +SKIP
    >>> client.create_deployment("blue", "models:/iris@champion", endpoint="iris")  # doctest: +SKIP
    >>> client.predict(endpoint="iris", inputs=df).get_predictions()  # doctest: +SKIP
    """
    return MlcaskDeploymentClient(target_uri)


def _check_name(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{what}: expected a non-empty name, got {value!r}.")
    return value


def _check_config(config: Any, where: str) -> dict[str, Any] | None:
    if config is None:
        return None
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise InvalidArgumentError(f"{where}: config must be a dict with string keys, got {type(config).__name__}.")
    return dict(config)


def is_scoring_payload(inputs: Any) -> bool:
    """Whether ``inputs`` already is a scoring request body (MLflow's payload keys, or Azure ML's ``input_data``)."""
    from mlcask.models.serving_input import PAYLOAD_KEYS

    return isinstance(inputs, dict) and any(k in inputs for k in (*PAYLOAD_KEYS, _AZURE_KEY))


def scoring_payload(inputs: Any, params: dict[str, Any] | None = None) -> bytes:
    """The JSON body of a scoring request for ``inputs``.

    Parameters
    ----------
    inputs
        A dict that already is a scoring payload (``dataframe_split``, ``dataframe_records``,
        ``instances``, ``inputs`` or Azure ML's ``input_data``) is sent as it is; anything else
        (a pandas DataFrame or Series, a numpy array, a dict, a list, a scalar) is encoded as
        MLflow's ``serving_input_example.json`` encodes an input example.
    params
        Inference parameters, sent as the payload's ``params``.

    Returns
    -------
    bytes
    """
    from mlcask.models.serving_input import convert_input_example_to_serving_input

    if params is not None and not isinstance(params, dict):
        raise InvalidArgumentError(f"predict: params must be a dict, got {type(params).__name__}.")
    if inputs is None:
        raise InvalidArgumentError("predict: inputs is required (a DataFrame, numpy array, dict, list or a "
                                   "scoring payload).")
    if is_scoring_payload(inputs):
        if params and "params" in inputs:
            raise InvalidArgumentError("predict: params given twice, as the argument and inside the payload.")
        body = {**inputs, "params": params} if params else inputs
        try:
            return json.dumps(body).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"predict: the payload is not JSON-serializable: {exc}.") from None
    try:
        text = convert_input_example_to_serving_input((inputs, params) if params else inputs)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"predict: cannot encode inputs of type {type(inputs).__name__}: "
                                   f"{exc.message}") from None
    return (text or "").encode()


def _serving_spec(deployment: dict[str, Any]) -> tuple[Any, ...]:
    """What a deployment's worker is started from (a change starts a new worker; traffic does not)."""
    config = {k: v for k, v in (deployment.get("config") or {}).items() if k != "traffic"}
    return deployment.get("model_uri"), deployment.get("flavor"), json.dumps(config, sort_keys=True, default=str)


def _serves(deployment: dict[str, Any], replaces: dict[str, Any] | None) -> bool:
    if deployment.get("state") != _READY or deployment.get("next_version"):
        return False
    if replaces is None or replaces.get("state") != _READY:
        return True
    return (deployment.get("pid"), deployment.get("port")) != (replaces.get("pid"), replaces.get("port"))


def _raise_if_failed(deployment: dict[str, Any]) -> None:
    """An error with the server's message when the deployment (or the version starting beside it) failed."""
    where = f"Deployment {deployment.get('name')!r} of endpoint {deployment.get('endpoint')!r}"
    pending = deployment.get("next_version") or {}
    if pending.get("state") in _FAILED:
        raise MlcaskException(f"{where}: the new version ({pending.get('resolved_uri')}) is {pending['state']}: "
                              f"{pending.get('message') or 'no message'}. The previous version goes on serving.",
                              error_code="DEPLOYMENT_FAILED")
    if deployment.get("state") in _FAILED:
        raise MlcaskException(f"{where} is {deployment['state']}: {deployment.get('message') or 'no message'}. "
                              "The server goes on retrying; delete_deployment() (`mlcask deployments delete`) "
                              "removes it.", error_code="DEPLOYMENT_FAILED")


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


class MlcaskDeploymentClient(BaseDeploymentClient):
    """Manage and score the endpoints and deployments of one ``mlcask server``.

    Parameters
    ----------
    target_uri
        See :func:`get_deploy_client`.
    wait_timeout
        Seconds create and update wait for a deployment to serve (default 600).
    """

    def __init__(self, target_uri: str | None = None, *, wait_timeout: float = DEFAULT_WAIT_S) -> None:
        from mlcask.tracking.rest.http import server_client

        target = get_deployments_target() if target_uri is None else target_uri
        super().__init__(target)
        self.server_url = resolve_target(target)
        self.wait_timeout = float(wait_timeout)
        server_client(self.server_url)  # a bad TLS or timeout setting fails here, not on first use

    def __repr__(self) -> str:
        from mlcask.utils.redaction import redact_uri

        return f"MlcaskDeploymentClient({redact_uri(self.server_url)!r})"

    # -- transport ---------------------------------------------------------------------------
    @property
    def _http(self) -> Any:
        from mlcask.tracking.rest.http import server_client

        return server_client(self.server_url)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._http.call(method, f"{_API}/{path}", body)

    # -- endpoints ---------------------------------------------------------------------------
    def create_endpoint(self, name: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create an endpoint (``config``: e.g. ``{"traffic": {...}}``); returns it as a dict."""
        body = {"name": _check_name("create_endpoint: name", name),
                "config": _check_config(config, "create_endpoint")}
        return self._call("POST", "endpoints/create", body)["endpoint"]

    def update_endpoint(self, endpoint: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change an endpoint's config (``{"traffic": {"blue": 90, "green": 10}}``); returns the endpoint."""
        body = {"name": _check_name("update_endpoint: endpoint", endpoint),
                "config": _check_config(config, "update_endpoint") or {}}
        return self._call("POST", "endpoints/update", body)["endpoint"]

    def delete_endpoint(self, endpoint: str) -> None:
        """Delete an endpoint and its deployments; an endpoint that is not there is no error."""
        body = {"name": _check_name("delete_endpoint: endpoint", endpoint)}
        try:
            self._call("POST", "endpoints/delete", body)
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                raise

    def list_endpoints(self) -> list[dict[str, Any]]:
        """Every endpoint of the server, each a dict with ``name``, ``url``, ``traffic``, ``deployments``."""
        return list(self._call("GET", "endpoints/list").get("endpoints", []))

    def get_endpoint(self, endpoint: str) -> dict[str, Any]:
        """One endpoint; an :class:`MlcaskException` (``RESOURCE_DOES_NOT_EXIST``) when there is none."""
        return self._call("GET", "endpoints/get", {"name": _check_name("get_endpoint: endpoint", endpoint)})["endpoint"]

    # -- deployments -------------------------------------------------------------------------
    def create_deployment(self, name: str, model_uri: str, flavor: str | None = None,
                          config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        """Deploy ``model_uri`` as ``name`` in ``endpoint`` (default: an endpoint named ``name``).

        Waits until the deployment serves; a deployment that fails to start raises with the server's
        message. Returns the deployment as a dict.
        """
        name = _check_name("create_deployment: name", name)
        body = {"endpoint": _check_name("create_deployment: endpoint", endpoint or name), "name": name,
                "model_uri": _check_name("create_deployment: model_uri", model_uri), "flavor": flavor,
                "config": _check_config(config, "create_deployment")}
        deployment = self._call("POST", "deployments/create", body)["deployment"]
        return self._wait_ready(deployment)

    def update_deployment(self, name: str, model_uri: str | None = None, flavor: str | None = None,
                          config: dict[str, Any] | None = None, endpoint: str | None = None) -> dict[str, Any]:
        """Serve another model and/or change the config of a deployment; waits until it serves."""
        name = _check_name("update_deployment: name", name)
        if flavor is not None and model_uri is None:
            raise InvalidArgumentError(f"update_deployment({name!r}): flavor={flavor!r} was given without model_uri; "
                                       "a flavor applies to a new model.")
        config = _check_config(config, "update_deployment")
        if model_uri is None and not config:
            raise InvalidArgumentError(f"update_deployment({name!r}): nothing to change; give model_uri and/or "
                                       "config.")
        endpoint = endpoint or self._endpoint_of(name)
        before = self._call("GET", "deployments/get", {"endpoint": endpoint, "name": name})["deployment"]
        body = {"endpoint": endpoint, "name": name, "model_uri": model_uri, "flavor": flavor, "config": config}
        deployment = self._call("POST", "deployments/update", body)["deployment"]
        if _serving_spec(deployment) == _serving_spec(before):
            return deployment  # a traffic change: the same worker goes on serving
        return self._wait_ready(deployment, replaces=before)

    def delete_deployment(self, name: str, config: dict[str, Any] | None = None,
                          endpoint: str | None = None) -> None:
        """Stop and delete a deployment; one that is not there is no error (MLflow's contract)."""
        name = _check_name("delete_deployment: name", name)
        if _check_config(config, "delete_deployment"):
            raise InvalidArgumentError(f"delete_deployment({name!r}): takes no config, got keys {sorted(config)}.")
        try:
            endpoint = endpoint or self._endpoint_of(name)
            self._call("POST", "deployments/delete", {"endpoint": endpoint, "name": name})
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                raise

    def list_deployments(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """The deployments of ``endpoint``, or of every endpoint; each a dict with ``name`` and ``endpoint``."""
        if endpoint is not None:
            answer = self._call("GET", "deployments/list", {"endpoint": _check_name("list_deployments: endpoint",
                                                                                     endpoint)})
            return list(answer.get("deployments", []))
        found: list[dict[str, Any]] = []
        for item in self.list_endpoints():
            if item.get("deployments"):
                found.extend(self._call("GET", "deployments/list", {"endpoint": item["name"]}).get("deployments", []))
        return found

    def get_deployment(self, name: str, endpoint: str | None = None) -> dict[str, Any]:
        """One deployment; an :class:`MlcaskException` (``RESOURCE_DOES_NOT_EXIST``) when there is none."""
        name = _check_name("get_deployment: name", name)
        endpoint = endpoint or self._endpoint_of(name)
        return self._call("GET", "deployments/get", {"endpoint": endpoint, "name": name})["deployment"]

    def _endpoint_of(self, name: str) -> str:
        """The one endpoint holding a deployment called ``name``."""
        endpoints = self.list_endpoints()
        holding = [e["name"] for e in endpoints if name in (e.get("deployments") or [])]
        if len(holding) == 1:
            return holding[0]
        if not holding:
            known = ", ".join(sorted(e["name"] for e in endpoints)) or "none"
            raise MlcaskException(f"No deployment named {name!r} on the server at {self._shown_url()} "
                                  f"(endpoints: {known}).", error_code=RESOURCE_DOES_NOT_EXIST)
        raise InvalidArgumentError(f"Deployment {name!r} is on several endpoints ({', '.join(sorted(holding))}): "
                                   "say which with endpoint=... (--endpoint).")

    def _shown_url(self) -> str:
        from mlcask.utils.redaction import redact_uri

        return redact_uri(self.server_url)

    def _wait_ready(self, deployment: dict[str, Any], replaces: dict[str, Any] | None = None) -> dict[str, Any]:
        """Poll the deployment until it serves; raise when it fails or the wait times out.

        ``replaces``: the deployment as it was before an update that starts a new worker (which takes over
        once ready: the wait ends when no next version is pending and another worker than before serves).
        """
        deadline = time.monotonic() + self.wait_timeout
        pause = 0.1
        while True:
            if _serves(deployment, replaces):
                return deployment
            _raise_if_failed(deployment)
            if time.monotonic() >= deadline:
                raise MlcaskException(f"Deployment {deployment.get('name')!r} of endpoint "
                                      f"{deployment.get('endpoint')!r} is still {deployment.get('state')!r} after "
                                      f"{self.wait_timeout:g} s ({deployment.get('message') or 'no message'}); "
                                      "get_deployment() shows its progress.", error_code="TEMPORARILY_UNAVAILABLE")
            time.sleep(pause)
            pause = min(1.0, pause * 1.5)
            deployment = self._call("GET", "deployments/get", {"endpoint": deployment["endpoint"],
                                                               "name": deployment["name"]})["deployment"]

    # -- scoring -----------------------------------------------------------------------------
    def _scoring_path(self, deployment_name: str | None, endpoint: str | None) -> str:
        if deployment_name is None and endpoint is None:
            raise InvalidArgumentError("predict: give deployment_name (one deployment), endpoint (its traffic "
                                       "split), or both.")
        if deployment_name is None:
            return f"/endpoints/{_quoted(_check_name('predict: endpoint', endpoint))}/invocations"
        name = _check_name("predict: deployment_name", deployment_name)
        endpoint = endpoint or self._endpoint_of(name)
        return f"/endpoints/{_quoted(endpoint)}/deployments/{_quoted(name)}/invocations"

    def predict(self, deployment_name: str | None = None, inputs: Any = None, endpoint: str | None = None,
                params: dict[str, Any] | None = None) -> PredictionsResponse:
        """Score ``inputs`` with one deployment, or with an endpoint (which follows its traffic split).

        Parameters
        ----------
        deployment_name
            The deployment to ask; None with ``endpoint`` lets the endpoint's traffic split choose.
        inputs
            A pandas DataFrame or Series, a numpy array, a dict, a list, or a scoring payload
            (see :func:`scoring_payload`).
        endpoint
            The endpoint; None with ``deployment_name``: the endpoint holding that deployment.
        params
            Inference parameters (the model's signature says which it takes).

        Returns
        -------
        PredictionsResponse
            The server's answer: ``response.get_predictions()`` is a DataFrame,
            ``get_predictions("ndarray")`` an array.
        """
        path = self._scoring_path(deployment_name, endpoint)
        body = scoring_payload(inputs, params)
        response = self._http.send("POST", path, content=body, headers={"Content-Type": "application/json"})
        return PredictionsResponse.from_json(response.text)

    def predict_stream(self, deployment_name: str | None = None, inputs: Any = None,
                       endpoint: str | None = None) -> Any:
        """Not offered: mlcask's endpoints answer each request whole. Raises NotImplementedError."""
        raise NotImplementedError("mlcask endpoints do not stream predictions: use predict(), which returns "
                                  "the whole answer.")

    def explain(self, deployment_name: str | None = None, df: Any = None, endpoint: str | None = None) -> Any:
        """Not offered by mlcask endpoints: raises an MlcaskException (``NOT_IMPLEMENTED``)."""
        raise MlcaskException("mlcask endpoints do not explain predictions: use mlcask.evaluate() (or "
                              "`mlcask models evaluate`) for explanations of a model.", error_code=NOT_IMPLEMENTED)
