"""The label space of a classifier evaluation: its classes, the positive one and where it sits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlcask.exceptions import MlcaskException


@dataclass(frozen=True)
class LabelSpace:
    """The classes a classifier evaluation scores against.

    ``labels`` is sorted, with the positive label last for a binary problem (MLflow's order);
    ``pos_index`` is the column of ``predict_proba``'s output that holds the positive class.
    ``from_label_list`` says the classes came from ``evaluator_config["label_list"]`` rather
    than from the values seen in the targets and predictions.
    """

    labels: np.ndarray
    pos_label: object | None
    pos_index: int
    from_label_list: bool = False

    @property
    def is_binary(self) -> bool:
        return len(self.labels) == 2

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    @property
    def sorted_labels(self) -> np.ndarray:
        """The classes in ``predict_proba``'s column order (sorted, the positive one not moved)."""
        return np.sort(self.labels)


def _as_1d(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise MlcaskException(
            f"The {name} of a classifier evaluation must be one value per row; got an array of "
            f"shape {array.shape}.",
            "INVALID_PARAMETER_VALUE",
        )
    if array.dtype.kind in "fcOUS" and array.size:
        import pandas as pd

        missing = np.flatnonzero(pd.isna(array))
        if missing.size:
            raise MlcaskException(
                f"The {name} hold {missing.size} missing values (None or NaN), first at row "
                f"{int(missing[0])}; a classifier evaluation needs a label on every row.",
                "INVALID_PARAMETER_VALUE",
            )
    return array


def _sorted_unique(values: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.unique(values)
    except TypeError as e:
        kinds = sorted({type(v).__name__ for v in values.tolist()})
        raise MlcaskException(
            f"The {what} mix value types that cannot be ordered ({', '.join(kinds)}); a "
            "classifier's labels must all be numbers or all be strings.",
            "INVALID_PARAMETER_VALUE",
        ) from e


def _check_within(values: np.ndarray, labels: np.ndarray, name: str) -> None:
    if values.size == 0:
        return
    unknown = np.setdiff1d(_sorted_unique(values, name), labels)
    if unknown.size:
        shown = ", ".join(repr(v) for v in unknown[:10].tolist())
        more = f" (and {unknown.size - 10} more)" if unknown.size > 10 else ""
        raise MlcaskException(
            f"The {name} hold values that are not in evaluator_config['label_list'] "
            f"{labels.tolist()}: {shown}{more}. Add them to 'label_list' or remove those rows.",
            "INVALID_PARAMETER_VALUE",
        )


def label_space(y_true: Any, y_pred: Any, *, label_list: Sequence[Any] | None = None,
                pos_label: Any = None) -> LabelSpace:
    """The classes of a classifier evaluation, by MLflow's rules.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        The targets and the model's predicted labels.
    label_list : sequence, optional
        Every possible class (``evaluator_config["label_list"]``). Without it, the classes are
        the sorted distinct values of ``y_true`` and ``y_pred`` together.
    pos_label : optional
        The positive class of a binary problem (``evaluator_config["pos_label"]``); by default
        the greatest label.

    Returns
    -------
    LabelSpace
        Sorted labels (for two classes, the positive one last) and the column of the class
        probabilities that holds the positive class (the probabilities follow the sorted order).

    Raises
    ------
    MlcaskException
        Fewer than two classes; ``pos_label`` not among ``label_list``; with ``label_list``,
        targets or predictions holding a value it does not list.
    """
    y_true = _as_1d(y_true, "targets")
    y_pred = _as_1d(y_pred, "predictions")
    if label_list is not None:
        labels = np.array(label_list)
        if pos_label is not None and pos_label not in labels.tolist():
            raise MlcaskException(
                f"'pos_label' {pos_label} must exist in 'label_list' {list(label_list)}.",
                "INVALID_PARAMETER_VALUE",
            )
        labels = _sorted_unique(labels, "values of 'label_list'")
    else:
        labels = _sorted_unique(np.concatenate([y_true, y_pred]), "targets and predictions")
    if len(labels) < 2:
        raise MlcaskException(
            "Evaluation dataset for classification must contain at least two unique labels, but "
            f"only {len(labels)} unique labels were found. Please provide a 'label_list' "
            "parameter in 'evaluator_config' with all possible classes, e.g., "
            "evaluator_config={'label_list': [0, 1]}."
        )
    if label_list is not None:
        _check_within(y_true, labels, "targets")
        _check_within(y_pred, labels, "predictions")
    if len(labels) != 2:
        return LabelSpace(labels, pos_label, -1, label_list is not None)
    if pos_label is None:
        return LabelSpace(labels, labels[-1], 1, label_list is not None)
    matches = np.flatnonzero(labels == pos_label)
    if matches.size == 0:
        raise MlcaskException(
            f"'pos_label' {pos_label!r} is not one of the labels found in the targets and "
            f"predictions {labels.tolist()}.",
            "INVALID_PARAMETER_VALUE",
        )
    pos_index = int(matches[0])
    ordered = np.append(np.delete(labels, pos_index), labels[pos_index])
    return LabelSpace(ordered, ordered[-1], pos_index, label_list is not None)
