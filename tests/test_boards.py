"""The dispatch board (specialists) and the callback queue (staff)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import gettext
from markupsafe import escape

from circle.issues import boards
from circle.issues.boards import callback_queue, dispatch_board
from circle.issues.models import IssueEvent
from circle.timeutil import format_local, utcnow
from tests import factories as f
from tests.steps import wf as workflow

BOARD = "/admin/dispatch/"
QUEUE = "/admin/callbacks/"


def text(message, **kwargs) -> str:
    """A message as the page shows it: translated in the test's locale, HTML-escaped."""
    return str(escape(gettext(message, **kwargs)))


def row(issue) -> str:
    return f'id="issue-{issue.id}"'


def row_html(html: str, issue) -> str:
    start = html.index(row(issue))
    return html[html.rindex("<tr", 0, start):html.index("</tr>", start)]


def escalated(circle, *, due_in=timedelta(hours=3), status="escalated", level=2, **kwargs):
    """An issue in the community's hands, with a resolution deadline ``due_in`` from now."""
    now = utcnow()
    if "merchant" not in kwargs:
        kwargs["merchant"] = f.MerchantFactory(circle=circle)
    return f.IssueFactory(status=status, level=level, highest_level=level,
                          reported_at=now - timedelta(minutes=10),
                          resolution_due_at=now + due_in, **kwargs)


def accept_url(issue) -> str:
    return f"{BOARD}{issue.id}/accept"


@pytest.fixture
def specialist(browser, data):
    assert browser.login("specialist").status_code == 302
    return browser


# --- dispatch board -----------------------------------------------------------------------

def test_board_shows_open_escalated_issues_of_the_community_only(specialist, db, data):
    shown = [
        escalated(data.east),
        escalated(data.west, status="dispatched", assignee=data.users["specialist"]),
        escalated(data.west, status="on_site", assignee=data.users["specialist"]),
        escalated(data.east, status="joint_office", level=3),
        escalated(data.east, status="symposium", level=4),
        escalated(data.east, status="on_hold"),
    ]
    hidden = [
        escalated(f.CircleFactory()),  # another community
        escalated(data.east, status="registered", level=1),
        escalated(data.east, status="on_hold", level=1),  # held at level 1: the liaison's
        escalated(data.east, status="resolved"),
        escalated(data.east, status="closed"),
        escalated(data.east, status="withdrawn"),
    ]
    db.session.commit()
    html = specialist.get(BOARD).get_data(as_text=True)
    for issue in shown:
        assert row(issue) in html, issue.status
    for issue in hidden:
        assert row(issue) not in html, issue.status


def test_admin_sees_every_community(admin_browser, db, data):
    elsewhere = escalated(f.CircleFactory())
    db.session.commit()
    assert row(elsewhere) in admin_browser.get(BOARD).get_data(as_text=True)


def test_board_is_grouped_by_status_in_workflow_order(specialist, db, data):
    held = escalated(data.east, status="on_hold")
    fresh = escalated(data.east)
    taken = escalated(data.east, status="dispatched", assignee=data.users["specialist"])
    db.session.commit()
    html = specialist.get(BOARD).get_data(as_text=True)
    sections = [html.index(f'<section id="status-{s}"')
                for s in ("escalated", "dispatched", "on_hold")]
    assert sections == sorted(sections)
    assert sections[0] < html.index(row(fresh)) < sections[1]
    assert sections[1] < html.index(row(taken)) < sections[2]
    assert sections[2] < html.index(row(held))
    assert '<section id="status-on_site"' not in html  # empty sections are left out


def test_overdue_first_and_highlighted(specialist, db, data):
    calm = escalated(data.east, due_in=timedelta(hours=3))
    overdue = escalated(data.east, due_in=-timedelta(hours=1))
    db.session.commit()
    html = specialist.get(BOARD).get_data(as_text=True)
    assert html.index(row(overdue)) < html.index(row(calm))
    assert "table-danger" in row_html(html, overdue)
    assert "board-row-overdue" in row_html(html, overdue)
    assert "sla-overdue" in row_html(html, overdue)
    assert "table-danger" not in row_html(html, calm)
    assert "table-warning" not in row_html(html, calm)
    assert "sla-on_track" in row_html(html, calm)


def test_nearest_deadline_first_and_at_risk_in_warning_colour(specialist, db, data):
    later = escalated(data.east, due_in=timedelta(hours=5))
    soon = escalated(data.east, due_in=timedelta(minutes=2))
    db.session.commit()
    html = specialist.get(BOARD).get_data(as_text=True)
    assert html.index(row(soon)) < html.index(row(later))
    assert "table-warning" in row_html(html, soon)
    assert "sla-at_risk" in row_html(html, soon)


def test_rows_carry_the_facts_and_one_tap_phone_links(specialist, db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="连濛冷冻食品", phone="13812345678")
    f.EmergencyContactFactory(merchant=merchant, name="李晓静", phone="13806412468")
    f.EmergencyContactFactory(merchant=merchant, name="王芳", phone="0531-87654321", priority=2)
    issue = escalated(data.east, merchant=merchant, severity="big",
                      status="dispatched", assignee=data.users["specialist"])
    db.session.commit()
    html = row_html(specialist.get(BOARD).get_data(as_text=True), issue)
    assert f'href="/admin/desk/{issue.id}"' in html
    assert "连濛冷冻食品" in html
    for phone in ("13812345678", "13806412468", "0531-87654321"):
        assert f'href="tel:{phone}"' in html
    assert issue.category.name in html
    assert text("Big matter") in html
    assert text("Level 2 · hotline specialist") in html
    assert str(escape(str(data.users["specialist"]))) in html
    assert format_local(issue.reported_at) in html
    assert format_local(issue.resolution_due_at) in html


def test_rows_escape_everything_people_typed(admin_browser, db, data):
    """The rows are written in Python (circle/issues/board_rows.py), not by the template's
    autoescaping: every text a person typed still arrives escaped, in every cell."""
    hostile = '<img src=x onerror="alert(1)">&'
    merchant = f.MerchantFactory(circle=data.east, shop_name=hostile + "店",
                                 owner_name=hostile + "主")
    f.EmergencyContactFactory(merchant=merchant, name=hostile + "联系人", relation=hostile)
    data.users["specialist"].display_name = hostile + "专员"
    issue = escalated(data.east, merchant=merchant, work_order_no="<b>2612</b>",
                      assignee=data.users["specialist"])
    db.session.commit()
    html = row_html(admin_browser.get(BOARD).get_data(as_text=True), issue)
    assert "<img" not in html and "<b>" not in html
    escaped = str(escape(hostile))
    for shown in ("店", "主", "联系人", "专员"):
        assert escaped + shown in html, shown
    assert f" · {escaped}</span>" in html  # the relation
    assert "12345 &lt;b&gt;2612&lt;/b&gt;" in html
    # The administrator's accept form offers the specialist by name, escaped too.
    assert f">{escaped}专员</option>" in html


def test_board_queries_do_not_grow_with_rows(specialist, db, data):
    def queries_for_board():
        statements = []

        def count(*args):
            statements.append(args[2])

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert specialist.get(BOARD).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    def add_issues(n):
        for _ in range(n):
            issue = escalated(data.east, assignee=data.users["specialist"],
                              status="dispatched")
            f.EmergencyContactFactory(merchant=issue.merchant)
            escalated(data.west)
        db.session.commit()

    add_issues(1)
    few = queries_for_board()
    add_issues(8)
    assert queries_for_board() == few


def test_sections_are_cut_to_the_most_urgent_rows(app, db, data):
    now = utcnow()
    issues = [escalated(data.east, due_in=timedelta(hours=h)) for h in (4, 1, 3, 2)]
    db.session.commit()
    sections = dispatch_board(data.users["specialist"], now, limit=2)
    assert len(sections) == 1 and sections[0].status == "escalated"
    assert sections[0].total == 4 and sections[0].truncated
    assert [r.issue.id for r in sections[0].rows] == [issues[1].id, issues[3].id]


def test_a_section_pages_through_its_rows_most_urgent_first(app, db, data):
    now = utcnow()
    issues = [escalated(data.east, due_in=timedelta(hours=h)) for h in (5, 1, 4, 2, 3)]
    db.session.commit()
    by_urgency = [issue.id for issue in sorted(issues, key=lambda i: i.resolution_due_at)]
    shown = []
    for page in range(3):
        [section] = dispatch_board(data.users["specialist"], now, limit=2,
                                   pages={"escalated": page})
        assert (section.total, section.pages, section.page) == (5, 3, page)
        assert section.first == page * 2 + 1 and section.last == min(5, page * 2 + 2)
        shown += [r.issue.id for r in section.rows]
    assert shown == by_urgency  # every row once, in urgency order, across the pages
    # A page past the end shows the last one; a negative one, the first.
    [last] = dispatch_board(data.users["specialist"], now, limit=2,
                            pages={"escalated": 99})
    assert last.page == 2 and [r.issue.id for r in last.rows] == by_urgency[4:]
    [first] = dispatch_board(data.users["specialist"], now, limit=2,
                             pages={"escalated": -3})
    assert first.page == 0 and [r.issue.id for r in first.rows] == by_urgency[:2]


def test_board_pager_links_keep_the_other_sections_pages(specialist, db, data, monkeypatch):
    monkeypatch.setattr(boards, "ROWS_PER_STATUS", 2)
    escalating = [escalated(data.east, due_in=timedelta(hours=h)) for h in (1, 2, 3)]
    dispatched = [escalated(data.east, status="dispatched", due_in=timedelta(hours=h),
                            assignee=data.users["specialist"]) for h in (1, 2, 3)]
    db.session.commit()
    html = specialist.get(BOARD + "?dispatched=1").get_data(as_text=True)
    # The escalated section's first page, the dispatched section's second.
    assert row(escalating[0]) in html and row(escalating[2]) not in html
    assert row(dispatched[2]) in html and row(dispatched[0]) not in html
    assert text("Issues %(first)d–%(last)d of %(total)d, the most urgent first",
                first=3, last=3, total=3) in html
    assert 'href="/admin/dispatch/?dispatched=1&amp;escalated=1#status-escalated"' in html
    assert 'href="/admin/dispatch/?dispatched=0#status-dispatched"' in html
    # A page number that is not one shows the first page; one past the end, the last.
    for junk in ("-1", "abc", "99999999999999999999", "１"):
        answer = specialist.get(BOARD + "?escalated=" + junk)
        assert answer.status_code == 200 and row(escalating[0]) in answer.get_data(as_text=True)
    assert row(escalating[2]) in specialist.get(BOARD + "?escalated=7").get_data(as_text=True)


def test_a_board_of_every_community_is_cut_shorter(app, db, data, monkeypatch):
    """An administrator's board spans every community: its sections keep fewer rows."""
    monkeypatch.setattr(boards, "ROWS_PER_STATUS", 3)
    monkeypatch.setattr(boards, "CITY_ROWS_PER_STATUS", 2)
    for hours in (4, 1, 3):
        escalated(data.east, due_in=timedelta(hours=hours))
    db.session.commit()
    now = utcnow()
    [mine] = dispatch_board(data.users["specialist"], now)
    [everyone] = dispatch_board(data.users["admin"], now)
    assert (len(mine.rows), mine.total, mine.truncated) == (3, 3, False)
    assert (len(everyone.rows), everyone.total, everyone.truncated) == (2, 3, True)
    assert [r.issue.id for r in everyone.rows] == [r.issue.id for r in mine.rows][:2]


def test_specialist_accepts_an_issue(specialist, db, data):
    issue = escalated(data.east)
    db.session.commit()
    html = specialist.get(BOARD).get_data(as_text=True)
    assert f'action="/admin/dispatch/{issue.id}/accept"' in row_html(html, issue)
    response = specialist.submit(accept_url(issue), {"version": str(issue.version)},
                                 form_url=BOARD)
    assert response.status_code == 302
    assert "/admin/dispatch/" in response.headers["Location"]
    db.session.refresh(issue)
    assert issue.status == "dispatched"
    assert issue.assignee_id == data.users["specialist"].id
    event = db.session.scalars(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id,
                                                           IssueEvent.action == "accept")).one()
    assert event.actor_id == data.users["specialist"].id
    html = specialist.get(BOARD).get_data(as_text=True)
    assert "alert-success" in html
    # Accepted issues move to their section and have no accept button any more.
    assert f'action="/admin/dispatch/{issue.id}/accept"' not in html


def test_admin_assigns_a_specialist_of_the_community(admin_browser, db, data):
    colleague = f.UserFactory(role="specialist", community=data.community,
                              display_name="李晓静")
    f.UserFactory(role="specialist", community=f.CommunityFactory(), display_name="外社区专员")
    f.UserFactory(role="specialist", community=data.community, active=False,
                  display_name="已停用专员")
    issue = escalated(data.west)
    db.session.commit()
    html = row_html(admin_browser.get(BOARD).get_data(as_text=True), issue)
    assert "李晓静" in html and "外社区专员" not in html and "已停用专员" not in html
    response = admin_browser.submit(accept_url(issue),
                                    {"version": str(issue.version), "assignee": str(colleague.id)},
                                    form_url=BOARD)
    assert response.status_code == 302
    db.session.refresh(issue)
    assert (issue.status, issue.assignee_id) == ("dispatched", colleague.id)


def test_specialist_takes_it_in_one_tap_or_hands_it_to_the_colleague_on_duty(specialist, db,
                                                                             data):
    colleague = f.UserFactory(role="specialist", community=data.community,
                              display_name="值班专员")
    issue = escalated(data.east)
    db.session.commit()
    html = row_html(specialist.get(BOARD).get_data(as_text=True), issue)
    me = data.users["specialist"]
    assert f'<option value="{me.id}" selected>' in html and "值班专员" in html
    response = specialist.submit(accept_url(issue),
                                 {"version": str(issue.version), "assignee": str(colleague.id)},
                                 form_url=BOARD)
    assert response.status_code == 302
    db.session.refresh(issue)
    assert (issue.status, issue.assignee_id) == ("dispatched", colleague.id)


@pytest.mark.parametrize("assignee", ["", "abc", "999999", "9" * 30, "admin"])
def test_admin_must_choose_a_real_specialist(admin_browser, db, data, assignee):
    issue = escalated(data.west)
    db.session.commit()
    if assignee == "admin":
        assignee = str(data.users["admin"].id)
    response = admin_browser.submit(accept_url(issue),
                                    {"version": str(issue.version), "assignee": assignee},
                                    form_url=BOARD)
    assert response.status_code == 302
    assert "alert-danger" in admin_browser.get(BOARD).get_data(as_text=True)
    db.session.refresh(issue)
    assert (issue.status, issue.assignee_id) == ("escalated", None)


def test_stale_version_is_refused_with_a_message(specialist, db, data):
    issue = escalated(data.east)
    db.session.commit()
    stale = issue.version
    # Someone else changes the issue after the board was shown.
    issue.description = "补充：冷柜也停了"
    db.session.commit()
    response = specialist.submit(accept_url(issue), {"version": str(stale)}, form_url=BOARD)
    assert response.status_code == 302
    html = specialist.get(BOARD).get_data(as_text=True)
    assert text("Issue #%(id)d was changed by someone else in the meantime; the board "
                "below shows it as it is now.", id=issue.id) in html
    db.session.refresh(issue)
    assert (issue.status, issue.assignee_id) == ("escalated", None)
    assert not db.session.scalars(sa.select(IssueEvent).where(IssueEvent.action == "accept")
                                  ).all()


@pytest.mark.parametrize("version", ["", "abc", "-1", "9" * 30])
def test_junk_version_is_refused_with_a_message(specialist, db, data, version):
    issue = escalated(data.east)
    db.session.commit()
    response = specialist.submit(accept_url(issue), {"version": version}, form_url=BOARD)
    assert response.status_code == 302
    assert "alert-danger" in specialist.get(BOARD).get_data(as_text=True)
    db.session.refresh(issue)
    assert issue.status == "escalated"


def test_accepting_what_cannot_be_accepted_is_refused(specialist, db, data):
    issue = escalated(data.east, status="on_site", assignee=data.users["specialist"])
    db.session.commit()
    response = specialist.submit(accept_url(issue), {"version": str(issue.version)},
                                 form_url=BOARD)
    assert response.status_code == 302
    assert text("This action is not possible while the issue is in its current state."
                ) in specialist.get(BOARD).get_data(as_text=True)
    db.session.refresh(issue)
    assert issue.status == "on_site"


def test_issue_outside_the_community_is_not_found(specialist, db, data):
    elsewhere = escalated(f.CircleFactory())
    db.session.commit()
    response = specialist.submit(accept_url(elsewhere), {"version": str(elsewhere.version)},
                                 form_url=BOARD)
    assert response.status_code == 404
    response = specialist.submit(f"{BOARD}999999/accept", {"version": "1"}, form_url=BOARD)
    assert response.status_code == 404
    db.session.refresh(elsewhere)
    assert elsewhere.status == "escalated"


def test_accept_needs_the_csrf_token(specialist, db, data):
    issue = escalated(data.east)
    db.session.commit()
    response = specialist.client.post(accept_url(issue), data={"version": str(issue.version)})
    assert response.status_code == 400
    db.session.refresh(issue)
    assert issue.status == "escalated"


@pytest.mark.parametrize("username", ["liaison", "staff"])
def test_board_is_for_specialists_and_admins(browser, db, data, username):
    issue = escalated(data.east)
    db.session.commit()
    browser.login(username)
    assert browser.get(BOARD).status_code == 403
    response = browser.submit(accept_url(issue), {"version": str(issue.version)},
                              form_url="/admin/")
    assert response.status_code == 403
    db.session.refresh(issue)
    assert issue.status == "escalated"


def test_board_needs_login(client, data):
    response = client.get(BOARD)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- callback queue -----------------------------------------------------------------------

def resolved(circle, *, hours_ago, status="resolved", **kwargs):
    """An issue resolved ``hours_ago`` hours ago (``status`` may say what happened next)."""
    now = utcnow()
    if "merchant" not in kwargs:
        kwargs["merchant"] = f.MerchantFactory(circle=circle)
    return f.IssueFactory(status=status, level=2, highest_level=2,
                          reported_at=now - timedelta(hours=hours_ago + 5),
                          resolved_at=now - timedelta(hours=hours_ago),
                          resolution_summary="更换了空气开关", **kwargs)


@pytest.fixture
def staff(browser, data):
    assert browser.login("staff").status_code == 302
    return browser


def test_queue_lists_resolved_issues_oldest_first(staff, db, data):
    newest = resolved(data.east, hours_ago=1)
    oldest = resolved(data.west, hours_ago=50)
    middle = resolved(data.east, hours_ago=5)
    elsewhere = resolved(f.CircleFactory(), hours_ago=80)
    still_open = escalated(data.east)
    closed = resolved(data.east, hours_ago=90, status="closed")
    db.session.commit()
    html = staff.get(QUEUE).get_data(as_text=True)
    positions = [html.index(row(issue)) for issue in (oldest, middle, newest)]
    assert positions == sorted(positions)
    for issue in (elsewhere, still_open, closed):
        assert row(issue) not in html
    assert text("Waiting for a callback: %(n)d", n=3) in html


def test_queue_row_has_phone_waiting_time_attempts_and_desk_link(staff, db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="连濛冷冻食品", owner_name="王连濛",
                                 phone="13812345678")
    issue = resolved(data.east, merchant=merchant, hours_ago=26)
    db.session.commit()
    workflow.record_callback(issue, data.users["staff"], reached=False,
                             expected_version=issue.version)
    html = row_html(staff.get(QUEUE).get_data(as_text=True), issue)
    assert "连濛冷冻食品" in html and "王连濛" in html and "更换了空气开关" in html
    assert 'href="tel:13812345678"' in html
    assert f'href="/admin/desk/{issue.id}#callback"' in html
    assert f"1 / {workflow.CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE}" in html
    assert text("%(days)d d %(hours)d h", days=1, hours=2) in html


def test_queue_counts_recent_unreachable_closures(staff, db, data):
    now = utcnow()
    resolved(data.east, hours_ago=2)
    for circle, days in ((data.east, 2), (data.west, 29), (data.east, 40),
                         (f.CircleFactory(), 1)):
        resolved(circle, hours_ago=days * 24, status="closed", callback_unreachable=True,
                 closed_at=now - timedelta(days=days))
    db.session.commit()
    queue = callback_queue(data.users["staff"], now)
    assert (queue.waiting, queue.unreachable_recently) == (1, 2)
    html = staff.get(QUEUE).get_data(as_text=True)
    assert text("Closed as unreachable in the last %(days)d days: %(n)d", days=30, n=2) in html


def test_issue_closed_as_unreachable_leaves_the_queue(staff, db, data):
    issue = resolved(data.east, hours_ago=3)
    db.session.commit()
    for _ in range(workflow.CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE):
        workflow.record_callback(issue, data.users["staff"], reached=False,
                                 expected_version=issue.version)
    html = staff.get(QUEUE).get_data(as_text=True)
    assert row(issue) not in html
    assert text("Closed as unreachable in the last %(days)d days: %(n)d", days=30, n=1) in html


def test_queue_is_cut_with_a_note(app, db, data):
    for hours in range(5):
        resolved(data.east, hours_ago=hours + 1)
    db.session.commit()
    queue = callback_queue(data.users["staff"], utcnow(), limit=3)
    assert len(queue.rows) == 3 and queue.waiting == 5 and queue.truncated
    waited = [r.waited for r in queue.rows]
    assert waited == sorted(waited, reverse=True)


def test_admin_sees_the_queue(admin_browser, db, data):
    elsewhere = resolved(f.CircleFactory(), hours_ago=2)
    db.session.commit()
    assert row(elsewhere) in admin_browser.get(QUEUE).get_data(as_text=True)


@pytest.mark.parametrize("username", ["liaison", "specialist"])
def test_queue_is_for_staff_and_admins(browser, data, username):
    browser.login(username)
    assert browser.get(QUEUE).status_code == 403


def test_empty_queue_and_board_render(browser, data):
    browser.login("admin")
    assert text("No resolved issue is waiting for a callback.") in browser.get(QUEUE).get_data(
        as_text=True)
    assert text("No escalated issue is open right now.") in browser.get(BOARD).get_data(
        as_text=True)
