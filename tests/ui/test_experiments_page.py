"""The experiments list and the experiment page in real headless Chromium.

What the UI does is checked through the REST API (/api/2.0/mlflow) of the same server: the list's
search, paging, create, rename, delete and restore; the runs table's sort, chosen columns, filter
(a bad one shows the server's message with its caret), selection, compare link, delete and restore;
the Models tab; and a 10,000-run experiment that shows its first rows at once and, scrolled to the
bottom, loads more pages while the DOM keeps a bounded number of rows.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.ui.conftest import new_page, open_ui

ROWS = "[data-testid=run-row]"


def call(server, path: str, body: dict | None = None, method: str = "POST") -> dict:
    """A REST call that must succeed; its JSON answer."""
    response = server.api(method, path, **({"json": body} if method != "GET" else {"params": body}))
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


def experiment_named(server, name: str) -> dict | None:
    response = server.api("GET", "/experiments/get-by-name", params={"experiment_name": name})
    return response.json()["experiment"] if response.status_code == 200 else None


def new_experiment(server, name: str, **extra) -> str:
    return call(server, "/experiments/create", {"name": name, **extra})["experiment_id"]


def new_run(server, experiment_id: str, name: str, start: int, *, metrics=None, params=None, tags=None,
            end: int | None = None) -> str:
    run = call(server, "/runs/create", {"experiment_id": experiment_id, "run_name": name, "start_time": start,
                                        "user_id": "tester", "tags": [{"key": k, "value": v}
                                                                      for k, v in (tags or {}).items()]})
    run_id = run["run"]["info"]["run_id"]
    call(server, "/runs/log-batch", {
        "run_id": run_id,
        "metrics": [{"key": k, "value": v, "timestamp": start, "step": 0} for k, v in (metrics or {}).items()],
        "params": [{"key": k, "value": v} for k, v in (params or {}).items()]})
    if end:
        call(server, "/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": end})
    return run_id


def row_names(page) -> list[str]:
    return page.locator(f"{ROWS} td:nth-child(2) a:first-of-type").all_inner_texts()


def wait_names(page, expected: list[str], timeout: float = 10) -> None:
    """Wait until the runs table shows exactly ``expected`` (in this order)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if row_names(page) == expected:
            return
        page.wait_for_timeout(50)
    assert row_names(page) == expected


@pytest.fixture
def page_with_4xx(browser, ui_server):
    """Like ``ui_page``, for tests that make the server answer 4xx on purpose: the page must log no error
    and the 4xx must have come (``page.http_errors``)."""
    page = new_page(browser)
    yield page
    page.context.close()
    outside = [url for url in page.requests if not url.startswith((ui_server.url + "/", "data:", "blob:", "about:"))]
    assert not outside, f"the UI sent requests away from the server: {outside}"
    assert not page.console_errors, f"the page logged errors: {page.console_errors}"
    assert page.http_errors, "the test expected a 4xx answer that never came"


def hash_query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).fragment.partition("?")[2])


# ---------------------------------------------------------------- experiments list

@pytest.mark.browser
def test_experiments_list_search_create_rename_delete_restore(page_with_4xx, ui_server):
    tag = uuid.uuid4().hex[:8]
    alpha = new_experiment(ui_server, f"list-{tag}-alpha")
    new_experiment(ui_server, f"list-{tag}-beta")
    page = page_with_4xx
    open_ui(page, ui_server, "/")
    page.get_by_label("Search experiments by name").fill(f"{tag}-AL")  # case-insensitive
    page.wait_for_function("() => document.querySelectorAll('[data-testid=experiment-row]').length === 1")
    link = page.locator("[data-testid=experiment-row] a", has_text=f"list-{tag}-alpha")
    assert link.get_attribute("href") == f"#/experiments/{alpha}"
    assert hash_query(page)["search"] == [f"{tag}-AL"]

    # create: an empty artifact location lets the server choose; a bad one is its 400 in the dialog
    page.get_by_label("Search experiments by name").fill(tag)
    page.get_by_role("button", name="Create experiment").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name").fill(f"list-{tag}-gamma")
    dialog.get_by_label("Artifact location (optional)").fill("/etc/not-an-artifact-root")
    dialog.get_by_role("button", name="Create").click()
    dialog.locator(".error-banner").wait_for()
    assert experiment_named(ui_server, f"list-{tag}-gamma") is None
    dialog.get_by_label("Artifact location (optional)").fill("")
    dialog.get_by_role("button", name="Create").click()
    page.locator("[data-testid=experiment-row]", has_text=f"list-{tag}-gamma").wait_for()
    gamma = experiment_named(ui_server, f"list-{tag}-gamma")
    assert gamma and gamma["artifact_location"]

    # rename
    page.get_by_role("button", name=f"Rename experiment list-{tag}-gamma").click()
    page.locator("dialog[open]").get_by_label("New name").fill(f"list-{tag}-delta")
    page.locator("dialog[open]").get_by_role("button", name="Rename").click()
    page.locator("[data-testid=experiment-row]", has_text=f"list-{tag}-delta").wait_for()
    assert experiment_named(ui_server, f"list-{tag}-gamma") is None
    assert experiment_named(ui_server, f"list-{tag}-delta")["experiment_id"] == gamma["experiment_id"]

    # delete (asked first: Cancel keeps it), then restore from the Deleted view
    page.get_by_role("button", name=f"Delete experiment list-{tag}-delta").click()
    page.locator("dialog[open]").get_by_role("button", name="Cancel").click()
    assert experiment_named(ui_server, f"list-{tag}-delta")["lifecycle_stage"] == "active"
    page.get_by_role("button", name=f"Delete experiment list-{tag}-delta").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete").click()
    page.locator("[data-testid=experiment-row]", has_text=f"list-{tag}-delta").wait_for(state="detached")
    assert experiment_named(ui_server, f"list-{tag}-delta")["lifecycle_stage"] == "deleted"
    page.get_by_label("Experiments to show").select_option("deleted")
    assert hash_query(page)["lifecycleFilter"] == ["Deleted"]
    deleted_row = page.locator("[data-testid=experiment-row]", has_text=f"list-{tag}-delta")
    deleted_row.wait_for()
    assert page.locator("[data-testid=experiment-row]").count() == 1
    page.get_by_role("button", name=f"Restore experiment list-{tag}-delta").click()
    page.locator("dialog[open]").get_by_role("button", name="Restore").click()
    deleted_row.wait_for(state="detached")
    assert experiment_named(ui_server, f"list-{tag}-delta")["lifecycle_stage"] == "active"

    # a reload keeps search and view (they are in the URL); the name opens the experiment page
    page.get_by_label("Experiments to show").select_option("all")
    page.reload()
    page.locator("[data-testid=experiment-row]", has_text=f"list-{tag}-delta").wait_for()
    assert page.get_by_label("Search experiments by name").input_value() == tag
    assert page.locator("[data-testid=experiment-row]").count() == 3
    page.get_by_role("link", name=f"list-{tag}-alpha").click()
    page.get_by_role("heading", name=f"list-{tag}-alpha").wait_for()


@pytest.mark.browser
def test_experiments_list_pages_with_tokens_and_sorts(ui_page, ui_server):
    tag = uuid.uuid4().hex[:8]
    for i in range(105):
        new_experiment(ui_server, f"paged-{tag}-{i:03d}")
    page = ui_page
    open_ui(page, ui_server, f"/experiments?search=paged-{tag}&orderByKey=name&orderByAsc=true")
    count = page.get_by_test_id("experiments-count")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=experiment-row]').length === 100")
    assert "more available" in count.inner_text()
    names = page.locator("[data-testid=experiment-row] td.experiment-name a").all_inner_texts()
    assert names == [f"paged-{tag}-{i:03d}" for i in range(100)]
    page.get_by_role("button", name="Load more experiments").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=experiment-row]').length === 105")
    assert count.inner_text() == "105 experiments shown"
    assert page.get_by_role("button", name="Load more experiments").count() == 0
    # the Name header sorts descending now
    page.locator("th", has_text="Name").get_by_role("button").click()
    page.wait_for_function(f"""() => document.querySelector('[data-testid=experiment-row] td a')
        ?.textContent === 'paged-{tag}-104'""")
    assert page.locator("th", has_text="Name").get_attribute("aria-sort") == "descending"


# ---------------------------------------------------------------- experiment page

@pytest.mark.browser
def test_experiment_page_description_and_models(ui_page, ui_server):
    tag = uuid.uuid4().hex[:8]
    experiment_id = new_experiment(ui_server, f"models-{tag}")
    run_id = new_run(ui_server, experiment_id, f"trainer-{tag}", 1_000)
    for i in range(55):
        call(ui_server, "/logged-models", {"experiment_id": experiment_id, "name": f"model-{i:02d}",
                                           "model_type": "sklearn", "source_run_id": run_id})
    page = ui_page
    open_ui(page, ui_server, f"/experiments/{experiment_id}")
    page.get_by_role("heading", name=f"models-{tag}").wait_for()
    assert experiment_id in page.locator("table.kv").inner_text()

    page.locator(".experiment-description").get_by_role("button", name="Add").click()
    page.locator("dialog[open]").get_by_label("Description").fill("first line\nsecond <b>line</b>")
    page.locator("dialog[open]").get_by_role("button", name="Save").click()
    page.get_by_test_id("experiment-description").wait_for()
    assert page.get_by_test_id("experiment-description").inner_text() == "first line\nsecond <b>line</b>"
    tags = {t["key"]: t["value"] for t in call(ui_server, "/experiments/get", {"experiment_id": experiment_id},
                                                "GET")["experiment"]["tags"]}
    assert tags["mlflow.note.content"] == "first line\nsecond <b>line</b>"
    # an emptied description is no tag at all
    page.locator(".experiment-description").get_by_role("button", name="Edit").click()
    page.locator("dialog[open]").get_by_label("Description").fill("")
    page.locator("dialog[open]").get_by_role("button", name="Save").click()
    page.locator(".experiment-description").get_by_text("No description.").wait_for()
    tags = call(ui_server, "/experiments/get", {"experiment_id": experiment_id}, "GET")["experiment"].get("tags", [])
    assert "mlflow.note.content" not in {t["key"] for t in tags}

    page.get_by_role("tab", name="Models").click()
    page.wait_for_url(f"**/#/experiments/{experiment_id}/models")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=model-row]').length === 50")
    first = page.get_by_test_id("model-row").first
    model_id = first.locator("a").first.get_attribute("href").rsplit("/", 1)[1]
    model = call(ui_server, f"/logged-models/{model_id}", method="GET")["model"]["info"]
    assert first.locator("a").first.inner_text() == model["name"]
    source = first.get_by_role("link", name=f"trainer-{tag}")
    assert source.get_attribute("href") == f"#/experiments/{experiment_id}/runs/{run_id}"
    assert "sklearn" in first.inner_text() and "Pending" in first.inner_text()
    page.get_by_role("button", name="Load more models").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=model-row]').length === 55")
    names = page.locator("[data-testid=model-row] td:first-child a").all_inner_texts()
    assert sorted(names) == [f"model-{i:02d}" for i in range(55)]
    page.get_by_role("tab", name="Runs").click()
    page.locator(ROWS).first.wait_for()


@pytest.mark.browser
def test_unknown_experiment_shows_the_servers_error(page_with_4xx, ui_server):
    page = page_with_4xx
    open_ui(page, ui_server, "/experiments/987654321")
    page.get_by_text("No Experiment with id=987654321 exists.").wait_for()
    assert "RESOURCE_DOES_NOT_EXIST" in page.locator(".error-banner").inner_text()
    assert page.locator(".runs-table").count() == 0 and page.get_by_role("tab").count() == 0


@pytest.fixture(scope="module")
def small_experiment(ui_server):
    """Six finished runs (loss, alpha, a tag) and a child run; {name: run_id} and the experiment id."""
    experiment_id = new_experiment(ui_server, f"runs-{uuid.uuid4().hex[:8]}")
    losses = {"r-a": 0.5, "r-b": 0.1, "r-c": 0.9, "r-d": 0.3, "r-e": 0.7}
    ids = {}
    for i, (name, loss) in enumerate(losses.items()):
        ids[name] = new_run(ui_server, experiment_id, name, 1_700_000_000_000 + i * 1000, metrics={"loss": loss},
                            params={"alpha": str(i)}, tags={"team": "blue" if i % 2 else "red"},
                            end=1_700_000_000_500 + i * 1000)
    ids["r-child"] = new_run(ui_server, experiment_id, "r-child", 1_700_000_010_000, metrics={"loss": 0.2},
                             tags={"mlflow.parentRunId": ids["r-a"], "mlflow.source.name": "/src/train.py"})
    return experiment_id, ids


@pytest.mark.browser
def test_runs_table_sorts_chooses_columns_and_filters(page_with_4xx, ui_server, small_experiment):
    experiment_id, ids = small_experiment
    page = page_with_4xx
    open_ui(page, ui_server, f"/experiments/{experiment_id}")
    wait_names(page, ["r-child", "r-e", "r-d", "r-c", "r-b", "r-a"])  # start time, newest first
    child = page.locator(ROWS, has_text="r-child")
    assert child.get_by_role("link", name="child of r-a").get_attribute("href") == \
        f"#/experiments/{experiment_id}/runs/{ids['r-a']}"
    assert child.get_by_role("link", name="r-child").get_attribute("href") == \
        f"#/experiments/{experiment_id}/runs/{ids['r-child']}"
    assert "train.py" in child.inner_text()

    page.get_by_role("button", name="Sort by Run name ascending").click()
    wait_names(page, ["r-a", "r-b", "r-c", "r-child", "r-d", "r-e"])
    assert hash_query(page)["orderByKey"] == ["attributes.run_name"]

    # a metric column from the chooser (searched), then sorted by it
    page.get_by_role("button", name="Columns").click()
    page.get_by_label("Search columns").fill("LO")
    assert page.get_by_label("Show param alpha").count() == 0
    page.get_by_label("Show metric loss").check()
    page.get_by_label("Search columns").fill("")
    page.get_by_label("Show param alpha").check()
    page.get_by_label("Search columns").press("Escape")
    assert page.get_by_label("Search columns").count() == 0
    assert page.evaluate("document.activeElement.textContent") == "Columns (2)"
    page.get_by_role("button", name="Columns (2)").click()
    page.get_by_role("heading", level=1).click()  # a click outside closes it
    assert page.get_by_label("Search columns").count() == 0
    page.get_by_role("button", name="Sort by loss ascending").click()
    wait_names(page, ["r-b", "r-child", "r-d", "r-a", "r-e", "r-c"])
    assert hash_query(page)["orderByKey"] == ["metrics.`loss`"]
    assert page.locator(ROWS).first.locator("td.num").inner_text() == "0.1"
    page.get_by_role("button", name="Sort by loss descending").click()
    wait_names(page, ["r-c", "r-e", "r-a", "r-d", "r-child", "r-b"])

    # the filter, in the URL; a reload keeps filter, sort and the chosen columns
    page.get_by_label("Filter runs").fill("metrics.loss < 0.4 and tags.team = 'blue'")
    page.get_by_role("button", name="Search", exact=True).click()
    wait_names(page, ["r-d", "r-b"])
    assert hash_query(page)["searchFilter"] == ["metrics.loss < 0.4 and tags.team = 'blue'"]
    page.reload()
    wait_names(page, ["r-d", "r-b"])
    assert page.get_by_role("button", name="Columns (2)").count() == 1
    assert "loss" in page.locator("th[aria-sort=descending]").inner_text()
    assert page.get_by_test_id("runs-count").inner_text().startswith("2 runs loaded, all loaded")

    # a bad filter: the server's message with the filter and a caret under the error position
    bad = "metrics.loss >> 1"
    page.get_by_label("Filter runs").fill(bad)
    page.get_by_label("Filter runs").press("Enter")
    error = page.get_by_test_id("filter-error")
    error.wait_for()
    lines = error.inner_text().rstrip("\n").split("\n")
    echoed = next(line for line in lines[1:] if bad in line)
    caret = lines[lines.index(echoed) + 1]
    assert caret.strip() == "^" and caret.index("^") == echoed.index(bad) + bad.index(">>") + 1
    assert "position 14" in lines[0]
    assert page.locator(ROWS).count() == 0
    page.get_by_role("button", name="Clear", exact=True).click()
    error.wait_for(state="detached")
    page.locator(ROWS).first.wait_for()
    assert "searchFilter" not in hash_query(page)


@pytest.mark.browser
def test_runs_selection_compare_delete_restore(ui_page, ui_server, small_experiment):
    experiment_id, ids = small_experiment
    page = ui_page
    open_ui(page, ui_server, f"/experiments/{experiment_id}?orderByKey=attributes.run_name&orderByAsc=true")
    wait_names(page, ["r-a", "r-b", "r-c", "r-child", "r-d", "r-e"])
    assert page.get_by_role("button", name="Compare").is_disabled()
    page.get_by_label("Select run r-b").check()
    page.get_by_label("Select run r-d").focus()
    page.keyboard.press("Space")  # keyboard works as a click
    assert page.get_by_label("Select run r-d").is_checked()
    compare = page.get_by_test_id("compare-runs")
    link = compare.get_attribute("href")
    path, _, query = link.partition("?")
    assert path == "#/compare-runs"
    params = parse_qs(query)
    assert sorted(json.loads(params["runs"][0])) == sorted([ids["r-b"], ids["r-d"]])
    assert json.loads(params["experiments"][0]) == [experiment_id]

    # select all the loaded runs, then back to two; delete them (Cancel first asks again)
    page.get_by_label("Select all loaded runs").check()
    assert page.get_by_test_id("selected-count").inner_text() == "6 selected"
    page.get_by_label("Select all loaded runs").uncheck()
    page.get_by_label("Select run r-b").check()
    page.get_by_label("Select run r-d").check()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.locator("dialog[open]").get_by_role("button", name="Cancel").click()
    assert call(ui_server, "/runs/get", {"run_id": ids["r-b"]}, "GET")["run"]["info"]["lifecycle_stage"] == "active"
    page.get_by_role("button", name="Delete", exact=True).click()
    page.locator("dialog[open]").get_by_role("button", name="Delete").click()
    wait_names(page, ["r-a", "r-c", "r-child", "r-e"])
    for name in ("r-b", "r-d"):
        assert call(ui_server, "/runs/get", {"run_id": ids[name]}, "GET")["run"]["info"]["lifecycle_stage"] == \
            "deleted"

    page.get_by_label("Runs to show").select_option("deleted")
    wait_names(page, ["r-b", "r-d"])
    assert hash_query(page)["lifecycleFilter"] == ["Deleted"]
    assert page.get_by_role("button", name="Delete", exact=True).is_disabled()
    page.get_by_label("Select all loaded runs").check()
    page.get_by_role("button", name="Restore").click()
    page.locator("dialog[open]").get_by_role("button", name="Restore").click()
    page.get_by_text("No runs deleted.").wait_for()
    for name in ("r-b", "r-d"):
        assert call(ui_server, "/runs/get", {"run_id": ids[name]}, "GET")["run"]["info"]["lifecycle_stage"] == \
            "active"
    page.get_by_label("Runs to show").select_option("all")
    wait_names(page, ["r-a", "r-b", "r-c", "r-child", "r-d", "r-e"])


# ---------------------------------------------------------------- 10,000 runs

BIG = 10_000


def big_store(path) -> str:
    """A SQLite store with one experiment of 10,000 finished runs (every tenth with a loss) before any
    server opens it; its experiment id. mlcask's SQL store makes the database and the experiment;
    the runs go in through its schema's tables in one transaction (the store's create_run is one
    transaction per run: 5 s for 10,000 on an idle machine, 30 s on a busy one)."""
    import sqlalchemy as sa

    from mlcask.tracking.store import schema
    from mlcask.tracking.store.sql_store import SqlTrackingStore

    uri = f"sqlite:///{path}"
    store = SqlTrackingStore(uri, str(path.parent / "artifacts"))
    experiment_id = store.create_experiment("ten-thousand")
    location = store.get_experiment(experiment_id).artifact_location
    start = 1_700_000_000_000
    ids = [uuid.uuid4().hex for _ in range(BIG)]
    runs = [{"run_uuid": run_id, "name": f"run-{i:05d}", "user_id": "bench", "status": "FINISHED",
             "start_time": start + i, "end_time": start + i + 500, "deleted_time": None, "lifecycle_stage": "active",
             "artifact_uri": f"{location}/{run_id}/artifacts", "experiment_id": int(experiment_id)}
            for i, run_id in enumerate(ids)]
    names = [{"run_uuid": run["run_uuid"], "key": "mlflow.runName", "value": run["name"]} for run in runs]
    losses = [{"run_uuid": ids[i], "key": "loss", "value": (i * 7919 % BIG) / BIG, "is_nan": False,
               "timestamp": start, "step": 0} for i in range(0, BIG, 10)]
    engine = sa.create_engine(uri)
    try:
        with engine.begin() as connection:
            connection.execute(schema.runs.insert(), runs)
            connection.execute(schema.tags.insert(), names)
            connection.execute(schema.metrics.insert(), losses)
            connection.execute(schema.latest_metrics.insert(), losses)
    finally:
        engine.dispose()
    # what the store reads back is a well-formed run
    run = store.get_run(ids[10])
    assert run.info.run_name == "run-00010" and run.data.metrics["loss"] == (10 * 7919 % BIG) / BIG
    return experiment_id


@pytest.mark.browser
@pytest.mark.slow
def test_ten_thousand_runs_scroll_in_pages_with_a_bounded_dom(browser, start_ui_server, tmp_path):
    database = tmp_path / "big" / "mlcask.db"
    database.parent.mkdir()
    experiment_id = big_store(database)
    server = start_ui_server(backend_store_uri=f"sqlite:///{database}")
    page = new_page(browser)
    searches = []
    page.on("request", lambda r: "/runs/search" in r.url and searches.append(r.url))
    try:
        started = time.monotonic()
        open_ui(page, server, f"/experiments/{experiment_id}")
        page.locator(ROWS).first.wait_for()
        first_rows = time.monotonic() - started
        assert first_rows < 5, f"the first rows took {first_rows:.2f}s"
        count = page.get_by_test_id("runs-count")
        assert count.get_attribute("data-loaded") == "100" and count.get_attribute("data-more") == "true"
        page.wait_for_timeout(300)
        assert len(searches) == 1, "only the first page is fetched before any scroll"
        assert row_names(page)[0] == f"run-{BIG - 1:05d}"

        scroller = page.locator(".runs-scroll")
        loaded = 100
        for _ in range(6):
            scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
            page.wait_for_function(f"""() => Number(document.querySelector('[data-testid=runs-count]')
                .dataset.loaded) > {loaded}""")
            loaded = int(count.get_attribute("data-loaded"))
            rendered = page.locator(ROWS).count()
            assert rendered < 200, f"{rendered} rows in the DOM with {loaded} loaded"
        assert loaded == 700 and len(searches) == 7
        # the window follows the scroll: the rows at the bottom are the last loaded ones
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_function(f"""() => [...document.querySelectorAll('[data-testid=run-row] a')]
            .some(a => a.textContent === 'run-{BIG - 700:05d}')""")
        assert page.locator(ROWS).count() < 200
        # on to the end: one page per scroll to the bottom, 100 in all, never more rows in the DOM
        page.evaluate("""() => new Promise((done) => {
            const box = document.querySelector('.runs-scroll');
            const count = document.querySelector('[data-testid=runs-count]');
            const step = () => {
                if (count.dataset.more === 'false') return done();
                if (document.querySelectorAll('[data-testid=run-row]').length >= 200) return done();
                box.scrollTop = box.scrollHeight;
                setTimeout(step, 20);
            };
            step();
        })""")
        page.wait_for_function("() => document.querySelector('[data-testid=runs-count]').dataset.more === 'false'")
        assert count.get_attribute("data-loaded") == str(BIG) and len(searches) == BIG // 100
        assert page.locator(ROWS).count() < 200
        scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_function("""() => [...document.querySelectorAll('[data-testid=run-row] a')]
            .some(a => a.textContent === 'run-00000')""")
        assert count.inner_text().strip() == f"{BIG} runs loaded, all loaded"
        scroller.evaluate("el => { el.scrollTop = 0; }")
        page.wait_for_function(f"""() => document.querySelector('[data-testid=run-row] a')
            ?.textContent === 'run-{BIG - 1:05d}'""")
        # sorting by a metric at this size: the server sorts, the first page comes back
        page.get_by_role("button", name="Columns").click()
        page.get_by_label("Show metric loss").check()
        page.get_by_role("button", name="Done").click()
        page.get_by_role("button", name="Sort by loss ascending").click()
        page.wait_for_function("() => document.querySelector('[data-testid=run-row] td.num')?.textContent === '0'")
        assert row_names(page)[0] == "run-00000"
        assert count.get_attribute("data-loaded") == "100"
        assert not page.console_errors, page.console_errors
    finally:
        page.context.close()
