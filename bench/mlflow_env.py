"""The real-MLflow virtual environment used by interop tests and benchmarks.

MLflow is never a dependency of mlcask. Tests and benchmarks that compare against it
run it in a separate venv built from ``tests/interop/requirements-mlflow.txt`` and
cached (by the hash of that file) under ``~/.cache/mlcask`` or ``$MLCASK_MLFLOW_VENV``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "tests" / "interop" / "requirements-mlflow.txt"
DEFAULT_VENV = Path.home() / ".cache" / "mlcask" / "mlflow-3.17.2"


def venv_dir() -> Path:
    return Path(os.environ.get("MLCASK_MLFLOW_VENV", DEFAULT_VENV))


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_mlflow_python() -> Path:
    """Return the MLflow venv's python, building the venv first if it is missing or stale."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    marker = venv / ".mlcask-requirements-sha256"
    digest = _requirements_digest()
    if python.exists() and marker.exists() and marker.read_text().strip() == digest:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and marker.exists() and marker.read_text().strip() == digest:
            return python
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-r", str(REQUIREMENTS)],
            check=True,
        )
        marker.write_text(digest + "\n")
    return python


def run_in_mlflow(code: str, *, cwd: str | os.PathLike | None = None,
                  pythonpath: list[str | os.PathLike] | None = None,
                  timeout: float = 900) -> str:
    """Run ``code`` with the MLflow venv's python and return its stdout.

    ``pythonpath`` adds folders to ``PYTHONPATH`` (for example mlcask's ``src`` when a
    custom model pickled against mlcask is loaded). Raises ``RuntimeError`` with the
    child's stderr when it fails.
    """
    python = ensure_mlflow_python()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = "sqlite:///" + str(Path(cwd or ".").resolve() / "mlflow-interop.db")
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    proc = subprocess.run(
        [str(python), "-c", textwrap.dedent(code)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"MLflow child failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc.stdout


if __name__ == "__main__":
    print(ensure_mlflow_python())
