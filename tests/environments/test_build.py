"""Building, caching and serving from a model's own environment, with real uv and real pip."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from mlcask.environments import (
    EnvironmentBuildError,
    PythonNotFoundError,
    prepare_environment,
    serve_argv,
)
from mlcask.exceptions import InvalidArgumentError
from tests.support import free_port

pytestmark = pytest.mark.slow


def _in_env(prepared, code: str) -> str:
    done = subprocess.run([str(prepared.python), "-I", "-c", code], capture_output=True, text=True,
                          env=prepared.env_vars(), timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _folder(tmp_path, requirements: str, python: str | None = None):
    folder = tmp_path / "model"
    folder.mkdir()
    version = python or platform.python_version()
    (folder / "python_env.yaml").write_text(f"python: {version}\nbuild_dependencies: []\n"
                                            "dependencies:\n- -r requirements.txt\n")
    (folder / "requirements.txt").write_text(requirements)
    return folder


def test_environment_has_the_models_versions_and_mlcasks_runtime(uv_env):
    versions = _in_env(uv_env, "import sklearn, numpy, mlcask, starlette; print(sklearn.__version__, "
                               "numpy.__version__, mlcask.__file__)").split()
    assert versions[:2] == ["1.5.2", "1.26.4"]
    assert versions[2].startswith(str(uv_env.path))
    assert _in_env(uv_env, "import importlib.util; print(importlib.util.find_spec('mlflow'))") == "None"
    # Built in a temporary folder and renamed: the scripts work at the final path.
    done = subprocess.run([str(uv_env.path / "bin" / "mlcask"), "--version"], capture_output=True, text=True,
                          env=uv_env.env_vars(), timeout=60)
    assert done.returncode == 0 and "version" in done.stdout, done.stderr


def test_second_prepare_reuses_it(uv_env, old_sklearn_model):
    again = prepare_environment(old_sklearn_model, "uv")
    assert again.reused and again.path == uv_env.path and again.seconds < 2.0
    assert uv_env.path.parent.name == "envs"


def test_runtime_wheel_override_is_checked(tmp_path, old_sklearn_model, monkeypatch):
    from mlcask.environments import RuntimeWheelError

    monkeypatch.setenv("MLCASK_RUNTIME_WHEEL", str(tmp_path / "nothing.whl"))
    with pytest.raises(RuntimeWheelError, match="MLCASK_RUNTIME_WHEEL must name an mlcask wheel file.*does not exist"):
        prepare_environment(old_sklearn_model, "uv", home=tmp_path / "home")


def test_serves_the_models_predictions_from_its_environment(uv_env, old_sklearn_model, iris_classifier):
    X, model = iris_classifier
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(serve_argv(uv_env, old_sklearn_model, host="127.0.0.1", port=port),
                              env=uv_env.env_vars(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert time.perf_counter() - started < 90, "the server did not answer /ping in 90 s"
                time.sleep(0.1)
        body = json.dumps({"dataframe_split": X.head(8).to_dict(orient="split")}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            predictions = json.loads(reply.read())["predictions"]
        assert predictions == model.predict(X.head(8)).tolist()
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def test_concurrent_prepares_build_once(tmp_path, old_sklearn_model, pinned_runtime_wheel):
    home = tmp_path / "home"
    code = textwrap.dedent(f"""
        from pathlib import Path
        from mlcask.environments import prepare_environment
        prepared = prepare_environment({str(old_sklearn_model)!r}, "uv", home=Path({str(home)!r}))
        print(prepared.reused, prepared.path)
    """)
    children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]
    results = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        results.append(out.split())
    assert sorted(reused for reused, _ in results) == ["False", "True"]
    assert results[0][1] == results[1][1]
    assert [p.name for p in (home / "envs").iterdir()] == [results[0][1].rsplit("/", 1)[1]]


def test_failed_build_fails_fast_names_the_package_and_leaves_nothing(tmp_path):
    folder = _folder(tmp_path, "mlcask-no-such-package-h1==1.0\n")
    home = tmp_path / "home"
    started = time.perf_counter()
    with pytest.raises(EnvironmentBuildError, match="mlcask-no-such-package-h1") as raised:
        prepare_environment(folder, "uv", home=home)
    assert time.perf_counter() - started < 30
    assert "uv pip install" in str(raised.value)
    assert list((home / "envs").iterdir()) == []


def test_model_python_not_servable_here_is_named(tmp_path):
    folder = _folder(tmp_path, "numpy\n", python="3.7.16")
    with pytest.raises(PythonNotFoundError, match=r"3\.7"):
        prepare_environment(folder, "uv", home=tmp_path / "home")
    assert not (tmp_path / "home" / "envs").exists() or list((tmp_path / "home" / "envs").iterdir()) == []


@pytest.mark.parametrize("manager, message", [("conda", "'conda' is not supported"), ("local", "there is none to prepare"),
                                              ("pipenv", "must be one of local, uv, virtualenv")])
def test_other_managers_are_refused(tmp_path, manager, message):
    with pytest.raises(InvalidArgumentError, match=message):
        prepare_environment(_folder(tmp_path, "numpy\n"), manager, home=tmp_path / "home")


def test_virtualenv_manager_builds_with_venv_and_pip(tmp_path):
    folder = _folder(tmp_path, "six==1.16.0\n")
    home = tmp_path / "home"
    prepared = prepare_environment(folder, "virtualenv", home=home)
    assert not prepared.reused and prepared.env_manager == "virtualenv"
    assert _in_env(prepared, "import six, mlcask; print(six.__version__)") == "1.16.0"
    assert (prepared.path / "bin" / "pip").is_file()
    done = subprocess.run([str(prepared.path / "bin" / "mlcask"), "--version"], capture_output=True, text=True,
                          env=prepared.env_vars(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert prepare_environment(folder, "virtualenv", home=home).reused


def test_leftovers_of_a_killed_build_are_removed(tmp_path, old_sklearn_model, pinned_runtime_wheel):
    from mlcask.environments import environment_key, read_environment_spec

    home = tmp_path / "home"
    key = environment_key(read_environment_spec(old_sklearn_model), "uv")
    (home / "envs" / f".build-{key}-x1" / "env").mkdir(parents=True)
    (home / "envs" / key / "bin").mkdir(parents=True)  # renamed but never marked complete
    prepared = prepare_environment(old_sklearn_model, "uv", home=home)
    assert not prepared.reused and prepared.path.name == key
    assert sorted(p.name for p in (home / "envs").iterdir()) == [key]
    assert (prepared.path / "mlcask-env.json").is_file()


def test_constraints_reach_uv(tmp_path, pinned_runtime_wheel):
    folder = _folder(tmp_path, "six\n-c constraints.txt\n")
    (folder / "constraints.txt").write_text("six==1.16.0\n")
    prepared = prepare_environment(folder, "uv", home=tmp_path / "home")
    assert _in_env(prepared, "import six; print(six.__version__)") == "1.16.0"
    assert (prepared.path / "mlcask-constraints.txt").read_text() == "six==1.16.0\n"


def _sdist_model(tmp_path, marker):
    """A model folder whose requirements name a source distribution inside it that writes ``marker`` when built."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "setup.py").write_text(f"from setuptools import setup\nopen({str(marker)!r}, 'w').write('ran')\n"
                                      "setup(name='builds-code', version='1.0')\n")
    folder = _folder(tmp_path, "")
    subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(folder)], cwd=project, check=True,
                   capture_output=True, timeout=120)
    marker.unlink(missing_ok=True)  # running setup.py to make the sdist wrote it
    (folder / "requirements.txt").write_text("./builds-code-1.0.tar.gz\n")
    return folder


@pytest.mark.parametrize("env_manager", ["uv", "virtualenv"])
def test_a_source_distribution_is_not_built_unless_allowed(tmp_path, env_manager, monkeypatch):
    marker = tmp_path / "build-code-ran"
    folder = _sdist_model(tmp_path, marker)
    monkeypatch.delenv("MLCASK_ENV_ALLOW_SOURCE_BUILDS", raising=False)
    home = tmp_path / "home"
    with pytest.raises(EnvironmentBuildError, match="MLCASK_ENV_ALLOW_SOURCE_BUILDS=1") as caught:
        prepare_environment(folder, env_manager, home=home)
    assert "builds-code" in str(caught.value)
    assert not marker.exists()  # its setup.py never ran
    assert list((home / "envs").iterdir()) == []


def test_source_builds_run_when_allowed(tmp_path, monkeypatch):
    marker = tmp_path / "build-code-ran"
    folder = _sdist_model(tmp_path, marker)
    monkeypatch.setenv("MLCASK_ENV_ALLOW_SOURCE_BUILDS", "1")
    prepared = prepare_environment(folder, "uv", home=tmp_path / "home")
    assert marker.exists()
    assert _in_env(prepared, "import importlib.metadata as m; print(m.version('builds-code'))") == "1.0"


def test_direct_references_to_source_code_are_refused_and_wheels_are_not(monkeypatch):
    from mlcask.environments.installers import refuse_source_references

    monkeypatch.delenv("MLCASK_ENV_ALLOW_SOURCE_BUILDS", raising=False)
    refuse_source_references(["numpy==1.26.4", "/m/pkg-1.0-py3-none-any.whl", "x @ https://h/x-1.0-py3-none-any.whl#sha256=ab",
                              "-c constraints.txt", "scipy>=1 ; python_version>'3'"])
    for line in ["./pkg-1.0.tar.gz", "pkg @ git+https://example.com/pkg.git", "/m/src-folder",
                 "https://h/pkg-1.0.zip", "file:///m/pkg-1.0.tar.gz"]:
        with pytest.raises(EnvironmentBuildError, match="MLCASK_ENV_ALLOW_SOURCE_BUILDS=1") as caught:
            refuse_source_references(["numpy", line])
        assert line in str(caught.value)
    monkeypatch.setenv("MLCASK_ENV_ALLOW_SOURCE_BUILDS", "1")
    refuse_source_references(["./pkg-1.0.tar.gz"])
