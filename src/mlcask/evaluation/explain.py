"""Feature attributions for ``evaluate``: the model's own fast contributions, SHAP, or permutation importance.

The default (no ``explainability_algorithm`` given) never runs a model-agnostic SHAP explainer:

- XGBoost: ``Booster.predict(DMatrix, pred_contribs=True)``, exact TreeSHAP in XGBoost's C++;
- LightGBM: ``Booster.predict(X, pred_contrib=True)``, the same in LightGBM's;
- other tree models (scikit-learn's forests, gradient boosting, trees) and linear models, when
  ``shap`` is installed: ``shap.TreeExplainer(model)`` / ``shap.LinearExplainer(model, sample)``;
- anything else (pipelines, custom models, shap absent): permutation importance of the model's
  ``predict`` on the sample, in one batched call per few features.

An ``explainability_algorithm`` the user names runs ``shap.Explainer`` on the model's ``predict``
as MLflow does (it can take minutes: the user asked for it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation import tree_cost
from mlcask.evaluation.explanation import Explanation, importance_series
from mlcask.evaluation.labels import LabelSpace
from mlcask.evaluation.permutation import permutation_explanation
from mlcask.exceptions import INVALID_PARAMETER_VALUE, MlcaskException

_logger = logging.getLogger(__name__)

SUPPORTED_SHAP_ALGORITHMS = ("exact", "permutation", "partition", "kernel")
DEFAULT_SAMPLE_ROWS = 2000
_TREE_MODULES = ("sklearn.ensemble", "sklearn.tree", "catboost")


def explain(model: Any, X: pd.DataFrame, *, model_type: str, y_true: np.ndarray, space: LabelSpace | None,
            config: dict, predict: Callable[[pd.DataFrame], np.ndarray] | None = None) -> Explanation | None:
    """Explain ``model`` on a reproducible sample of the rows of ``X``.

    Parameters
    ----------
    model : PyFuncModel or None
        The model evaluated; its native object (``get_raw_model()``) picks the fast path.
    X : pandas.DataFrame
        The evaluation features, one column per feature.
    model_type : {"classifier", "regressor"}
    y_true : numpy.ndarray
        The targets, one per row of ``X`` (permutation importance scores against them).
    space : LabelSpace or None
        The classifier's classes; its ``pos_index`` chooses the class a binary model is explained for.
    config : dict
        The ``evaluator_config``: ``log_model_explainability`` (default True),
        ``explainability_algorithm`` (None, ``"exact"``, ``"permutation"``, ``"partition"``,
        ``"kernel"``), ``explainability_nsamples`` (default 2000), ``explainability_kernel_link``
        (``"identity"`` or ``"logit"``), ``ignore_exceptions`` (default True).
    predict : callable, optional
        ``predict(frame) -> one prediction per row``; defaults to ``model.predict``.

    Returns
    -------
    Explanation or None
        None, with a warning saying why, when explanations are turned off, do not apply (labels
        or features not numeric, a Spark model, no model) or failed with ``ignore_exceptions``.
        A binary classifier is explained for its positive class (``space.pos_label``); a
        multiclass one, row by row, for the class the model predicts for that row (the
        contributions to that class's margin or probability).
    """
    if not config.get("log_model_explainability", True):
        _logger.info("Model explainability is turned off (log_model_explainability=False).")
        return None
    if model_type not in ("classifier", "regressor"):
        return None
    algorithm = config.get("explainability_algorithm")
    nsamples = _sample_size(config)
    if not _applies(model, X, y_true, algorithm):
        return None
    predict_fn = predict if predict is not None else getattr(model, "predict", None)
    if predict_fn is None:
        _logger.warning("Skip logging model explainability insights because there is no model to explain "
                        "(evaluate was given predictions, not a model).")
        return None
    rows = sample_rows(len(X), nsamples)
    try:
        if algorithm is not None:
            found = _shap_algorithm(algorithm, predict_fn, X, X.iloc[rows], rows, config)
        else:
            found = _default(_raw_model(model), predict_fn, X, np.asarray(y_true), rows, model_type, space,
                             "explainability_nsamples" in config)
    except Exception as e:
        if not config.get("ignore_exceptions", True):
            raise
        _logger.warning("Shap evaluation failed. Reason: %r. Set logging level to DEBUG to see the full "
                        "traceback.", e)
        _logger.debug("", exc_info=True)
        return None
    if found is not None:
        _logger.info("Model explanations computed by %s on %d rows.", found.method, len(found.rows))
    return found


def cohort_importance(explanation: Explanation, mask: np.ndarray) -> pd.Series:
    """Feature importance within a cohort: over the explained rows of ``X`` where ``mask`` is True.

    Parameters
    ----------
    explanation : Explanation
        What :func:`explain` returned.
    mask : numpy.ndarray of bool
        One value per row of the evaluation set ``X``.

    Returns
    -------
    pandas.Series
        Mean absolute contribution (or, for permutation importance, the cohort's share of the
        score drop) per feature, sorted high to low; empty when no explained row is in the cohort.
    """
    mask = np.asarray(mask, dtype=bool)
    if explanation.rows.size and mask.shape[0] <= int(explanation.rows.max()):
        raise MlcaskException(f"The cohort mask has {mask.shape[0]} values, fewer than the rows of the data "
                              f"explained (a row at position {int(explanation.rows.max())}).",
                              INVALID_PARAMETER_VALUE)
    inside = mask[explanation.rows]
    if explanation.contributions is not None:
        values = np.abs(explanation.contributions[inside])
    elif explanation.row_effects is not None:
        values = explanation.row_effects[inside]
    else:
        values = np.empty((0, len(explanation.feature_names)))
    if values.shape[0] == 0:
        return pd.Series([], index=pd.Index([], dtype=object), dtype=float, name="importance")
    return importance_series(values.mean(axis=0), explanation.feature_names)


def sample_rows(n_rows: int, nsamples: int, *, random_state: int = 0) -> np.ndarray:
    """The positions of the rows explained: all when ``nsamples >= n_rows``, else the rows, in the
    order, that ``shap.sample(X, nsamples, random_state=random_state)`` picks (MLflow's sample;
    shap not needed). A prefix of it is the sample of that smaller size."""
    if nsamples >= n_rows:
        return np.arange(n_rows)
    from sklearn.utils import shuffle

    return shuffle(np.arange(n_rows), n_samples=nsamples, random_state=random_state)


def _sample_size(config: dict) -> int:
    n = config.get("explainability_nsamples", DEFAULT_SAMPLE_ROWS)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise MlcaskException(f"evaluator_config 'explainability_nsamples' must be a positive integer "
                              f"(the number of rows explained); got {n!r}.", INVALID_PARAMETER_VALUE)
    return int(n)


def _applies(model: Any, X: pd.DataFrame, y_true: np.ndarray, algorithm: str | None) -> bool:
    """MLflow's rules for skipping explanations (each with its warning); an unknown algorithm raises."""
    if getattr(model, "loader_module", None) == "mlflow.spark":
        _logger.warning("Logging model explainability insights is not currently supported for PySpark models.")
        return False
    y = np.asarray(y_true)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        _logger.warning("Skip logging model explainability insights because it requires all label values "
                        "to be numeric or boolean.")
        return False
    if algorithm is not None and algorithm not in SUPPORTED_SHAP_ALGORITHMS:
        raise MlcaskException(f"Specified explainer algorithm {algorithm} is unsupported. Currently only support "
                              f"{','.join(SUPPORTED_SHAP_ALGORITHMS)} algorithms.", INVALID_PARAMETER_VALUE)
    if algorithm != "kernel":
        for name, dtype in X.dtypes.items():
            if not pd.api.types.is_numeric_dtype(dtype):
                _logger.warning("Skip logging model explainability insights because the explainer requires all "
                                "feature values to be numeric, and each feature column must only contain scalar "
                                "values; column '%s' has dtype %s.", name, dtype)
                return False
    if len(X) == 0:
        _logger.warning("Skip logging model explainability insights because the evaluation data has no rows.")
        return False
    return True


def _raw_model(model: Any) -> Any:
    get_raw = getattr(model, "get_raw_model", None)
    if get_raw is None:
        return None
    try:
        return get_raw()
    except NotImplementedError:
        return None


def _module(obj: Any) -> str:
    return type(obj).__module__ or ""


def _default(raw: Any, predict_fn: Callable, X: pd.DataFrame, y: np.ndarray, rows: np.ndarray, model_type: str,
             space: LabelSpace | None, explicit_n: bool) -> Explanation:
    """The fast default: native TreeSHAP (as many rows as ~0.2 s allows unless the user set the
    sample size), shap's Tree/Linear explainer, else permutation importance on the sample."""
    module = _module(raw)
    if module.startswith(("xgboost.", "lightgbm.")):
        library = module.split(".")[0]
        if library == "xgboost":
            import xgboost

            units = tree_cost.xgboost_units(raw if isinstance(raw, xgboost.Booster) else raw.get_booster())
        else:
            units = tree_cost.lightgbm_units(getattr(raw, "booster_", raw))
        k = len(rows) if explicit_n else tree_cost.tree_rows(units, library, len(rows))
        if k is not None:
            native = _xgboost if library == "xgboost" else _lightgbm
            return native(raw, X.iloc[rows[:k]], rows[:k], model_type, space)
        _logger.info("TreeSHAP of this %s model would take over %s s; permutation importance instead.",
                     library, tree_cost.MAX_SECONDS)
    elif raw is not None and not _is_pipeline(raw) and module.startswith(("sklearn.", "catboost")):
        found = _shap_native(raw, X, rows, model_type, space, explicit_n)
        if found is not None:
            return found
    return permutation_explanation(predict_fn, X.iloc[rows], y[rows], rows, model_type)


def _is_pipeline(raw: Any) -> bool:
    return type(raw).__name__ == "Pipeline" and hasattr(raw, "steps")


def _xgboost(raw: Any, sample: pd.DataFrame, rows: np.ndarray, model_type: str,
             space: LabelSpace | None) -> Explanation:
    import xgboost

    booster = raw if isinstance(raw, xgboost.Booster) else raw.get_booster()
    names = list(booster.feature_names or [])
    data = sample[names] if names and set(names) <= set(sample.columns) else sample
    iteration_range = (0, 0)
    if not isinstance(raw, xgboost.Booster):
        try:  # as XGBModel.predict: the best iteration when early stopping kept one
            iteration_range = (0, int(raw.best_iteration) + 1)
        except AttributeError:
            pass
    missing = getattr(raw, "missing", np.nan)
    matrix = xgboost.DMatrix(data, missing=np.nan if missing is None else missing)
    contribs = booster.predict(matrix, pred_contribs=True, iteration_range=iteration_range)
    order = [list(data.columns).index(c) for c in sample.columns]
    return _from_contributions("xgboost_pred_contribs", contribs, order, sample, rows, model_type, space,
                               scale="log-odds")


def _lightgbm(raw: Any, sample: pd.DataFrame, rows: np.ndarray, model_type: str,
              space: LabelSpace | None) -> Explanation:
    booster = getattr(raw, "booster_", raw)
    names = list(booster.feature_name())
    data = sample[names] if set(names) <= set(sample.columns) else sample
    contribs = np.asarray(booster.predict(data, pred_contrib=True))
    n_features = data.shape[1]
    if contribs.ndim == 2 and contribs.shape[1] != n_features + 1:  # multiclass: classes side by side
        contribs = contribs.reshape(len(data), -1, n_features + 1)
    order = [list(data.columns).index(c) for c in sample.columns]
    return _from_contributions("lightgbm_pred_contrib", contribs, order, sample, rows, model_type, space,
                               scale="log-odds")


def _from_contributions(method: str, contribs: np.ndarray, order: list[int], sample: pd.DataFrame,
                        rows: np.ndarray, model_type: str, space: LabelSpace | None, *, scale: str) -> Explanation:
    """An Explanation from (rows x [classes x] (features + bias)) contributions, in the frame's column order."""
    contribs = np.asarray(contribs, dtype=float)
    if contribs.ndim == 3:
        values, base = contribs[:, :, :-1], contribs[:, :, -1]
    else:
        values, base = contribs[:, :-1], contribs[:, -1]
    return _explanation(method, values[..., order] if values.ndim == 2 else values[:, :, order], base,
                        list(sample.columns), rows, model_type, space, scale=scale)


def _explanation(method: str, values: np.ndarray, base: np.ndarray, names: list[str], rows: np.ndarray,
                 model_type: str, space: LabelSpace | None, *, scale: str) -> Explanation:
    """Pick the output explained (``values``: rows x features, or rows x classes x features)."""
    values = np.asarray(values, dtype=float)
    base = np.broadcast_to(np.asarray(base, dtype=float), values.shape[:-1]).copy()
    binary = model_type == "classifier" and space is not None and space.is_binary
    if values.ndim == 3 and model_type == "regressor":
        raise MlcaskException(f"Explaining a regressor with {values.shape[1]} outputs is not supported; "
                              "evaluate explains a single output.", INVALID_PARAMETER_VALUE)
    if values.ndim == 3 and binary and values.shape[1] == 2:
        k = space.pos_index
        values, base = values[:, k, :], base[:, k]
        output = f"{scale} of class {space.labels[-1]}"
    elif values.ndim == 3:
        predicted = np.argmax(values.sum(axis=2) + base, axis=1)
        take = np.arange(values.shape[0])
        values, base = values[take, predicted, :], base[take, predicted]
        output = f"{'margin' if scale == 'log-odds' else scale} of each row's predicted class"
    elif binary:
        if space.pos_index == 0:  # the model's single output is for its second class
            values, base = -values, -base
        output = f"{scale} of class {space.labels[-1]}"
    else:
        output = "predicted value" if model_type == "regressor" else scale
    common = float(base[0]) if base.size and np.allclose(base, base[0]) else None
    return Explanation(method=method, is_shap=True, feature_names=names,
                       importance=importance_series(np.abs(values).mean(axis=0), names), rows=rows,
                       contributions=values, base_value=common, output=output, base_values=base)


def _import_shap() -> Any:
    try:
        import shap
    except ImportError:
        return None
    return shap


def _shap_native(raw: Any, X: pd.DataFrame, rows: np.ndarray, model_type: str, space: LabelSpace | None,
                 explicit_n: bool) -> Explanation | None:
    """shap's TreeExplainer (tree models) or LinearExplainer (linear ones) on the native model; None if neither."""
    is_linear = hasattr(raw, "coef_") and hasattr(raw, "intercept_")
    if not is_linear and not _module(raw).startswith(_TREE_MODULES):
        return None
    if not is_linear and not explicit_n:
        k = tree_cost.tree_rows(tree_cost.sklearn_units(raw), "shap", len(rows))
        if k is None:
            _logger.info("TreeSHAP of this model would take over %s s; permutation importance instead.",
                         tree_cost.MAX_SECONDS)
            return None
        rows = rows[:k]
    shap = _import_shap()
    if shap is None:
        return None
    sample = X.iloc[rows]
    filled = sample.fillna(_mode_or_mean(sample))
    if is_linear:
        explainer, method, scale = shap.LinearExplainer(raw, filled), "shap_linear", "log-odds"
    else:
        try:
            explainer = shap.TreeExplainer(raw)
        except Exception as e:  # shap's InvalidModelError (not exported): a model TreeExplainer cannot read
            if type(e).__name__ != "InvalidModelError":
                raise
            return None
        tree_output = getattr(getattr(explainer, "model", None), "tree_output", None)
        method, scale = "shap_tree", {"probability": "probability"}.get(tree_output, "log-odds")
    found = explainer(filled)
    return _explanation(method, _class_axis_middle(found.values), found.base_values, list(sample.columns), rows,
                        model_type, space, scale=scale)


def _class_axis_middle(values: np.ndarray) -> np.ndarray:
    """shap's (rows x features x classes) as (rows x classes x features)."""
    values = np.asarray(values)
    return np.swapaxes(values, 1, 2) if values.ndim == 3 else values


def _mode_or_mean(df: pd.DataFrame) -> dict[str, Any]:
    """The value a missing cell is filled with before SHAP sees it: the mean of a float column, else the mode."""
    fill: dict[str, Any] = {}
    for name in df.columns[df.isna().any().to_numpy()]:
        column = df[name]
        if pd.api.types.is_float_dtype(column.dtype):
            fill[name] = column.mean()
        elif column.notna().any():
            fill[name] = column.mode().iloc[0]
    return fill


def _shap_algorithm(algorithm: str, predict_fn: Callable, X: pd.DataFrame, sample: pd.DataFrame,
                    rows: np.ndarray, config: dict) -> Explanation | None:
    """The SHAP algorithm the user named, on the model's predict function, as MLflow runs it."""
    shap = _import_shap()
    if shap is None:
        _logger.warning("SHAP package is not installed, so model explainability insights will not be logged "
                        "(explainability_algorithm=%r needs it: pip install shap).", algorithm)
        return None
    names = list(X.columns)
    fill = _mode_or_mean(X)

    def shap_predict(x: Any) -> np.ndarray:
        frame = x if isinstance(x, pd.DataFrame) else pd.DataFrame(np.asarray(x), columns=names)
        frame.columns = names
        return np.asarray(predict_fn(frame))

    filled = sample.fillna(fill)
    if algorithm == "kernel":
        link = config.get("explainability_kernel_link", "identity")
        if link not in ("identity", "logit"):
            raise ValueError("explainability_kernel_link config can only be set to 'identity' or 'logit', "
                             f"but got '{link}'.")
        background = X.iloc[sample_rows(len(X), len(sample), random_state=3)].fillna(fill)
        explainer = shap.KernelExplainer(shap_predict, background, link=link)
    else:
        explainer = shap.Explainer(shap_predict, filled, feature_names=names, algorithm=algorithm)
    found = explainer(filled)
    values = np.asarray(found.values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"explainability_algorithm={algorithm!r} gave SHAP values of shape {values.shape}; "
                         "evaluate explains a model whose predict returns one value per row.")
    base = np.asarray(found.base_values, dtype=float).reshape(-1)
    base = np.broadcast_to(base, (values.shape[0],)).copy() if base.size in (1, values.shape[0]) else base
    return Explanation(method=f"shap_{algorithm}", is_shap=True, feature_names=names,
                       importance=importance_series(np.abs(values).mean(axis=0), names), rows=rows,
                       contributions=values, output="model prediction (predict)", base_values=base,
                       base_value=float(base[0]) if base.size and np.allclose(base, base[0]) else None)

