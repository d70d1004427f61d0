"""/healthz for load balancers."""

import sqlalchemy as sa

from circle.config import engine_options


def test_healthz_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_broken_database(app, client, monkeypatch):
    from circle.extensions import db

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("down"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_pool_is_sized_per_worker_for_postgresql(monkeypatch):
    monkeypatch.setenv("CIRCLE_DB_POOL_SIZE", "3")
    options = engine_options("postgresql://u@h/d")
    assert options["pool_size"] == 3 and options["pool_pre_ping"]
    assert engine_options("sqlite:///x.db") == {"pool_pre_ping": True}
