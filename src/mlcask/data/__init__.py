"""``mlcask.data`` (MLflow's ``mlflow.data``): datasets for ``log_input`` and autolog.

``from_pandas``, ``from_numpy`` and ``from_polars`` build datasets whose digest, schema and profile
are MLflow's own (the same data gives the same digest in both, so MLflow's UI and search match
them); the sources say where the data came from (``local``, ``s3``, ``http``, ``code`` ...).
Submodules (``pandas_dataset``, ``numpy_dataset``, ``polars_dataset``, ``http_dataset_source``,
``filesystem_dataset_source``, ``dataset_source``, ``meta_dataset``, ...) load on first use.
"""

from __future__ import annotations

from mlcask._lazy import lazy_attributes

_SUBMODULES = ["code_dataset_source", "dataset", "dataset_source", "dataset_source_registry", "digest_utils",
               "filesystem_dataset_source", "http_dataset_source", "meta_dataset", "numpy_dataset", "pandas_dataset",
               "polars_dataset", "pyfunc_dataset_mixin", "schema", "sources"]

_EXPORTS = {
    **{name: f"mlcask.data.{name}" for name in _SUBMODULES},
    "Dataset": "mlcask.data.dataset",
    "DatasetSource": "mlcask.data.dataset_source",
    "dataset_input": "mlcask.data.dataset",
    "from_numpy": "mlcask.data.numpy_dataset",
    "from_pandas": "mlcask.data.pandas_dataset",
    "from_polars": "mlcask.data.polars_dataset",
    "get_source": "mlcask.data.dataset_source_registry",
}

__all__ = ["Dataset", "DatasetSource", "dataset_input", "from_numpy", "from_pandas", "from_polars", "get_source"]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), _EXPORTS, __all__)
