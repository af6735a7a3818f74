"""``mlflow.pyfunc.utils.pyfunc``: check a predict function's input against its type hint on every call.

:class:`~mlcask.pyfunc.PythonModel` subclasses get the same check on their ``predict``
when the class is created, as in MLflow. The checking wrapper keeps the function it wraps
as ``__wrapped__``; a custom model's pickle holds that function, handed to MLflow's own
``pyfunc`` at load (see :mod:`mlcask.pyfunc.python_model`), so the pickle needs no mlcask.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Callable

from mlcask.exceptions import InvalidArgumentError, MlcaskException

__all__ = ["pyfunc"]

_INVALID_SIGNATURE_MESSAGE = (
    "Model's `{name}` method contains invalid parameters: {invalid}. Only the following parameter names are "
    "allowed: context, model_input, and params. Note that invalid parameters will no longer be permitted in "
    "future versions."
)
NO_TYPE_HINT_MESSAGE = (
    "Add type hints to the `predict` method to enable data validation and automatic signature inference during "
    "model logging. Check https://mlflow.org/docs/latest/model/python_model.html#type-hint-usage-in-pythonmodel "
    "for more details."
)


def invalid_parameter_names(func: Any) -> set[str]:
    """The parameters of ``func`` (``self`` aside) MLflow will refuse: not context, model_input or params."""
    try:
        names = set(inspect.signature(func).parameters) - {"self"}
    except (TypeError, ValueError):
        return set()
    return names - {"context", "model_input", "params"}


def check_parameter_names(func: Any, name: str) -> None:
    """MLflow's FutureWarning for ``predict``/``predict_stream`` parameters it will refuse."""
    invalid = invalid_parameter_names(func)
    if invalid:
        warnings.warn(_INVALID_SIGNATURE_MESSAGE.format(name=name, invalid=invalid), FutureWarning, stacklevel=3)


def warn_without_input_hint(func: Any, stacklevel: int = 3) -> None:
    """MLflow's UserWarning for a predict function whose model input has no type hint."""
    from mlcask.pyfunc.type_hints import predict_type_hints

    if predict_type_hints(func).input is None:
        warnings.warn(NO_TYPE_HINT_MESSAGE, UserWarning, stacklevel=stacklevel)


def _input_hint(func: Callable[..., Any]) -> Any:
    """The input hint to check against, or None (no hint, or one MLflow does not check)."""
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


def _input_position(func: Callable[..., Any]) -> tuple[int, str]:
    """(index in the call's positional arguments, name) of the model input, MLflow's rule:
    after ``self``, and after the context when there is a ``context`` or two arguments besides ``params``."""
    parameters = list(inspect.signature(func).parameters)
    names = [p for p in parameters if p != "self"]
    with_context = "context" in names or len([p for p in names if p != "params"]) == 2
    index = int(with_context)
    return index + (1 if parameters and parameters[0] == "self" else 0), names[index]


def checked_predict(func: Callable[..., Any], hint: Any) -> Callable[..., Any]:
    """``func`` converting and checking its model input against ``hint`` on each call."""
    from mlcask.pyfunc.type_hints import convert_and_validate, hint_repr

    index, name = _input_position(func)

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            if name in kwargs:
                kwargs[name] = convert_and_validate(kwargs[name], hint)
            elif len(args) > index:
                args = (*args[:index], convert_and_validate(args[index], hint), *args[index + 1:])
        except MlcaskException:
            raise
        except Exception as exc:
            raise MlcaskException(f"Failed to validate the input data against the type hint `{hint_repr(hint)}`. "
                                  f"Error: {exc}") from exc
        return func(*args, **kwargs)

    checked._is_pyfunc = True  # type: ignore[attr-defined]  # MLflow's mark
    checked.input_type_hint = hint  # type: ignore[attr-defined]  # mlcask's mark (see python_model.py)
    return checked


def pyfunc(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a ``predict`` function (a PythonModel's, or a plain one taking the model input)
    so that each call converts and checks its input against the input's type hint, with MLflow's
    errors.

    Parameters
    ----------
    func : callable
        ``predict(self, [context,] model_input, params=None)`` or ``predict(model_input)``.

    Returns
    -------
    callable
        The checking function, or ``func`` itself when it has no hint mlcask checks
        (none: a UserWarning; ``pandas.DataFrame`` and the like: silently).

    Raises
    ------
    MlflowException
        When the hint is malformed (``list`` without an element type, ``dict[int, str]``, an
        optional pydantic field without a default, ...).
    """
    check_parameter_names(func, "predict")
    hint = _input_hint(func)
    if hint is None:
        return func
    return checked_predict(func, hint)
