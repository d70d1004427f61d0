"""``flask db upgrade`` on an empty database builds exactly the models' schema."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from circle.extensions import db, include_object_for


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


def _seed_at_0007(conn) -> None:
    """A community, a liaison of one of its circles, and an API token's service account, as
    they stood before users had ``is_service_account``."""
    now = "2026-11-27 10:00:00+00:00"
    conn.execute(sa.text("INSERT INTO community (id, name, address, description, created_at) "
                         "VALUES (1, '恒大社区', '', '', :now)"), {"now": now})
    conn.execute(sa.text("INSERT INTO business_circle (id, name, community_id, description, "
                         "created_at) VALUES (1, '东街商圈', 1, '', :now)"), {"now": now})
    users = sa.text(
        'INSERT INTO "user" (id, username, display_name, phone, password_hash, role, active, '
        "community_id, session_version, created_at) "
        "VALUES (:id, :username, :username, '', '', :role, :active, 1, 1, :now)")
    conn.execute(users, [{"id": 1, "username": "liaison", "role": "liaison", "active": True,
                          "now": now},
                         {"id": 2, "username": "api-city", "role": "specialist",
                          "active": True, "now": now},
                         {"id": 3, "username": "api-old", "role": "specialist",
                          "active": False, "now": now}])
    conn.execute(sa.text("INSERT INTO user_circle (user_id, circle_id) VALUES (1, 1)"))
    conn.execute(sa.text(
        "INSERT INTO api_token (id, name, prefix, token_hash, community_id, service_user_id, "
        "created_at, revoked_at) VALUES (:id, :name, 'circle_abcdef', :hash, 1, :user, :now, "
        ":revoked)"),
        [{"id": 1, "name": "city", "hash": "a" * 64, "user": 2, "now": now, "revoked": None},
         {"id": 2, "name": "old", "hash": "b" * 64, "user": 3, "now": now, "revoked": now}])


def test_service_account_flag_is_set_from_the_tokens(empty_app):
    with empty_app.app_context():
        upgrade(revision="0007_circle_day_figures")
        with db.engine.begin() as conn:
            _seed_at_0007(conn)
        upgrade()
        with db.engine.connect() as conn:
            flags = dict(conn.execute(sa.text(
                'SELECT username, is_service_account FROM "user"')).all())
            circles = conn.execute(sa.text("SELECT user_id FROM user_circle")).scalars().all()
        # Revoked or not, a token's account is a service account; the liaison is a person
        # and keeps her circle (the column is added in place, not by copying the table).
        assert flags == {"liaison": False, "api-city": True, "api-old": True}
        assert circles == [1]
        downgrade(revision="0007_circle_day_figures")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("user")}
        assert "is_service_account" not in columns
        with db.engine.connect() as conn:
            assert conn.execute(sa.text('SELECT count(*) FROM "user"')).scalar() == 3
            assert conn.execute(sa.text("SELECT count(*) FROM user_circle")).scalar() == 1


def test_role_check_is_written_from_the_roles():
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateTable

    from circle.accounts.models import Role, User

    # Today the same text as migration 0001's; a new role needs its own migration of it.
    expected = f"CHECK (role IN ({', '.join(repr(role) for role in Role.ALL)}))"
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        assert expected in str(CreateTable(User.__table__).compile(dialect=dialect))
