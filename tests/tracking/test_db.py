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
    result = CliRunner().invoke(cli, ["db", "upgrade", f"sqlite:///{tmp_path / 'cli.db'}"])
    assert result.exit_code == 0 and "is at the current schema" in result.output
    with sqlite3.connect(tmp_path / "cli.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)


def test_password_is_hidden_in_messages():
    assert db._redacted("postgresql://me:secret@host/db") == "postgresql://me:***@host/db"
    assert db._redacted("postgresql://me@host/db") == "postgresql://me@host/db"
