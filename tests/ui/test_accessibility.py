"""Every page, checked the same way: each form control and button has an accessible name, the page
fits a phone's width (only tables scroll, inside their own box), and the dark theme really changes
the colours. One small dataset covers every page kind."""

from __future__ import annotations

import json
import urllib.parse
import warnings

import pytest

from tests.support import point_fluent_at, reset_fluent
from tests.ui.conftest import new_page, open_ui

UNNAMED = """() => {
  const name = (el) => (el.labels && el.labels.length) || el.getAttribute('aria-label')
    || el.getAttribute('aria-labelledby') || el.getAttribute('title') || (el.textContent || '').trim();
  const hidden = (el) => !el.offsetParent && getComputedStyle(el).position !== 'fixed';
  return [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !hidden(el) && el.type !== 'hidden' && !name(el))
    .map((el) => el.outerHTML.slice(0, 120));
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def pages(ui_server):
    """The fragment of every page kind, over a small experiment and a registered model."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlcask
    from mlcask.models import infer_signature

    point_fluent_at(ui_server.url)
    try:
        experiment_id = mlcask.set_experiment("a11y").experiment_id
        X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
        y = pd.Series([0, 1, 0, 1], name="label")
        run_ids = []
        for c in (0.5, 1.0):
            with mlcask.start_run(run_name=f"c={c}") as run:
                mlcask.log_param("C", c)
                for step in range(5):
                    mlcask.log_metric("loss", 1.0 / (step + 1 + c), step=step)
                mlcask.log_text("a,b\n1,2\n", "table.csv")
                run_ids.append(run.info.run_id)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mlcask.start_run(run_id=run_ids[0]):
                info = mlcask.sklearn.log_model(LogisticRegression(C=0.5).fit(X, y), name="model",
                                                input_example=X.head(2), signature=infer_signature(X, y),
                                                registered_model_name="a11y-model")
    finally:
        reset_fluent()
    runs = urllib.parse.quote(json.dumps(run_ids))
    experiments = urllib.parse.quote(json.dumps([experiment_id]))
    run = f"/experiments/{experiment_id}/runs/{run_ids[0]}"
    return {
        "experiments": ("/experiments", "a11y"),
        "runs table": (f"/experiments/{experiment_id}", "c=0.5"),
        "logged models": (f"/experiments/{experiment_id}/models", "model"),
        "logged model": (f"/experiments/{experiment_id}/models/{info.model_id}", "model"),
        "run overview": (run, "c=0.5"),
        "run params": (f"{run}/params", "C"),
        "run metrics": (f"{run}/metrics", "loss"),
        "run tags": (f"{run}/tags", "Tag"),
        "run artifacts": (f"{run}/artifacts/table.csv", "table.csv"),
        "run charts": (f"{run}/charts", "loss"),
        "compare": (f"/compare-runs?runs={runs}&experiments={experiments}", "c=1.0"),
        "metric": (f"/metric/loss?runs={runs}&experiments={experiments}", "loss"),
        "models": ("/models", "a11y-model"),
        "model": ("/models/a11y-model", "a11y-model"),
        "model version": ("/models/a11y-model/versions/1", "a11y-model"),
        "test tab": ("/models/a11y-model/versions/1/test", "Send"),
    }


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_every_control_is_named_and_pages_fit_the_width(browser, ui_server, pages, width):
    page = new_page(browser, viewport={"width": width, "height": 800})
    try:
        for name, (fragment, text) in pages.items():
            open_ui(page, ui_server, fragment)
            page.get_by_text(text, exact=False).first.wait_for(timeout=15_000)
            page.wait_for_timeout(200)
            assert page.evaluate(UNNAMED) == [], f"{name}: controls without an accessible name"
            assert page.evaluate(OVERFLOW) <= 1, f"{name}: the page is wider than {width} px"
        assert not page.console_errors, page.console_errors
    finally:
        page.context.close()


@pytest.mark.browser
def test_the_dark_theme_changes_the_colours_and_the_keyboard_reaches_the_navigation(browser, ui_server, pages):
    page = new_page(browser, color_scheme="dark")
    try:
        open_ui(page, ui_server, pages["runs table"][0])
        page.get_by_text("c=0.5").first.wait_for()
        colours = page.evaluate("() => [getComputedStyle(document.body).backgroundColor, "
                                "getComputedStyle(document.body).color]")
        assert colours == ["rgb(20, 23, 28)", "rgb(230, 233, 238)"]  # the dark --bg and --fg
        page.select_option("header.top select", "light")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
        page.keyboard.press("Tab")  # the skip link first, then the header's links
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Experiments"
        assert not page.console_errors, page.console_errors
    finally:
        page.context.close()
