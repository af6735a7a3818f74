"""The evaluation data: features, targets and (without a model) predictions, from whatever
``evaluate`` was given, checked with errors that name the column or value at fault.

``data`` is a pandas DataFrame (``targets``/``predictions`` name its columns), a numpy array or
a list of rows (``targets`` an array), or an ``mlcask.data`` dataset (``from_pandas(...,
targets=..., predictions=...)``, ``from_numpy``). As in MLflow, the features are every column but
the targets and predictions ones unless ``feature_names`` says which; numpy features are named
``feature_1``, ``feature_2``, ... (zero-padded). The ``mlcask.data`` dataset built here is the one
logged as the run's input, and its name and digest go with every metric.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

__all__ = ["EvalData", "check_classifier_labels", "check_regression_values", "load_eval_data"]

_HASH_SAMPLE_ROWS = 5
_SHAPE_MESSAGE = (
    "If the `data` argument is a numpy array, it must be a 2-dimensional array, with the second dimension "
    "representing the number of features. If the `data` argument is a list, each of its elements must be a "
    "feature array of the numpy array or list, and all elements must have the same length.")


def _invalid(message: str) -> MlcaskException:
    return MlcaskException(message, error_code=INVALID_PARAMETER_VALUE)


@dataclass
class EvalData:
    """The evaluation set, normalised.

    ``X`` holds the features (columns named ``feature_names``); ``frame`` is the whole table the
    user gave (features, targets, predictions and any other column: sensitive features are read
    from it); ``features`` is the feature data as given (a DataFrame or a 2-D array), which is
    what MLflow hashes; ``dataset`` is the ``mlcask.data`` dataset logged as the run's input.
    """

    X: Any
    frame: Any
    features: Any
    feature_names: list[str]
    y_true: Any
    targets_name: str | None
    predictions: Any
    predictions_name: str | None
    dataset: Any
    path: str | None = None

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def digest(self) -> str:
        return self.dataset.digest

    @property
    def has_targets(self) -> bool:
        return self.y_true is not None

    def evaluation_hash(self) -> str:
        """MLflow's ``EvaluationDataset.hash`` (the ``hash`` in the ``mlflow.datasets`` run tag): an MD5
        over the first and last five rows of the features, targets and predictions, and the names."""
        md5 = hashlib.md5(usedforsecurity=False)
        for part in (self.features, self.y_true, self.predictions):
            if part is not None:
                _md5_array_like(md5, part)
        md5.update(",".join(map(str, self.feature_names)).encode("UTF-8"))
        return md5.hexdigest()

    def tag_metadata(self) -> dict[str, str]:
        """This set's entry in the ``mlflow.datasets`` tag (without the model)."""
        meta = {"name": self.name, "hash": self.evaluation_hash()}
        if self.path is not None:
            meta["path"] = self.path
        return meta


# -- MLflow's evaluation-dataset hash (mlflow.data.evaluation_dataset) ------------------------------
def _uint64_bytes(array: Any) -> bytes:
    import numpy as np

    return np.asarray(array, dtype=np.uint64).astype(">u8").tobytes()


def _ndarray_bytes(array: Any) -> bytes:
    import numpy as np
    import pandas as pd

    array = np.asarray(array)
    return _uint64_bytes(pd.util.hash_array(array.flatten(order="C"))) + _uint64_bytes(np.array(array.shape))


def _element_for_hash(value: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(value, (dict, list, np.ndarray)):
        try:
            return _ndarray_bytes(value) if not isinstance(value, dict) else b""
        except Exception:  # noqa: BLE001 - MLflow skips what it cannot hash
            return b""
    try:
        pd.util.hash_array(np.array([value]))
        return value
    except TypeError:
        return b""


def _array_like_bytes(data: Any) -> bytes:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return _uint64_bytes(pd.util.hash_pandas_object(data.map(_element_for_hash)).to_numpy())
    if len(data) > 0 and isinstance(data[0], list):
        return _ndarray_bytes(np.array([str(row) for row in data]))
    if data.dtype == object and any(isinstance(row, np.ndarray) for row in data):
        return _ndarray_bytes(np.array(data.tolist()))
    return _ndarray_bytes(data)


def _md5_array_like(md5: Any, data: Any) -> None:
    import pandas as pd

    md5.update(_uint64_bytes([len(data)]))
    if len(data) < _HASH_SAMPLE_ROWS * 2:
        md5.update(_array_like_bytes(data))
        return
    rows = data.iloc if isinstance(data, pd.DataFrame) else data
    md5.update(_array_like_bytes(rows[:_HASH_SAMPLE_ROWS]))
    md5.update(_array_like_bytes(rows[-_HASH_SAMPLE_ROWS:]))


# -- building the evaluation set ---------------------------------------------------------------------
def _shown_columns(columns: Any, limit: int = 20) -> str:
    names = [str(c) for c in columns]
    return str(names[:limit])[:-1] + (f", ... ({len(names)} in all)]" if len(names) > limit else "]")


def _check_dataset_arguments(data: Any, targets: Any, predictions: Any, has_model: bool) -> None:
    if targets is not None:
        raise _invalid(
            "The top-level targets parameter should not be specified since a Dataset is used. Please only "
            "specify the targets column name in the Dataset. For example: `data = mlflow.data.from_pandas("
            "df=X.assign(y=y), targets='y')`. Meanwhile, please specify `mlflow.evaluate(..., targets=None, ...)`.")
    if not has_model and predictions is not None:
        raise _invalid(
            "The top-level predictions parameter should not be specified since a Dataset is used. Please only "
            "specify the predictions column name in the Dataset. For example: `data = mlflow.data.from_pandas("
            "df=X.assign(y=y), predictions='y')`Meanwhile, please specify `mlflow.evaluate(..., "
            "predictions=None, ...)`.")
    if has_model and getattr(data, "predictions", None) is not None:
        raise _invalid(
            "The predictions parameter should not be specified in the Dataset since a model is specified. "
            "Please remove the predictions column from the Dataset.")


def _to_dataset(data: Any, targets: Any, predictions: Any) -> Any:
    """``data`` as an ``mlcask.data`` dataset (MLflow's ``convert_data_to_mlflow_dataset``)."""
    import numpy as np
    import pandas as pd

    from mlcask.data.dataset import is_polars_dataframe

    if is_polars_dataframe(data):
        data = data.to_pandas()
    if predictions is not None and not isinstance(data, pd.DataFrame):
        raise _invalid("If predictions is specified, data must be one of the following types, or an MLflow "
                       f"Dataset that represents one of the following types: [{pd.DataFrame}].")
    if isinstance(data, pd.DataFrame):
        if targets is not None and not isinstance(targets, str):
            raise _invalid(
                "If data is a Pandas DataFrame or Spark DataFrame, `targets` argument must be the name of the "
                "column which contains evaluation labels in the `data` dataframe.")
        for role, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in data.columns:
                raise _invalid(f"The specified pandas DataFrame does not contain the specified {role} column "
                               f"'{column}'. Its columns are {_shown_columns(data.columns)}.")
        from mlcask.data.pandas_dataset import from_pandas

        return from_pandas(data, targets=targets, predictions=predictions)
    if isinstance(data, (list, np.ndarray)):
        if targets is not None and not isinstance(targets, (list, np.ndarray, pd.Series)):
            raise _invalid("If data is a numpy array or list of evaluation features, `targets` argument must be "
                           "a numpy array or list of evaluation labels.")
        if isinstance(data, list):
            if data and not isinstance(data[0], (list, np.ndarray)):
                data = [[value] for value in data]
            try:
                data = np.array(data)
            except ValueError as exc:
                raise _invalid(_SHAPE_MESSAGE) from exc
        if data.ndim != 2:
            raise _invalid(_SHAPE_MESSAGE)
        from mlcask.data.numpy_dataset import from_numpy

        return from_numpy(data, targets=np.asarray(targets) if targets is not None else None)
    raise _invalid("The data argument must be a numpy array, a list or a Pandas DataFrame, or spark DataFrame "
                   f"if pyspark package installed; got {type(data).__name__}.")


def _frame_features(df: Any, targets: str | None, predictions: str | None,
                    feature_names: list[str] | None) -> tuple[Any, list[str]]:
    if feature_names is not None:
        missing = [name for name in feature_names if name not in df.columns]
        if missing:
            raise _invalid(f"feature_names {missing} are not columns of the data; its columns are "
                           f"{_shown_columns(df.columns)}.")
        return df[list(feature_names)], list(feature_names)
    drop = [c for c in (targets, predictions) if c is not None]
    features = df.drop(columns=drop) if drop else df
    return features, [c if isinstance(c, str) else f"feature_{c}" for c in features.columns]


def _array_features(features: Any, targets: Any, feature_names: list[str] | None) -> tuple[Any, list[str]]:
    if targets is not None and len(targets) != len(features):
        raise _invalid("The input features example rows must be the same length with labels array "
                       f"({len(features)} rows of features, {len(targets)} labels).")
    count = features.shape[1]
    if feature_names is not None:
        if len(feature_names) != count:
            raise _invalid(f"feature name list must be the same length with feature data ({len(feature_names)} "
                           f"names for {count} features).")
        return features, list(feature_names)
    width = math.ceil(math.log10(count + 1))
    return features, [f"feature_{str(i + 1).zfill(width)}" for i in range(count)]


def load_eval_data(data: Any, *, targets: Any = None, predictions: str | None = None,
                   feature_names: Any = None, has_model: bool = True, path: str | None = None) -> EvalData:
    """Normalise ``evaluate``'s ``data`` (see the module docstring); ``predictions`` is only read
    from the data when there is no model."""
    import numpy as np
    import pandas as pd

    from mlcask.data.dataset import Dataset
    from mlcask.data.numpy_dataset import NumpyDataset

    if data is None:
        raise _invalid("The data argument cannot be None.")
    if path is not None and '"' in path:
        raise _invalid(f'Dataset path cannot include a double quote (") but got {path}')
    names = list(feature_names) if feature_names is not None else None
    if names is not None and len(set(names)) < len(names):
        raise _invalid("`feature_names` argument must be a list containing unique feature names.")
    if isinstance(data, Dataset):
        _check_dataset_arguments(data, targets, predictions, has_model)
        dataset = data
    else:
        dataset = _to_dataset(data, targets, predictions if not has_model else None)
    if isinstance(dataset, NumpyDataset):
        features, y_true = dataset.features, dataset.targets
        if isinstance(features, dict):
            raise _invalid("evaluate takes a NumpyDataset of one features array, not a dict of arrays "
                           f"(keys {sorted(features)}).")
        features = np.asarray(features)
        if features.ndim != 2:
            raise _invalid(_SHAPE_MESSAGE)
        y_true = np.asarray(y_true) if y_true is not None else None
        features, names = _array_features(features, y_true, names)
        X = pd.DataFrame(features, columns=names)
        return EvalData(X=X, frame=X, features=features, feature_names=names, y_true=y_true, targets_name=None,
                        predictions=None, predictions_name=None, dataset=dataset, path=path)
    df = getattr(dataset, "df", None)
    if not isinstance(df, pd.DataFrame):
        raise _invalid(f"evaluate takes a pandas or numpy dataset from mlcask.data; got {type(dataset).__name__}.")
    target_col, pred_col = dataset.targets, getattr(dataset, "predictions", None)
    X, names = _frame_features(df, target_col, pred_col, names)
    if list(X.columns) != names:
        X = X.set_axis(names, axis=1)
    return EvalData(X=X, frame=df, features=X, feature_names=names,
                    y_true=df[target_col].to_numpy() if target_col is not None else None, targets_name=target_col,
                    predictions=df[pred_col].to_numpy() if pred_col is not None else None,
                    predictions_name=pred_col, dataset=dataset, path=path)


# -- checks on values ---------------------------------------------------------------------------------
def _first_non_numeric(values: Any) -> Any:
    import numpy as np

    for value in values:
        if not isinstance(value, (int, float, np.number, bool, np.bool_)):
            return value
    return None


def check_regression_values(values: Any, what: str) -> Any:
    """``values`` as a float array, or the error saying which value is not a number (``what``
    names where they come from, e.g. "the targets column 'price'")."""
    import numpy as np

    array = np.asarray(values)
    if array.ndim != 1:
        array = array.reshape(len(array), -1)
        if array.shape[1] != 1:
            raise _invalid(f"model_type 'regressor' needs one number per row in {what}, got {array.shape[1]} "
                           "columns.")
        array = array[:, 0]
    if array.dtype.kind in "biuf":
        return array.astype(float, copy=False)
    bad = _first_non_numeric(array)
    if bad is None:
        return array.astype(float)
    raise _invalid(f"model_type 'regressor' needs numeric values, but {what} holds {type(bad).__name__} values "
                   f"(e.g. {bad!r}). Use model_type='classifier' for class labels.")


def check_classifier_labels(y_true: Any, classes: Any, targets_name: str | None) -> None:
    """Refuse targets that share no label with the model's ``classes`` (``classes_`` of the model)."""
    import numpy as np

    if classes is None:
        return
    classes = np.asarray(classes)
    observed = np.unique(np.asarray(y_true))
    try:
        known = np.isin(observed, classes)
    except TypeError:
        known = np.array([value in set(classes.tolist()) for value in observed.tolist()])
    if known.any() or len(observed) == 0:
        return
    where = f"the targets column '{targets_name}'" if targets_name else "the targets"
    raise _invalid(f"The labels in {where} ({observed[:5].tolist()}{', ...' if len(observed) > 5 else ''}) do not "
                   f"match the model's classes ({classes[:10].tolist()}): none of them is a class the model "
                   "predicts. Check the targets column, or map the labels to the model's classes.")
