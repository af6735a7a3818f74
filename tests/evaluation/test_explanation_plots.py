"""write_explanation_plots(): MLflow's artifact names, real PNGs, no pyplot; importance_table()."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pandas as pd
import pytest

from mlcask.evaluation.explanation import Explanation, importance_series
from mlcask.evaluation.explanation_plots import importance_table, write_explanation_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def _shap_explanation(n_rows=300, n_features=25, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"feature_{i}" for i in range(n_features)]
    X = pd.DataFrame(rng.normal(size=(n_rows * 2, n_features)), columns=names)
    X.iloc[::5, 0] = np.nan
    rows = rng.permutation(len(X))[:n_rows]
    scale = np.linspace(2.0, 0.05, n_features)
    contributions = rng.normal(size=(n_rows, n_features)) * scale
    found = Explanation(method="xgboost_pred_contribs", is_shap=True, feature_names=names,
                        importance=importance_series(np.abs(contributions).mean(axis=0), names), rows=rows,
                        contributions=contributions, base_value=0.1, output="log-odds of class 1",
                        base_values=np.full(n_rows, 0.1))
    return found, X


def test_shap_plots_have_mlflows_names_and_are_pngs(tmp_path):
    found, X = _shap_explanation()
    pyplot_before = "matplotlib.pyplot" in sys.modules
    written = write_explanation_plots(tmp_path, found, X, prefix="val_")
    assert set(written) == {"shap_beeswarm_plot", "shap_summary_plot", "shap_feature_importance_plot"}
    for name, path in written.items():
        assert path == tmp_path / f"val_{name}.png"
        width, height = _size(path)
        assert 600 <= width <= 1000 and 500 <= height <= 1200
    # shap's summary_plot of one output is its beeswarm chart: one image under both names
    assert written["shap_summary_plot"].read_bytes() == written["shap_beeswarm_plot"].read_bytes()
    assert written["shap_feature_importance_plot"].read_bytes() != written["shap_beeswarm_plot"].read_bytes()
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_before


def test_bars_show_top_twenty_and_the_rest_summed():
    from mlcask.evaluation import explanation_plots

    found, _ = _shap_explanation(n_features=25)
    fig = explanation_plots._shap_bars(found)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == found.importance.index[0] and labels[0] == "Sum of 5 other features"
    widths = [p.get_width() for p in fig.axes[0].patches]  # drawn top first
    np.testing.assert_allclose(widths[:20], found.importance.iloc[:20])
    assert widths[20] == pytest.approx(found.importance.iloc[20:].sum())


def test_beeswarm_draws_every_explained_value():
    from mlcask.evaluation import explanation_plots

    found, X = _shap_explanation(n_rows=120, n_features=8)
    fig = explanation_plots._beeswarm(found, X)
    offsets = np.concatenate([c.get_offsets() for c in fig.axes[0].collections if len(c.get_offsets()) > 2])
    assert offsets.shape[0] == 120 * 8
    # each feature's dots sit around its own line, the most important on top
    top = offsets[np.isclose(np.round(offsets[:, 1]), 7)]
    np.testing.assert_allclose(np.sort(top[:, 0]), np.sort(found.contributions[:, found.feature_names.index(
        found.importance.index[0])]))


def test_permutation_gives_feature_importance_plot(tmp_path):
    names = ["a", "b", "c"]
    found = Explanation(method="permutation", is_shap=False, feature_names=names,
                        importance=importance_series(np.array([0.01, 0.2, 0.05]), names), rows=np.arange(50),
                        output="drop in accuracy_score",
                        importance_std=pd.Series([0.001, 0.01, 0.004], index=names))
    written = write_explanation_plots(tmp_path, found, pd.DataFrame(np.zeros((50, 3)), columns=names))
    assert list(written) == ["feature_importance_plot"]
    assert written["feature_importance_plot"] == tmp_path / "feature_importance_plot.png"
    _size(written["feature_importance_plot"])


def test_importance_table():
    found, _ = _shap_explanation(n_features=4)
    table = importance_table(found)
    assert list(table.columns) == ["feature", "importance", "method"]
    assert list(table["feature"]) == list(found.importance.index)
    assert table["importance"].is_monotonic_decreasing and set(table["method"]) == {"xgboost_pred_contribs"}
