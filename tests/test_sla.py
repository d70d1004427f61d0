"""SLA clocks: deadlines in the configured zone, working days, holds, states.

These are the clocks of fixed durations (how every deadline was set before the rules, and
how migrated issues still count); the rules are in test_sla_rules.py and
test_sla_properties.py."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from circle.issues import sla, workcalendar
from circle.issues.models import Clock, DeadlineRule, Issue, Status
from circle.issues.sla_models import SlaPolicy

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = workcalendar.WorkCalendar(SHANGHAI)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_calendar_time_crosses_midnight():
    start = local(2024, 6, 21, 22, 30)
    due = workcalendar.add_time(start, timedelta(hours=4), working_days=False, calendar=CALENDAR)
    assert due == local(2024, 6, 22, 2, 30)
    assert due.tzinfo == timezone.utc


def test_working_days_skip_the_weekend():
    # Friday 20:00 + 8 working hours: 4 h on Friday, then Monday 00:00 + 4 h.
    start = local(2024, 6, 21, 20, 0)
    due = workcalendar.add_time(start, timedelta(hours=8), working_days=True, calendar=CALENDAR)
    assert due == local(2024, 6, 24, 4, 0)


def test_working_days_respect_holidays_and_adjusted_workdays():
    # National Day 2024: 1–7 October off, Sunday 29 September and Saturday 12 October worked.
    holidays = frozenset(date(2024, 10, d) for d in range(1, 8))
    workdays = frozenset({date(2024, 9, 29), date(2024, 10, 12)})
    calendar = workcalendar.WorkCalendar(SHANGHAI, holidays, workdays)
    assert calendar.is_working_day(date(2024, 9, 29))  # a Sunday, worked (调休)
    assert not calendar.is_working_day(date(2024, 10, 2))  # a Wednesday, holiday
    # Registered Saturday 28 September 12:00 (not a working day): 7 working days of budget
    # run Sun 29, Mon 30, then 8, 9, 10, 11 October and Sat 12 October (调休).
    due = workcalendar.add_time(local(2024, 9, 28, 12, 0), timedelta(days=7), working_days=True,
                                calendar=calendar)
    assert due == local(2024, 10, 13, 0, 0)
    elapsed = workcalendar.clock_time_between(local(2024, 9, 30, 12, 0), local(2024, 10, 8, 12, 0),
                                              working_days=True, calendar=calendar)
    assert elapsed == timedelta(days=1)


def test_deadline_uses_the_configured_zone():
    # The same instant is Saturday in Shanghai but still Friday in UTC.
    start = datetime(2024, 6, 21, 16, 30, tzinfo=timezone.utc)  # Sat 00:30 in Shanghai
    shanghai = workcalendar.add_time(start, timedelta(minutes=30), working_days=True,
                                     calendar=CALENDAR)
    utc_cal = workcalendar.WorkCalendar(ZoneInfo("UTC"))
    in_utc = workcalendar.add_time(start, timedelta(minutes=30), working_days=True,
                                   calendar=utc_cal)
    assert shanghai == local(2024, 6, 24, 0, 30)
    assert in_utc == start + timedelta(minutes=30)


def _issue(reported_at, response=30, resolution=240, working=False) -> Issue:
    """An issue on a fixed-duration policy (the budgets before the deadline rules)."""
    issue = Issue(status=Status.REGISTERED, reported_at=reported_at, held_seconds=0,
                  rehandle_count=0)
    policy = SlaPolicy(respond_minutes=response,
                       respond_clock=Clock.WORKING_DAYS if working else Clock.CALENDAR,
                       rule=DeadlineRule.DURATION, resolve_minutes=resolution,
                       working_days=working)
    sla.start_clocks(issue, policy, reported_at, CALENDAR)
    return issue


def test_states_on_track_at_risk_overdue():
    start = local(2024, 6, 21, 9, 0)
    issue = _issue(start)
    assert sla.resolution_state(issue, start + timedelta(hours=1), CALENDAR) == "on_track"
    assert sla.resolution_state(issue, start + timedelta(hours=3), CALENDAR) == "at_risk"
    assert sla.resolution_state(issue, start + timedelta(hours=5), CALENDAR) == "overdue"
    assert sla.response_state(issue, start + timedelta(minutes=10), CALENDAR) == "on_track"
    assert sla.response_state(issue, start + timedelta(minutes=25), CALENDAR) == "at_risk"


def test_states_met_and_missed():
    start = local(2024, 6, 21, 9, 0)
    issue = _issue(start)
    issue.first_on_site_at = start + timedelta(minutes=25)
    issue.resolved_at = start + timedelta(hours=5)
    later = start + timedelta(days=1)
    assert sla.response_state(issue, later, CALENDAR) == "met"
    assert sla.resolution_state(issue, later, CALENDAR) == "missed"


def test_hold_pauses_both_clocks():
    start = local(2024, 6, 21, 9, 0)
    issue = _issue(start)
    sla.pause_clocks(issue, start + timedelta(minutes=10))
    # While held, the state is frozen at the moment of the hold.
    assert sla.resolution_state(issue, start + timedelta(hours=10), CALENDAR) == "on_track"
    sla.resume_clocks(issue, start + timedelta(hours=2, minutes=10), CALENDAR)
    assert issue.held_seconds == 2 * 3600
    assert issue.response_due_at == start + timedelta(hours=2, minutes=30)
    assert issue.resolution_due_at == start + timedelta(hours=6)
    # Two hours of work used out of four: on track, though 3 h of wall time passed.
    assert sla.resolution_state(issue, start + timedelta(hours=3, minutes=10),
                                CALENDAR) == "on_track"


def test_restart_resolution_clock_for_rehandling():
    start = local(2024, 6, 21, 9, 0)
    issue = _issue(start)
    issue.resolved_at = start + timedelta(hours=1)
    again = start + timedelta(days=1)
    sla.restart_resolution_clock(issue, again, CALENDAR)
    assert issue.resolved_at is None
    assert issue.resolution_due_at == again + timedelta(hours=4)
    assert sla.resolution_state(issue, again + timedelta(minutes=5), CALENDAR) == "on_track"


@pytest.mark.parametrize("status", [Status.WITHDRAWN])
def test_withdrawn_issue_has_no_clock(status):
    issue = _issue(local(2024, 6, 21, 9, 0))
    issue.status = status
    assert sla.resolution_state(issue, local(2024, 6, 22), CALENDAR) is None


def test_calendar_from_database(db):
    from circle.models import CalendarDay

    db.session.add_all([CalendarDay(day=date(2024, 10, 1), kind="holiday", name="国庆节"),
                        CalendarDay(day=date(2024, 10, 12), kind="workday", name="国庆调休")])
    db.session.commit()
    calendar = workcalendar.load_calendar()
    assert not calendar.is_working_day(date(2024, 10, 1))
    assert calendar.is_working_day(date(2024, 10, 12))
