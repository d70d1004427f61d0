"""The issue desk: one issue on one page, its scope, and every workflow action over HTTP."""

from __future__ import annotations

import io
import re
import struct
import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from circle.issues.desk_forms import ACTION_FORMS
from circle.issues.models import (
    Issue,
    IssueCategory,
    IssueSource,
    SiteVisitPhoto,
    Status,
)
from circle.models import Department, DepartmentKind
from circle.timeutil import utcnow
from tests import factories as f
from tests.conftest import Browser
from tests.steps import wf as workflow

ZONE = ZoneInfo("Asia/Shanghai")  # the test app's CIRCLE_TIMEZONE (the default)
XSS = "<script>alert(1)</script>"


# --- helpers (also used by test_journeys) -----------------------------------------------------

def tiny_png() -> bytes:
    """A valid 1×1 PNG, built by hand."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def minute(moment: datetime) -> datetime:
    """``moment`` cut to the minute (a datetime-local input has no seconds)."""
    return moment.replace(second=0, microsecond=0)


def local_input(moment: datetime) -> str:
    """What a browser's datetime-local input sends for ``moment``, in the configured zone."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


def register(db, data, *, circle=None, actor=None, merchant=None, description="门店频繁跳闸",
             severity="small", reported_at=None, hotline=False, work_order_no=None) -> Issue:
    """Register an issue through the workflow, by default an hour ago in the east circle."""
    merchant = merchant or f.MerchantFactory(circle=circle or data.east)
    db.session.commit()
    source = db.session.scalars(
        sa.select(IssueSource).where(IssueSource.is_hotline == hotline)
    ).first()
    return workflow.register_issue(
        actor or data.users["admin"], merchant=merchant,
        category=db.session.scalars(sa.select(IssueCategory)).first(), source=source,
        severity=severity, description=description, work_order_no=work_order_no,
        now=reported_at or minute(utcnow()) - timedelta(hours=1),
    )


def department(db, name="供电所") -> Department:
    kind = db.session.scalars(sa.select(DepartmentKind)).first()
    row = Department(name=name, kind=kind)
    db.session.add(row)
    db.session.commit()
    return row


def advance(db, data, issue: Issue, status: str) -> Issue:
    """Take ``issue`` (just registered) to ``status`` through the workflow functions."""
    specialist = data.users["specialist"]
    at = issue.reported_at
    if status == Status.REGISTERED:
        return issue
    if status == Status.WITHDRAWN:
        workflow.withdraw_issue(issue, specialist, reason="重复", expected_version=None)
        return issue
    workflow.escalate_to_community(issue, data.users["admin"], expected_version=None,
                                   now=at + timedelta(minutes=1))
    if status == Status.ESCALATED:
        return issue
    workflow.accept_issue(issue, specialist, expected_version=None,
                          now=at + timedelta(minutes=2))
    if status == Status.DISPATCHED:
        return issue
    if status == Status.ON_HOLD:
        workflow.put_on_hold(issue, specialist, reason="等待商户", expected_version=None)
        return issue
    if status == Status.RESOLVED:
        workflow.record_site_visit(issue, specialist, arrived_at=at + timedelta(minutes=10),
                                   outcome="resolved", summary="更换空开",
                                   expected_version=None, now=at + timedelta(minutes=20))
        return issue
    workflow.record_site_visit(issue, specialist, arrived_at=at + timedelta(minutes=10),
                               outcome="temporary", findings="临时接线",
                               expected_version=None, now=at + timedelta(minutes=15))
    if status == Status.ON_SITE:
        return issue
    workflow.escalate_to_joint_office(issue, specialist, departments=[department(db)],
                                      expected_version=None, now=at + timedelta(minutes=20))
    if status == Status.JOINT_OFFICE:
        return issue
    workflow.escalate_to_symposium(issue, specialist, expected_version=None,
                                   now=at + timedelta(minutes=30))
    assert status == Status.SYMPOSIUM
    return issue


def desk_url(issue) -> str:
    return f"/admin/desk/{issue.id}"


def act(browser: Browser, db, issue: Issue, action: str, data: dict | None = None, **kwargs):
    """Post one action form of the desk as a browser would (token and version from the page)."""
    db.session.refresh(issue)
    payload = {"version": issue.version, **(data or {})}
    return browser.submit(f"{desk_url(issue)}/{action}", payload, form_url=desk_url(issue),
                          **kwargs)


def browser_for(app, username: str) -> Browser:
    """A separate browser (own cookies) signed in as ``username``."""
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def shown_actions(html: str) -> set[str]:
    return set(re.findall(r'data-action="([a-z_0-9]+)"', html))


def text(response) -> str:
    return response.get_data(as_text=True)


def flashed(app, message) -> str:
    """A workflow message as the (Chinese) page shows it, escaped."""
    with app.test_request_context():
        return str(escape(str(message)))


# --- the page ---------------------------------------------------------------------------------

def test_desk_shows_everything_for_admin(app, admin_browser, db, data):
    specialist = data.users["specialist"]
    merchant = f.MerchantFactory(circle=data.east, shop_name="王记冻品", owner_name="王连濛",
                                 phone="13912345678", address="恒大绿洲商业街8号")
    f.EmergencyContactFactory(merchant=merchant, priority=2, name="王二", phone="13700000002")
    f.EmergencyContactFactory(merchant=merchant, priority=1, name="李晓静", phone="13806412468",
                              user=specialist)
    issue = register(db, data, merchant=merchant, hotline=True, work_order_no="GD2024062100123",
                     description="冷柜一开就跳闸")
    advance(db, data, issue, Status.ON_SITE)
    visit = issue.site_visits[0]
    visit.photos.append(SiteVisitPhoto(content_type="image/png", size=len(tiny_png()),
                                       data=tiny_png(), original_name="box.png"))
    db.session.commit()

    response = admin_browser.get(desk_url(issue))
    html = text(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert f"#{issue.id}" in html
    assert "GD2024062100123" in html
    assert "冷柜一开就跳闸" in html and "王连濛" in html and "恒大绿洲商业街8号" in html
    assert "东街商圈" in html
    assert 'href="tel:13912345678"' in html
    # Emergency contacts by priority, the specialist's mobile marked.
    assert html.index('href="tel:13806412468"') < html.index('href="tel:13700000002"')
    assert "desk-contact-specialist" in html
    # SLA badges with their deadlines, in local time.
    assert 'class="badge badge-secondary sla-met"' in html  # response: arrived in 10 minutes
    assert "sla-on_track" in html or "sla-overdue" in html or "sla-at_risk" in html
    due = issue.resolution_due_at.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    assert due in html
    # The visit with its findings and a thumbnail of the photo.
    assert "临时接线" in html
    photo_id = visit.photos[0].id
    assert f'src="/admin/desk/photo/{photo_id}"' in html
    # The timeline, in order, with actors and from→to.
    timeline = html[html.index('id="timeline"'):]
    events = re.findall(r'data-event="([a-z_]+)"', timeline)
    assert events == ["register", "escalate", "accept", "arrive"]
    assert str(specialist) in timeline


def test_desk_index_goes_to_the_issue_list_and_is_not_in_the_menu(admin_browser, data):
    response = admin_browser.get("/admin/desk/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/issue/")
    home = text(admin_browser.get("/admin/"))
    assert "/admin/desk" not in home


def test_anonymous_visitor_is_sent_to_login(client, db, data):
    issue = register(db, data)
    response = client.get(desk_url(issue))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_liaison_sees_own_circle_only(app, browser, db, data):
    east_issue = register(db, data, circle=data.east)
    west_issue = register(db, data, circle=data.west)
    browser.login("liaison")
    assert browser.get(desk_url(east_issue)).status_code == 200
    assert browser.get(desk_url(west_issue)).status_code == 404
    assert browser.get("/admin/desk/999999").status_code == 404
    # Acting on an issue outside the circle is a 404 too, and changes nothing.
    response = browser.submit(f"{desk_url(west_issue)}/escalate",
                              {"version": west_issue.version}, form_url=desk_url(east_issue))
    assert response.status_code == 404
    db.session.refresh(west_issue)
    assert west_issue.status == Status.REGISTERED


@pytest.mark.parametrize("username", ["admin", "specialist", "liaison", "staff"])
@pytest.mark.parametrize("status", [
    Status.REGISTERED, Status.ESCALATED, Status.DISPATCHED, Status.ON_SITE,
    Status.JOINT_OFFICE, Status.SYMPOSIUM, Status.ON_HOLD, Status.RESOLVED, Status.WITHDRAWN,
])
def test_forms_shown_match_allowed_actions(app, browser, db, data, username, status):
    issue = advance(db, data, register(db, data), status)
    browser.login(username)
    html = text(browser.get(desk_url(issue)))
    expected = workflow.allowed_actions(issue, data.users[username])
    assert shown_actions(html) == expected
    for action in expected:
        assert f'action="{desk_url(issue)}/{action}"' in html


def test_buttons_per_role_on_the_main_states(app, db, data):
    registered = register(db, data)
    resolved = advance(db, data, register(db, data), Status.RESOLVED)
    liaison, staff = browser_for(app, "liaison"), browser_for(app, "staff")
    html = text(liaison.get(desk_url(registered)))
    assert {"resolve_level1", "escalate"} <= shown_actions(html)
    html = text(staff.get(desk_url(registered)))
    assert shown_actions(html) == set()
    assert "desk-no-actions" in html
    html = text(staff.get(desk_url(resolved)))
    assert shown_actions(html) == {"callback"}
    assert 'id="callback"' in html
    assert f'action="{desk_url(resolved)}/callback"' in html


def test_desk_covers_every_workflow_transition():
    assert set(ACTION_FORMS) == set(workflow.ACTIONS) == set(workflow.ACTION_FUNCTIONS)


# --- the actions ------------------------------------------------------------------------------

def test_liaison_resolves_at_level1(app, browser, db, data):
    issue = register(db, data, actor=data.users["liaison"])
    browser.login("liaison")
    response = act(browser, db, issue, "resolve_level1", {"summary": "帮商户复位了空开"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(desk_url(issue))
    db.session.refresh(issue)
    assert issue.status == Status.RESOLVED and issue.level == 1
    assert issue.resolution_summary == "帮商户复位了空开"
    html = text(browser.get(desk_url(issue)))
    assert "alert-success" in html


def test_resolve_level1_needs_a_summary(app, browser, db, data):
    issue = register(db, data)
    browser.login("liaison")
    response = act(browser, db, issue, "resolve_level1", {"summary": "   "})
    assert response.status_code == 200
    assert "invalid-feedback" in text(response)
    db.session.refresh(issue)
    assert issue.status == Status.REGISTERED and issue.version == 1


def test_liaison_escalates(app, browser, db, data):
    issue = register(db, data)
    browser.login("liaison")
    response = act(browser, db, issue, "escalate", {"note": "需要电工"},
                   follow_redirects=True)
    assert response.status_code == 200
    db.session.refresh(issue)
    assert (issue.status, issue.level) == (Status.ESCALATED, 2)
    assert issue.events[-1].note == "需要电工"
    # The liaison's part is done: no level-1 actions are offered any more.
    assert not {"resolve_level1", "escalate"} & shown_actions(text(response))


def test_specialist_accepts_for_themselves(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.ESCALATED)
    browser.login("specialist")
    html = text(browser.get(desk_url(issue)))
    assert re.search(r'<option selected value="%d">' % data.users["specialist"].id, html)
    act(browser, db, issue, "accept", {"assignee": str(data.users["specialist"].id)})
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED
    assert issue.assignee_id == data.users["specialist"].id


def test_admin_assigns_a_specialist(app, admin_browser, db, data):
    colleague = f.UserFactory(username="zhuanyuan2", role="specialist", community=data.community)
    other_community = f.UserFactory(role="specialist", community=f.CommunityFactory())
    db.session.commit()
    issue = advance(db, data, register(db, data), Status.ESCALATED)
    html = text(admin_browser.get(desk_url(issue)))
    assert f'value="{colleague.id}"' in html
    assert f'value="{other_community.id}"' not in html
    # A specialist of another community is not a valid choice.
    response = act(admin_browser, db, issue, "accept", {"assignee": str(other_community.id)})
    assert response.status_code == 200
    db.session.refresh(issue)
    assert issue.status == Status.ESCALATED
    act(admin_browser, db, issue, "accept", {"assignee": str(colleague.id)})
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED and issue.assignee_id == colleague.id


def test_visit_with_png_photo(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    arrived = issue.reported_at + timedelta(minutes=25)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {
        "arrived_at": local_input(arrived),
        "outcome": "temporary",
        "findings": "电表箱内小刀闸老化",
        "attendees": [str(data.users["specialist"].id), str(data.users["liaison"].id)],
        "photos": [(io.BytesIO(tiny_png()), "meter-box.png")],
    })
    assert response.status_code == 302, text(response)
    db.session.refresh(issue)
    assert issue.status == Status.ON_SITE
    assert issue.first_on_site_at == arrived
    visit = issue.site_visits[0]
    assert visit.arrived_at == arrived and visit.outcome == "temporary"
    assert {u.username for u in visit.attendees} == {"specialist", "liaison"}
    [photo] = visit.photos
    assert photo.content_type == "image/png" and photo.original_name == "meter-box.png"
    assert photo.size == len(tiny_png())
    html = text(browser.get(desk_url(issue)))
    assert f"/admin/desk/photo/{photo.id}" in html


def test_visit_refuses_a_text_file_named_jpg(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {
        "arrived_at": local_input(issue.reported_at + timedelta(minutes=20)),
        "outcome": "temporary",
        "findings": "看过了",
        "photos": [(io.BytesIO(b"just some text, not a photo"), "photo.jpg")],
    })
    assert response.status_code == 200
    html = text(response)
    assert "photo.jpg" in html and "invalid-feedback" in html
    # The form comes back open with what was typed.
    assert "看过了" in html
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED and not issue.site_visits
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SiteVisitPhoto)) == 0


def test_visit_refuses_a_photo_over_the_configured_size(app, browser, db, data):
    # Small numbers: the test client spools bodies over 500 KB to a file it never closes.
    app.config["CIRCLE_PHOTO_MAX_BYTES"] = 64 * 1024
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    browser.login("specialist")
    assert "64 KB" in text(browser.get(desk_url(issue)))
    big = tiny_png() + b"\x00" * (64 * 1024)
    response = act(browser, db, issue, "visit", {
        "arrived_at": local_input(issue.reported_at + timedelta(minutes=20)),
        "outcome": "temporary",
        "photos": [(io.BytesIO(big), "big.png")],
    })
    assert response.status_code == 200
    assert "big.png" in text(response) and "64 KB" in text(response)
    db.session.refresh(issue)
    assert not issue.site_visits


@pytest.mark.parametrize("arrived_at", ["yesterday", "2024-13-45T25:61", ""])
def test_visit_with_bad_arrival_time_shows_the_error(app, browser, db, data, arrived_at):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {"arrived_at": arrived_at,
                                                  "outcome": "temporary"})
    assert response.status_code == 200
    assert "invalid-feedback" in text(response)
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED and not issue.site_visits


def test_visit_arrival_in_the_future_is_refused_by_the_workflow(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {
        "arrived_at": local_input(utcnow() + timedelta(hours=2)),
        "outcome": "temporary",
        "findings": "未来",
    })
    assert response.status_code == 200
    html = text(response)
    assert "desk-form-error" in html
    assert flashed(app, _l("The arrival time cannot be in the future.")) in html
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED and not issue.site_visits


def test_visit_resolved_needs_a_summary(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {
        "arrived_at": local_input(issue.reported_at + timedelta(minutes=20)),
        "outcome": "resolved",
    })
    assert response.status_code == 200
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED


def test_visit_escalating_from_level2_needs_departments(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    power = department(db)
    browser.login("specialist")
    fields = {"arrived_at": local_input(issue.reported_at + timedelta(minutes=20)),
              "outcome": "escalate", "findings": "线路老化"}
    assert act(browser, db, issue, "visit", fields).status_code == 200
    db.session.refresh(issue)
    assert issue.level == 2 and not issue.site_visits
    response = act(browser, db, issue, "visit", {**fields, "departments": [str(power.id)]})
    assert response.status_code == 302
    db.session.refresh(issue)
    assert (issue.status, issue.level) == (Status.JOINT_OFFICE, 3)
    assert [d.name for d in issue.site_visits[0].departments] == ["供电所"]


def test_joint_office_requires_a_department(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.ON_SITE)
    power, water = department(db, "供电所"), department(db, "自来水公司")
    browser.login("specialist")
    response = act(browser, db, issue, "joint_office", {"note": "联合办公"})
    assert response.status_code == 200
    assert "invalid-feedback" in text(response)
    db.session.refresh(issue)
    assert (issue.status, issue.level) == (Status.ON_SITE, 2)
    act(browser, db, issue, "joint_office", {"departments": [str(power.id), str(water.id)],
                                             "note": "联合办公"})
    db.session.refresh(issue)
    assert (issue.status, issue.level) == (Status.JOINT_OFFICE, 3)
    assert "供电所" in issue.events[-1].note and "自来水公司" in issue.events[-1].note


def test_escalate_to_symposium_and_record_it(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.JOINT_OFFICE)
    browser.login("specialist")
    act(browser, db, issue, "escalate_symposium", {"note": "需座谈"})
    db.session.refresh(issue)
    assert (issue.status, issue.level) == (Status.SYMPOSIUM, 4)
    before = issue.resolution_due_at
    held = minute(utcnow()) - timedelta(minutes=30)
    deadline = minute(utcnow()) + timedelta(days=10)
    response = act(browser, db, issue, "symposium", {
        "held_at": local_input(held),
        "agreed_deadline": local_input(deadline),
        "participants": "商户、物业、供电所",
        "minutes": "十日内完成线路改造",
        "departments": [str(issue.site_visits[0].departments[0].id)]
        if issue.site_visits[0].departments else [],
    })
    assert response.status_code == 302
    db.session.refresh(issue)
    assert issue.resolution_due_at == deadline != before
    [symposium] = issue.symposiums
    assert symposium.held_at == held and symposium.agreed_deadline == deadline
    html = text(browser.get(desk_url(issue)))
    assert "十日内完成线路改造" in html
    assert deadline.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") in html
    act(browser, db, issue, "resolve", {"summary": "线路改造完成"})
    db.session.refresh(issue)
    assert issue.status == Status.RESOLVED and issue.resolution_summary == "线路改造完成"


def test_symposium_deadline_must_follow_the_meeting(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.SYMPOSIUM)
    browser.login("specialist")
    held = minute(utcnow()) - timedelta(hours=1)
    response = act(browser, db, issue, "symposium", {
        "held_at": local_input(held), "agreed_deadline": local_input(held - timedelta(days=1))})
    assert response.status_code == 200
    db.session.refresh(issue)
    assert not issue.symposiums


def test_hold_and_resume(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    browser.login("specialist")
    act(browser, db, issue, "hold", {"reason": "等待商户回店"})
    db.session.refresh(issue)
    assert issue.status == Status.ON_HOLD and issue.hold_started_at is not None
    html = text(browser.get(desk_url(issue)))
    assert shown_actions(html) == {"resume", "withdraw", "merge"}
    act(browser, db, issue, "resume", {"note": "商户已回店"})
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED and issue.hold_started_at is None


def test_withdraw(app, browser, db, data):
    issue = register(db, data)
    browser.login("liaison")
    assert act(browser, db, issue, "withdraw", {"reason": ""}).status_code == 200
    db.session.refresh(issue)
    assert issue.status == Status.REGISTERED
    act(browser, db, issue, "withdraw", {"reason": "重复登记"})
    db.session.refresh(issue)
    assert issue.status == Status.WITHDRAWN and issue.closed_at is not None
    html = text(browser.get(desk_url(issue)))
    assert shown_actions(html) == set()


def test_callback_satisfied_closes(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.RESOLVED)
    browser.login("staff")
    response = act(browser, db, issue, "callback", {
        "reached": "yes", "resolved": "yes", "rating": "satisfied", "comments": "很及时"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{desk_url(issue)}#callback")
    db.session.refresh(issue)
    assert issue.status == Status.CLOSED and issue.rating == "satisfied"
    [callback] = issue.callbacks
    assert callback.reached and callback.resolved_per_merchant and callback.comments == "很及时"
    assert callback.called_by.username == "staff"


def test_callback_not_reached_counts_an_attempt(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.RESOLVED)
    browser.login("staff")
    act(browser, db, issue, "callback", {"reached": "no"})
    db.session.refresh(issue)
    assert issue.status == Status.RESOLVED and issue.callback_attempts == 1
    assert issue.callbacks[0].reached is False and issue.callbacks[0].rating is None


def test_callback_time_is_read_in_local_time(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.RESOLVED)
    called = minute(utcnow()) - timedelta(minutes=5)
    browser.login("staff")
    act(browser, db, issue, "callback", {"reached": "yes", "resolved": "yes",
                                         "rating": "very_satisfied",
                                         "called_at": local_input(called)})
    db.session.refresh(issue)
    assert issue.callbacks[0].called_at == called


def test_callback_reached_needs_both_answers(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.RESOLVED)
    browser.login("staff")
    response = act(browser, db, issue, "callback", {"reached": "yes"})
    assert response.status_code == 200
    assert text(response).count("invalid-feedback") == 2
    db.session.refresh(issue)
    assert issue.status == Status.RESOLVED and not issue.callbacks


# --- refusals ---------------------------------------------------------------------------------

def test_stale_version_of_an_action_no_longer_allowed_is_refused(app, db, data):
    issue = register(db, data)
    liaison = browser_for(app, "liaison")
    page = text(liaison.get(desk_url(issue)))
    seen_version = issue.version
    assert f'name="version" type="hidden" value="{seen_version}"' in page
    # Someone else acts first.
    workflow.escalate_to_community(issue, data.users["admin"], expected_version=seen_version)
    response = liaison.submit(f"{desk_url(issue)}/resolve_level1",
                              {"version": seen_version, "summary": "已处理"},
                              form_url=desk_url(issue), follow_redirects=True)
    assert response.status_code == 200
    # Said on the desk as it is now: changed, and why this action is no longer possible.
    db.session.refresh(issue)
    reason = workflow.refusal(issue, data.users["liaison"], "resolve_level1").message
    assert "此诉求已被他人修改，此操作已无法进行：" + flashed(app, reason) in text(response)
    assert issue.status == Status.ESCALATED and issue.resolution_summary == ""


def test_missing_csrf_token_is_refused(app, browser, db, data):
    issue = register(db, data)
    browser.login("liaison")
    response = browser.client.post(f"{desk_url(issue)}/resolve_level1",
                                   data={"version": issue.version, "summary": "已处理"})
    assert response.status_code == 400
    db.session.refresh(issue)
    assert issue.status == Status.REGISTERED


def test_action_not_allowed_for_the_role_changes_nothing(app, browser, db, data):
    issue = register(db, data)
    browser.login("staff")
    response = act(browser, db, issue, "escalate", {}, follow_redirects=True)
    assert response.status_code == 200
    assert "alert-danger" in text(response)
    db.session.refresh(issue)
    assert issue.status == Status.REGISTERED and issue.version == 1


def test_unknown_action_or_missing_version(app, browser, db, data):
    issue = register(db, data)
    browser.login("liaison")
    response = browser.submit(f"{desk_url(issue)}/explode", {"version": 1},
                              form_url=desk_url(issue))
    assert response.status_code == 404
    response = browser.submit(f"{desk_url(issue)}/escalate", {}, form_url=desk_url(issue))
    assert response.status_code == 400
    response = browser.submit(f"{desk_url(issue)}/escalate", {"version": "x"},
                              form_url=desk_url(issue))
    assert response.status_code == 400
    db.session.refresh(issue)
    assert issue.status == Status.REGISTERED


def test_actions_are_taken_by_post_only(app, browser, db, data):
    # Opening an action's address (a reload, a link) shows the desk and changes nothing.
    issue = register(db, data)
    browser.login("liaison")
    response = browser.get(f"{desk_url(issue)}/escalate")
    assert response.status_code == 302 and response.headers["Location"].startswith(
        desk_url(issue))
    db.session.refresh(issue)
    assert issue.status == Status.REGISTERED


# --- escaping ---------------------------------------------------------------------------------

def test_user_text_is_escaped_everywhere(app, db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name=XSS, address=XSS)
    f.EmergencyContactFactory(merchant=merchant, name=XSS, relation=XSS)
    issue = register(db, data, merchant=merchant, description=XSS)
    specialist = browser_for(app, "specialist")
    workflow.escalate_to_community(issue, data.users["admin"], note=XSS, expected_version=None)
    workflow.accept_issue(issue, data.users["specialist"], expected_version=None)
    act(specialist, db, issue, "visit", {
        "arrived_at": local_input(issue.reported_at + timedelta(minutes=20)),
        "outcome": "resolved", "findings": XSS, "summary": XSS})
    staff = browser_for(app, "staff")
    act(staff, db, issue, "callback", {"reached": "yes", "resolved": "no",
                                       "rating": "dissatisfied", "comments": XSS})
    db.session.refresh(issue)
    assert issue.rehandle_count == 1
    html = text(specialist.get(desk_url(issue)))
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;") >= 8


# --- photos -----------------------------------------------------------------------------------

def _visit_with_photo(db, data, circle) -> SiteVisitPhoto:
    issue = advance(db, data, register(db, data, circle=circle), Status.ON_SITE)
    photo = SiteVisitPhoto(content_type="image/png", size=len(tiny_png()), data=tiny_png(),
                           original_name="box.png")
    issue.site_visits[0].photos.append(photo)
    db.session.commit()
    return photo


def test_photo_is_served_to_users_in_scope(app, db, data):
    photo = _visit_with_photo(db, data, data.east)
    for username in ("admin", "specialist", "staff", "liaison"):
        response = browser_for(app, username).get(f"/admin/desk/photo/{photo.id}")
        assert response.status_code == 200, username
        assert response.data == tiny_png()
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"] == "inline"
        assert "private" in response.headers["Cache-Control"]


def test_photo_is_hidden_from_other_circles(app, db, data):
    photo = _visit_with_photo(db, data, data.east)
    f.UserFactory(username="liaison_west", role="liaison", circles=[data.west])
    db.session.commit()
    browser = browser_for(app, "liaison_west")
    assert browser.get(f"/admin/desk/photo/{photo.id}").status_code == 404
    assert browser.get("/admin/desk/photo/999999").status_code == 404


def test_uploaded_jpeg_is_served_back_as_jpeg(app, browser, db, data):
    issue = advance(db, data, register(db, data), Status.DISPATCHED)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
    browser.login("specialist")
    act(browser, db, issue, "visit", {
        "arrived_at": local_input(issue.reported_at + timedelta(minutes=20)),
        "outcome": "temporary",
        "photos": [(io.BytesIO(jpeg), "现场.jpeg"), (io.BytesIO(tiny_png()), "b.png")],
    })
    photos = db.session.scalars(sa.select(SiteVisitPhoto).order_by(SiteVisitPhoto.id)).all()
    assert [p.content_type for p in photos] == ["image/jpeg", "image/png"]
    response = browser.get(f"/admin/desk/photo/{photos[0].id}")
    assert response.headers["Content-Type"] == "image/jpeg" and response.data == jpeg
