"""Tracking entities with MLflow's names and attributes: experiments, runs, metrics,
params, tags, datasets, logged models, registered models and their versions.

They are defined in :mod:`mlcask.entities.runs` and :mod:`mlcask.entities.registry`; the
modules named as MLflow's (``mlcask.entities.metric``, ``.logged_model_status``, ...) re-export them
so that ``from mlflow.entities.metric import Metric`` works too."""

from mlcask.entities.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlcask.entities.runs import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    FileInfo,
    InputTag,
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelParameter,
    LoggedModelStatus,
    LoggedModelTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    SourceType,
    ViewType,
)

__all__ = [
    "Dataset", "DatasetInput", "Experiment", "ExperimentTag", "FileInfo", "InputTag", "LifecycleStage", "LoggedModel",
    "LoggedModelInput", "LoggedModelOutput", "LoggedModelParameter", "LoggedModelStatus", "LoggedModelTag", "Metric",
    "ModelVersion", "ModelVersionTag", "Param", "RegisteredModel", "RegisteredModelAlias", "RegisteredModelTag", "Run",
    "RunData", "RunInfo", "RunInputs", "RunOutputs", "RunStatus", "RunTag", "SourceType", "ViewType",
]
