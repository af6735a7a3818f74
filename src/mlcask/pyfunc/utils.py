"""``mlflow.pyfunc.utils.pyfunc``: check a predict function's input against its type hint on every call."""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from mlcask.exceptions import InvalidArgumentError

__all__ = ["pyfunc"]


def _input_hint(func: Callable[..., Any]) -> Any:
    """The input hint to check against, or None (no hint, or one MLflow does not check)."""
    from mlcask.pyfunc.custom_model import warn_without_input_hint
    from mlcask.pyfunc.type_hints import (
        InvalidTypeHintError,
        no_signature_hint,
        predict_type_hints,
        schema_of_list_hint,
    )

    hint = predict_type_hints(func).input
    if hint is None:
        warn_without_input_hint(func, stacklevel=4)
        return None
    if no_signature_hint(hint):
        return None
    try:
        schema_of_list_hint(hint)
    except InvalidTypeHintError as exc:
        raise InvalidArgumentError(f"{exc.message} To disable data validation, remove the type hint from the "
                                   "predict function. Otherwise, fix the type hint.") from None
    except InvalidArgumentError as exc:
        warnings.warn(f"Type hint used in the model's predict function is not supported for MLflow's schema "
                      f"validation. {exc.message} Remove the type hint to disable this warning. To enable validation "
                      "for the input data, specify input example or model signature when logging the model. ",
                      UserWarning, stacklevel=3)
        return None
    return hint


def pyfunc(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a ``predict`` function (a PythonModel's, or a plain one taking the model input)
    so that each call converts and checks its input against the input's type hint, with MLflow's
    errors. A function without a checkable hint is returned unchanged."""
    import inspect

    from mlcask.pyfunc.custom_model import check_parameter_names
    from mlcask.pyfunc.type_hints import convert_and_validate

    check_parameter_names(func, "predict")
    hint = _input_hint(func)
    if hint is None:
        return func
    names = [p for p in inspect.signature(func).parameters if p != "self"]
    position = 1 if names and names[0] == "context" else 0
    is_method = next(iter(inspect.signature(func).parameters), None) == "self"
    name = names[position]

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        index = position + (1 if is_method else 0)
        if name in kwargs:
            kwargs[name] = convert_and_validate(kwargs[name], hint)
        elif len(args) > index:
            args = (*args[:index], convert_and_validate(args[index], hint), *args[index + 1:])
        return func(*args, **kwargs)

    checked._is_pyfunc = True  # type: ignore[attr-defined]  # MLflow's mark
    return checked
