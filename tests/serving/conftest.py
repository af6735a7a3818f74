"""Scoring-server fixtures: models saved into tmp folders, and apps served over real sockets."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest

import mlcask


class LiveServer:
    """``app`` served on 127.0.0.1 in a thread, with the uvicorn options ``mlcask models serve`` uses."""

    def __init__(self, app, **server_options) -> None:
        import uvicorn

        from mlcask.serving.server import uvicorn_options

        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                   lifespan="on", **uvicorn_options(**server_options)))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.contextmanager
def serve(model_uri, server_options=None, **kwargs):
    from mlcask.serving import create_app

    with LiveServer(create_app(str(model_uri), **kwargs), **(server_options or {})) as live:
        yield live


@pytest.fixture(scope="session")
def serve_model():
    """``serve_model(model_uri, server_options=None, **create_app_options)``: a context manager yielding a
    LiveServer (``server_options``: :func:`mlcask.serving.server.uvicorn_options` arguments)."""
    return serve


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    return X, y


@pytest.fixture(scope="session")
def sklearn_model_dir(tmp_path_factory, iris):
    from sklearn.linear_model import LogisticRegression

    from mlcask.models import infer_signature

    X, y = iris
    model = LogisticRegression(max_iter=300).fit(X, y)
    path = tmp_path_factory.mktemp("sk") / "iris"
    mlcask.sklearn.save_model(model, path, signature=infer_signature(X, model.predict(X)),
                              input_example=X.head(3))
    return path


@pytest.fixture(scope="session")
def sklearn_server(sklearn_model_dir):
    with serve(sklearn_model_dir, model_name="iris") as live:
        yield live


class RowEcho(mlcask.pyfunc.PythonModel):
    """Returns each row's 'x' times 'scale'; records the size of every batch it sees."""

    def load_context(self, context):
        self.batches = []

    def predict(self, context, model_input, params=None):
        self.batches.append(len(model_input))
        if params and params.get("fail"):
            raise RuntimeError("the model was told to fail")
        if params and params.get("sleep"):
            time.sleep(params["sleep"])
        time.sleep(0.005)
        scale = params.get("scale", 1.0) if params else 1.0
        return model_input["x"].to_numpy() * scale


@pytest.fixture(scope="session")
def pyfunc_model_dir(tmp_path_factory):
    from mlcask.models import infer_signature

    example = pd.DataFrame({"x": [1.0, 2.0], "tag": ["a", "b"]})
    sig = infer_signature(example, np.array([1.0, 2.0]),
                          params={"scale": 1.0, "fail": False, "sleep": 0.0})
    path = tmp_path_factory.mktemp("pf") / "echo"
    mlcask.pyfunc.save_model(path, python_model=RowEcho(), signature=sig, input_example=example)
    return path


@pytest.fixture(scope="session")
def pyfunc_server(pyfunc_model_dir):
    """The RowEcho model (columns x: double, tag: string; params scale, fail, sleep) served as 'echo'."""
    with serve(pyfunc_model_dir) as live:
        yield live
