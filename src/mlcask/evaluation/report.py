"""The Responsible-AI report: one self-contained, offline HTML page of an evaluation.

``render_report`` turns a :class:`ReportData` (filled by ``evaluate``) into a single HTML
document: inline CSS, inline SVG charts (:mod:`mlcask.evaluation.svg_charts`), no script, no
external URL, no web font. It displays fully under the web UI's html-preview policy
``sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'``
and opens offline from a file. Every string that comes from the data (feature names, group
values, conditions, the model URI) is HTML-escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mlcask.evaluation import svg_charts
from mlcask.version import __version__

if TYPE_CHECKING:
    from mlcask.evaluation.balance import DataBalance
    from mlcask.evaluation.curves import Curve
    from mlcask.evaluation.error_analysis import Cohort
    from mlcask.evaluation.explanation import Explanation
    from mlcask.evaluation.fairness import GroupMetrics
    from mlcask.evaluation.labels import LabelSpace

REPORT_ARTIFACT = "responsible_ai_report.html"
"""The report's artifact file name (``evaluate`` puts the metric prefix in front)."""

REPORT_TAG = "mlcask.evaluation.report"
"""The run tag (artifact path) and logged-model tag (``runs:/<run_id>/<path>``) naming the report."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ReportData:
    """Everything the report shows; sections whose data is missing are left out.

    ``confusion`` holds counts, rows the true class and columns the predicted one, in
    ``space.labels`` order. ``roc``/``pr`` are curves as ``mlcask.evaluation.curves`` computes them
    (binary: one; multiclass: one per class). ``calibration`` has the columns ``bin_low``,
    ``bin_high``, ``mean_predicted``, ``fraction_positive``, ``count``. ``cohort_importance``
    maps a cohort's ``id`` to the feature importance within that cohort. ``residuals`` (regressor)
    are ``y_true - y_pred``.
    """

    title: str
    model_uri: str | None
    model_type: str
    run_id: str | None
    dataset_name: str | None
    n_rows: int
    feature_names: list[str]
    target: str | None
    metrics: dict[str, float]
    space: LabelSpace | None = None
    confusion: np.ndarray | None = None
    roc: list[Curve] = field(default_factory=list)
    pr: list[Curve] = field(default_factory=list)
    calibration: pd.DataFrame | None = None
    explanation: Explanation | None = None
    groups: list[GroupMetrics] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)
    cohort_importance: dict[str, pd.Series] = field(default_factory=dict)
    balance: DataBalance | None = None
    residuals: np.ndarray | None = None
    created: datetime = field(default_factory=_now)
    mlcask_version: str = __version__


def render_report(data: ReportData) -> str:
    """Render an evaluation as one self-contained HTML page (no script, no external resource).

    Parameters
    ----------
    data : ReportData
        What ``evaluate`` computed. Sections without data (no sensitive features, no explanation,
        no probabilities) are left out; the page says how to get them.

    Returns
    -------
    str
        The HTML document (UTF-8 text), a few tens of KB.
    """
    built, missing = [], []
    for section in _SECTIONS:
        result = section(data)
        if isinstance(result, _Section):
            built.append(result)
        elif result:
            missing.append(result)
    toc = "".join(f'<li><a href="#{s.id}">{_e(s.title)}</a></li>' for s in built)
    body = "".join(f'<section id="{s.id}"><h2>{_e(s.title)}</h2>{s.body}</section>' for s in built)
    if missing:
        notes = "".join(f"<li>{note}</li>" for note in missing)
        body += f'<section id="not-shown"><h2>Not in this report</h2><ul class="notes">{notes}</ul></section>'
    created = data.created.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(data.title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{_e(data.title)}</h1><p class="muted">{_e(data.model_type)} evaluation · {created} · '
        f"mlcask {_e(data.mlcask_version)}</p></header>"
        f'<nav aria-label="Sections"><ol>{toc}</ol></nav><main>{body}</main>'
        '<footer class="muted">Written by mlcask. This page holds no script and loads nothing: it opens offline '
        "and prints as it shows.</footer></body></html>"
    )


# -- pieces ------------------------------------------------------------------------------------------------

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = (
    ":root{color-scheme:light;--fg:#1f2328;--muted:#59636e;--line:#d8dee4;--soft:#f6f8fa;--accent:#0b5cad;"
    "--bad:#b3261e;--badbg:#fdecea;--good:#1a7f37}"
    "*{box-sizing:border-box}body{margin:0 auto;max-width:1100px;padding:16px 20px 40px;color:var(--fg);"
    "background:#fff;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif}"
    "h1{font-size:22px;margin:0 0 2px}h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;"
    "border-bottom:1px solid var(--line)}h3{font-size:15px;margin:18px 0 6px}p{margin:6px 0}"
    ".muted{color:var(--muted)}code{font:12px ui-monospace,Menlo,Consolas,monospace;background:var(--soft);"
    "padding:1px 4px;border-radius:4px;word-break:break-word}"
    "nav ol{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;padding:8px 0;margin:8px 0;"
    "border-bottom:1px solid var(--line)}a{color:var(--accent)}"
    ".wrap{overflow-x:auto;margin:6px 0 10px}table{border-collapse:collapse;font-size:13px}"
    "th,td{border-bottom:1px solid var(--line);padding:3px 10px 3px 0;text-align:left;vertical-align:top}"
    "thead th{border-bottom:2px solid var(--line);white-space:nowrap}td.n,th.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}tr.all td{font-weight:600}"
    "td.hi{color:var(--good);font-weight:600}td.lo{color:var(--bad);font-weight:600}"
    "td.d{background:var(--soft)}td.flag{background:var(--badbg);color:var(--bad);font-weight:700}"
    ".kv th{width:170px;color:var(--muted);font-weight:500}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}.card{border:1px solid var(--line);"
    "border-radius:6px;padding:8px 12px;min-width:130px}.card b{display:block;font-size:20px}"
    ".card span{color:var(--muted);font-size:12px}"
    ".grid{display:flex;flex-wrap:wrap;gap:12px 24px;align-items:flex-start}figure{margin:8px 0}"
    ".stack{display:flex;flex-direction:column;gap:4px}"
    "figcaption{font-size:12px;color:var(--muted);max-width:560px}svg.chart{max-width:100%;height:auto}"
    "details{margin:4px 0 10px}summary{color:var(--accent)}ul.notes li{margin:4px 0}"
    "ul.conds{margin:0;padding-left:16px}footer{margin-top:32px;font-size:12px}"
    "@media print{body{max-width:none;padding:0}nav{display:none}h2{break-after:avoid}"
    "figure,table,.card{break-inside:avoid}details{display:block}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}"
)

# Metrics counted rather than rated: their per-group values differ with group size, so their
# disparity is not flagged.
_COUNTS = frozenset({"example_count", "count", "true_negatives", "false_positives", "false_negatives",
                     "true_positives", "sum_on_target"})
_KEY_METRICS = {
    "classifier": ("accuracy_score", "f1_score", "recall_score", "precision_score", "roc_auc", "log_loss"),
    "regressor": ("mean_absolute_error", "root_mean_squared_error", "r2_score", "mean_absolute_percentage_error"),
}
# The one or two metrics drawn per group: rates on a shared scale.
_CHART_METRICS = {
    "classifier": ("accuracy_score", "f1_score", "recall_score", "precision_score", "roc_auc"),
    "regressor": ("mean_absolute_error", "root_mean_squared_error"),
}
_RATIO_FLAG = 0.8  # the four-fifths rule
_DIFFERENCE_FLAG = 0.1  # on metrics between 0 and 1
_MAX_CURVE_POINTS = 300
_TOP_FEATURES = 20
_TOP_COHORT_FEATURES = 10


@dataclass
class _Section:
    id: str
    title: str
    body: str


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _num(value: object) -> str:
    """A table cell's number: integers in full with separators, other numbers to 4 significant digits."""
    if not _is_number(value):
        return _e(value)
    number = float(value)
    if not math.isfinite(number):
        return "–"
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:.4g}"


def _td(value: object, css: str = "") -> str:
    if _is_number(value):
        return f'<td class="n {css}">{_num(value)}</td>' if css else f'<td class="n">{_num(value)}</td>'
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="muted">–</td>'
    return f'<td class="{css}">{_e(value)}</td>' if css else f"<td>{_e(value)}</td>"


def _table(head: list[str], rows: list[str], caption: str = "") -> str:
    """``head``: escaped header texts (a leading ``n:`` marks a numeric column); ``rows``: ``<tr>`` strings."""
    cells = "".join(f'<th scope="col" class="n">{h[2:]}</th>' if h.startswith("n:") else f'<th scope="col">{h}</th>'
                    for h in head)
    cap = f"<caption class=\"muted\">{caption}</caption>" if caption else ""
    return f'<div class="wrap"><table>{cap}<thead><tr>{cells}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _name(value: object) -> str:
    """A group's name (an intersection's values joined), unescaped."""
    if isinstance(value, tuple):
        return " · ".join(str(v) for v in value)
    return str(value)


def _figure(svg: str, caption: str = "") -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>" if caption else f"<figure>{svg}</figure>"


def _frame_table(frame: pd.DataFrame, index_label: str) -> str:
    """Any small DataFrame as a table: its index first, then each column."""
    columns = [str(c) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    head = [_e(index_label)] + [("n:" if n else "") + _e(c) for c, n in zip(columns, numeric, strict=True)]
    shares = [c == "share" or c.startswith("share_") for c in columns]  # shares of rows, as percentages
    values = frame.to_numpy(dtype=object).tolist()
    rows = [f'<tr><th scope="row">{_e(_name(index))}</th>'
            + "".join(f'<td class="n">{_pct(v)}</td>' if share and _is_number(v) else _td(v)
                      for v, share in zip(row, shares, strict=True)) + "</tr>"
            for index, row in zip(frame.index.tolist(), values, strict=True)]
    return _table(head, rows)


# -- sections: each returns a _Section, or a note (escaped HTML) saying how to get it, or None ---------

def _overview(data: ReportData) -> _Section:
    space = data.space
    classes = None
    if space is not None:
        shown = ", ".join(str(label) for label in space.labels[:30].tolist())
        more = f" … ({len(space.labels)} classes)" if len(space.labels) > 30 else ""
        positive = f"; positive: <code>{_e(space.pos_label)}</code>" if space.is_binary else ""
        classes = f"<code>{_e(shown)}</code>{_e(more)}{positive}"
    features = ", ".join(data.feature_names[:40]) + (" …" if len(data.feature_names) > 40 else "")
    facts = [("Model", data.model_uri and f"<code>{_e(data.model_uri)}</code>"), ("Model type", _e(data.model_type)),
             ("Dataset", data.dataset_name and _e(data.dataset_name)), ("Rows", _num(data.n_rows)),
             ("Target", data.target and f"<code>{_e(data.target)}</code>"), ("Classes", classes),
             ("Features", f"{len(data.feature_names)}: {_e(features)}" if data.feature_names else None),
             ("Run", data.run_id and f"<code>{_e(data.run_id)}</code>")]
    rows = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in facts if v)
    body = f'<table class="kv"><tbody>{rows}</tbody></table>'
    overall = {k: v for k, v in data.metrics.items() if "/" not in k}
    key = [k for k in _KEY_METRICS.get(data.model_type, ()) if k in overall][:5]
    if key:
        body += '<div class="cards">' + "".join(
            f'<div class="card"><b>{_num(overall[k])}</b><span>{_e(k)}</span></div>' for k in key) + "</div>"
    if overall:
        rows = [f"<tr><td>{_e(k)}</td>{_td(v)}</tr>" for k, v in sorted(overall.items())]
        body += "<h3>Metrics</h3>" + _table(["Metric", "n:Value"], rows)
    return _Section("overview", "Overview", body)


def _fairness(data: ReportData) -> _Section | str:
    if not data.groups:
        return ("<b>Per-group metrics and disparity</b>: no sensitive features were given. Pass "
                "<code>evaluator_config={&quot;sensitive_features&quot;: [&quot;&lt;column&gt;&quot;, ...]}</code> "
                "to <code>evaluate</code> (or <code>--sensitive-feature COL</code> to <code>mlcask models "
                "evaluate</code>).")
    body = (f"<p>Every metric on each group. <b>Difference</b> is the largest minus the smallest group value and "
            f"<b>ratio</b> the smallest over the largest (fairlearn's <code>MetricFrame</code>). In green the best "
            f"group, in red the worst; flagged, a ratio under {_RATIO_FLAG} or, on a metric between 0 and 1, a "
            f"difference over {_DIFFERENCE_FLAG}.</p>")
    for gm in data.groups:
        body += f"<h3>{_e(gm.feature)}</h3>" + _group_table(gm) + _group_chart(gm, data.model_type)
    return _Section("fairness", "Per-group metrics and disparity", body)


def _extremes(values: list[float], lower_is_better: bool) -> tuple[int | None, int | None]:
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    if len(finite) < 2 or min(finite)[0] == max(finite)[0]:
        return None, None
    best, worst = max(finite)[1], min(finite)[1]
    return (worst, best) if lower_is_better else (best, worst)


def _lower_is_better(metric: str) -> bool:
    return any(word in metric for word in ("error", "loss", "false_"))


def _group_table(gm: GroupMetrics) -> str:
    by = gm.by_group
    groups = [_name(g) for g in by.index.tolist()]
    metrics = sorted((c for c in by.columns if c != "count"), key=lambda c: c in _COUNTS)  # rates first, counts last
    head = ["Metric"] + [f"n:{_e(g)}" for g in groups] + ["n:difference", "n:ratio"]
    rows = []
    if "count" in by.columns:
        rows.append("<tr><td>rows</td>" + "".join(_td(v) for v in by["count"].tolist()) + "<td></td><td></td></tr>")
    for metric in metrics:
        values = [float(v) for v in pd.to_numeric(by[metric], errors="coerce").tolist()]
        counted = metric in _COUNTS
        best, worst = (None, None) if counted else _extremes(values, _lower_is_better(metric))
        cells = "".join(_td(v, "hi" if i == best else "lo" if i == worst else "") for i, v in enumerate(values))
        diff, ratio = float(gm.difference.get(metric, math.nan)), float(gm.ratio.get(metric, math.nan))
        unit = all(0.0 <= v <= 1.0 for v in values if math.isfinite(v))
        diff_flag = not counted and unit and math.isfinite(diff) and diff > _DIFFERENCE_FLAG
        ratio_flag = not counted and math.isfinite(ratio) and ratio < _RATIO_FLAG
        rows.append(f"<tr><td>{_e(metric)}</td>{cells}{_td(diff, 'flag' if diff_flag else 'd')}"
                    f"{_td(ratio, 'flag' if ratio_flag else 'd')}</tr>")
    return _table(head, rows)


def _group_chart(gm: GroupMetrics, model_type: str) -> str:
    by = gm.by_group
    chosen = [m for m in _CHART_METRICS.get(model_type, ()) if m in by.columns][:2]
    if not chosen or len(by) > 40:
        return ""
    series = {m: [float(v) for v in pd.to_numeric(by[m], errors="coerce").tolist()] for m in chosen}
    title = f"{' and '.join(chosen)} per group of {gm.feature}"
    return _figure(svg_charts.grouped_bar_chart([_name(g) for g in by.index.tolist()], series, title=title))


def _overall_error(data: ReportData) -> float | None:
    if data.model_type == "regressor":
        return data.metrics.get("mean_absolute_error")
    accuracy = data.metrics.get("accuracy_score")
    return None if accuracy is None else 1.0 - accuracy


def _cohorts(data: ReportData) -> _Section | str:
    if not data.cohorts:
        return ("<b>Error cohorts</b>: none found (they come from a shallow tree fit on the model's errors over "
                "the feature columns; there were no errors or no features to split on).")
    rate = "mean absolute error" if data.model_type == "regressor" else "error rate"
    overall = _overall_error(data)
    rows = []
    if overall is not None:
        rows.append(f'<tr class="all"><td>all</td><td>all rows</td>{_td(data.n_rows)}<td class="n">100%</td>'
                    f'{_td(overall)}<td class="n">100%</td></tr>')
    for c in data.cohorts:
        conditions = "".join(f"<li><code>{_e(text)}</code></li>" for text in c.conditions) or "<li>all rows</li>"
        share = f"{c.size / data.n_rows:.1%}" if data.n_rows else "–"
        rows.append(f'<tr><td>{_e(c.id)}</td><td><ul class="conds">{conditions}</ul></td>{_td(c.size)}'
                    f'<td class="n">{share}</td>{_td(c.error_rate)}<td class="n">{_pct(c.error_share)}</td></tr>')
    table = _table(["Cohort", "Conditions (all hold)", "n:Rows", "n:Share of rows", f"n:{rate.capitalize()}",
                    "n:Share of errors"], rows)
    labels = [f"{c.id}: {' and '.join(c.conditions)}" for c in data.cohorts]
    chart = svg_charts.bar_chart(labels, [c.error_rate for c in data.cohorts], title=f"{rate} per cohort",
                                 value_label=rate, reference=overall, reference_label="overall",
                                 color=svg_charts.PALETTE[3])
    body = (f"<p>The groups of rows where the model errs most, found by a shallow decision tree fit on its "
            f"errors. The dashed line is the {rate} over all rows.</p>{table}{_figure(chart)}")
    return _Section("cohorts", "Error cohorts", body)


def _pct(value: float) -> str:
    return f"{value:.1%}" if _is_number(value) and math.isfinite(value) else "–"


def _importance_chart(importance: pd.Series, top: int, title: str, width: int = 560) -> str:
    shown = importance.sort_values(ascending=False, kind="stable").head(top)
    return svg_charts.bar_chart([str(i) for i in shown.index.tolist()], shown.tolist(), title=title, width=width)


def _importance(data: ReportData) -> _Section | str:
    explanation = data.explanation
    if explanation is None or len(explanation.importance) == 0:
        return ("<b>Feature importance</b>: no explanation was computed. It is on by default "
                "(<code>log_model_explainability</code>) and needs a model, not a column of predictions.")
    what = ("mean absolute SHAP value" if explanation.is_shap else
            "drop in score when the feature is shuffled" if explanation.method == "permutation" else
            "mean absolute contribution")
    importance = explanation.importance
    body = (f"<p>Method: <code>{_e(explanation.method)}</code> ({_e(what)}), over {_num(len(explanation.rows))} "
            f"rows. The top {min(_TOP_FEATURES, len(importance))} of {len(importance)} features.</p>")
    body += _figure(_importance_chart(importance, _TOP_FEATURES, f"Feature importance ({what})"))
    rows = [f"<tr><td>{_e(k)}</td>{_td(v)}</tr>" for k, v in importance.items()]
    body += f"<details><summary>All features as a table</summary>{_table(['Feature', 'n:Importance'], rows)}</details>"
    per_cohort = [(c, data.cohort_importance[c.id]) for c in data.cohorts
                  if c.id in data.cohort_importance and len(data.cohort_importance[c.id])]
    if per_cohort:
        figures = "".join(_figure(_importance_chart(series, _TOP_COHORT_FEATURES, f"Importance in cohort {c.id}",
                                                    width=440),
                                  f"{_e(c.id)}: {_e(' and '.join(c.conditions))} ({_num(c.size)} rows)")
                          for c, series in per_cohort)
        body += f'<h3>Per error cohort</h3><div class="grid">{figures}</div>'
    return _Section("importance", "Feature importance", body)


def _curve_series(curves: list[Curve], x_name: str) -> list[svg_charts.Series]:
    series = []
    for curve in curves:
        x, y = svg_charts.downsample(curve.x, curve.y, _MAX_CURVE_POINTS)
        series.append(svg_charts.Series(f"{curve.label} ({x_name} {svg_charts.fmt(float(curve.auc))})", x, y))
    return series


def _calibration_figure(bins: pd.DataFrame) -> str:
    chart = svg_charts.line_chart(
        [svg_charts.Series("model", bins["mean_predicted"].to_numpy(), bins["fraction_positive"].to_numpy())],
        title="Reliability curve", x_label="mean predicted probability", y_label="fraction of positives",
        diagonal=True, markers=True, x_domain=(0.0, 1.0), y_domain=(0.0, 1.0))
    # The bins as adjacent bars; bins left out as empty get a zero count.
    edges = sorted(set(bins["bin_low"].tolist()) | set(bins["bin_high"].tolist()))
    counts = dict(zip(bins["bin_low"].tolist(), bins["count"].tolist(), strict=True))
    histogram = svg_charts.histogram(edges, [counts.get(low, 0) for low in edges[:-1]], title="Rows per bin",
                                     x_label="predicted probability", width=420, height=160)
    rows = [f"<tr>{''.join(_td(v) for v in row)}</tr>" for row in bins[
        ["bin_low", "bin_high", "mean_predicted", "fraction_positive", "count"]].to_numpy(dtype=object).tolist()]
    table = _table(["n:From", "n:To", "n:Mean predicted", "n:Fraction positive", "n:Rows"], rows)
    caption = "On the dashed diagonal, predicted probabilities match observed frequencies."
    return (f'<figure class="stack">{chart}{histogram}<figcaption>{caption}</figcaption></figure>'
            f"<details><summary>The bins as a table</summary>{table}</details>")


def _performance(data: ReportData) -> _Section | str | None:
    if data.model_type != "classifier":
        return None
    if not data.roc and not data.pr and data.calibration is None:
        return ("<b>ROC, precision-recall and calibration curves</b>: they need predicted probabilities (a model "
                "with <code>predict_proba</code>).")
    figures = []
    if data.roc:
        figures.append(_figure(svg_charts.line_chart(
            _curve_series(data.roc, "AUC"), title="ROC curve", x_label="false positive rate",
            y_label="true positive rate", diagonal=True, x_domain=(0.0, 1.0), y_domain=(0.0, 1.0), legend=True)))
    if data.pr:
        figures.append(_figure(svg_charts.line_chart(
            _curve_series(data.pr, "AP"), title="Precision-recall curve", x_label="recall", y_label="precision",
            x_domain=(0.0, 1.0), y_domain=(0.0, 1.0), legend=True)))
    body = f'<div class="grid">{"".join(figures)}</div>'
    if data.calibration is not None and len(data.calibration):
        body += f"<h3>Calibration</h3>{_calibration_figure(data.calibration)}"
    return _Section("performance", "Calibration, ROC and precision-recall", body)


def _errors(data: ReportData) -> _Section | str | None:
    if data.model_type == "regressor":
        return _residuals(data)
    if data.confusion is None or data.space is None:
        return None
    labels = [str(label) for label in data.space.labels.tolist()]
    matrix = np.asarray(data.confusion)
    body = ""
    if len(labels) <= 30:
        chart = svg_charts.heatmap(matrix, labels, labels, title="Confusion matrix", x_label="predicted",
                                   y_label="true")
        body = _figure(chart, "Counts; the shading is each cell's share of its true class.")
    rows = [f'<tr><th scope="row">{_e(label)}</th>{"".join(_td(v) for v in row)}</tr>'
            for label, row in zip(labels, matrix.tolist(), strict=True)]
    table = _table(["true \\ predicted"] + [f"n:{_e(label)}" for label in labels], rows)
    body += f"<details><summary>As a table</summary>{table}</details>" if body else table
    return _Section("confusion", "Confusion matrix", body)


def _residuals(data: ReportData) -> _Section | None:
    if data.residuals is None:
        return None
    values = np.asarray(data.residuals, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    counts, edges = np.histogram(values, bins=min(30, max(5, int(np.sqrt(len(values))))))
    chart = svg_charts.histogram(edges, counts, title="Residuals (target minus prediction)", x_label="residual")
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    stats = [("mean", values.mean()), ("standard deviation", values.std()), ("5%", q[0]), ("25%", q[1]),
             ("median", q[2]), ("75%", q[3]), ("95%", q[4])]
    table = _table(["Statistic", "n:Residual"], [f"<tr><td>{k}</td>{_td(float(v))}</tr>" for k, v in stats])
    return _Section("residuals", "Residuals", _figure(chart) + table)


def _balance(data: ReportData) -> _Section | str:
    balance = data.balance
    if balance is None:
        return ("<b>Data balance</b>: it is shown for the sensitive features and the target; give "
                "<code>sensitive_features</code> in <code>evaluator_config</code>.")
    body = "<p>How the evaluation rows spread over each sensitive feature and the target.</p>"
    for feature, frame in balance.features.items():
        body += f"<h3>{_e(feature)}</h3>" + _spread(frame, str(feature), f"Share of rows per value of {feature}")
    if balance.target is not None and len(balance.target):
        target = f"Target {data.target}" if data.target else "Target"
        body += f"<h3>{_e(target)}</h3>" + _spread(balance.target, data.target or "target", "Share of rows per class",
                                                     svg_charts.PALETTE[2])
    if balance.crossed is not None and len(balance.crossed):
        body += ("<details><summary>All sensitive features together</summary>"
                 f"{_frame_table(balance.crossed, 'values')}</details>")
    if balance.measures:
        rows = [f"<tr><td>{_e(k)}</td>{_td(v)}</tr>" for k, v in balance.measures.items()]
        body += "<h3>Balance measures</h3>" + _table(["Measure", "n:Value"], rows)
    return _Section("balance", "Data balance", body)


def _spread(frame: pd.DataFrame, index_label: str, title: str, color: str = svg_charts.PALETTE[0]) -> str:
    """A balance table, and beside it the share of each value as bars."""
    table = _frame_table(frame, index_label)
    if "share" not in frame.columns or len(frame) > 40:
        return table
    chart = svg_charts.bar_chart([_name(v) for v in frame.index.tolist()], pd.to_numeric(frame["share"]).tolist(),
                                 title=title, value_label="share", color=color, width=440)
    return f'<div class="grid">{table}{_figure(chart)}</div>'


_SECTIONS = (_overview, _fairness, _cohorts, _importance, _performance, _errors, _balance)
