"""The Responsible-AI report: its sections, self-contained and script-free, hostile names inert, fast and small."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mlcask.evaluation.curves import Curve
from mlcask.evaluation.error_analysis import Cohort
from mlcask.evaluation.fairness import GroupMetrics
from mlcask.evaluation.report import REPORT_ARTIFACT, REPORT_TAG, ReportData, render_report
from tests.evaluation.report_samples import (
    HOSTILE_FEATURE,
    HOSTILE_GROUP,
    HOSTILE_URI,
    SCRIPT,
    classifier_report_data,
    regressor_report_data,
)

ALL_SECTIONS = ["overview", "fairness", "cohorts", "importance", "performance", "confusion", "balance"]


class Page(HTMLParser):
    """The parsed page: every tag with its attributes, the text, the h2/h3 headings, the section ids."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.headings: list[str] = []
        self.sections: list[str] = []
        self.depth = {"svg": 0}
        self._heading = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "svg":
            self.depth["svg"] += 1
        if tag in ("h2", "h3"):
            self._heading = []
        if tag == "section":
            self.sections.append(attributes.get("id"))

    def handle_endtag(self, tag):
        if tag == "svg":
            self.depth["svg"] -= 1
        if tag in ("h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def all_text(self) -> str:
        return "".join(self.text)


def assert_inert(html: str) -> Page:
    """No script, no handler, no resource to load, nothing pointing outside the page."""
    page = Page(html)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "iframe", "object", "embed", "link", "img", "image", "use", "foreignobject",
                        "form", "base", "audio", "video", "source"}
    for tag, attributes in page.tags:
        for name, value in attributes.items():
            assert not name.startswith("on"), (tag, name, value)
            assert name not in ("src", "srcset", "xlink:href", "formaction", "background", "poster"), (tag, name)
            if name == "href":
                assert value.startswith("#"), (tag, value)
            if name == "style":
                assert "url(" not in value
    assert page.depth["svg"] == 0
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "@import" not in style and "url(" not in style and "@font-face" not in style
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "javascript:" not in html.lower()
    return page


@pytest.fixture(scope="module")
def full() -> ReportData:
    return classifier_report_data()


@pytest.fixture(scope="module")
def small() -> ReportData:
    return classifier_report_data(n_rows=300)


def test_full_classifier_report_has_every_section_in_order(full):
    html = render_report(full)
    page = assert_inert(html)
    assert page.sections == ALL_SECTIONS
    headings = page.headings
    for title in ("Overview", "Per-group metrics and disparity", "Error cohorts", "Feature importance",
                  "Calibration, ROC and precision-recall", "Confusion matrix", "Data balance",
                  "sex", "region", "age band", "Per error cohort", "Calibration"):
        assert title in headings, title
    assert "Not in this report" not in headings
    # the table of contents links to each section
    toc = [a["href"] for tag, a in page.tags if tag == "a"]
    assert toc == [f"#{s}" for s in ALL_SECTIONS]
    # a meta CSP forbids scripts and loads when the file is opened directly
    csp = next(a["content"] for tag, a in page.tags if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>")


def test_overview_shows_the_model_and_main_metrics(full):
    page = Page(render_report(full))
    text = page.all_text()
    for fact in ("models:/churn/3", "classifier", "holdout", "2,000", "churned", "0123abcd", "mlcask 0.1.0",
                 "2026-12-02 01:30 UTC", "positive:"):
        assert fact in text, fact
    assert f"{full.metrics['accuracy_score']:.4g}" in text and "roc_auc" in text
    # per-group keys are in the fairness section, not in the overview's metric table
    overview = render_report(full).split('<section id="fairness"', 1)[0]
    assert "f1_score/sex/F" not in overview


def cells(html: str, css: str) -> list[str]:
    return re.findall(rf'<td class="n {css}">([^<]*)</td>', html)


def test_fairness_tables_flag_low_ratios_and_large_differences(small):
    by = pd.DataFrame({"count": [800, 200], "accuracy_score": [0.9, 0.6], "true_positives": [400, 50],
                       "log_loss": [0.3, 0.5]}, index=["A", "B"])
    metrics = by.drop(columns="count")
    gm = GroupMetrics("grp", by, metrics.max() - metrics.min(), metrics.min() / metrics.max())
    html = render_report(replace(small, groups=[gm]))
    section = html.split('<section id="fairness">', 1)[1].split("</section>", 1)[0]
    # accuracy: difference 0.3 > 0.1 and ratio 0.667 < 0.8 flagged; log_loss (values in [0, 1]) too: 0.2 and 0.6;
    # the counts never
    assert cells(section, "flag") == ["0.3", "0.6667", "0.2", "0.6"]
    assert "350" in cells(section, "d") and "0.125" in cells(section, "d")
    # best and worst groups: accuracy higher is better, log loss lower is better
    assert cells(section, "hi") == ["0.9", "0.3"] and cells(section, "lo") == ["0.6", "0.5"]
    assert "accuracy_score per group of grp" in section  # the chart: rates only, log loss left out


def test_intersection_groups_are_named_by_their_values(small):
    by = pd.DataFrame({"count": [5, 6], "accuracy_score": [0.5, 0.7]},
                      index=pd.MultiIndex.from_tuples([("F", "north"), ("M", "south")]))
    gm = GroupMetrics("sex, region", by, pd.Series({"accuracy_score": 0.2}), pd.Series({"accuracy_score": 5 / 7}))
    text = Page(render_report(replace(small, groups=[gm]))).all_text()
    assert "F · north" in text and "M · south" in text


def test_cohort_table_and_bars(full):
    html = render_report(full)
    section = html.split('<section id="cohorts">', 1)[1].split("</section>", 1)[0]
    text = Page(section).all_text()
    first = full.cohorts[0]
    assert first.conditions[0] in text and f"{first.size:,}" in text and f"{first.size / full.n_rows:.1%}" in text
    assert f"{first.error_share:.1%}" in text and f"{first.error_rate:.4g}" in text
    assert "all rows" in text and f"{1 - full.metrics['accuracy_score']:.4g}" in text  # the overall row
    assert section.count("<svg") == 1 and "overall" in text


def test_regressor_report_leaves_out_what_it_lacks_and_says_how_to_get_it():
    data = regressor_report_data()
    page = assert_inert(render_report(data))
    assert page.sections == ["overview", "residuals", "not-shown"]
    text = page.all_text()
    assert 'evaluator_config={"sensitive_features": ["<column>", ...]}' in text
    assert "--sensitive-feature COL" in text and "log_model_explainability" in text
    assert "ROC" not in text and "confusion" not in text.lower()  # not offered to a regressor
    assert "mean_absolute_error" in text and "Residuals (target minus prediction)" in text


def test_classifier_without_probabilities_or_confusion(small):
    data = replace(small, roc=[], pr=[], calibration=None, confusion=None,
                   explanation=None, cohort_importance={})
    page = assert_inert(render_report(data))
    assert "performance" not in page.sections and "confusion" not in page.sections
    assert "importance" not in page.sections
    assert "predict_proba" in page.all_text()


def test_hostile_names_and_values_come_out_as_text():
    html = render_report(classifier_report_data(n_rows=400, hostile=True))
    page = assert_inert(html)
    assert "<script" not in html.lower() and "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    assert "<img" not in html
    text = page.all_text()
    for string in (HOSTILE_FEATURE, HOSTILE_GROUP, HOSTILE_URI, SCRIPT, "<script>alert('title')</script>"):
        assert string in text, string  # shown, as text
    title = next(a for tag, a in page.tags if tag == "svg" and HOSTILE_FEATURE in a.get("aria-label", ""))
    assert title["aria-label"].endswith(HOSTILE_FEATURE)  # attribute values intact, quotes included


def test_curves_are_downsampled(full):
    x = np.linspace(0, 1, 20_000) ** 3
    data = replace(full, roc=[Curve(x, np.sqrt(x), "positive", 0.9)], pr=[Curve(x[::-1], np.sqrt(x), "p", 0.8)])
    html = render_report(data)
    section = html.split('<section id="performance">', 1)[1].split("</section>", 1)[0]
    paths = re.findall(r'<path d="M([^"]*)"', section)
    assert len(paths) == 3  # ROC, PR, calibration
    assert all(len(p.split()) <= 300 for p in paths)
    assert "positive (AUC 0.9)" in Page(section).all_text()


def test_multiclass_confusion_uses_the_class_names(small):
    from mlcask.evaluation.labels import LabelSpace

    matrix = np.array([[5, 1, 0], [2, 6, 1], [0, 0, 9]])
    data = replace(small, space=LabelSpace(np.array(["cat", "dog", "<b>eel</b>"]), None, 0),
                   confusion=matrix, roc=[], pr=[], calibration=None)
    html = render_report(data)
    section = html.split('<section id="confusion">', 1)[1].split("</section>", 1)[0]
    text = Page(section).all_text()
    assert "&lt;b&gt;eel&lt;/b&gt;" in section and "<b>eel" not in section
    assert "<b>eel</b>" in text and "positive:" not in Page(html).all_text()


def test_full_report_renders_fast_and_small(full):
    render_report(full)  # warm up
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        html = render_report(full)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.05, timings
    assert len(html.encode()) < 300_000
    assert html.count("<svg") >= 15


def test_names_of_the_artifact_and_tag():
    assert REPORT_ARTIFACT == "responsible_ai_report.html"
    assert REPORT_TAG == "mlcask.evaluation.report"


def test_empty_cohort_conditions_and_nan_metrics(small):
    data = replace(small,
                   cohorts=[Cohort("C1", [], np.ones(300, bool), 300, 0.2, 1.0)], cohort_importance={},
                   metrics={"accuracy_score": float("nan"), "example_count": 300.0})
    html = render_report(data)
    assert_inert(html)
    assert "<td class=\"n\">–</td>" in html  # NaN shown as a dash
    assert "all rows" in Page(html.split('<section id="cohorts">', 1)[1]).all_text()


def test_balance_shows_each_value_with_its_share_and_target_rate(full):
    html = render_report(full)
    section = html.split('<section id="balance">', 1)[1].split("</section>", 1)[0]
    text = Page(section).all_text()
    sex = full.balance.features["sex"]
    for value, row in sex.iterrows():
        assert f"{row['share']:.1%}" in text and f"{int(row['count']):,}" in text and f"{row['target_rate']:.4g}" in text
    assert "Target churned" in text and "demographic_parity_difference/sex" in text
    assert section.count("<svg") == 4  # one share chart per sensitive feature and the target


def test_per_group_rates_come_before_counts(full):
    section = render_report(full).split('<section id="fairness">', 1)[1].split("</section>", 1)[0]
    table = section.split("<table>", 1)[1].split("</table>", 1)[0]
    names = re.findall(r"<tr><td>([^<]*)</td>", table)
    assert names[0] == "rows"
    assert names.index("accuracy_score") < names.index("example_count")
    assert names.index("roc_auc") < names.index("true_positives")
