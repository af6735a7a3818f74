"""Links around artifacts: planted in a download's destination, in a folder being logged or in a
package of code, or swapped in while a copy runs.

The rules (SECURITY.md, "Paths"): nothing mlcask creates inside a ``dst_path`` is reached through
a link (a folder that is a link is refused, a file is renamed over, replacing the link); inside a
folder being logged (``log_artifacts``, ``code_paths``) a link is copied as the file it points at
only when it stays inside the folder, and anything else that is not a plain file or folder is
refused; every byte is read through ``O_NOFOLLOW`` descriptors, so a link swapped in after the
walk is refused too. Paths the caller names themselves (``dst_path``, ``local_dir``, the file of
``log_artifact``) may be links.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking import artifacts, transfer_checks
from mlcask.tracking.artifacts import LocalArtifactRepository
from mlcask.utils import paths

SECRET = b"TOP-SECRET-SENTINEL"
MLMODEL = b"flavors: {}\n"
WEIGHTS = b"W" * 10


def _state(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (links not followed): mode, size, contents or link target."""
    state = {}
    for base, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(base, name)
            info = path.lstat()
            content = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else None
            state[str(path.relative_to(folder))] = (info.st_mode, info.st_size, content)
    return state


def _no_secret(folder: Path) -> bool:
    return not any(SECRET in p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture
def victim(tmp_path):
    """What an attacker wants overwritten or read: a 0600 file in a folder outside everything else."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "authorized_keys").write_bytes(SECRET)
    (folder / "authorized_keys").chmod(0o600)
    before = _state(folder)
    yield folder
    assert _state(folder) == before, "the victim folder changed"


@pytest.fixture
def repository(tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("model/MLmodel", MLMODEL)
    repository.write_bytes("model/sub/weights.bin", WEIGHTS)
    return repository


# -- downloads: links planted in dst_path ---------------------------------------------------------------
@pytest.mark.parametrize("relative", [False, True], ids=["absolute-link", "relative-link"])
def test_a_file_link_in_the_destination_is_replaced_not_written_through(repository, victim, tmp_path, relative):
    dst = tmp_path / "dst"
    (dst / "model").mkdir(parents=True)
    keys = victim / "authorized_keys"
    (dst / "model" / "MLmodel").symlink_to(os.path.relpath(keys, dst / "model") if relative else keys)
    assert repository.download_artifacts("model", dst) == str(dst / "model")
    planted = dst / "model" / "MLmodel"
    assert not planted.is_symlink() and planted.read_bytes() == MLMODEL
    assert (dst / "model" / "sub" / "weights.bin").read_bytes() == WEIGHTS


def test_a_single_file_downloaded_over_a_link_replaces_the_link(repository, victim, tmp_path):
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "MLmodel").symlink_to(victim / "authorized_keys")
    repository.download_artifacts("model/MLmodel", dst)
    assert not (dst / "MLmodel").is_symlink() and (dst / "MLmodel").read_bytes() == MLMODEL


def test_a_dangling_file_link_does_not_create_its_target(repository, victim, tmp_path):
    dst = tmp_path / "dst"
    (dst / "model").mkdir(parents=True)
    (dst / "model" / "MLmodel").symlink_to(victim / "planted")  # following it would create victim/planted
    repository.download_artifacts("model", dst)
    assert (dst / "model" / "MLmodel").read_bytes() == MLMODEL and not (victim / "planted").exists()


def test_a_hard_link_in_the_destination_is_replaced_not_written_through(repository, victim, tmp_path):
    """A hard link cannot be told from a file, but renaming over it leaves the other name's contents alone."""
    dst = tmp_path / "dst"
    (dst / "model").mkdir(parents=True)
    os.link(victim / "authorized_keys", dst / "model" / "MLmodel")
    repository.download_artifacts("model", dst)
    assert (dst / "model" / "MLmodel").read_bytes() == MLMODEL


@pytest.mark.parametrize("where", ["model", "model/sub"], ids=["link-at-the-top", "nested-link"])
def test_a_folder_link_in_the_destination_is_refused_naming_it(repository, victim, tmp_path, where):
    dst = tmp_path / "dst"
    (dst / where).parent.mkdir(parents=True, exist_ok=True)
    (dst / where).symlink_to(victim)
    with pytest.raises(InvalidArgumentError, match=rf"Cannot write into '{dst / where}' -> '{victim}': it is a "
                                                   "symbolic link"):
        repository.download_artifacts("model", dst)
    assert (dst / where).is_symlink()


def test_a_dangling_folder_link_in_the_destination_is_refused(repository, victim, tmp_path):
    dst = tmp_path / "dst"
    (dst / "model").mkdir(parents=True)
    (dst / "model" / "sub").symlink_to(victim / "new-folder")
    with pytest.raises(InvalidArgumentError, match="it is a symbolic link"):
        repository.download_artifacts("model", dst)
    assert not (victim / "new-folder").exists()


def test_a_relative_folder_link_through_dot_dot_is_refused(repository, victim, tmp_path):
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "model").symlink_to("../victim")
    with pytest.raises(InvalidArgumentError, match="it is a symbolic link"):
        repository.download_artifacts("model", dst)


def test_files_and_folders_in_the_way_are_refused(repository, tmp_path):
    dst = tmp_path / "dst"
    (dst / "model" / "MLmodel").mkdir(parents=True)
    with pytest.raises(InvalidArgumentError, match="a folder is in the way"):
        repository.download_artifacts("model", dst)
    shutil.rmtree(dst)
    (dst / "model").mkdir(parents=True)
    (dst / "model" / "sub").write_text("a file")
    with pytest.raises(InvalidArgumentError, match="it is a file, not a folder"):
        repository.download_artifacts("model", dst)
    assert not [p for p in dst.rglob("*") if p.name.startswith(paths.PARTIAL_PREFIX)]


def test_a_dst_path_that_is_itself_a_link_is_followed(repository, tmp_path):
    """The caller named dst_path: a link they made (to a bigger disk, say) is theirs to use."""
    (tmp_path / "big-disk").mkdir()
    (tmp_path / "dst").symlink_to(tmp_path / "big-disk")
    repository.download_artifacts("model", tmp_path / "dst")
    assert (tmp_path / "big-disk" / "model" / "sub" / "weights.bin").read_bytes() == WEIGHTS


def test_downloads_keep_modes_and_times_and_leave_no_partial_files(repository, tmp_path):
    stored = repository.local_path("model/sub/weights.bin")
    stored.chmod(0o640)
    os.utime(stored, ns=(1_000_000_000, 2_000_000_000))
    copied = Path(repository.download_artifacts("model", tmp_path / "dst")) / "sub" / "weights.bin"
    assert (copied.stat().st_mode & 0o777, copied.stat().st_mtime_ns) == (0o640, 2_000_000_000)
    repository.download_artifacts("model", tmp_path / "dst")  # again, over the first copy
    assert sorted(p.name for p in (tmp_path / "dst" / "model").rglob("*")) == ["MLmodel", "sub", "weights.bin"]


def test_a_folder_replaced_by_a_link_after_mlcask_opened_it_is_not_followed(repository, victim, tmp_path,
                                                                           monkeypatch):
    """The race: mlcask has opened dst/model/sub; before the file inside is written, someone renames the
    folder away and plants a link to the victim in its place. The file lands in the folder mlcask opened,
    wherever it now is, never in the victim."""
    dst = tmp_path / "dst"
    real_replace = artifacts.replace_file_at

    def swap_then_write(folder_fd, name, *args, **kwargs):
        if name == "weights.bin":
            os.rename(dst / "model" / "sub", dst / "moved")
            (dst / "model" / "sub").symlink_to(victim)
        return real_replace(folder_fd, name, *args, **kwargs)

    monkeypatch.setattr(artifacts, "replace_file_at", swap_then_write)
    repository.download_artifacts("model", dst)
    assert (dst / "moved" / "weights.bin").read_bytes() == WEIGHTS and (dst / "model" / "sub").is_symlink()


def test_flipping_a_folder_and_a_link_during_downloads_never_writes_through(repository, victim, tmp_path):
    """Another process swaps dst/model/sub between a folder and a link to the victim as fast as it can."""
    dst = tmp_path / "dst"
    sub, stop = dst / "model" / "sub", threading.Event()

    def flip() -> None:
        number = 0
        while not stop.is_set():
            try:
                if sub.is_symlink():
                    sub.unlink()
                elif sub.is_dir():
                    number += 1
                    os.rename(sub, dst / f"moved-{number}")
                    sub.symlink_to(victim)
            except OSError:
                pass

    flipper = threading.Thread(target=flip)
    flipper.start()
    refused = done = 0
    deadline = time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline:
            try:
                repository.download_artifacts("model", dst)
                done += 1
            except InvalidArgumentError:
                refused += 1
            except FileNotFoundError:
                pass  # the flipper moved a folder mlcask had just made
    finally:
        stop.set()
        flipper.join()
    assert done + refused > 10


# -- downloads: links in the artifact root --------------------------------------------------------------
def test_a_source_file_swapped_for_a_link_after_the_walk_is_not_read(repository, tmp_path, monkeypatch):
    (tmp_path / "secret.txt").write_bytes(SECRET)
    real_entries = artifacts.folder_entries

    def walk_then_swap(*args, **kwargs):
        entries = real_entries(*args, **kwargs)
        stored = repository.local_path("model/sub/weights.bin")
        stored.unlink()
        stored.symlink_to(tmp_path / "secret.txt")
        return entries

    monkeypatch.setattr(artifacts, "folder_entries", walk_then_swap)
    with pytest.raises(InvalidArgumentError, match="became a symbolic link"):
        repository.download_artifacts("model", tmp_path / "dst")
    assert _no_secret(tmp_path / "dst")


def test_a_source_folder_swapped_for_a_link_after_the_walk_is_not_read(repository, tmp_path, monkeypatch):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "weights.bin").write_bytes(SECRET)
    real_entries = artifacts.folder_entries

    def walk_then_swap(*args, **kwargs):
        entries = real_entries(*args, **kwargs)
        folder = repository.local_path("model/sub")
        shutil.rmtree(folder)
        folder.symlink_to(tmp_path / "elsewhere")
        return entries

    monkeypatch.setattr(artifacts, "folder_entries", walk_then_swap)
    with pytest.raises(InvalidArgumentError, match="became a symbolic link"):
        repository.download_artifacts("model", tmp_path / "dst")
    assert _no_secret(tmp_path / "dst")


def test_special_files_and_links_out_of_the_root_are_left_out_of_a_download(repository, tmp_path):
    (tmp_path / "secret.txt").write_bytes(SECRET)
    model = repository.local_path("model")
    (model / "out").symlink_to(tmp_path / "secret.txt")
    (model / "inside").symlink_to(model / "sub")
    os.mkfifo(model / "pipe")
    copied = Path(repository.download_artifacts("model", tmp_path / "dst"))
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*")) == [
        "MLmodel", "inside", "inside/weights.bin", "sub", "sub/weights.bin"]
    assert not any(p.is_symlink() for p in copied.rglob("*"))


# -- uploads: links in the folder being logged ----------------------------------------------------------
@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "source"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "deeper" / "b.txt").write_text("b")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "credentials").write_bytes(SECRET)
    return folder


def _uploaded(repository: LocalArtifactRepository) -> list[str]:
    return sorted(p.relative_to(repository.root).as_posix() for p in repository.root.rglob("*")) \
        if repository.root.exists() else []


@pytest.mark.parametrize("where, target, why", [
    ("creds", "{out}/credentials", "leads outside"),
    ("creds", "../outside/credentials", "leads outside"),
    ("linked_dir", "{out}", "leads outside"),
    ("sub/deeper/creds", "{out}/credentials", "leads outside"),
    ("sub/deeper/creds", "../../../outside/credentials", "leads outside"),
    ("dangling", "{out}/missing", "is dangling"),
    ("sub/loop", "..", "makes a loop"),
    ("sub/self", "self", "makes a loop"),
], ids=["file-link", "relative-file-link", "folder-link", "nested-link", "nested-relative-link", "dangling",
        "loop-to-parent", "self-loop"])
@pytest.mark.parametrize("destination", ["fresh", None], ids=["new-folder", "merged-into-root"])
def test_log_artifacts_refuses_links_leading_out_naming_them(source, tmp_path, where, target, why, destination):
    (source / where).symlink_to(target.format(out=tmp_path / "outside"))
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("kept.txt", b"k")
    with pytest.raises(InvalidArgumentError, match=rf"holds the symbolic link '{source / where}' -> '.*', which "
                                                   rf"{why}"):
        repository.log_artifacts(source, destination)
    assert _uploaded(repository) == ["kept.txt"]


def test_log_artifacts_copies_links_that_stay_inside_as_files(source, tmp_path):
    (source / "alias.txt").symlink_to("a.txt")
    (source / "sub" / "up_to_b").symlink_to(source / "sub" / "deeper" / "b.txt")
    (source / "shortcut").symlink_to("sub/deeper")
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.log_artifacts(source, "logged")
    logged = repository.root / "logged"
    assert {p.relative_to(logged).as_posix(): p.read_text() for p in logged.rglob("*") if p.is_file()} == {
        "a.txt": "a", "alias.txt": "a", "shortcut/b.txt": "b", "sub/deeper/b.txt": "b", "sub/up_to_b": "b"}
    assert not any(p.is_symlink() for p in logged.rglob("*"))


def test_log_artifacts_refuses_special_files(source, tmp_path):
    os.mkfifo(source / "sub" / "pipe")
    repository = LocalArtifactRepository(tmp_path / "root")
    with pytest.raises(InvalidArgumentError, match=r"holds '.*sub/pipe', a named pipe \(FIFO\)"):
        repository.log_artifacts(source, "logged")
    assert _uploaded(repository) == []


def test_a_local_dir_that_is_itself_a_link_is_followed(source, tmp_path):
    (tmp_path / "alias").symlink_to(source)
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.log_artifacts(tmp_path / "alias", "logged")
    assert (repository.root / "logged" / "sub" / "deeper" / "b.txt").read_text() == "b"


def test_log_artifact_copies_the_file_a_named_link_points_at(tmp_path):
    """The caller named the link: as in MLflow, the file it points at is copied, under the link's name."""
    (tmp_path / "real.txt").write_text("real")
    (tmp_path / "named.txt").symlink_to("real.txt")
    (tmp_path / "nowhere.txt").symlink_to("missing.txt")
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.log_artifact(tmp_path / "named.txt")
    assert (repository.root / "named.txt").read_text() == "real" and not (repository.root / "named.txt").is_symlink()
    with pytest.raises(InvalidArgumentError, match=r"is not a file \(a symbolic link to nothing\)"):
        repository.log_artifact(tmp_path / "nowhere.txt")


@pytest.mark.parametrize("destination", ["fresh", None], ids=["new-folder", "merged-into-root"])
def test_a_file_swapped_for_a_link_after_the_walk_is_not_uploaded(source, tmp_path, monkeypatch, destination):
    real_entries = transfer_checks.folder_entries

    def walk_then_swap(*args, **kwargs):
        entries = real_entries(*args, **kwargs)
        (source / "sub" / "deeper" / "b.txt").unlink()
        (source / "sub" / "deeper" / "b.txt").symlink_to(tmp_path / "outside" / "credentials")
        return entries

    monkeypatch.setattr(transfer_checks, "folder_entries", walk_then_swap)
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("kept.txt", b"k")
    with pytest.raises(InvalidArgumentError, match="became a symbolic link"):
        repository.log_artifacts(source, destination)
    assert _no_secret(repository.root)


def test_a_folder_swapped_for_a_link_after_the_walk_is_not_uploaded(source, tmp_path, monkeypatch):
    (tmp_path / "outside" / "deeper").mkdir()
    (tmp_path / "outside" / "deeper" / "b.txt").write_bytes(SECRET)
    real_entries = transfer_checks.folder_entries

    def walk_then_swap(*args, **kwargs):
        entries = real_entries(*args, **kwargs)
        shutil.rmtree(source / "sub" / "deeper")
        (source / "sub" / "deeper").symlink_to(tmp_path / "outside" / "deeper")
        return entries

    monkeypatch.setattr(transfer_checks, "folder_entries", walk_then_swap)
    repository = LocalArtifactRepository(tmp_path / "root")
    with pytest.raises(InvalidArgumentError, match="became a symbolic link"):
        repository.log_artifacts(source, "logged")
    assert _no_secret(repository.root) and _uploaded(repository) == []


def test_a_hard_link_in_the_folder_is_uploaded_as_the_file_it_is(source, tmp_path):
    """Hard links cannot be told apart from files: one to a file elsewhere is uploaded (except a hard link to
    the signing key, see test_mlcask_home.py). On Linux, fs.protected_hardlinks stops others making one to
    a file they cannot write."""
    os.link(tmp_path / "outside" / "credentials", source / "hard")
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.log_artifacts(source, "logged")
    assert (repository.root / "logged" / "hard").read_bytes() == SECRET


def test_the_fluent_api_refuses_a_link_out_of_the_folder(tracking, source, tmp_path):
    (source / "creds").symlink_to(tmp_path / "outside" / "credentials")
    with mlcask.start_run() as run:
        with pytest.raises(InvalidArgumentError, match="holds the symbolic link"):
            mlcask.log_artifacts(str(source), "logged")
        with pytest.raises(InvalidArgumentError, match="holds the symbolic link"):
            mlcask.log_artifact(str(source))  # a folder given to log_artifact is logged as a folder
    root = Path(run.info.artifact_uri)
    assert not root.exists() or not any(root.rglob("*"))


# -- code_paths: the same rule ------------------------------------------------------------------------------
def _save_with_code(tmp_path: Path, package: Path) -> Path:
    import mlcask.pyfunc

    class Echo(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[], code_paths=[str(package)])
    return tmp_path / "model" / "code" / package.name


@pytest.fixture
def package(tmp_path):
    folder = tmp_path / "pkg"
    (folder / "sub").mkdir(parents=True)
    (folder / "__init__.py").write_text("X = 1\n")
    (folder / "sub" / "mod.py").write_text("Y = 2\n")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return folder


@pytest.mark.parametrize("where, target", [("sub/nested_out", "../../secret.txt"), ("sub/loop", "..")],
                         ids=["nested-relative-link-out", "loop"])
def test_code_paths_refuse_nested_links_out_and_loops(tmp_path, package, where, target):
    (package / where).symlink_to(target)
    with pytest.raises(InvalidArgumentError, match=rf"code_paths entry '{package}' holds the symbolic link"):
        _save_with_code(tmp_path, package)
    assert not (tmp_path / "model").exists()


def test_code_paths_copy_folder_links_inside_the_package(tmp_path, package):
    (package / "alias").symlink_to("sub")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "stale.pyc").write_bytes(b"\0")
    (package / "__pycache__" / "dangling").symlink_to("/nowhere")  # ignored with the rest of __pycache__
    copied = _save_with_code(tmp_path, package)
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*")) == [
        "__init__.py", "alias", "alias/mod.py", "sub", "sub/mod.py"]
    assert not any(p.is_symlink() for p in copied.rglob("*"))


def test_code_paths_refuse_special_files(tmp_path, package):
    os.mkfifo(package / "pipe")
    with pytest.raises(InvalidArgumentError, match=r"a named pipe \(FIFO\)"):
        _save_with_code(tmp_path, package)
