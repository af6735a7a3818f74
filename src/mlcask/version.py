"""Version numbers: mlcask's own, and the MLflow format release it writes."""

__version__ = "0.1.0"

# The MLflow release whose on-disk format mlcask writes and reads. It goes into the
# ``mlflow_version`` field of MLmodel and into the model's requirements, so that a
# model mlcask saves loads in (and deploys with) that MLflow release.
MLFLOW_FORMAT_VERSION = "3.17.2"

# MLflow's ``mlflow.version.VERSION``: code written for MLflow reads it as the MLflow release it
# runs with (to pin ``mlflow==VERSION``, to compare with a model's ``mlflow_version``); under mlcask
# that is the release whose format is written. mlcask's own version is ``__version__``.
VERSION = MLFLOW_FORMAT_VERSION
