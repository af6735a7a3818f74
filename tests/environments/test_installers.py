"""uv follows the package indexes pip is configured with, unless uv has its own."""

from __future__ import annotations

from mlcask.environments.installers import pip_settings, uv_environment


def _pip_conf(tmp_path, monkeypatch):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror.example/simple\n"
                    "extra-index-url =\n    file:///opt/a/simple\n    file:///opt/b/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX",
                 "UV_EXTRA_INDEX_URL", "UV_INDEX_STRATEGY"):
        monkeypatch.delenv(name, raising=False)


def test_pip_indexes_become_uvs(tmp_path, monkeypatch):
    _pip_conf(tmp_path, monkeypatch)
    settings = pip_settings()
    assert settings["index-url"] == "https://mirror.example/simple"
    assert settings["extra-index-url"] == "file:///opt/a/simple file:///opt/b/simple"
    env = uv_environment()
    assert env["UV_INDEX_URL"] == "https://mirror.example/simple"
    assert env["UV_EXTRA_INDEX_URL"] == "file:///opt/a/simple file:///opt/b/simple"
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match"  # pip's choice among indexes
    monkeypatch.setenv("PIP_INDEX_URL", "https://other.example/simple")
    assert uv_environment()["UV_INDEX_URL"] == "https://other.example/simple"  # PIP_* wins over files, as in pip


def test_uvs_own_index_settings_win(tmp_path, monkeypatch):
    _pip_conf(tmp_path, monkeypatch)
    monkeypatch.setenv("UV_DEFAULT_INDEX", "https://uv.example/simple")
    env = uv_environment()
    assert env["UV_DEFAULT_INDEX"] == "https://uv.example/simple"
    assert not {"UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX_STRATEGY"} & set(env)
