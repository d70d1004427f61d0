"""Issue #16 in a real browser on a 390 px phone: the merchant scans the sticker's link,
reports with a photo, the liaison confirms, the specialist resolves, the merchant rates
满意 on the tracking page; the issue is closed and the rating is in the export."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import CallbackChannel, Issue, Status
from circle.merchants.models import Merchant
from circle.selfreport.links import issue_report_link
from tests.browser.test_journeys import PHONE, STORY_SHOP
from tests.test_desk import tiny_png


def open_action(s, action: str):
    """The desk's action form, opened if it is not open already (the first one is)."""
    details = s.page.locator(f"details#action-{action}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details.locator("form")


def _report_link(app) -> str:
    with app.app_context():
        merchant = db.session.scalar(sa.select(Merchant).where(Merchant.shop_name == STORY_SHOP))
        token = issue_report_link(merchant)
        db.session.commit()
        return token


def _latest_issue(app) -> Issue:
    with app.app_context():
        issue = db.session.scalar(sa.select(Issue).order_by(Issue.id.desc()).limit(1))
        issue.callbacks  # noqa: B018  (loaded while the session is open)
        db.session.expunge(issue)
        return issue


def test_merchant_reports_follows_and_rates_on_a_phone(open_session, live_server, tmp_path):
    app, _ = live_server
    token = _report_link(app)
    photo = tmp_path / "电表箱.png"
    photo.write_bytes(tiny_png())

    merchant = open_session("merchant", viewport=PHONE)
    merchant.goto(f"/r/{token}")
    merchant.no_horizontal_scroll()
    merchant.shot("report-page")
    assert merchant.page.locator("a.selfreport-call").count() == 1
    merchant.page.select_option("#category", label="供电用电")
    merchant.page.check("input[name=severity][value=big]")
    merchant.page.fill("#description", "又跳闸了，冰柜不制冷。")
    merchant.page.set_input_files("#photos", str(photo))
    merchant.shot("report-filled")
    merchant.page.click("#report-form button[type=submit]")
    merchant.page.wait_for_load_state("networkidle")
    merchant.assert_clean("after sending")
    assert "/r/t/" in merchant.page.url
    tracking = merchant.page.url.split("?")[0]
    merchant.no_horizontal_scroll()
    merchant.shot("tracking-sent")
    issue = _latest_issue(app)
    assert (issue.status, issue.level, issue.reporter_id) == (Status.REGISTERED, 1, None)

    liaison = open_session("liaison", viewport=PHONE)
    liaison.login("lianluo1")
    liaison.goto(f"/admin/desk/{issue.id}")
    liaison.no_horizontal_scroll()
    liaison.shot("desk-self-report")
    form = open_action(liaison, "confirm")
    form.locator("button[type=submit]").click()
    liaison.page.wait_for_load_state("networkidle")
    liaison.assert_clean("after confirming")
    liaison.shot("desk-confirmed")

    specialist = open_session("specialist", viewport=PHONE)
    specialist.login("zhuanyuan")
    specialist.goto(f"/admin/desk/{issue.id}")
    form = open_action(specialist, "resolve_level1")
    form.locator("[name=summary]").fill("更换电表箱内的小空开，恢复供电。")
    form.locator("button[type=submit]").click()
    specialist.page.wait_for_load_state("networkidle")
    specialist.assert_clean("after resolving")
    specialist.shot("desk-resolved")
    assert _latest_issue(app).status == Status.RESOLVED

    merchant.goto(tracking.replace(merchant.base_url, ""))
    assert "已解决" in merchant.page.inner_text(".selfreport-steps")
    merchant.page.check("input[name=resolved][value=yes]")
    merchant.page.check("input[name=rating][value=satisfied]")
    merchant.page.fill("#comments", "半天就修好了。")
    merchant.no_horizontal_scroll()
    merchant.shot("rating")
    merchant.page.click("#rate-form button[type=submit]")
    merchant.page.wait_for_load_state("networkidle")
    merchant.assert_clean("after rating")
    merchant.shot("rated")
    issue = _latest_issue(app)
    assert (issue.status, issue.rating) == (Status.CLOSED, "satisfied")
    assert [c.channel for c in issue.callbacks] == [CallbackChannel.SELF]

    staff = open_session("staff")
    staff.login("huifang")
    staff.goto("/admin/satisfaction-export/")
    staff.page.select_option("#format", "csv")
    with staff.page.expect_download() as download_info:
        staff.page.click("#export-form button[name=download]")
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8").lstrip("\ufeff"))))
    header, mine = rows[0], [row for row in rows[1:] if row[0] == str(issue.id)]
    assert len(mine) == 1, header
    row = dict(zip(header, mine[0], strict=True))
    assert row["最终评价"] == "满意" and row["回访人"] == "商户自评", row
    staff.assert_clean("after the download")
