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
from mlcask.utils.paths import refuse_overlap

HOME_ENV = "MLCASK_HOME"
HOME_DESCRIPTION = ("the mlcask home folder '{folder}' (MLCASK_HOME), which holds the key that signs your models "
                    "and the cache of verified files")


class UnsafeKeyStorageError(InvalidArgumentError):
    """A key file or MLCASK_HOME whose owner, mode or kind would let others sign or trust."""


def home_path() -> Path:
    """Where ``MLCASK_HOME`` points (``~/.mlcask`` by default); not checked."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".mlcask").expanduser()


def refuse_mlcask_home(location: str | os.PathLike, what: str, advice: str) -> None:
    """Refuse a local ``location`` that is the mlcask home folder, is inside it or contains it.

    No run may write there, read from there or upload it, and no model may pack it. Checked in
    every spelling, links resolved (see :func:`mlcask.utils.paths.refuse_overlap`). ``what``
    names the value in the error (``"Experiment artifact_location"``), ``advice`` says what to do.
    """
    refuse_overlap(location, home_path(), what, HOME_DESCRIPTION, advice)


def mlcask_home_files() -> frozenset[tuple[int, int]]:
    """(device, inode) of the files in the mlcask home folder: a hard link to one of them is that file."""
    try:
        with os.scandir(home_path()) as scan:
            found = [entry.stat(follow_symlinks=False) for entry in scan]
    except OSError:
        return frozenset()
    return frozenset((info.st_dev, info.st_ino) for info in found if stat_module.S_ISREG(info.st_mode))


def owned_safely(uid: int) -> bool:
    """Whether a file owned by ``uid`` is yours (or root's, who could change anything anyway)."""
    return uid in (os.getuid(), 0)


def _refuse_shared(path: Path, st: os.stat_result, label: str, harm: str, own_fix: str, mode_fix: str) -> None:
    """Refuse ``path`` when another user (root excepted) owns it or others may write it."""
    if not owned_safely(st.st_uid):
        raise UnsafeKeyStorageError(f"{label} '{path}' belongs to user id {st.st_uid}, not to you "
                                    f"(uid {os.getuid()}): {harm}. {own_fix}")
    if st.st_mode & 0o022:
        who = "others" if st.st_mode & 0o002 else "its group"
        raise UnsafeKeyStorageError(f"{label} '{path}' is writable by {who} (mode {oct(st.st_mode & 0o777)}): "
                                    f"{harm}. Fix: chmod {mode_fix} '{path}'.")


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
    _refuse_shared(folder, st, what, "they could plant keys you would trust",
                   f"Use a folder of your own ({HOME_ENV}=...).", "700")


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
    _refuse_shared(file, st, f"The {what}", "they could replace the key", "Use a key file you own.",
                   "600" if secret else "644")
    if secret and st.st_mode & 0o044:
        raise UnsafeKeyStorageError(
            f"The {what} '{file}' holds a secret key and is readable by others (mode {oct(st.st_mode & 0o777)}): "
            f"whoever reads it can sign models you trust. Fix: chmod 600 '{file}'.")
