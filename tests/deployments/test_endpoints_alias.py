"""Which model URIs a deployment follows, and the follower's timing (polls, and pokes at once)."""

from __future__ import annotations

import threading
import time

import pytest

from mlcask.deployments.alias import POLL_ENV, AliasFollower, follows, poll_seconds
from mlcask.exceptions import InvalidArgumentError


@pytest.mark.parametrize("uri, followed", [
    ("models:/clf@champion", ("clf", "champion")),
    ("models:/clf@latest", ("clf", "latest")),
    ("models:/clf/latest", ("clf", "latest")),
    ("models:/clf/Production", ("clf", "Production")),
    ("models:/clf/3", None),
    ("models:/m-0123", None),
    ("runs:/abc/model", None),
    ("/models/clf", None),
])
def test_moving_targets_are_followed(uri, followed):
    assert follows(uri) == followed


def test_poll_interval(monkeypatch):
    monkeypatch.delenv(POLL_ENV, raising=False)
    assert poll_seconds() == 5.0
    monkeypatch.setenv(POLL_ENV, "0.25")
    assert poll_seconds() == 0.25
    assert poll_seconds(2) == 2.0
    monkeypatch.setenv(POLL_ENV, "often")
    with pytest.raises(InvalidArgumentError, match="MLCASK_ENDPOINTS_ALIAS_POLL_SECONDS='often' is not a number"):
        poll_seconds()
    with pytest.raises(InvalidArgumentError, match="over 0 seconds"):
        poll_seconds(0)


def test_a_poke_checks_at_once_and_polling_goes_on():
    checks: list[float] = []
    checked = threading.Event()

    def check() -> None:
        checks.append(time.monotonic())
        checked.set()

    follower = AliasFollower(check, interval=60)
    follower.start()
    try:
        time.sleep(0.1)
        assert checks == []
        poked = time.monotonic()
        follower.poke()
        assert checked.wait(5) and checks[0] - poked < 1
    finally:
        follower.stop()
    fast = AliasFollower(lambda: checks.append(time.monotonic()), interval=0.05)
    fast.start()
    time.sleep(0.5)
    fast.stop()
    assert len(checks) >= 4


def test_a_failing_check_does_not_stop_the_follower():
    calls = []

    def check() -> None:
        calls.append(1)
        raise RuntimeError("registry away")

    follower = AliasFollower(check, interval=0.02)
    follower.start()
    time.sleep(0.3)
    follower.stop()
    assert len(calls) >= 3
