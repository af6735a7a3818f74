"""``MLCASK_HOME`` (``~/.mlcask``): the folder of the local signing key and the digest cache,
and the ownership rules for it and for key files.

Whoever can write the home folder, or a key file, can make models trusted here; whoever
can read a secret key can sign as you. So mlcask refuses a home or key file that is a
symbolic link, that is owned by another user (root excepted), or that others may write,
and signs only with a key file nobody else may read. Each refusal says how to fix it.
"""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path

from mlcask.exceptions import InvalidArgumentError

HOME_ENV = "MLCASK_HOME"


class UnsafeKeyStorageError(InvalidArgumentError):
    """A key file or MLCASK_HOME whose owner, mode or kind would let others sign or trust."""


def home_path() -> Path:
    """Where ``MLCASK_HOME`` points (``~/.mlcask`` by default); not checked."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".mlcask").expanduser()


def _owned_safely(st: os.stat_result) -> bool:
    return st.st_uid in (os.getuid(), 0)


def check_private_folder(folder: Path, what: str) -> None:
    """Refuse ``folder`` (if it exists) when it is a link, another user's, or writable by others."""
    try:
        st = os.lstat(folder)
    except (FileNotFoundError, NotADirectoryError):
        return  # not there (yet): creating it makes it private
    if stat_module.S_ISLNK(st.st_mode):
        raise UnsafeKeyStorageError(
            f"{what} '{folder}' is a symbolic link (to '{os.readlink(folder)}'); mlcask keeps keys only in a real "
            f"folder. Point {HOME_ENV} at the folder itself, or replace the link with a folder (mkdir -m 700).")
    if not stat_module.S_ISDIR(st.st_mode):
        raise UnsafeKeyStorageError(f"{what} '{folder}' is not a folder.")
    if not _owned_safely(st):
        raise UnsafeKeyStorageError(
            f"{what} '{folder}' belongs to user id {st.st_uid}, not to you (uid {os.getuid()}): its owner could "
            f"plant keys you would trust. Use a folder of your own ({HOME_ENV}=...).")
    if st.st_mode & 0o022:
        raise UnsafeKeyStorageError(
            f"{what} '{folder}' is writable by {'others' if st.st_mode & 0o002 else 'its group'} "
            f"(mode {oct(st.st_mode & 0o777)}): they could plant keys you would trust. Fix: chmod 700 '{folder}'.")


def mlcask_home() -> Path:
    """``MLCASK_HOME``, checked: a real folder of yours that only you can write."""
    home = home_path()
    check_private_folder(home, HOME_ENV)
    return home


def check_key_file(file: Path, st: os.stat_result, what: str, secret: bool) -> None:
    """Refuse a key file that is a link, another user's, writable by others, or (``secret``)
    readable by others. ``st`` is the file's ``lstat``."""
    if stat_module.S_ISLNK(st.st_mode):
        raise UnsafeKeyStorageError(
            f"The {what} '{file}' is a symbolic link (to '{os.readlink(file)}'); name the key file itself.")
    if not stat_module.S_ISREG(st.st_mode):
        raise UnsafeKeyStorageError(f"The {what} '{file}' is not a regular file.")
    if not _owned_safely(st):
        raise UnsafeKeyStorageError(
            f"The {what} '{file}' belongs to user id {st.st_uid}, not to you (uid {os.getuid()}); use a key "
            "file you own.")
    if st.st_mode & 0o022:
        raise UnsafeKeyStorageError(
            f"The {what} '{file}' is writable by others (mode {oct(st.st_mode & 0o777)}): they could replace the "
            f"key. Fix: chmod {'600' if secret else '644'} '{file}'.")
    if secret and st.st_mode & 0o044:
        raise UnsafeKeyStorageError(
            f"The {what} '{file}' holds a secret key and is readable by others (mode {oct(st.st_mode & 0o777)}): "
            f"whoever reads it can sign models you trust. Fix: chmod 600 '{file}'.")
