"""Deploying models: container images of a model, and managed endpoints run by ``mlcask server``.

``generate_dockerfile`` writes a Docker build context serving one model; ``build_docker``
builds it with a Docker daemon. ``get_deploy_client`` is MLflow's ``mlflow.deployments`` client
of an mlcask server's endpoints. Names load on first use (PEP 562), so importing this
package is cheap.
"""

from __future__ import annotations

from mlcask._lazy import lazy_attributes

_EXPORTS = {
    # -- images (mlcask models generate-dockerfile / build-docker) --
    "generate_dockerfile": "mlcask.deployments.docker",
    "build_docker": "mlcask.deployments.docker",
    # -- the deployment client (MLflow's mlflow.deployments) --
    "get_deploy_client": "mlcask.deployments.client",
    "MlcaskDeploymentClient": "mlcask.deployments.client",
    "BaseDeploymentClient": "mlcask.deployments.base",
    "PredictionsResponse": "mlcask.deployments.base",
    "run_local": "mlcask.deployments.local",
    "get_deployments_target": "mlcask.deployments.targets",
    "set_deployments_target": "mlcask.deployments.targets",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS)
