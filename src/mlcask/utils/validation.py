"""MLflow's ``mlflow.utils.validation`` limits, as mlcask's stores enforce them
(:mod:`mlcask.tracking.validation`)."""

from mlcask.tracking.validation import (
    MAX_ENTITIES_PER_BATCH,
    MAX_ENTITY_KEY_LENGTH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VAL_LENGTH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_TAG_VAL_LENGTH,
)

__all__ = ["MAX_ENTITIES_PER_BATCH", "MAX_ENTITY_KEY_LENGTH", "MAX_METRICS_PER_BATCH", "MAX_PARAMS_TAGS_PER_BATCH",
           "MAX_PARAM_VAL_LENGTH", "MAX_TAG_VAL_LENGTH"]
