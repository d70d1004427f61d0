"""Reference data: what ``bootstrap`` installs for production, with or without the demo."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from circle.issues import workcalendar
from circle.models import (
    CalendarDay,
    DayKind,
    DepartmentKind,
    IssueCategory,
    IssueSource,
    SlaPolicy,
    User,
)
from circle.reference import OFFICIAL_HOLIDAYS, install_reference_data, official_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def reference_counts(db) -> dict:
    return {model.__name__: count(db, model)
            for model in (DepartmentKind, IssueCategory, IssueSource, SlaPolicy, CalendarDay)}


FULL = {"DepartmentKind": 10, "IssueCategory": 10, "IssueSource": 5, "SlaPolicy": 3,
        "CalendarDay": 72}


def test_bootstrap_without_demo_installs_the_reference_data(empty_app):
    runner = empty_app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["circle", "bootstrap", "--no-demo"])
        assert result.exit_code == 0, result.output
    from circle.extensions import db

    with empty_app.app_context():
        assert reference_counts(db) == FULL
        assert count(db, User) == 0
        hotline = db.session.scalar(sa.select(IssueSource).where(IssueSource.is_hotline))
        assert hotline.name == "12345热线工单"


def test_demo_brings_the_reference_data_too(runner, db):
    assert runner.invoke(args=["circle", "seed-demo", "--quiet"]).exit_code == 0
    assert reference_counts(db) == FULL


@pytest.mark.parametrize("year, off, worked", [(2025, 28, 5), (2026, 33, 6)])
def test_official_calendar_follows_the_notice(year, off, worked):
    days = official_calendar(year)
    kinds = [kind for kind, _name in days.values()]
    assert (kinds.count(DayKind.HOLIDAY), kinds.count(DayKind.WORKDAY)) == (off, worked)
    # Every 调休 day is a weekend day made a working day.
    assert all(day.weekday() >= 5 for day, (kind, _) in days.items() if kind == DayKind.WORKDAY)


def test_install_leaves_the_administrators_edits_alone(db):
    install_reference_data()
    db.session.commit()
    category = db.session.scalar(sa.select(IssueCategory).where(IssueCategory.name == "其他"))
    category.active = False
    db.session.delete(db.session.scalar(
        sa.select(CalendarDay).where(CalendarDay.day == date(2026, 10, 7))))
    db.session.commit()
    install_reference_data()
    db.session.commit()
    assert category.active is False
    # A day deleted from a year the calendar already has does not come back.
    assert count(db, CalendarDay) == FULL["CalendarDay"] - 1


def test_a_year_the_administrator_keeps_is_not_installed(db):
    db.session.add(CalendarDay(day=date(2026, 10, 1), kind=DayKind.HOLIDAY, name="国庆节"))
    db.session.commit()
    install_reference_data()
    days = set(db.session.scalars(sa.select(CalendarDay.day)))
    assert {d for d in days if d.year == 2026} == {date(2026, 10, 1)}
    assert set(official_calendar(2025)) <= days


def test_working_day_clock_skips_the_official_national_day(db):
    install_reference_data()
    calendar = workcalendar.load_calendar(SHANGHAI)
    # Tuesday 30 September 2025, noon, plus one working day: 1–8 October are off.
    due = workcalendar.add_time(datetime(2025, 9, 30, 12, 0, tzinfo=SHANGHAI), timedelta(days=1),
                                working_days=True, calendar=calendar)
    assert due == datetime(2025, 10, 9, 12, 0, tzinfo=SHANGHAI)
    assert calendar.is_working_day(date(2025, 9, 28))  # a Sunday, 调休


def test_every_notice_is_dated_in_its_own_year_or_the_end_of_the_one_before():
    for year in OFFICIAL_HOLIDAYS:
        assert all(day.year == year or (day.year == year - 1 and day.month == 12)
                   for day in official_calendar(year))
