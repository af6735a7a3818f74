"""What a message may show of a URI: never a password, a token in a query, or a fragment."""

from __future__ import annotations

import urllib.parse

__all__ = ["redact_uri", "without_credentials"]


def _rebuilt(uri: str, userinfo_mark: str) -> str:
    text = str(uri)
    if "://" not in text:
        return text
    try:
        parsed = urllib.parse.urlsplit(text)
    except ValueError:  # an unparsable host: show no more than the scheme
        return text.split("://", 1)[0] + "://***"
    _, at, host = parsed.netloc.rpartition("@")
    netloc = f"{userinfo_mark}{host}" if at else host
    # Built by hand: urlunsplit drops an empty host, turning sqlite:////abs/path into sqlite://abs/path.
    return f"{text.split('://', 1)[0]}://{netloc}{parsed.path}"


def without_credentials(uri: str) -> str:
    """``uri`` with no user info, query or fragment: the same resource, whoever asks (a cache key)."""
    return _rebuilt(uri, "")


def redact_uri(uri: str) -> str:
    """``uri`` with its user info replaced by ``***`` and its query and fragment left out.

    ``postgresql://me:secret@host/db?sslpassword=x`` becomes ``postgresql://***@host/db``. The user
    name goes too: in ``https://<token>@host`` it is the secret. A URI with no user info, and a plain
    path, come back unchanged (but for a query or fragment).
    """
    return _rebuilt(uri, "***@")
