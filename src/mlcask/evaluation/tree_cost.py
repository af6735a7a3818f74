"""How many rows exact TreeSHAP can explain within a fraction of a second, from a model's tree sizes.

TreeSHAP costs about ``L * D**2`` per tree and row (L leaves, D depth). The time per unit is
measured on a 2-core machine (XGBoost ~5 ns, LightGBM ~15 ns, shap's TreeExplainer ~5 ns);
the row count is deterministic for a given model, so the same evaluation explains the same rows.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

MIN_ROWS = 200          # never fewer rows than this on a TreeSHAP path (unless the data has fewer)
BUDGET_SECONDS = 0.2    # the TreeSHAP time aimed at when explainability_nsamples is not given
MAX_SECONDS = 5.0       # above this for MIN_ROWS rows, TreeSHAP is not the default: permutation instead
SECONDS_PER_UNIT = {"xgboost": 5e-9, "lightgbm": 15e-9, "shap": 5e-9}


def _units(leaves: np.ndarray, depths: np.ndarray | None = None) -> float:
    leaves = np.maximum(np.asarray(leaves, dtype=float), 1.0)
    depths = np.log2(leaves) + 1 if depths is None else np.asarray(depths, dtype=float) + 1
    return float((leaves * depths ** 2).sum())


def xgboost_units(booster: Any) -> float:
    """TreeSHAP work per row of an XGBoost Booster (depth estimated from each tree's leaf count)."""
    raw = bytes(booster.save_raw("json"))
    nodes = np.array(re.findall(rb'"num_nodes":"(\d+)"', raw), dtype=float)
    return _units((nodes + 1) / 2)


def lightgbm_units(booster: Any) -> float:
    """TreeSHAP work per row of a LightGBM Booster."""
    leaves = np.array(re.findall(r"\nnum_leaves=(\d+)", booster.model_to_string()), dtype=float)
    return _units(leaves)


def sklearn_units(model: Any) -> float | None:
    """TreeSHAP work per row of a scikit-learn tree or tree ensemble (None when its trees are not public)."""
    trees = [model.tree_] if hasattr(model, "tree_") else [
        getattr(e, "tree_", None) for e in np.asarray(getattr(model, "estimators_", []), dtype=object).ravel()]
    if not trees or any(t is None for t in trees):
        return None
    return _units(np.array([t.n_leaves for t in trees]), np.array([t.max_depth for t in trees]))


def tree_rows(units: float | None, library: str, available: int) -> int | None:
    """Rows to explain by TreeSHAP out of ``available``; None when even MIN_ROWS would be too slow."""
    if units is None:
        return min(MIN_ROWS, available)
    per_row = units * SECONDS_PER_UNIT[library]
    if per_row * min(MIN_ROWS, available) > MAX_SECONDS:
        return None
    return int(min(available, max(MIN_ROWS, BUDGET_SECONDS // per_row if per_row > 0 else available)))
