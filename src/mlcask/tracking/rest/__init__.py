"""mlcask as a client of a tracking server (``mlcask server`` or ``mlflow server``) over MLflow's REST API.

``http(s)://`` tracking and registry URIs select :class:`RestTrackingStore` and
:class:`RestRegistryStore`; ``mlflow-artifacts:`` and proxy URLs are served by
:class:`mlcask.tracking.rest.artifacts.HttpArtifactRepository`. All three share one pooled
HTTP client per server (:mod:`mlcask.tracking.rest.http`).
"""

from mlcask.tracking.rest.registry import RestRegistryStore
from mlcask.tracking.rest.tracking import RestTrackingStore

__all__ = ["RestRegistryStore", "RestTrackingStore"]
