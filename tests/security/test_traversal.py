"""Every traversal payload of the corpus is refused by every API that takes a path, and none
reads or writes outside the store.

The store (SQLite database and artifacts) lives in ``<tmp>/store``; beside it are a secret
file and folder (``<tmp>/outside``) and the caller's own files (``<tmp>/src``). For each
API and payload the call must raise :class:`InvalidArgumentError`, and:

- no file or folder in ``<tmp>`` outside the store changes (paths, modes, sizes, mtimes,
  SHA-256 of contents);
- an audit hook (:func:`sys.addaudithook`) records every ``open``, listing, ``mkdir``,
  rename, removal, copy and temp-folder event during the call: none may touch the secret
  folder, ``/etc/passwd`` or ``~/.ssh``, none may write in ``<tmp>`` outside the store,
  and none may read there outside the store and the caller's files.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from mlcask.exceptions import InvalidArgumentError
from tests.security.traversal_payloads import PAYLOADS, aimed_at

SECRET = "TOP-SECRET-SENTINEL"
LEVELS = 5  # <tmp>/store/artifacts/<experiment>/<run>/artifacts: five folders up is <tmp>
ALL_PAYLOADS = PAYLOADS + aimed_at(LEVELS, "outside/secret.txt") + aimed_at(LEVELS, "outside/secret_dir")

# -- recording file system events ----------------------------------------------------------------
_WRITES = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.chmod", "os.chown",
           "os.truncate", "os.utime", "shutil.copytree", "shutil.rmtree", "shutil.move", "tempfile.mkdtemp",
           "tempfile.mkstemp"}
_READS = {"open", "os.listdir", "os.scandir", "shutil.copyfile"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_recorded: list[tuple[str, tuple]] | None = None


def _audit(event: str, args: tuple) -> None:
    if _recorded is not None and (event in _WRITES or event in _READS):
        _recorded.append((event, args))


if not getattr(sys, "_mlcask_traversal_audit", False):
    sys.addaudithook(_audit)  # hooks cannot be removed: this one only records while _recorded is a list
    sys._mlcask_traversal_audit = True


def _touched(event: str, args: tuple) -> list[tuple[str, bool]]:
    """(absolute path, written?) for each path an audit event names."""
    if event == "open":
        path, mode, flags = args
        if not isinstance(path, (str, bytes, os.PathLike)):
            return []
        written = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & _WRITE_FLAGS)
        return [(os.path.abspath(os.fsdecode(path)), written)]
    paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
    if event == "shutil.copyfile":
        return [(os.path.abspath(os.fsdecode(paths[0])), False), (os.path.abspath(os.fsdecode(paths[1])), True)]
    return [(os.path.abspath(os.fsdecode(p)), event in _WRITES) for p in paths]


def _inside(path: str, folder: Path | str) -> bool:
    folder = os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# -- the store and what lies beside it -------------------------------------------------------------
@dataclass
class World:
    base: Path
    store: Path
    outside: Path
    src: Path
    downloads: Path
    root: Path  # the run's artifact root
    run_id: str
    client: Any
    saves: list[int]

    def forbidden(self) -> list[str]:
        return [str(self.outside), "/etc/passwd", "/etc/shadow", os.path.expanduser("~/.ssh"), "/root/.ssh"]

    def violations(self, events: list[tuple[str, tuple]]) -> list[str]:
        found = []
        for event, args in events:
            for path, written in _touched(event, args):
                if any(_inside(path, f) for f in self.forbidden()):
                    found.append(f"{event} {path} (a forbidden path)")
                elif _inside(path, self.base) and not _inside(path, self.store) and (
                        written or not _inside(path, self.src)):
                    found.append(f"{event} {path} ({'written' if written else 'read'} outside the store)")
        return found

    def snapshot(self) -> dict[str, tuple]:
        state = {}
        for folder, dirs, files in os.walk(self.base):
            dirs[:] = [d for d in dirs if Path(folder, d) != self.store]
            for name in [*dirs, *files]:
                path = Path(folder, name)
                info = path.lstat()
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() \
                    else None
                state[str(path.relative_to(self.base))] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
        return state


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import mlcask
    from mlcask.tracking import context
    from tests.support import point_fluent_at, reset_fluent

    base = tmp_path_factory.mktemp("traversal")
    store, outside, src = base / "store", base / "outside", base / "src"
    for folder in (store, outside / "secret_dir", src / "folder"):
        folder.mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET)
    (outside / "secret_dir" / "secret.txt").write_text(SECRET)
    (src / "data.txt").write_text("data")
    (src / "folder" / "a.txt").write_text("a")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
            patch.delenv(name, raising=False)
        patch.setenv("MLCASK_ARTIFACT_ROOT", str(store / "artifacts"))
        point_fluent_at(f"sqlite:///{store}/t.db")
        try:
            run = mlcask.start_run()
            client = context.current_client()
            client.create_registered_model("victim")
            root = Path(run.info.artifact_uri)
            root.mkdir(parents=True, exist_ok=True)
            (root / "ok.txt").write_text("ok")
            assert (root / ("../" * LEVELS) / "outside/secret.txt").resolve() == (outside / "secret.txt").resolve()
            yield World(base, store, outside, src, base / "downloads", root, run.info.run_id, client, [0])
        finally:
            reset_fluent()


# -- the APIs ----------------------------------------------------------------------------------------
class _Figure:
    def savefig(self, path: Any) -> None:
        Path(path).write_bytes(b"\x89PNG")


def _python_model() -> Any:
    class Echo(_pyfunc().PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    return Echo()


def _save_with_artifact_name(w: World, payload: str) -> Any:
    w.saves[0] += 1
    return _pyfunc().save_model(w.store / "saved" / str(w.saves[0]), python_model=_python_model(),
                                    artifacts={payload: str(w.src / "data.txt")}, pip_requirements=[])


def _pyfunc() -> Any:
    import mlcask.pyfunc

    return mlcask.pyfunc


def _fluent(name: str) -> Callable[..., Any]:
    import mlcask

    return getattr(mlcask, name)


APIS: dict[str, Callable[[World, str], Any]] = {
    "log_artifact": lambda w, p: _fluent("log_artifact")(str(w.src / "data.txt"), p),
    "log_artifact(folder)": lambda w, p: _fluent("log_artifact")(str(w.src / "folder"), p),
    "log_artifacts": lambda w, p: _fluent("log_artifacts")(str(w.src), p),
    "log_text": lambda w, p: _fluent("log_text")("text", p),
    "log_dict": lambda w, p: _fluent("log_dict")({"a": 1}, p),
    "log_figure": lambda w, p: _fluent("log_figure")(_Figure(), p),
    "log_table": lambda w, p: _fluent("log_table")({"a": [1]}, f"{p}/table.json"),
    "get_artifact_uri": lambda w, p: _fluent("get_artifact_uri")(p),
    "client.list_artifacts": lambda w, p: w.client.list_artifacts(w.run_id, p),
    "client.download_artifacts": lambda w, p: w.client.download_artifacts(w.run_id, p),
    "client.download_artifacts(dst_path)": lambda w, p: w.client.download_artifacts(w.run_id, p, str(w.downloads)),
    "pyfunc.log_model(name)": lambda w, p: _pyfunc().log_model(name=p, python_model=_python_model(),
                                                               pip_requirements=[]),
    "pyfunc.save_model(artifacts={name: ...})": _save_with_artifact_name,
    "client.create_model_version(runs:/ source)": lambda w, p: w.client.create_model_version(
        "victim", f"runs:/{w.run_id}/{p}"),
    "client.create_model_version(local source, run_id)": lambda w, p: w.client.create_model_version(
        "victim", p, run_id=w.run_id),
    "register_model(runs:/)": lambda w, p: _fluent("register_model")(f"runs:/{w.run_id}/{p}", "victim"),
    "pyfunc.load_model(runs:/)": lambda w, p: _pyfunc().load_model(f"runs:/{w.run_id}/{p}"),
}


@dataclass
class Outcome:
    error: BaseException | None
    returned: Any
    violations: list[str]
    changed: list[str]

    @property
    def refused(self) -> bool:
        return isinstance(self.error, InvalidArgumentError) and not self.violations and not self.changed


def attempt(w: World, api: str, payload: str) -> Outcome:
    global _recorded
    before = w.snapshot()
    _recorded = []
    error = returned = None
    try:
        returned = APIS[api](w, payload)
    except Exception as exc:  # judged below: only InvalidArgumentError counts as a refusal
        error = exc
    finally:
        events, _recorded = _recorded, None
    after = w.snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    violations = w.violations(events)
    violations.extend(_secret_in(returned))
    return Outcome(error, returned, violations, changed)


def _secret_in(returned: Any) -> list[str]:
    """A returned path must not hold the secret (a download that escaped the store)."""
    if not isinstance(returned, (str, Path)):
        return []
    try:
        path = Path(returned)
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
        return [f"returned the secret at {f}" for f in files if SECRET.encode() in f.read_bytes()]
    except OSError:
        return []


def _payload_id(index: int, payload: str) -> str:
    shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in payload[:24])
    return f"{index:03d}:{shown}"


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=[_payload_id(i, p) for i, p in enumerate(ALL_PAYLOADS)])
@pytest.mark.parametrize("api", list(APIS))
def test_payload_is_refused(world, api, payload):
    outcome = attempt(world, api, payload)
    assert outcome.refused, (
        f"{api} with {payload[:80]!r}: error {outcome.error!r}, returned {outcome.returned!r}, "
        f"forbidden access {outcome.violations}, changed outside the store {outcome.changed}")


def test_the_whole_corpus_is_refused_by_every_api(world):
    refused, failures = 0, []
    for api in APIS:
        for payload in ALL_PAYLOADS:
            outcome = attempt(world, api, payload)
            if outcome.refused:
                refused += 1
            else:
                failures.append(f"{api}: {payload[:60]!r} -> {outcome.error!r} {outcome.violations} {outcome.changed}")
    total = len(ALL_PAYLOADS) * len(APIS)
    print(f"\n{len(ALL_PAYLOADS)} payloads ({len(PAYLOADS)} in the corpus + {len(ALL_PAYLOADS) - len(PAYLOADS)} "
          f"aimed at the secret) x {len(APIS)} APIs = {total} calls, {refused} refused")
    assert not failures, "\n".join(failures[:20])
    assert refused == total >= 1500


def test_the_store_still_works_after_the_corpus(world):
    """The refusals refused only the payloads: plain paths still work through the same APIs."""
    import mlcask

    mlcask.log_text("fine", "notes/plain.txt")
    mlcask.log_artifact(str(world.src / "data.txt"), "inputs")
    assert [f.path for f in world.client.list_artifacts(world.run_id, "notes")] == ["notes/plain.txt"]
    assert Path(world.client.download_artifacts(world.run_id, "inputs/data.txt")).read_text() == "data"
