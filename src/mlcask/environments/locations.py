"""Where model environments live: ``$MLCASK_HOME/envs/<key>``, their locks and the runtime wheels."""

from __future__ import annotations

from pathlib import Path

from mlcask.models.home import mlcask_home

ENVS = "envs"
LOCKS = "locks"
WHEELS = ("cache", "runtime-wheels")


def home_dir(home: Path | None = None) -> Path:
    """``home`` (default ``$MLCASK_HOME``, checked to be a private folder of yours), created mode 700."""
    folder = Path(home) if home is not None else mlcask_home()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def envs_dir(home: Path | None = None) -> Path:
    """The folder holding one sub-folder per built environment."""
    folder = home_dir(home) / ENVS
    folder.mkdir(exist_ok=True)
    return folder


def locks_dir(home: Path | None = None) -> Path:
    """The lock files of environments being built (one per key)."""
    folder = home_dir(home) / LOCKS
    folder.mkdir(exist_ok=True)
    return folder


def wheels_dir(home: Path | None = None) -> Path:
    """The runtime wheels packed from the running mlcask."""
    return home_dir(home).joinpath(*WHEELS)
