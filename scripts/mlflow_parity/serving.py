"""The harness's stand-in for MLflow's test helper ``pyfunc_serve_and_score_model``.

MLflow's helper starts ``mlflow models serve`` in a child process, waits for ``/ping`` and posts
one request to ``/invocations``. This one posts the same request, built the same way, to mlcask's
scoring app (``mlcask.serving.app.create_app``) in-process, so the tests that end by serving a
model measure mlcask's scoring protocol instead of being set aside (and take milliseconds, not a
server start). Server options in ``extra_args`` (``--env-manager local``...) have no in-process
meaning and are ignored.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from typing import Any

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"


def request_body(data: Any, content_type: str) -> str | bytes:
    """The body MLflow's helper would post for ``data``."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if content_type == CONTENT_TYPE_CSV:
            return data.to_csv(index=False)
        return json.dumps({"dataframe_split": data.to_dict(orient="split")})
    if isinstance(data, dict):
        return urllib.parse.urlencode(data, doseq=True)  # what ``requests.post(data=dict)`` sends
    if not isinstance(data, (str, bytes)):
        return json.dumps({"instances": data})
    return data


def serve_and_score(model_uri: str, data: Any, content_type: str, activity_polling_timeout_seconds: int = 500,
                    extra_args: list[str] | None = None, stdout: Any = sys.stdout) -> Any:
    """Score ``data`` with the model at ``model_uri`` through mlcask's scoring app; the response
    (``status_code``, ``content``, ``text``, ``json()``, as ``requests`` gives)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note on its httpx dependency
        from starlette.testclient import TestClient

    from mlcask.serving.app import create_app

    app = create_app(model_uri)
    with TestClient(app, raise_server_exceptions=False) as client:
        return client.post("/invocations", content=request_body(data, content_type),
                           headers={"Content-Type": content_type})
