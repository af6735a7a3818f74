"""Malformed requests to the auth endpoints and the middleware: a 4xx each, never a 5xx.

MLflow 3.17's basic-auth app answers 24 of 200 such requests with a 5xx. The requests
here are generated from a fixed seed: wrong types, missing and extra fields, invalid
JSON, huge strings, odd Unicode, broken ``Authorization`` headers and query strings.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random

import pytest

from tests.server.test_auth import ADMIN, ADMIN_PASSWORD, add_user, basic, make_client
from tests.support import postgres_database

ENDPOINTS = [
    ("POST", "/api/2.0/mlflow/users/create"), ("GET", "/api/2.0/mlflow/users/get"),
    ("PATCH", "/api/2.0/mlflow/users/update-password"), ("PATCH", "/api/2.0/mlflow/users/update-admin"),
    ("DELETE", "/api/2.0/mlflow/users/delete"), ("GET", "/api/2.0/mlflow/users/list"),
    ("POST", "/api/3.0/mlflow/users/permissions/grant"), ("POST", "/api/3.0/mlflow/users/permissions/revoke"),
    ("GET", "/api/3.0/mlflow/users/permissions/get"), ("GET", "/api/3.0/mlflow/users/permissions/list"),
    ("POST", "/api/2.0/mlflow/experiments/permissions/create"),
    ("GET", "/api/2.0/mlflow/experiments/permissions/get"),
    ("PATCH", "/api/2.0/mlflow/registered-models/permissions/update"),
    ("DELETE", "/api/2.0/mlflow/registered-models/permissions/delete"),
    ("POST", "/api/2.0/mlcask/tokens/create"), ("DELETE", "/api/2.0/mlcask/tokens/delete"),
    ("POST", "/api/2.0/mlflow/runs/log-batch"), ("POST", "/api/2.0/mlflow/runs/search"),
    ("GET", "/api/2.0/mlflow/runs/get"), ("POST", "/api/2.0/mlflow/registered-models/rename"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/x"), ("POST", "/api/3.0/mlflow/roles/create"),
    ("GET", "/api/3.0/mlflow/roles/get"), ("PATCH", "/api/3.0/mlflow/roles/update"),
    ("POST", "/api/3.0/mlflow/roles/permissions/add"), ("PATCH", "/api/3.0/mlflow/roles/permissions/update"),
    ("POST", "/api/3.0/mlflow/roles/assign"), ("GET", "/api/3.0/mlflow/users/roles/list"),
]
FIELDS = ["username", "password", "current_password", "is_admin", "resource_type", "resource_id", "permission",
          "experiment_id", "name", "run_id", "experiment_ids", "new_name", "token_id", "expires_in_days", "role_id",
          "workspace", "resource_pattern", "role_permission_id", "description"]
ODD_VALUES = [None, True, False, 0, -1, 2**63, 1.5, float("inf"), "", " ", "x" * 100_000, "\u0000", "a:b",
              "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "ユーザー", "\u202eadmin", "*", "../..",
              [], ["a", 1, None], {}, {"$gt": ""}, [[[[[]]]]], "READ", "experiment", "registered_model", "NOPE"]
RAW_BODIES = [b"{", b"[]", b"null", b'"text"', b"1e999999", b"{\"a\":" * 5000, b"\xff\xfe\x00", b'{"username": }',
              b'{"username": "a", "username": "b"}', b'{"password": "' + b"\\ud800" + b'"}', b"\x00" * 100]
ODD_HEADERS = ["Basic", "Basic ", "Basic ====", "Basic " + base64.b64encode(b"\xc3\x28:pw").decode(),
               "Basic " + "A" * 20_000, "Bearer", "Bearer mlc_", "Bearer mlc_zzzzzzzzzzzzzzzz_x",
               "Bearer mlc_0123456789abcdef_" + "x" * 500, "Basic " + base64.b64encode(b"admin:").decode(),
               "\u00e9\u00e9", "Basic " + base64.b64encode("ü:ü".encode()).decode()]


def malformed_requests(count: int = 260) -> list[dict]:
    rng = random.Random(20261201)
    requests: list[dict] = []
    while len(requests) < count:
        method, path = rng.choice(ENDPOINTS)
        kind = rng.randrange(5)
        request: dict = {"method": method, "url": path, "who": rng.choice(["admin", "user"])}
        if kind == 0:
            request["content"] = rng.choice(RAW_BODIES)
        elif kind == 1:
            body = {rng.choice(FIELDS): rng.choice(ODD_VALUES) for _ in range(rng.randrange(1, 5))}
            request["content"] = json.dumps(body, allow_nan=True).encode()
        elif kind == 2:
            query = "&".join(f"{rng.choice(FIELDS)}={rng.choice(['%ZZ', '%ff%fe', '', 'a%00b', 'x' * 5000, '%'])}"
                             for _ in range(rng.randrange(1, 4)))
            request["url"] = f"{path}?{query}"
        elif kind == 3:
            request["headers"] = {"Authorization": rng.choice(ODD_HEADERS).encode("utf-8")}
        else:
            body = {field: rng.choice(ODD_VALUES) for field in rng.sample(FIELDS, rng.randrange(2, 6))}
            request["content"] = json.dumps(body).encode()
            request["headers"] = {"Content-Type": rng.choice(["text/plain", "application/json; charset=latin-1",
                                                              "multipart/form-data"])}
        requests.append(request)
    return requests


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_client(request, tmp_path_factory):
    """The stand-in app with its stores and the auth database on SQLite, then on PostgreSQL."""
    from mlcask.tracking.registry_store import SqlRegistryStore
    from mlcask.tracking.store.sql_store import SqlTrackingStore

    tmp_path = tmp_path_factory.mktemp("auth-fuzz")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            uri, auth_uri = f"sqlite:///{tmp_path / 'mlcask.db'}", f"sqlite:///{tmp_path / 'basic_auth.db'}"
        else:
            uri, auth_uri = stack.enter_context(postgres_database()), stack.enter_context(postgres_database())
        stores = SqlTrackingStore(uri, str(tmp_path / "artifacts")), SqlRegistryStore(uri)
        client = stack.enter_context(make_client(tmp_path, stores, database_uri=auth_uri))
        client.user = add_user(client, "fuzzer", "fuzzer-password")
        yield client


def test_malformed_requests_never_get_a_5xx(fuzz_client):
    admin = basic(ADMIN, ADMIN_PASSWORD)
    failures = []
    requests = malformed_requests()
    for request in requests:
        headers = {**(admin if request.pop("who") == "admin" else fuzz_client.user), **request.pop("headers", {})}
        answer = fuzz_client.request(headers=headers, **request)
        if answer.status_code >= 500:
            failures.append((request["method"], request["url"][:120], answer.status_code, answer.text[:200]))
        else:
            assert answer.status_code < 500
    assert len(requests) >= 200
    assert failures == []
    # the admin still works: no request corrupted the auth state
    assert fuzz_client.get("/api/2.0/mlflow/users/current", headers=admin).status_code == 200
