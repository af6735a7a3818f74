"""A model's Python environment: ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``.

Requirements are inferred in-process from the model object itself: the flavor's own
library plus every package that a class reachable from the model comes from, each
pinned to the installed version. MLflow instead starts a subprocess that loads the
model and watches imports, which costs seconds; walking the object graph costs
microseconds and finds the same packages for the estimators we support.
"""

from __future__ import annotations

import dis
import functools
import importlib.metadata as metadata
import os
import sys
import types
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from mlcask.exceptions import InvalidArgumentError, ModelFormatError
from mlcask.utils.bounded_yaml import load_yaml
from mlcask.version import MLFLOW_FORMAT_VERSION

REQUIREMENTS_FILE_NAME = "requirements.txt"
CONSTRAINTS_FILE_NAME = "constraints.txt"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
CONDA_ENV_FILE_NAME = "conda.yaml"
MAX_CONDA_FILE_BYTES = 1 << 20

PYTHON_VERSION = "{}.{}.{}".format(*sys.version_info[:3])
_BUILD_PACKAGES = ("pip", "setuptools", "wheel")
_MAX_GRAPH_NODES = 2000

# Models must load in MLflow itself (Azure ML, Databricks, SageMaker deploy that way),
# so, as MLflow does, the environment names the MLflow release whose format we write.
MLFLOW_REQUIREMENT = f"mlflow=={MLFLOW_FORMAT_VERSION}"


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


# Import names that differ from their distribution's name, for the libraries models
# are made of; anything else is looked up in the installed distributions' metadata.
_KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "skops": "skops",
    "yaml": "pyyaml",
    "PIL": "pillow",
    "cv2": "opencv-python",
    "skimage": "scikit-image",
}


@functools.cache
def distribution_for_module(top_level_module: str) -> str | None:
    """The installed distribution providing ``top_level_module`` (``sklearn`` -> ``scikit-learn``)."""
    if top_level_module in sys.stdlib_module_names or top_level_module == "builtins":
        return None
    if top_level_module in _KNOWN_DISTRIBUTIONS:
        known = _KNOWN_DISTRIBUTIONS[top_level_module]
        return known if known and package_version(known) else None
    # The common case first: the module's name is its distribution's name.
    for candidate in (top_level_module, top_level_module.replace("_", "-")):
        try:
            metadata.version(candidate)
            return candidate
        except metadata.PackageNotFoundError:
            pass
    dists = _module_distributions().get(top_level_module)
    return dists[0] if dists else None


@functools.cache
def package_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pinned(distribution: str) -> str:
    """``name==installed-version``, or the bare name when it is not installed."""
    version = package_version(distribution)
    return f"{distribution}=={version}" if version else distribution


def _children(obj: Any) -> Iterable[Any]:
    if isinstance(obj, dict):
        yield from obj.values()
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from obj
    elif not isinstance(obj, (type, types.ModuleType, types.FunctionType)):
        # Estimators keep their parts (pipeline steps, base estimators, fitted
        # sub-models) as attributes, and so do custom PythonModels.
        yield from getattr(obj, "__dict__", {}).values()


def _code_names(code: types.CodeType) -> Iterable[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def _modules_used_by_function(function: types.FunctionType) -> set[str]:
    """Modules a user-written function reaches through its globals (``np``, ``pd``) or imports
    in its body (``import sklearn`` inside ``predict``)."""
    found: set[str] = set()
    for name in _code_names(function.__code__):
        value = function.__globals__.get(name)
        if isinstance(value, types.ModuleType):
            found.add(value.__name__.split(".")[0])
        elif value is not None and not isinstance(value, (str, bytes, int, float, bool)):
            found.add((getattr(value, "__module__", None) or "builtins").split(".")[0])
    for name in _imported_names(function.__code__):
        if distribution_for_module(name) is not None:
            found.add(name)
    return found


def _imported_names(code: types.CodeType) -> Iterable[str]:
    """Top-level modules the code imports in its body (``import sklearn`` inside a function)."""
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME" and isinstance(instruction.argval, str):
            yield instruction.argval.split(".")[0]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _imported_names(const)


def _modules_used_by_methods(cls: type) -> set[str]:
    """Modules that a user-written class's methods use (see :func:`_modules_used_by_function`)."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__ in ("builtins",) or klass.__module__.startswith("mlcask."):
            continue
        for attribute in vars(klass).values():
            function = getattr(attribute, "__func__", attribute)
            if isinstance(function, types.FunctionType):
                found |= _modules_used_by_function(function)
    return found


def modules_of(objects: Iterable[Any], *, include_code: bool = False) -> set[str]:
    """Top-level module names of the classes (and functions) reachable from ``objects``.

    With ``include_code``, also the modules that the methods of classes defined outside
    any installed package (a notebook's or a script's) use through their globals.
    """
    seen: set[int] = set()
    found: set[str] = set()
    stack = list(objects)
    while stack and len(seen) < _MAX_GRAPH_NODES:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            module = getattr(obj, "__module__", None) or ""
            if include_code and isinstance(obj, types.FunctionType) \
                    and distribution_for_module(module.split(".")[0]) is None:
                found |= _modules_used_by_function(obj)
        else:
            module = type(obj).__module__
            if include_code and distribution_for_module(module.split(".")[0]) is None:
                found |= _modules_used_by_methods(type(obj))
        if module and module != "__main__":
            found.add(module.split(".")[0])
        stack.extend(_children(obj))
    return found


def infer_pip_requirements(flavor_packages: Sequence[str], model_objects: Iterable[Any] = (),
                           *, include_code: bool = False) -> list[str]:
    """Pinned requirements: the flavor's packages, then those the model's classes come from
    (and with ``include_code``, those a user-written class's methods use)."""
    names: list[str] = []
    for dist in flavor_packages:
        if dist not in names:
            names.append(dist)
    for module in sorted(modules_of(model_objects, include_code=include_code)):
        if module in ("mlcask", "mlflow"):
            continue
        dist = distribution_for_module(module)
        if dist and dist not in names:
            names.append(dist)
    return [pinned(name) for name in names]


# -- parsing what users give ---------------------------------------------------------
def _requirement_name(requirement: str) -> str:
    name = requirement.strip()
    for stop in "=<>!~;[ @":
        name = name.split(stop)[0]
    return name.strip().lower().replace("_", "-")


def _read_requirements_file(path: Path, constraints: list[str], seen: set[Path]) -> list[str]:
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    if not path.is_file():
        raise InvalidArgumentError(f"Requirements file '{path}' does not exist.")
    requirements: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            requirements += _read_requirements_file(path.parent / line.split(None, 1)[1], constraints, seen)
        elif line.startswith(("-c ", "--constraint ")):
            constraints += _read_requirements_file(path.parent / line.split(None, 1)[1], [], seen)
        else:
            requirements.append(line)
    return requirements


def parse_pip_requirements(requirements: str | os.PathLike | Sequence[str]) -> tuple[list[str], list[str]]:
    """Requirements and constraints from a list of strings or a requirements file path."""
    constraints: list[str] = []
    if isinstance(requirements, (str, os.PathLike)):
        return _read_requirements_file(Path(requirements), constraints, set()), constraints
    if not isinstance(requirements, Sequence) or not all(isinstance(r, str) for r in requirements):
        raise InvalidArgumentError(
            "pip_requirements must be a list of requirement strings or the path to a "
            f"requirements file, got {type(requirements).__name__}."
        )
    result: list[str] = []
    for item in requirements:
        item = item.strip()
        if item.startswith(("-r ", "-c ")):
            nested, nested_constraints = parse_pip_requirements(item[3:].strip())
            (constraints if item.startswith("-c") else result).extend(nested)
            constraints += nested_constraints
        elif item:
            result.append(item)
    return result, constraints


def _deduplicate(requirements: list[str]) -> list[str]:
    """Later duplicates of a package replace nothing: the first mention wins unless the
    later one pins a version and the first did not."""
    by_name: dict[str, str] = {}
    for requirement in requirements:
        name = _requirement_name(requirement)
        if name not in by_name or by_name[name].lower().replace("_", "-") == name:
            by_name[name] = requirement
    return list(by_name.values())


def _with_mlflow(requirements: list[str]) -> list[str]:
    if any(_requirement_name(r) in ("mlflow", "mlflow-skinny") for r in requirements):
        return requirements
    return [MLFLOW_REQUIREMENT, *requirements]


# -- the three files -------------------------------------------------------------------
def _mlflow_conda_env(
    path: str | os.PathLike | None = None,
    additional_conda_deps: list[str] | None = None,
    additional_pip_deps: list[str] | None = None,
    additional_conda_channels: list[str] | None = None,
    install_mlflow: bool = True,
) -> dict[str, Any] | None:
    """A conda environment dict in MLflow's layout (written to ``path`` if given).

    Same arguments as MLflow's function of that name, so the seed's
    ``_mlflow_conda_env(additional_pip_deps=["xgboost==1.5.2"])`` works unchanged.
    """
    pip_deps = list(additional_pip_deps or [])
    if install_mlflow:
        pip_deps = _with_mlflow(pip_deps)
    conda_deps = [f"python={PYTHON_VERSION}", *(additional_conda_deps or [])]
    if pip_deps:
        pip_version = package_version("pip")
        conda_deps.append(f"pip<={pip_version}" if pip_version else "pip")
    env: dict[str, Any] = {
        "name": "mlflow-env",
        "channels": ["conda-forge", *(additional_conda_channels or [])],
        "dependencies": [*conda_deps, {"pip": pip_deps}],
    }
    if path is not None:
        Path(path).write_text(yaml.safe_dump(env, default_flow_style=False))
        return None
    return env


def pip_deps_of_conda_env(conda_env: dict[str, Any]) -> list[str]:
    for dep in conda_env.get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            return list(dep["pip"] or [])
    return []


def replace_pip_deps(conda_env: dict[str, Any], pip_deps: list[str]) -> dict[str, Any]:
    """``conda_env`` with its pip entry replaced in place (appended when it has none), the rest as given."""
    deps = list(conda_env.get("dependencies") or [])
    at = next((i for i, d in enumerate(deps) if isinstance(d, dict) and "pip" in d), None)
    if at is None:
        deps.append({"pip": pip_deps})
    else:
        deps[at] = {"pip": pip_deps}
    return {**conda_env, "dependencies": deps}


class Environment:
    """What a saved model needs: its conda env, pip requirements and pip constraints."""

    def __init__(self, conda_env: dict[str, Any], requirements: list[str], constraints: list[str]):
        self.conda_env = conda_env
        self.requirements = requirements
        self.constraints = constraints

    @classmethod
    def resolve(
        cls,
        default_requirements: list[str],
        *,
        conda_env: dict[str, Any] | str | os.PathLike | None = None,
        pip_requirements: str | os.PathLike | Sequence[str] | None = None,
        extra_pip_requirements: str | os.PathLike | Sequence[str] | None = None,
    ) -> Environment:
        """Apply MLflow's precedence: ``conda_env``, else ``pip_requirements``, else the
        defaults plus ``extra_pip_requirements``. At most one of the three may be given."""
        given = [n for n, v in (("conda_env", conda_env), ("pip_requirements", pip_requirements),
                                ("extra_pip_requirements", extra_pip_requirements)) if v is not None]
        if len(given) > 1:
            raise InvalidArgumentError(
                f"Only one of conda_env, pip_requirements and extra_pip_requirements may be "
                f"given; got {', '.join(given)}."
            )
        if conda_env is not None:
            if isinstance(conda_env, (str, os.PathLike)):
                file = Path(conda_env)
                if not file.is_file():
                    raise InvalidArgumentError(f"conda_env file '{file}' does not exist.")
                try:
                    conda_env = load_yaml(file.read_bytes(), f"conda_env file '{file}'", MAX_CONDA_FILE_BYTES)
                except ModelFormatError as exc:
                    raise InvalidArgumentError(str(exc)) from None
            if not isinstance(conda_env, dict):
                raise InvalidArgumentError(
                    "conda_env must be a dict or the path to a conda YAML file, "
                    f"got {type(conda_env).__name__}."
                )
            requirements, constraints = parse_pip_requirements(pip_deps_of_conda_env(conda_env))
            requirements = _with_mlflow(requirements)
            if constraints:
                requirements.append(f"-c {CONSTRAINTS_FILE_NAME}")
            return cls(replace_pip_deps(conda_env, requirements), requirements, constraints)
        constraints: list[str] = []
        if pip_requirements is not None:
            requirements, constraints = parse_pip_requirements(pip_requirements)
        elif extra_pip_requirements is not None:
            extra, constraints = parse_pip_requirements(extra_pip_requirements)
            requirements = [*default_requirements, *extra]
        else:
            requirements = list(default_requirements)
        requirements = _deduplicate(_with_mlflow(requirements))
        if constraints:
            requirements.append(f"-c {CONSTRAINTS_FILE_NAME}")
        env = _mlflow_conda_env(additional_pip_deps=requirements, install_mlflow=False)
        assert env is not None
        return cls(env, requirements, constraints)

    def python_env(self) -> dict[str, Any]:
        build = []
        for package in _BUILD_PACKAGES:
            version = package_version(package) if package != "wheel" else None
            build.append(f"{package}=={version}" if version else package)
        return {
            "python": PYTHON_VERSION,
            "build_dependencies": build,
            "dependencies": [f"-r {REQUIREMENTS_FILE_NAME}"],
        }

    def write(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        (folder / CONDA_ENV_FILE_NAME).write_text(yaml.safe_dump(self.conda_env, default_flow_style=False))
        if self.constraints:
            (folder / CONSTRAINTS_FILE_NAME).write_text("\n".join(self.constraints))
        (folder / REQUIREMENTS_FILE_NAME).write_text("\n".join(self.requirements))
        (folder / PYTHON_ENV_FILE_NAME).write_text(
            yaml.safe_dump(self.python_env(), default_flow_style=False, sort_keys=False)
        )


ENV_FLAVOR_CONFIG = {"conda": CONDA_ENV_FILE_NAME, "virtualenv": PYTHON_ENV_FILE_NAME}
