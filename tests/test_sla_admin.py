"""The SLA policy and holiday calendar are edited by administrators in the panel."""

from datetime import date

import sqlalchemy as sa

from circle.models import CalendarDay, SlaPolicy


def small_policy(db):
    return db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.severity == "small"))


def test_default_policy_is_the_service_promise(db, data):
    policies = {p.severity: (p.respond_minutes, p.resolve_minutes, p.working_days)
                for p in db.session.scalars(sa.select(SlaPolicy))}
    assert policies == {"small": (30, 240, False), "big": (120, 1440, False),
                        "hard": (1440, 10080, False)}


def test_policy_list_shows_human_durations(admin_browser):
    html = admin_browser.get("/admin/sla_policy/").get_data(as_text=True)
    assert "30 分钟" in html and "4 小时" in html and "7 天" in html


def test_admin_edits_the_policy(admin_browser, db):
    policy = small_policy(db)
    response = admin_browser.submit(f"/admin/sla_policy/edit/?id={policy.id}", {
        "respond_minutes": "20", "resolve_minutes": "180", "working_days": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    policy = small_policy(db)
    assert (policy.respond_minutes, policy.resolve_minutes, policy.working_days) == (20, 180,
                                                                                     True)


def test_bad_policy_is_refused_and_changes_nothing(admin_browser, db):
    policy = small_policy(db)
    for form in ({"respond_minutes": "0", "resolve_minutes": "240"},
                 {"respond_minutes": "abc", "resolve_minutes": "240"},
                 {"respond_minutes": "300", "resolve_minutes": "240"}):
        response = admin_browser.submit(f"/admin/sla_policy/edit/?id={policy.id}", form)
        assert response.status_code == 200
    db.session.expire_all()
    assert small_policy(db).respond_minutes == 30


def test_policy_cannot_be_created_or_deleted(admin_browser, db):
    assert admin_browser.get("/admin/sla_policy/new/").status_code in (302, 404)
    policy = small_policy(db)
    admin_browser.submit("/admin/sla_policy/delete/", {"id": str(policy.id)},
                         form_url="/admin/sla_policy/")
    assert small_policy(db) is not None


def test_only_admins_see_the_policy(browser, data):
    browser.login("specialist")
    assert browser.get("/admin/sla_policy/").status_code == 403
    assert browser.get("/admin/calendar_day/").status_code == 403


def test_admin_adds_holiday_and_adjusted_workday(admin_browser, db):
    for day, kind, name in (("2026-10-01", "holiday", "国庆节"),
                            ("2026-10-10", "workday", "国庆调休")):
        response = admin_browser.submit("/admin/calendar_day/new/",
                                        {"day": day, "kind": kind, "name": name})
        assert response.status_code == 302
    days = {d.day: d.kind for d in db.session.scalars(sa.select(CalendarDay))}
    assert days == {date(2026, 10, 1): "holiday", date(2026, 10, 10): "workday"}
    # The same date twice is refused, not a 500.
    response = admin_browser.submit("/admin/calendar_day/new/",
                                    {"day": "2026-10-01", "kind": "holiday", "name": "重复"})
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 2
