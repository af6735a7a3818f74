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
SUPPORTED_SERIALIZATION_FORMATS = (SERIALIZATION_FORMAT_SKOPS, SERIALIZATION_FORMAT_CLOUDPICKLE,
                                   SERIALIZATION_FORMAT_PICKLE)


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


def trusted_skops_types(file: Path, recorded: list[str] | None, flavor_types: Iterable[str] = ()) -> list[str]:
    """The types to pass to ``skops.io.load`` for ``file``, or raise naming the ones refused."""
    import skops.io

    needed = set(skops.io.get_untrusted_types(file=file))
    trust = current_trust(file.parent)
    refused = sorted(needed - trust.skops_types(recorded) - set(flavor_types))
    if refused:
        unsigned = "" if trust.verification.trusted else (
            " The model is not signed by a trusted key, so the types its MLmodel records are not trusted.")
        raise UnsafeModelError(
            f"The skops file '{file}' contains types that are not trusted: {refused}.{unsigned} If you trust "
            f"this model, load it with skops_trusted_types={refused}, or sign it (`mlcask models sign`)."
        )
    return sorted(needed)


def load_model_file(file: Path, serialization_format: str, recorded_trusted: list[str] | None,
                    flavor_types: Iterable[str] = ()) -> Any:
    """Read an estimator written by :func:`dump_model`, within the load's trust."""
    try:
        if serialization_format == SERIALIZATION_FORMAT_SKOPS:
            import skops.io

            trusted = trusted_skops_types(file, recorded_trusted, flavor_types)
            return skops.io.load(file, trusted=trusted)
        current_trust(file.parent).require_code(f"the {serialization_format} file '{file.name}'")
        with open(file, "rb") as f:
            return pickle.load(f)
    except UnsafeModelError:
        raise
    except Exception as exc:  # the file is unreadable: say which one and why
        raise ModelFormatError(f"Could not read the {serialization_format} model file '{file}': "
                               f"{type(exc).__name__}: {exc}") from None
