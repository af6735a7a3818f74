"""The tracking database's schema checks: created on first use, never changed silently."""

import sqlite3

import pytest
from click.testing import CliRunner

from mlcask.cli import cli
from mlcask.tracking.store import db
from mlcask.tracking.store.db import HEAD_REVISION, DatabaseError, engine_for


@pytest.fixture(autouse=True)
def fresh_engines():
    db.dispose_all()
    yield
    db.dispose_all()


def test_an_empty_database_gets_the_current_schema(tmp_path):
    engine_for(f"sqlite:///{tmp_path / 'new.db'}")
    with sqlite3.connect(tmp_path / "new.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_older_schema_is_refused_with_the_upgrade_command(tmp_path):
    path = tmp_path / "old.db"
    engine_for(f"sqlite:///{path}")
    db.dispose_all()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0000'")
    with pytest.raises(DatabaseError, match=rf"at schema revision 0000, this mlcask needs {HEAD_REVISION}.*"
                                            rf"mlcask db upgrade sqlite:///"):
        engine_for(f"sqlite:///{path}")


def test_a_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(DatabaseError, match="holds tables but no mlcask schema version"):
        engine_for(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:  # and it was left as it was
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]


def test_db_upgrade_command(tmp_path):
    sqlite3.connect(tmp_path / "cli.db").close()  # an empty database file
    result = CliRunner().invoke(cli, ["db", "upgrade", f"sqlite:///{tmp_path / 'cli.db'}"])
    assert result.exit_code == 0 and "is upgraded to the current schema" in result.output
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)
    result = CliRunner().invoke(cli, ["db", "upgrade", str(tmp_path)], env={"MLCASK_ARTIFACT_ROOT": str(tmp_path)})
    assert result.exit_code == 1 and f"No database at 'sqlite:///{tmp_path / 'mlcask.db'}'" in result.output


def test_password_is_hidden_in_messages():
    from mlcask.utils.redaction import redact_uri

    assert redact_uri("postgresql://me:secret@host/db") == "postgresql://***@host/db"
    assert redact_uri("postgresql://me@host/db?sslpassword=x#f") == "postgresql://***@host/db"
    assert redact_uri("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert redact_uri("sqlite:///relative.db") == "sqlite:///relative.db"
    assert redact_uri("https://user:pw@host:5000/prefix?token=t") == "https://***@host:5000/prefix"
    assert redact_uri("https://tok@[::1") == "https://***"


def _at_revision(path, revision):
    engine_for(f"sqlite:///{path}")
    db.dispose_all()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_a_newer_mlcask_schema_is_refused_without_upgrade_advice(tmp_path):
    _at_revision(tmp_path / "newer.db", "0099")
    with pytest.raises(DatabaseError, match=r"written by a newer mlcask \(schema revision 0099; this mlcask knows up "
                                            rf"to {HEAD_REVISION}\)\. Upgrade mlcask") as error:
        engine_for(f"sqlite:///{tmp_path / 'newer.db'}")
    assert "mlcask db upgrade sqlite" not in str(error.value)


def _upgrade_cli(target, *, drop_write_permission=False):
    """``mlcask db upgrade`` in a subprocess: its exit code and output."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    command = [str(Path(sys.executable).parent / "mlcask"), "db", "upgrade", target]
    if drop_write_permission and os.geteuid() == 0:  # root ignores file modes unless it drops this capability
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: a read-only file cannot be made read-only here")
        command = ["setpriv", "--bounding-set=-dac_override", *command]
    result = subprocess.run(command, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def _empty_file(path):
    path.write_bytes(b"")


def _not_a_database(path):
    path.write_text("name,value\nalpha,1\n")


@pytest.mark.parametrize("prepare, message", [
    (None, "No database at 'sqlite:///{path}': the file '{path}' does not exist, so there is nothing to upgrade"),
    (_not_a_database, "Cannot read the tracking database 'sqlite:///{path}': file is not a database"),
    (lambda path: _at_revision(path, "0099"), "was written by a newer mlcask (schema revision 0099"),
    (lambda path: _at_revision(path, "0000"), "is at schema revision 0000, which this mlcask has no migration from"),
    (lambda path: _at_revision(path, "not-a-revision"), "is at schema revision 'not-a-revision', which is neither"),
], ids=["missing file", "not a database", "newer mlcask", "unknown mlcask revision", "unknown revision"])
def test_db_upgrade_refuses_with_a_message_not_a_traceback(tmp_path, prepare, message):
    path = tmp_path / "store.db"
    if prepare is not None:
        prepare(path)
    before = path.read_bytes() if path.exists() else None
    code, out = _upgrade_cli(f"sqlite:///{path}")
    assert code == 1 and out.startswith("Error: ") and message.format(path=path) in out, out
    assert "Traceback" not in out
    assert (path.read_bytes() if path.exists() else None) == before


def test_db_upgrade_of_a_read_only_file(tmp_path):
    path = tmp_path / "readonly.db"
    _empty_file(path)  # needs the schema: a write
    path.chmod(0o444)
    code, out = _upgrade_cli(f"sqlite:///{path}", drop_write_permission=True)
    assert code == 1 and f"Error: Cannot write the schema to 'sqlite:///{path}'" in out, out
    assert "read-only for this user" in out and "Traceback" not in out
    current = tmp_path / "current.db"
    engine_for(f"sqlite:///{current}")
    db.dispose_all()
    current.chmod(0o444)  # at the current schema: nothing to write, so no error
    code, out = _upgrade_cli(f"sqlite:///{current}", drop_write_permission=True)
    assert code == 0 and "is already at the current schema" in out, out
