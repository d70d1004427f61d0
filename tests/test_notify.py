"""Notifications: who hears what, the outbox written with the event, the bell and its page,
the SLA scan, quiet hours, the digest, the admin's robots and delivery log."""

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from circle.extensions import db as _db
from circle.issues.models import IssueCategory, IssueSource
from circle.notify import outbox, sla_scan
from circle.notify.digest import send_digests
from circle.notify.models import Delivery, Notice, Notification, Preference, WecomWebhook
from circle.notify.rules import ON_EVENT, Kind
from circle.transaction import unit_of_work
from tests import factories as f
from tests.steps import wf

T0 = datetime(2024, 6, 21, 6, 0, tzinfo=timezone.utc)  # 14:00 on a Friday in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def loop(db, data):
    """The data fixture plus a second liaison of the east circle and the loop's refs."""
    f.use_fixed_durations()  # small: respond within 30 min, resolve within 4 h
    data.users["liaison2"] = f.UserFactory(username="liaison2", role="liaison",
                                           circles=[data.east])
    data.merchant = f.MerchantFactory(circle=data.east, phone="13812345678", shop_name="老王冻品")
    db.session.commit()
    data.category = db.session.scalars(sa.select(IssueCategory)).first()
    data.source = db.session.scalar(sa.select(IssueSource).where(~IssueSource.is_hotline))
    return data


def register(d, now=T0, severity="small"):
    return wf.register_issue(d.users["liaison"], merchant=d.merchant, category=d.category,
                             source=d.source, severity=severity, description="门店频繁跳闸",
                             now=now)


def inbox(user) -> list[str]:
    """The kinds of ``user``'s notifications, oldest first."""
    return list(_db.session.scalars(
        sa.select(Notice.kind).join(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.id)))


# --- who hears what, in the event's transaction --------------------------------------------

def test_each_step_tells_the_people_of_the_table(loop):
    d, u = loop, loop.users
    issue = register(d)
    assert inbox(u["liaison2"]) == [Kind.NEW_ISSUE]
    assert inbox(u["liaison"]) == []  # never the person whose own action it was
    wf.escalate_to_community(issue, u["liaison"], expected_version=issue.version, now=T0)
    assert inbox(u["specialist"]) == [Kind.ESCALATED]
    wf.accept_issue(issue, u["specialist"], expected_version=issue.version, now=T0)
    assert inbox(u["liaison"]) == [Kind.ACCEPTED]
    wf.record_site_visit(issue, u["specialist"], arrived_at=T0, outcome="resolved",
                         findings="空开老化", summary="换空开", expected_version=issue.version,
                         now=T0 + timedelta(minutes=5))
    assert inbox(u["staff"]) == [Kind.CALLBACK_DUE]
    wf.record_callback(issue, u["staff"], reached=True, resolved=False, rating="dissatisfied",
                       expected_version=issue.version, now=T0 + timedelta(minutes=30))
    assert inbox(u["specialist"]) == [Kind.ESCALATED, Kind.DISSATISFIED]


def test_the_lead_s_coming_events_are_in_the_table():
    for action in ("first_contact", "request_extension", "approve_extension",
                   "refuse_extension", "request_return", "approve_return", "refuse_return",
                   "transfer", "supervise", "chase"):
        assert action in ON_EVENT


def test_a_refused_step_writes_no_notice(loop):
    with pytest.raises(RuntimeError), unit_of_work():
        from circle.issues import workflow

        workflow.register_issue(loop.users["liaison"], merchant=loop.merchant,
                                category=loop.category, source=loop.source, severity="small",
                                description="门店频繁跳闸", now=T0)
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1
        raise RuntimeError("the request fails after the step")
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


@pytest.mark.parametrize("others", [0, 1])
def test_the_relay_is_woken_only_for_a_notice_to_someone(loop, monkeypatch, others):
    """A registration in a circle with no other liaison tells no one: nothing to deliver,
    so the job queue is not written to after the commit; with a second liaison it is."""
    from circle import jobs

    woken = []
    monkeypatch.setattr(jobs, "wake_relay", lambda: woken.append(True))
    if not others:
        loop.users["liaison2"].active = False
        _db.session.commit()
    with unit_of_work():
        register(loop)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == others
    assert woken == [True] * others


def test_a_notice_is_written_once_per_key(loop):
    connection = _db.session.connection()
    people = [loop.users["specialist"].id]
    first = outbox.write_notice(connection, key="test:1", kind=Kind.CHASED, people=people,
                                now=T0)
    again = outbox.write_notice(connection, key="test:1", kind=Kind.CHASED, people=people,
                                now=T0)
    _db.session.commit()
    assert first and again is None
    assert inbox(loop.users["specialist"]) == [Kind.CHASED]


# --- the bell and the notifications page ---------------------------------------------------

def test_bell_counts_unread_and_opening_marks_read(browser, loop):
    issue = register(loop)
    browser.login("liaison2")
    page = browser.get("/admin/").get_data(as_text=True)
    assert 'class="badge badge-pill badge-danger notify-count">1<' in page
    assert "notify-bell-mobile" in page  # beside the phone's folded menu too
    listing = browser.get("/admin/notifications/").get_data(as_text=True)
    assert "老王冻品" in listing and "138****5678" in listing  # liaisons see numbers masked
    row = _db.session.scalar(sa.select(Notification).where(
        Notification.user_id == loop.users["liaison2"].id))
    response = browser.get(f"/admin/notifications/{row.id}")
    assert response.status_code == 302 and response.location.endswith(f"/admin/desk/{issue.id}")
    assert _db.session.get(Notification, row.id).read_at is not None
    assert "notify-count" not in browser.get("/admin/").get_data(as_text=True)


def test_someone_else_s_notification_is_not_found(browser, loop):
    register(loop)
    row = _db.session.scalar(sa.select(Notification))
    browser.login("specialist")
    assert browser.get(f"/admin/notifications/{row.id}").status_code == 404
    assert _db.session.get(Notification, row.id).read_at is None


def test_mark_all_read_needs_the_csrf_token(browser, loop):
    register(loop)
    browser.login("liaison2")
    assert browser.client.post("/admin/notifications/read-all").status_code == 400
    response = browser.submit("/admin/notifications/read-all", {},
                              form_url="/admin/notifications/")
    assert response.status_code == 302
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.read_at.is_(None))) == 0


# --- preferences and quiet hours -----------------------------------------------------------

def test_preferences_are_saved_and_bad_input_changes_nothing(browser, loop):
    browser.login("specialist")
    url = "/admin/notifications/settings"
    bad = browser.submit(url, {"email": "not-an-address", "email_enabled": "y",
                               "quiet_start": "25:00", "quiet_end": "07:00"})
    assert bad.status_code == 200
    text = bad.get_data(as_text=True)
    assert "name@example.com" in text and "22:00" in text
    assert _db.session.get(Preference, loop.users["specialist"].id) is None
    good = browser.submit(url, {"email": "zy@example.org", "email_enabled": "y",
                                "wecom_enabled": "y", "quiet_start": "21:30",
                                "quiet_end": "06:45", "digest_enabled": "y"})
    assert good.status_code == 302
    pref = _db.session.get(Preference, loop.users["specialist"].id)
    assert (pref.email, pref.email_enabled, pref.quiet_start, pref.quiet_end) == (
        "zy@example.org", True, time(21, 30), time(6, 45))


@pytest.mark.parametrize(("local", "expected"), [
    ("2024-06-21 14:00", "2024-06-21 14:00"),  # day: now
    ("2024-06-21 23:10", "2024-06-22 07:00"),  # late evening: next morning
    ("2024-06-22 03:00", "2024-06-22 07:00"),  # small hours: this morning
    ("2024-06-22 07:00", "2024-06-22 07:00"),  # the quiet hours are over
])
def test_quiet_hours_put_messages_off_until_they_end(local, expected):
    now = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    due = outbox.not_before(now, (time(22, 0), time(7, 0)), SHANGHAI)
    assert due.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") == expected


def test_e_mail_waits_for_the_morning_but_overdue_big_matters_do_not(loop):
    d = loop
    pref = Preference(user_id=d.users["specialist"].id, email="zy@example.org",
                      email_enabled=True)
    _db.session.add(pref)
    _db.session.commit()
    night = datetime(2024, 6, 21, 23, 30, tzinfo=SHANGHAI).astimezone(timezone.utc)
    issue = register(d, now=night, severity="big")
    wf.escalate_to_community(issue, d.users["liaison"], expected_version=issue.version,
                             now=night)
    escalated = _db.session.scalar(sa.select(Delivery).where(Delivery.channel == "email"))
    assert escalated.next_attempt_at.astimezone(SHANGHAI) == datetime(
        2024, 6, 22, 7, 0, tzinfo=SHANGHAI)
    with unit_of_work():
        sla_scan.scan(issue.resolution_due_at + timedelta(minutes=1))
    overdue = _db.session.scalar(sa.select(Delivery).join(Notice).where(
        Notice.kind == Kind.OVERDUE, Delivery.channel == "email"))
    assert overdue.next_attempt_at <= issue.resolution_due_at + timedelta(minutes=1)


# --- the SLA scan --------------------------------------------------------------------------

def test_scan_tells_each_threshold_once(loop):
    d, u = loop, loop.users
    issue = register(d)
    wf.escalate_to_community(issue, u["liaison"], expected_version=issue.version, now=T0)
    wf.accept_issue(issue, u["specialist"], expected_version=issue.version, now=T0)
    assert issue.response_due_at == T0 + timedelta(minutes=30)

    def scan(minutes):
        with unit_of_work():
            return sla_scan.scan(T0 + timedelta(minutes=minutes))

    assert scan(10) == 0
    assert scan(23) == 1  # 76 % of the response's 30 minutes
    assert scan(24) == 0  # told once
    assert inbox(u["specialist"])[-1] == Kind.AT_RISK
    assert scan(31) == 1  # the response is overdue: the assignee and the specialists
    assert scan(200) == 1  # 83 % of the 4-hour resolution
    assert scan(241) == 1  # resolution overdue
    assert scan(241 + 120) == 1  # the ladder's next rung (no street leaders yet: no one)
    assert scan(400) == 0
    kinds = [k for k, in _db.session.execute(sa.select(Notice.kind).where(
        Notice.issue_id == issue.id).order_by(Notice.id))]
    assert kinds[-5:] == [Kind.AT_RISK, Kind.OVERDUE, Kind.AT_RISK, Kind.OVERDUE, Kind.LADDER]


def test_scan_skips_issues_on_hold(loop):
    d = loop
    issue = register(d)
    wf.put_on_hold(issue, d.users["liaison"], reason="等商户回电",
                   expected_version=issue.version, now=T0 + timedelta(minutes=1))
    with unit_of_work():
        assert sla_scan.scan(T0 + timedelta(hours=10)) == 0


def test_scan_reads_the_open_issues_through_an_index(db, data):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the PostgreSQL plan is measured in bench/")
    sql = str(sla_scan.running_issues_query().compile(
        db.engine, compile_kwargs={"literal_binds": True}))
    plan = " ".join(row[-1] for row in db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    assert "USING" in plan and "INDEX" in plan, plan


# --- the digest ----------------------------------------------------------------------------

def test_digest_counts_each_person_s_scope_once_a_day(loop):
    d = loop
    issue = register(d)
    wf.escalate_to_community(issue, d.users["liaison"], expected_version=issue.version, now=T0)
    register(d)
    later = T0 + timedelta(hours=5)  # both overdue
    with unit_of_work():
        first = send_digests(later)
    with unit_of_work():
        again = send_digests(later)
    assert first == len(d.users) and again == 0
    notice = _db.session.scalar(sa.select(Notice).join(Notification).where(
        Notice.kind == Kind.DIGEST, Notification.user_id == d.users["specialist"].id))
    assert notice.detail == {"date": "2024-06-21", "open": 2, "at_risk": 0, "overdue": 2,
                             "callbacks_due": 0}


# --- the administrator's pages -------------------------------------------------------------

SECRET = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def test_robot_address_is_masked_and_kept_when_left_empty(admin_browser, loop):
    new = admin_browser.submit("/admin/wecom_robots/new/",
                               {"community": str(loop.community.id), "url": SECRET,
                                "active": "y"})
    assert new.status_code == 302
    robot = _db.session.scalar(sa.select(WecomWebhook))
    listing = admin_browser.get("/admin/wecom_robots/").get_data(as_text=True)
    assert SECRET not in listing and "key=********5aaa" in listing
    edit_url = f"/admin/wecom_robots/edit/?id={robot.id}"
    form = admin_browser.get(edit_url).get_data(as_text=True)
    assert SECRET not in form
    kept = admin_browser.submit(edit_url, {"community": str(loop.community.id), "url": "",
                                           "active": "y"})
    assert kept.status_code == 302
    assert _db.session.get(WecomWebhook, robot.id).url == SECRET
    bad = admin_browser.submit("/admin/wecom_robots/new/",
                               {"community": str(loop.community.id), "url": "ftp://x"})
    assert bad.status_code == 200 and "https://" in bad.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(WecomWebhook)) == 1


@pytest.mark.parametrize("role", ["specialist", "liaison", "staff"])
def test_only_administrators_see_robots_and_the_delivery_log(browser, loop, role):
    browser.login(role)
    assert browser.get("/admin/wecom_robots/").status_code == 403
    assert browser.get("/admin/delivery_log/").status_code == 403
    assert browser.get("/admin/notifications/").status_code == 200
