"""``flask db upgrade`` on an empty database builds exactly the models' schema."""

import pytest
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


def _seed_at_0008(conn) -> dict:
    """Issues as 0008 left them — one re-handled at level 1, one visited late, one rated and
    then unreachable, one withdrawn after its rating, one still open — with their timelines
    and calls. Returns the moments the test checks."""
    from datetime import datetime, timedelta, timezone

    meta = sa.MetaData()
    table = {name: sa.Table(name, meta, autoload_with=conn) for name in (
        "community", "business_circle", "merchant", "issue_category", "issue_source",
        "issue", "issue_event", "callback")}
    naive = conn.dialect.name == "sqlite"  # SQLite keeps UTC without a zone

    def ts(moment):
        return moment.replace(tzinfo=None) if naive else moment

    t0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
    conn.execute(table["community"].insert(), {"id": 1, "name": "恒大社区", "address": "",
                                               "description": "", "created_at": ts(t0)})
    conn.execute(table["business_circle"].insert(), {
        "id": 1, "name": "东街商圈", "community_id": 1, "description": "", "created_at": ts(t0)})
    conn.execute(table["merchant"].insert(), {
        "id": 1, "shop_name": "王记冷冻食品", "owner_name": "王", "phone": "13800000000",
        "address": "", "circle_id": 1, "business_category": "食品", "active": True,
        "created_at": ts(t0), "updated_at": ts(t0)})
    conn.execute(table["issue_category"].insert(), {"id": 1, "name": "供电用电",
                                                    "sort_order": 1, "active": True})
    conn.execute(table["issue_source"].insert(), {"id": 1, "name": "上门", "is_hotline": False,
                                                  "sort_order": 1, "active": True})
    hour = timedelta(hours=1)

    def issue(id_, status, *, rehandled=0, on_site=None, resolved=None, unreachable=False,
              attempts=0):
        conn.execute(table["issue"].insert(), {
            "id": id_, "merchant_id": 1, "circle_id": 1, "category_id": 1, "source_id": 1,
            "description": "跳闸", "severity": "small", "level": 2, "highest_level": 2,
            "status": status, "reported_at": ts(t0), "first_on_site_at": on_site and ts(on_site),
            "resolved_at": resolved and ts(resolved), "response_due_at": ts(t0 + hour / 2),
            "resolution_due_at": ts(t0 + 4 * hour), "held_seconds": 0,
            "resolution_summary": "", "rehandle_count": rehandled, "updated_at": ts(t0),
            "version": 1, "sla_working_days": False, "callback_attempts": attempts,
            "callback_unreachable": unreachable})

    events = []

    def event(issue_id, action, at):
        events.append({"id": len(events) + 1, "issue_id": issue_id, "created_at": ts(at),
                       "action": action, "note": ""})

    calls = []

    def call(issue_id, at, rating=None, resolved=None, round_=0):
        calls.append({"id": len(calls) + 1, "issue_id": issue_id, "called_at": ts(at),
                      "reached": rating is not None, "resolved_per_merchant": resolved,
                      "rating": rating, "comments": "", "round": round_})

    day = timedelta(days=1)
    # 1: solved at level 1 in 20 minutes (on time), rated dissatisfied the next day, solved
    # again on day 2 and rated satisfied on day 3. resolved_at lost the first resolution.
    issue(1, "closed", rehandled=1, resolved=t0 + 2 * day)
    for action, at in (("register", t0), ("resolve", t0 + hour / 3),
                       ("rehandle", t0 + day), ("resolve", t0 + 2 * day)):
        event(1, action, at)
    call(1, t0 + day, "dissatisfied", False)
    call(1, t0 + 3 * day, "satisfied", True, 1)
    # 2: on site late (40 minutes), resolved, satisfied on day 1.
    issue(2, "closed", on_site=t0 + hour * 2 / 3, resolved=t0 + 2 * hour)
    event(2, "resolve", t0 + 2 * hour)
    call(2, t0 + day, "very_satisfied", True)
    # 3: on site in 10 minutes, rated very dissatisfied on day 1, re-handled, then three
    # calls nobody answered (days 4 to 6): unreachable, dated by the last one.
    issue(3, "closed", rehandled=1, on_site=t0 + hour / 6, resolved=t0 + 3 * day,
          unreachable=True, attempts=3)
    event(3, "resolve", t0 + hour)
    call(3, t0 + day, "very_dissatisfied", True)
    for n in (4, 5, 6):
        call(3, t0 + n * day, round_=1)
    # 4: rated dissatisfied on day 1, then withdrawn as a duplicate.
    issue(4, "withdrawn", rehandled=1, on_site=t0 + hour / 6)
    event(4, "resolve", t0 + hour)
    call(4, t0 + day, "dissatisfied", False)
    # 5: registered, nobody there yet.
    issue(5, "registered")
    conn.execute(table["issue_event"].insert(), events)
    conn.execute(table["callback"].insert(), calls)
    return {"t0": t0}


def test_figures_are_recounted_by_the_new_rules(empty_app):
    """0009 keeps the response once (from the timeline where re-handling lost it) and
    recounts the dashboard's rows with its own SQL: they equal the app's count from scratch,
    first ratings dated by the first call, the unreachable issue's rating kept, the withdrawn
    issue in no rate."""
    from datetime import timedelta

    from circle.reports.figures import FIELDS, count_raw, local_day

    with empty_app.app_context():
        upgrade(revision="0008_user_is_service_account")
        with db.engine.begin() as conn:
            moments = _seed_at_0008(conn)
        upgrade()
        t0, day = moments["t0"], timedelta(days=1)
        from circle.issues.models import Issue
        from circle.reports.figures import CircleDayFigures

        responded = dict(db.session.execute(sa.select(Issue.id, Issue.responded_at)).all())
        rows = {(row.day, row.circle_id): {name: getattr(row, name) for name in FIELDS}
                for row in db.session.scalars(sa.select(CircleDayFigures))}
        raw = {key: values for key, values in count_raw(db.session.connection()).items()
               if any(values.values())}
        db.session.rollback()
        assert responded == {
            1: t0 + timedelta(minutes=20), 2: t0 + timedelta(minutes=40),
            3: t0 + timedelta(minutes=10), 4: t0 + timedelta(minutes=10), 5: None}
        assert rows == raw
        first, second = local_day(t0), local_day(t0 + day)
        assert {name: rows[first, 1][name] for name in (
            "reported", "withdrawn", "responded", "responded_on_time")} == {
            "reported": 5, "withdrawn": 1, "responded": 3, "responded_on_time": 2}
        # Day 1: the first ratings of 1, 2 and 3 (4 is withdrawn); the final ratings of 2 and
        # of 3, whose merchant was never reached again.
        assert {name: rows[second, 1][name] for name in (
            "first_rated", "first_satisfied", "first_rehandled", "rated", "satisfied")} == {
            "first_rated": 3, "first_satisfied": 1, "first_rehandled": 2, "rated": 2,
            "satisfied": 1}
        assert rows[local_day(t0 + 3 * day), 1]["rated"] == 1
        assert rows[local_day(t0 + 6 * day), 1]["unreachable"] == 1
        # 0020 fills the communities' and categories' rows with its own SQL: the same rows
        # as the app writes when it rebuilds them.
        from circle.reports.figures import rebuild_community_figures_on

        def rollups():
            return [sorted(tuple(row) for row in db.session.execute(sa.text(
                f"SELECT * FROM {table}")).all())
                for table in ("community_day_figures", "category_day_figures")]

        migrated = rollups()
        rebuild_community_figures_on(db.session.connection())
        assert migrated == rollups() and all(migrated)
        db.session.rollback()
        downgrade(revision="0008_user_is_service_account")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("circle_day_figures")}
        assert "callbacks" in columns and "first_rated" not in columns
        assert "responded_at" not in {c["name"] for c in sa.inspect(db.engine)
                                      .get_columns("issue")}
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM callback")).scalar() == 8


def _seed_at_0009(conn) -> None:
    """Policies as administrators left them before the deadline rules (small still on the
    old default, big edited, hard on working days), and two issues with their deadlines and
    timelines: one counted on the calendar, one on working days."""
    now = "2026-11-27 10:00:00+00:00"
    conn.execute(sa.text("INSERT INTO community (id, name, address, description, created_at) "
                         "VALUES (1, '恒大社区', '', '', :now)"), {"now": now})
    conn.execute(sa.text("INSERT INTO business_circle (id, name, community_id, description, "
                         "created_at) VALUES (1, '东街商圈', 1, '', :now)"), {"now": now})
    conn.execute(sa.text("INSERT INTO issue_category (id, name, sort_order, active) "
                         "VALUES (1, '供电用电', 10, :yes)"), {"yes": True})
    conn.execute(sa.text("INSERT INTO issue_source (id, name, is_hotline, sort_order, active) "
                         "VALUES (1, '商户来访', :no, 10, :yes)"), {"yes": True, "no": False})
    conn.execute(sa.text(
        "INSERT INTO merchant (id, shop_name, owner_name, phone, address, circle_id, "
        "business_category, active, created_at, updated_at) VALUES (1, '连濛冷冻食品', "
        "'王连濛', '13812345678', '', 1, '', :yes, :now, :now)"), {"yes": True, "now": now})
    conn.execute(sa.text(
        "INSERT INTO sla_policy (id, severity, respond_minutes, resolve_minutes, working_days, "
        "updated_at) VALUES (:id, :severity, :respond, :resolve, :working, :now)"),
        [{"id": 1, "severity": "small", "respond": 30, "resolve": 240, "working": False,
          "now": now},
         {"id": 2, "severity": "big", "respond": 90, "resolve": 1440, "working": False,
          "now": now},
         {"id": 3, "severity": "hard", "respond": 1440, "resolve": 10080, "working": True,
          "now": now}])
    issues = sa.text(
        "INSERT INTO issue (id, merchant_id, circle_id, category_id, source_id, description, "
        "severity, level, highest_level, status, reported_at, response_due_at, "
        "resolution_due_at, resolution_started_at, held_seconds, response_minutes, "
        "resolution_minutes, sla_working_days, resolution_summary, rehandle_count, "
        "callback_attempts, callback_unreachable, updated_at, version) VALUES (:id, 1, 1, 1, "
        "1, '跳闸', :severity, 1, 1, 'registered', :reported, :response, :resolution, "
        ":reported, 0, :respond, :resolve, :working, '', 0, 0, :no, :reported, 1)")
    # Monday 30 November 2026, 09:00 and 11:00 in Shanghai.
    conn.execute(issues, [
        {"id": 1, "severity": "small", "reported": "2026-11-30 01:00:00+00:00",
         "response": "2026-11-30 01:30:00+00:00", "resolution": "2026-11-30 05:00:00+00:00",
         "respond": 30, "resolve": 240, "working": False, "no": False},
        {"id": 2, "severity": "hard", "reported": "2026-11-30 03:00:00+00:00",
         "response": "2026-12-01 03:00:00+00:00", "resolution": "2026-12-07 03:00:00+00:00",
         "respond": 1440, "resolve": 10080, "working": True, "no": False}])
    conn.execute(sa.text("INSERT INTO issue_event (id, issue_id, created_at, action, note) "
                         "VALUES (:id, :issue, :now, 'register', '')"),
                 [{"id": 1, "issue": 1, "now": now}, {"id": 2, "issue": 2, "now": now}])


def test_issues_keep_their_deadlines_and_policies_their_behaviour(empty_app):
    from datetime import datetime, timezone

    from circle.issues import sla, workcalendar
    from circle.issues.models import Issue
    from circle.issues.sla_models import SlaPolicy

    utc = timezone.utc
    with empty_app.app_context():
        upgrade(revision="0009_first_callback_figures")
        with db.engine.begin() as conn:
            _seed_at_0009(conn)
        upgrade()
        policies = {p.severity: (p.rule, p.amount, p.respond_minutes, p.respond_clock,
                                 p.resolve_minutes, p.working_days)
                    for p in db.session.scalars(sa.select(SlaPolicy))}
        # The old default takes the promise (for new issues); edited policies keep theirs.
        assert policies == {"small": ("half_day", 1, 30, "calendar", None, False),
                            "big": ("duration", None, 90, "calendar", 1440, False),
                            "hard": ("duration", None, 1440, "working_days", 10080, True)}
        small, hard = db.session.get(Issue, 1), db.session.get(Issue, 2)
        assert (small.response_due_at, small.resolution_due_at) == (
            datetime(2026, 11, 30, 1, 30, tzinfo=utc), datetime(2026, 11, 30, 5, tzinfo=utc))
        assert (hard.response_due_at, hard.resolution_due_at) == (
            datetime(2026, 12, 1, 3, tzinfo=utc), datetime(2026, 12, 7, 3, tzinfo=utc))
        assert [(i.resolution_rule, i.resolution_minutes, i.response_clock, i.resolution_clock)
                for i in (small, hard)] == [("duration", 240, "calendar", "calendar"),
                                            ("duration", 10080, "working_days", "working_days")]
        # A migrated issue re-handles on its fixed duration, as it would have before.
        calendar = workcalendar.load_calendar()
        sla.restart_resolution_clock(small, datetime(2026, 12, 1, 1, tzinfo=utc), calendar)
        assert small.resolution_due_at == datetime(2026, 12, 1, 5, tzinfo=utc)
        db.session.rollback()
        # The timelines are there: "issue" was altered in place, not copied.
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM issue_event")).scalar() == 2

        downgrade(revision="0009_first_callback_figures")
        with db.engine.connect() as conn:
            flags = dict(conn.execute(sa.text("SELECT id, sla_working_days FROM issue")).all())
            resolve = dict(conn.execute(sa.text(
                "SELECT severity, resolve_minutes FROM sla_policy")).all())
            assert conn.execute(sa.text("SELECT count(*) FROM issue_event")).scalar() == 2
        assert {k: bool(v) for k, v in flags.items()} == {1: False, 2: True}
        assert resolve == {"small": 240, "big": 1440, "hard": 10080}


def test_lifecycle_migration_keeps_rows_and_widens_the_checks(empty_app):
    """0011 adds streets and leaders, the returned status and the lifecycle columns in place:
    on SQLite "user" and "issue" are never copied, so circle memberships stay."""
    with empty_app.app_context():
        upgrade(revision="0007_circle_day_figures")
        with db.engine.begin() as conn:
            _seed_at_0007(conn)
        upgrade(revision="0010_sla_deadline_rules")
        upgrade()
        assert _differences(empty_app) == []
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO street (id, name, description, created_at) "
                                 "VALUES (1, '孝里街道', '', '2026-12-01 10:00:00+00:00')"))
            conn.execute(sa.text("UPDATE community SET street_id = 1"))
            conn.execute(sa.text(
                'INSERT INTO "user" (id, username, display_name, phone, password_hash, role, '
                "active, street_id, session_version, created_at, is_service_account) VALUES "
                "(9, 'lingdao', 'lingdao', '', '', 'leader', true, 1, 1, "
                "'2026-12-01 10:00:00+00:00', false)"))
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM user_circle")).scalar() == 1
            # A street in use cannot be deleted (RESTRICT), on both databases.
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.text("DELETE FROM street WHERE id = 1"))
            conn.rollback()
        downgrade(revision="0010_sla_deadline_rules")
        with db.engine.connect() as conn:
            roles = dict(conn.execute(sa.text('SELECT username, role FROM "user"')).all())
            assert roles["lingdao"] == "specialist"
            assert conn.execute(sa.text("SELECT count(*) FROM user_circle")).scalar() == 1
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.text("UPDATE \"user\" SET role = 'leader' WHERE id = 9"))
            conn.rollback()
        upgrade()
        assert _differences(empty_app) == []
