"""runtime_wheel: the running mlcask packed into a wheel, cached by content."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import time
import zipfile

import mlcask
from mlcask.environments import runtime_wheel
from mlcask.environments.wheel import runtime_requirements


def test_wheel_holds_the_package_and_valid_metadata(tmp_path):
    wheel = runtime_wheel(tmp_path)
    assert wheel.name == f"mlcask-{mlcask.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"mlcask/__init__.py", "mlcask/environments/wheel.py", "mlcask/serving/app.py"} <= names
        assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
        info = f"mlcask-{mlcask.__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        requires = [line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist")]
        assert any(r.startswith("starlette") for r in requires) and any(r.startswith("pyyaml") for r in requires)
        assert not any(r.split(">")[0].split("=")[0] in ("scikit-learn", "xgboost", "uv") for r in requires)
        assert "extra ==" not in metadata
        rows = list(csv.reader(io.StringIO(archive.read(f"{info}/RECORD").decode())))
        assert {row[0] for row in rows} == names
        for name, digest, size in rows:
            if digest:
                data = archive.read(name)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert (digest, int(size)) == (f"sha256={expected}", len(data))


def test_cached_by_content(tmp_path):
    first = runtime_wheel(tmp_path)
    started = time.perf_counter()
    again = runtime_wheel(tmp_path)
    assert again == first and time.perf_counter() - started < 1.0
    assert len(list(tmp_path.iterdir())) == 1


def test_runtime_requirements_are_mlcasks_and_servings():
    names = {r.split(">")[0].split("=")[0].split("[")[0].lower() for r in runtime_requirements()}
    assert {"numpy", "pandas", "pyyaml", "click", "starlette", "uvicorn", "orjson"} <= names
    assert not names & {"scikit-learn", "xgboost", "boto3", "psycopg", "uv"}


def test_same_files_make_the_same_wheel(tmp_path):
    first = runtime_wheel(tmp_path / "a").read_bytes()
    second = runtime_wheel(tmp_path / "b").read_bytes()
    assert first == second  # unless a file of mlcask changed in between (the digest folder would differ too)
