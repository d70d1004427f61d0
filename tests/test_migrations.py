"""``flask db upgrade`` on an empty database builds exactly the models' schema."""

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from circle.extensions import db, include_object_for
from tests.conftest import make_app, database_url_for_tests


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
            db.engine.dispose()
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin_engine.dispose()


def _differences(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True,
                        "include_object": include_object_for(conn.dialect.name)}
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_the_models_schema(empty_app):
    with empty_app.app_context():
        upgrade()
    assert _differences(empty_app) == []


def test_downgrade_to_base_and_back(empty_app):
    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
    assert _differences(empty_app) == []
