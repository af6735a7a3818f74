"""Tracking entities with MLflow's names and attributes: experiments, runs, metrics,
params, tags, datasets, logged models, registered models and their versions."""

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
    LoggedModelStatus,
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
    "LoggedModelInput", "LoggedModelOutput", "LoggedModelStatus", "Metric", "ModelVersion", "ModelVersionTag", "Param", "RegisteredModel",
    "RegisteredModelAlias", "RegisteredModelTag", "Run", "RunData", "RunInfo", "RunInputs", "RunOutputs", "RunStatus", "RunTag",
    "SourceType", "ViewType",
]
