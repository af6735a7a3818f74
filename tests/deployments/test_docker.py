"""Images of a model: the generated Dockerfile checked property by property (parsed), the context's
files, refusals of secrets, determinism, build-docker without a daemon (the real docker client),
a real build where a daemon and the base image exist, and the recipe executed without Docker."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlcask.cli_docker import build_docker_command, generate_dockerfile_command
from mlcask.deployments import generate_dockerfile
from mlcask.deployments.docker import SecretsError
from mlcask.exceptions import InvalidArgumentError
from tests.support import free_port

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n"


# -- a small Dockerfile parser: instructions with their arguments, continuations joined --------------
def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs; comments dropped, backslash continuations joined."""
    instructions, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "a continuation runs past the end of the Dockerfile"
    return instructions


def arguments(instructions: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for key, args in instructions if key == keyword]


def exec_form(args: str) -> list[str]:
    argv = json.loads(args)
    assert isinstance(argv, list) and all(isinstance(part, str) for part in argv)
    return argv


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, LogisticRegression(max_iter=300).fit(X, y)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, iris):
    import mlcask.sklearn
    from mlcask.models import infer_signature

    X, model = iris
    path = tmp_path_factory.mktemp("saved") / "model"
    mlcask.sklearn.save_model(model, path, signature=infer_signature(X, model.predict(X)), input_example=X.head(2))
    return path


@pytest.fixture(scope="module")
def context(tmp_path_factory, model_dir):
    return generate_dockerfile(model_dir, tmp_path_factory.mktemp("ctx") / "context")


@pytest.fixture(scope="module")
def instructions(context):
    return parse_dockerfile(context.dockerfile.read_text())


def copy_model(model_dir: Path, target: Path, *, manifest: bool = True) -> Path:
    shutil.copytree(model_dir, target)
    if not manifest:
        (target / "mlcask-manifest.json").unlink()
    return target


def resign(folder: Path) -> None:
    """Seal an edited model again (a new manifest, signed)."""
    from mlcask.models import sign_model

    (folder / "mlcask-manifest.json").unlink()
    sign_model(folder)


# -- the Dockerfile, property by property ---------------------------------------------------------
def test_base_image_is_the_models_python(model_dir, instructions):
    saved = yaml.safe_load((model_dir / "python_env.yaml").read_text())["python"]
    major, minor = saved.split(".")[:2]
    assert arguments(instructions, "FROM") == [f"python:{major}.{minor}-slim"]
    assert instructions[0][0] == "FROM"


def test_base_image_follows_python_env_yaml(model_dir, tmp_path):
    folder = copy_model(model_dir, tmp_path / "m312")
    env = yaml.safe_load((folder / "python_env.yaml").read_text())
    env["python"] = "3.12.4"
    (folder / "python_env.yaml").write_text(yaml.safe_dump(env))
    resign(folder)
    built = generate_dockerfile(folder, tmp_path / "ctx")
    assert arguments(parse_dockerfile(built.dockerfile.read_text()), "FROM") == ["python:3.12-slim"]

    env["python"] = "3.9.18"
    (folder / "python_env.yaml").write_text(yaml.safe_dump(env))
    resign(folder)
    with pytest.raises(InvalidArgumentError, match=r"Python 3\.9\.18.*needs Python >= 3\.11.*--base-image"):
        generate_dockerfile(folder, tmp_path / "ctx2")
    assert not (tmp_path / "ctx2").exists()
    given = generate_dockerfile(folder, tmp_path / "ctx3", base_image="registry.example/python:3.11-slim@sha256:"
                                + "a" * 64)
    assert arguments(parse_dockerfile(given.dockerfile.read_text()), "FROM") == [
        "registry.example/python:3.11-slim@sha256:" + "a" * 64]
    with pytest.raises(InvalidArgumentError, match="not an image reference"):
        generate_dockerfile(folder, tmp_path / "ctx4", base_image="python:3.11-slim\nRUN curl evil")


def test_requirements_installed_with_uv_and_pinned(model_dir, context, instructions):
    import importlib.metadata

    runs = arguments(instructions, "RUN")
    assert f"python -m pip install uv=={importlib.metadata.version('uv')}" in runs
    wheel = context.recipe.wheel
    install = f"uv pip install --python \"$(command -v python)\" -r requirements.txt ./wheels/{wheel}"
    assert install in runs
    assert "uv pip install --python \"$(command -v python)\" -r build-requirements.txt" in runs
    assert runs.index(f"python -m pip install uv=={importlib.metadata.version('uv')}") < runs.index(install)
    saved = (model_dir / "requirements.txt").read_text().split()
    written = (context.path / "requirements.txt").read_text().split()
    # the model's pins, each exactly; MLflow's own pin is served by mlcask's runtime (the wheel)
    assert written == [line for line in saved if not line.startswith("mlflow")]
    assert written and all("==" in line for line in written)
    build = yaml.safe_load((model_dir / "python_env.yaml").read_text())["build_dependencies"]
    assert (context.path / "build-requirements.txt").read_text().split() == build


def test_env_manager_virtualenv_installs_with_pip(model_dir, tmp_path):
    built = generate_dockerfile(model_dir, tmp_path / "ctx", env_manager="virtualenv")
    runs = arguments(parse_dockerfile(built.dockerfile.read_text()), "RUN")
    assert not any("uv" in run.split() or run.startswith("uv ") for run in runs)
    assert f"python -m pip install -r requirements.txt ./wheels/{built.recipe.wheel}" in runs
    with pytest.raises(InvalidArgumentError, match="conda' is not supported"):
        generate_dockerfile(model_dir, tmp_path / "ctx2", env_manager="conda")


def test_runs_as_a_numeric_non_root_user(instructions):
    users = arguments(instructions, "USER")
    assert users == ["10001:10001"]
    uid, gid = (int(part) for part in users[0].split(":"))
    assert uid != 0 and gid != 0
    keywords = [key for key, _ in instructions]
    user_at = keywords.index("USER")
    useradd = [args for key, args in instructions[:user_at] if key == "RUN" and args.startswith("useradd")]
    assert len(useradd) == 1 and "--uid 10001" in useradd[0]
    # nothing runs as root after the switch; the entry point runs as the user
    assert "RUN" not in keywords[user_at:] and keywords.index("ENTRYPOINT") > user_at


def test_healthcheck_port_and_entrypoint(instructions):
    assert arguments(instructions, "EXPOSE") == ["8080"]
    (health,) = arguments(instructions, "HEALTHCHECK")
    options, _, command = health.partition(" CMD ")
    assert "--interval=" in options and "--timeout=" in options
    probe = exec_form(command)
    assert probe[:2] == ["python", "-c"] and "urllib.request" in probe[2] and "http://127.0.0.1:8080/ping" in probe[2]
    assert "curl" not in health
    (entrypoint,) = arguments(instructions, "ENTRYPOINT")
    assert exec_form(entrypoint) == ["mlcask", "models", "serve", "-m", "/opt/ml/model", "--host", "0.0.0.0",
                                     "--port", "8080"]


def test_wheel_checksum_and_model_verified_at_build_time(context, instructions):
    wheel = context.path / "wheels" / context.recipe.wheel
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    runs = arguments(instructions, "RUN")
    check = f'echo "{digest}  wheels/{context.recipe.wheel}" | sha256sum --check --strict -'
    install = next(run for run in runs if run.startswith("uv pip install") and "requirements.txt" in run)
    assert runs.index(check) < runs.index(install)
    assert arguments(instructions, "WORKDIR") == ["/opt/ml"]
    assert "model/ /opt/ml/model/" in arguments(instructions, "COPY")
    keywords = list(instructions)
    assert keywords.index(("RUN", "mlcask models verify -m model")) > keywords.index(("COPY", "model/ /opt/ml/model/"))
    # the check really refuses another wheel: run it in the context
    assert subprocess.run(["sh", "-c", check], cwd=context.path).returncode == 0
    tampered = context.path.parent / "tampered"
    shutil.copytree(context.path, tampered)
    (tampered / "wheels" / context.recipe.wheel).write_bytes(wheel.read_bytes() + b"\0")
    assert subprocess.run(["sh", "-c", check], cwd=tampered, capture_output=True).returncode != 0


def test_context_files(model_dir, context, instructions):
    files = sorted(p.relative_to(context.path).as_posix() for p in context.path.rglob("*") if p.is_file())
    model_files = sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file())
    assert files == sorted([".dockerignore", "Dockerfile", "build-requirements.txt", "requirements.txt",
                            f"wheels/{context.recipe.wheel}", *(f"model/{name}" for name in model_files)])
    for name in model_files:
        assert (context.path / "model" / name).read_bytes() == (model_dir / name).read_bytes()
        assert (context.path / "model" / name).stat().st_mode & 0o777 == 0o644  # readable by uid 10001
    from mlcask.models import verify_model

    assert verify_model(context.path / "model").files_checked == len(model_files) - 1  # all but the manifest
    ignore = (context.path / ".dockerignore").read_text().splitlines()
    assert "*" in ignore
    for copy in arguments(instructions, "COPY"):
        for source in copy.split()[:-1]:
            assert (context.path / source).exists(), source
            assert f"!{source.rstrip('/')}" in ignore, source
    import zipfile

    with zipfile.ZipFile(context.path / "wheels" / context.recipe.wheel) as wheel:
        names = wheel.namelist()
    assert "mlcask/cli.py" in names and "mlcask/deployments/docker/dockerfile.py" in names


def test_model_without_manifest_is_checked_against_checksums(model_dir, tmp_path):
    folder = copy_model(model_dir, tmp_path / "mlflow-saved", manifest=False)
    built = generate_dockerfile(folder, tmp_path / "ctx")
    found = parse_dockerfile(built.dockerfile.read_text())
    runs = arguments(found, "RUN")
    assert "mlcask models verify -m model" not in runs
    check = "sha256sum --check --strict --quiet model.sha256"
    assert check in runs and "model.sha256 /opt/ml/" in arguments(found, "COPY")
    listed = (built.path / "model.sha256").read_text().splitlines()
    assert len(listed) == len([p for p in folder.rglob("*") if p.is_file()])
    assert subprocess.run(["sh", "-c", check], cwd=built.path).returncode == 0
    (built.path / "model" / "MLmodel").write_text("flavors: {}\n")
    assert subprocess.run(["sh", "-c", check], cwd=built.path, capture_output=True).returncode != 0


def test_a_model_not_matching_its_manifest_is_refused(model_dir, tmp_path):
    from mlcask.models.integrity import ModelIntegrityError

    folder = copy_model(model_dir, tmp_path / "changed")
    (folder / "requirements.txt").write_text("scikit-learn==1.0\n")
    with pytest.raises(ModelIntegrityError, match="requirements.txt"):
        generate_dockerfile(folder, tmp_path / "ctx")
    assert not (tmp_path / "ctx").exists()


def test_local_files_and_constraints_of_the_model_point_into_the_copied_folder(model_dir, tmp_path):
    folder = copy_model(model_dir, tmp_path / "m", manifest=False)
    (folder / "wheels").mkdir()
    (folder / "wheels" / "extra_lib-1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (folder / "constraints.txt").write_text("numpy<3\n")
    (folder / "code" / "__pycache__").mkdir(parents=True)
    (folder / "code" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\0")
    with open(folder / "requirements.txt", "a") as requirements:
        requirements.write("\nwheels/extra_lib-1.0-py3-none-any.whl\n-c constraints.txt\n")
    built = generate_dockerfile(folder, tmp_path / "ctx", env_manager="local")
    lines = (built.path / "requirements.txt").read_text().splitlines()
    assert "./model/wheels/extra_lib-1.0-py3-none-any.whl" in lines
    assert (built.path / "model" / "wheels" / "extra_lib-1.0-py3-none-any.whl").is_file()
    assert (built.path / "constraints.txt").read_text() == "numpy<3\n"
    found = parse_dockerfile(built.dockerfile.read_text())
    assert f"python -m pip install -r requirements.txt -c constraints.txt ./wheels/{built.recipe.wheel}" in \
        arguments(found, "RUN")
    assert "requirements.txt build-requirements.txt constraints.txt /opt/ml/" in arguments(found, "COPY")
    assert not (built.path / "model" / "code" / "__pycache__").exists()
    assert str(tmp_path) not in (built.path / "requirements.txt").read_text()  # no path of this machine


def _wheel_with(source: Path, target: Path, name: str, data: bytes) -> Path:
    import zipfile

    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            copy.writestr(info, original.read(info))
        copy.writestr(name, data)
    return target


def test_the_wheel_mlcask_runtime_wheel_names_goes_in_checked(model_dir, context, tmp_path, monkeypatch):
    source = context.path / "wheels" / context.recipe.wheel
    named = _wheel_with(source, tmp_path / "mlcask-0.1.0-py3-none-any.whl", "mlcask/_release.txt", b"release")
    monkeypatch.setenv("MLCASK_RUNTIME_WHEEL", str(named))
    built = generate_dockerfile(model_dir, tmp_path / "ctx")
    assert (built.path / "wheels" / named.name).read_bytes() == named.read_bytes()
    digest = hashlib.sha256(named.read_bytes()).hexdigest()
    assert f'echo "{digest}  wheels/{named.name}" | sha256sum --check --strict -' in arguments(
        parse_dockerfile(built.dockerfile.read_text()), "RUN")
    (tmp_path / "bad").mkdir()
    keyed = _wheel_with(source, tmp_path / "bad" / "mlcask-0.1.0-py3-none-any.whl", "mlcask/deploy.txt",
                        PRIVATE_KEY.encode())
    monkeypatch.setenv("MLCASK_RUNTIME_WHEEL", str(keyed))
    with pytest.raises(SecretsError, match="mlcask/deploy.txt: it holds a private key"):
        generate_dockerfile(model_dir, tmp_path / "ctx2")


# -- no secrets -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, content, reason", [
    ("deploy/key.txt", PRIVATE_KEY, "private key"),
    ("tls.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n", "private key"),
    (".netrc", "machine pypi.org login bob password hunter2\n", "credential file"),
    (".pypirc", "[pypi]\npassword = hunter2\n", "credential file"),
    (".aws/credentials", "[default]\naws_access_key_id = AKIA\n", "credential store"),
    (".env", "API_TOKEN=hunter2\n", "credential file"),
    ("notes/settings.ini", "aws_secret_access_key = abc\n", "AWS secret"),
])
def test_secret_files_in_the_model_are_refused(model_dir, tmp_path, name, content, reason):
    folder = copy_model(model_dir, tmp_path / "m")
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(content)
    with pytest.raises(SecretsError, match=reason) as refused:
        generate_dockerfile(folder, tmp_path / "ctx")
    assert name in str(refused.value) and "run time" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    assert not (tmp_path / "ctx").exists()
    assert not any(p.name.startswith(".ctx.") for p in tmp_path.iterdir())


def test_credentials_in_urls_are_refused(model_dir, tmp_path):
    folder = copy_model(model_dir, tmp_path / "m")
    requirements = (folder / "requirements.txt").read_text()
    (folder / "requirements.txt").write_text(
        requirements + "private-lib @ https://bob:hunter2@pkgs.example.com/private_lib-1.0-py3-none-any.whl\n")
    resign(folder)
    with pytest.raises(SecretsError, match=r"https://\*\*\*@pkgs\.example\.com") as refused:
        generate_dockerfile(folder, tmp_path / "ctx")
    assert "hunter2" not in str(refused.value) and "bob" not in str(refused.value)
    with pytest.raises(SecretsError, match="user name or password"):
        generate_dockerfile(model_dir, tmp_path / "ctx", index_url="https://bob:hunter2@pypi.example.com/simple")
    with pytest.raises(SecretsError, match="user name or password"):
        generate_dockerfile(model_dir, tmp_path / "ctx", extra_index_urls=("https://token@pypi.example.com/simple",))
    assert not (tmp_path / "ctx").exists()
    fine = generate_dockerfile(model_dir, tmp_path / "ctx", index_url="https://pypi.example.com/simple")
    runs = arguments(parse_dockerfile(fine.dockerfile.read_text()), "RUN")
    assert any("--index-url https://pypi.example.com/simple" in run for run in runs)


def test_host_pip_configuration_stays_out(model_dir, tmp_path, monkeypatch):
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = https://bob:hunter2@pypi.corp.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.setenv("PIP_INDEX_URL", "https://bob:hunter2@pypi.corp.example/simple")
    monkeypatch.setenv("UV_INDEX_URL", "https://bob:hunter2@pypi.corp.example/simple")
    built = generate_dockerfile(model_dir, tmp_path / "ctx")
    for path in built.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"hunter2" not in data and b"pypi.corp" not in data, path
            assert path.name not in ("pip.conf", "uv.toml", "signing.key")


# -- determinism and the output folder ----------------------------------------------------------------
def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_input_same_bytes(model_dir, context, tmp_path):
    again = generate_dockerfile(model_dir, tmp_path / "again")
    assert tree(again.path) == tree(context.path)
    (again.path / "Dockerfile").write_text("# Generated by mlcask, then edited\n")
    replaced = generate_dockerfile(model_dir, tmp_path / "again")  # a context generated before is replaced
    assert tree(replaced.path) == tree(context.path)


def test_output_directory_checks(model_dir, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InvalidArgumentError, match="not empty and holds no context mlcask generated"):
        generate_dockerfile(model_dir, foreign)
    assert (foreign / "notes.txt").read_text() == "mine"
    with pytest.raises(InvalidArgumentError, match="inside the model folder"):
        generate_dockerfile(model_dir, model_dir / "ctx")
    with pytest.raises(InvalidArgumentError, match="mlcask home folder"):
        generate_dockerfile(model_dir, Path(os.environ["MLCASK_HOME"]) / "ctx")
    with pytest.raises(InvalidArgumentError, match="not a model folder"):
        generate_dockerfile(tmp_path, tmp_path / "ctx")


# -- the commands -------------------------------------------------------------------------------------
def test_generate_dockerfile_command(model_dir, context, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(generate_dockerfile_command, ["-m", str(model_dir), "-d", str(out),
                                                              "--env-manager", "uv"])
    assert result.exit_code == 0, result.output
    assert f"to {out}" in result.output and "docker build -t NAME" in result.output
    assert tree(out) == tree(context.path)
    uri = CliRunner().invoke(generate_dockerfile_command, ["-m", model_dir.as_uri(), "-d", str(tmp_path / "uri")])
    assert uri.exit_code == 0, uri.output
    assert tree(tmp_path / "uri") == tree(context.path)


def test_registry_and_run_uris_resolve_through_the_store(tracking_state, tmp_path, iris):
    import mlcask

    X, model = iris
    uri = tracking_state(f"sqlite:///{tmp_path / 'store.db'}", tmp_path / "artifacts")
    with mlcask.start_run() as run:
        mlcask.sklearn.log_model(model, name="iris", registered_model_name="iris-docker", input_example=X.head(2))
    for model_uri in (f"runs:/{run.info.run_id}/iris", "models:/iris-docker/1"):
        out = tmp_path / model_uri.replace(":", "").replace("/", "_")
        result = CliRunner().invoke(generate_dockerfile_command, ["-m", model_uri, "-d", str(out),
                                                                  "--tracking-uri", uri])
        assert result.exit_code == 0, result.output
        assert (out / "model" / "model.skops").is_file() and (out / "model" / "mlcask-manifest.json").is_file()
    missing = CliRunner().invoke(generate_dockerfile_command, ["-m", "models:/iris-docker/1", "-d",
                                                               str(tmp_path / "x"), "--tracking-uri",
                                                               f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 1 and "none.db" in missing.output and not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("extra, message", [
    (["--enable-mlserver"], "v2 inference protocol"),
    (["--mlflow-home", "/src/mlflow"], "installs the running mlcask from its wheel"),
    (["--install-java"], "has no Java"),
    (["--install-mlflow"], "serves with mlcask's runtime"),
])
def test_mlflow_options_that_do_not_apply_are_refused(model_dir, tmp_path, extra, message):
    out = tmp_path / "ctx"
    for command, where in ((generate_dockerfile_command, ["-d", str(out)]), (build_docker_command, [])):
        result = CliRunner().invoke(command, ["-m", str(model_dir), *where, *extra])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()


def test_commands_need_a_model_and_name_the_problem(model_dir, tmp_path):
    missing = CliRunner().invoke(generate_dockerfile_command, ["-d", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "--model-uri" in missing.output and "serves one model" in missing.output
    nowhere = CliRunner().invoke(generate_dockerfile_command, ["-m", str(tmp_path / "nothing"), "-d",
                                                               str(tmp_path / "x")])
    assert nowhere.exit_code == 1 and "No model at" in nowhere.output
    conda = CliRunner().invoke(generate_dockerfile_command, ["-m", str(model_dir), "-d", str(tmp_path / "x"),
                                                             "--env-manager", "conda"])
    assert conda.exit_code == 1 and "'conda' is not supported" in conda.output


def test_build_docker_without_a_daemon_says_so(model_dir, tmp_path, monkeypatch):
    """The real docker client (when installed) pointed at a socket nobody listens on."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    result = CliRunner().invoke(build_docker_command, ["-m", str(model_dir), "-n", "mlcask-test-image"])
    assert result.exit_code == 1
    if shutil.which("docker") is None:
        assert "docker command is not installed" in result.output
    else:
        assert "Docker's daemon is not reachable" in result.output and "no-daemon.sock" in result.output
    assert "generate-dockerfile -m URI -d DIR" in result.output


def _docker_ready(image: str) -> str | None:
    """Why a real build cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        return "no Docker daemon answers `docker info`"
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
        return None
    pulled = subprocess.run(["docker", "pull", image], capture_output=True, text=True, timeout=300)
    return None if pulled.returncode == 0 else f"the base image {image} cannot be pulled: {pulled.stderr.strip()}"


@pytest.mark.slow
def test_build_docker_builds_and_serves_where_a_daemon_exists(model_dir, iris):
    # MLCASK_TEST_DOCKER_BASE_IMAGE: a local stand-in for python:X.Y-slim where Docker Hub is out of reach
    given = os.environ.get("MLCASK_TEST_DOCKER_BASE_IMAGE")
    base = given or f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"
    why = _docker_ready(base)
    if why:
        pytest.skip(f"needs a Docker daemon and the base image: {why}")
    name = f"mlcask-test-{os.getpid()}"
    result = CliRunner().invoke(build_docker_command, ["-m", str(model_dir), "-n", name,
                                                       *(["--base-image", given] if given else [])])
    try:
        assert result.exit_code == 0, result.output
        assert "Step" in result.output or "DONE" in result.output  # docker's own output, passed on
        inspect = json.loads(subprocess.run(["docker", "image", "inspect", name], capture_output=True, text=True,
                                            check=True).stdout)[0]["Config"]
        assert inspect["User"] == "10001:10001" and "8080/tcp" in inspect["ExposedPorts"]
        _score_container(name, iris)
    finally:
        subprocess.run(["docker", "image", "rm", "-f", name], capture_output=True)


def _score_container(image: str, iris) -> None:
    port = free_port()
    container = subprocess.run(["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8080", image],
                               capture_output=True, text=True, check=True).stdout.strip()
    try:
        _score(f"http://127.0.0.1:{port}", iris, deadline=time.monotonic() + 60)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def _score(base: str, iris, deadline: float, process: subprocess.Popen | None = None) -> None:
    X, model = iris
    while True:
        try:
            with urllib.request.urlopen(f"{base}/ping", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        assert process is None or process.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not answer /ping"
        time.sleep(0.2)
    body = json.dumps({"dataframe_split": X.head(5).to_dict(orient="split")}).encode()
    request = urllib.request.Request(f"{base}/invocations", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        predictions = json.loads(answer.read())["predictions"]
    assert predictions == model.predict(X.head(5)).tolist()


# -- the recipe, executed without Docker -----------------------------------------------------------------
class Recipe:
    """Executes a Dockerfile's steps on this machine: COPY into a root folder, RUN with sh in WORKDIR, the
    image's Python replaced by a fresh venv of the running Python (first on PATH, as the image's is)."""

    def __init__(self, context: Path, root: Path, venv: Path) -> None:
        self.context, self.root, self.workdir = context, root, root
        self.env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["MLCASK_HOME"] = str(root / "home")  # as in the image: no key of this machine
        self.ran: list[str] = []

    def inside(self, path: str) -> Path:
        return self.root / path.lstrip("/") if path.startswith("/") else self.workdir / path

    def step(self, keyword: str, args: str) -> None:
        if keyword == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                # UV_NO_CACHE / PIP_NO_CACHE_DIR keep caches out of image layers; here the machine's
                # download cache is reused so the test stays fast.
                if key not in ("UV_NO_CACHE", "PIP_NO_CACHE_DIR"):
                    self.env[key] = value
        elif keyword == "WORKDIR":
            self.workdir = self.inside(args)
            self.workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            *sources, target = args.split()
            for source in sources:
                destination = self.inside(target) / Path(source).name if target.endswith("/") and not \
                    source.endswith("/") else self.inside(target)
                if (self.context / source).is_dir():
                    shutil.copytree(self.context / source, destination, dirs_exist_ok=True)
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.context / source, destination)
        elif keyword == "RUN" and not args.startswith("useradd"):  # a system user: not made on this machine
            done = subprocess.run(["sh", "-c", args], cwd=self.workdir, env=self.env, capture_output=True, text=True)
            assert done.returncode == 0, f"RUN {args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            self.ran.append(args)


@pytest.mark.slow
def test_the_recipe_installs_verifies_and_serves_without_docker(context, instructions, tmp_path, iris):
    venv = tmp_path / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    recipe = Recipe(context.path, tmp_path / "root", venv)
    for keyword, args in instructions:
        recipe.step(keyword, args)
    assert any(run.startswith("echo ") and "sha256sum" in run for run in recipe.ran)
    assert "mlcask models verify -m model" in recipe.ran
    assert any(run.startswith("uv pip install") and "requirements.txt" in run for run in recipe.ran)
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import mlcask, sklearn; print(mlcask.__file__, "
                                "sklearn.__version__)"], capture_output=True, text=True, env=recipe.env, check=True)
    assert str(venv) in installed.stdout  # served by the wheel installed in the recipe's Python, not this checkout
    saved = next(line for line in (context.path / "requirements.txt").read_text().split() if "scikit-learn" in line)
    assert installed.stdout.split()[1] == saved.split("==")[1]

    port = free_port()
    entrypoint = exec_form(arguments(instructions, "ENTRYPOINT")[0])
    argv = [recipe.inside(part).as_posix() if part == "/opt/ml/model" else part for part in entrypoint]
    argv[argv.index("--port") + 1], argv[argv.index("--host") + 1] = str(port), "127.0.0.1"
    server = subprocess.Popen(argv, cwd=recipe.workdir, env=recipe.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    try:
        _score(f"http://127.0.0.1:{port}", iris, deadline=time.monotonic() + 30, process=server)
        health = exec_form(arguments(instructions, "HEALTHCHECK")[0].partition(" CMD ")[2])
        probe = [part.replace(":8080/", f":{port}/") for part in health]
        assert subprocess.run(probe, env=recipe.env, timeout=10).returncode == 0
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=10)


def test_importing_the_package_is_cheap():
    code = ("import sys, mlcask.deployments as d; assert 'mlcask.deployments.docker' not in sys.modules; "
            "assert d.generate_dockerfile.__module__ == 'mlcask.deployments.docker'; "
            "assert 'mlcask.environments' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0
