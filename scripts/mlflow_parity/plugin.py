"""The pytest plugin of the harness (``-p mlflow_parity.plugin``), loaded before collection.

- installs the ``mlflow -> mlcask`` alias (:mod:`alias`) as soon as it is imported;
- sets aside, before they run, the tests :func:`rules.pre_run_set_aside` names;
- limits each test phase to ``PARITY_TIMEOUT`` seconds (SIGALRM), with a faulthandler hard stop;
- records what each test patched (``mock.patch`` / ``monkeypatch.setattr``) and which placeholders it
  used;
- writes one JSON line per test (and per collection error) to ``PARITY_RESULTS``.
"""

from __future__ import annotations

import faulthandler
import inspect
import json
import os
import re
import signal
import traceback
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from mlflow_parity import alias, placeholders, rules

alias.install()

TIMEOUT = float(os.environ.get("PARITY_TIMEOUT", "60"))
RESULTS = os.environ.get("PARITY_RESULTS")
PATCHED: list[str] = []  # patched during the current phase
FIXTURE_PATCHED: list[str] = []  # patched by the current test's fixtures (setup)


class ParityTimeout(Exception):
    """A test phase ran past PARITY_TIMEOUT seconds."""


def _write(record: dict[str, Any]) -> None:
    if not RESULTS:
        return
    with open(RESULTS, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, default=str) + "\n")


# --- what a test patches -----------------------------------------------------------------------

def _describe_target(getter: Any, attribute: str) -> str | None:
    args = getattr(getter, "args", None)
    if args and isinstance(args[0], str):  # mock.patch("a.b.c"): partial(resolve_name, "a.b")
        return f"{args[0]}.{attribute}"
    try:
        target = getter()
    except Exception:
        return None
    if inspect.ismodule(target):
        return f"{target.__name__}.{attribute}"
    if inspect.isclass(target):
        return f"{target.__module__}.{target.__qualname__}.{attribute}"
    return f"{type(target).__module__}.{type(target).__qualname__}.{attribute}"


_original_enter = mock._patch.__enter__


def _recording_enter(self: Any) -> Any:
    name = _describe_target(self.getter, self.attribute)
    if name and name.startswith(("mlflow", "mlcask")):
        PATCHED.append(name)
    return _original_enter(self)


mock._patch.__enter__ = _recording_enter
_original_setattr = pytest.MonkeyPatch.setattr


def _recording_setattr(self: Any, target: Any, name: Any = None, *args: Any, **kwargs: Any) -> Any:
    described = None
    if isinstance(target, str):
        described = target if name is None or not isinstance(name, str) else f"{target}.{name}"
    elif isinstance(name, str) and (inspect.ismodule(target) or inspect.isclass(target)):
        owner = target.__name__ if inspect.ismodule(target) else f"{target.__module__}.{target.__qualname__}"
        described = f"{owner}.{name}"
    if described and described.startswith(("mlflow", "mlcask")):
        PATCHED.append(described)
    if name is None:
        return _original_setattr(self, target, *args, **kwargs)
    return _original_setattr(self, target, name, *args, **kwargs)


pytest.MonkeyPatch.setattr = _recording_setattr


# --- describing an exception -------------------------------------------------------------------

def _owner(obj: Any) -> tuple[str | None, str | None]:
    if inspect.ismodule(obj):
        return obj.__name__, "module"
    cls = obj if inspect.isclass(obj) else type(obj)
    module = getattr(cls, "__module__", "") or ""
    return f"{module}.{cls.__qualname__}", "class" if inspect.isclass(obj) else "instance"


def describe(exc: BaseException, tests_root: str, depth: int = 0) -> dict[str, Any]:
    """A JSON-able description of ``exc``: type, message, frames, attribute/import details, cause."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__)[-25:]:
        frames.append({"file": frame.filename, "line": frame.lineno, "func": frame.name,
                       "in_tests": frame.filename.startswith(tests_root), "code": (frame.line or "")[:200]})
    info: dict[str, Any] = {"type": type(exc).__name__, "module": type(exc).__module__,
                            "message": str(exc)[:4000], "frames": frames}
    if isinstance(exc, AttributeError) and getattr(exc, "name", None) is not None:
        info["attr_name"] = exc.name
        owner, kind = _owner(exc.obj)
        info["attr_owner"], info["attr_kind"] = owner, kind
    if isinstance(exc, ImportError):
        info["import_name"] = exc.name
    cause = exc.__cause__ or exc.__context__
    if cause is not None and depth < 2:
        info["cause"] = describe(cause, tests_root, depth + 1)
    return info


# --- collection ----------------------------------------------------------------------------------

def _source(item: pytest.Item) -> str:
    function = getattr(item, "function", None)
    try:
        return inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        return ""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        why = rules.pre_run_set_aside(item.nodeid, _source(item), list(getattr(item, "fixturenames", [])))
        if why:
            item.add_marker(pytest.mark.skip(reason=rules.SET_ASIDE_MARK + why))
    _write({"event": "collected", "nodeids": [item.nodeid for item in items],
            "import_time_placeholders": sorted({t[0] for t in placeholders.IMPORT_TIME})})
    placeholders.IMPORT_TIME.clear()
    for module, name, dotted, category in placeholders.LOST_DEFINITIONS:
        if name.startswith("test"):
            path = module.replace(".", "/") + ".py"
            _write({"event": "result", "nodeid": f"{path}::{name}", "outcome": "failed", "phase": "collect",
                    "touched": [(dotted, category, "its definition failed")], "patched": []})
    placeholders.LOST_DEFINITIONS.clear()


def pytest_exception_interact(node: Any, call: pytest.CallInfo, report: Any) -> None:
    if isinstance(node, pytest.Item) or call.excinfo is None:
        return
    _write({"event": "collect-error", "nodeid": node.nodeid, "outcome": "collect-error", "phase": "collect",
            "exc": describe(call.excinfo.value, str(node.config.rootpath / "tests")),
            "longrepr": str(report.longrepr)[-3000:]})


# --- running -------------------------------------------------------------------------------------

def _placeholder_params(item: pytest.Item) -> list[tuple[str, str, str]]:
    """Placeholders among the test's parameters (made while the module was imported)."""
    found = []
    callspec = getattr(item, "callspec", None)
    values = list(callspec.params.values()) if callspec is not None else []
    while values:
        value = values.pop()
        if placeholders.is_placeholder(value):
            found.append((value._parity_name, value._parity_category, "a parameter of the test"))
        elif isinstance(value, (list, tuple, set)):
            values.extend(value)
        elif isinstance(value, dict):
            values.extend(value.keys())
            values.extend(value.values())
    return found


def _placeholders_named_in(item: pytest.Item) -> list[tuple[str, str, str]]:
    """Placeholders among the module globals that the test's source names."""
    source = _source(item)
    module = getattr(item, "module", None)
    found = []
    for name, value in vars(module).items() if module is not None else ():
        if placeholders.is_placeholder(value) and re.search(rf"\b{re.escape(name)}\b", source):
            found.append((value._parity_name, value._parity_category, "named by the test"))
    return found


def _alarm(signum: int, frame: Any) -> None:
    raise ParityTimeout(f"test phase ran past {TIMEOUT:g} s")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    item._parity = {"nodeid": item.nodeid, "outcome": "passed", "phase": None, "touched": [],
                    "patched": [], "timeout_s": TIMEOUT}
    _write({"event": "start", "nodeid": item.nodeid})
    PATCHED.clear()
    FIXTURE_PATCHED.clear()
    placeholders.start_test()
    faulthandler.dump_traceback_later(TIMEOUT * 3 + 30, exit=True)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()
        record = item._parity
        record["touched"], fixture_touched = placeholders.end_test()
        record["touched"] += _placeholder_params(item) + record.pop("named_touched", [])
        record["fixture_touched"] = sorted({t[0] for t in fixture_touched})
        record["patched"] = list(PATCHED)
        record["fixture_patched"] = list(FIXTURE_PATCHED)
        record["event"] = "result"
        _write(record)


def _timed(phase: str):
    @pytest.hookimpl(wrapper=True)
    def wrapper(item: pytest.Item):
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
        if phase == "call":
            FIXTURE_PATCHED.extend(PATCHED)
            PATCHED.clear()
            placeholders.start_call()
        try:
            return (yield)
        finally:
            placeholders.end_call()
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    wrapper.__name__ = f"pytest_runtest_{phase}"
    return wrapper


pytest_runtest_setup = _timed("setup")
pytest_runtest_call = _timed("call")
pytest_runtest_teardown = _timed("teardown")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    record = getattr(item, "_parity", None)
    if record is None or record["outcome"] not in ("passed",):
        return report
    if hasattr(report, "wasxfail"):
        record["outcome"] = "xpassed" if report.passed else "xfailed"
        record["phase"] = call.when
    elif report.skipped:
        record["outcome"] = "skipped"
        record["phase"] = call.when
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        record["skip_reason"] = reason.removeprefix("Skipped: ")
    elif report.failed:
        record["outcome"] = "failed" if call.when == "call" else "error"
        record["phase"] = call.when
        record["longrepr"] = report.longreprtext[-3000:]
        if call.excinfo is not None:
            value = call.excinfo.value
            record["exc"] = describe(value, str(Path(str(item.config.rootpath)) / "tests"))
            record["timeout"] = isinstance(value, ParityTimeout)
            if "_PlaceholderMeta" in record["exc"]["message"] or isinstance(value, TypeError):
                record["named_touched"] = _placeholders_named_in(item)
    return report
