"""What every ``mlcask`` command group shares: tables, ``--output json``, paging through a
store's results, and errors shown as one line (exit 2 for what the user typed, 1 for the rest)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from mlcask.exceptions import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MlcaskException,
)
from mlcask.utils import iter_pages

__all__ = ["Group", "all_pages", "echo_json", "option_errors", "output_option", "table", "when"]

output_option = click.option(
    "--output", type=click.Choice(["table", "json"]), default="table", show_default=True,
    help="table, or json: a list of objects with the field names of MLflow's REST API.")

# Store errors that are about a value the user typed: shown as "Invalid value for '<option>'" (exit 2).
_ABOUT_THE_VALUE = (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS)


class Group(click.Group):
    """Shows an mlcask error (or a failed file operation) as one line and exit code 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlcaskException as exc:
            raise click.ClickException(exc.cli_message) from None
        except OSError as exc:
            where = f": '{exc.filename}'" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


def when(ms: int | None) -> str:
    """A timestamp in milliseconds as local time, ``-`` for none."""
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as an aligned text table with a header rule."""
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def echo_json(value: Any) -> None:
    """``value`` as indented JSON on stdout."""
    click.echo(json.dumps(value, indent=2))


def all_pages(fetch: Callable[[str | None], Any], limit: int | None = None) -> list[Any]:
    """Every item of a paged search (``fetch(page_token)`` returns a list with ``.token``), at most ``limit``."""
    return list(itertools.islice(iter_pages(fetch), limit))


@contextmanager
def option_errors(option: str, not_found: str | None = None) -> Iterator[None]:
    """Report a store's refusal of the value of ``option`` as a usage error (exit 2) naming it.

    ``not_found``, when given, replaces the store's message for an unknown id.
    """
    try:
        yield
    except MlcaskException as exc:
        if exc.error_code not in _ABOUT_THE_VALUE:
            raise
        message = not_found if not_found and exc.error_code == RESOURCE_DOES_NOT_EXIST else exc.message
        raise click.BadParameter(message, param_hint=f"'{option}'") from None
