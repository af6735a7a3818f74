"""The model registry endpoints of ``mlcask server``, over real HTTP against a server subprocess.

Happy paths and refusals of every registry endpoint (and their ``/ajax-api`` twins): a
missing model, version or alias is a 404 ``RESOURCE_DOES_NOT_EXIST``; a bad field is a
400 naming it; nothing a caller sends is answered with a 5xx.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx
import pytest

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
_names = itertools.count()


@pytest.fixture(scope="module")
def http(shared_server):
    with httpx.Client(base_url=shared_server.url, timeout=30) as client:
        yield client


def call(http, method, path, body=None, prefix=API):
    """One request: GET sends ``body`` as query parameters, the other verbs as a JSON body."""
    if method == "GET":
        response = http.request(method, prefix + path, params=body or {})
    else:
        headers = {"Content-Type": "application/json"}
        if prefix.startswith("/ajax-api/"):
            headers["X-Mlcask-Csrf"] = "1"  # the web UI's header on its writes
        response = http.request(method, prefix + path, content=json.dumps(body or {}), headers=headers)
    assert response.status_code < 500, (method, path, body, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response


def ok(http, method, path, body=None, prefix=API):
    response = call(http, method, path, body, prefix)
    assert response.status_code == 200, (method, path, body, response.text)
    return response.json()


def refused(http, method, path, body, status, error_code, *words):
    response = call(http, method, path, body)
    assert response.status_code == status, (method, path, body, response.text)
    answer = response.json()
    assert answer["error_code"] == error_code, answer
    for word in words:
        assert word in answer["message"], (word, answer["message"])
    return answer


def new_name(prefix="model"):
    return f"{prefix}-{next(_names)}"


def model_with_versions(http, count=1, **fields):
    name = new_name()
    ok(http, "POST", "/registered-models/create", {"name": name, **fields})
    for i in range(count):
        ok(http, "POST", "/model-versions/create", {"name": name, "source": f"s3://bucket/{name}/{i}"})
    return name


# -- registered models ----------------------------------------------------------------------------------------------

def test_registered_model_lifecycle(http):
    name = new_name()
    created = ok(http, "POST", "/registered-models/create",
                 {"name": name, "description": "first", "tags": [{"key": "team", "value": "fraud"}]})
    model = created["registered_model"]
    assert model["name"] == name and model["description"] == "first"
    assert model["tags"] == [{"key": "team", "value": "fraud"}]
    assert isinstance(model["creation_timestamp"], int)

    got = ok(http, "GET", "/registered-models/get", {"name": name})["registered_model"]
    assert got["tags"] == [{"key": "team", "value": "fraud"}] and got["description"] == "first"

    updated = ok(http, "PATCH", "/registered-models/update", {"name": name, "description": "second"})
    assert updated["registered_model"]["description"] == "second"
    assert updated["registered_model"]["last_updated_timestamp"] >= model["last_updated_timestamp"]

    ok(http, "POST", "/registered-models/set-tag", {"name": name, "key": "stage", "value": "beta"})
    ok(http, "DELETE", "/registered-models/delete-tag", {"name": name, "key": "team"})
    tags = ok(http, "GET", "/registered-models/get", {"name": name})["registered_model"]["tags"]
    assert tags == [{"key": "stage", "value": "beta"}]

    ok(http, "POST", "/model-versions/create", {"name": name, "source": "s3://bucket/m"})
    renamed = ok(http, "POST", "/registered-models/rename", {"name": name, "new_name": name + "-new"})
    assert renamed["registered_model"]["name"] == name + "-new"
    version = ok(http, "GET", "/model-versions/get", {"name": name + "-new", "version": "1"})["model_version"]
    assert version["name"] == name + "-new"
    refused(http, "GET", "/registered-models/get", {"name": name}, 404, "RESOURCE_DOES_NOT_EXIST", name)

    assert ok(http, "DELETE", "/registered-models/delete", {"name": name + "-new"}) == {}
    refused(http, "GET", "/registered-models/get", {"name": name + "-new"}, 404, "RESOURCE_DOES_NOT_EXIST")
    refused(http, "GET", "/model-versions/get", {"name": name + "-new", "version": "1"}, 404,
            "RESOURCE_DOES_NOT_EXIST")


def test_registered_model_refusals(http):
    name = model_with_versions(http, 0)
    refused(http, "POST", "/registered-models/create", {"name": name}, 400, "RESOURCE_ALREADY_EXISTS", name)
    refused(http, "POST", "/registered-models/create", {}, 400, "INVALID_PARAMETER_VALUE", "'name'")
    refused(http, "POST", "/registered-models/create", {"name": 5}, 400, "INVALID_PARAMETER_VALUE", "'name'")
    refused(http, "POST", "/registered-models/create", {"name": "a/b"}, 400, "INVALID_PARAMETER_VALUE", "'/'")
    refused(http, "POST", "/registered-models/create", {"name": new_name(), "tags": "team=x"}, 400,
            "INVALID_PARAMETER_VALUE", "'tags'")
    refused(http, "POST", "/registered-models/create", {"name": new_name(), "tags": [{"key": 1, "value": "v"}]},
            400, "INVALID_PARAMETER_VALUE", "tags[0].key")
    refused(http, "POST", "/registered-models/create", {"name": new_name(), "description": ["x"]}, 400,
            "INVALID_PARAMETER_VALUE", "'description'")
    refused(http, "GET", "/registered-models/get", {}, 400, "INVALID_PARAMETER_VALUE", "'name'")
    refused(http, "GET", "/registered-models/get", {"name": new_name()}, 404, "RESOURCE_DOES_NOT_EXIST")
    refused(http, "POST", "/registered-models/rename", {"name": name}, 400, "INVALID_PARAMETER_VALUE", "'new_name'")
    refused(http, "POST", "/registered-models/rename", {"name": new_name(), "new_name": new_name()}, 404,
            "RESOURCE_DOES_NOT_EXIST")
    other = model_with_versions(http, 0)
    refused(http, "POST", "/registered-models/rename", {"name": name, "new_name": other}, 400,
            "RESOURCE_ALREADY_EXISTS", other)
    refused(http, "PATCH", "/registered-models/update", {"name": new_name(), "description": "x"}, 404,
            "RESOURCE_DOES_NOT_EXIST")
    refused(http, "DELETE", "/registered-models/delete", {"name": new_name()}, 404, "RESOURCE_DOES_NOT_EXIST")
    refused(http, "POST", "/registered-models/set-tag", {"name": new_name(), "key": "k", "value": "v"}, 404,
            "RESOURCE_DOES_NOT_EXIST")
    refused(http, "POST", "/registered-models/set-tag", {"name": name, "value": "v"}, 400,
            "INVALID_PARAMETER_VALUE", "'key'")
    refused(http, "DELETE", "/registered-models/delete-tag", {"name": new_name(), "key": "k"}, 404,
            "RESOURCE_DOES_NOT_EXIST")


def test_search_registered_models_pages_filters_and_orders(http):
    prefix = new_name("paged")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        ok(http, "POST", "/registered-models/create", {"name": name, "tags": [{"key": "group", "value": prefix}]})
    seen, token, pages = [], None, 0
    while True:
        query = {"filter": f"name LIKE '{prefix}-%'", "max_results": "2", "order_by": ["name DESC"]}
        if token:
            query["page_token"] = token
        page = ok(http, "GET", "/registered-models/search", query)
        seen += [model["name"] for model in page["registered_models"]]
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == sorted(names, reverse=True) and pages == 3
    by_tag = ok(http, "GET", "/registered-models/search", {"filter": f"tags.group = '{prefix}'"})
    assert sorted(m["name"] for m in by_tag["registered_models"]) == names
    assert "next_page_token" not in by_tag

    refused(http, "GET", "/registered-models/search", {"max_results": "1001"}, 400, "INVALID_PARAMETER_VALUE",
            "max_results", "1000")
    refused(http, "GET", "/registered-models/search", {"max_results": "many"}, 400, "INVALID_PARAMETER_VALUE",
            "max_results")
    refused(http, "GET", "/registered-models/search", {"page_token": "not-a-token"}, 400, "INVALID_PARAMETER_VALUE",
            "page token")
    refused(http, "GET", "/registered-models/search", {"filter": "name =="}, 400, "INVALID_PARAMETER_VALUE")
    refused(http, "GET", "/registered-models/search", {"order_by": ["colour DESC"]}, 400, "INVALID_PARAMETER_VALUE",
            "colour")


# -- model versions ---------------------------------------------------------------------------------------------------

def test_model_version_lifecycle(http):
    name = model_with_versions(http, 0)
    created = ok(http, "POST", "/model-versions/create",
                 {"name": name, "source": "s3://bucket/model", "description": "v1",
                  "tags": [{"key": "k", "value": "v"}]})["model_version"]
    assert (created["version"], created["source"], created["status"], created["current_stage"]) == (
        "1", "s3://bucket/model", "READY", "None")
    assert created["tags"] == [{"key": "k", "value": "v"}] and created["description"] == "v1"
    second = ok(http, "POST", "/model-versions/create", {"name": name, "source": "s3://bucket/model2"})
    assert second["model_version"]["version"] == "2"

    got = ok(http, "GET", "/model-versions/get", {"name": name, "version": "1"})["model_version"]
    assert got["source"] == "s3://bucket/model" and got["tags"] == [{"key": "k", "value": "v"}]
    updated = ok(http, "PATCH", "/model-versions/update", {"name": name, "version": "1", "description": "best"})
    assert updated["model_version"]["description"] == "best"
    cleared = ok(http, "PATCH", "/model-versions/update", {"name": name, "version": "1"})  # MLflow clears it
    assert "description" not in cleared["model_version"]

    ok(http, "POST", "/model-versions/set-tag", {"name": name, "version": "2", "key": "a", "value": "b"})
    ok(http, "DELETE", "/model-versions/delete-tag", {"name": name, "version": "1", "key": "k"})
    assert "tags" not in ok(http, "GET", "/model-versions/get", {"name": name, "version": "1"})["model_version"]

    uri = ok(http, "GET", "/model-versions/get-download-uri", {"name": name, "version": "2"})
    assert uri == {"artifact_uri": "s3://bucket/model2"}

    moved = ok(http, "POST", "/model-versions/transition-stage",
               {"name": name, "version": "1", "stage": "production", "archive_existing_versions": False})
    assert moved["model_version"]["current_stage"] == "Production"
    ok(http, "POST", "/model-versions/transition-stage",
       {"name": name, "version": "2", "stage": "Production", "archive_existing_versions": True})
    assert ok(http, "GET", "/model-versions/get", {"name": name, "version": "1"})["model_version"][
        "current_stage"] == "Archived"

    latest = ok(http, "POST", "/registered-models/get-latest-versions", {"name": name, "stages": ["Production"]})
    assert [v["version"] for v in latest["model_versions"]] == ["2"]
    every = ok(http, "GET", "/registered-models/get-latest-versions", {"name": name})
    assert sorted((v["current_stage"], v["version"]) for v in every["model_versions"]) == [
        ("Archived", "1"), ("Production", "2")]
    model = ok(http, "GET", "/registered-models/get", {"name": name})["registered_model"]
    assert sorted(v["version"] for v in model["latest_versions"]) == ["1", "2"]

    ok(http, "DELETE", "/model-versions/delete", {"name": name, "version": "1"})
    refused(http, "GET", "/model-versions/get", {"name": name, "version": "1"}, 404, "RESOURCE_DOES_NOT_EXIST",
            "version=1")
    third = ok(http, "POST", "/model-versions/create", {"name": name, "source": "s3://bucket/model3"})
    assert third["model_version"]["version"] == "3"  # numbers are never reused


def test_model_version_refusals(http):
    name = model_with_versions(http, 1)
    missing = new_name()
    refused(http, "POST", "/model-versions/create", {"name": missing, "source": "s3://b/x"}, 404,
            "RESOURCE_DOES_NOT_EXIST", missing)
    refused(http, "POST", "/model-versions/create", {"name": name}, 400, "INVALID_PARAMETER_VALUE", "'source'")
    refused(http, "POST", "/model-versions/create", {"name": name, "source": "s3://b/x", "tags": [{"key": "k"}]},
            400, "INVALID_PARAMETER_VALUE")
    refused(http, "POST", "/model-versions/create", {"name": name, "source": "s3://b/../../etc"}, 400,
            "INVALID_PARAMETER_VALUE", "..")
    for version in ("9", "abc"):
        status, code = (404, "RESOURCE_DOES_NOT_EXIST") if version == "9" else (400, "INVALID_PARAMETER_VALUE")
        refused(http, "GET", "/model-versions/get", {"name": name, "version": version}, status, code, "version")
        refused(http, "PATCH", "/model-versions/update", {"name": name, "version": version, "description": "x"},
                status, code)
        refused(http, "DELETE", "/model-versions/delete", {"name": name, "version": version}, status, code)
        refused(http, "GET", "/model-versions/get-download-uri", {"name": name, "version": version}, status, code)
        refused(http, "POST", "/model-versions/set-tag", {"name": name, "version": version, "key": "k", "value": "v"},
                status, code)
        refused(http, "DELETE", "/model-versions/delete-tag", {"name": name, "version": version, "key": "k"},
                status, code)
        refused(http, "POST", "/model-versions/transition-stage",
                {"name": name, "version": version, "stage": "Staging", "archive_existing_versions": False},
                status, code)
    refused(http, "GET", "/model-versions/get", {"name": name}, 400, "INVALID_PARAMETER_VALUE", "'version'")
    refused(http, "GET", "/model-versions/get-download-uri", {"name": name}, 400, "INVALID_PARAMETER_VALUE",
            "'version'")
    refused(http, "PATCH", "/model-versions/update", {"name": name, "version": 1}, 400, "INVALID_PARAMETER_VALUE",
            "'version'")
    refused(http, "POST", "/model-versions/transition-stage",
            {"name": name, "version": "1", "stage": "Shipped", "archive_existing_versions": False}, 400,
            "INVALID_PARAMETER_VALUE", "Shipped")
    refused(http, "POST", "/model-versions/transition-stage",
            {"name": name, "version": "1", "stage": "Staging", "archive_existing_versions": "yes"}, 400,
            "INVALID_PARAMETER_VALUE", "'archive_existing_versions'")
    refused(http, "POST", "/registered-models/get-latest-versions", {"name": name, "stages": ["Shipped"]}, 400,
            "INVALID_PARAMETER_VALUE", "Shipped")
    refused(http, "POST", "/registered-models/get-latest-versions", {"name": missing}, 404, "RESOURCE_DOES_NOT_EXIST")


def test_search_model_versions_pages_and_filters(http):
    name = model_with_versions(http, 5)
    other = model_with_versions(http, 1)
    seen, token = [], None
    while True:
        query = {"filter": f"name = '{name}'", "max_results": "2", "order_by": ["version_number ASC"]}
        if token:
            query["page_token"] = token
        page = ok(http, "GET", "/model-versions/search", query)
        seen += [(v["name"], v["version"]) for v in page["model_versions"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == [(name, str(i)) for i in range(1, 6)]
    both = ok(http, "GET", "/model-versions/search", {"filter": f"name IN ('{name}', '{other}')"})
    assert len(both["model_versions"]) == 6
    refused(http, "GET", "/model-versions/search", {"max_results": "200001"}, 400, "INVALID_PARAMETER_VALUE",
            "max_results")
    refused(http, "GET", "/model-versions/search", {"page_token": "%%%"}, 400, "INVALID_PARAMETER_VALUE")
    refused(http, "GET", "/model-versions/search", {"filter": "colour = 'red'"}, 400, "INVALID_PARAMETER_VALUE",
            "colour")


# -- aliases ------------------------------------------------------------------------------------------------------------

def test_aliases(http):
    name = model_with_versions(http, 2)
    assert ok(http, "POST", "/registered-models/alias", {"name": name, "alias": "champion", "version": "1"}) == {}
    got = ok(http, "GET", "/registered-models/alias", {"name": name, "alias": "champion"})["model_version"]
    assert got["version"] == "1" and got["aliases"] == ["champion"]
    ok(http, "POST", "/registered-models/alias", {"name": name, "alias": "champion", "version": "2"})
    assert ok(http, "GET", "/registered-models/alias", {"name": name, "alias": "champion"})["model_version"][
        "version"] == "2"
    model = ok(http, "GET", "/registered-models/get", {"name": name})["registered_model"]
    assert model["aliases"] == [{"alias": "champion", "version": "2"}]
    latest = ok(http, "GET", "/registered-models/alias", {"name": name, "alias": "latest"})["model_version"]
    assert latest["version"] == "2"

    ok(http, "DELETE", "/registered-models/alias", {"name": name, "alias": "champion"})
    refused(http, "GET", "/registered-models/alias", {"name": name, "alias": "champion"}, 404,
            "RESOURCE_DOES_NOT_EXIST", "champion")
    ok(http, "DELETE", "/registered-models/alias", {"name": name, "alias": "champion"})  # absent: no error, as MLflow

    refused(http, "POST", "/registered-models/alias", {"name": name, "alias": "champion", "version": "7"}, 404,
            "RESOURCE_DOES_NOT_EXIST", "version=7")
    refused(http, "POST", "/registered-models/alias", {"name": name, "alias": "champion", "version": 1}, 400,
            "INVALID_PARAMETER_VALUE", "'version'")
    refused(http, "POST", "/registered-models/alias", {"name": name, "alias": "latest", "version": "1"}, 400,
            "INVALID_PARAMETER_VALUE", "reserved")
    refused(http, "POST", "/registered-models/alias", {"name": name, "alias": "v1", "version": "1"}, 400,
            "INVALID_PARAMETER_VALUE", "reserved")
    refused(http, "POST", "/registered-models/alias", {"name": name, "alias": "a b", "version": "1"}, 400,
            "INVALID_PARAMETER_VALUE", "alias")
    refused(http, "POST", "/registered-models/alias", {"name": name, "version": "1"}, 400,
            "INVALID_PARAMETER_VALUE", "'alias'")
    missing = new_name()
    refused(http, "GET", "/registered-models/alias", {"name": missing, "alias": "champion"}, 404,
            "RESOURCE_DOES_NOT_EXIST", missing)
    refused(http, "DELETE", "/registered-models/alias", {"name": missing, "alias": "champion"}, 404,
            "RESOURCE_DOES_NOT_EXIST")


# -- sources: MLflow's server-side rule ---------------------------------------------------------------------------------

def _run(http):
    experiment = ok(http, "POST", "/experiments/create", {"name": new_name("experiment")})["experiment_id"]
    return ok(http, "POST", "/runs/create", {"experiment_id": experiment})["run"]["info"]


def test_sources_must_lie_in_the_run_or_logged_model_they_name(http):
    name = model_with_versions(http, 0)
    run = _run(http)
    other = _run(http)
    run_id, root = run["run_id"], run["artifact_uri"].rstrip("/")
    create = "/model-versions/create"

    inside = ok(http, "POST", create, {"name": name, "source": f"{root}/model", "run_id": run_id})["model_version"]
    assert inside["run_id"] == run_id and inside["source"] == f"{root}/model"
    runs_uri = ok(http, "POST", create, {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id})
    assert runs_uri["model_version"]["source"] == f"runs:/{run_id}/model"

    for body, named in [
        ({"source": "/etc"}, "run_id"),  # a local path without a run
        ({"source": "file:///etc/passwd", "run_id": run_id}, "run_id"),  # a local path outside the run
        ({"source": f"runs:/{run_id}/model"}, "run_id"),  # runs:/ without its run id
        ({"source": f"runs:/{run_id}/model", "run_id": other["run_id"]}, "run_id"),
        ({"source": f"{root}/model", "run_id": other["run_id"]}, "run_id"),  # another run's artifacts
        ({"source": f"{root}/model"}, "run_id"),
        ({"source": "mlflow-artifacts:/elsewhere/model", "run_id": run_id}, "run_id"),
        ({"source": f"{root}/model", "run_id": "0" * 32}, "run_id"),  # a run that does not exist
        ({"source": "models:/m-0123456789abcdef"}, "model_id"),  # a logged model's URI without its id
        ({"source": "models://other-registry/m/1"}, "registry"),
        ({"source": "http://169.254.169.254/latest/meta-data"}, "host"),  # hosts other than the server's storage
        ({"source": "https://example.com/model"}, "host"),
        ({"source": "ftp://files.example.com/model"}, "host"),
        ({"source": "mlflow-artifacts://evil.example.com/x", "run_id": run_id}, "run_id"),
    ]:
        refused(http, "POST", create, {"name": name, **body}, 400, "INVALID_PARAMETER_VALUE", named)


def test_copy_sources_point_at_the_version_and_inherit_its_run(http):
    name = model_with_versions(http, 0)
    run = _run(http)
    source = run["artifact_uri"].rstrip("/") + "/model"
    ok(http, "POST", "/model-versions/create", {"name": name, "source": source, "run_id": run["run_id"]})
    ok(http, "POST", "/registered-models/alias", {"name": name, "alias": "champion", "version": "1"})
    copy = model_with_versions(http, 0)
    made = ok(http, "POST", "/model-versions/create", {"name": copy, "source": f"models:/{name}@champion"})
    version = made["model_version"]
    assert version["source"] == f"models:/{name}/1" and version["run_id"] == run["run_id"]
    uri = ok(http, "GET", "/model-versions/get-download-uri", {"name": copy, "version": "1"})["artifact_uri"]
    assert uri == source
    refused(http, "POST", "/model-versions/create",
            {"name": copy, "source": f"models:/{name}/1", "run_id": "f" * 32}, 400, "INVALID_PARAMETER_VALUE",
            "must match")
    refused(http, "POST", "/model-versions/create", {"name": copy, "source": f"models:/{name}/9"}, 404,
            "RESOURCE_DOES_NOT_EXIST")


def test_registering_a_logged_model_links_it_back(http):
    run = _run(http)
    logged = ok(http, "POST", "/logged-models", {"experiment_id": run["experiment_id"], "name": "model",
                                                   "source_run_id": run["run_id"]})["model"]["info"]
    name = model_with_versions(http, 0)
    source = f"models:/{logged['model_id']}"
    made = ok(http, "POST", "/model-versions/create", {"name": name, "source": source, "run_id": run["run_id"],
                                                       "model_id": logged["model_id"]})["model_version"]
    assert made["model_id"] == logged["model_id"]
    got = ok(http, "GET", f"/logged-models/{logged['model_id']}")["model"]["info"]
    tags = {tag["key"]: tag["value"] for tag in got.get("tags", [])}
    assert json.loads(tags["mlflow.modelVersions"]) == [{"name": name, "version": "1"}]
    uri = ok(http, "GET", "/model-versions/get-download-uri", {"name": name, "version": "1"})["artifact_uri"]
    assert uri == logged["artifact_uri"]
    inside = logged["artifact_uri"].rstrip("/") + "/MLmodel"
    ok(http, "POST", "/model-versions/create", {"name": name, "source": inside, "model_id": logged["model_id"]})
    refused(http, "POST", "/model-versions/create",
            {"name": name, "source": run["artifact_uri"] + "/x", "model_id": logged["model_id"]}, 400,
            "INVALID_PARAMETER_VALUE", "model_id")


# -- the ajax twins and malformed requests ---------------------------------------------------------------------------------

def test_ajax_twins_answer_like_the_api(http):
    name = new_name()
    ok(http, "POST", "/registered-models/create", {"name": name}, prefix=AJAX)
    ok(http, "POST", "/model-versions/create", {"name": name, "source": "s3://b/x"}, prefix=AJAX)
    ok(http, "POST", "/registered-models/alias", {"name": name, "alias": "prod", "version": "1"}, prefix=AJAX)
    via_api = ok(http, "GET", "/registered-models/get", {"name": name})
    via_ajax = ok(http, "GET", "/registered-models/get", {"name": name}, prefix=AJAX)
    assert via_api == via_ajax and via_ajax["registered_model"]["aliases"] == [{"alias": "prod", "version": "1"}]
    assert ok(http, "GET", "/registered-models/alias", {"name": name, "alias": "prod"}, prefix=AJAX)[
        "model_version"]["version"] == "1"
    response = call(http, "GET", "/registered-models/get", {"name": new_name()}, prefix=AJAX)
    assert response.status_code == 404 and response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


ENDPOINTS = [
    ("POST", "/registered-models/create"), ("GET", "/registered-models/get"), ("POST", "/registered-models/rename"),
    ("PATCH", "/registered-models/update"), ("DELETE", "/registered-models/delete"),
    ("GET", "/registered-models/search"), ("POST", "/registered-models/get-latest-versions"),
    ("GET", "/registered-models/get-latest-versions"), ("POST", "/registered-models/set-tag"),
    ("DELETE", "/registered-models/delete-tag"), ("POST", "/registered-models/alias"),
    ("DELETE", "/registered-models/alias"), ("GET", "/registered-models/alias"), ("POST", "/model-versions/create"),
    ("GET", "/model-versions/get"), ("PATCH", "/model-versions/update"), ("DELETE", "/model-versions/delete"),
    ("POST", "/model-versions/transition-stage"), ("GET", "/model-versions/get-download-uri"),
    ("GET", "/model-versions/search"), ("POST", "/model-versions/set-tag"), ("DELETE", "/model-versions/delete-tag"),
]
FIELDS = ["name", "new_name", "version", "alias", "key", "value", "source", "run_id", "model_id", "stage",
          "description", "tags", "stages", "filter", "max_results", "order_by", "page_token",
          "archive_existing_versions"]
ODD_VALUES = [None, 0, -1, 2 ** 70, 1.5, True, "", " ", "..", "../x", "a/b", "\x00", "é" * 300, "x" * 6000, [], ["x"],
              [{}], [{"key": None}], {}, {"key": "k"}, "NaN"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_malformed_requests_are_4xx_never_5xx(http, method, path):
    name = model_with_versions(http, 1)
    base = {"name": name, "version": "1", "alias": "a", "key": "k", "value": "v", "source": "s3://b/x",
            "stage": "Staging", "archive_existing_versions": False, "new_name": new_name(), "max_results": "5"}
    for field in FIELDS:
        for value in ODD_VALUES:
            body = {**base, field: value}
            if method == "GET":
                body = {k: v for k, v in body.items() if isinstance(v, (str, list)) and
                        all(isinstance(i, str) for i in (v if isinstance(v, list) else [v]))}
            response = call(http, method, path, body)
            if response.status_code >= 400:
                assert set(response.json()) >= {"error_code", "message"}
    for raw in (b"{", b"[]", b'"name"', b"\xff\xfe", b'{"name": "x"' + b" " * 10):
        response = http.request(method, API + path, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (raw, response.text)
    wrong_verb = "GET" if method != "GET" else "POST"
    response = http.request(wrong_verb, API + path)
    assert 400 <= response.status_code < 500 and response.json()["error_code"]


def test_traversal_corpus_in_version_sources_is_refused(http):
    from tests.security.traversal_payloads import PAYLOADS

    name = model_with_versions(http, 0)
    run = _run(http)
    run_id, root = run["run_id"], run["artifact_uri"].rstrip("/")
    for payload in PAYLOADS:
        for source in (payload, f"runs:/{run_id}/{payload}"):
            refused(http, "POST", "/model-versions/create", {"name": name, "source": source, "run_id": run_id},
                    400, "INVALID_PARAMETER_VALUE")
        response = call(http, "POST", "/model-versions/create",
                        {"name": name, "source": f"{root}/{payload}", "run_id": run_id})
        if response.status_code == 200:  # accepted only where it stays inside the run's artifacts
            version = response.json()["model_version"]["version"]
            uri = ok(http, "GET", "/model-versions/get-download-uri", {"name": name, "version": version})
            assert uri["artifact_uri"].startswith(root + "/") and ".." not in uri["artifact_uri"], payload
        else:
            assert response.status_code == 400, (payload, response.text)
    for source in ("http://[::1/api/2.0/mlflow-artifacts/artifacts/x", "mlflow-artifacts://[bad/x", "s3://[b/x",
                   "models://[x/m/1", "runs://[x/y"):
        refused(http, "POST", "/model-versions/create", {"name": name, "source": source, "run_id": run_id}, 400,
                "INVALID_PARAMETER_VALUE")


def test_local_sources_on_a_server_with_local_artifacts(start_server, tmp_path):
    server = start_server(args=["--no-serve-artifacts"])
    with httpx.Client(base_url=server.url, timeout=30) as local:
        name = model_with_versions(local, 0)
        run = _run(local)
        run_id, root = run["run_id"], run["artifact_uri"].rstrip("/")
        folder = Path(root.removeprefix("file://"))
        assert folder.is_absolute(), root
        (folder / "model").mkdir(parents=True)
        (folder / "escape").symlink_to(tmp_path)
        made = ok(local, "POST", "/model-versions/create", {"name": name, "source": f"{root}/model", "run_id": run_id})
        assert made["model_version"]["source"] == f"{root}/model"
        for source in (f"{root}/escape/x", str(tmp_path), f"{root}/model\x00", f"{root}/../x", "/etc/passwd"):
            refused(local, "POST", "/model-versions/create", {"name": name, "source": source, "run_id": run_id}, 400,
                    "INVALID_PARAMETER_VALUE")
        refused(local, "POST", "/model-versions/create", {"name": name, "source": f"{root}/model"}, 400,
                "INVALID_PARAMETER_VALUE", "run_id")
