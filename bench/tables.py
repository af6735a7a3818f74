"""The result tables the benchmarks print: aligned text, or Markdown for the README."""

from __future__ import annotations

__all__ = ["render_table"]


def render_table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    """``rows`` under ``headers``: a Markdown table (``|`` in cells escaped) or columns padded to width."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        return "\n".join(lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    return "\n".join(lines + ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows])
