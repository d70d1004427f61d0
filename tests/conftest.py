"""Fixtures: app → db → client/runner → data, with a fresh database for every test.

SQLite (the default) gets a new file per test. With ``TEST_DATABASE_URL`` set, the suite runs
on that PostgreSQL database instead: the schema is created once per run and every table is
emptied before each test, which gives the same clean slate much faster than re-creating it.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient

from circle import create_app
from circle.config import normalise_database_url
from circle.extensions import db as _db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
_pg_schema_ready = False
_worker_url: str | None = None


def _server_engine(url):
    return sa.create_engine(sa.make_url(url), isolation_level="AUTOCOMMIT")


def database_url_for_tests() -> str | None:
    """The PostgreSQL database for this test process.

    Under pytest-xdist each worker gets its own database next to ``TEST_DATABASE_URL``
    (``<name>_gw0``, ...), created on first use and dropped when the worker finishes, so that
    workers never truncate each other's tables.
    """
    global _worker_url
    if not TEST_DATABASE_URL:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    base = normalise_database_url(TEST_DATABASE_URL)
    if not worker:
        return base
    if _worker_url is None:
        url = sa.make_url(base)
        name = f"{url.database}_{worker}"
        engine = _server_engine(base)
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        _worker_url = url.set(database=name).render_as_string(hide_password=False)
    return _worker_url


@pytest.fixture(scope="session", autouse=True)
def _drop_worker_database():
    yield
    if _worker_url:
        engine = _server_engine(normalise_database_url(TEST_DATABASE_URL))
        with engine.connect() as conn:
            name = sa.make_url(_worker_url).database
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def make_app(tmp_path, **overrides):
    """Create an app for a test, on a fresh SQLite file or the PostgreSQL test database."""
    url = database_url_for_tests() or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "secret-for-tests-only",
        "CIRCLE_LOCALE": "zh_CN",
        "SERVER_NAME": None,
        # Jobs are queued in memory and never run by themselves: tests run them by hand.
        "CIRCLE_JOBS_URL": "memory://",
        # One round instead of scrypt: hashing was a large share of the suite's time.
        # tests/test_sessions.py checks sign-in timing with the production method.
        "CIRCLE_PASSWORD_HASH": "pbkdf2:sha256:1",
    }
    config.update(overrides)
    return create_app(config)


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own application context.

    Tests hold an app context open (for ``db.session``); Flask would reuse it for requests,
    sharing ``g`` (the logged-in user, the locale) and the session between requests in a way
    that never happens in production. Each request here gets a fresh context, and the test's
    own session forgets what it had loaded so it sees what the request wrote.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response


def _delete_everything() -> str:
    """Every table emptied, those that refer to others first (the models are all imported
    once an app exists)."""
    return "; ".join(f'DELETE FROM "{table.name}"'
                     for table in reversed(_db.metadata.sorted_tables))


def _reset_schema(app) -> None:
    global _pg_schema_ready
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            if not _pg_schema_ready:
                _db.drop_all()
                with _db.engine.begin() as conn:
                    conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
                _db.create_all()
                _pg_schema_ready = True
            # DELETE, dependants first, and every sequence back to 1: the clean slate of
            # TRUNCATE … RESTART IDENTITY at a fifteenth of its cost on tables this small
            # (7 against 110 ms for the 42 tables: TRUNCATE makes every table a new file).
            with _db.engine.begin() as conn:
                conn.exec_driver_sql(_delete_everything())
                conn.exec_driver_sql(
                    "SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
        else:
            _db.create_all()


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    app.test_client_class = IsolatedClient
    _reset_schema(app)
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def empty_app(tmp_path):
    """An app on a brand-new, empty database (a scratch PostgreSQL database when testing
    on PostgreSQL, so the shared test database is left alone)."""
    if not database_url_for_tests():
        yield make_app(tmp_path)
        return
    base = sa.make_url(make_app(tmp_path).config["SQLALCHEMY_DATABASE_URI"])
    name = f"circle_migr_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=base.set(database=name)
                   .render_as_string(hide_password=False))
    try:
        yield app
    finally:
        with app.app_context():
            _db.engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin_engine.dispose()


@pytest.fixture
def db(app):
    """The database, inside an application context."""
    with app.app_context():
        yield _db
        _db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


_ROW_VERSION_RE = re.compile(r'<input[^>]*name="row_version"[^>]*value="(\d+)"')


def csrf_token_from(html: str) -> str:
    """Read the CSRF token out of a page, the way a browser submits it."""
    match = _CSRF_RE.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


class Browser:
    """A thin wrapper over the test client that behaves like a person with a browser."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def token(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return csrf_token_from(response.get_data(as_text=True))

    def submit(self, url: str, data: dict, *, form_url: str | None = None, **kwargs):
        """GET the form page for its CSRF token, then POST ``data`` with it — and, as a
        browser does, the row version an admin edit form carries (unless ``data`` has it)."""
        payload = dict(data)
        response = self.client.get(form_url or url)
        assert response.status_code == 200, (form_url or url, response.status_code)
        html = response.get_data(as_text=True)
        payload["csrf_token"] = csrf_token_from(html)
        version = _ROW_VERSION_RE.search(html)
        if version and "row_version" not in payload:
            payload["row_version"] = version.group(1)
        return self.client.post(url, data=payload, **kwargs)

    def login(self, username: str, password: str = "correct-horse-battery"):
        return self.submit("/login", {"username": username, "password": password})

    def logout(self):
        return self.submit("/logout", {}, form_url="/admin/")


@pytest.fixture
def browser(client):
    return Browser(client)


def make_people(community, east) -> dict:
    """One account of every role, named by its role: the community's, the east circle's,
    and the leader of the community's street (which it is given if it has none)."""
    from tests import factories as f

    if community.street is None:
        community.street = f.StreetFactory(name="新华街道")
    return {
        "admin": f.UserFactory(username="admin", role="admin"),
        "specialist": f.UserFactory(username="specialist", role="specialist",
                                    community=community),
        "liaison": f.UserFactory(username="liaison", role="liaison", circles=[east]),
        "staff": f.UserFactory(username="staff", role="staff", community=community),
        "leader": f.UserFactory(username="leader", role="leader", street=community.street),
    }


@pytest.fixture
def data(db):
    """Reference data plus one community with two circles, accounts of every role."""
    from circle.reference import install_reference_data
    from tests import factories as f

    # Without the official holidays: tests that need a calendar build their own.
    install_reference_data(holidays=False)
    community = f.CommunityFactory(name="恒大社区")
    east = f.CircleFactory(name="东街商圈", community=community)
    west = f.CircleFactory(name="西街商圈", community=community)
    users = make_people(community, east)
    db.session.commit()

    class Data:
        pass

    d = Data()
    d.community, d.east, d.west, d.users = community, east, west, users
    return d


@pytest.fixture
def admin_browser(browser, data):
    response = browser.login("admin")
    assert response.status_code == 302
    return browser


#: Tests that run for tens of seconds each (the hostile walks, the schemathesis run).
_LONG_TESTS = ("tests/test_hostile_walk.py::test_no_hostile_value_reaches_a_5xx",
               "tests/test_api_fuzz.py::")


def pytest_collection_modifyitems(session, config, items):
    """The longest tests first: pytest-xdist hands tests out in this order, so a walk of
    a minute no longer starts last while the other workers run out of work. The order is
    the same in every worker (xdist requires it) and otherwise the collection's own."""
    items.sort(key=lambda item: not item.nodeid.startswith(_LONG_TESTS))
