"""Properties of the deadline rules over random registrations, holds, hours and calendars.

Hypothesis draws registration moments (any second of 2025–2026, and the instants around the
schedule's own boundaries), calendars (the official one, or random holidays, 调休 days,
sessions, cut-offs and a summer season), policies and holds, and checks what must hold for
every one of them: a deadline is never before registration, the rules' deadlines fall on
working days, 不过晌 ends a half-day, a hold moves a deadline by exactly the time held.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.issues import sla, workcalendar
from circle.issues.models import Clock, DeadlineRule, Issue, Status
from circle.issues.sla_models import SlaPolicy
from tests.test_sla_rules import SHANGHAI, official_calendar_of_reference

# Fast and reproducible enough for every run: no example database in the work tree, no
# per-example deadline (a slow CI machine is not a failure), the failing example printed.
PROPERTIES = settings(max_examples=150, deadline=None, database=None, print_blob=True)

OFFICIAL = official_calendar_of_reference()
FIRST_DAY = date(2025, 1, 1)
SPAN_SECONDS = 730 * 86400
RULES = (DeadlineRule.HALF_DAY, DeadlineRule.END_OF_DAY, DeadlineRule.CALENDAR_DAYS,
         DeadlineRule.WORKING_HOURS, DeadlineRule.WORKING_DAYS)
ON_WORKING_DAYS = (DeadlineRule.HALF_DAY, DeadlineRule.END_OF_DAY, DeadlineRule.WORKING_HOURS,
                   DeadlineRule.WORKING_DAYS)


def minutes(value: int) -> time:
    return time(value // 60, value % 60)


@st.composite
def work_hours(draw) -> workcalendar.WorkHours:
    morning_start = draw(st.integers(6 * 60, 10 * 60))
    morning_end = draw(st.integers(morning_start + 30, 13 * 60))
    afternoon_start = draw(st.integers(morning_end, 15 * 60))
    afternoon_end = draw(st.integers(afternoon_start + 30, 20 * 60))
    return workcalendar.WorkHours(
        minutes(morning_start), minutes(morning_end), minutes(afternoon_start),
        minutes(afternoon_end),
        noon_cutoff=minutes(draw(st.integers(morning_start, morning_end))),
        afternoon_cutoff=minutes(draw(st.integers(afternoon_start, afternoon_end))),
        evening_cutoff=minutes(draw(st.integers(12 * 60, 23 * 60 + 59))))


@st.composite
def random_calendars(draw) -> workcalendar.WorkCalendar:
    days = st.dates(FIRST_DAY, date(2027, 2, 28))
    holidays = draw(st.frozensets(days, max_size=40))
    workdays = draw(st.frozensets(days, max_size=12)) - holidays
    seasons = ()
    if draw(st.booleans()):
        first, last = draw(st.sampled_from([("05-01", "09-30"), ("11-15", "02-15"),
                                            ("07-01", "07-31")]))
        seasons = (workcalendar.Season(first, last, draw(work_hours())),)
    return workcalendar.WorkCalendar(SHANGHAI, holidays, workdays, draw(work_hours()), seasons)


calendars = st.one_of(st.just(OFFICIAL), random_calendars())


@st.composite
def moments(draw, calendar: workcalendar.WorkCalendar) -> datetime:
    """Any second of the two years, or one at (or a second around) a boundary of the day's
    schedule: a session's start or end, a cut-off, midnight."""
    first = datetime.combine(FIRST_DAY, time(0), tzinfo=SHANGHAI)
    if not draw(st.integers(0, 3)):
        return (first + timedelta(seconds=draw(st.integers(0, SPAN_SECONDS)))
                ).astimezone(timezone.utc)
    day = FIRST_DAY + timedelta(days=draw(st.integers(0, 729)))
    if draw(st.integers(0, 3)):  # mostly a working day: that is where the boundaries are
        day = next(calendar.working_days_from(day))
    hours = calendar.hours_on(day)
    boundary = draw(st.sampled_from([time(0), *(getattr(hours, name) for name in
                                                 workcalendar.WorkHours.__dataclass_fields__)]))
    return calendar.at(day, boundary) + timedelta(seconds=draw(st.sampled_from([0, 0, -1, 1])))


@st.composite
def policies(draw, rules=RULES) -> SlaPolicy:
    rule = draw(st.sampled_from(rules))
    return SlaPolicy(severity="small", rule=rule, amount=draw(st.integers(1, 10)),
                     respond_minutes=draw(st.integers(1, 24 * 60)),
                     respond_clock=draw(st.sampled_from([Clock.CALENDAR,
                                                         Clock.BUSINESS_HOURS])),
                     resolve_minutes=None, working_days=False)


@st.composite
def registrations(draw, rules=RULES):
    calendar = draw(calendars)
    return calendar, draw(moments(calendar)), draw(policies(rules))


def register(calendar, start, policy) -> Issue:
    issue = Issue(status=Status.REGISTERED, reported_at=start, rehandle_count=0)
    sla.start_clocks(issue, policy, start, calendar)
    return issue


def deadline_day(calendar: workcalendar.WorkCalendar, due: datetime) -> date:
    """The day a deadline falls on; 24:00 belongs to the day it ends."""
    return calendar.local_date(due - timedelta(microseconds=1))


def half_day_ends(calendar: workcalendar.WorkCalendar, day: date):
    h = calendar.hours_on(day)
    return ((calendar.at(day, h.noon_cutoff), calendar.at(day, h.morning_end)),
            (calendar.at(day, h.afternoon_cutoff), calendar.at(day, h.afternoon_end)))


def previous_working_day(calendar: workcalendar.WorkCalendar, day: date) -> date:
    for back in range(1, 800):
        if calendar.is_working_day(day - timedelta(days=back)):
            return day - timedelta(days=back)
    raise AssertionError("no working day before")


# --- properties ----------------------------------------------------------------------------

@PROPERTIES
@given(registrations())
def test_a_deadline_is_never_before_registration(case):
    calendar, start, policy = case
    issue = register(calendar, start, policy)
    assert issue.resolution_due_at > start
    assert start < issue.response_due_at <= issue.resolution_due_at
    assert sla.resolution_state(issue, start, calendar) in ("on_track", "at_risk")
    late = issue.resolution_due_at + timedelta(seconds=1)
    assert sla.resolution_state(issue, late, calendar) == "overdue"


@PROPERTIES
@given(registrations(ON_WORKING_DAYS))
def test_rule_deadlines_fall_on_working_days(case):
    calendar, start, policy = case
    due = register(calendar, start, policy).resolution_due_at
    day = deadline_day(calendar, due)
    assert calendar.is_working_day(day)
    if policy.rule == DeadlineRule.END_OF_DAY:
        assert due == calendar.day_end(day)
    elif policy.rule == DeadlineRule.WORKING_DAYS:
        assert due == calendar.at(day, calendar.hours_on(day).afternoon_end)
    elif policy.rule == DeadlineRule.HALF_DAY:
        assert due in [end for _cutoff, end in half_day_ends(calendar, day)]
    else:  # within (or at the end of) a working session
        assert any(begin < due <= end for begin, end in calendar.sessions(day))


@PROPERTIES
@given(registrations([DeadlineRule.HALF_DAY]))
def test_half_day_is_the_first_half_day_still_open_at_registration(case):
    calendar, start, policy = case
    policy.amount = 1
    due = register(calendar, start, policy).resolution_due_at
    day = deadline_day(calendar, due)
    (noon_cutoff, morning_end), (afternoon_cutoff, afternoon_end) = half_day_ends(calendar, day)
    # Registered before this half-day's cut-off ...
    assert start < (noon_cutoff if due == morning_end else afternoon_cutoff)
    # ... and not before the previous half-day's.
    if due == afternoon_end:
        previous_cutoff = noon_cutoff
    else:
        previous_cutoff = half_day_ends(calendar, previous_working_day(calendar, day))[1][0]
    assert start >= previous_cutoff


@PROPERTIES
@given(registrations([DeadlineRule.END_OF_DAY]))
def test_end_of_day_is_tonight_unless_after_the_cut_off_or_a_day_off(case):
    calendar, start, policy = case
    policy.amount = 1
    due = register(calendar, start, policy).resolution_due_at
    registered_on, day = calendar.local_date(start), deadline_day(calendar, due)
    cutoff = calendar.at(registered_on, calendar.hours_on(registered_on).evening_cutoff)
    if calendar.is_working_day(registered_on) and start < cutoff:
        assert day == registered_on
    else:
        assert day == next(d for d in calendar.working_days_from(registered_on)
                           if d > registered_on)


@PROPERTIES
@given(registrations([DeadlineRule.CALENDAR_DAYS]))
def test_calendar_days_end_at_midnight_n_days_after_the_day_of_registration(case):
    calendar, start, policy = case
    due = register(calendar, start, policy).resolution_due_at.astimezone(SHANGHAI)
    assert due.time() == time(0)
    assert (due.date() - calendar.local_date(start)).days == policy.amount + 1


@st.composite
def holds(draw):
    """Up to three holds, each after the last and up to four days long, beginning some time
    after the last one ended (``after``) or some time before the deadline as it then is
    (``before_due``: the hours just before a deadline are where its clock may not count)."""
    starts = st.tuples(st.sampled_from(["after", "before_due"]), st.integers(0, 3 * 86400))
    lengths = st.one_of(st.integers(1, 6 * 3600), st.integers(1, 4 * 86400))
    return draw(st.lists(st.tuples(starts, lengths), max_size=3))


@PROPERTIES
@given(registrations(), holds())
def test_holds_move_deadlines_by_exactly_the_time_held(case, hold_list):
    calendar, start, policy = case
    issue = register(calendar, start, policy)
    terms = sla.Terms.of_issue(issue)
    cursor, held_total = start, timedelta(0)
    for (anchor, gap), length in hold_list:
        if anchor == "after":
            began = cursor + timedelta(seconds=gap)
        else:
            began = max(cursor, issue.resolution_due_at - timedelta(seconds=gap % 21600))
        ended = began + timedelta(seconds=length)
        before = issue.resolution_due_at
        sla.pause_clocks(issue, began)
        sla.resume_clocks(issue, ended, calendar)
        held = workcalendar.clock_time_between(began, ended, clock=terms.clock, calendar=calendar)
        held_total += held
        if began < before:
            assert workcalendar.clock_time_between(before, issue.resolution_due_at,
                                                   clock=terms.clock, calendar=calendar) == held
            assert issue.resolution_due_at >= before
        else:
            assert issue.resolution_due_at == before
        assert issue.response_due_at <= issue.resolution_due_at
        cursor = ended
    assert issue.held_seconds == int(held_total.total_seconds())
    if policy.rule in ON_WORKING_DAYS:
        # Moved or not, the deadline is still on a working day.
        assert calendar.is_working_day(deadline_day(calendar, issue.resolution_due_at))


@PROPERTIES
@given(calendars, st.data())
def test_add_time_and_clock_time_agree(calendar, data):
    start = data.draw(moments(calendar))
    clock = data.draw(st.sampled_from(Clock.ALL))
    budget = timedelta(seconds=data.draw(st.integers(0, 10 * 86400)))
    end = workcalendar.add_time(start, budget, clock=clock, calendar=calendar)
    assert end >= start
    assert workcalendar.clock_time_between(start, end, clock=clock, calendar=calendar) == budget
    if budget:  # and it is the first such moment
        earlier = end - timedelta(microseconds=1)
        assert workcalendar.clock_time_between(start, earlier, clock=clock,
                                               calendar=calendar) < budget
    # The other way round: the clock time up to any later moment (a session's end, say)
    # runs out no later than that moment, and nothing counts in between.
    later = max(start, data.draw(moments(calendar)))
    elapsed = workcalendar.clock_time_between(start, later, clock=clock, calendar=calendar)
    reached = workcalendar.add_time(start, elapsed, clock=clock, calendar=calendar)
    assert reached <= later
    assert workcalendar.clock_time_between(reached, later, clock=clock,
                                           calendar=calendar) == timedelta(0)


@PROPERTIES
@given(registrations())
def test_todays_deadlines_say_today(case):
    calendar, start, policy = case
    due = register(calendar, start, policy).resolution_due_at
    words = sla.deadline_words(due, start, SHANGHAI)  # English outside a request
    local_due, today = due.astimezone(SHANGHAI), calendar.local_date(start)
    if local_due.time() == time(0) and deadline_day(calendar, due) == today:
        assert words == "by tonight"
    elif local_due.date() == today:
        assert words == f"by {local_due:%H:%M} today"
    else:
        assert "today" not in words and "tonight" not in words


@PROPERTIES
@given(st.data())
def test_default_promise_response_comes_before_resolution(data):
    """On the official calendar, the defaults never make being on site due with (or after)
    the resolution: each half-day's cut-off leaves more than the half hour to arrive."""
    from circle.reference import DEFAULT_SLA_POLICY

    start = data.draw(moments(OFFICIAL))
    severity = data.draw(st.sampled_from(sorted(DEFAULT_SLA_POLICY)))
    policy = SlaPolicy(severity=severity, resolve_minutes=None, working_days=False,
                       **DEFAULT_SLA_POLICY[severity])
    issue = register(OFFICIAL, start, policy)
    assert issue.response_due_at == start + timedelta(minutes=policy.respond_minutes)
    assert issue.response_due_at < issue.resolution_due_at
