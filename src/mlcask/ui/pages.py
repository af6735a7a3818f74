"""The routes that serve the web UI: the page at ``/`` and its files under ``/static-files``.

``/`` (and ``/index.html``) answers the single page; the browser routes by the URL's
fragment, in MLflow's forms (``/#/experiments/<id>/runs/<run_id>``, ``/#/models/<name>``, ...).
``/static-files/<path>`` serves the files of ``static/`` (MLflow's UI uses the same prefix, and
the server's basic-auth lets it through without credentials: nothing there is private). The
page runs only its own same-origin scripts under a strict Content-Security-Policy: no inline
script or style, no ``eval``, Trusted Types required for every HTML sink (so markup built from
data cannot become script), no frames but same-origin sandboxed previews.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "UI_CSP", "routes"]

STATIC_DIR = Path(__file__).with_name("static")

UI_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
          "font-src 'self'; connect-src 'self'; frame-src 'self'; child-src 'self'; worker-src 'self'; "
          "manifest-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'self'; require-trusted-types-for 'script'; trusted-types 'none'")

_PAGE_HEADERS = {"content-security-policy": UI_CSP, "cache-control": "no-cache"}


class _UiFiles(StaticFiles):
    """The UI's static files, revalidated on each load (ETag), under the UI's CSP."""

    async def get_response(self, path: str, scope) -> Response:  # type: ignore[override]
        response = await super().get_response(path, scope)
        response.headers.setdefault("cache-control", "no-cache")
        response.headers["content-security-policy"] = UI_CSP
        return response


async def _index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_PAGE_HEADERS)


def routes() -> list[BaseRoute]:
    """The UI's routes: ``/``, ``/index.html`` and the ``/static-files`` mount."""
    return [Route("/", _index, methods=["GET", "HEAD"]), Route("/index.html", _index, methods=["GET", "HEAD"]),
            Mount("/static-files", app=_UiFiles(directory=STATIC_DIR), name="static-files")]
