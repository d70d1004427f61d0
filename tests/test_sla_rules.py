"""The deadline rules, case by case: 小事不过晌、大事不过夜、难事不过周 on the official calendar.

Every case is a registration (local time, Asia/Shanghai) under the default policy, or under
the rule named, on the official 2025–2026 holiday calendar with the default working hours
(all year 08:30–12:00 and 13:30–17:30, cut-offs 11:00 / 16:30 / evening 18:00; in summer,
1 May – 30 September, the afternoon is 14:00–18:00, cut-offs 17:00 / evening 18:30), and the
deadlines it gets, written out in local time. The random cases are in
test_sla_properties.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from circle.issues import sla, workcalendar
from circle.issues.models import Clock, DeadlineRule, Issue, Status
from circle.issues.sla_models import DayKind, SlaPolicy
from circle.reference import (
    DEFAULT_SLA_POLICY,
    DEFAULT_WORK_SCHEDULE,
    LEGACY_SLA_MINUTES,
    OFFICIAL_HOLIDAYS,
    official_calendar,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def official_calendar_of_reference() -> workcalendar.WorkCalendar:
    """The calendar a new install has: the official notices and the default hours."""
    days = {}
    for year in OFFICIAL_HOLIDAYS:
        days.update(official_calendar(year))
    seasons = tuple(workcalendar.Season(first, last, hours)
                    for _name, first, last, hours in DEFAULT_WORK_SCHEDULE if first)
    [all_year] = [hours for _name, first, _last, hours in DEFAULT_WORK_SCHEDULE if not first]
    return workcalendar.WorkCalendar(
        SHANGHAI,
        frozenset(day for day, (kind, _) in days.items() if kind == DayKind.HOLIDAY),
        frozenset(day for day, (kind, _) in days.items() if kind == DayKind.WORKDAY),
        all_year, seasons)


CALENDAR = official_calendar_of_reference()


def local(text: str) -> datetime:
    """``"2026-12-04 16:00"`` in Shanghai."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def shown(moment: datetime | None) -> str:
    """A deadline in local time; 24:00 is written as 24:00 of the day it ends."""
    if moment is None:
        return "—"
    value = moment.astimezone(SHANGHAI)
    if value.hour == value.minute == 0:
        return f"{value.date() - timedelta(days=1)} 24:00"
    return value.strftime("%Y-%m-%d %H:%M")


def default_policy(severity: str) -> SlaPolicy:
    return SlaPolicy(severity=severity, working_days=False, resolve_minutes=None,
                     **DEFAULT_SLA_POLICY[severity])


def rule_policy(rule: str, amount: int, respond: int = 30) -> SlaPolicy:
    return SlaPolicy(severity="small", respond_minutes=respond, respond_clock=Clock.CALENDAR,
                     rule=rule, amount=amount, resolve_minutes=None, working_days=False)


def legacy_policy(severity: str, working_days: bool = False) -> SlaPolicy:
    respond, resolve = LEGACY_SLA_MINUTES[severity]
    return SlaPolicy(severity=severity, respond_minutes=respond, rule=DeadlineRule.DURATION,
                     respond_clock=Clock.WORKING_DAYS if working_days else Clock.CALENDAR,
                     resolve_minutes=resolve, working_days=working_days, amount=None)


def register(policy, at: str) -> Issue:
    issue = Issue(status=Status.REGISTERED, reported_at=local(at), rehandle_count=0)
    sla.start_clocks(issue, policy, local(at), CALENDAR)
    return issue


SMALL, BIG, HARD = (default_policy(s) for s in ("small", "big", "hard"))

# (case, policy, registered, response due, resolution due): 2026-11-30 is a Monday.
CASES = [
    ("小事 Monday 09:00: by noon, not 13:00",
     SMALL, "2026-11-30 09:00", "2026-11-30 09:30", "2026-11-30 12:00"),
    ("小事 Monday 11:30, after the noon cut-off: by the end of the afternoon",
     SMALL, "2026-11-30 11:30", "2026-11-30 12:00", "2026-11-30 17:30"),
    ("小事 in the lunch break",
     SMALL, "2026-11-30 12:30", "2026-11-30 13:00", "2026-11-30 17:30"),
    ("小事 Monday 16:45, after the afternoon cut-off: by noon the next day",
     SMALL, "2026-11-30 16:45", "2026-11-30 17:15", "2026-12-01 12:00"),
    ("小事 Monday 07:10, before work: by noon",
     SMALL, "2026-11-30 07:10", "2026-11-30 07:40", "2026-11-30 12:00"),
    ("小事 Friday 16:00: by the end of the afternoon",
     SMALL, "2026-12-04 16:00", "2026-12-04 16:30", "2026-12-04 17:30"),
    ("大事 Friday 16:00: tonight",
     BIG, "2026-12-04 16:00", "2026-12-04 18:00", "2026-12-04 24:00"),
    ("难事 Friday 16:00: seven days, the Friday after",
     HARD, "2026-12-04 16:00", "2026-12-05 16:00", "2026-12-11 24:00"),
    ("难事 Tuesday 1 December 10:00: by 8 December",
     HARD, "2026-12-01 10:00", "2026-12-02 10:00", "2026-12-08 24:00"),
    ("小事 Saturday 11:00: by Monday noon, not Monday 04:00",
     SMALL, "2026-12-05 11:00", "2026-12-05 11:30", "2026-12-07 12:00"),
    ("大事 Saturday 11:00: Monday night",
     BIG, "2026-12-05 11:00", "2026-12-05 13:00", "2026-12-07 24:00"),
    ("大事 Tuesday 23:30, after the evening cut-off: Wednesday night",
     BIG, "2026-12-01 23:30", "2026-12-02 01:30", "2026-12-02 24:00"),
    ("小事 Tuesday 23:30: Wednesday noon",
     SMALL, "2026-12-01 23:30", "2026-12-01 24:00", "2026-12-02 12:00"),
    ("大事 Tuesday 17:50, before the evening cut-off: tonight",
     BIG, "2026-12-01 17:50", "2026-12-01 19:50", "2026-12-01 24:00"),
    ("小事 on the eve of National Day 2025, 15:00 (summer afternoon until 18:00)",
     SMALL, "2025-09-30 15:00", "2025-09-30 15:30", "2025-09-30 18:00"),
    ("小事 on the eve of National Day 2025, 17:30: after the holiday, 9 October noon",
     SMALL, "2025-09-30 17:30", "2025-09-30 18:00", "2025-10-09 12:00"),
    ("大事 on the eve of National Day 2025, 18:10 (summer cut-off 18:30): tonight",
     BIG, "2025-09-30 18:10", "2025-09-30 20:10", "2025-09-30 24:00"),
    ("大事 on the eve of National Day 2025, 19:00: 9 October night",
     BIG, "2025-09-30 19:00", "2025-09-30 21:00", "2025-10-09 24:00"),
    ("难事 on the eve of National Day 2025: calendar days run through the holiday",
     HARD, "2025-09-30 19:00", "2025-10-01 19:00", "2025-10-07 24:00"),
    ("小事 on National Day 2025 itself: 9 October noon",
     SMALL, "2025-10-03 10:00", "2025-10-03 10:30", "2025-10-09 12:00"),
    ("小事 on a 调休 Saturday (11 October 2025, worked): that noon",
     SMALL, "2025-10-11 10:00", "2025-10-11 10:30", "2025-10-11 12:00"),
    ("大事 on a 调休 Sunday (28 September 2025, worked): that night",
     BIG, "2025-09-28 15:00", "2025-09-28 17:00", "2025-09-28 24:00"),
    ("小事 New Year's Eve 2025, 17:00: 元旦 1–3 January off, Sunday 4 January worked",
     SMALL, "2025-12-31 17:00", "2025-12-31 17:30", "2026-01-04 12:00"),
    ("大事 on the 调休 Saturday before the Spring Festival 2026, 19:00: 24 February night",
     BIG, "2026-02-14 19:00", "2026-02-14 21:00", "2026-02-24 24:00"),
    ("小事 in summer, Wednesday 13:45: the summer afternoon ends at 18:00",
     SMALL, "2026-07-01 13:45", "2026-07-01 14:15", "2026-07-01 18:00"),
    ("the seed story: 小事 reported 10:20 (on site 18 minutes later is on time)",
     SMALL, "2026-06-09 10:20", "2026-06-09 10:50", "2026-06-09 12:00"),
    ("4 working hours from Friday 16:00: Monday 11:00",
     rule_policy(DeadlineRule.WORKING_HOURS, 4), "2026-12-04 16:00", "2026-12-04 16:30",
     "2026-12-07 11:00"),
    ("2 working days from Friday 10:00: close of Tuesday",
     rule_policy(DeadlineRule.WORKING_DAYS, 2), "2026-12-04 10:00", "2026-12-04 10:30",
     "2026-12-08 17:30"),
    ("the 2nd half-day from Monday 09:00: Monday 17:30",
     rule_policy(DeadlineRule.HALF_DAY, 2), "2026-11-30 09:00", "2026-11-30 09:30",
     "2026-11-30 17:30"),
    ("legacy 4 h from Monday 09:00 (migrated issues keep it)",
     legacy_policy("small"), "2026-11-30 09:00", "2026-11-30 09:30", "2026-11-30 13:00"),
    ("legacy working-day 4 h from Saturday 11:00: Monday 04:00, as before",
     legacy_policy("small", working_days=True), "2026-12-05 11:00", "2026-12-07 00:30",
     "2026-12-07 04:00"),
]


@pytest.mark.parametrize("case,policy,registered,response,resolution", CASES,
                         ids=[case[0] for case in CASES])
def test_deadline_cases(case, policy, registered, response, resolution):
    issue = register(policy, registered)
    assert (shown(issue.response_due_at), shown(issue.resolution_due_at)) == (response,
                                                                              resolution)


def test_there_are_enough_named_cases():
    assert len(CASES) >= 12


# --- holds ---------------------------------------------------------------------------------

def hold(issue: Issue, began: str, ended: str) -> Issue:
    sla.pause_clocks(issue, local(began))
    sla.resume_clocks(issue, local(ended), CALENDAR)
    return issue


@pytest.mark.parametrize("case,policy,registered,held,response,resolution", [
    ("小事 Monday 09:00 held 10:00–14:00: 2.5 working hours later, 16:00",
     SMALL, "2026-11-30 09:00", ("2026-11-30 10:00", "2026-11-30 14:00"),
     "2026-11-30 09:30", "2026-11-30 16:00"),
    ("小事 Monday 09:00 held 09:10–09:40 before anyone arrived: the response 30 minutes "
     "later, the resolution 30 working minutes later (after the lunch break)",
     SMALL, "2026-11-30 09:00", ("2026-11-30 09:10", "2026-11-30 09:40"),
     "2026-11-30 10:00", "2026-11-30 14:00"),
    ("大事 Friday 16:00 held 17:00 to Monday 10:00: 2 working hours, Monday 10:30 (and the "
     "response, 65 calendar hours later, no later than that)",
     BIG, "2026-12-04 16:00", ("2026-12-04 17:00", "2026-12-07 10:00"),
     "2026-12-07 10:30", "2026-12-07 10:30"),
    ("大事 Monday 10:00 held only in the evening: nothing moves",
     BIG, "2026-11-30 10:00", ("2026-11-30 18:00", "2026-11-30 22:00"),
     "2026-11-30 12:00", "2026-11-30 24:00"),
    ("难事 Tuesday 10:00 held two calendar days: two days later, at 24:00",
     HARD, "2026-12-01 10:00", ("2026-12-01 12:00", "2026-12-03 12:00"),
     "2026-12-04 10:00", "2026-12-10 24:00"),
])
def test_holds_move_deadlines_by_the_time_held(case, policy, registered, held, response,
                                               resolution):
    issue = hold(register(policy, registered), *held)
    assert (shown(issue.response_due_at), shown(issue.resolution_due_at)) == (response,
                                                                              resolution)


def test_rehandling_starts_the_rule_again():
    issue = register(SMALL, "2026-11-30 09:00")
    issue.resolved_at = local("2026-11-30 10:00")
    sla.restart_resolution_clock(issue, local("2026-12-01 15:00"), CALENDAR)
    assert shown(issue.resolution_due_at) == "2026-12-01 17:30"
    assert issue.resolved_at is None and issue.held_seconds == 0


def test_a_policy_edit_leaves_registered_issues_alone():
    policy = default_policy("small")
    issue = register(policy, "2026-11-30 09:00")
    policy.rule, policy.amount = DeadlineRule.WORKING_DAYS, 3
    issue.resolved_at = local("2026-11-30 10:00")
    sla.restart_resolution_clock(issue, local("2026-12-01 09:00"), CALENDAR)
    # The issue re-handles under the rule it was registered with.
    assert shown(issue.resolution_due_at) == "2026-12-01 12:00"


def test_response_is_never_due_after_resolution():
    policy = rule_policy(DeadlineRule.HALF_DAY, 1, respond=120)
    policy.respond_clock = Clock.BUSINESS_HOURS
    issue = register(policy, "2026-11-30 10:30")
    # Two working hours would be 12:30 → 14:00; the matter is due at noon.
    assert shown(issue.response_due_at) == shown(issue.resolution_due_at) == "2026-11-30 12:00"


def test_states_count_working_hours():
    issue = register(SMALL, "2026-12-04 16:45")  # Friday, after the cut-off: Monday noon
    # 4¼ working hours (Friday 16:45–17:30 and Monday morning); by Saturday noon only the
    # first 45 minutes are used: on track.
    assert sla.resolution_state(issue, local("2026-12-05 12:00"), CALENDAR) == "on_track"
    assert sla.resolution_state(issue, local("2026-12-07 11:30"), CALENDAR) == "at_risk"
    assert sla.resolution_state(issue, local("2026-12-07 12:01"), CALENDAR) == "overdue"


# --- the deadline in words ---------------------------------------------------------------

NOW = "2026-12-01 10:00"  # a Tuesday


@pytest.mark.parametrize("due,chinese,english", [
    ("2026-12-01 12:00", "今天12:00前", "by 12:00 today"),
    ("2026-12-02 00:00", "今晚前", "by tonight"),
    ("2026-12-02 12:00", "明天12:00前", "by 12:00 tomorrow"),
    ("2026-12-03 00:00", "明晚前", "by tomorrow night"),
    ("2026-12-09 00:00", "12月8日前", "by Dec 8"),
    ("2026-12-09 17:30", "12月9日17:30前", "by 17:30 on Dec 9"),
    ("2027-01-04 12:00", "2027年1月4日12:00前", "by 12:00 on Jan 4, 2027"),
    ("2026-12-01 09:30", "今天09:30前", "by 09:30 today"),  # overdue reads the same
])
def test_deadline_in_words(app, due, chinese, english):
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("zh_CN"):
            assert sla.deadline_words(local(due), local(NOW), SHANGHAI) == chinese
        with force_locale("en"):
            assert sla.deadline_words(local(due), local(NOW), SHANGHAI) == english


def test_no_deadline_no_words():
    assert sla.deadline_words(None, local(NOW), SHANGHAI) == ""


def test_calendar_is_the_official_one():
    # The cases above lean on these days.
    assert not CALENDAR.is_working_day(date(2025, 10, 8))
    assert CALENDAR.is_working_day(date(2025, 10, 11)) and CALENDAR.is_working_day(
        date(2025, 9, 28))
    assert CALENDAR.is_working_day(date(2026, 1, 4)) and CALENDAR.is_working_day(
        date(2026, 2, 14))
    assert not CALENDAR.is_working_day(date(2026, 2, 23))


# --- where people read them ----------------------------------------------------------------

def test_register_page_says_each_promise_and_what_it_means_now(browser, db, data):
    from circle.timeutil import utcnow

    assert browser.login("liaison").status_code == 302
    html = browser.get("/admin/register/").get_data(as_text=True)
    assert "30 分钟内到场，当前半天结束前办结" in html
    assert "2 小时内到场，当天结束前办结" in html
    assert "1 天内到场，7个自然日内办结" in html
    # A hard matter registered now is due by the end of the seventh day after today.
    today = utcnow().astimezone(SHANGHAI).date()
    week = today + timedelta(days=7)
    by = (f"{week.month}月{week.day}日前" if week.year == today.year
          else f"{week.year}年{week.month}月{week.day}日前")
    assert html.count("现在登记：") == 3
    assert by in html


def test_desk_says_the_deadlines_in_words(browser, db, data):
    from circle.timeutil import utcnow
    from tests import factories as f

    now = utcnow().astimezone(SHANGHAI)
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east), status="registered")
    issue.reported_at = utcnow() - timedelta(minutes=5)
    tomorrow = now.date() + timedelta(days=1)
    issue.response_due_at = datetime.combine(tomorrow, datetime.min.time().replace(hour=12),
                                             tzinfo=SHANGHAI)
    issue.resolution_due_at = datetime.combine(tomorrow, datetime.min.time(), tzinfo=SHANGHAI)
    db.session.commit()
    assert browser.login("specialist").status_code == 302
    html = browser.get(f"/admin/desk/{issue.id}").get_data(as_text=True)
    assert "明天12:00前" in html and "今晚前" in html
    # The exact time is still there, in local time.
    assert f"{tomorrow:%Y-%m-%d} 12:00" in html
