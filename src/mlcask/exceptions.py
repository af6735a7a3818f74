"""Exceptions raised by mlcask.

Every error mlcask raises on purpose is an :class:`MlcaskException` (also importable
as ``MlflowException`` for code written against MLflow). Each carries an MLflow-style
``error_code`` so that servers can map it to an HTTP status.
"""

from __future__ import annotations

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
BAD_REQUEST = "BAD_REQUEST"
INTERNAL_ERROR = "INTERNAL_ERROR"


class MlcaskException(Exception):
    """Base class of every error mlcask raises on purpose."""

    error_code: str = INTERNAL_ERROR

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code

    def __str__(self) -> str:
        return self.message

    @property
    def cli_message(self) -> str:
        """The message as the ``mlcask`` command shows it (remedies named as its flags)."""
        return self.message


class InvalidInputError(MlcaskException):
    """Data or params given to ``predict`` do not match the model's signature."""

    error_code = BAD_REQUEST


class InvalidArgumentError(MlcaskException, ValueError):
    """An API was called with an argument it cannot accept."""

    error_code = INVALID_PARAMETER_VALUE


class ModelFormatError(MlcaskException):
    """A model folder or MLmodel file is missing, malformed or incomplete."""

    error_code = INVALID_PARAMETER_VALUE


class ModelNotFoundError(MlcaskException, FileNotFoundError):
    """A model URI or path points at nothing."""

    error_code = RESOURCE_DOES_NOT_EXIST


class UnsafeModelError(MlcaskException):
    """Loading the model would run code or trust types the caller has not allowed.

    ``cli_message`` says the same with the ``mlcask`` command's options for the remedies
    (the command shows it instead of the message, which names Python arguments).
    """

    error_code = INVALID_PARAMETER_VALUE

    def __init__(self, message: str, cli_message: str | None = None) -> None:
        super().__init__(message)
        self._cli_message = cli_message or message

    @property
    def cli_message(self) -> str:
        return self._cli_message


# Drop-in name for code written against MLflow.
MlflowException = MlcaskException
