"""No secrets in an image: key and credential files, private keys by content, and URLs carrying
a user name or password are refused before anything is written to a build context.

An image's layers keep every file copied into them, even one a later step deletes, and
anyone who can pull the image reads them. So the build context is checked up front, and a
refusal names each offending file or line and says how to pass the secret at run time
instead (``docker run -e``/``--env-file``, a mounted volume, BuildKit ``--secret``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError

__all__ = ["SecretsError", "check_files", "check_requirement_lines", "url_credentials"]

# File names that hold credentials whatever their content.
SECRET_NAMES = frozenset({
    ".netrc", "_netrc", ".pypirc", ".pgpass", ".git-credentials", ".npmrc", ".htpasswd",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "signing.key", "credentials.json",
    "service-account.json", ".dockercfg",
})
SECRET_SUFFIXES = (".p12", ".pfx", ".jks", ".keystore", ".ppk")
# A folder name and a file name below it: the file is a credential store.
SECRET_PAIRS = frozenset({(".aws", "credentials"), (".docker", "config.json"), (".kube", "config"),
                          (".ssh", "authorized_keys"), (".gnupg", "secring.gpg")})
PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
AWS_SECRET = re.compile(rb"(?im)^\s*aws_secret_access_key\s*=\s*\S")
CONTENT_SCAN_BYTES = 1 << 20  # files up to this size are read whole; larger ones are model data
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")
ADVICE = ("Secrets do not belong in an image (every layer keeps them, and anyone who pulls it reads "
          "them): remove them and pass them at run time (docker run -e / --env-file, a mounted volume) "
          "or at build time with BuildKit's --secret.")


class SecretsError(InvalidArgumentError):
    """The build context would contain a key or a credential."""


def _is_dotenv(name: str) -> bool:
    return name == ".env" or (name.startswith(".env.") and name not in (".env.example", ".env.sample"))


def secret_by_name(relative: Path) -> str | None:
    """Why the file at ``relative`` (a path inside the folder) is a credential by its name, or None."""
    name = relative.name
    if name in SECRET_NAMES or _is_dotenv(name):
        return "a credential file"
    if name.lower().endswith(SECRET_SUFFIXES):
        return "a key store"
    parent = relative.parent.name
    if (parent, name) in SECRET_PAIRS:
        return f"a {parent}/{name} credential store"
    return None


def secret_by_content(data: bytes) -> str | None:
    """Why ``data`` (a file's bytes) is a secret, or None."""
    if PRIVATE_KEY.search(data):
        return "it holds a private key (BEGIN ... PRIVATE KEY)"
    if AWS_SECRET.search(data):
        return "it holds an AWS secret access key"
    return None


def _file_problem(relative: str, path: Path) -> str | None:
    reason = secret_by_name(Path(relative))
    if reason is None and path.stat().st_size <= CONTENT_SCAN_BYTES:
        reason = secret_by_content(path.read_bytes())
    return f"{relative}: {reason}" if reason else None


def check_files(files: Iterable[tuple[str, Path]], what: str) -> None:
    """Raise SecretsError naming every key or credential among ``files``.

    Parameters
    ----------
    files : Iterable[tuple[str, Path]]
        Each file's name inside the folder being copied (``data/model.pkl``) and where to read it.
    what : str
        How to name the folder in the message (e.g. ``"the model folder '/m'"``).
    """
    problems = [problem for relative, path in files if (problem := _file_problem(relative, path)) is not None]
    if problems:
        raise SecretsError(f"Refusing to put {what} into an image: {'; '.join(problems)}. {ADVICE}")


def url_credentials(text: str) -> list[str]:
    """The URLs in ``text`` that carry a user name or password, with the secret part masked."""
    found = []
    for match in URL.finditer(text):
        parsed = urllib.parse.urlsplit(match.group(0))
        if parsed.username or parsed.password:
            found.append(match.group(0).replace(parsed.netloc.rpartition("@")[0], "***"))
    return found


def check_requirement_lines(lines: Iterable[str], where: str) -> None:
    """Raise SecretsError when a requirement or index line carries credentials in a URL.

    Parameters
    ----------
    lines : Iterable[str]
        Requirement lines (``pkg==1.0``, ``--index-url ...``, ``pkg @ https://...``).
    where : str
        Where the lines come from, for the message.
    """
    masked = [url for line in lines for url in url_credentials(line)]
    if masked:
        raise SecretsError(f"Refusing to build an image from {where}: {', '.join(masked)} carries a user name "
                           "or password in its URL, which the image (its layers and history) would keep. Name the "
                           "package or index without credentials, and give them at build time with BuildKit's "
                           "--secret (a netrc file mounted for the install step), never in the Dockerfile.")
