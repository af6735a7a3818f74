"""PNG charts of an explanation (MLflow's artifact names), drawn with matplotlib's object API.

SHAP values give ``shap_beeswarm_plot`` (each explained row a dot at its SHAP value, coloured by
the feature's value, one line per feature, the 20 most important), ``shap_summary_plot`` (shap's
``summary_plot`` of a single output draws the same chart as its beeswarm, so the same image is
written under both names) and ``shap_feature_importance_plot`` (bars of mean |SHAP value|).
Permutation importance gives ``feature_importance_plot`` (bars with the spread over repeats).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcask.evaluation.explanation import Explanation

MAX_DISPLAY = 20
_BLUE, _PURPLE, _RED = "#008bfb", "#8a3fc3", "#ff0052"


def write_explanation_plots(out_dir: Path, explanation: Explanation, X: pd.DataFrame, *,
                            prefix: str = "") -> dict[str, Path]:
    """Write the explanation's charts as PNG files into ``out_dir``.

    Parameters
    ----------
    out_dir : pathlib.Path
        An existing folder.
    explanation : Explanation
        What ``explain`` returned.
    X : pandas.DataFrame
        The evaluation features the explanation's ``rows`` point into (they colour the beeswarm).
    prefix : str
        Put before each file name (MLflow's ``metric_prefix``).

    Returns
    -------
    dict
        Artifact name (MLflow's) -> the PNG written, ``out_dir / f"{prefix}{name}.png"``.
    """
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}

    def write(name: str, png: bytes) -> None:
        path = out_dir / f"{prefix}{name}.png"
        path.write_bytes(png)
        written[name] = path

    if explanation.contributions is not None:
        beeswarm = _png(_beeswarm(explanation, X))
        write("shap_beeswarm_plot", beeswarm)
        write("shap_summary_plot", beeswarm)
        write("shap_feature_importance_plot", _png(_shap_bars(explanation)))
    else:
        write("feature_importance_plot", _png(_permutation_bars(explanation)))
    return written


def importance_table(explanation: Explanation) -> pd.DataFrame:
    """The global importance as a table, most important first: columns feature, importance, method."""
    return pd.DataFrame({"feature": explanation.importance.index.astype(str),
                         "importance": explanation.importance.to_numpy(dtype=float),
                         "method": explanation.method})


def _figure(labels: list[str], width: float = 7.5, right: float = 0.3) -> Any:
    """A figure with room for ``labels`` on the left (fixed margins: a layout engine costs ~0.2 s)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = 0.32 * len(labels) + 1.2
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    left = min(0.45, (0.3 + 0.075 * max((len(label) for label in labels), default=1)) / width)
    fig.subplots_adjust(left=left, right=1 - right / width, top=1 - 0.25 / height, bottom=0.75 / height)
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 2})
    return buffer.getvalue()


def _shown(explanation: Explanation) -> list[str]:
    return [str(name) for name in explanation.importance.index[:MAX_DISPLAY]]


def _beeswarm(explanation: Explanation, X: pd.DataFrame) -> Any:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap

    names = _shown(explanation)
    columns = [explanation.feature_names.index(name) for name in names]
    values = np.asarray(explanation.contributions, dtype=float)[:, columns]
    features = X.iloc[explanation.rows][names]
    cmap = LinearSegmentedColormap.from_list("shap_red_blue", [_BLUE, _PURPLE, _RED])
    fig = _figure(names, width=8.0, right=0.95)
    ax = fig.add_subplot()
    ax.axvline(0.0, color="#999999", linewidth=0.8, zorder=0)
    lines = len(names) - 1 - np.arange(len(names))
    ax.hlines(lines, values.min(initial=0.0), values.max(initial=0.0), color="#dddddd", linewidth=0.5, zorder=0)
    colour = np.column_stack([_scaled(features[name].to_numpy(dtype=float, na_value=np.nan)) for name in names])
    y = lines[np.newaxis, :] + np.column_stack([_swarm(values[:, j]) for j in range(len(names))])
    x, y, colour = values.ravel(), y.ravel(), colour.ravel()
    known = ~np.isnan(colour)
    ax.scatter(x[~known], y[~known], s=8, color="#777777", linewidths=0, alpha=0.8)
    ax.scatter(x[known], y[known], s=8, c=colour[known], cmap=cmap, vmin=0.0, vmax=1.0, linewidths=0, alpha=0.8)
    _feature_axis(ax, names)
    ax.set_xlabel(f"SHAP value (impact on {explanation.output or 'model output'})")
    box = ax.get_position()
    cax = fig.add_axes((box.x1 + 0.02, box.y0, 0.012, box.height))
    bar = fig.colorbar(ScalarMappable(cmap=cmap), cax=cax, ticks=[0.0, 1.0])
    bar.ax.set_yticklabels(["Low", "High"])
    bar.set_label("Feature value", labelpad=-8)
    bar.outline.set_visible(False)
    return fig


def _scaled(values: np.ndarray) -> np.ndarray:
    """Feature values to [0, 1] between their 5th and 95th percentiles (shap's colouring); NaN stays NaN."""
    known = values[~np.isnan(values)]
    if known.size == 0:
        return values
    low, high = np.percentile(known, [5, 95])
    if high <= low:
        low, high = known.min(), known.max()
    if high <= low:
        return np.where(np.isnan(values), np.nan, 0.5)
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _swarm(x: np.ndarray, bins: int = 100, width: float = 0.4) -> np.ndarray:
    """Vertical offsets that spread dots sharing an x bin above and below their line."""
    n = x.shape[0]
    if n == 0:
        return np.zeros(0)
    low, high = float(np.min(x)), float(np.max(x))
    cell = np.zeros(n, dtype=int) if high <= low else np.minimum(((x - low) / (high - low) * bins).astype(int),
                                                                  bins - 1)
    order = np.argsort(cell, kind="stable")
    sorted_cells = cell[order]
    starts = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank = np.arange(n) - starts
    step = ((rank + 1) // 2) * np.where(rank % 2 == 1, 1.0, -1.0)
    crowd = max(1, int(np.bincount(cell).max()))
    offsets = np.empty(n)
    offsets[order] = step * (width / max(1.0, crowd / 2))
    return offsets


def _feature_axis(ax: Any, names: list[str]) -> None:
    ax.set_yticks(range(len(names)), labels=list(reversed(names)), fontsize=10)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.tick_params(axis="x", labelsize=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)


def _shap_bars(explanation: Explanation) -> Any:
    importance = explanation.importance
    labels = _shown(explanation)
    heights = list(importance.iloc[:MAX_DISPLAY].to_numpy(dtype=float))
    if len(importance) > MAX_DISPLAY:
        labels.append(f"Sum of {len(importance) - MAX_DISPLAY} other features")
        heights.append(float(importance.iloc[MAX_DISPLAY:].sum()))
    fig = _figure(labels)
    ax = fig.add_subplot()
    bars = ax.barh(range(len(labels) - 1, -1, -1), heights, color=_RED, height=0.7)
    ax.bar_label(bars, fmt="%.3g", padding=3, fontsize=9, color=_RED)
    _feature_axis(ax, labels)
    ax.set_xlabel(f"mean(|SHAP value|) ({explanation.output or 'model output'})")
    ax.margins(x=0.12)
    return fig


def _permutation_bars(explanation: Explanation) -> Any:
    labels = _shown(explanation)
    heights = explanation.importance.iloc[:MAX_DISPLAY].to_numpy(dtype=float)
    spread = None
    if explanation.importance_std is not None:
        spread = explanation.importance_std.reindex(explanation.importance.index[:MAX_DISPLAY]).to_numpy(dtype=float)
    fig = _figure(labels)
    ax = fig.add_subplot()
    bars = ax.barh(range(len(labels) - 1, -1, -1), heights, xerr=spread, color=_BLUE, height=0.7,
                   error_kw={"ecolor": "#555555", "capsize": 2, "linewidth": 0.8})
    ax.bar_label(bars, fmt="%.3g", padding=4, fontsize=9)
    ax.axvline(0.0, color="#999999", linewidth=0.8)
    _feature_axis(ax, labels)
    ax.set_xlabel(f"Permutation importance: {explanation.output or 'score drop'} when the feature is shuffled")
    ax.margins(x=0.12)
    return fig
