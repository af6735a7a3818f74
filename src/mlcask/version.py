"""Version numbers: mlcask's own, and the MLflow format release it writes."""

__version__ = "0.1.0"

# The MLflow release whose on-disk format mlcask writes and reads. It goes into the
# ``mlflow_version`` field of MLmodel and into the model's requirements, so that a
# model mlcask saves loads in (and deploys with) that MLflow release.
MLFLOW_FORMAT_VERSION = "3.17.2"
