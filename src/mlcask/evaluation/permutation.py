"""Permutation importance of a model's ``predict``, batched, with each row's share of the score drop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mlcask.evaluation.explanation import Explanation, importance_series

PERMUTATION_REPEATS = 5
_CELLS_PER_CALL = 4_000_000  # the most cells of permuted data handed to one predict call


def permutation_explanation(predict: Callable[[pd.DataFrame], np.ndarray], sample: pd.DataFrame,
                            y_sample: np.ndarray, rows: np.ndarray, model_type: str, *,
                            repeats: int = PERMUTATION_REPEATS, random_state: int = 0) -> Explanation:
    """Permutation importance on ``sample``: the score drop when one feature's values are shuffled.

    The score is accuracy for a classifier (``predict`` returns labels) and R² for a regressor
    (the increase in mean squared error when the targets have no variance). Each feature is
    shuffled ``repeats`` times (seeded); the permuted copies of several features go to ``predict``
    in one call, so a model pays its per-call cost a few times, not features x repeats times.
    Both scores are means over rows, so each row's share of the drop is kept (``row_effects``).
    """
    n, n_features = sample.shape
    y = np.asarray(y_sample)
    base_loss = _row_loss(_one_per_row(predict(sample), n), y, model_type)
    rng = np.random.default_rng(random_state)
    perms = np.stack([rng.permutation(n) for _ in range(n_features * repeats)]).reshape(n_features, repeats, n)
    effects = np.empty((n_features, repeats, n))
    per_call = max(1, _CELLS_PER_CALL // max(1, repeats * n * n_features))
    for start in range(0, n_features, per_call):
        chunk = list(range(start, min(start + per_call, n_features)))
        stacked = _permuted_copies(sample, chunk, perms)
        loss = _row_loss(_one_per_row(predict(stacked), n * repeats * len(chunk)), np.tile(y, repeats * len(chunk)),
                         model_type)
        effects[chunk] = loss.reshape(len(chunk), repeats, n) - base_loss
    output = "drop in accuracy_score"
    if model_type == "regressor":
        variance = float(np.var(y.astype(float)))
        if variance > 0:
            effects /= variance
            output = "drop in r2_score"
        else:
            output = "increase in mean_squared_error"
    names = list(sample.columns)
    per_repeat = effects.mean(axis=2)
    return Explanation(method="permutation", is_shap=False, feature_names=names,
                       importance=importance_series(per_repeat.mean(axis=1), names), rows=rows, output=output,
                       row_effects=effects.mean(axis=1).T,
                       importance_std=pd.Series(per_repeat.std(axis=1), index=pd.Index(names, dtype=object),
                                                name="importance_std"))


def _permuted_copies(sample: pd.DataFrame, chunk: list[int], perms: np.ndarray) -> pd.DataFrame:
    """``repeats`` copies of ``sample`` per feature in ``chunk``, that feature shuffled in each; dtypes kept."""
    n = len(sample)
    repeats = perms.shape[1]
    copies = len(chunk) * repeats
    columns = {}
    for j, name in enumerate(sample.columns):
        take = np.tile(np.arange(n), copies)
        if j in chunk:
            at = chunk.index(j) * repeats * n
            take[at:at + repeats * n] = perms[j].reshape(-1)
        columns[name] = sample[name].array.take(take)
    return pd.DataFrame(columns, copy=False)


def _one_per_row(predictions: object, n: int) -> np.ndarray:
    values = np.asarray(predictions)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(f"Permutation importance needs one prediction per row: {n} rows gave predictions of "
                         f"shape {values.shape}.")
    return values


def _row_loss(predicted: np.ndarray, y: np.ndarray, model_type: str) -> np.ndarray:
    if model_type == "regressor":
        return (predicted.astype(float) - y.astype(float)) ** 2
    return (predicted != y).astype(float)
