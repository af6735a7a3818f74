"""Dataset digests, computed as MLflow computes them (so a dataset logged by mlcask and by MLflow
has the same digest, and MLflow's UI and search match them): an MD5 over a hash of at most the
first 10,000 rows (elements, for arrays), the shape and the column names, cut to 8 hex digits."""

from __future__ import annotations

import hashlib
from typing import Any

from mlcask.exceptions import InvalidArgumentError

__all__ = ["MAX_ROWS", "compute_numpy_digest", "compute_pandas_digest", "get_normalized_md5_digest"]

MAX_ROWS = 10_000


def _all_strings(column: Any) -> bool:
    import pandas as pd

    if isinstance(column.dtype, pd.StringDtype):  # str values, or missing ones (which are not str)
        return not column.isna().any()
    return all(type(value) is str for value in column.to_numpy())  # stops at the first other value


def _string_columns(df: Any) -> list[Any]:
    """The columns of ``df`` whose every value is a ``str`` (over all rows, as MLflow checks)."""
    return [c for position, (c, dtype) in enumerate(zip(df.columns, df.dtypes))
            if getattr(dtype, "kind", "O") not in "biufcmM" and _all_strings(df.iloc[:, position])]


def compute_pandas_digest(df: Any) -> str:
    """The digest of a pandas DataFrame: its numeric and all-string columns (first 10,000 rows, with
    the index), its length and its column names."""
    import numpy as np
    import pandas as pd

    head = df.head(MAX_ROWS)
    columns = pd.Index(_string_columns(df)).union(head.select_dtypes(include=[np.number]).columns)
    elements = [pd.util.hash_pandas_object(head[columns]).values, np.int64(len(df))]
    return get_normalized_md5_digest(elements + [str(c).encode() for c in df.columns])


def _array_elements(array: Any) -> list[Any]:
    import numpy as np
    import pandas as pd

    array = np.asarray(array)
    head = array.flatten()[:MAX_ROWS]
    try:
        hashed: Any = pd.util.hash_array(head)
    except TypeError:  # values pandas cannot hash (e.g. objects): their count stands in
        hashed = np.int64(head.size)
    return [hashed, *(np.int64(n) for n in array.shape)]


def compute_numpy_digest(features: Any, targets: Any = None) -> str:
    """The digest of numpy features (an array or a dict of arrays, by sorted key) and targets."""
    elements: list[Any] = []
    for item in (features, targets):
        if item is None:
            continue
        if isinstance(item, dict):
            for key in sorted(item):
                elements.extend(_array_elements(item[key]))
        else:
            elements.extend(_array_elements(item))
    return get_normalized_md5_digest(elements)


def get_normalized_md5_digest(elements: list[Any]) -> str:
    """The first 8 hex digits of the MD5 of ``elements`` (bytes or buffers), in order."""
    if not elements:
        raise InvalidArgumentError("No hashable elements were provided for md5 digest creation")
    md5 = hashlib.md5(usedforsecurity=False)
    for element in elements:
        md5.update(element)
    return md5.hexdigest()[:8]
