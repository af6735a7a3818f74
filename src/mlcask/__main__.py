"""``python -m mlcask``: the ``mlcask`` command (for environments where its script is not on PATH)."""

from mlcask.cli import cli

if __name__ == "__main__":
    cli(prog_name="mlcask")
