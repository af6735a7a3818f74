"""Checks for the relative paths and names an API takes from its caller.

Artifact paths, model names, artifact names and registry sources are refused when any
way of reading them leads somewhere else than a plain relative path below a root: ``..``
segments in any encoding (percent-encoded up to three times, fullwidth or leader dots
that Unicode NFKC turns into ``..``, ``..;`` path parameters, runs of dots that Windows
trims to ``..``), absolute paths, drive letters and URIs, backslashes, NUL and other
control characters, and percent-encoded bytes that are not UTF-8 (overlong ``%c0%ae``).

Errors are :class:`~mlcask.exceptions.InvalidArgumentError`, naming what was given, what
it decoded to, and the rule it broke.
"""

from __future__ import annotations

import os
import re
import unicodedata
import urllib.parse

from mlcask.exceptions import InvalidArgumentError

MAX_PATH_LENGTH = 1000  # characters: the artifact URI columns of the store hold 1,000
MAX_SEGMENT_BYTES = 255  # NAME_MAX of common filesystems
_DECODE_ROUNDS = 3
_DRIVE = re.compile(r"^[A-Za-z]:")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:/")


def shown(text: str) -> str:
    """``text`` quoted for an error message, shortened if long."""
    return repr(text) if len(text) <= 100 else f"{text[:60]!r}... ({len(text)} characters)"


def _control_character(text: str) -> str | None:
    for char in text:
        code = ord(char)
        if code < 32 or 0x7F <= code <= 0x9F:
            return f"U+{code:04X}"
    return None


def percent_decoded(text: str, what: str) -> str:
    """``text`` with percent-encoding undone (up to three times, for double and triple encoding).

    Refused: bytes that are not UTF-8 once decoded (overlong forms such as ``%c0%ae``), and
    a fourth level of encoding, which would still decode to something else.
    """
    decoded = text
    for _ in range(_DECODE_ROUNDS + 1):
        try:
            once = urllib.parse.unquote(decoded, errors="strict")
        except UnicodeDecodeError:
            raise InvalidArgumentError(
                f"Invalid {what} {shown(text)}: it holds percent-encoded bytes that are "
                "not UTF-8 (such as the overlong '%c0%ae'); give the path as plain text.") from None
        if once == decoded:
            return decoded
        decoded = once
    raise InvalidArgumentError(f"Invalid {what} {shown(text)}: it is percent-encoded more "
                               f"than {_DECODE_ROUNDS} times; give the path as plain text.")


def decoded_forms(text: str, what: str) -> list[tuple[str, str]]:
    """``text`` as given, percent-decoded, and that NFKC-normalised (fullwidth and leader dots
    become ``.``): each distinct form with how it was reached, for an error message."""
    decoded = percent_decoded(text, what)
    forms = [(text, "")]
    if decoded != text:
        forms.append((decoded, f" (after URL-decoding: {decoded!r})"))
    normalised = unicodedata.normalize("NFKC", decoded)
    if normalised != decoded:
        forms.append((normalised, f" (after Unicode NFKC normalisation: {normalised!r})"))
    return forms


def _as_text(path: object, what: str) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        try:
            return path.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError(f"Invalid {what} {path!r}: the bytes are not UTF-8.") from None
    if not isinstance(path, str):
        raise InvalidArgumentError(f"Invalid {what} {path!r}: expected a string path, got {type(path).__name__}.")
    return path


def segment_problem(segment: str, *, limit_length: bool = True) -> str | None:
    """Why one ``/``-separated segment may not be used as a file name, or None."""
    base = segment.split(";", 1)[0]
    if base == ".." or (set(segment) <= {".", " "} and segment.count(".") >= 2):
        return "'..' segments are not allowed"
    if ";" in segment and set(base) <= {".", " "}:
        return f"'{segment}' is a '.' or '..' segment with a ';' path parameter, which some servers drop"
    if limit_length and len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        return f"a segment is {len(segment.encode('utf-8'))} bytes long; the limit is {MAX_SEGMENT_BYTES}"
    return None


def _problem(variant: str, *, single: bool) -> str | None:
    """What makes ``variant`` (an already decoded form of the path) unsafe, or None."""
    control = _control_character(variant)
    if control:
        return f"it contains the control character {control}"
    if "\\" in variant:
        return "it contains a backslash; separate folders with '/'"
    if variant.startswith("/"):
        return "it must be relative, not absolute"
    if variant.startswith("~"):
        return "it must be relative, not start with '~' (a home folder)"
    if _DRIVE.match(variant):
        return "it must be relative, not start with a drive letter"
    if _URI.match(variant) or variant[:5].lower() == "file:":
        return "it is a URI; give a path relative to the root"
    if single and "/" in variant:
        return "it must be a single name, without '/'"
    for segment in variant.split("/"):
        problem = segment_problem(segment)
        if problem:
            return problem
    return None


def _check(text: str, what: str, *, single: bool) -> str:
    """The percent-decoded ``text``, or an error naming the first rule a form of it breaks.

    The forms checked: ``text`` as given, percent-decoded, and that NFKC-normalised (which
    turns fullwidth and leader dots into ``.``).
    """
    if len(text) > MAX_PATH_LENGTH:
        raise InvalidArgumentError(f"Invalid {what} {shown(text)}: it is longer than the limit of "
                                   f"{MAX_PATH_LENGTH} characters.")
    for form, how in decoded_forms(text, what):
        problem = _problem(form, single=single)
        if problem:
            raise InvalidArgumentError(f"Invalid {what} {shown(text)}: {problem}{how}.")
    return percent_decoded(text, what)


def clean_relative_path(path: str | os.PathLike | bytes | None, what: str = "artifact path") -> str:
    """``path`` as a normalised relative POSIX path ('' for the root), or an InvalidArgumentError.

    The path is percent-decoded (up to three times) and that decoded form is returned, with
    empty and ``.`` segments dropped: ``"./a//b/"`` gives ``"a/b"``, ``"a%20b"`` gives ``"a b"``.
    See the module docstring for what is refused.
    """
    if path is None:
        return ""
    decoded = _check(_as_text(path, what), what, single=False)
    return "/".join(p for p in decoded.split("/") if p not in ("", "."))


def safe_name(name: object, what: str) -> str:
    """``name`` unchanged if it is usable as one file or folder name, else an InvalidArgumentError.

    Besides what :func:`clean_relative_path` refuses, ``/`` and names that are empty or only
    dots are refused, in the name as given and in its decoded forms.
    """
    text = _as_text(name, what)
    if text.strip(" ") in ("", "."):
        raise InvalidArgumentError(f"Invalid {what} {text!r}: expected a file or folder name, got an empty name "
                                   "or '.'.")
    _check(text, what, single=True)
    return text
