"""The PNG plots MLflow's default classifier evaluator logs, drawn fast with matplotlib's Agg.

Same artifact names, titles, axis labels and legends as MLflow's (6 x 4 inches, 8 pt text),
drawn through matplotlib's object API (a ``Figure`` on its own ``FigureCanvasAgg``: no pyplot,
no global state, safe beside other threads). For speed: 100 dpi, curves thinned to what a
plot can show (:func:`mlcask.evaluation.curves.thin_points`; the areas in the legends come
from the full curves), fixed margins where the layout is known, fast PNG compression.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcask.evaluation.classifier_metrics import check_probabilities, confusion_matrix
from mlcask.evaluation.curves import (
    Curve,
    calibration_bins,
    gain_lift,
    pr_curves,
    roc_curves,
    thin_points,
)
from mlcask.evaluation.labels import LabelSpace

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_logger = logging.getLogger(__name__)

DPI = 100
FIGSIZE = (6.0, 4.0)
FONT_SIZE = 8
_PNG = {"compress_level": 1}
_MARGINS = {"left": 0.1, "right": 0.97, "bottom": 0.12, "top": 0.92}
_DASHED = {"color": "gray", "alpha": 0.3, "linestyle": "dashed"}


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.tick_params(labelsize=FONT_SIZE)
    return fig, ax


_UNIT_TICKS = np.linspace(0.0, 1.0, 6)


def _unit_axes(ax: Axes, *, y: bool = True) -> None:
    # Fixed limits and ticks: no autoscaling pass and no tick locator at draw time.
    ax.set_xlim(-0.05, 1.05)
    ax.set_xticks(_UNIT_TICKS)
    if y:
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks(_UNIT_TICKS)


def _title(ax: Axes, text: str, size: float) -> None:
    # An explicit y keeps matplotlib from measuring every tick label to place the title.
    ax.set_title(text, fontsize=size, y=1.0)


def _label(text: str, pos_label: Any) -> str:
    return text if pos_label is None else f"{text} (Positive label: {pos_label})"


def curve_figure(curves: Sequence[Curve], *, kind: str, pos_label: Any) -> Figure:
    """MLflow's ROC (``kind="roc"``) or precision-recall (``"pr"``) plot of one or more curves."""
    fig, ax = _figure()
    for curve in curves:
        x, y = thin_points(curve.x, curve.y)
        ax.plot(x, y, label=curve.label, drawstyle="steps-post", linewidth=1)
    if kind == "roc":
        ax.plot([0, 1], [0, 1], **_DASHED)
        xlabel, ylabel, title = "False Positive Rate", "True Positive Rate", "ROC curve"
    else:
        ax.plot([0, 1], [1, 0], **_DASHED)
        xlabel, ylabel, title = "Recall", "Precision", "Precision recall curve"
    ax.set_xlabel(_label(xlabel, pos_label), fontsize=FONT_SIZE)
    ax.set_ylabel(_label(ylabel, pos_label), fontsize=FONT_SIZE)
    _title(ax, title, FONT_SIZE * 1.2)
    _unit_axes(ax)
    if len(curves) == 1:
        ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize=FONT_SIZE)
        fig.subplots_adjust(**_MARGINS)
    else:
        ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=FONT_SIZE)
        fig.subplots_adjust(left=0.1, right=0.6, bottom=0.25, top=0.92)
    return fig


def lift_figure(y_true: Any, proba: np.ndarray, space: LabelSpace) -> Figure:
    """MLflow's lift plot: one line per class (by its own probability column) and the baseline."""
    y = np.asarray(y_true)
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"Cannot calculate Lift Curve for data with {len(classes)} category/ies")
    fig, ax = _figure()
    _title(ax, "Lift Curve", FONT_SIZE * 1.2)
    _unit_axes(ax, y=False)
    for column, label in enumerate(classes):
        share, lift = gain_lift(y == label, proba[:, column])
        x, yy = thin_points(share, lift)
        name = f"Class {label} (positive)" if label == space.pos_label else f"Class {label}"
        ax.plot(x, yy, lw=3, label=name)
    ax.plot([0, 1], [1, 1], "k--", lw=2, label="Baseline")
    ax.set_xlabel("Percentage of sample", fontsize=FONT_SIZE)
    ax.set_ylabel("Lift", fontsize=FONT_SIZE)
    ax.grid(True)
    ax.legend(loc="upper right", fontsize=FONT_SIZE)
    fig.subplots_adjust(**_MARGINS)
    return fig


def _calibration_config(config: dict) -> tuple[int, str | None]:
    n_bins = config.get("calibration_n_bins", 10)
    name = config.get("calibration_classifier_name")
    if name is not None and not isinstance(name, str):
        raise TypeError("calibration_classifier_name should be of type string")
    if isinstance(n_bins, bool) or not isinstance(n_bins, int):
        raise TypeError("calibration_n_bins should be of type int")
    return n_bins, name


def calibration_figure(y_true: Any, proba: np.ndarray, space: LabelSpace, config: dict) -> Figure:
    """MLflow's calibration plot: the positive class (binary) or every class (multiclass)."""
    n_bins, name = _calibration_config(config)
    fig, ax = _figure()
    if space.is_binary:
        bins = calibration_bins(y_true, proba[:, space.pos_index], space, n_bins=n_bins)
        ax.plot([0, 1], [0, 1], "k:", label="Perfectly calibrated")
        ax.plot(bins["mean_predicted"], bins["fraction_positive"], marker="s", linestyle="-",
                **({"label": name} if name else {}))
        ax.legend(loc="lower right", fontsize=FONT_SIZE)
        _unit_axes(ax)
        info = f"(Positive class: {space.pos_label})"
        ax.set_xlabel(f"Mean predicted probability {info}", fontsize=FONT_SIZE)
        ax.set_ylabel(f"Fraction of positives {info}", fontsize=FONT_SIZE)
        fig.subplots_adjust(**_MARGINS)
        return fig
    for column, label in enumerate(space.sorted_labels):
        bins = calibration_bins(y_true, proba[:, column], space, n_bins=n_bins, label=label)
        ax.plot(bins["mean_predicted"], bins["fraction_positive"], marker="o", markersize=3,
                label=f"Class {label}")
    ax.plot([0, 1], [0, 1], linestyle="dotted", label="Perfect Calibration", color="black")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=max(1, space.n_classes // 3),
              fontsize=FONT_SIZE)
    _title(ax, f"{name or 'Classifier'} Calibration", 12)
    _unit_axes(ax)
    ax.set_xlabel("Mean Predicted Probability", fontsize=10)
    ax.set_ylabel("Fraction of True Positives", fontsize=10)
    return fig


def _needs_tight_confusion(labels: Sequence[Any]) -> bool:
    # Short class names fit fixed margins; long ones need the (slower) cropped layout.
    return len(labels) > 10 or max(len(str(label)) for label in labels) > 6


def confusion_figure(matrix: np.ndarray, labels: Sequence[Any]) -> Figure:
    """MLflow's normalized confusion matrix (rows: true label), as scikit-learn's display draws it."""
    from matplotlib import colormaps

    fig, ax = _figure()
    size = min(8, math.ceil(50.0 / len(labels)))
    cmap = colormaps["Blues"]
    image = ax.imshow(matrix, interpolation="nearest", cmap=cmap)
    low, high = cmap(0), cmap(1.0)
    threshold = (matrix.max() + matrix.min()) / 2.0
    if not _needs_tight_confusion(labels):
        fig.subplots_adjust(left=0.1, right=0.97, bottom=0.12, top=0.92)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, format(value, ".2g"), ha="center", va="center", fontsize=size,
                color=high if value < threshold else low)
    colorbar = fig.colorbar(image, ax=ax)
    colorbar.ax.tick_params(labelsize=size)
    names = [str(label) for label in labels]
    ax.set_xticks(np.arange(len(names)), names, fontsize=size)
    ax.set_yticks(np.arange(len(names)), names, fontsize=size)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("Predicted label", fontsize=FONT_SIZE)
    ax.set_ylabel("True label", fontsize=FONT_SIZE)
    _title(ax, "Normalized confusion matrix", size * 1.2)
    return fig


def save_png(fig: Figure, path: Path, *, tight: bool = False) -> Path:
    """Write ``fig`` as a PNG (fast compression); ``tight`` crops to the drawn extent."""
    fig.savefig(path, format="png", dpi=DPI, pil_kwargs=_PNG, **({"bbox_inches": "tight"} if tight else {}))
    return path


_Job = tuple[str, bool, Callable[[], "Figure"]]  # artifact name, cropped layout, figure builder


def _curve_jobs(y_true: Any, proba: np.ndarray, space: LabelSpace, weights: Any, roc: list[Curve] | None,
                pr: list[Curve] | None) -> list[_Job]:
    tight = not space.is_binary  # the per-class legend sits outside the axes

    def roc_plot() -> Figure:
        curves = roc if roc is not None else roc_curves(y_true, proba, space, sample_weights=weights)
        return curve_figure(curves, kind="roc", pos_label=space.pos_label)

    def pr_plot() -> Figure:
        curves = pr if pr is not None else pr_curves(y_true, proba, space, sample_weights=weights)
        return curve_figure(curves, kind="pr", pos_label=space.pos_label)

    return [("roc_curve_plot", tight, roc_plot), ("precision_recall_curve_plot", tight, pr_plot)]


def _plot_jobs(y_true: Any, y_pred: Any, proba: np.ndarray | None, space: LabelSpace, config: dict,
               weights: Any, roc: list[Curve] | None, pr: list[Curve] | None) -> list[_Job]:
    """The plots to write, in MLflow's order."""
    jobs: list[_Job] = []
    if proba is not None:
        calibration: _Job = ("calibration_curve_plot", not space.is_binary,
                             lambda: calibration_figure(y_true, proba, space, config))
        limit = config.get("max_classes_for_multiclass_roc_pr", 10)
        if space.is_binary:
            jobs += _curve_jobs(y_true, proba, space, weights, roc, pr)
            jobs += [("lift_curve_plot", False, lambda: lift_figure(y_true, proba, space)), calibration]
        elif space.n_classes <= limit:
            jobs += [calibration, *_curve_jobs(y_true, proba, space, weights, roc, pr)]
        else:
            jobs.append(calibration)
            _logger.warning(
                f"The classifier num_classes > {limit}, skip logging ROC curve and Precision-Recall "
                "curve. You can add evaluator config 'max_classes_for_multiclass_roc_pr' to "
                "increase the threshold."
            )

    def confusion_plot() -> Figure:
        matrix = confusion_matrix(y_true, y_pred, space, sample_weights=weights, normalize="true")
        return confusion_figure(matrix, space.labels)

    jobs.append(("confusion_matrix", _needs_tight_confusion(space.labels), confusion_plot))
    return jobs


def write_classifier_plots(out_dir: Path, *, y_true: Any, y_pred: Any, y_proba: np.ndarray | None,
                           space: LabelSpace, config: dict, prefix: str = "", sample_weights: Any = None,
                           roc: list[Curve] | None = None, pr: list[Curve] | None = None) -> dict[str, Path]:
    """Write the PNGs MLflow's classifier evaluator logs; return artifact name -> file.

    Binary, with probabilities: ``roc_curve_plot``, ``precision_recall_curve_plot``,
    ``lift_curve_plot``, ``calibration_curve_plot``. Multiclass, with probabilities:
    ``calibration_curve_plot`` and, for at most ``config["max_classes_for_multiclass_roc_pr"]``
    classes (default 10), the one-vs-rest ``roc_curve_plot`` and ``precision_recall_curve_plot``.
    Always ``confusion_matrix`` (normalized over each true class). Files are
    ``out_dir / f"{prefix}{name}.png"`` (the folder is created). ``sample_weights`` defaults to
    ``config["sample_weights"]``; ``roc`` / ``pr`` reuse curves already computed. A plot that
    fails is skipped with a warning, as MLflow does.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = sample_weights if sample_weights is not None else config.get("sample_weights")
    proba = None if y_proba is None else check_probabilities(y_proba, space)
    written: dict[str, Path] = {}
    for name, tight, build in _plot_jobs(y_true, y_pred, proba, space, config, weights, roc, pr):
        try:
            written[name] = save_png(build(), out_dir / f"{prefix}{name}.png", tight=tight)
        except Exception as e:  # MLflow logs a warning and goes on without that plot
            _logger.warning(f"Failed to log image artifact {name!r}: {e!r}")
    return written
