"""The classifier PNGs: MLflow's artifact names, titles and labels, drawn without pyplot."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from mlcask.evaluation.curves import roc_curves
from mlcask.evaluation.labels import label_space
from mlcask.evaluation.plots import (
    calibration_figure,
    confusion_figure,
    curve_figure,
    lift_figure,
    write_classifier_plots,
)

BINARY_PLOTS = {"roc_curve_plot", "precision_recall_curve_plot", "lift_curve_plot", "calibration_curve_plot",
                "confusion_matrix"}


def binary(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    y_true = np.where(rng.random(n) < p, "yes", "no")
    return y_true, np.where(p > 0.5, "yes", "no"), np.column_stack([1 - p, p])


def multiclass(k=4, n=800, seed=1):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), codes] += 1.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return codes, proba.argmax(axis=1), proba


def test_binary_writes_mlflows_five_pngs_with_the_prefix(tmp_path):
    y_true, y_pred, proba = binary()
    space = label_space(y_true, y_pred)
    written = write_classifier_plots(tmp_path, y_true=y_true, y_pred=y_pred, y_proba=proba, space=space,
                                     config={}, prefix="val_")
    assert set(written) == BINARY_PLOTS
    for name, path in written.items():
        assert path == tmp_path / f"val_{name}.png"
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (600, 400)
            assert len(np.unique(np.asarray(image.convert("L")))) > 10  # something is drawn


def test_without_probabilities_only_the_confusion_matrix(tmp_path):
    y_true, y_pred, _ = binary(200)
    written = write_classifier_plots(tmp_path, y_true=y_true, y_pred=y_pred, y_proba=None,
                                     space=label_space(y_true, y_pred), config={})
    assert list(written) == ["confusion_matrix"]


def test_multiclass_plots_and_the_class_limit(tmp_path, caplog):
    y_true, y_pred, proba = multiclass()
    space = label_space(y_true, y_pred)
    written = write_classifier_plots(tmp_path, y_true=y_true, y_pred=y_pred, y_proba=proba, space=space, config={})
    assert list(written) == ["calibration_curve_plot", "roc_curve_plot", "precision_recall_curve_plot",
                             "confusion_matrix"]
    with caplog.at_level(logging.WARNING, logger="mlcask.evaluation.plots"):
        limited = write_classifier_plots(tmp_path / "x", y_true=y_true, y_pred=y_pred, y_proba=proba,
                                         space=space, config={"max_classes_for_multiclass_roc_pr": 3})
    assert list(limited) == ["calibration_curve_plot", "confusion_matrix"]
    assert "The classifier num_classes > 3, skip logging ROC curve and Precision-Recall curve" in caplog.text


def test_a_failing_plot_is_skipped_with_mlflows_warning(tmp_path, caplog):
    y_true, y_pred, proba = binary(300)
    with caplog.at_level(logging.WARNING, logger="mlcask.evaluation.plots"):
        written = write_classifier_plots(tmp_path, y_true=y_true, y_pred=y_pred, y_proba=proba,
                                         space=label_space(y_true, y_pred), config={"calibration_n_bins": "10"})
    assert set(written) == BINARY_PLOTS - {"calibration_curve_plot"}
    assert "Failed to log image artifact 'calibration_curve_plot'" in caplog.text
    assert "calibration_n_bins should be of type int" in caplog.text


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_curve_figures_carry_mlflows_titles_and_labels():
    y_true, y_pred, proba = binary(300)
    space = label_space(y_true, y_pred)
    roc = roc_curves(y_true, proba, space)
    ax = curve_figure(roc, kind="roc", pos_label="yes").axes[0]
    assert ax.get_title() == "ROC curve"
    assert ax.get_xlabel() == "False Positive Rate (Positive label: yes)"
    assert ax.get_ylabel() == "True Positive Rate (Positive label: yes)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [roc[0].label]
    ax = curve_figure(roc, kind="pr", pos_label=None).axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Precision recall curve", "Recall", "Precision")
    # the drawn line is thinned, its ends kept
    line = curve_figure([type(roc[0])(np.linspace(0, 1, 5000), np.linspace(0, 1, 5000) ** 2, "c", 0.5)],
                        kind="roc", pos_label=None).axes[0].lines[0]
    assert len(line.get_xdata()) < 2000 and line.get_xdata()[-1] == 1.0


def test_lift_figure_marks_the_positive_class():
    y_true, y_pred, proba = binary(300)
    space = label_space(y_true, y_pred, pos_label="no")
    ax = lift_figure(y_true, proba, space).axes[0]
    assert ax.get_title() == "Lift Curve" and ax.get_ylabel() == "Lift"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Class no (positive)", "Class yes", "Baseline"]
    with pytest.raises(ValueError, match="Cannot calculate Lift Curve for data with 1 category"):
        lift_figure(np.array(["no"] * 4), proba[:4], space)


def test_calibration_figures():
    y_true, y_pred, proba = binary(300)
    ax = calibration_figure(y_true, proba, label_space(y_true, y_pred), {}).axes[0]
    assert ax.get_xlabel() == "Mean predicted probability (Positive class: yes)"
    assert ax.get_ylabel() == "Fraction of positives (Positive class: yes)"
    y_true, y_pred, proba = multiclass(3)
    ax = calibration_figure(y_true, proba, label_space(y_true, y_pred),
                            {"calibration_classifier_name": "XGB"}).axes[0]
    assert ax.get_title() == "XGB Calibration"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Class 0", "Class 1", "Class 2",
                                                                   "Perfect Calibration"]
    with pytest.raises(TypeError, match="calibration_classifier_name should be of type string"):
        calibration_figure(y_true, proba, label_space(y_true, y_pred), {"calibration_classifier_name": 3})


def test_confusion_figure_shows_the_normalized_values():
    matrix = np.array([[0.75, 0.25], [0.125, 0.875]])
    ax = confusion_figure(matrix, ["no", "yes"]).axes[0]
    assert ax.get_title() == "Normalized confusion matrix"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted label", "True label")
    assert _texts(ax) == ["0.75", "0.25", "0.12", "0.88"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["no", "yes"]


def test_plots_are_identical_when_written_from_threads(tmp_path):
    y_true, y_pred, proba = binary(500)
    space = label_space(y_true, y_pred)

    def write(folder):
        return write_classifier_plots(tmp_path / folder, y_true=y_true, y_pred=y_pred, y_proba=proba,
                                      space=space, config={})

    serial = write("serial")
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(write, ["a", "b"]))
    for result in threaded:
        assert {n: p.read_bytes() for n, p in result.items()} == {n: p.read_bytes() for n, p in serial.items()}


def test_no_pyplot_is_imported(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from mlcask.evaluation.labels import label_space
        from mlcask.evaluation.plots import write_classifier_plots
        y = np.array([0, 1] * 50); p = np.linspace(0.01, 0.99, 100)
        out = write_classifier_plots({str(tmp_path)!r}, y_true=y, y_pred=(p > 0.5).astype(int),
                                     y_proba=np.column_stack([1 - p, p]), space=label_space(y, y), config={{}})
        assert len(out) == 5, out
        print("matplotlib.pyplot" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
