"""Every store and artifact repository satisfies its Protocol: each method the Protocol names
exists and accepts the Protocol's parameters by name (so a caller typed against the Protocol
can pass any of them as keywords)."""

from __future__ import annotations

import inspect

import pytest

from mlcask.tracking.protocols import ArtifactRepository, RegistryStore, TrackingStore


def _implementations():
    from mlcask.tracking.artifacts import LocalArtifactRepository
    from mlcask.tracking.registry_store import SqlRegistryStore
    from mlcask.tracking.rest import RestRegistryStore, RestTrackingStore
    from mlcask.tracking.rest.artifacts import HttpArtifactRepository
    from mlcask.tracking.s3 import S3ArtifactRepository
    from mlcask.tracking.store.sql_store import SqlTrackingStore

    return [(TrackingStore, SqlTrackingStore), (TrackingStore, RestTrackingStore),
            (RegistryStore, SqlRegistryStore), (RegistryStore, RestRegistryStore),
            (ArtifactRepository, LocalArtifactRepository), (ArtifactRepository, S3ArtifactRepository),
            (ArtifactRepository, HttpArtifactRepository)]


def _protocol_methods(protocol: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(protocol).items()
            if inspect.isfunction(member) and not name.startswith("_")}


def _mismatches(protocol: type, implementation: type) -> list[str]:
    problems = []
    for name, wanted in _protocol_methods(protocol).items():
        method = getattr(implementation, name, None)
        if method is None:
            problems.append(f"{name}: missing")
            continue
        given = inspect.signature(method).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in given.values())
        for parameter in list(wanted.parameters.values())[1:]:
            if parameter.name not in given and not takes_any:
                problems.append(f"{name}: no parameter {parameter.name!r}")
            elif parameter.default is not inspect.Parameter.empty and parameter.name in given \
                    and given[parameter.name].default is inspect.Parameter.empty:
                problems.append(f"{name}: {parameter.name!r} is optional in the Protocol, required here")
    return problems


@pytest.mark.parametrize("protocol, implementation", _implementations(),
                         ids=lambda item: getattr(item, "__name__", str(item)))
def test_implementation_satisfies_protocol(protocol, implementation):
    assert _mismatches(protocol, implementation) == []


def test_a_missing_or_narrower_method_is_caught():
    class Partial:
        def read_bytes(self, path):  # the Protocol names it artifact_file
            return b""

    problems = _mismatches(ArtifactRepository, Partial)
    assert "log_artifact: missing" in problems
    assert "read_bytes: no parameter 'artifact_file'" in problems


def test_the_sql_stores_pass_isinstance(tmp_path):
    from mlcask.tracking import stores

    uri = f"sqlite:///{tmp_path / 'p.db'}"
    assert isinstance(stores.tracking_store(uri), TrackingStore)
    assert isinstance(stores.registry_store(uri), RegistryStore)
