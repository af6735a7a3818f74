import os
import stat
import types
from pathlib import Path

import pytest

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.artifacts import (
    UPLOAD_STAGING_PREFIX,
    LocalArtifactRepository,
    clean_relative_path,
    get_artifact_repository,
)


@pytest.mark.parametrize(
    "path, expected",
    [(None, ""), ("", ""), ("a/b.txt", "a/b.txt"), ("./a//b/", "a/b"), ("dir/./x", "dir/x"), ("a%20b", "a b"),
     ("a;b/50%.txt", "a;b/50%.txt"), ("v1.2/model..bak", "v1.2/model..bak"), ("\u00e9t\u00e9/x", "\u00e9t\u00e9/x")],
)
def test_clean_relative_path_accepts_plain_relative_paths(path, expected):
    assert clean_relative_path(path) == expected


@pytest.mark.parametrize(
    "path, message",
    [
        ("../etc/passwd", "'..' segments"),
        ("a/../../b", "'..' segments"),
        ("%2e%2e/secret", "'..' segments"),
        ("%252e%252e/secret", "'..' segments"),
        ("/etc/passwd", "must be relative"),
        ("%2Fetc%2Fpasswd", "must be relative"),
        ("..\\windows", "backslash"),
        ("a\x00b", "control character"),
        ("~/x", "must be relative"),
        ("..;/x", "'..' segments"),
        ("\uff0e\uff0e/x", "after Unicode NFKC normalisation: '../x'"),
        ("%c0%ae%c0%ae/x", "not UTF-8"),
        ("C:/Windows", "drive letter"),
        ("file:///etc/passwd", "is a URI"),
        ("..../x", "'..' segments"),
        ("a/" * 600, "longer than the limit"),
    ],
)
def test_traversal_forms_are_refused(path, message):
    with pytest.raises(InvalidArgumentError, match=message):
        clean_relative_path(path)


def test_log_list_and_download(tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("A")
    (tmp_path / "data" / "sub").mkdir()
    (tmp_path / "data" / "sub" / "b.txt").write_text("BB")
    repository.log_artifacts(tmp_path / "data", "inputs")
    repository.log_artifact(tmp_path / "data" / "a.txt")
    assert [(f.path, f.is_dir, f.file_size) for f in repository.list_artifacts()] == [
        ("a.txt", False, 1), ("inputs", True, None)]
    assert [f.path for f in repository.list_artifacts("inputs")] == ["inputs/a.txt", "inputs/sub"]
    assert repository.list_artifacts("inputs/sub")[0].file_size == 2
    local = repository.download_artifacts("inputs/sub/b.txt")
    assert open(local).read() == "BB"
    copied = repository.download_artifacts("inputs", tmp_path / "out")
    assert (tmp_path / "out" / "inputs" / "sub" / "b.txt").read_text() == "BB" and copied.endswith("inputs")


def test_symlink_leading_out_of_the_root_is_refused(tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(InvalidArgumentError, match="outside the artifact root"):
        repository.list_artifacts("link")


def test_errors_name_the_problem(tmp_path):
    repository = LocalArtifactRepository(tmp_path)
    with pytest.raises(InvalidArgumentError, match="is not a file"):
        repository.log_artifact(tmp_path / "missing.txt")
    with pytest.raises(InvalidArgumentError, match="is not a folder"):
        repository.log_artifacts(tmp_path / "missing")
    with pytest.raises(InvalidArgumentError, match="No artifact at 'nope'"):
        repository.download_artifacts("nope")
    with pytest.raises(InvalidArgumentError, match="'..' segments"):
        repository.write_bytes("../x.txt", b"x")
    with pytest.raises(InvalidArgumentError, match="scheme 'gs:' is not supported"):
        get_artifact_repository("gs://bucket/x")


# -- atomic uploads ------------------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.fixture
def spy(monkeypatch):
    """Records every rename the repository makes, with the staging folder's state at that moment."""
    from mlcask.tracking import artifacts

    renames = []

    def recording(real):
        def rename(src, dst):
            staging = Path(src).parent
            renames.append({"src": Path(src), "dst": Path(dst), "staging": staging.name,
                            "staging_mode": stat.S_IMODE(staging.stat().st_mode),
                            "dst_existed": Path(dst).exists(), "tree": sorted(p.name for p in Path(src).rglob("*"))})
            real(src, dst)
        return rename

    proxy = types.ModuleType("os")
    proxy.__dict__.update(os.__dict__)
    proxy.replace, proxy.rename = recording(os.replace), recording(os.rename)
    monkeypatch.setattr(artifacts, "os", proxy)
    return renames


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_uploads_stage_in_a_private_folder_beside_the_target(tmp_path, spy):
    repository = LocalArtifactRepository(tmp_path / "root")
    (tmp_path / "a.txt").write_text("A")
    repository.log_artifact(tmp_path / "a.txt", "files")
    repository.write_bytes("notes/n.txt", b"N")
    assert [(r["dst"], r["dst_existed"]) for r in spy] == [
        (tmp_path / "root" / "files" / "a.txt", False), (tmp_path / "root" / "notes" / "n.txt", False)]
    for rename in spy:
        assert rename["staging"].startswith(UPLOAD_STAGING_PREFIX) and rename["staging_mode"] == 0o700
        assert rename["src"].parent.parent == rename["dst"].parent  # same folder, so the same filesystem
    files = [tmp_path / "root" / "files" / "a.txt", tmp_path / "root" / "notes" / "n.txt"]
    assert [_mode(f) for f in files] == [0o666 & ~_umask()] * 2
    assert [_mode(f.parent) for f in files] == [0o777 & ~_umask()] * 2
    assert not [p for p in (tmp_path / "root").rglob("*") if p.name.startswith(".")]  # staging folders removed


def test_a_folder_logged_to_a_new_destination_appears_at_once(tmp_path, spy):
    repository = LocalArtifactRepository(tmp_path / "root")
    source = tmp_path / "data"
    (source / "sub" / "deeper").mkdir(parents=True)
    (source / "a.txt").write_text("A")
    (source / "sub" / "b.txt").write_text("B")
    repository.log_artifacts(source, "inputs/data")
    (rename,) = spy  # one rename for the whole tree
    assert rename["dst"] == tmp_path / "root" / "inputs" / "data" and not rename["dst_existed"]
    assert rename["tree"] == ["a.txt", "b.txt", "deeper", "sub"] and rename["staging_mode"] == 0o700
    target = tmp_path / "root" / "inputs" / "data"
    assert _mode(target) == _mode(target / "sub") == _mode(target / "sub" / "deeper") == 0o777 & ~_umask()
    assert _mode(target / "sub" / "b.txt") == 0o666 & ~_umask()
    assert [f.path for f in repository.list_artifacts("inputs")] == ["inputs/data"]


def test_a_folder_logged_into_an_existing_one_merges_file_by_file(tmp_path, spy):
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("inputs/kept.txt", b"K")
    repository.write_bytes("inputs/a.txt", b"old")
    source = tmp_path / "data"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("new")
    (source / "sub" / "b.txt").write_text("B")
    spy.clear()
    repository.log_artifacts(source, "inputs")
    assert sorted(r["dst"].relative_to(tmp_path / "root").as_posix() for r in spy) == ["inputs/a.txt",
                                                                                      "inputs/sub/b.txt"]
    assert all(r["staging_mode"] == 0o700 for r in spy)
    root = tmp_path / "root" / "inputs"
    assert [(root / n).read_text() for n in ("kept.txt", "a.txt", "sub/b.txt")] == ["K", "new", "B"]
    repository.log_artifacts(source)  # into the root: merged too
    assert (tmp_path / "root" / "sub" / "b.txt").read_text() == "B"


def test_a_failed_upload_leaves_nothing_behind(tmp_path, monkeypatch):
    from mlcask.utils import paths

    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("a.txt", b"original")
    (tmp_path / "new.txt").write_text("new")

    def broken_copy(source_fd, target_fd):
        os.write(target_fd, b"half")
        raise OSError("disk full")

    monkeypatch.setattr(paths, "copy_descriptor", broken_copy)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.txt").write_text("new")
    with pytest.raises(OSError, match="disk full"):
        repository.log_artifact(tmp_path / "folder" / "a.txt")
    with pytest.raises(OSError, match="disk full"):
        repository.log_artifacts(tmp_path / "folder", "fresh")
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["a.txt"]
    assert (tmp_path / "root" / "a.txt").read_text() == "original"


def test_leftover_staging_folders_are_invisible(tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("sub/kept.txt", b"K")
    for leftover in (tmp_path / "root" / f"{UPLOAD_STAGING_PREFIX}abc", tmp_path / "root" / "sub" /
                     f"{UPLOAD_STAGING_PREFIX}def"):
        leftover.mkdir(mode=0o700)
        (leftover / "half.txt").write_text("half")
    (tmp_path / "root" / ".a.txt.uploading-123").write_text("old style")
    assert [f.path for f in repository.list_artifacts()] == ["sub"]
    assert [f.path for f in repository.list_artifacts("sub")] == ["sub/kept.txt"]
    for path in (f"{UPLOAD_STAGING_PREFIX}abc", f"{UPLOAD_STAGING_PREFIX}abc/half.txt",
                 f"sub/{UPLOAD_STAGING_PREFIX}def/half.txt"):
        with pytest.raises(InvalidArgumentError, match="reserved for uploads in progress"):
            repository.download_artifacts(path)
        with pytest.raises(InvalidArgumentError, match="reserved for uploads in progress"):
            repository.write_bytes(path + "/x", b"x")
    copied = Path(repository.download_artifacts("", tmp_path / "dst"))
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*")) == ["sub", "sub/kept.txt"]


def test_uploading_a_file_named_like_a_staging_folder_is_refused(tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    (tmp_path / f"{UPLOAD_STAGING_PREFIX}x").write_text("x")
    with pytest.raises(InvalidArgumentError, match="reserved for uploads in progress"):
        repository.log_artifact(tmp_path / f"{UPLOAD_STAGING_PREFIX}x")


def test_writing_where_a_folder_or_file_is_in_the_way(tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("a/b.txt", b"B")
    with pytest.raises(InvalidArgumentError, match="it is a folder"):
        repository.write_bytes("a", b"x")
    with pytest.raises(InvalidArgumentError, match="is a file in the artifacts, not a folder"):
        repository.write_bytes("a/b.txt/c.txt", b"x")


def test_log_artifact_refuses_a_trace_id_with_mlflows_message(tmp_path):
    from mlcask.tracking.client import MlcaskClient

    (tmp_path / "f.txt").write_text("x")
    client = MlcaskClient(f"sqlite:///{tmp_path}/t.db")
    with pytest.raises(InvalidArgumentError, match=r"Invalid run id: tr-123\. `log_artifact` run id must map"):
        client.log_artifact("tr-123", tmp_path / "f.txt")
