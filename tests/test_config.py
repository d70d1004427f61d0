"""Configuration from the environment."""

from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
import sqlalchemy as sa

from circle import create_app
from circle.config import (
    ByteSize,
    RateLimit,
    Settings,
    SettingsError,
    TimeOfDay,
    TimeZoneName,
    declarations,
    default,
    from_environment,
    load_secret_key,
    normalise_database_url,
    parse,
)
from circle.extensions import db
from tests.conftest import make_app


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(str(tmp_path))
    assert len(first) >= 32
    assert load_secret_key(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert load_secret_key(str(tmp_path)) == "from-env"


def test_database_url_uses_psycopg3():
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_defaults_from_environment(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "CIRCLE_TIMEZONE", "CIRCLE_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/circle.sqlite3")
    assert app.config["CIRCLE_TIMEZONE"] == "Asia/Shanghai"
    assert app.config["CIRCLE_LOCALE"] == "zh_CN"
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    with app.app_context():
        db.engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                      "SECRET_KEY": "x"})
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() >= 5000
        db.engine.dispose()


# --- the settings declaration, the environment and the README ---------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"
DECLARED = declarations()
DECLARED_BY_ENV = {d.env: d for d in DECLARED}


def readme_configuration_table() -> list[str]:
    """The lines of the table in the README's "## Configuration" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def readme_settings() -> dict[str, tuple[str, str]]:
    """``{variable: (documented default, meaning)}`` from the README's configuration table."""
    rows = {}
    for line in readme_configuration_table()[2:]:  # past the header and its rule
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, f"a configuration row needs three cells: {line}"
        rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


@pytest.fixture
def clean_environ(monkeypatch):
    """An environment with none of the declared variables set."""
    for declared in DECLARED:
        monkeypatch.delenv(declared.env, raising=False)
    return monkeypatch


def test_every_setting_is_documented_in_the_readme():
    missing = sorted(DECLARED_BY_ENV.keys() - readme_settings().keys())
    assert not missing, f"settings missing from the README's configuration table: {missing}"


def test_every_documented_variable_is_a_setting():
    unknown = sorted(readme_settings().keys() - DECLARED_BY_ENV.keys())
    assert not unknown, f"the README documents variables that no setting reads: {unknown}"


@pytest.mark.parametrize("env", sorted(DECLARED_BY_ENV))
def test_documented_default_is_the_declared_one(env):
    declared, documented = DECLARED_BY_ENV[env], readme_settings().get(env)
    if documented is None:
        pytest.skip("undocumented (test_every_setting_is_documented_in_the_readme fails)")
    cell = documented[0]
    if declared.shown:
        assert cell == declared.shown
    else:
        assert parse(declared.type, cell.strip("`")) == declared.default, (
            f"README says {env} defaults to {cell}; circle/config.py says "
            f"{declared.shown_default}")


def test_readme_table_is_the_one_printed_from_the_declaration(tmp_path):
    app = make_app(tmp_path)
    result = app.test_cli_runner().invoke(args=["circle", "settings"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == readme_configuration_table(), (
        "paste the output of `flask --app app circle settings` into the README")
    with app.app_context():
        db.engine.dispose()


def example_value(declared) -> str:
    """A valid value for the setting that is not its default."""
    kind = declared.type
    if get_origin(kind) is Literal:
        return next(choice for choice in get_args(kind) if choice != declared.default)
    examples = {bool: "yes", ByteSize: "3 MiB", float: "12.5", RateLimit: "7 per minute",
                TimeZoneName: "Europe/Berlin", TimeOfDay: "06:30"}
    if kind in examples:
        return examples[kind]
    if kind is int:
        return str(declared.default + 7)
    return {"DATABASE_URL": "postgresql://circle@db.example/circle",
            "SECRET_KEY": "from-the-environment",
            "CIRCLE_PASSWORD_HASH": "pbkdf2:sha256:600000",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "CIRCLE_JOBS_URL": "redis://127.0.0.1:6379/1",
            "CIRCLE_BASE_URL": "https://circle.example",
            "CIRCLE_SMTP_HOST": "smtp.example",
            "CIRCLE_SMTP_USER": "notify",
            "CIRCLE_SMTP_PASSWORD": "from-the-environment",
            "CIRCLE_SMTP_FROM": "circle@example.org"}[declared.env]


@pytest.mark.parametrize("env", [d.env for d in DECLARED])
def test_each_setting_is_read_from_the_environment(env, tmp_path, clean_environ):
    declared = DECLARED_BY_ENV[env]
    if env.startswith("CIRCLE_DB_"):  # pool settings apply to PostgreSQL only
        clean_environ.setenv("DATABASE_URL", "postgresql://u@h/d")
    before = from_environment(str(tmp_path))
    value = example_value(declared)
    clean_environ.setenv(env, value)
    after = from_environment(str(tmp_path))
    assert after != before
    if declared.key:
        assert after[declared.key] == parse(declared.type, value) != before.get(declared.key)


def test_limits_reach_the_app_from_the_environment(tmp_path, clean_environ):
    clean_environ.setenv("CIRCLE_PHOTO_MAX_BYTES", "6 MiB")
    clean_environ.setenv("CIRCLE_IMPORT_MAX_BYTES", "1048576")
    clean_environ.setenv("CIRCLE_IMPORT_MAX_ROWS", "250")
    clean_environ.setenv("CIRCLE_API_MAX_BODY", "32 KiB")
    clean_environ.setenv("CIRCLE_STATIC_MAX_AGE", "60")
    app = make_app(tmp_path, CIRCLE_IMPORT_MAX_ROWS=10)  # create_app(config) still wins
    assert app.config["CIRCLE_PHOTO_MAX_BYTES"] == 6 * 1024 * 1024
    assert app.config["CIRCLE_IMPORT_MAX_BYTES"] == 1024 * 1024
    assert app.config["CIRCLE_IMPORT_MAX_ROWS"] == 10
    assert app.config["CIRCLE_API_MAX_BODY"] == 32 * 1024
    assert app.config["SEND_FILE_MAX_AGE_DEFAULT"] == 60
    with app.app_context():
        db.engine.dispose()


def test_empty_variable_keeps_the_default(tmp_path, clean_environ):
    clean_environ.setenv("CIRCLE_PHOTO_MAX_BYTES", "")
    clean_environ.setenv("SESSION_COOKIE_SECURE", " ")
    config = from_environment(str(tmp_path))
    assert config["CIRCLE_PHOTO_MAX_BYTES"] == default("CIRCLE_PHOTO_MAX_BYTES")
    assert config["SESSION_COOKIE_SECURE"] is False
    assert "SECRET_KEY" not in config  # create_app then uses the instance folder's key


@pytest.mark.parametrize(("env", "value", "expected"), [
    ("CIRCLE_PHOTO_MAX_BYTES", "abc", "a size in bytes"),
    ("CIRCLE_PHOTO_MAX_BYTES", "5 MB", "a size in bytes"),
    ("CIRCLE_IMPORT_MAX_ROWS", "-1", "a whole number"),
    ("CIRCLE_IMPORT_MAX_ROWS", "5e3", "a whole number"),
    ("CIRCLE_API_FEED_SETTLE_SECONDS", "soon", "a number of seconds"),
    ("SESSION_COOKIE_SECURE", "maybe", "1/true/yes/on"),
    ("CIRCLE_LOCALE", "fr", "one of zh_CN, en"),
    ("CIRCLE_TIMEZONE", "Mars/Olympus", "a time zone"),
    ("CIRCLE_LOGIN_LIMIT_PER_IP", "thirty", "a rate limit"),
])
def test_invalid_value_stops_startup_naming_the_variable(env, value, expected, clean_environ):
    clean_environ.setenv(env, value)
    with pytest.raises(SettingsError) as raised:
        create_app()
    message = str(raised.value)
    assert f"{env}={value!r}" in message and expected in message


def test_every_invalid_value_is_reported_at_once(clean_environ):
    clean_environ.setenv("CIRCLE_PHOTO_MAX_BYTES", "abc")
    clean_environ.setenv("CIRCLE_API_MAX_BODY", "big")
    with pytest.raises(SettingsError, match="CIRCLE_PHOTO_MAX_BYTES=.*\n.*CIRCLE_API_MAX_BODY="):
        Settings.from_environ()


@pytest.mark.parametrize(("text", "size"), [
    ("5242880", 5 * 1024 * 1024), ("5 MiB", 5 * 1024 * 1024), ("5MiB", 5 * 1024 * 1024),
    ("64 kib", 64 * 1024), ("1 GiB", 1024 ** 3), ("512 B", 512),
])
def test_byte_sizes(text, size):
    assert parse(ByteSize, text) == size


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("true", True), ("Yes", True), ("on", True),
    ("0", False), ("false", False), ("no", False), ("OFF", False),
])
def test_switches(text, value):
    assert parse(bool, text) is value
