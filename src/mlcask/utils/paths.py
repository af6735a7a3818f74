"""Checks for the relative paths and names an API takes from its caller.

Artifact paths, model names, artifact names and registry sources are refused when any
way of reading them leads somewhere else than a plain relative path below a root: ``..``
segments in any encoding (percent-encoded up to three times, fullwidth or leader dots
that Unicode NFKC turns into ``..``, ``..;`` path parameters, runs of dots that Windows
trims to ``..``), absolute paths, drive letters and URIs, backslashes, NUL and other
control characters, and percent-encoded bytes that are not UTF-8 (overlong ``%c0%ae``).

Errors are :class:`~mlcask.exceptions.InvalidArgumentError`, naming what was given, what
it decoded to, and the rule it broke.

The second half copies folders without following links the caller did not name: one rule
for every folder mlcask copies from (``log_artifacts``, ``code_paths``, a download's
source): a symbolic link inside the folder is copied as the file or folder it points at
only when it resolves inside the folder (or a wider ``boundary``) and is not a loop; a
link leading out, a dangling link and a loop are refused (or skipped, where the caller
asks), and so are special files. Every byte is then read through descriptors opened one
component at a time with ``O_NOFOLLOW`` below the folder, so a link swapped in after the
walk is refused, not followed. Writes into a destination someone else may write to (a
download's ``dst_path``) create folders with ``mkdir`` and open them with ``O_NOFOLLOW``,
and write files under a private temporary name renamed over the final one: a planted
link is refused (a folder) or replaced (a file), never written through. Hard links cannot
be told apart from the file they name, so a hard link is copied as that file.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

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


def path_relation(path: str | os.PathLike, folder: str | os.PathLike) -> str | None:
    """How ``path`` stands to ``folder``, both absolute and normalised (``os.path.abspath`` or ``realpath``):
    ``"is"``, ``"is inside"``, ``"contains"`` or None.

    Compared as written (resolve both first to compare where they lead); without regard to case on macOS and
    Windows, whose file systems usually ignore it.
    """
    first, second = os.fspath(path), os.fspath(folder)
    if sys.platform in ("darwin", "win32"):
        first, second = first.casefold(), second.casefold()
    if first == second:
        return "is"
    if first.startswith(second.rstrip(os.sep) + os.sep):
        return "is inside"
    if second.startswith(first.rstrip(os.sep) + os.sep):
        return "contains"
    return None


def local_spellings(location: str | os.PathLike) -> list[str]:
    """Every local path ``location`` may be read as: as given, percent-decoded (up to three times), as a
    ``file:`` URI, with ``~`` expanded. None for a remote URI (``s3://...``)."""
    text = os.fsdecode(os.fspath(location))
    forms = [text]
    for _ in range(_DECODE_ROUNDS):
        forms.append(urllib.parse.unquote(forms[-1]))
    paths: list[str] = []
    for form in dict.fromkeys(forms):
        parsed = urllib.parse.urlparse(form)
        if parsed.scheme == "file":
            form = urllib.parse.unquote(parsed.path)
        elif len(parsed.scheme) > 1:
            continue
        paths.extend(p for p in (form, os.path.expanduser(form)) if p)
    return list(dict.fromkeys(paths))


def _resolved(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, RuntimeError):  # a link loop: compare the path as written
        return path


def _ancestors(path: str) -> Iterator[str]:
    """``path`` and each folder holding it, up to the root."""
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def _same_folder_relation(path: str, folder: str) -> str | None:
    """The relation of ``path`` to ``folder`` (both resolved) found by comparing device and inode of the folders
    themselves: it catches what names miss, such as another case on a case-insensitive disk or a bind mount."""
    def same(first: str, second_stat: os.stat_result) -> bool:
        try:
            return os.path.samestat(os.stat(first), second_stat)
        except OSError:
            return False

    try:
        folder_stat = os.stat(folder)
    except OSError:
        return None
    for ancestor in _ancestors(path):
        if same(ancestor, folder_stat):
            return "is" if ancestor == path else "is inside"
    try:
        path_stat = os.stat(path)
    except OSError:
        return None
    return "contains" if any(same(a, path_stat) for a in list(_ancestors(folder))[1:]) else None


def refuse_overlap(location: str | os.PathLike, folder: str | os.PathLike, what: str, description: str,
                   advice: str) -> None:
    """Refuse a local ``location`` that is ``folder``, lies inside it or contains it.

    Every spelling of ``location`` is checked (:func:`local_spellings`), both as written (``..`` removed,
    relative paths against the working folder) and with symbolic links resolved, against ``folder`` as written
    and resolved, then by device and inode. The InvalidArgumentError reads "``what`` '<location>' is refused: it
    <relation> ``description``. ``advice``", ``description`` holding ``{folder}``.
    """
    protected = os.path.abspath(folder)
    real_protected = _resolved(protected)
    for spelling in local_spellings(location):
        written = os.path.abspath(spelling)
        real = _resolved(written)
        for candidate in dict.fromkeys([written, real]):
            relation = path_relation(candidate, protected) or path_relation(candidate, real_protected)
            if relation is None and candidate == real:
                relation = _same_folder_relation(real, real_protected)
            if relation is not None:
                given = os.fsdecode(os.fspath(location))
                read_as = "" if candidate == given else f" (read as '{candidate}')"
                quoted = f"'{given}'" if len(given) <= 400 else shown(given)
                raise InvalidArgumentError(f"{what} {quoted} is refused: it{read_as} {relation} "
                                           f"{description.format(folder=protected)}. {advice}")


# -- copying folders without following links out of them --------------------------------------------------
# POSIX flags (0 where the platform has none, so this module imports everywhere; the copies need POSIX).
_NOFOLLOW, _CLOEXEC = getattr(os, "O_NOFOLLOW", 0), getattr(os, "O_CLOEXEC", 0)
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC  # NONBLOCK: a FIFO must not hang us
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
CREATE_FLAGS = _CREATE_FLAGS  # a new file, never through a link (O_EXCL | O_NOFOLLOW)


def _umask() -> int:
    # Read, not set: os.umask() changes the process's mask for a moment, for every thread.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


#: The mode of a file written the usual way (0666 less the umask), given to files first written private.
NEW_FILE_MODE = 0o666 & ~_umask()
_LINK_ERRNOS = (errno.ELOOP, errno.EMLINK, errno.ENOTDIR)  # O_NOFOLLOW met a link (EMLINK on BSDs), or not a folder
PARTIAL_PREFIX = ".mlcask-partial-"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A file or folder of a folder being copied.

    ``path``: where it goes, relative to the copy; ``source``: the real file or folder its bytes are read
    from, relative to the boundary, with no link on the way; ``is_dir``: a folder.
    """

    path: str
    source: str
    is_dir: bool


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISREG, "a file"), (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
             (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def describe_link(link: Path) -> str:
    """``'link' -> 'what it holds'`` for an error message."""
    try:
        return f"'{link}' -> '{os.readlink(link)}'"
    except OSError:
        return f"'{link}'"


def link_target(link: Path, boundary: Path, ancestors: tuple[Path, ...] = ()) -> tuple[Path | None, str]:
    """Where the symbolic link ``link`` leads when it may be copied as what it points at: ``(target, "")``.

    Otherwise ``(None, why)``: the link is dangling, a loop, leads outside ``boundary`` (a resolved path), or
    points at a folder holding it or at one of ``ancestors`` (the real folders being walked to reach it).
    """
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return None, "is dangling (it points at nothing)"
    except (OSError, RuntimeError):
        return None, "makes a loop"
    if not target.is_relative_to(boundary):
        return None, f"leads outside '{boundary}' (to '{target}')"
    if target.is_dir() and (target in ancestors or link.parent.resolve().is_relative_to(target)):
        return None, f"makes a loop (it points at '{target}', a folder holding it)"
    return target, ""


def folder_entries(folder: str | os.PathLike, what: str, *, boundary: Path | None = None,
                   problems: Literal["refuse", "skip"] = "refuse",
                   ignore: Callable[[str], bool] | None = None) -> list[TreeEntry]:
    """The files and folders under ``folder`` to copy: each folder before what it holds, names sorted.

    ``folder`` itself may be a link (the caller named it). Inside it a symbolic link is copied as the file or
    folder it points at when :func:`link_target` allows it within ``boundary`` (default: ``folder`` resolved);
    other links and special files (pipes, sockets, devices) raise an InvalidArgumentError naming them and
    ``what`` (whose folder it is), or are left out with ``problems="skip"``. ``ignore(name)`` leaves a name out
    (with all it holds) before any check.
    """
    start = Path(folder).resolve(strict=True)
    bound = boundary if boundary is not None else start
    entries: list[TreeEntry] = []
    pending: list[tuple[Path, Path, str, tuple[Path, ...]]] = [(start, Path(folder), "", (start,))]
    while pending:
        real_dir, shown_dir, relative, ancestors = pending.pop()
        with os.scandir(real_dir) as scan:
            items = sorted(scan, key=lambda item: item.name)
        below = []
        for item in items:
            if ignore is not None and ignore(item.name):
                continue
            shown_path, real = shown_dir / item.name, real_dir / item.name
            path = f"{relative}/{item.name}" if relative else item.name
            mode = item.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                target, why = link_target(real, bound, ancestors)
                if target is None:
                    if problems == "skip":
                        continue
                    raise InvalidArgumentError(
                        f"{what} holds the symbolic link {describe_link(shown_path)}, which {why}. A link is copied "
                        "only as the file or folder it points at inside the folder; copy the file into the folder, "
                        "or remove the link.")
                real, mode = target, target.stat().st_mode
            if stat.S_ISDIR(mode):
                entries.append(TreeEntry(path, real.relative_to(bound).as_posix(), True))
                below.append((real, shown_path, path, (*ancestors, real)))
            elif stat.S_ISREG(mode):
                entries.append(TreeEntry(path, real.relative_to(bound).as_posix(), False))
            elif problems == "refuse":
                raise InvalidArgumentError(f"{what} holds '{shown_path}', {_kind(mode)}: only regular files and "
                                           "folders are copied. Remove it, or copy the folder without it.")
        pending.extend(reversed(below))
    return entries


def open_folder(folder: str | os.PathLike) -> int:
    """A descriptor of ``folder`` (which may be a link: the caller named it), to read or write below it."""
    return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)


def open_below(root_fd: int, relative: str, shown: str | os.PathLike) -> int:
    """A read-only descriptor of the regular file ``relative`` below the folder ``root_fd``.

    Each component is opened with ``O_NOFOLLOW``: if a link was swapped in anywhere on the way since the
    folder was walked, nothing is read through it and an InvalidArgumentError names ``shown``.
    """
    parts = relative.split("/")
    opened: list[int] = []
    try:
        current = root_fd
        for part in parts[:-1]:
            current = os.open(part, _DIRECTORY_FLAGS, dir_fd=current)
            opened.append(current)
        descriptor = os.open(parts[-1], _READ_FLAGS, dir_fd=current)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise InvalidArgumentError(f"Cannot read '{shown}': it, or a folder on its way, became a symbolic link "
                                       "(or stopped being a folder) while it was being copied; nothing was read "
                                       "through it.") from None
        raise
    finally:
        for number in opened:
            os.close(number)
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise InvalidArgumentError(f"Cannot read '{shown}': it is now {_kind(mode)}, not a regular file.")
    return descriptor


def copy_descriptor(source_fd: int, target_fd: int) -> None:
    """Copy what ``source_fd`` holds from its current offset to ``target_fd``."""
    if sys.platform == "linux":
        try:
            while os.sendfile(target_fd, source_fd, None, 1 << 30):
                pass
            return
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
    while chunk := os.read(source_fd, 1 << 20):
        view = memoryview(chunk)
        while view:
            view = view[os.write(target_fd, view):]


def copy_file_below(root_fd: int, relative: str, target: Path, shown: str | os.PathLike, *,
                    keep_mode: bool = False, check: Callable[[os.stat_result, Path], None] | None = None) -> None:
    """Copy the file ``relative`` below ``root_fd`` (see :func:`open_below`) to the new file ``target``.

    ``target`` is created (never opened through a link); it gets the source's permission bits with
    ``keep_mode``, else 0666 less the umask. ``check(stat of the source, shown)`` may refuse it first.
    """
    source = open_below(root_fd, relative, shown)
    try:
        info = os.fstat(source)
        if check is not None:
            check(info, Path(shown))
        written = os.open(target, _CREATE_FLAGS, 0o666)
        try:
            copy_descriptor(source, written)
            if keep_mode:
                os.fchmod(written, stat.S_IMODE(info.st_mode) & 0o777)
        finally:
            os.close(written)
    finally:
        os.close(source)


def copy_entries(root_fd: int, entries: list[TreeEntry], target: Path, shown: Path, *, keep_mode: bool = False,
                 check: Callable[[os.stat_result, Path], None] | None = None) -> None:
    """Copy ``entries`` (of :func:`folder_entries`), read below ``root_fd``, into the existing private folder
    ``target`` (nobody else writes there: folders are made by path)."""
    for entry in entries:
        if entry.is_dir:
            (target / entry.path).mkdir()
        else:
            copy_file_below(root_fd, entry.source, target / entry.path, shown / entry.path, keep_mode=keep_mode,
                            check=check)


def open_folder_at(parent_fd: int, name: str, shown: str | os.PathLike) -> int:
    """A descriptor of the folder ``name`` in ``parent_fd``, made if missing, never reached through a link.

    A symbolic link there (to a folder or not, dangling or not) is refused with an InvalidArgumentError naming
    it, and so is a file.
    """
    try:
        os.mkdir(name, 0o777, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        return os.open(name, _DIRECTORY_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno not in _LINK_ERRNOS:
            raise
        mode = os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        raise InvalidArgumentError(
            f"Cannot write into {describe_link(Path(shown))}: it is a symbolic link, and mlcask never writes "
            "through a link inside a destination (it may lead anywhere). Remove the link, or choose another "
            "destination.")
    raise InvalidArgumentError(f"Cannot write into '{shown}': it is {_kind(mode)}, not a folder.")


def open_folders_at(root_fd: int, relative: str, shown: Path) -> int:
    """A descriptor of the folder ``relative`` ('' for itself) below ``root_fd`` (shown as ``shown``), each
    component made or opened by :func:`open_folder_at`."""
    current = os.dup(root_fd)
    walked = shown
    for part in relative.split("/") if relative else []:
        walked = walked / part
        try:
            following = open_folder_at(current, part, walked)
        finally:
            os.close(current)
        current = following
    return current


def write_file_at(folder_fd: int, name: str, write: Callable[[BinaryIO], object], shown: str | os.PathLike, *,
                  mode: int = NEW_FILE_MODE) -> None:
    """Write the file ``name`` in ``folder_fd`` with ``write(handle)``.

    The bytes go into a private (0600) temporary file, given ``mode`` and renamed over ``name`` at the end,
    so a reader never sees half a file and a link at ``name`` is replaced, not written through; a folder at
    ``name`` is refused, naming ``shown``. On any failure the temporary file is removed.
    """
    partial = f"{PARTIAL_PREFIX}{secrets.token_hex(8)}"
    descriptor = os.open(partial, _CREATE_FLAGS, 0o600, dir_fd=folder_fd)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            os.fchmod(handle.fileno(), mode)
        try:
            existing = os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            existing = 0
        if stat.S_ISDIR(existing):
            raise InvalidArgumentError(f"Cannot write the file '{shown}': a folder is in the way.")
        os.replace(partial, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        try:
            os.unlink(partial, dir_fd=folder_fd)
        except OSError:
            pass
        raise


def replace_file_at(folder_fd: int, name: str, source_fd: int, shown: str | os.PathLike, *,
                    mode: int | None = None, times_ns: tuple[int, int] | None = None) -> None:
    """Write what ``source_fd`` holds as ``name`` in ``folder_fd``.

    The bytes go into a private (0600) temporary file renamed over ``name`` at the end, so a reader never sees
    half a file, and a symbolic or hard link at ``name`` is replaced, not written through. ``mode`` and
    ``times_ns`` (access, modification) are set on the new file first.
    """
    partial = f"{PARTIAL_PREFIX}{secrets.token_hex(8)}"
    written = os.open(partial, _CREATE_FLAGS, 0o600, dir_fd=folder_fd)
    try:
        try:
            copy_descriptor(source_fd, written)
            if mode is not None:
                os.fchmod(written, mode)
            if times_ns is not None:
                os.utime(written, ns=times_ns)
        finally:
            os.close(written)
        os.replace(partial, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException as exc:
        try:
            os.unlink(partial, dir_fd=folder_fd)
        except OSError:
            pass
        if isinstance(exc, IsADirectoryError):
            raise InvalidArgumentError(f"Cannot write the file '{shown}': a folder is in the way.") from None
        raise
