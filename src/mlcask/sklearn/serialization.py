"""Writing and reading scikit-learn-style estimators: skops, cloudpickle, pickle.

Which skops types a load trusts: skops' own defaults, the types the caller names,
and, of the types the model's MLmodel records, only those defined by the libraries
whose estimators we save (scikit-learn, LightGBM, XGBoost, NumPy, SciPy). A recorded
type from anywhere else (``builtins.eval``, ``os.system``, a user's module) is
refused with the way to trust it. Signed trust lists are the security issue's work.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from mlcask.exceptions import ModelFormatError, UnsafeModelError

SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SUPPORTED_SERIALIZATION_FORMATS = (SERIALIZATION_FORMAT_SKOPS, SERIALIZATION_FORMAT_CLOUDPICKLE,
                                   SERIALIZATION_FORMAT_PICKLE)

RECORDED_TYPE_PACKAGES = ("sklearn", "lightgbm", "xgboost", "numpy", "scipy")
RECORDED_TYPE_EXACT = frozenset({"collections.OrderedDict", "collections.defaultdict"})


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


def _recorded_type_is_library_type(name: str) -> bool:
    return name in RECORDED_TYPE_EXACT or name.split(".")[0] in RECORDED_TYPE_PACKAGES


def trusted_skops_types(file: Path, recorded: list[str] | None, caller: list[str] | None) -> list[str]:
    """The types to pass to ``skops.io.load`` for ``file``, or raise naming the ones refused."""
    import skops.io

    needed = set(skops.io.get_untrusted_types(file=file))
    allowed = set(caller or []) | {t for t in (recorded or []) if _recorded_type_is_library_type(t)}
    refused = sorted(needed - allowed)
    if refused:
        raise UnsafeModelError(
            f"The skops file '{file}' contains types that are not trusted: {refused}. If you trust "
            f"this model, load it with skops_trusted_types={refused}."
        )
    return sorted(needed)


def load_model_file(file: Path, serialization_format: str, recorded_trusted: list[str] | None,
                    caller_trusted: list[str] | None) -> Any:
    try:
        if serialization_format == SERIALIZATION_FORMAT_SKOPS:
            import skops.io

            trusted = trusted_skops_types(file, recorded_trusted, caller_trusted)
            return skops.io.load(file, trusted=trusted)
        with open(file, "rb") as f:
            return pickle.load(f)
    except UnsafeModelError:
        raise
    except Exception as exc:  # the file is unreadable: say which one and why
        raise ModelFormatError(f"Could not read the {serialization_format} model file '{file}': "
                               f"{type(exc).__name__}: {exc}") from None
