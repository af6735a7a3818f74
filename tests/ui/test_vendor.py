"""The vendored browser libraries are the locked npm releases, unchanged since
``scripts/refresh-ui-vendor`` copied them, and the page loads nothing from anywhere else."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "mlcask" / "ui" / "static"
VENDOR = STATIC / "vendor"


def _record() -> dict:
    return json.loads((VENDOR / "VENDOR.json").read_text())


def test_vendored_files_match_their_record():
    for package, entry in _record().items():
        for name, digest in entry["files"].items():
            data = (VENDOR / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{name} ({package}) was edited after vendoring"
        assert (VENDOR / "LICENSES" / f"{package}.txt").is_file(), f"the licence of {package} is missing"


def test_vendored_versions_are_the_locked_ones():
    manifest = json.loads((ROOT / "ui-vendor" / "package.json").read_text())["dependencies"]
    lock = json.loads((ROOT / "ui-vendor" / "package-lock.json").read_text())["packages"]
    for package, entry in _record().items():
        assert manifest[package] == entry["version"], f"{package}: package.json pins {manifest[package]}"
        assert lock[f"node_modules/{package}"]["version"] == entry["version"], f"{package}: lock file differs"
    assert set(_record()) == set(manifest)


def test_no_bare_or_remote_imports():
    """Browsers resolve only relative module paths without an import map (which the CSP would block)."""
    pattern = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"'\s]+)["']""")
    for file in [*STATIC.glob("js/*.js"), *VENDOR.glob("*.mjs")]:
        for target in pattern.findall(file.read_text()):
            assert target.startswith(("./", "../")), f"{file.name} imports {target!r}"


def test_the_page_references_only_its_own_files():
    html = (STATIC / "index.html").read_text()
    for url in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
        assert url.startswith(("/static-files/", "#", "data:")), url
        if url.startswith("/static-files/"):
            assert (STATIC / url.removeprefix("/static-files/")).is_file(), url
    assert "<style" not in html and "style=" not in html and "<script>" not in html


_STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}/[^"']+)["']""", re.M | re.S)


def _static_imports(file: Path) -> set[Path]:
    return {(file.parent / target).resolve() for target in _STATIC_IMPORT.findall(file.read_text())}


def _closure(start: Path) -> set[Path]:
    seen, todo = set(), [start.resolve()]
    while todo:
        file = todo.pop()
        if file not in seen:
            seen.add(file)
            todo.extend(_static_imports(file))
    return seen


def test_each_pages_preload_list_is_what_it_imports():
    """app.js preloads each page module's imports when the page is first opened (index.html the shell's):
    the lists name exactly the modules the page pulls in beyond those."""
    html = (STATIC / "index.html").read_text()
    preloaded = {(STATIC / url.removeprefix("/static-files/")).resolve()
                 for url in re.findall(r'rel="modulepreload" href="([^"]+)"', html)}
    shell = _closure(STATIC / "js" / "app.js")
    assert shell <= preloaded | {(STATIC / "js" / "app.js").resolve()}, "index.html misses a shell module"
    app = (STATIC / "js" / "app.js").read_text()
    pages = dict(re.findall(r'(\w+): \(\) => import\("\./(\w[\w-]*\.js)"\)', app))
    lists = re.search(r"PAGE_IMPORTS = \{(.*?)\n\};", app, re.S).group(1)
    declared = {name: {(STATIC / f).resolve() for f in re.findall(r'"([^"]+)"', files)}
                for name, files in re.findall(r"(\w+): \[([^\]]*)\]", lists)}
    assert set(declared) == set(pages)
    for name, module in pages.items():
        needed = _closure(STATIC / "js" / module) - shell - preloaded - {(STATIC / "js" / module).resolve()}
        assert declared[name] == needed, f"PAGE_IMPORTS.{name}: expected {sorted(p.name for p in needed)}"
