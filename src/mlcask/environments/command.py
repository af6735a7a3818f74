"""The command line that serves a model with an environment's Python."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mlcask.environments.build import PreparedEnvironment


def serve_argv(prepared: PreparedEnvironment | None, model_dir: str | os.PathLike, *, host: str, port: int,
               extra: Sequence[str] = ()) -> list[str]:
    """``python -m mlcask models serve -m <dir> --host H --port P <extra>`` with the environment's Python.

    Parameters
    ----------
    prepared : PreparedEnvironment or None
        The model's environment; None serves with this process's Python (``sys.executable``).
    model_dir : str or os.PathLike
        The local model folder (made absolute).
    host, port : str, int
        Where the server listens.
    extra : sequence of str
        More ``models serve`` options (``--workers 2``, ``--name m``); never ``--env-manager``.

    Returns
    -------
    list of str
        The argv. In an environment, Python runs isolated (``-I``): neither ``PYTHONPATH`` nor
        the user's site-packages nor the working folder mix other packages in.
    """
    if any(arg == "--env-manager" or arg.startswith("--env-manager=") for arg in extra):
        raise ValueError("serve_argv runs the server inside the environment: drop --env-manager from extra.")
    python = [str(prepared.python), "-I"] if prepared is not None else [sys.executable]
    return [*python, "-m", "mlcask", "models", "serve", "-m", str(Path(model_dir).absolute()), "--host", host,
            "--port", str(int(port)), *extra]
