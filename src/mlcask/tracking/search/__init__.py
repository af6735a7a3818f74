"""Search: MLflow's filter and order_by languages, parsed by hand and turned into SQL.

``parse_filter``/``parse_order_by`` (no SQLAlchemy needed) give small frozen dataclasses;
the ``*_select`` builders (imported on first use) give SQLAlchemy selects that the stores run.
"""

from mlcask._lazy import lazy_attributes
from mlcask.tracking.search.filter import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    OPERATORS,
    REGISTERED_MODELS,
    RUNS,
    Comparison,
    Field,
    Grammar,
    parse_filter,
)
from mlcask.tracking.search.order_by import OrderTerm, parse_order_by, parse_order_by_clause

_EXPORTS = {name: "mlcask.tracking.search.sql" for name in (
    "runs_select", "experiments_select", "logged_models_select", "registered_models_select",
    "model_versions_select", "compare", "like_to_glob",
)}
__all__ = [
    "EXPERIMENTS", "LOGGED_MODELS", "MODEL_VERSIONS", "OPERATORS", "REGISTERED_MODELS", "RUNS", "Comparison", "Field",
    "Grammar", "OrderTerm", "compare", "experiments_select", "like_to_glob", "logged_models_select",
    "model_versions_select", "parse_filter", "parse_order_by", "parse_order_by_clause", "registered_models_select",
    "runs_select",
]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS, eager=__all__)
