import pytest

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.artifacts import LocalArtifactRepository, clean_relative_path, get_artifact_repository


@pytest.mark.parametrize(
    "path, expected",
    [(None, ""), ("", ""), ("a/b.txt", "a/b.txt"), ("./a//b/", "a/b"), ("dir/./x", "dir/x"), ("a%20b", "a b")],
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
