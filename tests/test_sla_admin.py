"""The SLA policy and holiday calendar are edited by administrators in the panel."""

from datetime import date, time

import pytest
import sqlalchemy as sa
from flask_babel import gettext
from markupsafe import escape

from circle.issues import workcalendar
from circle.issues.sla_models import WorkSchedule
from circle.models import CalendarDay, SlaPolicy


def small_policy(db):
    return db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.severity == "small"))


def test_default_policy_is_the_service_promise(db, data):
    policies = {p.severity: (p.respond_minutes, p.respond_clock, p.rule, p.amount)
                for p in db.session.scalars(sa.select(SlaPolicy))}
    assert policies == {"small": (30, "calendar", "half_day", 1),
                        "big": (120, "calendar", "end_of_day", 1),
                        "hard": (1440, "calendar", "calendar_days", 7)}


def test_policy_list_reads_like_the_promise(admin_browser):
    html = admin_browser.get("/admin/sla_policy/").get_data(as_text=True)
    assert "30 分钟" in html and "2 小时" in html
    for words in (gettext("by the end of the half-day"), gettext("by the end of the day"),
                  gettext("within %(n)d calendar days", n=7)):
        assert str(escape(words)) in html


def test_admin_edits_the_policy(admin_browser, db):
    policy = small_policy(db)
    response = admin_browser.submit(f"/admin/sla_policy/edit/?id={policy.id}", {
        "rule": "working_hours", "amount": "3", "respond_minutes": "20",
        "respond_clock": "business_hours", "resolve_minutes": "999"})
    assert response.status_code == 302
    db.session.expire_all()
    policy = small_policy(db)
    # What another rule would count is not kept.
    assert (policy.rule, policy.amount, policy.respond_minutes, policy.respond_clock,
            policy.resolve_minutes) == ("working_hours", 3, 20, "business_hours", None)
    response = admin_browser.submit(f"/admin/sla_policy/edit/?id={policy.id}", {
        "rule": "duration", "amount": "3", "respond_minutes": "20", "respond_clock": "calendar",
        "resolve_minutes": "180", "working_days": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    policy = small_policy(db)
    assert (policy.rule, policy.amount, policy.resolve_minutes, policy.working_days) == (
        "duration", None, 180, True)


@pytest.mark.parametrize("form", [
    {"rule": "half_day", "amount": "1", "respond_minutes": "0"},
    {"rule": "half_day", "amount": "1", "respond_minutes": "abc"},
    {"rule": "half_day", "amount": "0", "respond_minutes": "30"},
    {"rule": "calendar_days", "amount": "", "respond_minutes": "30"},
    {"rule": "sometime", "amount": "1", "respond_minutes": "30"},
    {"rule": "duration", "amount": "", "respond_minutes": "30", "resolve_minutes": ""},
    {"rule": "duration", "amount": "", "respond_minutes": "300", "resolve_minutes": "240"},
])
def test_bad_policy_is_refused_and_changes_nothing(admin_browser, db, form):
    policy = small_policy(db)
    response = admin_browser.submit(f"/admin/sla_policy/edit/?id={policy.id}",
                                    {"respond_clock": "calendar", **form})
    assert response.status_code == 200
    db.session.expire_all()
    policy = small_policy(db)
    assert (policy.rule, policy.amount, policy.respond_minutes) == ("half_day", 1, 30)


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
    assert browser.get("/admin/work_schedule/").status_code == 403


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


# --- working hours ------------------------------------------------------------------------

def schedule(db, name):
    return db.session.scalar(sa.select(WorkSchedule).where(WorkSchedule.name == name))


def hours_form(**overrides) -> dict:
    form = {"name": "标准作息", "season_start": "", "season_end": "",
            "morning_start": "09:00", "morning_end": "12:00", "afternoon_start": "13:00",
            "afternoon_end": "17:00", "noon_cutoff": "11:00", "afternoon_cutoff": "16:00",
            "evening_cutoff": "18:00"}
    form.update(overrides)
    return form


def test_default_working_hours_all_year_and_in_summer(db, data):
    calendar = workcalendar.load_calendar()
    assert calendar.hours_on(date(2026, 12, 1)) == workcalendar.WorkHours()
    summer = calendar.hours_on(date(2026, 7, 1))
    assert (summer.afternoon_start, summer.afternoon_end) == (time(14), time(18))
    assert calendar.hours_on(date(2026, 10, 1)) == workcalendar.WorkHours()


def test_admin_edits_the_working_hours(admin_browser, db):
    row = schedule(db, "标准作息")
    response = admin_browser.submit(f"/admin/work_schedule/edit/?id={row.id}", hours_form())
    assert response.status_code == 302
    db.session.expire_all()
    hours = workcalendar.load_calendar().hours_on(date(2026, 12, 1))
    assert (hours.morning_start, hours.afternoon_start, hours.afternoon_end) == (
        time(9), time(13), time(17))
    html = admin_browser.get("/admin/work_schedule/").get_data(as_text=True)
    assert "09:00–12:00" in html and "13:00–17:00" in html


@pytest.mark.parametrize("overrides", [
    {"morning_end": "14:00"},  # the morning runs into the afternoon
    {"noon_cutoff": "12:30"},  # a cut-off after its half-day ends
    {"season_start": "05-01"},  # a season without its last day
])
def test_bad_working_hours_are_refused(admin_browser, db, overrides):
    row = schedule(db, "标准作息")
    response = admin_browser.submit(f"/admin/work_schedule/edit/?id={row.id}",
                                    hours_form(**overrides))
    assert response.status_code == 200
    db.session.expire_all()
    assert schedule(db, "标准作息").morning_start == time(8, 30)


@pytest.mark.parametrize("overrides", [
    {"name": "第二个全年"},  # a second all-year schedule
    {"name": "暑期", "season_start": "07-01", "season_end": "08-31"},  # inside summer
    {"name": "错日", "season_start": "13-01", "season_end": "13-31"},
])
def test_new_schedule_must_not_clash(admin_browser, db, overrides):
    response = admin_browser.submit("/admin/work_schedule/new/", hours_form(**overrides))
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkSchedule)) == 2


def test_a_winter_season_over_the_new_year(admin_browser, db):
    response = admin_browser.submit("/admin/work_schedule/new/", hours_form(
        name="冬季作息", season_start="11-15", season_end="02-15"))
    assert response.status_code == 302
    calendar = workcalendar.load_calendar()
    for day in (date(2026, 12, 31), date(2027, 1, 5), date(2027, 2, 15)):
        assert calendar.hours_on(day).morning_start == time(9), day
    assert calendar.hours_on(date(2027, 2, 16)).morning_start == time(8, 30)


def test_all_year_schedule_cannot_be_deleted_but_a_season_can(admin_browser, db):
    for name in ("标准作息", "夏季作息"):
        admin_browser.submit("/admin/work_schedule/delete/", {"id": str(schedule(db, name).id)},
                             form_url="/admin/work_schedule/")
    db.session.expire_all()
    assert schedule(db, "标准作息") is not None and schedule(db, "夏季作息") is None


def test_working_hours_are_installed_once(db, data):
    from circle.reference import install_reference_data

    db.session.delete(schedule(db, "夏季作息"))
    db.session.commit()
    install_reference_data(holidays=False)
    # The administrator keeps the schedule: a season they deleted does not come back.
    assert [row.name for row in db.session.scalars(sa.select(WorkSchedule))] == ["标准作息"]
