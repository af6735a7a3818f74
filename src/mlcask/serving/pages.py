"""The browser side of the scoring server: the test page at ``/`` and Swagger UI at ``/docs``.

``page_routes(served)`` returns the routes the app mounts:

- ``GET /``: the model's test page (name, flavors, URI, signature, a request editor
  prefilled with the saved serving input example, a Send button that posts it to
  ``/invocations`` and shows the response and its latency). Plain HTML, one small
  script and one stylesheet from ``static/``; nothing is fetched from outside.
- ``GET /docs``: Swagger UI pointed at ``/openapi.json``, from Swagger UI 5's own dist
  files as shipped by the ``swagger-ui-py`` package (served at ``/docs/assets``).
- ``/static/...``: the test page's script and stylesheet.

Everything taken from the model (names, column names, URIs, examples) is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")

# The only Swagger UI dist files served (the dist's own index.html and
# swagger-initializer.js point at the public petstore, so they are not).
SWAGGER_FILES = frozenset({
    "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
    "favicon-16x16.png", "favicon-32x32.png", "oauth2-redirect.html", "LICENSE",
})

# The test page runs only its own script; it may only talk to this server.
TEST_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
# Swagger UI sets inline styles and shows data: images; it too talks only to this server.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


def swagger_ui_dir() -> Path | None:
    """The folder of Swagger UI 5's dist files (shipped by the ``swagger-ui-py`` package), or None.

    Swagger UI 5 is needed for the OpenAPI 3.1 document the server describes itself with
    (4.x refuses 3.1). The package is located, not imported: only its static files are used.
    """
    import importlib.util

    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "static"
        if (path / "swagger-ui-bundle.js").is_file() and (path / "swagger-ui.css").is_file():
            return path
    return None


class _AllowListedFiles(StaticFiles):
    """StaticFiles that serves only the named files of its folder."""

    def __init__(self, *, directory: Path, allowed: frozenset[str]) -> None:
        super().__init__(directory=directory, check_dir=False)
        self._allowed = allowed

    async def get_response(self, path: str, scope: Any) -> Response:
        if path not in self._allowed:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


# --------------------------------------------------------------------------- model facts


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def _metadata(served: Any) -> Any:
    meta = _attr(served, "metadata", "model_meta", "meta")
    if meta is None:
        pyfunc = _attr(served, "model", "pyfunc_model")
        meta = getattr(pyfunc, "metadata", None)
    return meta


def _schema_list(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, list) else None


def _signature_parts(signature: Any) -> tuple[list | None, list | None, list | None]:
    if signature is None:
        return None, None, None
    d = signature.to_dict()
    return _schema_list(d.get("inputs")), _schema_list(d.get("outputs")), _schema_list(d.get("params"))


def type_label(spec: dict[str, Any]) -> str:
    """A short human label for one schema entry's type (``double``, ``array<long>``, ``tensor float32 (-1, 4)``)."""
    kind = spec.get("type")
    if kind == "tensor":
        ts = spec.get("tensor-spec") or {}
        shape = ts.get("shape")
        shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")" if shape else ""
        return f"tensor {ts.get('dtype', '?')} {shape_text}".strip()
    if kind == "array":
        return f"array<{type_label(spec.get('items') or {})}>"
    if kind == "map":
        return f"map<string, {type_label(spec.get('values') or {})}>"
    if kind == "object":
        props = spec.get("properties") or {}
        inner = ", ".join(f"{k}{'' if v.get('required', True) else '?'}: {type_label(v)}" for k, v in props.items())
        return "object{" + inner + "}"
    if kind == "sparkml_vector":
        return "SparkML vector"
    return str(kind if kind is not None else "?")


_PLACEHOLDERS: dict[str, Any] = {
    "double": 0.0, "float": 0.0, "integer": 0, "long": 0, "boolean": False, "string": "",
    "binary": "", "datetime": "2024-01-01T00:00:00", "any": None,
}
_TENSOR_ZERO = {"bool": False, "str": "", "object": "", "bytes": ""}


def _placeholder(spec: dict[str, Any]) -> Any:
    kind = spec.get("type")
    if kind == "array":
        return [_placeholder(spec.get("items") or {})]
    if kind == "object":
        return {k: _placeholder(v) for k, v in (spec.get("properties") or {}).items()}
    if kind == "map":
        return {"key": _placeholder(spec.get("values") or {})}
    if kind == "sparkml_vector":
        return [0.0]
    return _PLACEHOLDERS.get(str(kind), None)


def _tensor_zeros(spec: dict[str, Any]) -> Any:
    ts = spec.get("tensor-spec") or {}
    dtype = str(ts.get("dtype", "float64"))
    zero: Any = _TENSOR_ZERO.get(dtype, 0 if dtype.startswith(("int", "uint")) else 0.0)
    value = zero
    for dim in reversed(list(ts.get("shape") or [])):
        value = [value] * (dim if isinstance(dim, int) and dim > 0 else 1)
    return value


def skeleton_request(inputs: list | None, params: list | None) -> dict[str, Any] | None:
    """A request body for ``/invocations`` that fits the signature, with placeholder values."""
    body: dict[str, Any]
    if not inputs:
        body = {"inputs": [[0.0]]} if inputs is None else {"inputs": []}
    elif inputs[0].get("type") == "tensor":
        if all(s.get("name") for s in inputs) and len(inputs) > 1:
            body = {"inputs": {s["name"]: _tensor_zeros(s) for s in inputs}}
        else:
            body = {"inputs": _tensor_zeros(inputs[0])}
    elif all(s.get("name") is not None for s in inputs):
        body = {"dataframe_split": {"columns": [s["name"] for s in inputs],
                                    "data": [[_placeholder(s) for s in inputs]]}}
    else:
        body = {"dataframe_split": {"data": [[_placeholder(s) for s in inputs]]}}
    if params:
        body["params"] = {p["name"]: p.get("default") for p in params if "name" in p}
    return body


def pretty_json(value: Any, indent: int = 0) -> str:
    """JSON indented by two spaces, except that a list of scalars (a row) stays on one line."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {pretty_json(v, indent + 2)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + pretty_json(v, indent + 2) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _pretty(text: str) -> str:
    try:
        return pretty_json(json.loads(text))
    except (TypeError, ValueError):
        return text


def _example_text(served: Any, meta: Any) -> str | None:
    text = _attr(served, "serving_input_example", "serving_input", "input_example_json", "example")
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8", "replace")
    if isinstance(text, str):
        return _pretty(text)
    if isinstance(text, (dict, list)):
        return pretty_json(text)
    return None


def _flavor_items(flavors: Any) -> list[tuple[str, str]]:
    items = []
    for name, conf in flavors.items():
        conf = conf if isinstance(conf, dict) else {}
        version = next((f"{k[:-len('_version')]} {v}" for k, v in conf.items()
                        if k.endswith("_version") and k != "python_version" and v), "")
        detail = conf.get("model_class") or conf.get("loader_module") or version
        items.append((str(name), str(detail)))
    return items


# --------------------------------------------------------------------------- rendering

e = html.escape


def _schema_table(title: str, specs: list | None, *, kind: str) -> str:
    if specs is None:
        return f'<section class="schema"><h3>{e(title)}</h3><p class="muted">Not in the signature.</p></section>'
    if not specs:
        return f'<section class="schema"><h3>{e(title)}</h3><p class="muted">None.</p></section>'
    if kind == "params":
        head = "<tr><th>Name</th><th>Type</th><th>Default</th></tr>"
        rows = "".join(
            f"<tr><td><code>{e(str(s.get('name')))}</code></td>"
            f"<td>{e(type_label(s))}{e(' shape ' + str(tuple(s['shape']))) if s.get('shape') else ''}</td>"
            f"<td><code>{e(json.dumps(s.get('default'), ensure_ascii=False))}</code></td></tr>"
            for s in specs
        )
    else:
        head = "<tr><th>Name</th><th>Type</th><th>Required</th></tr>"
        rows = "".join(
            f"<tr><td>{'<code>' + e(str(s['name'])) + '</code>' if s.get('name') is not None else '<i>unnamed</i>'}"
            f"</td><td>{e(type_label(s))}</td><td>{'yes' if s.get('required', True) else 'no'}</td></tr>"
            for s in specs
        )
    table = f'<table data-schema="{e(kind)}"><thead>{head}</thead><tbody>{rows}</tbody></table>'
    return f'<section class="schema"><h3>{e(title)}</h3>{table}</section>'


class _TestPage:
    """The model facts for the test page, worked out once."""

    def __init__(self, served: Any) -> None:
        meta = _metadata(served)
        self.uri = str(_attr(served, "uri", "model_uri", default=""))
        name = _attr(served, "name", "model_name")
        if not name:
            name = self.uri.rstrip("/").rsplit("/", 1)[-1] or "model"
        self.name = str(name)
        self.flavors = _flavor_items(_attr(served, "flavors") or getattr(meta, "flavors", None) or {})
        signature = _attr(served, "signature") or getattr(meta, "signature", None)
        self.inputs, self.outputs, self.params = _signature_parts(signature)
        self.has_signature = signature is not None
        example = _example_text(served, meta)
        self.example_source = "the saved input example" if example is not None else "a skeleton built from the signature"
        if example is None:
            example = pretty_json(skeleton_request(self.inputs, self.params))
        self.example = example
        self.model_id = getattr(meta, "model_id", None) or getattr(meta, "model_uuid", None)
        self.run_id = getattr(meta, "run_id", None)

    def render(self, base: str) -> str:
        flavors = "".join(
            f'<li><code class="flavor">{e(n)}</code>{" <span class=muted>" + e(d) + "</span>" if d else ""}</li>'
            for n, d in self.flavors
        ) or '<li class="muted">none</li>'
        facts = [("URI", self.uri)]
        if self.model_id:
            facts.append(("Model ID", str(self.model_id)))
        if self.run_id:
            facts.append(("Run ID", str(self.run_id)))
        facts_html = "".join(f"<dt>{e(k)}</dt><dd><code>{e(v)}</code></dd>" for k, v in facts)
        if self.has_signature:
            signature = (_schema_table("Inputs", self.inputs, kind="inputs")
                         + _schema_table("Outputs", self.outputs, kind="outputs")
                         + _schema_table("Params", self.params, kind="params"))
        else:
            signature = '<p class="muted">This model was saved without a signature: inputs are not checked.</p>'
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(self.name)} · mlcask model</title>
<link rel="stylesheet" href="{e(base)}/static/test-page.css">
<link rel="icon" href="data:,">
<script src="{e(base)}/static/test-page.js" defer></script>
</head>
<body data-invocations="{e(base)}/invocations">
<header>
  <div class="brand">mlcask · scoring server</div>
  <nav><a href="{e(base)}/docs">API docs (Swagger)</a><a href="{e(base)}/openapi.json">openapi.json</a></nav>
</header>
<main>
<section class="card" id="model">
  <h1 id="model-name">{e(self.name)}</h1>
  <h2 class="sub">Flavors</h2>
  <ul id="flavors" class="flavors">{flavors}</ul>
  <dl class="facts">{facts_html}</dl>
</section>
<section class="card" id="signature">
  <h2>Signature</h2>
  <div class="schemas">{signature}</div>
</section>
<section class="card" id="try">
  <h2>Test the model</h2>
  <p class="muted">POST <code>{e(base)}/invocations</code> with <code>Content-Type: application/json</code>.
  Prefilled with {e(self.example_source)}.</p>
  <label for="request" class="label">Request body</label>
  <textarea id="request" spellcheck="false" rows="14">{e(self.example)}</textarea>
  <textarea id="original-request" hidden>{e(self.example)}</textarea>
  <div class="actions">
    <button id="send" type="button" class="primary">Send</button>
    <button id="format" type="button">Format JSON</button>
    <button id="reset" type="button">Reset</button>
    <span id="local-error" class="error-inline" role="alert"></span>
  </div>
  <div id="result" class="result" hidden>
    <div class="status-line">
      <span id="status" class="status"></span>
      <span class="latency-box">latency <span id="latency"></span> ms</span>
    </div>
    <div id="error" class="error" role="alert" hidden></div>
    <label for="response" class="label">Response</label>
    <pre id="response"></pre>
  </div>
</section>
</main>
<footer class="muted">Served by mlcask. From a shell: <code>curl -X POST -H 'Content-Type: application/json'
 --data @request.json <span id="origin"></span>{e(base)}/invocations</code></footer>
</body>
</html>
"""


_DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API docs</title>
<link rel="stylesheet" href="{base}/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="{base}/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="{base}/static/docs.css">
</head>
<body data-openapi="{base}/openapi.json">
<div class="docs-bar"><a href="{base}/">&larr; Test page</a> <span>{title}</span></div>
<div id="swagger-ui"></div>
<script src="{base}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{base}/static/docs.js"></script>
</body>
</html>
"""


def _base(request: Request) -> str:
    return str(request.scope.get("root_path") or "").rstrip("/")


def page_routes(served: Any) -> list[Any]:
    """Starlette routes for the model's test page, Swagger UI and their static assets."""
    page = _TestPage(served)
    swagger_dir = swagger_ui_dir()

    async def test_page(request: Request) -> Response:
        return HTMLResponse(page.render(_base(request)), headers={
            "Content-Security-Policy": TEST_PAGE_CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
        })

    async def docs(request: Request) -> Response:
        if swagger_dir is None:
            return HTMLResponse(
                "<!doctype html><title>API docs unavailable</title><p>Swagger UI is not installed: "
                "<code>pip install 'mlcask[serving]'</code> (it ships in the <code>swagger-ui-py</code> "
                f'package). The API description is at <a href="{e(_base(request))}/openapi.json">openapi.json</a>.',
                status_code=503)
        return HTMLResponse(_DOCS_HTML.format(base=e(_base(request)), title=e(page.name)), headers={
            "Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
        })

    routes: list[Any] = [
        Route("/", test_page, methods=["GET"], name="test_page"),
        Route("/docs", docs, methods=["GET"], name="swagger_ui"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="page_static"),
    ]
    if swagger_dir is not None:
        routes.append(Mount("/docs/assets", app=_AllowListedFiles(directory=swagger_dir, allowed=SWAGGER_FILES),
                            name="swagger_assets"))
    return routes
