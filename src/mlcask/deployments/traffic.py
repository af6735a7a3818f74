"""An endpoint's traffic split: checking a split, keeping it whole as deployments come and go, and choosing a
deployment per request.

A split maps deployment names to integer percentages that sum to 100 (an endpoint without deployments has an
empty split). The first deployment of an endpoint gets 100; a later one gets the ``traffic`` its config asks
for (the others shrink in proportion to make room) or 0 (blue/green: shift traffic with endpoints/update).
Deleting a deployment gives its share to the others in proportion (evenly when they all had 0).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from typing import Any

from mlcask.exceptions import InvalidArgumentError

__all__ = ["check_traffic", "choose", "with_deployment", "without_deployment"]


def check_traffic(traffic: Any, deployments: Collection[str], endpoint: str) -> dict[str, int]:
    """``traffic`` as a full split over ``deployments`` (names not given get 0), or an error naming the problem:
    not an object, an unknown deployment, a value that is not an integer from 0 to 100, or a sum other than 100."""
    if not isinstance(traffic, dict):
        raise InvalidArgumentError(f"Invalid traffic for endpoint '{endpoint}': expected an object of deployment "
                                   f"name -> integer percentage, got {type(traffic).__name__} {traffic!r}.")
    unknown = sorted(set(traffic) - set(deployments))
    if unknown:
        known = ", ".join(sorted(deployments)) or "none yet"
        raise InvalidArgumentError(f"Invalid traffic for endpoint '{endpoint}': no deployment named "
                                   f"{', '.join(map(repr, unknown))} (its deployments: {known}).")
    split: dict[str, int] = {}
    for name in deployments:
        value = traffic.get(name, 0)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
                or not 0 <= value <= 100:
            raise InvalidArgumentError(f"Invalid traffic for deployment '{name}' of endpoint '{endpoint}': expected "
                                       f"an integer percentage from 0 to 100, got {value!r}.")
        split[name] = int(value)
    total = sum(split.values())
    if split and total != 100:
        raise InvalidArgumentError(f"Invalid traffic for endpoint '{endpoint}': the percentages must sum to 100, "
                                   f"got {total} ({', '.join(f'{k}={v}' for k, v in split.items())}).")
    return split


def _scaled(shares: Mapping[str, int], total: int) -> dict[str, int]:
    """``shares`` scaled to sum to ``total`` (largest remainders first; evenly when all are 0)."""
    if not shares:
        return {}
    weights = dict(shares) if sum(shares.values()) > 0 else {name: 1 for name in shares}
    whole = sum(weights.values())
    exact = {name: weight * total / whole for name, weight in weights.items()}
    result = {name: int(value) for name, value in exact.items()}
    left = total - sum(result.values())
    for name in sorted(exact, key=lambda n: result[n] - exact[n])[:left]:
        result[name] += 1
    return result


def with_deployment(traffic: Mapping[str, int], name: str, share: int | None) -> dict[str, int]:
    """The split after adding (or re-weighting) deployment ``name`` with ``share`` percent (None: 100 for the
    first deployment, else 0, or its current share when it has one)."""
    others = {k: v for k, v in traffic.items() if k != name}
    if share is None:
        share = traffic.get(name, 0 if others else 100)
    if not others:
        return {name: 100}
    return {**_scaled(others, 100 - share), name: share}


def without_deployment(traffic: Mapping[str, int], name: str) -> dict[str, int]:
    """The split after removing deployment ``name`` (its share goes to the others in proportion)."""
    others = {k: v for k, v in traffic.items() if k != name}
    return _scaled(others, 100)


def choose(traffic: Mapping[str, int], available: Collection[str], rng: random.Random | None = None) -> str | None:
    """A deployment for one request: weighted by ``traffic`` among the ``available`` ones with a share over 0
    (None when there is none)."""
    names = [name for name, share in traffic.items() if share > 0 and name in available]
    if not names:
        return None
    if len(names) == 1:
        return names[0]
    weights = [traffic[name] for name in names]
    return (rng or random).choices(names, weights)[0]
