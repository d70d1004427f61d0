"""Reference data a production install starts with: the lists, the SLA defaults, the holidays.

``flask circle bootstrap`` installs it on every run, with or without the demo data, so a new
install can register its first issue straight away. Every list is the administrator's after
that: the panel edits, deactivates or adds rows, and installing again only adds what is
missing (see :func:`install_reference_data`).

It lives beside :mod:`circle.demo` and :mod:`circle.synthetic`, its other two callers, rather
than in one feature package, because it fills tables of two of them (``org``'s department
kinds, ``issues``' categories, sources, SLA policies and calendar).
"""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.lifecycle_models import ReturnBasis
from circle.issues.models import Clock, DeadlineRule, IssueCategory, IssueSource, Severity
from circle.issues.sla_models import CalendarDay, DayKind, SlaPolicy, WorkSchedule
from circle.issues.workcalendar import WorkHours
from circle.org.models import DepartmentKind

DEPARTMENT_KINDS = ("供电", "供水", "燃气", "物业公司", "市场监管", "城市管理", "消防", "税务",
                    "环卫", "其他")
ISSUE_CATEGORIES = ("供电用电", "供水", "燃气", "物业纠纷", "证照办理", "环境卫生", "市容秩序",
                    "消防安全", "噪音扰民", "其他")

HOTLINE = "12345热线工单"
LIAISON_REPORT = "联络员上报"
WALK_IN = "商户来访"
MEMBER_REPORT = "群众建议员/民意收集员反映"
#: The merchant's own report through the QR sticker (circle.selfreport).
SELF_REPORT = "商户扫码"
# (name, is_hotline)
ISSUE_SOURCES = (
    (HOTLINE, True),
    (LIAISON_REPORT, False),
    (WALK_IN, False),
    (MEMBER_REPORT, False),
    (SELF_REPORT, False),
)

# 小事不过晌、大事不过夜、难事不过周, read as the promise reads. Per severity: the response
# (on site within N minutes, by the calendar: the seed story's shop had its fridge thawing,
# and an emergency contact answers at any hour) and the resolution rule with its N:
#   小事不过晌: by the end of the half-day it came in (by noon, or by the end of the afternoon);
#   大事不过夜: by 24:00 of the (working) day it came in;
#   难事不过周: by 24:00 of the seventh calendar day after.
# These are only the starting values; the administrator edits the policy in the panel.
# The 12345 clocks from the moment an issue reaches the specialists, on the response clock:
# signed for (签收) within half an hour; the merchant contacted first (先行联系) within the
# hour for a small matter, two hours for a big or hard one.
DEFAULT_SLA_POLICY = {
    Severity.SMALL: {"respond_minutes": 30, "respond_clock": Clock.CALENDAR,
                     "rule": DeadlineRule.HALF_DAY, "amount": 1,
                     "sign_minutes": 30, "contact_minutes": 60},
    Severity.BIG: {"respond_minutes": 2 * 60, "respond_clock": Clock.CALENDAR,
                   "rule": DeadlineRule.END_OF_DAY, "amount": 1,
                   "sign_minutes": 30, "contact_minutes": 2 * 60},
    Severity.HARD: {"respond_minutes": 24 * 60, "respond_clock": Clock.CALENDAR,
                    "rule": DeadlineRule.CALENDAR_DAYS, "amount": 7,
                    "sign_minutes": 30, "contact_minutes": 2 * 60},
}

# The grounds a return (退单) cites, as the 12345 rules list them; the administrator edits
# the list.
RETURN_BASES = (
    "不属于本社区职责范围",
    "属于其他街道/社区辖区",
    "应通过司法、仲裁等途径解决",
    "诉求人信息不实或无法核实",
    "已有生效处理结论的重复诉求",
)

# The budgets before the rules (respond, resolve in minutes, calendar time). Migration 0010
# gives a policy still holding them the promise above; tests that mean these set them.
LEGACY_SLA_MINUTES = {
    Severity.SMALL: (30, 4 * 60),
    Severity.BIG: (2 * 60, 24 * 60),
    Severity.HARD: (24 * 60, 7 * 24 * 60),
}

# Office hours (作息时间): all year, and a summer schedule (夏季作息, 1 May – 30 September)
# with the later, longer afternoon many offices in the north keep. A starting point only:
# the administrator sets the community's own. Each half-day takes registrations until an hour
# before it ends (不过晌); a big matter registered from half an hour after the close is the
# next working day's (不过夜).
# (name, first day, last day, hours); no days: all year.
DEFAULT_WORK_SCHEDULE: tuple[tuple[str, str | None, str | None, WorkHours], ...] = (
    ("标准作息", None, None, WorkHours()),
    ("夏季作息", "05-01", "09-30", WorkHours(
        afternoon_start=time(14, 0), afternoon_end=time(18, 0),
        afternoon_cutoff=time(17, 0), evening_cutoff=time(18, 30))),
)

# The official public holidays and 调休 working days, as the State Council General Office
# publishes them each November for the next year:
#   2025: 国务院办公厅关于2025年部分节假日安排的通知, 国办发明电〔2024〕12号 (2024-11-12);
#   2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04, published by Xinhua).
# Add the next year's notice the same way when it appears; an install picks it up on its next
# ``bootstrap``. Per notice year: (name, first day off, last day off, weekend days worked
# instead); a 调休 day may fall in the year before (2019's 元旦 had one on 2018-12-29).
OFFICIAL_HOLIDAYS: dict[int, tuple[tuple[str, date, date, tuple[date, ...]], ...]] = {
    2025: (
        ("元旦", date(2025, 1, 1), date(2025, 1, 1), ()),
        ("春节", date(2025, 1, 28), date(2025, 2, 4), (date(2025, 1, 26), date(2025, 2, 8))),
        ("清明节", date(2025, 4, 4), date(2025, 4, 6), ()),
        ("劳动节", date(2025, 5, 1), date(2025, 5, 5), (date(2025, 4, 27),)),
        ("端午节", date(2025, 5, 31), date(2025, 6, 2), ()),
        ("国庆节、中秋节", date(2025, 10, 1), date(2025, 10, 8),
         (date(2025, 9, 28), date(2025, 10, 11))),
    ),
    2026: (
        ("元旦", date(2026, 1, 1), date(2026, 1, 3), (date(2026, 1, 4),)),
        ("春节", date(2026, 2, 15), date(2026, 2, 23), (date(2026, 2, 14), date(2026, 2, 28))),
        ("清明节", date(2026, 4, 4), date(2026, 4, 6), ()),
        ("劳动节", date(2026, 5, 1), date(2026, 5, 5), (date(2026, 5, 9),)),
        ("端午节", date(2026, 6, 19), date(2026, 6, 21), ()),
        ("中秋节", date(2026, 9, 25), date(2026, 9, 27), ()),
        ("国庆节", date(2026, 10, 1), date(2026, 10, 7), (date(2026, 9, 20), date(2026, 10, 10))),
    ),
}


def official_calendar(year: int) -> dict[date, tuple[str, str]]:
    """The days of one year's notice as ``{day: (kind, name)}``.

    All days of a holiday are listed, its weekend days included, so the panel's calendar
    reads like the notice; for the SLA clock only the weekdays among them change anything.
    """
    days: dict[date, tuple[str, str]] = {}
    for name, first, last, workdays in OFFICIAL_HOLIDAYS[year]:
        for offset in range((last - first).days + 1):
            days[first + timedelta(days=offset)] = (DayKind.HOLIDAY, name)
        for day in workdays:
            days[day] = (DayKind.WORKDAY, f"{name}调休")
    return days


def install_reference_data(*, holidays: bool = True) -> None:
    """Add the reference rows that are missing, then flush (the caller commits).

    Safe to run at any time. Lists and policies are matched by name (by severity), so
    existing rows, possibly edited or deactivated by an administrator, are left alone; the
    working hours are installed only into an empty schedule. The
    official calendar is installed a notice at a time, and only when its year has no calendar
    day yet: once a year has days the administrator keeps it, and a day they deleted does not
    come back at the next deploy.

    ``holidays=False`` leaves the calendar alone (tests that build their own calendar).
    """
    _add_missing(DepartmentKind, [
        {"name": name, "sort_order": (i + 1) * 10} for i, name in enumerate(DEPARTMENT_KINDS)
    ])
    _add_missing(IssueCategory, [
        {"name": name, "sort_order": (i + 1) * 10} for i, name in enumerate(ISSUE_CATEGORIES)
    ])
    _add_missing(IssueSource, [
        {"name": name, "is_hotline": hotline, "sort_order": (i + 1) * 10}
        for i, (name, hotline) in enumerate(ISSUE_SOURCES)
    ])
    _add_missing(ReturnBasis, [
        {"name": name, "sort_order": (i + 1) * 10} for i, name in enumerate(RETURN_BASES)
    ])
    existing = set(db.session.scalars(sa.select(SlaPolicy.severity)))
    for severity, terms in DEFAULT_SLA_POLICY.items():
        if severity not in existing:
            db.session.add(SlaPolicy(severity=severity, **terms))
    # The working hours: only into an empty table (the administrator keeps them after that).
    if db.session.scalar(sa.select(sa.func.count()).select_from(WorkSchedule)) == 0:
        for name, first, last, hours in DEFAULT_WORK_SCHEDULE:
            db.session.add(WorkSchedule(name=name, season_start=first, season_end=last,
                                        **vars(hours)))
    if holidays:
        _add_official_calendar()
    db.session.flush()


def _add_missing(model, rows: list[dict]) -> None:
    existing = set(db.session.scalars(sa.select(model.name)))
    for row in rows:
        if row["name"] not in existing:
            db.session.add(model(**row))


def _add_official_calendar() -> None:
    existing = set(db.session.scalars(sa.select(CalendarDay.day)))
    kept_years = {day.year for day in existing}
    for year in sorted(OFFICIAL_HOLIDAYS):
        if year in kept_years:
            continue
        for day, (kind, name) in sorted(official_calendar(year).items()):
            if day not in existing:
                db.session.add(CalendarDay(day=day, kind=kind, name=name))
