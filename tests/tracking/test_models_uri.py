"""The one ``models:/`` grammar (mlcask.models.uri.parse_models_uri) and the callers that share it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError, ModelNotFoundError
from mlcask.models.uri import MODEL_STAGES, ModelsUri, is_models_uri, parse_models_uri, resolve_model_path

VALID = [
    ("models:/m-0123abcd", ModelsUri(model_id="m-0123abcd")),
    ("models:/m-0123abcd/", ModelsUri(model_id="m-0123abcd")),
    ("models:/cancer/1", ModelsUri(name="cancer", version=1)),
    ("models:/cancer/007", ModelsUri(name="cancer", version=7)),
    ("models:/my model.v2-final/3", ModelsUri(name="my model.v2-final", version=3)),
    ("models:/my%20model/3", ModelsUri(name="my%20model", version=3)),  # not decoded, as MLflow
    ("models:/cancer/Production", ModelsUri(name="cancer", stage="Production")),
    ("models:/cancer/staging", ModelsUri(name="cancer", stage="Staging")),
    ("models:/cancer/ARCHIVED", ModelsUri(name="cancer", stage="Archived")),
    ("models:/cancer/None", ModelsUri(name="cancer", stage="None")),
    ("models:/cancer/latest", ModelsUri(name="cancer", latest=True)),
    ("models:/cancer/Latest", ModelsUri(name="cancer", latest=True)),
    ("models:/cancer@latest", ModelsUri(name="cancer", latest=True)),
    ("models:/cancer@champion", ModelsUri(name="cancer", alias="champion")),
    ("models:/a@b@c", ModelsUri(name="a@b", alias="c")),  # the alias follows the last '@', as MLflow
    ("models:/a#b/1", ModelsUri(name="a#b", version=1)),  # no fragments, as MLflow
    ("models:/m-0123abcd/2", ModelsUri(name="m-0123abcd", version=2)),  # a name that looks like an id
    ("models:/cancer/1/", ModelsUri(name="cancer", version=1)),
    ("models:/cancer/1/MLmodel", ModelsUri(name="cancer", version=1, path="MLmodel")),
    ("models:/cancer/latest/sub/dir/", ModelsUri(name="cancer", latest=True, path="sub/dir")),
    ("models:/cancer@champion/data/model.ubj", ModelsUri(name="cancer", alias="champion", path="data/model.ubj")),
    ("models:/cancer/1/a%20b", ModelsUri(name="cancer", version=1, path="a b")),
    ("models:///cancer/1", ModelsUri(name="cancer", version=1)),
    ("MODELS:/cancer/1", ModelsUri(name="cancer", version=1)),
]

INVALID = [
    ("", "does not start with 'models:'"),
    ("runs:/abc/model", "does not start with 'models:'"),
    ("models:", "expected '/' after 'models:'"),
    ("models:cancer/1", "expected '/' after 'models:', got 'cancer/1'"),
    ("models:/", "it names no model"),
    ("models://", "it names no model"),
    ("models:////cancer/1", "an empty part"),
    ("models://workspace/cancer/1", "it names the registry 'workspace'"),
    ("models:/name/", "nothing follows 'name/': expected a version number, a stage or 'latest'"),
    ("models:/name//1", "nothing follows 'name/'"),
    ("models:/a/b/c", "'b' after 'a/' is not a version number, a stage or 'latest'"),
    ("models:/cancer/Prod", "'Prod' after 'cancer/' is not a version number"),
    ("models:/cancer/0", "version 0 is out of range: versions count from 1"),
    ("models:/cancer/99999999999", "version 99999999999 is out of range"),
    ("models:/cancer/١", "'١' after 'cancer/' is not a version number"),  # an Arabic-Indic digit
    ("models:/m-0123/x", "'x' after 'm-0123/' is not a version number"),
    ("models:/justaname", "'justaname' is not a logged model id (those start with 'm-'); for a registered model "
                          "give a version (models:/justaname/1)"),
    ("models:/m-", "the logged model id is empty"),
    ("models:/@x", "the model name is empty"),
    ("models:/ /1", "the model name is empty"),
    ("models:/cancer@", "the alias after '@' is empty"),
    ("models:/cancer@ /x", "the alias after '@' is empty"),
    ("models:/../x", "the model name '..' is only dots"),
    ("models:/./1", "the model name '.' is only dots"),
    ("models:/a:b/1", "the model name 'a:b' contains ':'"),
    ("models:/cancer /1", "the model name 'cancer ' starts or ends with whitespace"),
    ("models:/cancer/ 1", "the version or stage ' 1' starts or ends with whitespace"),
    ("models:/cancer@ champion", "the alias after '@' ' champion' starts or ends with whitespace"),
    (" models:/cancer/1", "it starts or ends with whitespace"),
    ("models:/cancer/1\n", "the control character U+000A after 'models:/cancer/1'"),
    ("models:/can\x00cer/1", "the control character U+0000 after 'models:/can'"),
    ("models:/cancer/1\x85", "the control character U+0085"),
    ("models:/cancer/1?x=y", "it contains '?'; a models URI takes no query"),
    ("models:/cancer?/1", "it contains '?'"),
    ("models:/cancer/1/../../etc", "invalid path inside the model '../../etc': '..' segments are not allowed"),
    ("models:/cancer@champion/%2e%2e/x", "'..' segments are not allowed (after URL-decoding: '../x')"),
]


@pytest.mark.parametrize("uri, expected", VALID)
def test_valid_models_uris(uri, expected):
    assert parse_models_uri(uri) == expected
    assert is_models_uri(uri)


@pytest.mark.parametrize("uri, message", INVALID)
def test_invalid_models_uris_say_what_was_wrong_and_what_was_expected(uri, message):
    with pytest.raises(InvalidArgumentError) as error:
        parse_models_uri(uri)
    text = str(error.value)
    assert message in text and text.startswith("Invalid models URI")
    if "path inside the model" not in text:
        assert "expected models:/<model_id>, models:/<name>/<version>, models:/<name>/<stage>" in text


def test_non_strings_are_refused():
    with pytest.raises(InvalidArgumentError, match="must be a string, got int"):
        parse_models_uri(3)
    assert not is_models_uri(None) and not is_models_uri(Path("models:/a/1"))


def test_stages_are_the_registrys():
    from mlcask.tracking.registry.validation import ALL_STAGES

    assert MODEL_STAGES == ALL_STAGES


def test_the_old_copies_are_gone_and_the_grammar_needs_no_tracking():
    from mlcask.serving import app
    from mlcask.tracking import fluent, registry_client, uris
    from mlcask.tracking.registry import source_policy, sources

    for module in (uris, sources, source_policy, registry_client, fluent, app):
        assert getattr(module, "ModelsUri", ModelsUri) is ModelsUri, module
        assert getattr(module, "parse_models_uri", parse_models_uri) is parse_models_uri, module
    code = ("import sys; from mlcask.models.uri import parse_models_uri; parse_models_uri('models:/a/1'); "
            "print(sorted(m for m in sys.modules if m.startswith(('mlcask.tracking', 'sqlalchemy'))))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


# -- every caller agrees --------------------------------------------------------------------------
NAME = "cancer model"


@pytest.fixture
def registry(tracking, logistic_regression):
    """Two versions of NAME: 1 has alias champion, 2 is in Production (and the latest)."""
    first = mlcask.sklearn.log_model(logistic_regression, name="first", registered_model_name=NAME)
    second = mlcask.sklearn.log_model(logistic_regression, name="second", registered_model_name=NAME)
    client = mlcask.MlflowClient()
    client.set_registered_model_alias(NAME, "champion", 1)
    client._registry.transition_model_version_stage(NAME, 2, "Production")
    folders = {n: Path(client.get_logged_model(info.model_id).artifact_location) for n, info in
               ((1, first), (2, second))}
    return client, folders, {1: first, 2: second}


RESOLVED = [
    (f"models:/{NAME}/1", 1), (f"models:/{NAME}@champion", 1), (f"models:/{NAME}/production", 2),
    (f"models:/{NAME}/latest", 2), (f"models:/{NAME}@LATEST", 2), (f"models:/{NAME}/None", 1),
]


def _download_uri(client, version):
    return client.get_model_version_download_uri(version.name, version.version)


def test_every_caller_resolves_the_same_version(registry):
    from mlcask.serving.app import _name_and_version

    client, folders, _ = registry
    client.create_registered_model("from-source")
    for count, (uri, number) in enumerate(RESOLVED, start=1):
        assert resolve_model_path(uri) == folders[number], uri
        copied = client.copy_model_version(uri, "copies")
        assert (copied.version, copied.source) == (str(count), f"models:/{NAME}/{number}")
        from_source = client.create_model_version("from-source", uri)
        registered = mlcask.register_model(uri, "registered")
        for version in (copied, from_source, registered):
            assert Path(_download_uri(client, version)) == folders[number], (uri, version)
        assert _name_and_version(uri, None) == (NAME, "1" if "/1" in uri else None)


def test_sub_paths_resolve_inside_the_version(registry):
    _, folders, _ = registry
    assert resolve_model_path(f"models:/{NAME}/1/MLmodel") == folders[1] / "MLmodel"
    assert resolve_model_path(f"models:/{NAME}@champion/MLmodel/") == folders[1] / "MLmodel"
    with pytest.raises(ModelNotFoundError, match=f"No 'nothing/here' in the files of 'models:/{NAME}/2/nothing/"):
        resolve_model_path(f"models:/{NAME}/2/nothing/here")


def test_logged_model_ids_agree(registry):
    from mlcask.serving.app import _name_and_version

    client, folders, infos = registry
    uri = infos[1].model_uri
    assert resolve_model_path(uri) == folders[1] == resolve_model_path(uri + "/")
    assert _name_and_version(uri, None) == (infos[1].model_id, None)
    registered = mlcask.register_model(uri, "by-id")
    assert (registered.model_id, registered.run_id) == (infos[1].model_id, infos[1].run_id)
    with pytest.raises(InvalidArgumentError, match="copy_model_version takes a registered model version.*"
                                                   "a logged model is registered with register_model"):
        client.copy_model_version(uri, "x")


def test_an_empty_stage_is_an_error_naming_it(registry):
    with pytest.raises(mlcask.exceptions.MlcaskException, match=f"'{NAME}' has no version in stage 'Staging'"):
        resolve_model_path(f"models:/{NAME}/Staging")


@pytest.mark.parametrize("uri, message", [case for case in INVALID if is_models_uri(case[0])])
def test_every_caller_refuses_a_malformed_uri_with_the_same_error(registry, uri, message):
    from mlcask.serving.app import _name_and_version

    client, _, _ = registry
    expected = str(pytest.raises(InvalidArgumentError, parse_models_uri, uri).value)
    callers = {
        "load": lambda: mlcask.pyfunc.load_model(uri),
        "copy_model_version": lambda: client.copy_model_version(uri, "x"),
        "registry source": lambda: client.create_model_version(NAME, uri),
        "register_model": lambda: mlcask.register_model(uri, "x"),
        "serving": lambda: _name_and_version(uri, None),
    }
    for caller, call in callers.items():
        with pytest.raises(InvalidArgumentError) as error:
            call()
        # The registry checks every source's characters and segments first, in its own words.
        if caller == "registry source" and str(error.value).startswith("Invalid model version source"):
            continue
        assert str(error.value) == expected, caller


def test_sources_and_copies_refuse_sub_paths(registry):
    client, _, _ = registry
    with pytest.raises(InvalidArgumentError, match="a source names a whole model, not a path inside one"):
        client.create_model_version(NAME, f"models:/{NAME}/1/MLmodel")
    with pytest.raises(InvalidArgumentError, match=r"drop the path inside the model \('MLmodel'\)"):
        client.copy_model_version(f"models:/{NAME}/1/MLmodel", "x")
