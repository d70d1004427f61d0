"""Merchant import: check every row, confirm, import (or only the valid rows), audit."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import gettext, ngettext
from markupsafe import escape

from circle.audit.models import AuditAction, AuditRecord
from circle.merchants.models import EmergencyContact, Merchant
from circle.reports import importing
from circle.validators import credit_code_check_char
from tests import factories as f
from tests.conftest import csrf_token_from

URL = "/admin/merchant-import/"
HEADER = ["商铺名称", "经营者", "电话", "地址", "经营类别", "统一社会信用代码",
          "紧急联系人1姓名", "紧急联系人1电话", "紧急联系人1关系",
          "紧急联系人2姓名", "紧急联系人2电话", "紧急联系人2关系"]
ENGLISH_HEADER = ["Shop name", "Owner", "Phone", "Address", "Business category",
                  "Unified social credit code", "Emergency contact 1 name",
                  "Emergency contact 1 phone", "Emergency contact 1 relation",
                  "Emergency contact 2 name", "Emergency contact 2 phone",
                  "Emergency contact 2 relation"]


def credit_code(n: int) -> str:
    first17 = f"91370100MA{n:07d}"
    return first17 + credit_code_check_char(first17)


def bad_check_digit(code: str) -> str:
    last = "0" if code[-1] != "0" else "1"
    return code[:-1] + last


GOOD_ROWS = [
    ["连濛冷冻食品专卖店", "王连濛", "138 1234 5678", "恒大绿洲商业街1号", "食品", credit_code(1),
     "王小濛", "13912345678", "女儿", "李四", "0531-87654321", "邻居"],
    ["老张烧烤", "张三", "+86 13800000002", "恒大绿洲商业街2号", "餐饮", "",
     "张嫂", "13900000002", "配偶", "", "", ""],
    ["明德书店", "李明", "05318765432", "", "", credit_code(3).lower(), "", "", "", "", "", ""],
]


def text(message, **kwargs) -> str:
    """A message as the page shows it: translated in the test's locale, HTML-escaped."""
    return str(escape(gettext(message, **kwargs)))


def ntext(singular, plural, num, **kwargs) -> str:
    """A counted message as the page shows it."""
    return str(escape(ngettext(singular, plural, num, **kwargs)))


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bytes() -> bytes:
    """A valid ZIP archive that is not a workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return out.getvalue()


def upload(browser, circle, content: bytes, filename="merchants.csv", **extra):
    """Step 1: the upload form, as a browser fills it."""
    data = {"circle": str(getattr(circle, "id", circle)),
            "file": (io.BytesIO(content), filename), **extra}
    return browser.submit(URL, data, content_type="multipart/form-data")


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" type="hidden" value="([^"]*)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def confirm(browser, report_html: str, **extra):
    """Step 2: the confirmation form of a report page."""
    data = {"confirm-csrf_token": csrf_token_from(report_html),
            "confirm-token": hidden(report_html, "confirm-token"), **extra}
    return browser.client.post(URL + "confirm", data=data)


def merchants(db):
    return db.session.scalars(sa.select(Merchant).order_by(Merchant.id)).all()


def import_records(db):
    return db.session.scalars(sa.select(AuditRecord).where(
        AuditRecord.action == AuditAction.IMPORT)).all()


@pytest.fixture
def specialist(browser, data):
    assert browser.login("specialist").status_code == 302
    return browser


# --- access -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["liaison", "staff"])
def test_only_admins_and_specialists_may_import(browser, db, data, role):
    browser.login(role)
    assert browser.get(URL).status_code == 403
    assert browser.get(URL + "template.csv").status_code == 403
    token = csrf_token_from(browser.get("/admin/").get_data(as_text=True))
    response = browser.client.post(URL, data={"csrf_token": token, "circle": str(data.east.id),
                                              "file": (io.BytesIO(csv_bytes(GOOD_ROWS)),
                                                       "m.csv")})
    assert response.status_code == 403
    assert not merchants(db)


def test_the_page_offers_own_circles_and_templates(specialist, db, data):
    other = f.CircleFactory(name="北街商圈")
    db.session.commit()
    html = specialist.get(URL).get_data(as_text=True)
    assert "东街商圈" in html and "西街商圈" in html and "北街商圈" not in html
    assert other.community.name not in html
    assert URL + "template.xlsx" in html and URL + "template.csv" in html
    assert 'enctype="multipart/form-data"' in html and "reports.js" in html


def test_templates_download_and_import_back(admin_browser, db, data):
    response = admin_browser.get(URL + "template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert next(csv.reader(io.StringIO(response.data.decode("utf-8-sig")))) == HEADER
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"] or \
        "filename=" in response.headers["Content-Disposition"]

    response = admin_browser.get(URL + "template.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    assert [cell.value for cell in sheet[1]] == HEADER
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].number_format == "@"
    # Filled in, the template imports.
    for row in GOOD_ROWS:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    report = upload(admin_browser, data.east, out.getvalue(), "模板.xlsx").get_data(as_text=True)
    assert confirm(admin_browser, report).status_code == 302
    assert len(merchants(db)) == 3
    assert admin_browser.get(URL + "template.pdf").status_code == 404


# --- good files ---------------------------------------------------------------------------

def test_a_good_csv_imports_every_row_with_contacts(admin_browser, db, data):
    response = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS))
    assert response.status_code == 200
    report = response.get_data(as_text=True)
    assert text("Every row is valid.") in report
    assert not merchants(db), "checking imports nothing"

    response = confirm(admin_browser, report)
    assert response.status_code == 302 and response.location.endswith(URL)
    shops = merchants(db)
    assert [m.shop_name for m in shops] == ["连濛冷冻食品专卖店", "老张烧烤", "明德书店"]
    first, second, third = shops
    assert (first.owner_name, first.phone, first.address, first.business_category,
            first.credit_code) == ("王连濛", "13812345678", "恒大绿洲商业街1号", "食品",
                                   credit_code(1))
    assert all(m.circle_id == data.east.id for m in shops)
    assert [(c.priority, c.name, c.phone, c.relation) for c in first.emergency_contacts] == [
        (1, "王小濛", "13912345678", "女儿"), (2, "李四", "0531-87654321", "邻居")]
    assert second.phone == "13800000002" and second.credit_code is None
    assert [c.name for c in second.emergency_contacts] == ["张嫂"]
    assert third.phone == "0531-8765432" and third.credit_code == credit_code(3)
    assert third.emergency_contacts == []
    page = admin_browser.get(URL).get_data(as_text=True)
    assert ntext("%(num)d merchant imported into %(circle)s.",
                 "%(num)d merchants imported into %(circle)s.", 3, circle="东街商圈") in page

    # Audited: one import record with the counts, and every merchant and contact created.
    (entry,) = import_records(db)
    assert entry.object_type == "merchant_import" and entry.actor_id == data.users["admin"].id
    assert entry.changes == {"file": "merchants.csv", "circle_id": data.east.id, "rows": 3,
                             "imported": 3, "rejected": 0, "only_valid_rows": False}
    created = db.session.scalars(sa.select(AuditRecord).where(
        AuditRecord.action == AuditAction.CREATE)).all()
    assert sorted({r.object_type for r in created}) == ["emergency_contact", "merchant"]
    assert sum(r.object_type == "merchant" for r in created) == 3
    assert sum(r.object_type == "emergency_contact" for r in created) == 3
    assert all(r.actor_id == data.users["admin"].id for r in created)


def test_a_good_xlsx_imports_with_english_headers_and_number_cells(specialist, db, data):
    rows = [list(row) for row in GOOD_ROWS]
    rows[1][2] = 13800000002  # a phone typed into a General cell is a number
    rows[1][7] = 13900000002.0
    content = xlsx_bytes(rows, header=ENGLISH_HEADER)
    report = upload(specialist, data.west, content, "merchants.xlsx").get_data(as_text=True)
    assert text("Every row is valid.") in report
    assert confirm(specialist, report).status_code == 302
    shops = merchants(db)
    assert len(shops) == 3 and all(m.circle_id == data.west.id for m in shops)
    assert shops[1].phone == "13800000002"
    assert shops[1].emergency_contacts[0].phone == "13900000002"
    assert sum(len(m.emergency_contacts) for m in shops) == 3


def test_blank_rows_extra_columns_and_full_width_digits(admin_browser, db, data):
    rows = [GOOD_ROWS[0] + ["备注随便写"], [""] * 13,
            ["全角电话店", "赵六", "１３８００００００９９", *[""] * 10]]
    report = upload(admin_browser, data.east, csv_bytes(rows, header=HEADER + ["备注"]))
    html = report.get_data(as_text=True)
    assert text("These columns are not imported: %(columns)s", columns="备注") in html
    confirm(admin_browser, html)
    assert [m.phone for m in merchants(db)] == ["13812345678", "13800000099"]


# --- bad rows -------------------------------------------------------------------------------

BAD_ROWS = [
    GOOD_ROWS[0],                                                               # row 2: fine
    ["", "张三", "13800000011", "", "", "", "", "", "", "", "", ""],            # 3: no shop
    ["坏电话店", "李四", "12345", "", "", "", "", "", "", "", "", ""],          # 4: phone
    ["坏代码店", "王五", "13800000013", "", "", bad_check_digit(credit_code(4)),
     "", "", "", "", "", ""],                                                   # 5: check digit
    ["缺联系人电话", "赵六", "13800000014", "", "", "", "孙七", "", "朋友", "", "", ""],  # 6
    ["超长" * 60, "钱八", "13800000015", "", "", "", "", "", "", "", "", ""],   # 7: too long
    ["好店", "周九", "13800000016", "", "", "", "", "", "", "", "", ""],        # 8: fine
]


def error_rows(html: str) -> list[tuple[str, str, str]]:
    body = html.split('class="table table-sm table-striped import-errors"')[1].split("</table>")[0]
    cells = re.findall(r"<tr class=\"import-error\">\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*"
                       r"<td>(.*?)</td>", body, re.S)
    return cells


def test_a_file_with_bad_rows_imports_nothing_and_lists_the_errors(admin_browser, db, data):
    response = upload(admin_browser, data.east, csv_bytes(BAD_ROWS))
    html = response.get_data(as_text=True)
    errors = error_rows(html)
    assert ("3", "商铺名称", text("Enter the shop name.")) in errors
    assert ("4", "电话", text("Enter a mobile number (11 digits starting with 13-19) or a "
                             "landline with its area code, e.g. 0531-87654321.")) in errors
    assert ("5", "统一社会信用代码", text("This unified social credit code is not valid: its "
                                       "check digit does not match.")) in errors
    assert ("6", "紧急联系人1电话", text("Enter the emergency contact's phone number.")) in errors
    assert ("7", "商铺名称", text("At most %(n)d characters.", n=100)) in errors
    assert {row for row, _c, _m in errors} == {"3", "4", "5", "6", "7"}
    assert text("Rows: %(total)d · valid: %(valid)d · with errors: %(rejected)d",
                total=7, valid=2, rejected=5) in html
    # Confirming without "only the valid rows" imports nothing and says why.
    response = confirm(admin_browser, html)
    assert response.status_code == 200
    assert ntext("Nothing was imported: %(num)d row has errors. Correct it and upload the "
                 "file again, or tick \u201cImport only the valid rows\u201d.",
                 "Nothing was imported: %(num)d rows have errors. Correct them and upload the "
                 "file again, or tick \u201cImport only the valid rows\u201d.", 5) \
        in response.get_data(as_text=True)
    assert not merchants(db) and not import_records(db)


def test_only_the_valid_rows_and_the_rejected_rows_download(admin_browser, db, data):
    rows = BAD_ROWS + [["=HYPERLINK(\"http://evil.example\",\"x\")", "吴十", "1", "", "", "",
                        "", "", "", "", "", ""]]
    report = upload(admin_browser, data.east, csv_bytes(rows), only_valid="y")
    html = report.get_data(as_text=True)
    assert ntext("Import the %(num)d valid row", "Import the %(num)d valid rows", 2) in html
    response = confirm(admin_browser, html, **{"confirm-only_valid": "y"})
    assert response.status_code == 200
    result = response.get_data(as_text=True)
    assert [m.shop_name for m in merchants(db)] == ["连濛冷冻食品专卖店", "好店"]
    assert ntext("%(num)d merchant imported; rows left out: %(m)d.",
                 "%(num)d merchants imported; rows left out: %(m)d.", 2, m=6) in result
    (entry,) = import_records(db)
    assert (entry.changes["imported"], entry.changes["rejected"],
            entry.changes["only_valid_rows"]) == (2, 6, True)

    download = admin_browser.client.post(URL + "rejected", data={
        "rejected-csrf_token": csrf_token_from(result),
        "rejected-token": hidden(result, "rejected-token")})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in download.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"), newline="")))
    assert table[0][:12] == HEADER
    assert table[0][12:] == [gettext("Row in the uploaded file"), gettext("Errors")]
    assert [row[12] for row in table[1:]] == ["3", "4", "5", "6", "7", "9"]
    assert gettext("Enter the shop name.") in table[1][13] and "商铺名称" in table[1][13]
    assert table[6][0] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert table[2][2] == "12345"

    # The corrected rejected-rows file imports: its extra columns are ignored.
    fixed = download.data.decode("utf-8-sig").replace("12345", "13800000012")
    again = upload(admin_browser, data.east, fixed.encode("utf-8-sig"), "fixed.csv",
                   only_valid="y").get_data(as_text=True)
    assert confirm(admin_browser, again, **{"confirm-only_valid": "y"}).status_code == 200
    assert "坏电话店" in [m.shop_name for m in merchants(db)]


def test_a_file_with_no_valid_row(admin_browser, db, data):
    html = upload(admin_browser, data.east, csv_bytes(BAD_ROWS[1:3]),
                  only_valid="y").get_data(as_text=True)
    assert 'id="import-confirm"' not in html and 'id="import-rejected"' in html


# --- duplicates ---------------------------------------------------------------------------

def test_duplicates_within_the_file(admin_browser, db, data):
    rows = [
        GOOD_ROWS[0],
        ["另一家店", "某某", "13800000021", "", "", credit_code(1), "", "", "", "", "", ""],
        [" 连濛冷冻食品专卖店", "王连濛", "13812345678", "", "", "", "", "", "", "", "", ""],
        ["老张烧烤", "张三", "13800000002", "", "", "", "", "", "", "", "", ""],
        ["老张烧烤", "张三", "13800000003", "", "", "", "", "", "", "", "", ""],  # other phone
    ]
    html = upload(admin_browser, data.east, csv_bytes(rows)).get_data(as_text=True)
    errors = error_rows(html)
    assert errors == [
        ("3", "统一社会信用代码", text("Same unified social credit code as row %(row)d.", row=2)),
        ("4", "商铺名称", text("Same shop name and phone as row %(row)d.", row=2)),
    ]


def test_duplicates_against_the_database(admin_browser, db, data):
    other_circle = f.CircleFactory(name="北街商圈")
    f.MerchantFactory(circle=other_circle, shop_name="别处的店", credit_code=credit_code(1))
    f.MerchantFactory(circle=data.east, shop_name="老张烧烤", phone="13800000002")
    # The same shop name and phone in another circle is another shop.
    f.MerchantFactory(circle=data.west, shop_name="明德书店", phone="0531-8765432")
    db.session.commit()
    html = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS)).get_data(as_text=True)
    errors = error_rows(html)
    assert errors == [
        ("2", "统一社会信用代码",
         text("A merchant with this unified social credit code is already registered.")),
        ("3", "商铺名称",
         text("This business circle already has a merchant with this shop name and phone.")),
    ]
    assert "别处的店" not in html


def test_confirming_twice_imports_once(admin_browser, db, data):
    report = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS)).get_data(as_text=True)
    assert confirm(admin_browser, report).status_code == 302
    again = confirm(admin_browser, report)
    assert again.status_code == 302
    page = admin_browser.get(again.headers["Location"]).get_data(as_text=True)
    assert text("These rows have been imported already: a confirmation imports once. "
                "To import the file again, upload it again.") in page
    assert len(merchants(db)) == 3 and len(import_records(db)) == 1


# --- files that cannot be imported ----------------------------------------------------------

def test_a_gbk_csv_is_read_correctly(admin_browser, db, data):
    content = csv_bytes(GOOD_ROWS[:2], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    report = upload(admin_browser, data.east, content, "excel-中文.csv").get_data(as_text=True)
    assert text("Every row is valid.") in report
    confirm(admin_browser, report)
    shops = merchants(db)
    assert [m.shop_name for m in shops] == ["连濛冷冻食品专卖店", "老张烧烤"]
    assert shops[0].emergency_contacts[0].relation == "女儿"


def test_utf8_without_bom_and_tab_separated_text(admin_browser, db, data):
    report = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS[:1], encoding="utf-8"))
    assert text("Every row is valid.") in report.get_data(as_text=True)
    tabbed = "\t".join(HEADER) + "\r\n" + "\t".join(GOOD_ROWS[1]) + "\r\n"
    report = upload(admin_browser, data.east, tabbed.encode("utf-16"), "unicode.txt")
    assert text("Every row is valid.") in report.get_data(as_text=True)


@pytest.mark.parametrize("content, filename, message, kwargs", [
    (b"", "m.csv", "The file is empty.", {}),
    (b"\r\n,,,\r\n", "m.csv", "The file is empty.", {}),
    (csv_bytes([]), "m.csv", "The file has no merchant rows under its header row.", {}),
    (",".join(HEADER).encode() + b"\r\n\x80\xff\x80\xff,x\r\n", "m.csv",
     "The file's text encoding is not recognised. In Excel, save it as \u201cCSV UTF-8\u201d, "
     "or upload the .xlsx file.", {}),
    (csv_bytes(GOOD_ROWS, header=["名称", "经营者", "移动电话"]), "m.csv",
     "The file has no column for: %(columns)s. Download the template to see the expected "
     "columns.", {"columns": "商铺名称、电话"}),
    (csv_bytes(GOOD_ROWS, header=["商铺名称", "Shop name"] + HEADER[1:]), "m.csv",
     "The column %(column)s appears twice.", {"column": "Shop name"}),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "m.xls",
     "Old Excel files (.xls) cannot be read: save the sheet as .xlsx or as CSV.", {}),
    (b"PK\x03\x04 not really a zip", "m.xlsx", "This file is not a readable XLSX workbook.", {}),
    (zip_bytes(), "m.xlsx", "This file is not a readable XLSX workbook.", {}),
    (b"%PDF-1.4", "m.pdf", "Upload a CSV or XLSX file.", {}),
])
def test_files_refused_with_a_message(admin_browser, db, data, content, filename, message,
                                      kwargs):
    response = upload(admin_browser, data.east, content, filename)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert text(message, **kwargs) in html
    assert 'id="import-confirm"' not in html
    assert not merchants(db)


def test_an_empty_xlsx_is_refused(admin_browser, db, data):
    response = upload(admin_browser, data.east, xlsx_bytes([], header=[]), "empty.xlsx")
    assert text("The file is empty.") in response.get_data(as_text=True)


def test_a_file_above_the_size_limit_is_refused(app, admin_browser, db, data):
    app.config["CIRCLE_IMPORT_MAX_BYTES"] = 1024
    content = csv_bytes(GOOD_ROWS * 10)
    assert len(content) > 1024
    html = upload(admin_browser, data.east, content).get_data(as_text=True)
    assert text("The file is larger than %(size)s. Split it into smaller files.",
                size="1 KB") in html
    assert not merchants(db)


def test_a_file_above_the_row_limit_is_refused(app, admin_browser, db, data):
    app.config["CIRCLE_IMPORT_MAX_ROWS"] = 2
    html = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS)).get_data(as_text=True)
    assert text("The file has more than %(n)d merchant rows. Split it into smaller files.",
                n=2) in html
    html = upload(admin_browser, data.east, csv_bytes(GOOD_ROWS[:2])).get_data(as_text=True)
    assert text("Every row is valid.") in html
    html = upload(admin_browser, data.east, xlsx_bytes(GOOD_ROWS), "m.xlsx").get_data(
        as_text=True)
    assert text("The file has more than %(n)d merchant rows. Split it into smaller files.",
                n=2) in html


def test_a_zip_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(importing, "MAX_UNPACKED_BYTES", 10_000)
    content = xlsx_bytes([["店" * 1000, "x", "13800000000"]] * 20)
    with pytest.raises(importing.ImportRefused):
        importing.read_upload(content, "big.xlsx")


# --- scope and tokens ---------------------------------------------------------------------

def test_a_specialist_cannot_import_into_another_communitys_circle(specialist, db, data):
    other = f.CircleFactory(name="北街商圈")
    db.session.commit()
    response = upload(specialist, other, csv_bytes(GOOD_ROWS))
    assert response.status_code == 200
    assert text("Choose a business circle you work in.") in response.get_data(as_text=True)
    assert not merchants(db)


def test_the_confirmation_is_checked_again(specialist, browser, db, data, app):
    report = upload(specialist, data.east, csv_bytes(GOOD_ROWS)).get_data(as_text=True)
    token = hidden(report, "confirm-token")
    # Tampered with: refused.
    response = specialist.client.post(URL + "confirm", data={
        "confirm-csrf_token": csrf_token_from(report), "confirm-token": token[:-3] + "abc"})
    assert response.status_code == 302
    assert not merchants(db)
    # The specialist moves to another community before confirming: refused.
    data.users["specialist"].community = f.CommunityFactory(name="别的社区")
    db.session.commit()
    assert confirm(specialist, report).status_code == 302
    assert not merchants(db)


def test_another_users_token_is_refused(app, data, db):
    upload_rows = importing.ParsedUpload("m.csv", tuple(HEADER), [
        importing.SourceRow(2, tuple(GOOD_ROWS[0]))])
    token = importing.dump_token("key", upload_rows, user_id=1, circle_id=data.east.id)
    assert importing.load_token("key", token, user_id=1)[1] == data.east.id
    with pytest.raises(importing.ImportRefused):
        importing.load_token("key", token, user_id=2)
    with pytest.raises(importing.ImportRefused):
        importing.load_token("other-key", token, user_id=1)
    with pytest.raises(importing.ImportRefused):
        importing.load_token("key", token, user_id=1, max_age=-1)


def test_rows_too_many_for_a_form_are_imported_by_choosing_the_file_again(
        app, admin_browser, db, data):
    app.config["CIRCLE_IMPORT_MAX_TOKEN_BYTES"] = 100
    content = csv_bytes(GOOD_ROWS)
    html = upload(admin_browser, data.east, content).get_data(as_text=True)
    assert 'name="step" value="import"' in html and 'name="confirm-token"' not in html
    response = admin_browser.client.post(URL, data={
        "csrf_token": csrf_token_from(html), "circle": str(data.east.id), "step": "import",
        "file": (io.BytesIO(content), "merchants.csv")})
    assert response.status_code == 302
    assert len(merchants(db)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EmergencyContact)) == 3
