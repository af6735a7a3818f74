"""The Docker build context of one model: the model folder, mlcask's runtime wheel, the model's
requirements, a Dockerfile and a ``.dockerignore``, written to a folder.

Layout (paths inside the context)::

    Dockerfile, .dockerignore
    requirements.txt          the model's requirement lines (as the model's environment reads them)
    build-requirements.txt    python_env.yaml's build_dependencies, when there are any
    constraints.txt           the lines of its -c files, when there are any
    wheels/mlcask-<v>-py3-none-any.whl    the running mlcask's runtime
    model/                    a copy of the model folder (files 0644, folders 0755)
    model.sha256              checksums of model/, only for a folder without an integrity manifest

Nothing else of this machine goes in: not its pip or uv configuration (index URLs, tokens),
not MLCASK_HOME (the signing key). Everything that would carry a secret is refused
first (:mod:`mlcask.deployments.docker.secrets`). The context is built in a temporary
folder beside the target and renamed into place, so a failure leaves nothing half-written;
the same model and options give the same bytes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mlcask.deployments.docker import dockerfile as df
from mlcask.deployments.docker.secrets import (
    SecretsError,
    check_files,
    check_requirement_lines,
    secret_by_content,
    secret_by_name,
)
from mlcask.exceptions import InvalidArgumentError

__all__ = ["BuildContext", "base_image_for", "installer_for", "write_context"]

DEFAULT_OUTPUT_DIRECTORY = "mlcask-dockerfile"
MODEL = "model"
MLCASK_MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class BuildContext:
    """A written build context.

    Attributes
    ----------
    path : Path
        The context folder (give it to ``docker build``).
    dockerfile : Path
        Its Dockerfile.
    model : Path
        The model folder it was made from.
    recipe : ImageRecipe
        What the Dockerfile was rendered from.
    """

    path: Path
    dockerfile: Path
    model: Path
    recipe: df.ImageRecipe


def installer_for(env_manager: str | None) -> str:
    """The installer the image uses for ``env_manager``: ``"uv"`` for uv (the default), ``"pip"`` for
    virtualenv and local (the image's own Python, as MLflow's images do)."""
    from mlcask.environments import check_env_manager

    if env_manager is None:
        return "uv"
    return "uv" if check_env_manager(env_manager) == "uv" else "pip"


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def base_image_for(python_version: str | None, base_image: str | None) -> str:
    """``base_image`` if given, else ``python:X.Y-slim`` of the model's Python (the running one's when
    the model names none). A Python older than mlcask's runtime needs is refused, naming both."""
    if base_image is not None:
        return base_image
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    if _minor(version) < MLCASK_MIN_PYTHON:
        need = ".".join(map(str, MLCASK_MIN_PYTHON))
        raise InvalidArgumentError(
            f"The model was saved with Python {version}, but mlcask's serving runtime needs Python >= {need}: "
            f"give --base-image python:{need}-slim (or newer) to serve it with a newer Python.")
    major, minor = _minor(version)
    return f"python:{major}.{minor}-slim"


def _check_output(output: Path, model_dir: Path) -> None:
    from mlcask.models.home import refuse_mlcask_home
    from mlcask.utils.paths import refuse_overlap

    advice = "Choose an output directory outside it."
    refuse_mlcask_home(output, "The output directory", advice)
    refuse_overlap(output, model_dir, "The output directory", "the model folder '{folder}'", advice)
    if output.exists() and not output.is_dir():
        raise InvalidArgumentError(f"The output directory '{output}' is a file; give a folder.")
    if output.is_dir() and any(output.iterdir()):
        dockerfile = output / "Dockerfile"
        if not (dockerfile.is_file() and dockerfile.read_text(errors="replace").startswith(df.HEADER)):
            raise InvalidArgumentError(
                f"The output directory '{output}' is not empty and holds no context mlcask generated; give a new "
                "or empty folder (a context mlcask generated there before is replaced).")


def _model_files(model_dir: Path) -> list[tuple[str, Path]]:
    """The model's files (name inside the folder, real path), links followed only inside it."""
    from mlcask.utils.paths import folder_entries

    root = model_dir.resolve()
    entries = folder_entries(model_dir, f"The model folder '{model_dir}'", ignore=lambda name: name == "__pycache__")
    return [(entry.path, root / entry.source) for entry in entries if not entry.is_dir]


def _check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        problems = [f"{info.filename}: {reason}" for info in archive.infolist()
                    if (reason := secret_by_name(Path(info.filename))
                        or (secret_by_content(archive.read(info)) if info.file_size <= 1 << 20 else None))]
    if problems:
        raise SecretsError(f"Refusing to put mlcask's runtime wheel '{wheel}' into an image: {'; '.join(problems)}. "
                           "Remove these files from the mlcask package folder.")


def _localised(line: str, root: Path) -> str:
    """A requirement naming a file of the model folder (an absolute path) as ``./model/<path>``."""
    path = Path(line)
    if path.is_absolute() and path.is_relative_to(root):
        return f"./{MODEL}/{path.relative_to(root).as_posix()}"
    return line


def _requirement_texts(model_dir: Path) -> tuple[str, str, str, str | None]:
    """(requirements.txt, build-requirements.txt, constraints.txt, the model's Python) of the context."""
    from mlcask.environments import installed_requirements, read_environment_spec

    spec = read_environment_spec(model_dir)
    where = f"the environment files of the model folder '{model_dir}'"
    check_requirement_lines([*spec.requirements, *spec.constraints, *spec.build_dependencies], where)
    root = model_dir.resolve()
    texts = ["".join(f"{_localised(line, root)}\n" for line in lines)
             for lines in (installed_requirements(spec), spec.build_dependencies, spec.constraints)]
    return texts[0], texts[1], texts[2], spec.python_version


def _check_model(model_dir: Path) -> bool:
    """Check the model loads as a pyfunc and matches its manifest; whether it has one."""
    from mlcask.models.integrity import MANIFEST_FILE_NAME, verify_model
    from mlcask.models.model import Model

    if "python_function" not in Model.load(model_dir).flavors:
        raise InvalidArgumentError(f"The model in '{model_dir}' has no python_function flavor, which "
                                   "`mlcask models serve` needs: an image cannot serve it.")
    if not (model_dir / MANIFEST_FILE_NAME).is_file():
        return False
    verify_model(model_dir)  # a model that does not match its manifest is not packaged
    return True


def _check_indexes(index_url: str | None, extra_index_urls: tuple[str, ...]) -> None:
    urls = [url for url in (index_url, *extra_index_urls) if url is not None]
    for url in urls:
        if not re.fullmatch(r"https?://[^\s'\"\\]+", url):
            raise InvalidArgumentError(f"Package index {url!r} is not an http(s):// URL; give the index's address "
                                       "(https://host/simple).")
    check_requirement_lines(urls, "--index-url/--extra-index-url")


def _uv_version() -> str | None:
    try:
        return importlib.metadata.version("uv")
    except importlib.metadata.PackageNotFoundError:
        return None


def _write(path: Path, data: bytes | Path) -> None:
    """Write ``data`` (bytes, or the file to copy) to the new file ``path``, mode 0644."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    if isinstance(data, Path):
        shutil.copyfile(data, path)
    else:
        path.write_bytes(data)
    os.chmod(path, 0o644)


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _checksums(files: list[tuple[str, Path]]) -> bytes:
    for relative, _ in files:
        if "\n" in relative or "\\" in relative:
            raise InvalidArgumentError(f"The model file {relative!r} has a newline or backslash in its name, which "
                                       "a checksum list cannot hold; rename it.")
    return "".join(f"{_sha256(path)}  {MODEL}/{relative}\n" for relative, path in files).encode()


def _fill(folder: Path, recipe: df.ImageRecipe, files: list[tuple[str, Path]], texts: tuple[str, str, str],
          wheel: Path) -> None:
    """Write everything of the context into the new, empty ``folder``."""
    _write(folder / df.WHEELS / recipe.wheel, wheel)
    for name, text in zip((df.REQUIREMENTS, df.BUILD_REQUIREMENTS, df.CONSTRAINTS), texts):
        if name == df.REQUIREMENTS or text:
            _write(folder / name, text.encode())
    (folder / MODEL).mkdir(mode=0o755)
    for relative, source in files:
        _write(folder / MODEL / relative, source)
    if not recipe.manifest:
        _write(folder / df.CHECKSUMS, _checksums(files))
    _write(folder / ".dockerignore", df.render_dockerignore(recipe).encode())
    _write(folder / "Dockerfile", df.render_dockerfile(recipe).encode())
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            os.chmod(path, 0o755)


def _install(folder: Path, output: Path) -> None:
    """Put the finished ``folder`` at ``output``, replacing a context generated there before."""
    old = output.with_name(f".{output.name}.mlcask-old-{os.getpid()}")
    if output.exists():
        os.rename(output, old)
    try:
        os.rename(folder, output)
    except BaseException:
        if old.exists():
            os.rename(old, output)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _recipe(python_version: str | None, texts: tuple[str, str, str], wheel: Path, *, manifest: bool,
            env_manager: str | None, base_image: str | None, index_url: str | None,
            extra_index_urls: tuple[str, ...]) -> df.ImageRecipe:
    installer = installer_for(env_manager)
    try:
        return df.ImageRecipe(
            base_image=base_image_for(python_version, base_image), wheel=wheel.name, wheel_sha256=_sha256(wheel),
            mlcask_version=importlib.metadata.version("mlcask"), installer=installer,
            uv_version=_uv_version() if installer == "uv" else None, build_requirements=bool(texts[1]),
            constraints=bool(texts[2]), manifest=manifest, index_url=index_url, extra_index_urls=extra_index_urls)
    except ValueError as exc:
        raise InvalidArgumentError(f"Cannot write a Dockerfile: {exc}") from None


def write_context(model_dir: str | os.PathLike, output_directory: str | os.PathLike, wheel: Path, *,
                  env_manager: str | None = None, base_image: str | None = None, index_url: str | None = None,
                  extra_index_urls: tuple[str, ...] = ()) -> BuildContext:
    """Write the build context serving the model in ``model_dir`` to ``output_directory``.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A local model folder.
    output_directory : str or os.PathLike
        Where the context goes: a new or empty folder, or one holding a context generated before
        (replaced).
    wheel : Path
        mlcask's runtime wheel (:func:`mlcask.environments.runtime_wheel`).
    env_manager : str, optional
        ``"uv"`` (default) installs with uv; ``"virtualenv"`` and ``"local"`` with pip.
    base_image : str, optional
        The ``FROM`` image; default ``python:X.Y-slim`` of the model's Python.
    index_url, extra_index_urls : str, tuple of str, optional
        Package indexes for the installs (no credentials in them).

    Returns
    -------
    BuildContext
        Where the context and its Dockerfile are, and the recipe.

    Raises
    ------
    SecretsError
        When the model folder, its requirements, an index URL or the wheel would carry a secret.
    InvalidArgumentError
        For an unusable model, output directory, base image or env manager.
    """
    model_dir, output = Path(model_dir), Path(output_directory).absolute()
    if not (model_dir / "MLmodel").is_file():
        raise InvalidArgumentError(f"'{model_dir}' is not a model folder (it has no MLmodel file).")
    _check_output(output, model_dir)
    _check_indexes(index_url, extra_index_urls)
    files = _model_files(model_dir)
    check_files(files, f"the model folder '{model_dir}'")  # before the manifest: a secret is the first news
    manifest = _check_model(model_dir)
    _check_wheel(wheel)
    *texts, python_version = _requirement_texts(model_dir)
    recipe = _recipe(python_version, tuple(texts), wheel, manifest=manifest, env_manager=env_manager,
                     base_image=base_image, index_url=index_url, extra_index_urls=extra_index_urls)
    output.parent.mkdir(parents=True, exist_ok=True)
    folder = output.with_name(f".{output.name}.mlcask-partial-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o755)
    try:
        _fill(folder, recipe, files, tuple(texts), wheel)
        _install(folder, output)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return BuildContext(path=output, dockerfile=output / "Dockerfile", model=model_dir, recipe=recipe)
