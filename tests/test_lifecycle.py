"""The 12345 work-order lifecycle around the loop: signing for (签收), first contact (先行联系),
extensions (延期), returns (退单), transfers (转办), supervision and chases (督办/催办), and the
street leaders who approve and supervise."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from circle.extensions import db as _db
from circle.issues import sla, workcalendar
from circle.issues.lifecycle_models import ApprovalRequest, RequestStatus, ReturnBasis, Supervision
from circle.issues.models import Issue, Status
from circle.issues.sla import SlaState
from circle.models import IssueCategory, IssueSource
from circle.permissions import issue_in_scope, scope_by_circle
from circle.reports.figures import count_raw
from circle.reports.rates import PeriodCounts
from tests import factories as f
from tests.steps import wf

T0 = datetime(2024, 6, 21, 6, 0, tzinfo=timezone.utc)  # Friday 14:00 in Shanghai


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def refs(db, data):
    f.use_fixed_durations()  # calendar time: small matter respond 30 min, resolve 4 h
    db.session.commit()
    return {
        "category": db.session.scalars(sa.select(IssueCategory)).first(),
        "walk_in": db.session.scalar(sa.select(IssueSource).where(~IssueSource.is_hotline)),
        "basis": db.session.scalars(sa.select(ReturnBasis)).first(),
    }


def escalated(data, refs, *, minutes=0, circle=None) -> Issue:
    merchant = f.MerchantFactory(circle=circle or data.east)
    _db.session.commit()
    issue = wf.register_issue(data.users["liaison"] if circle is None else data.users["admin"],
                              merchant=merchant, category=refs["category"],
                              source=refs["walk_in"], severity="small",
                              description="门店频繁跳闸", now=at(minutes))
    return wf.escalate_to_community(issue, issue.reporter, expected_version=issue.version,
                                    now=at(minutes + 5))


def accepted(data, refs, *, minutes=0) -> Issue:
    issue = escalated(data, refs, minutes=minutes)
    return wf.accept_issue(issue, data.users["specialist"], expected_version=issue.version,
                           now=at(minutes + 10))


def actions(issue):
    return [event.action for event in issue.events]


# --- 签收 and 先行联系 -------------------------------------------------------------------------

def test_escalation_starts_the_signing_and_first_contact_clocks(data, refs):
    issue = escalated(data, refs)
    # The small matter's budgets (circle/reference.py): signed within 30 min, contacted 60.
    assert issue.received_at == at(5)
    assert issue.sign_due_at == at(35) and issue.contact_due_at == at(65)
    calendar = workcalendar.load_calendar()
    assert sla.sign_state(issue, at(10), calendar) == SlaState.ON_TRACK
    assert sla.sign_state(issue, at(30), calendar) == SlaState.AT_RISK
    assert sla.sign_state(issue, at(36), calendar) == SlaState.OVERDUE
    wf.accept_issue(issue, data.users["specialist"], expected_version=issue.version,
                    now=at(20))
    assert issue.signed_at == at(20)
    assert sla.sign_state(issue, at(90), calendar) == SlaState.MET
    # A second acceptance (reassignment) does not move the signing time.
    wf.accept_issue(issue, data.users["admin"], assignee=data.users["specialist"],
                    expected_version=issue.version, now=at(50))
    assert issue.signed_at == at(20)


def test_a_level1_issue_has_no_signing_clock(data, refs):
    merchant = f.MerchantFactory(circle=data.east)
    _db.session.commit()
    issue = wf.register_issue(data.users["liaison"], merchant=merchant,
                              category=refs["category"], source=refs["walk_in"],
                              severity="small", description="跳闸", now=at(0))
    assert issue.received_at is None and issue.sign_due_at is None
    assert sla.sign_state(issue, at(100), workcalendar.load_calendar()) is None


def test_first_contact_by_phone_once(data, refs):
    issue = accepted(data, refs)
    wf.record_first_contact(issue, data.users["specialist"], contacted_at=at(40),
                            channel="phone", note="电话联系王先生",
                            expected_version=issue.version, now=at(41))
    assert (issue.contacted_at, issue.contact_channel) == (at(40), "phone")
    assert sla.contact_state(issue, at(200), workcalendar.load_calendar()) == SlaState.MET
    assert "first_contact" not in wf.allowed_actions(issue, data.users["specialist"])
    with pytest.raises(wf.IllegalTransition):
        wf.record_first_contact(issue, data.users["specialist"], contacted_at=at(50),
                                channel="phone", expected_version=issue.version, now=at(51))
    assert issue.contacted_at == at(40)


@pytest.mark.parametrize("inputs,field", [
    ({"contacted_at": None, "channel": "phone"}, "contacted_at"),
    ({"contacted_at": at(40), "channel": None}, "channel"),
    ({"contacted_at": at(40), "channel": "fax"}, "channel"),
    ({"contacted_at": at(500), "channel": "phone"}, "contacted_at"),  # in the future
    ({"contacted_at": at(-60), "channel": "phone"}, "contacted_at"),  # before the report
])
def test_first_contact_refuses_bad_input(data, refs, inputs, field):
    issue = accepted(data, refs)
    with pytest.raises(wf.InvalidInput) as refused:
        wf.record_first_contact(issue, data.users["specialist"], **inputs,
                                expected_version=issue.version, now=at(41))
    assert field in refused.value.fields
    _db.session.refresh(issue)
    assert issue.contacted_at is None and "first_contact" not in actions(issue)


def test_an_on_site_arrival_is_the_first_contact(data, refs):
    issue = accepted(data, refs)
    wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(90),
                         outcome="temporary", expected_version=issue.version, now=at(91))
    assert (issue.contacted_at, issue.contact_channel) == (at(90), "on_site")
    assert sla.contact_state(issue, at(91), workcalendar.load_calendar()) == SlaState.MISSED


def test_a_hold_moves_the_running_lifecycle_clocks(data, refs):
    issue = escalated(data, refs)
    wf.put_on_hold(issue, data.users["specialist"], reason="等商户回店",
                   expected_version=issue.version, now=at(10))
    wf.resume_issue(issue, data.users["specialist"], expected_version=issue.version,
                    now=at(70))
    assert issue.sign_due_at == at(95) and issue.contact_due_at == at(125)


# --- 延期 ----------------------------------------------------------------------------------

def test_an_approved_extension_moves_the_deadline_and_counts_on_time(data, refs):
    issue = accepted(data, refs)
    old_due = issue.resolution_due_at
    new_due = old_due + timedelta(days=2)
    wf.request_extension(issue, data.users["specialist"], reason="需等待供电所更换线路",
                         new_deadline=new_due, expected_version=issue.version, now=at(60))
    assert issue.pending_request.old_deadline == old_due
    # Nothing moves until a leader decides; the specialist cannot decide it.
    assert issue.resolution_due_at == old_due
    with pytest.raises(wf.NotAllowed):
        wf.decide_extension(issue, data.users["specialist"], approve=True,
                            expected_version=issue.version, now=at(70))
    wf.decide_extension(issue, data.users["leader"], approve=True,
                        expected_version=issue.version, now=at(70))
    request = _db.session.scalar(sa.select(ApprovalRequest))
    assert request.status == RequestStatus.APPROVED and request.decided_by.username == "leader"
    assert issue.resolution_due_at == new_due and issue.extension_count == 1
    assert actions(issue)[-2:] == ["request_extension", "approve_extension"]
    # Resolved after the old deadline, before the new one: on time.
    wf.record_site_visit(issue, data.users["specialist"], arrived_at=old_due + timedelta(hours=1),
                         outcome="resolved", summary="更换线路",
                         expected_version=issue.version, now=old_due + timedelta(hours=2))
    day = _db.session.connection()
    counts = PeriodCounts()
    for values in count_raw(day).values():
        for name, value in values.items():
            setattr(counts, name, getattr(counts, name) + value)
    assert (counts.resolved_on_time, counts.resolved_with_deadline) == (1, 1)
    assert (counts.extended, counts.valid) == (1, 1)
    assert str(counts.extension_rate) == "100.0%"


def test_an_extension_must_be_asked_for_before_the_deadline(data, refs):
    issue = accepted(data, refs)
    late = issue.resolution_due_at + timedelta(minutes=1)
    assert "request_extension" not in wf.allowed_actions(issue, data.users["specialist"])
    with pytest.raises(wf.IllegalTransition, match="办结期限已过"):
        wf.request_extension(issue, data.users["specialist"], reason="来不及",
                             new_deadline=late + timedelta(days=1),
                             expected_version=issue.version, now=late)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalRequest)) == 0


@pytest.mark.parametrize("reason,days,field", [
    ("", 2, "reason"), ("需配件", None, "new_deadline"), ("需配件", -1, "new_deadline"),
])
def test_an_extension_request_needs_a_reason_and_a_later_deadline(data, refs, reason, days,
                                                                   field):
    issue = accepted(data, refs)
    new = None if days is None else issue.resolution_due_at + timedelta(days=days)
    with pytest.raises(wf.InvalidInput) as refused:
        wf.request_extension(issue, data.users["specialist"], reason=reason, new_deadline=new,
                             expected_version=issue.version, now=at(60))
    assert field in refused.value.fields


def test_a_refused_extension_needs_a_reason_and_keeps_the_deadline(data, refs):
    issue = accepted(data, refs)
    due = issue.resolution_due_at
    wf.request_extension(issue, data.users["specialist"], reason="需配件",
                         new_deadline=due + timedelta(days=1), expected_version=issue.version,
                         now=at(60))
    with pytest.raises(wf.InvalidInput):
        wf.decide_extension(issue, data.users["leader"], approve=False, note="",
                            expected_version=issue.version, now=at(70))
    # One request at a time.
    with pytest.raises(wf.IllegalTransition):
        wf.request_extension(issue, data.users["specialist"], reason="再申请",
                             new_deadline=due + timedelta(days=2),
                             expected_version=issue.version, now=at(71))
    wf.decide_extension(issue, data.users["leader"], approve=False, note="小事当天应办结",
                        expected_version=issue.version, now=at(72))
    assert issue.resolution_due_at == due and issue.extension_count == 0
    assert issue.pending_request is None and actions(issue)[-1] == "refuse_extension"


# --- 退单 ----------------------------------------------------------------------------------

def test_an_approved_return_leaves_the_queues_and_the_rates(data, refs):
    issue = accepted(data, refs)
    other = accepted(data, refs, minutes=1)
    with pytest.raises(wf.InvalidInput) as refused:
        wf.request_return(issue, data.users["specialist"], basis=None, reason="非本社区",
                          expected_version=issue.version, now=at(30))
    assert "basis" in refused.value.fields
    wf.request_return(issue, data.users["specialist"], basis=refs["basis"],
                      reason="该商铺属于邻街道辖区", expected_version=issue.version, now=at(30))
    wf.decide_return(issue, data.users["leader"], approve=True, expected_version=issue.version,
                     now=at(40))
    assert issue.status == Status.RETURNED and issue.closed_at == at(40)
    assert wf.allowed_actions(issue, data.users["specialist"]) == set()
    assert sla.resolution_state(issue, at(999), workcalendar.load_calendar()) is None
    counts = PeriodCounts()
    for values in count_raw(_db.session.connection()).values():
        for name, value in values.items():
            setattr(counts, name, getattr(counts, name) + value)
    assert (counts.reported, counts.returned, counts.valid) == (2, 1, 1)
    assert str(counts.return_rate) == "50.0%"
    # Only the other issue is in the signing rate.
    assert counts.sign_required == 1 and other.signed_at is not None


# --- 转办 ----------------------------------------------------------------------------------

def test_a_transfer_within_the_community_keeps_everything(data, refs):
    issue = accepted(data, refs)
    due, events = issue.resolution_due_at, len(issue.events)
    wf.transfer_issue(issue, data.users["specialist"], circle=data.west, move_merchant=True,
                      expected_version=issue.version, now=at(30))
    assert issue.circle_id == data.west.id and issue.merchant.circle_id == data.west.id
    assert issue.status == Status.DISPATCHED and issue.assignee is not None
    assert issue.resolution_due_at == due and len(issue.events) == events + 1
    assert issue.events[-1].action == "transfer" and "东街商圈 → 西街商圈" in issue.events[-1].note


def test_a_transfer_to_another_community_must_be_signed_for_there(data, refs):
    issue = accepted(data, refs)
    due = issue.resolution_due_at
    far = f.CircleFactory(name="远方商圈", community=f.CommunityFactory(name="远方社区"))
    far_specialist = f.UserFactory(username="far", role="specialist", community=far.community)
    _db.session.commit()
    wf.transfer_issue(issue, data.users["specialist"], circle=far, note="商户登记错了社区",
                      expected_version=issue.version, now=at(30))
    assert (issue.status, issue.level, issue.assignee) == (Status.ESCALATED, 2, None)
    assert issue.received_at == at(30) and issue.signed_at is None
    assert issue.sign_due_at == at(60) and issue.resolution_due_at == due
    # The old community no longer sees it; the new one signs for it.
    assert not issue_in_scope(data.users["specialist"], issue)
    wf.accept_issue(issue, far_specialist, expected_version=issue.version, now=at(45))
    assert issue.signed_at == at(45)
    assert [e.action for e in issue.events] == [
        "register", "escalate", "accept", "transfer", "accept"]


def test_a_transfer_to_the_same_circle_is_refused(data, refs):
    issue = accepted(data, refs)
    with pytest.raises(wf.InvalidInput) as refused:
        wf.transfer_issue(issue, data.users["specialist"], circle=data.east,
                          expected_version=issue.version, now=at(30))
    assert "circle" in refused.value.fields


# --- 督办 / 催办 ---------------------------------------------------------------------------

def test_supervision_marks_the_issue_and_chases_once_a_day(data, refs):
    issue = accepted(data, refs)
    with pytest.raises(wf.NotAllowed):
        wf.supervise_issue(issue, data.users["specialist"], note="抓紧", expected_version=None,
                           now=at(30))
    wf.supervise_issue(issue, data.users["leader"], note="请今日办结", deadline=at(120),
                       expected_version=issue.version, now=at(30))
    assert issue.is_supervised
    # The deadline passes in the afternoon: no chase the same day, one the next day,
    # however often the scan runs, and one more the day after.
    assert wf.chase_overdue_supervisions(now=at(200)) == 0
    next_day = at(24 * 60)
    assert wf.chase_overdue_supervisions(now=next_day) == 1
    assert wf.chase_overdue_supervisions(now=next_day + timedelta(hours=3)) == 0
    assert wf.chase_overdue_supervisions(now=next_day + timedelta(days=1)) == 1
    _db.session.refresh(issue)
    assert issue.chase_count == 2 and actions(issue).count("chase") == 2
    assert issue.events[-1].actor is None  # written by the system
    # Resolved: the mark goes, the chases stop.
    wf.record_site_visit(issue, data.users["specialist"], arrived_at=next_day,
                         outcome="resolved", summary="已修复", expected_version=issue.version,
                         now=next_day + timedelta(days=1, hours=1))
    assert not issue.is_supervised
    assert wf.chase_overdue_supervisions(now=next_day + timedelta(days=5)) == 0
    assert _db.session.scalar(sa.select(Supervision.chase_count)) == 2


def test_a_supervision_deadline_must_be_in_the_future(data, refs):
    issue = accepted(data, refs)
    with pytest.raises(wf.InvalidInput) as refused:
        wf.supervise_issue(issue, data.users["leader"], note="抓紧", deadline=at(10),
                           expected_version=issue.version, now=at(30))
    assert "deadline" in refused.value.fields


# --- leaders' scope ----------------------------------------------------------------------

def test_leaders_see_their_street_and_district_leaders_everything(data, refs):
    ours = accepted(data, refs)
    far = f.CircleFactory(name="远方商圈", community=f.CommunityFactory(name="远方社区"))
    _db.session.commit()
    theirs = escalated(data, refs, circle=far)
    district = f.UserFactory(username="district", role="leader", street=None)
    _db.session.commit()

    def visible(user):
        return set(_db.session.scalars(scope_by_circle(sa.select(Issue.id), Issue.circle_id,
                                                       user)))

    assert visible(data.users["leader"]) == {ours.id}
    assert visible(district) == {ours.id, theirs.id}
    assert issue_in_scope(district, theirs) and not issue_in_scope(data.users["leader"], theirs)


def test_two_processes_chasing_at_once_write_one_chase(app, data, refs):
    """The daily chase may run on several hosts at the same moment: one chase per order."""
    import threading

    issue = accepted(data, refs)
    wf.supervise_issue(issue, data.users["leader"], note="请今日办结", deadline=at(120),
                       expected_version=issue.version, now=at(30))
    issue_id = issue.id
    barrier, written, errors = threading.Barrier(2), [], []

    def chase():
        from circle.issues import workflow
        from circle.transaction import unit_of_work

        with app.app_context():
            try:
                barrier.wait()
                with unit_of_work():
                    written.append(workflow.chase_overdue_supervisions(now=at(24 * 60)))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=chase) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and sorted(written) == [0, 1]
    _db.session.expire_all()
    assert _db.session.get(Issue, issue_id).chase_count == 1


def test_the_chase_command(runner, data, refs):
    issue = accepted(data, refs)
    wf.supervise_issue(issue, data.users["leader"], note="请今日办结",
                       deadline=datetime.now(timezone.utc) + timedelta(minutes=1),
                       expected_version=issue.version)
    result = runner.invoke(args=["circle", "chase"])
    assert result.exit_code == 0 and "0 chase(s)" in result.output  # not before tomorrow


def test_the_street_leader_hears_of_requests_and_the_assignee_of_chases(app, data, refs):
    """Who hears what (circle/notify/rules.py) for the lifecycle: a request waits for the
    street's leader; the daily job's chase reaches the assignee."""
    from circle.jobs import run_periodic
    from circle.notify.models import Notice, Notification

    def told(user):
        return set(_db.session.scalars(
            sa.select(Notice.kind).join(Notification, Notification.notice_id == Notice.id)
            .where(Notification.user_id == user.id)))

    issue = accepted(data, refs)
    wf.request_extension(issue, data.users["specialist"], reason="需配件",
                         new_deadline=issue.resolution_due_at + timedelta(days=1),
                         expected_version=issue.version, now=at(60))
    assert told(data.users["leader"]) and not told(data.users["staff"])
    wf.decide_extension(issue, data.users["leader"], approve=True,
                        expected_version=issue.version, now=at(70))
    wf.supervise_issue(issue, data.users["leader"], note="请今日办结", deadline=at(120),
                       expected_version=issue.version, now=at(80))
    assert "chased" not in told(data.users["specialist"])
    assert run_periodic(now=at(24 * 60))["chase"] == "1"
    assert run_periodic(now=at(24 * 60 + 30)).get("chase") is None  # the day is claimed
    assert "chased" in told(data.users["specialist"])
    assert "extension_requested" in told(data.users["leader"])
