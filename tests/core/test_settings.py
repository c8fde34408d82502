"""Settings come from the environment; each case runs in a fresh process with its own variables.

The test process's settings are fixed at start (and conftest swaps the hasher and static
storage), so every production value is read in a subprocess.
"""

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

CONFIGURATION = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "HTTPS",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "HUEY_WORKERS",
    # Set for the browser tests in this pytest process; a deployment never has it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}
PRINT_SETTINGS = """
import json
from salesdesk import settings
print(json.dumps({k: getattr(settings, k) for k in dir(settings) if k.isupper()}, default=str))
"""


def environment(var_dir: Path, **variables: str) -> dict[str, str]:
    """The test's environment minus any Salesdesk configuration, plus `variables`."""
    env = {key: value for key, value in os.environ.items() if key not in CONFIGURATION}
    env.update(SALESDESK_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="salesdesk.settings")
    env.update(variables)
    return env


def run_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def settings_with(var_dir: Path, **variables: str) -> dict:
    return json.loads(run_python(PRINT_SETTINGS, environment(var_dir, **variables)))


def test_deploy_check_passes_with_production_variables(tmp_path):
    env = environment(
        tmp_path,
        DEBUG="0",
        HTTPS="1",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="crm.example.com",
    )

    result = subprocess.run(
        [sys.executable, "-m", "salesdesk.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_https_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path):
    plain = settings_with(tmp_path)
    secure = settings_with(tmp_path, HTTPS="1")

    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT"]
    assert [plain[name] for name in names] == [False, False, False]
    assert [secure[name] for name in names] == [True, True, True]
    assert (plain["SECURE_HSTS_SECONDS"], secure["SECURE_HSTS_SECONDS"]) == (0, 31_536_000)
    assert secure["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert secure["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]


def test_missing_secret_key_is_generated_once_into_the_var_dir(tmp_path):
    first = settings_with(tmp_path)["SECRET_KEY"]
    key_file = tmp_path / "secret_key"

    assert len(first) >= 50
    assert key_file.read_text() == first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert settings_with(tmp_path)["SECRET_KEY"] == first


def test_secret_key_from_the_environment_wins_and_writes_nothing(tmp_path):
    given = secrets.token_urlsafe(64)

    assert settings_with(tmp_path, SECRET_KEY=given)["SECRET_KEY"] == given
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), ("", False), ("0", False), ("false", False), ("1", True)],
)
def test_debug_is_off_unless_asked_for(tmp_path, value, expected):
    variables = {} if value is None else {"DEBUG": value}

    assert settings_with(tmp_path, **variables)["DEBUG"] is expected


def test_passwords_are_hashed_with_argon2(tmp_path):
    code = """
        import django
        django.setup()
        from django.conf import settings
        from django.contrib.auth.hashers import make_password
        print(settings.PASSWORD_HASHERS[0], make_password("plum-harbour-47-lantern").split("$")[0])
    """

    assert run_python(code, environment(tmp_path)).split() == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "argon2",
    ]


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("short", ["password_too_short"]),
        ("password1234", ["password_too_common"]),
        ("1234567890", ["password_too_common", "password_entirely_numeric"]),
    ],
)
def test_weak_passwords_are_rejected(password, codes):
    with pytest.raises(ValidationError) as refused:
        validate_password(password)

    assert [error.code for error in refused.value.error_list] == codes


def test_a_long_uncommon_password_is_accepted():
    assert validate_password("plum-harbour-47-lantern") is None


def test_defaults_are_sqlite_sqlite_huey_and_a_local_cache(tmp_path):
    values = settings_with(tmp_path)

    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(tmp_path / "salesdesk.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "PRAGMA journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert "TEST" not in database  # Django's in-memory test database: no file left behind
    assert values["HUEY"]["huey_class"] == "huey.SqliteHuey"
    assert values["HUEY"]["filename"] == str(tmp_path / "huey.sqlite3")
    assert values["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path):
    values = settings_with(
        tmp_path,
        DATABASE_URL="postgres://sales:secret@db.internal:5433/salesdesk",
        REDIS_URL="redis://cache.internal:6379/2",
        SALESDESK_TEST_DB="ci-7",
    )

    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        5433,
        "salesdesk",
    )
    assert (database["USER"], database["PASSWORD"]) == ("sales", "secret")
    assert database["CONN_MAX_AGE"] == 60
    assert "transaction_mode" not in database.get("OPTIONS", {})
    assert database["TEST"]["NAME"] == "test_salesdesk_ci-7"
    assert values["HUEY"]["huey_class"] == "huey.RedisHuey"
    assert values["HUEY"]["url"] == "redis://cache.internal:6379/2"
    assert values["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/2",
    }


CONCURRENT_WRITERS = """
    import json, threading
    import django
    django.setup()
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        cursor.execute("INSERT INTO counter VALUES (1, 0)")
    connection.close()

    WRITERS, TRANSACTIONS = 4, 150
    start = threading.Barrier(WRITERS)
    errors = []

    def write():
        # Read, then write in one transaction: the pattern that fails at once with
        # "database is locked" unless the write lock is taken when the transaction begins.
        start.wait()
        try:
            for _ in range(TRANSACTIONS):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SELECT value FROM counter WHERE id = 1")
                    value = cursor.fetchone()[0]
                    cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        total = cursor.fetchone()[0]
    print(json.dumps({"journal_mode": journal_mode, "errors": errors, "total": total}))
"""


def test_sqlite_uses_wal_and_concurrent_writers_wait_for_each_other(tmp_path):
    # A file database of its own, whichever database the test run itself uses.
    env = environment(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'writers.sqlite3'}")

    outcome = json.loads(run_python(CONCURRENT_WRITERS, env))

    assert outcome == {"journal_mode": "wal", "errors": [], "total": 4 * 150}
