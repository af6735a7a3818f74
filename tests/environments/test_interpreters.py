"""Finding a local interpreter of a model's Python minor version."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from mlcask.environments import PythonNotFoundError, find_python


def _version_of(python) -> str:
    return subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_finds_the_running_minor_version():
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    python = find_python(f"{minor}.0")
    assert _version_of(python).startswith(minor + ".")
    assert _version_of(find_python(platform.python_version())) == platform.python_version()


def test_none_is_the_running_python():
    assert _version_of(find_python(None)) == platform.python_version()


def test_missing_version_is_named():
    with pytest.raises(PythonNotFoundError, match=r"No Python 3\.4 interpreter found for a model saved with "
                                                  r"Python 3\.4\.10.*uv python install 3\.4"):
        find_python("3.4.10")


def test_malformed_version():
    with pytest.raises(PythonNotFoundError, match="expected a Python version X.Y or X.Y.Z"):
        find_python("eleven")
