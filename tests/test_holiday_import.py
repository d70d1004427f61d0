"""Holiday calendar import: a year's official calendar from CSV, checked, previewed, replaced."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import gettext
from markupsafe import escape

from circle.accounts.models import Role
from circle.audit.models import AuditAction, AuditRecord
from circle.issues import holidays
from circle.issues.sla_models import CalendarDay, DayKind
from circle.issues.workcalendar import load_calendar
from circle.permissions import Cap, roles_with
from circle.reference import OFFICIAL_HOLIDAYS, install_reference_data, official_calendar
from tests.conftest import csrf_token_from

URL = "/admin/holiday-import/"
HEADER = ["日期", "类型", "名称"]
LATEST = max(OFFICIAL_HOLIDAYS)


def test_the_page_is_in_the_reference_data_menu(app):
    assert "holiday_import" in app.blueprints


def _break(name, first: date, last: date, workdays=()):
    days = {first + timedelta(days=n): (DayKind.HOLIDAY, name)
            for n in range((last - first).days + 1)}
    days.update({day: (DayKind.WORKDAY, f"{name}调休") for day in workdays})
    return days


# Made up for the tests (the 2027 notice is not out): shaped like a notice, 调休 on weekends.
YEAR_2027 = {
    **_break("元旦", date(2027, 1, 1), date(2027, 1, 3)),
    **_break("春节", date(2027, 2, 5), date(2027, 2, 12), [date(2027, 2, 20)]),
    **_break("清明节", date(2027, 4, 3), date(2027, 4, 5)),
    **_break("劳动节", date(2027, 5, 1), date(2027, 5, 5), [date(2027, 4, 25)]),
    **_break("端午节", date(2027, 6, 9), date(2027, 6, 9)),
    **_break("中秋节", date(2027, 9, 15), date(2027, 9, 15)),
    **_break("国庆节", date(2027, 10, 1), date(2027, 10, 7),
             [date(2027, 9, 26), date(2027, 10, 9)]),
}


def text(message, **kwargs) -> str:
    """A message as the page shows it: translated in the test's locale, HTML-escaped."""
    return str(escape(gettext(message, **kwargs)))


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def rows_of(days: dict, kinds=("放假", "上班"), date_format="{:%Y-%m-%d}") -> list[list[str]]:
    words = dict(zip(DayKind.ALL, kinds, strict=True))
    return [[date_format.format(day), words[kind], name]
            for day, (kind, name) in sorted(days.items())]


def upload(browser, content: bytes, filename="calendar.csv"):
    """Step 1: the upload form, as a browser fills it."""
    return browser.submit(URL, {"file": (io.BytesIO(content), filename)},
                          content_type="multipart/form-data")


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def confirm(browser, preview_html: str, **extra):
    """Step 2: the confirmation form of a preview page."""
    data = {"confirm-csrf_token": csrf_token_from(preview_html),
            "confirm-token": hidden(preview_html, "confirm-token"),
            "confirm-existing": hidden(preview_html, "confirm-existing"), **extra}
    return browser.client.post(URL + "confirm", data=data)


def calendar(db) -> dict:
    return {row.day: (row.kind, row.name)
            for row in db.session.scalars(sa.select(CalendarDay).order_by(CalendarDay.day))}


def audit(db, action=AuditAction.IMPORT) -> list[AuditRecord]:
    return db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                              .order_by(AuditRecord.id)).all()


def problems(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", problem).strip() for problem in
            re.findall(r'<div class="holiday-problem[^"]*">(.*?)</div>', html, re.S)]


# --- access and CSRF ------------------------------------------------------------------------

# Read from the permission table: the roles without the capability (the admin, who has it,
# is every other test's user).
OTHER_ROLES = [role for role in Role.ALL if role not in roles_with(Cap.ADMINISTER_REFERENCE_DATA)]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_reference_data_administrators_may_import(browser, db, data, role):
    browser.login(role)
    assert browser.get(URL).status_code == 403
    assert browser.get(URL + "template.csv").status_code == 403
    token = csrf_token_from(browser.get("/admin/").get_data(as_text=True))
    content = csv_bytes(rows_of(YEAR_2027))
    response = browser.client.post(URL, data={"csrf_token": token,
                                              "file": (io.BytesIO(content), "c.csv")})
    assert response.status_code == 403
    assert browser.client.post(URL + "confirm", data={"confirm-csrf_token": token,
                                                      "confirm-token": "x"}).status_code == 403
    assert not calendar(db)
    # Not in the menu either.
    assert URL not in browser.get("/admin/").get_data(as_text=True)


def test_anonymous_visitors_go_to_the_login_page(client, data):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.location


def test_the_admin_sees_it_in_the_reference_data_menu(admin_browser):
    html = admin_browser.get("/admin/").get_data(as_text=True)
    assert URL in html
    page = admin_browser.get(URL).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and URL + "template.csv" in page
    assert text("The calendar has no days yet.") in page


def test_no_file_chosen(admin_browser, db, data):
    response = admin_browser.submit(URL, {}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert text("Choose the file to import.") in response.get_data(as_text=True)


def test_the_page_in_english(admin_browser, db, data):
    admin_browser.submit("/lang/en", {"next": URL}, form_url=URL)
    html = admin_browser.get(URL).get_data(as_text=True)
    assert "Import a holiday year" in html and "Template (CSV)" in html
    days = {**YEAR_2027, date(2027, 3, 10): (DayKind.WORKDAY, "春节调休")}
    preview = upload(admin_browser, csv_bytes(rows_of(days))).get_data(as_text=True)
    assert "2027-03-10 is a Wednesday: a 调休 working day must be a Saturday or Sunday" in \
        preview


def test_csrf_is_required(admin_browser, db, data):
    content = csv_bytes(rows_of(YEAR_2027))
    response = admin_browser.client.post(URL, data={"file": (io.BytesIO(content), "c.csv")})
    assert response.status_code == 400
    preview = upload(admin_browser, content).get_data(as_text=True)
    response = admin_browser.client.post(URL + "confirm", data={
        "confirm-token": hidden(preview, "confirm-token"), "confirm-existing": "0"})
    assert response.status_code == 400
    assert not calendar(db) and not audit(db)


# --- the template, and good files -----------------------------------------------------------

def test_the_template_is_the_latest_notice_and_imports_back(admin_browser, db, data):
    response = admin_browser.get(URL + "template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["Content-Disposition"]
    assert f"holiday-calendar-{LATEST}.csv" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert table[0] == HEADER
    assert table[1:] == rows_of(official_calendar(LATEST))

    preview = upload(admin_browser, response.data, "template.csv").get_data(as_text=True)
    assert text("Every row is valid.") in preview
    days = official_calendar(LATEST)
    off = sum(kind == DayKind.HOLIDAY for kind, _ in days.values())
    weekdays = sum(kind == DayKind.HOLIDAY and day.weekday() < 5
                   for day, (kind, _) in days.items())
    assert text("Rows: %(total)d · days off: %(off)d (on weekdays: %(weekdays)d) · 调休 "
                "working days: %(worked)d", total=len(days), off=off, weekdays=weekdays,
                worked=len(days) - off) in preview
    assert text("Add the %(year)d calendar", year=LATEST) in preview
    assert not calendar(db), "checking changes nothing"

    response = confirm(admin_browser, preview)
    assert response.status_code == 302 and response.location.endswith(URL)
    assert calendar(db) == days


def test_a_2027_file_round_trip(admin_browser, db, data):
    """The template, filled in with the next year in its other accepted spellings (GBK,
    2027/1/1, 休/班, English headers), previews, imports, and counts in the SLA clock."""
    template = admin_browser.get(URL + "template.csv").data.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(template)))
    assert header == HEADER
    content = csv_bytes(rows_of(YEAR_2027, kinds=("休", "班"),
                                date_format="{0.year}/{0.month}/{0.day}"),
                        header=["Date", "Kind", "Name"], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    response = upload(admin_browser, content, "2027年节假日.csv")
    assert response.status_code == 200
    preview = response.get_data(as_text=True)
    assert text("Every row is valid.") in preview
    assert text("Check of %(file)s: the %(year)d calendar", file="2027年节假日.csv",
                year=2027) in preview
    # The summary per festival, in calendar order, with the 调休 days under their festival.
    festivals = re.findall(r'<tr class="holiday-festival">\s*<td>(.*?)</td>\s*<td>(\d+)</td>',
                           preview)
    assert festivals == [("元旦", "3"), ("春节", "8"), ("清明节", "3"), ("劳动节", "5"),
                         ("端午节", "1"), ("中秋节", "1"), ("国庆节", "7")]
    assert "2027-02-20 (" in preview

    assert confirm(admin_browser, preview).status_code == 302
    assert calendar(db) == YEAR_2027
    page = admin_browser.get(URL).get_data(as_text=True)
    assert text("The %(year)d calendar now has %(off)d days off and %(worked)d 调休 working "
                "days.", year=2027, off=28, worked=4) in page
    assert re.search(r'<tr class="holiday-year"><td>2027</td><td>28</td><td>4</td></tr>', page)

    # Audited: one import record with the counts, and every day created by the admin.
    (entry,) = audit(db)
    assert entry.object_type == "calendar_import" and entry.actor_id == data.users["admin"].id
    assert entry.changes == {"file": "2027年节假日.csv", "year": 2027, "days_off": 28,
                             "workdays": 4, "replaced": 0, "added": 32, "updated": 0,
                             "removed": 0}
    created = audit(db, AuditAction.CREATE)
    assert len(created) == 32 and {r.object_type for r in created} == {"calendar_day"}

    # A working-day deadline now skips the break and counts the 调休 Saturday.
    work = load_calendar()
    assert not work.is_working_day(date(2027, 2, 8))
    assert work.is_working_day(date(2027, 2, 20))


def test_utf8_without_bom_english_kinds_and_extra_columns(admin_browser, db, data):
    rows = [row + ["随便"] for row in rows_of(YEAR_2027, kinds=("holiday", "Workday"))]
    content = csv_bytes(rows, header=["date", "kind", "name", "备注"], encoding="utf-8")
    preview = upload(admin_browser, content).get_data(as_text=True)
    assert text("Every row is valid.") in preview
    assert text("These columns are not imported: %(columns)s", columns="备注") in preview
    confirm(admin_browser, preview)
    assert calendar(db) == YEAR_2027


def test_a_weekend_day_off_outside_any_break_only_warns(admin_browser, db, data):
    days = {**YEAR_2027, date(2027, 3, 6): (DayKind.HOLIDAY, "某节")}  # a lone Saturday
    preview = upload(admin_browser, csv_bytes(rows_of(days))).get_data(as_text=True)
    assert text("Every row is valid, with %(n)d warnings: check the marked rows before you "
                "confirm.", n=1) in preview
    weekday = holidays.weekday_name(date(2027, 3, 6))
    assert problems(preview) == ["日期: " + text(
        "%(date)s is a %(weekday)s outside any break, a day off anyway: check the date.",
        date="2027-03-06", weekday=weekday)]
    # The weekend days inside a break (元旦 2027-01-02/03, 清明 2027-04-03/04) do not warn.
    assert confirm(admin_browser, preview).status_code == 302
    assert calendar(db) == days


# --- replacing a year -----------------------------------------------------------------------

def test_a_year_with_days_is_replaced_only_when_ticked(admin_browser, db, data):
    install_reference_data()
    db.session.commit()
    before = calendar(db)
    days = dict(official_calendar(LATEST))
    moved = max(day for day, (kind, _) in days.items() if kind == DayKind.HOLIDAY)
    del days[moved]  # one day fewer
    first = min(days)
    days[first] = (days[first][0], days[first][1] + "（更正）")  # one renamed
    days[date(LATEST, 12, 31)] = (DayKind.HOLIDAY, "测试日")  # one added (a weekday in 2026)
    existing = sum(day.year == LATEST for day in before)

    preview = upload(admin_browser, csv_bytes(rows_of(days))).get_data(as_text=True)
    label = text("Replace the existing %(n)d days of %(year)d", n=existing, year=LATEST)
    assert label in preview
    assert text("Replace the %(year)d calendar", year=LATEST) in preview

    # Not ticked: nothing changes, and the page says why.
    response = confirm(admin_browser, preview)
    assert response.status_code == 200
    assert text("Nothing was changed: %(year)d already has %(n)d days in the calendar. Tick "
                "\u201cReplace the existing %(n)d days of %(year)d\u201d to replace them.",
                year=LATEST, n=existing) in response.get_data(as_text=True)
    assert calendar(db) == before and not audit(db)

    # Ticked: the year is the file's; the other years are left alone.
    response = confirm(admin_browser, preview, **{"confirm-replace": "y"})
    assert response.status_code == 302
    after = calendar(db)
    assert {day: v for day, v in after.items() if day.year == LATEST} == days
    assert {day: v for day, v in after.items() if day.year != LATEST} == {
        day: v for day, v in before.items() if day.year != LATEST}
    (entry,) = audit(db)
    assert (entry.changes["replaced"], entry.changes["added"], entry.changes["updated"],
            entry.changes["removed"]) == (existing, 1, 1, 1)
    assert len(audit(db, AuditAction.UPDATE)) == 1
    (deleted,) = audit(db, AuditAction.DELETE)
    assert deleted.changes["day"] == moved.isoformat()


def test_a_year_changed_meanwhile_is_not_replaced(admin_browser, db, data):
    install_reference_data()
    db.session.commit()
    preview = upload(admin_browser, csv_bytes(rows_of(YEAR_2027 | {
        date(LATEST, 1, 1): (DayKind.HOLIDAY, "元旦")}))).get_data(as_text=True)
    assert text("Every day of the file must be in %(year)d (the year of most of its days); "
                "this one is in %(other)d.", year=2027, other=LATEST) in preview
    assert 'id="holiday-confirm"' not in preview

    preview = upload(admin_browser, csv_bytes(rows_of(official_calendar(LATEST)))
                     ).get_data(as_text=True)
    db.session.delete(db.session.scalar(sa.select(CalendarDay).where(
        CalendarDay.day == date(LATEST, 10, 7))))
    db.session.commit()
    before = calendar(db)
    response = confirm(admin_browser, preview, **{"confirm-replace": "y"})
    assert response.status_code == 200
    assert text("Nothing was changed: the %(year)d calendar changed meanwhile and now has "
                "%(n)d days. Check them and confirm again.", year=LATEST,
                n=len(official_calendar(LATEST)) - 1) in response.get_data(as_text=True)
    assert calendar(db) == before and not audit(db)


def test_confirming_twice_needs_the_tick_the_second_time(admin_browser, db, data):
    preview = upload(admin_browser, csv_bytes(rows_of(YEAR_2027))).get_data(as_text=True)
    assert confirm(admin_browser, preview).status_code == 302
    again = confirm(admin_browser, preview)
    assert again.status_code == 200
    assert text("Replace the existing %(n)d days of %(year)d", n=32, year=2027) in \
        again.get_data(as_text=True)
    assert len(audit(db)) == 1


def test_a_tampered_or_foreign_token_is_refused(admin_browser, db, data):
    preview = upload(admin_browser, csv_bytes(rows_of(YEAR_2027))).get_data(as_text=True)
    token = hidden(preview, "confirm-token")
    response = admin_browser.client.post(URL + "confirm", data={
        "confirm-csrf_token": csrf_token_from(preview), "confirm-token": token[:-3] + "abc",
        "confirm-existing": "0"})
    assert response.status_code == 302
    assert not calendar(db)
    check = holidays.parse_calendar_csv(csv_bytes(rows_of(YEAR_2027)))
    signed = holidays.dump_token("key", check, user_id=1)
    assert holidays.load_token("key", signed, user_id=1, max_age=60).year == 2027
    for key, user_id, max_age in (("key", 2, 60), ("other", 1, 60), ("key", 1, -1)):
        with pytest.raises(holidays.CalendarRefused):
            holidays.load_token(key, signed, user_id=user_id, max_age=max_age)


# --- files that are refused, rows that are wrong ---------------------------------------------

GOOD = rows_of(YEAR_2027)


@pytest.mark.parametrize("content, filename, message, kwargs", [
    (b"", "c.csv", "The file is empty.", {}),
    (b"\r\n ,, \r\n\r\n", "c.csv", "The file is empty.", {}),
    (csv_bytes([]), "c.csv", "The file has no days under its header row.", {}),
    ("日期,类型,名称\r\n".encode() + b"\x80\xff\x80\xff,x,y\r\n", "c.csv",
     "The file could not be read as text. Save it as \u201cCSV UTF-8\u201d (or CSV) and "
     "upload it again.", {}),
    (bytes(range(256)) * 8, "c.csv",
     "The file could not be read as text. Save it as \u201cCSV UTF-8\u201d (or CSV) and "
     "upload it again.", {}),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, "c.xlsx",
     "This is an Excel workbook: in Excel, save it as \u201cCSV UTF-8\u201d and upload the "
     "CSV file.", {}),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, "c.xls",
     "This is an Excel workbook: in Excel, save it as \u201cCSV UTF-8\u201d and upload the "
     "CSV file.", {}),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "c.pdf",
     "The file has no column for: %(columns)s. Download the template to see the expected "
     "columns.", {"columns": "日期、类型、名称"}),
    (csv_bytes(GOOD, header=["日期", "名称"]), "c.csv",
     "The file has no column for: %(columns)s. Download the template to see the expected "
     "columns.", {"columns": "类型"}),
    (csv_bytes(GOOD, header=["日期", "date", "类型"]), "c.csv",
     "The column %(column)s appears twice.", {"column": "date"}),
    (csv_bytes(GOOD * 20), "c.csv", "The file has more than %(n)d rows: a year's calendar has "
     "a few dozen. Check that this is the right file.", {"n": holidays.MAX_ROWS}),
    ("日期,类型,名称\r\n2027-01-01,放假,元\x00旦\r\n".encode(), "c.csv",
     "The file could not be read as text. Save it as \u201cCSV UTF-8\u201d (or CSV) and "
     "upload it again.", {}),
    (csv_bytes([["2027-01-01", "放假", "x" * 140_000]]), "c.csv",
     "The file could not be read as CSV.", {}),
    (csv_bytes(GOOD) + b"x" * holidays.MAX_BYTES, "c.csv", "The file is larger than "
     "%(size)s: a year's calendar is a few dozen rows. Check that this is the right file.",
     {"size": "200 KB"}),
])
def test_files_refused_with_a_message(admin_browser, db, data, content, filename, message,
                                      kwargs):
    response = upload(admin_browser, content, filename)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert text(message, **kwargs) in html
    assert 'id="holiday-confirm"' not in html
    assert not calendar(db) and not audit(db)


def _with(row: list[str], index: int) -> list[list[str]]:
    """The good rows with ``row`` in place of row ``index`` (spreadsheet row index + 2)."""
    rows = [list(r) for r in GOOD]
    rows[index] = row
    return rows


WEDNESDAY = date(2027, 3, 10)


@pytest.mark.parametrize("rows, column, message, kwargs", [
    (_with(["2027-02-30", "放假", "春节"], 3), "日期",
     "Not a valid date: write it as 2027-01-01 or 2027/1/1.", {}),
    (_with(["1/1/2027", "放假", "元旦"], 0), "日期",
     "Not a valid date: write it as 2027-01-01 or 2027/1/1.", {}),
    (_with(["=DATE(2027,1,1)", "放假", "元旦"], 0), "日期",
     "Not a valid date: write it as 2027-01-01 or 2027/1/1.", {}),
    (_with(["", "放假", "元旦"], 0), "日期", "Enter the date.", {}),
    (_with(["2027-01-01", "半天", "元旦"], 0), "类型",
     "Unknown kind \u201c%(value)s\u201d: write 放假 for a day off or 上班 for a 调休 working "
     "day.", {"value": "半天"}),
    (_with(["2027-01-01", "", "元旦"], 0), "类型",
     "Enter the kind: 放假 for a day off, 上班 for a 调休 working day.", {}),
    (_with(["2027-01-01", "放假", ""], 0), "名称", "Enter the festival's name.", {}),
    (_with(["2027-01-01", "放假", '=HYPERLINK("http://evil.example","x")'], 0), "名称",
     "A name cannot start with = + - or @ (a spreadsheet would run it as a formula).", {}),
    (_with(["2027-01-01", "放假", "节" * 51], 0), "名称", "At most %(n)d characters.",
     {"n": 50}),
    (GOOD + [[WEDNESDAY.isoformat(), "上班", "春节调休"]], "类型",
     "%(date)s is a %(weekday)s: a 调休 working day must be a Saturday or Sunday (a weekday "
     "is a working day anyway).", {"date": WEDNESDAY.isoformat(), "weekday": WEDNESDAY}),
    (GOOD + [["2028-01-03", "放假", "元旦"]], "日期",
     "Every day of the file must be in %(year)d (the year of most of its days); this one is "
     "in %(other)d.", {"year": 2027, "other": 2028}),
    (GOOD + [["2027/1/2", "上班", "元旦调休"]], "日期", "Same date as row %(row)d.",
     {"row": 3}),
])
def test_bad_rows_are_listed_and_nothing_can_be_imported(admin_browser, db, data, rows,
                                                         column, message, kwargs):
    if isinstance(kwargs.get("weekday"), date):
        kwargs = {**kwargs, "weekday": holidays.weekday_name(kwargs["weekday"])}
    html = upload(admin_browser, csv_bytes(rows)).get_data(as_text=True)
    assert f"{column}: {text(message, **kwargs)}" in problems(html)
    assert text("Rows with errors: %(n)d. Nothing can be imported until every row is "
                "correct: correct the file and check it again.", n=1) in html
    assert 'id="holiday-confirm"' not in html
    assert not calendar(db) and not audit(db)


def test_every_bad_row_is_reported_at_once(admin_browser, db, data):
    rows = [["2027-13-01", "放假", "元旦"], ["2027-01-02", "?", ""],
            ["2027-01-04", "上班", "元旦调休"], *GOOD[2:]]
    html = upload(admin_browser, csv_bytes(rows)).get_data(as_text=True)
    # Four errors, and a warning: 2027-01-03, a Sunday off, is no longer part of a break.
    assert html.count('class="holiday-problem text-danger"') == 4
    assert len(problems(html)) == 5
    assert text("Rows with errors: %(n)d. Nothing can be imported until every row is "
                "correct: correct the file and check it again.", n=3) in html


# --- the plain functions --------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2027-01-01", date(2027, 1, 1)), ("2027/1/1", date(2027, 1, 1)),
    ("2027.10.7", date(2027, 10, 7)), ("2027年10月7日", date(2027, 10, 7)),
    ("２０２７－０２－０５", date(2027, 2, 5)), ("2027/2/5 0:00", date(2027, 2, 5)),
    (" 2027-02-05 ", date(2027, 2, 5)), ("2027-2-29", None), ("20270101", None),
    ("2027-01-01 12:00", None), ("", None),
])
def test_parse_day(value, expected):
    assert holidays.parse_day(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("放假", DayKind.HOLIDAY), ("休", DayKind.HOLIDAY), ("Holiday", DayKind.HOLIDAY),
    (" 上班 ", DayKind.WORKDAY), ("班", DayKind.WORKDAY), ("WORKDAY", DayKind.WORKDAY),
    ("调休", None), ("x", None),
])
def test_parse_kind(value, expected):
    assert holidays.parse_kind(value) == expected


def test_the_shipped_notices_pass_the_checks(app):
    with app.test_request_context():
        for year in OFFICIAL_HOLIDAYS:
            check = holidays.parse_calendar_csv(holidays.template_csv(official_calendar(year)))
            assert check.year == year and not check.problems
            assert {row.day: (row.kind, row.name) for row in check.days} == \
                official_calendar(year)
