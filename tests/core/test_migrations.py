"""Our migrations apply on an empty database, unapply to zero and apply again."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

OUR_APPS_NEWEST_FIRST = ["activities", "pipeline", "crm", "core"]


def _salesdesk(*args, env):
    result = subprocess.run(
        [sys.executable, "-m", "salesdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def database_url(tmp_path):
    """A fresh database of the engine under test: a SQLite file, or a new PostgreSQL database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    import psycopg

    name = f"test_salesdesk_migrations_{os.environ.get('SALESDESK_TEST_DB', 'main')}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_migrations_are_reversible(tmp_path, database_url):
    env = {**os.environ, "SALESDESK_VAR_DIR": str(tmp_path), "SECRET_KEY": "x" * 50}
    env["DATABASE_URL"] = database_url
    _salesdesk("migrate", "--noinput", env=env)
    for app in OUR_APPS_NEWEST_FIRST:
        _salesdesk("migrate", app, "zero", "--noinput", env=env)
    plan = _salesdesk("showmigrations", *OUR_APPS_NEWEST_FIRST, env=env)
    assert "[X]" not in plan
    _salesdesk("migrate", "--noinput", env=env)
    plan = _salesdesk("showmigrations", *OUR_APPS_NEWEST_FIRST, env=env)
    assert "[ ]" not in plan
