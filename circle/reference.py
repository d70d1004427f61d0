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

from datetime import date, timedelta

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import (
    CalendarDay,
    DayKind,
    IssueCategory,
    IssueSource,
    Severity,
    SlaPolicy,
)
from circle.org.models import DepartmentKind

DEPARTMENT_KINDS = ("供电", "供水", "燃气", "物业公司", "市场监管", "城市管理", "消防", "税务",
                    "环卫", "其他")
ISSUE_CATEGORIES = ("供电用电", "供水", "燃气", "物业纠纷", "证照办理", "环境卫生", "市容秩序",
                    "消防安全", "噪音扰民", "其他")

HOTLINE = "12345热线工单"
LIAISON_REPORT = "联络员上报"
WALK_IN = "商户来访"
MEMBER_REPORT = "群众建议员/民意收集员反映"
# (name, is_hotline)
ISSUE_SOURCES = (
    (HOTLINE, True),
    (LIAISON_REPORT, False),
    (WALK_IN, False),
    (MEMBER_REPORT, False),
)

# 小事不过晌、大事不过夜、难事不过周: respond / resolve within (minutes), counted around the
# calendar. These are only the starting values; the administrator edits the policy in the
# panel (and may switch a severity to working days, which is when the calendar below counts).
DEFAULT_SLA_MINUTES = {
    Severity.SMALL: (30, 4 * 60),
    Severity.BIG: (2 * 60, 24 * 60),
    Severity.HARD: (24 * 60, 7 * 24 * 60),
}

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
    existing rows, possibly edited or deactivated by an administrator, are left alone. The
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
    existing = set(db.session.scalars(sa.select(SlaPolicy.severity)))
    for severity, (respond, resolve) in DEFAULT_SLA_MINUTES.items():
        if severity not in existing:
            db.session.add(SlaPolicy(severity=severity, respond_minutes=respond,
                                     resolve_minutes=resolve, working_days=False))
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
