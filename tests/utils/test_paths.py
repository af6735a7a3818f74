"""The folder-copying helpers of mlcask.utils.paths: the link rule, O_NOFOLLOW reads, writes that
never go through a link, and the overlap check behind the MLCASK_HOME refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlcask.exceptions import InvalidArgumentError
from mlcask.utils import paths
from mlcask.utils.paths import (
    TreeEntry,
    copy_descriptor,
    folder_entries,
    local_spellings,
    open_below,
    open_folder,
    open_folder_at,
    path_relation,
    refuse_overlap,
    replace_file_at,
)


# -- path_relation, local_spellings, refuse_overlap ---------------------------------------------------------
@pytest.mark.parametrize("path, folder, expected", [
    ("/a/b", "/a/b", "is"), ("/a/b/c", "/a/b", "is inside"), ("/a", "/a/b", "contains"), ("/", "/a", "contains"),
    ("/a/bc", "/a/b", None), ("/a/b", "/a/bc", None), ("/x", "/a", None),
])
def test_path_relation(path, folder, expected):
    assert path_relation(path, folder) == expected


def test_local_spellings(monkeypatch):
    monkeypatch.setenv("HOME", "/home/someone")
    assert local_spellings("file:///a/%2E%2E/b") == ["/a/../b"]
    assert local_spellings("~/x%252Fy") == ["~/x%252Fy", "/home/someone/x%252Fy", "~/x%2Fy", "/home/someone/x%2Fy",
                                            "~/x/y", "/home/someone/x/y"]
    assert local_spellings("s3://bucket/key") == [] and local_spellings("C:/data") == ["C:/data"]


def test_refuse_overlap_names_the_location_how_it_was_read_and_the_relation(tmp_path):
    protected = tmp_path / "keys"
    protected.mkdir()
    (tmp_path / "alias").symlink_to(protected)
    description = "the key folder '{folder}'"
    cases = [(protected / "a", "it is inside"), (f"file://{tmp_path}/alias", f"it \\(read as '{protected}'\\) is"),
             (tmp_path, "it contains"), (f"{tmp_path}/alias/../keys", "it .* is")]
    for location, relation in cases:
        with pytest.raises(InvalidArgumentError, match=f"^Thing '.*' is refused: {relation} the key folder "
                                                       f"'{protected}'. Do otherwise.$"):
            refuse_overlap(location, protected, "Thing", description, "Do otherwise.")
    refuse_overlap(tmp_path / "keys2", protected, "Thing", description, "")  # a sibling is fine
    refuse_overlap(tmp_path / "alias2", protected, "Thing", description, "")


def test_refuse_overlap_survives_a_link_loop(tmp_path):
    (tmp_path / "loop").symlink_to("loop")
    refuse_overlap(tmp_path / "loop" / "x", tmp_path / "keys", "Thing", "'{folder}'", "")
    with pytest.raises(InvalidArgumentError, match="contains"):
        refuse_overlap(tmp_path, tmp_path / "loop", "Thing", "'{folder}'", "")


# -- folder_entries ------------------------------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path):
    folder = tmp_path / "tree"
    (folder / "b" / "c").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "b" / "c" / "d.txt").write_text("d")
    (tmp_path / "outside.txt").write_text("x")
    return folder


def test_folder_entries_lists_folders_before_what_they_hold(tree):
    (tree / "b" / "alias").symlink_to("c/d.txt")
    (tree / "shortcut").symlink_to("b/c")
    assert folder_entries(tree, "T") == [
        TreeEntry("a.txt", "a.txt", False), TreeEntry("b", "b", True), TreeEntry("shortcut", "b/c", True),
        TreeEntry("b/alias", "b/c/d.txt", False), TreeEntry("b/c", "b/c", True),
        TreeEntry("b/c/d.txt", "b/c/d.txt", False), TreeEntry("shortcut/d.txt", "b/c/d.txt", False)]


def test_folder_entries_with_a_wider_boundary(tree):
    (tree / "b" / "up").symlink_to(tree / "a.txt")  # outside b, inside tree
    with pytest.raises(InvalidArgumentError, match="leads outside"):
        folder_entries(tree / "b", "T")
    assert TreeEntry("up", "a.txt", False) in folder_entries(tree / "b", "T", boundary=tree.resolve())


@pytest.mark.parametrize("links", [
    {"b/c/back": "../.."},  # to the top
    {"b/c/here": "."},  # to the folder holding it
    {"x": "b", "b/c/y": "../../x"},  # through a second link
    {"p": "b", "b/q": "../r", "r": "b/c", "b/c/s": "../../p"},  # a cycle of three
], ids=["to-the-top", "to-itself", "two-links", "three-links"])
def test_folder_entries_refuses_loops(tree, links):
    for where, target in links.items():
        (tree / where).symlink_to(target)
    with pytest.raises(InvalidArgumentError, match="makes a loop"):
        folder_entries(tree, "T")


def test_folder_entries_skips_instead_of_refusing_when_asked(tree, tmp_path):
    (tree / "out").symlink_to(tmp_path / "outside.txt")
    (tree / "gone").symlink_to(tmp_path / "missing")
    (tree / "b" / "loop").symlink_to("..")
    os.mkfifo(tree / "pipe")
    assert [e.path for e in folder_entries(tree, "T", problems="skip")] == ["a.txt", "b", "b/c", "b/c/d.txt"]
    assert [e.path for e in folder_entries(tree, "T", ignore=lambda name: name in ("b", "out", "gone", "pipe"))] == [
        "a.txt"]


def test_folder_entries_names_whose_folder_and_the_link(tree, tmp_path):
    (tree / "b" / "c" / "creds").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(InvalidArgumentError, match=rf"^log_artifacts: the folder 'x' holds the symbolic link "
                                                   rf"'{tree}/b/c/creds' -> '{tmp_path}/outside.txt', which leads "
                                                   rf"outside '{tree}' \(to '{tmp_path}/outside.txt'\)\."):
        folder_entries(tree, "log_artifacts: the folder 'x'")


# -- reading below a folder ------------------------------------------------------------------------------------
def _read(root: Path, relative: str) -> bytes:
    descriptor = open_folder(root)
    try:
        number = open_below(descriptor, relative, root / relative)
        try:
            return os.read(number, 100)
        finally:
            os.close(number)
    finally:
        os.close(descriptor)


def test_open_below_reads_plain_paths_and_refuses_links_anywhere_on_the_way(tree, tmp_path):
    assert _read(tree, "b/c/d.txt") == b"d"
    (tree / "last").symlink_to("a.txt")  # even a link that stays inside: the walk resolved links already
    (tree / "middle").symlink_to("b")
    for relative in ("last", "middle/c/d.txt"):
        with pytest.raises(InvalidArgumentError, match="became a symbolic link"):
            _read(tree, relative)


def test_open_below_refuses_special_files_without_blocking(tree):
    os.mkfifo(tree / "pipe")  # opening a FIFO for reading would wait for a writer
    with pytest.raises(InvalidArgumentError, match=r"it is now a named pipe \(FIFO\), not a regular file"):
        _read(tree, "pipe")
    with pytest.raises(InvalidArgumentError, match="it is now a folder"):
        _read(tree, "b")


@pytest.mark.parametrize("platform", ["linux", "other"])
def test_copy_descriptor_copies_everything(tmp_path, monkeypatch, platform):
    monkeypatch.setattr(paths.sys, "platform", platform)  # "other": the read/write loop instead of sendfile
    data = os.urandom(3 * (1 << 20) + 7)
    (tmp_path / "big").write_bytes(data)
    with open(tmp_path / "big", "rb") as source, open(tmp_path / "copy", "wb") as target:
        copy_descriptor(source.fileno(), target.fileno())
    assert (tmp_path / "copy").read_bytes() == data


# -- writing without following links ----------------------------------------------------------------------------
def _write(folder: Path, name: str, data: bytes, tmp_path: Path) -> None:
    (tmp_path / "payload").write_bytes(data)
    descriptor = open_folder(folder)
    try:
        with open(tmp_path / "payload", "rb") as source:
            replace_file_at(descriptor, name, source.fileno(), folder / name, mode=0o640)
    finally:
        os.close(descriptor)


def test_replace_file_at_replaces_links_and_hard_links(tmp_path):
    (tmp_path / "dst").mkdir()
    (tmp_path / "victim").write_bytes(b"victim")
    (tmp_path / "dst" / "soft").symlink_to(tmp_path / "victim")
    os.link(tmp_path / "victim", tmp_path / "dst" / "hard")
    for name in ("soft", "hard", "new"):
        _write(tmp_path / "dst", name, b"mine", tmp_path)
        written = tmp_path / "dst" / name
        assert not written.is_symlink() and written.read_bytes() == b"mine" and written.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "victim").read_bytes() == b"victim"
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["hard", "new", "soft"]


def test_replace_file_at_leaves_nothing_behind_when_it_fails(tmp_path, monkeypatch):
    (tmp_path / "dst" / "folder").mkdir(parents=True)
    with pytest.raises(InvalidArgumentError, match="a folder is in the way"):
        _write(tmp_path / "dst", "folder", b"x", tmp_path)

    def broken(source_fd, target_fd):
        os.write(target_fd, b"half")
        raise OSError("disk full")

    monkeypatch.setattr(paths, "copy_descriptor", broken)
    with pytest.raises(OSError, match="disk full"):
        _write(tmp_path / "dst", "file", b"x", tmp_path)
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["folder"]


def test_open_folder_at_makes_folders_and_refuses_links_and_files(tmp_path):
    (tmp_path / "dst").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "dst" / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "dst" / "dangling").symlink_to(tmp_path / "elsewhere" / "new")
    (tmp_path / "dst" / "file").write_text("f")
    parent = open_folder(tmp_path / "dst")
    try:
        os.close(open_folder_at(parent, "made", tmp_path / "dst" / "made"))
        os.close(open_folder_at(parent, "made", tmp_path / "dst" / "made"))  # twice: opened the second time
        for name, message in [("link", "it is a symbolic link"), ("dangling", "it is a symbolic link"),
                              ("file", "it is a file, not a folder")]:
            with pytest.raises(InvalidArgumentError, match=rf"Cannot write into '{tmp_path}/dst/{name}'.*{message}"):
                open_folder_at(parent, name, tmp_path / "dst" / name)
    finally:
        os.close(parent)
    assert (tmp_path / "dst" / "made").is_dir() and list((tmp_path / "elsewhere").iterdir()) == []
