"""Writing and reading scikit-learn-style estimators: skops, cloudpickle, pickle.

Reading is governed by the load's trust (:mod:`mlcask.models.trust`): pickle and
cloudpickle files load only from a model signed by a trusted key or when the caller
allows pickle; skops builds skops' own default types, the types the caller names
(``skops_trusted_types``, plus the fixed list a flavor passes for its own library's
classes), and the types the model's MLmodel records only when its signature verified.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlcask.exceptions import ModelFormatError, UnsafeModelError
from mlcask.models.trust import current_trust

SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SERIALIZATION_FORMAT_PICKLE = "pickle"
# A list in MLflow's order, as MLflow's (its error messages print it).
SUPPORTED_SERIALIZATION_FORMATS = [SERIALIZATION_FORMAT_SKOPS, SERIALIZATION_FORMAT_PICKLE,
                                   SERIALIZATION_FORMAT_CLOUDPICKLE]


def check_serialization_format(serialization_format: object) -> str:
    """``serialization_format`` if supported, else MLflow's error (INVALID_PARAMETER_VALUE)."""
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        from mlcask.exceptions import InvalidArgumentError

        raise InvalidArgumentError(f"Unrecognized serialization format: {serialization_format}. Please specify one "
                                   f"of the following supported formats: {SUPPORTED_SERIALIZATION_FORMATS}.")
    return serialization_format  # type: ignore[return-value]


def dump_model(model: Any, file: Path, serialization_format: str,
               extra_trusted: list[str] | None = None) -> list[str] | None:
    """Write ``model``; for skops return the types a loader must trust (None if none)."""
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        skops.io.dump(model, file)
        needed = set(skops.io.get_untrusted_types(file=file)) | set(extra_trusted or [])
        return sorted(needed) or None
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle

        with open(file, "wb") as f:
            cloudpickle.dump(model, f)
    else:
        with open(file, "wb") as f:
            pickle.dump(model, f)
    return None


def trusted_skops_types(data: bytes, name: str, recorded: list[str] | None,
                        flavor_types: Iterable[str] = ()) -> list[str]:
    """The types to pass to ``skops.io.loads`` for the skops file ``name`` holding ``data``,
    or raise naming the ones refused."""
    import skops.io

    needed = set(skops.io.get_untrusted_types(data=data))
    trust = current_trust()
    refused = sorted(needed - trust.skops_types(recorded) - set(flavor_types))
    if refused:
        trust.refuse_skops_types(str(trust.folder.path / name), refused)
    return sorted(needed)


def load_model_file(name: str, serialization_format: str, recorded_trusted: list[str] | None,
                    flavor_types: Iterable[str] = ()) -> Any:
    """Read the estimator file ``name`` of the model being loaded (written by
    :func:`dump_model`), within the load's trust, from the very bytes that were verified."""
    trust = current_trust()
    where = trust.folder.path / name
    try:
        if serialization_format == SERIALIZATION_FORMAT_SKOPS:
            import skops.io

            data = trust.folder.read(name, runs_code=True)
            return skops.io.loads(data, trusted=trusted_skops_types(data, name, recorded_trusted, flavor_types))
        trust.require_code(f"the {serialization_format} file '{name}'")
        return pickle.loads(trust.folder.read(name, runs_code=True))
    except (UnsafeModelError, ModelFormatError):
        raise
    except Exception as exc:  # the file is unreadable: say which one and why
        raise ModelFormatError(f"Could not read the {serialization_format} model file '{where}': "
                               f"{type(exc).__name__}: {exc}") from None
