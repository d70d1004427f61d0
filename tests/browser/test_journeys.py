"""The users' days in a real browser (Chromium), on a phone and on a desktop.

Each journey saves a screenshot per step under tests/artifacts/screenshots/<test>/ and checks
every page it visits for JavaScript console errors and failed asset requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import Issue, Status

PHONE = (390, 844)
STORY_SHOP = "连濛冷冻食品专卖店"


def issue_by_work_order(app, number):
    with app.app_context():
        return db.session.scalar(sa.select(Issue).where(Issue.work_order_no == number))


def open_action(s, action: str):
    """Open one of the desk's collapsible action forms and return the form. The loop's next
    step for the user is already open (clicking its summary would fold it)."""
    details = s.page.locator(f"details#action-{action}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details.locator("form")


def register_issue_as_liaison(s, work_order: str) -> None:
    s.goto("/admin/")
    s.page.click(".job-links a[href='/admin/register/']")
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("register page")
    s.no_horizontal_scroll()
    s.shot("register-form")
    # The searchable merchant picker (select2, AJAX search limited to the liaison's circles).
    s.page.click("#s2id_merchant a.select2-choice")
    s.page.fill(".select2-drop-active input.select2-input", "连濛")
    s.page.locator(".select2-result-selectable", has_text=STORY_SHOP).first.click()
    s.page.check("input[name=severity][value=small]")
    s.page.select_option("#category", label="供电用电")
    s.page.select_option("#source", label="12345热线工单")
    s.page.fill("#work_order_no", work_order)
    s.page.fill("#description", "门店多次跳闸不供电，冰箱里存放着大量冷冻商品，担心变质。")
    submit = s.page.locator("#register-form button[type=submit]")
    submit.scroll_into_view_if_needed()
    box = submit.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], box
    s.no_horizontal_scroll()
    s.shot("register-filled")
    submit.click()
    s.page.wait_for_load_state("networkidle")
    assert "/admin/desk/" in s.page.url, s.page.url
    s.assert_clean("desk after registering")


def escalated_by_liaison(open_session, app, work_order: str) -> Issue:
    """The liaison registers the story's issue on a phone and escalates it at once."""
    liaison = open_session("liaison", viewport=PHONE)
    liaison.login("lianluo1")
    register_issue_as_liaison(liaison, work_order)
    open_action(liaison, "escalate").locator("button[type=submit]").click()
    liaison.page.wait_for_load_state("networkidle")
    return issue_by_work_order(app, work_order)


def test_journey_1_liaison_registers_and_escalates_on_a_phone(open_session, live_server):
    app, _ = live_server
    s = open_session("liaison", viewport=PHONE)
    s.login("lianluo1")
    register_issue_as_liaison(s, "2611270000001")
    s.no_horizontal_scroll()
    s.shot("desk-registered")
    form = open_action(s, "escalate")
    form.locator("[name=note]").fill("线路问题联络员无法处理，请专员上门。")
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after escalating")
    s.no_horizontal_scroll()
    s.shot("desk-escalated")
    issue = issue_by_work_order(app, "2611270000001")
    assert (issue.status, issue.level) == (Status.ESCALATED, 2)


def test_journey_2_specialist_dispatches_visits_convenes_and_resolves(open_session,
                                                                      live_server):
    app, _ = live_server
    issue = escalated_by_liaison(open_session, app, "2611270000002")
    s = open_session("specialist")
    s.login("zhuanyuan")
    s.goto("/admin/dispatch/")
    row = s.page.locator("tr", has=s.page.locator(f"a[href='/admin/desk/{issue.id}']"))
    assert row.count() == 1
    # Highlighted by SLA urgency: a fresh small matter is on track.
    assert row.locator(".sla-on_track").count() >= 1
    phones = row.locator("a[href^='tel:']")
    assert phones.count() >= 2  # the merchant and the emergency contact, one tap away
    contact = phones.nth(1).get_attribute("href")
    assert contact.startswith("tel:1")
    s.shot("dispatch-board")
    row.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after accepting")

    s.goto(f"/admin/desk/{issue.id}")
    arrival = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    form = open_action(s, "visit")
    form.locator("[name=arrived_at]").fill(arrival)
    form.locator("input[name=outcome][value=temporary]").check()
    form.locator("[name=findings]").fill("门店使用的电线过粗、功率过大，再加上其他商铺用电，导致频繁跳闸。")
    s.shot("visit-form")
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after the visit")

    form = open_action(s, "joint_office")
    form.locator("input[type=checkbox]").first.check()
    form.locator("[name=note]").fill("物业和商户双方僵持不下，召集供电所现场办公。")
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after convening")
    s.shot("joint-office")
    assert issue_by_work_order(app, "2611270000002").level == 3

    form = open_action(s, "resolve")
    form.locator("[name=summary]").fill("暂时由商户购买小刀闸安装到电表箱，保证门店正常用电。")
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after resolving")
    s.shot("resolved")
    assert issue_by_work_order(app, "2611270000002").status == Status.RESOLVED


def test_journey_4_admin_switches_language(open_session, live_server):
    s = open_session("admin")
    s.login("admin")
    s.goto("/admin/merchant/")
    heading = s.page.locator("h1, h2, .navbar").first.inner_text()
    assert "商户" in heading or "商户" in s.page.content()
    s.page.click("form[action='/lang/en'] button")
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("English")
    assert "Merchants" in s.page.content() and "Sign out" in s.page.content()
    s.shot("english")
    s.page.click("form[action='/lang/zh_CN'] button")
    s.page.wait_for_load_state("networkidle")
    assert "退出登录" in s.page.content()
    s.shot("chinese-again")


def test_journey_5_liaison_cannot_open_another_circles_issue(open_session, live_server):
    app, _ = live_server
    with app.app_context():
        from circle.org.models import BusinessCircle

        west = db.session.scalar(sa.select(BusinessCircle).where(
            BusinessCircle.name.like("%西街")))
        other = db.session.scalar(sa.select(Issue).where(Issue.circle_id == west.id))
        other_id, secret = other.id, other.description
    s = open_session("liaison", viewport=PHONE)
    s.login("lianluo1")
    for path in (f"/admin/desk/{other_id}", f"/admin/issue/details/?id={other_id}"):
        s.goto(path, expect_status=404)
        assert secret not in s.page.content()
        assert "不存在" in s.page.content()
    # Liaisons may not edit issues at all: sent back to their own list, which lacks it.
    s.goto(f"/admin/issue/edit/?id={other_id}")
    assert s.page.url.endswith("/admin/issue/") and secret not in s.page.content()
    s.shot("refused")


def resolved_story_issue(app, work_order: str) -> int:
    """The seed story, registered and resolved through the workflow (journeys 1–2 do it in
    the browser); returns the issue id."""
    from datetime import timedelta

    from circle.models import IssueCategory, IssueSource, Merchant, User
    from circle.timeutil import utcnow
    from tests.steps import wf

    with app.app_context():
        def user(name):
            return db.session.scalar(sa.select(User).where(User.username == name))

        merchant = db.session.scalar(sa.select(Merchant).where(Merchant.shop_name == STORY_SHOP))
        issue = wf.register_issue(
            user("lianluo1"), merchant=merchant,
            category=db.session.scalar(sa.select(IssueCategory).where(
                IssueCategory.name == "供电用电")),
            source=db.session.scalar(sa.select(IssueSource).where(IssueSource.is_hotline)),
            severity="small", description="门店频繁跳闸", work_order_no=work_order,
            now=utcnow() - timedelta(hours=3))
        wf.escalate_to_community(issue, user("lianluo1"), expected_version=issue.version,
                                 now=utcnow() - timedelta(hours=3))
        wf.accept_issue(issue, user("zhuanyuan"), expected_version=issue.version,
                        now=utcnow() - timedelta(hours=3))
        wf.record_site_visit(issue, user("zhuanyuan"), arrived_at=utcnow() - timedelta(hours=2),
                             outcome="resolved", summary="安装小刀闸，恢复供电",
                             expected_version=issue.version, now=utcnow() - timedelta(hours=2))
        return issue.id


def test_journey_3_staff_records_callback_and_downloads_exports(open_session, live_server,
                                                                tmp_path):
    import csv
    import io

    from openpyxl import load_workbook

    app, _ = live_server
    issue_id = resolved_story_issue(app, "2611270000003")
    s = open_session("staff")
    s.login("huifang")
    s.goto("/admin/callbacks/")
    link = s.page.locator(f"a[href='/admin/desk/{issue_id}#callback']")
    assert link.count() == 1
    s.shot("callback-queue")
    link.click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("desk for the callback")
    form = s.page.locator("details#callback form")
    if s.page.locator("details#callback").get_attribute("open") is None:
        s.page.locator("details#callback summary").click()
    form.locator("input[name=reached][value=yes]").check()
    form.locator("input[name=resolved][value=yes]").check()
    form.locator("input[name=rating][value=satisfied]").check()
    form.locator("[name=comments]").fill("半天时间就把问题解决了！")
    s.shot("callback-form")
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after the callback")
    assert issue_by_work_order(app, "2611270000003").status == Status.CLOSED

    s.goto("/admin/satisfaction-export/")
    s.shot("export-form")
    rows = {}
    for file_format in ("csv", "xlsx"):
        s.page.select_option("#format", file_format)
        with s.page.expect_download() as download_info:
            s.page.click("#export-form button[name=download]")
        download = download_info.value
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert path.suffix == f".{file_format}"
        if file_format == "csv":
            text = path.read_bytes().decode("utf-8")
            assert text.startswith("\ufeff")
            rows["csv"] = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        else:
            workbook = load_workbook(path, read_only=True)
            try:
                rows["xlsx"] = [list(row) for row in workbook.active.iter_rows(values_only=True)]
            finally:
                workbook.close()  # read-only workbooks keep the file open until closed
    for found in rows.values():
        flat = [" ".join(str(value) for value in row) for row in found]
        assert any("2611270000003" in line and STORY_SHOP in line for line in flat), found[:3]
    s.assert_clean("after the downloads")


def test_journey_4_admin_dashboard_draws_its_charts(open_session, live_server):
    s = open_session("admin")
    s.login("admin")
    s.goto("/admin/")
    for chart in ("#trend-chart", "#category-chart"):
        canvas = s.page.locator(chart)
        canvas.scroll_into_view_if_needed()
        s.page.wait_for_function(
            "id => { const c = document.querySelector(id);"
            " return c && c.width > 0 && c.height > 0 && window.Chart && Chart.getChart(c); }",
            arg=chart)
        # Something was drawn: the canvas is not blank.
        drawn = s.page.evaluate(
            "id => { const c = document.querySelector(id);"
            " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; }"
            " return false; }", chart)
        assert drawn, chart
    s.assert_clean("dashboard")
    s.shot("dashboard")


def test_journey_6_specialist_asks_an_extension_and_the_leader_approves_on_a_phone(
        open_session, live_server):
    """延期申请 on the desk; the street leader finds it under 待审批 on a phone and approves."""
    from circle.issues.lifecycle_models import RequestStatus

    app, _ = live_server
    issue = escalated_by_liaison(open_session, app, "2611270000006")
    s = open_session("specialist")
    s.login("zhuanyuan")
    s.goto("/admin/dispatch/")
    row = s.page.locator("tr", has=s.page.locator(f"a[href='/admin/desk/{issue.id}']"))
    assert row.locator(".sla-sign").count() == 1  # 签收 clock running
    row.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after signing for it")
    s.goto(f"/admin/desk/{issue.id}")
    assert s.page.locator(".desk-sla-sign .sla-met").count() == 1
    form = open_action(s, "request_extension")
    later = (issue.resolution_due_at + timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    form.locator("[name=new_deadline]").fill(later.strftime("%Y-%m-%dT%H:%M"))
    form.locator("[name=reason]").fill("需供电所更换电表箱配件，配件到货需两天。")
    s.shot("extension-request")
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("after asking")
    assert s.page.locator(".desk-pending-request").count() == 1

    leader = open_session("leader", viewport=PHONE)
    leader.login("lingdao")
    leader.goto("/admin/approvals/")
    leader.no_horizontal_scroll()
    leader.shot("approvals")
    row = leader.page.locator("tr.approval-row",
                              has=leader.page.locator(f"a[href='/admin/desk/{issue.id}']"))
    assert row.count() == 1
    row.locator("a.btn").click()
    leader.page.wait_for_load_state("networkidle")
    leader.assert_clean("desk of the request")
    leader.no_horizontal_scroll()
    form = leader.page.locator("details#action-decide_extension form")
    if not form.is_visible():
        leader.page.locator("details#action-decide_extension summary").click()
    form.locator("input[name=approve][value=yes]").check()
    leader.shot("decide")
    submit = form.locator("button[type=submit]")
    box = submit.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE[0], box
    submit.click()
    leader.page.wait_for_load_state("networkidle")
    leader.assert_clean("after approving")
    leader.no_horizontal_scroll()
    leader.shot("approved")
    with app.app_context():
        fresh = db.session.get(Issue, issue.id)
        request = fresh.requests[-1]
        assert request.status == RequestStatus.APPROVED and request.decided_by.username == \
            "lingdao"
        assert fresh.resolution_due_at == request.new_deadline and fresh.extension_count == 1
    # The leader changes no case data otherwise: no visit, no resolve on the desk.
    assert leader.page.locator("details#action-visit, details#action-resolve").count() == 0


def test_journey_7_district_admin_goes_from_streets_to_a_figures_issues(open_session,
                                                                        live_server):
    """Over two streets the administrator's dashboard has a row per street; a street opens
    its communities, a community its circles, a number the issues it counts — and each
    narrowed page leads back up."""
    from circle.org.models import BusinessCircle, Community, Street

    app, _ = live_server
    with app.app_context():
        other = Street(name="朝阳街道")
        db.session.add(BusinessCircle(name="向阳商圈", community=Community(
            name="向阳社区", street=other)))
        db.session.commit()
        demo_street = db.session.scalar(sa.select(Street).where(Street.id != other.id))
        demo_community = demo_street.communities[0]
        street_name, community_name = demo_street.name, demo_community.name
    s = open_session("admin")
    s.login("admin")
    s.goto("/admin/")
    table = s.page.locator("#rates-by-circle")
    assert table.locator("tbody tr").count() == 2
    assert "街道" in table.locator("thead th").first.inner_text()
    s.shot("streets")
    table.locator("a[data-drill]", has_text=street_name).click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("a street")
    assert street_name in s.page.locator("h1").inner_text()
    assert s.page.locator("#narrowed a[data-up=all]").is_visible()
    table.locator("a[data-drill]", has_text=community_name).click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("a community")
    assert community_name in s.page.locator("h1").inner_text()
    assert s.page.locator("#narrowed a[data-up=street]").is_visible()
    s.shot("community")
    # The first circle's reported count opens a list of exactly that many issues.
    count = table.locator("tbody tr").first.locator("a[data-figure]").first
    shown = int(count.inner_text())
    count.click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("the figure's issues")
    tab = s.page.locator(".nav-tabs .nav-link.active").first.inner_text()
    listed = int(tab.split("(")[1].rstrip(")")) if "(" in tab else 0
    assert listed == shown, (tab, shown)
    s.page.go_back()
    s.page.wait_for_load_state("networkidle")
    s.page.locator("#narrowed a[data-up=street]").click()
    s.page.wait_for_load_state("networkidle")
    assert street_name in s.page.locator("h1").inner_text()
    s.page.locator("#narrowed a[data-up=all]").click()
    s.page.wait_for_load_state("networkidle")
    assert s.page.locator("#rates-by-circle tbody tr").count() == 2
    s.assert_clean("back at every street")
