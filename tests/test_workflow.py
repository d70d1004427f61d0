"""The four-level loop's transitions: every legal and illegal step per role, and races."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from circle.extensions import db as _db
from circle.issues.models import Issue, IssueEvent, Status
from circle.models import Department, DepartmentKind, IssueCategory, IssueSource
from tests import factories as f
from tests.steps import wf

T0 = datetime(2024, 6, 21, 6, 0, tzinfo=timezone.utc)  # 14:00 in Shanghai


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def refs(db, data):
    # The clock arithmetic below (at(240), at(24 * 60), ...) is written in the fixed
    # durations of before the deadline rules; the rules are tested in test_sla_rules.py.
    f.use_fixed_durations()
    kind = db.session.scalars(sa.select(DepartmentKind)).first()
    department = Department(name="孝里街道供电所", kind=kind, contact_person="王军利",
                            phone="0531-87654321")
    db.session.add(department)
    db.session.commit()
    return {
        "category": db.session.scalars(sa.select(IssueCategory)).first(),
        "walk_in": db.session.scalar(sa.select(IssueSource).where(~IssueSource.is_hotline)),
        "hotline": db.session.scalar(sa.select(IssueSource).where(IssueSource.is_hotline)),
        "department": department,
    }


def register(data, refs, **kw):
    actor = kw.pop("actor", data.users["liaison"])
    merchant = kw.pop("merchant", None) or f.MerchantFactory(circle=data.east)
    _db.session.commit()
    args = dict(merchant=merchant, category=refs["category"], source=refs["walk_in"],
                severity="small", description="门店频繁跳闸", now=at(0))
    args.update(kw)
    return wf.register_issue(actor, **args)


def events(issue):
    return [e.action for e in issue.events]


# --- the permission table, written out as the product defines it --------------------------

_ASK = {"request_extension", "request_return", "transfer"}  # a specialist's, with the case
_NOBODY = {role: set() for role in ("admin", "specialist", "liaison", "staff", "leader")}

ROLE_ACTIONS = {
    # status: {role: actions allowed on an in-scope issue at that status} ("confirm" only
    # for a merchant's own report: tests/test_selfreport.py)
    Status.REGISTERED: {
        "liaison": {"resolve_level1", "escalate", "hold", "withdraw", "merge"},
        "specialist": {"resolve_level1", "escalate", "hold", "withdraw", "merge", "transfer"},
        "admin": {"resolve_level1", "escalate", "hold", "withdraw", "merge", "transfer",
                  "supervise"},
        "staff": set(),
        "leader": {"supervise"},
    },
    Status.ESCALATED: {
        "liaison": set(),
        "specialist": {"accept", "hold", "withdraw", "merge"} | _ASK,
        "admin": {"accept", "hold", "withdraw", "merge", "supervise"} | _ASK,
        "staff": set(),
        "leader": {"supervise"},
    },
    Status.DISPATCHED: {
        "liaison": set(),
        "specialist": {"accept", "visit", "joint_office", "hold", "withdraw", "merge",
                       "first_contact"} | _ASK,
        "admin": {"accept", "visit", "joint_office", "hold", "withdraw", "merge", "first_contact",
                  "supervise"} | _ASK,
        "staff": set(),
        "leader": {"supervise"},
    },
    Status.ON_SITE: {
        "specialist": {"visit", "joint_office", "resolve", "hold", "withdraw", "merge",
                       "first_contact"} | _ASK,
        "liaison": set(), "staff": set(), "leader": {"supervise"},
    },
    Status.JOINT_OFFICE: {
        "specialist": {"visit", "escalate_symposium", "resolve", "hold", "withdraw", "merge",
                       "first_contact"} | _ASK,
        "liaison": set(), "staff": set(), "leader": {"supervise"},
    },
    Status.SYMPOSIUM: {
        "specialist": {"symposium", "resolve", "hold", "withdraw", "merge", "first_contact"} | _ASK,
        "liaison": set(), "staff": set(), "leader": {"supervise"},
    },
    Status.ON_HOLD: {
        "specialist": {"resume", "withdraw", "merge"},
        "staff": set(), "leader": {"supervise"},
    },
    Status.RESOLVED: {
        "staff": {"callback"}, "admin": {"callback"}, "specialist": set(), "liaison": set(),
        "leader": set(),
    },
    Status.CLOSED: _NOBODY,
    Status.WITHDRAWN: _NOBODY,
    Status.RETURNED: _NOBODY,
}

LEVEL_OF = {Status.REGISTERED: 1, Status.ESCALATED: 2, Status.DISPATCHED: 2,
            Status.ON_SITE: 2, Status.JOINT_OFFICE: 3, Status.SYMPOSIUM: 4,
            Status.ON_HOLD: 2, Status.RESOLVED: 2, Status.CLOSED: 2, Status.WITHDRAWN: 2,
            Status.RETURNED: 2}


@pytest.mark.parametrize("status", list(ROLE_ACTIONS))
def test_allowed_actions_per_role_and_status(db, data, status):
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east), status=status,
                           level=LEVEL_OF[status])
    db.session.commit()
    for role, expected in ROLE_ACTIONS[status].items():
        assert wf.allowed_actions(issue, data.users[role]) == expected, (status, role)


def test_nothing_is_allowed_outside_scope(db, data):
    other_circle = f.CircleFactory()  # another community
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=other_circle),
                           status=Status.ESCALATED, level=2)
    west = f.IssueFactory(merchant=f.MerchantFactory(circle=data.west))
    db.session.commit()
    assert wf.allowed_actions(issue, data.users["specialist"]) == set()
    assert wf.allowed_actions(west, data.users["liaison"]) == set()  # liaison is east only
    # The other community is in no street: the street's leader sees nothing of it.
    assert wf.allowed_actions(issue, data.users["leader"]) == set()
    assert wf.allowed_actions(issue, data.users["admin"]) == (
        ROLE_ACTIONS[Status.ESCALATED]["admin"])


def test_deactivated_user_can_do_nothing(db, data, refs):
    issue = register(data, refs)
    data.users["liaison"].active = False
    db.session.commit()
    assert wf.allowed_actions(issue, data.users["liaison"]) == set()


# --- registration ----------------------------------------------------------------------

def test_register_starts_clocks_from_the_policy(db, data, refs):
    issue = register(data, refs, severity="big")
    assert (issue.status, issue.level, issue.circle_id) == (Status.REGISTERED, 1, data.east.id)
    assert issue.response_due_at == at(120)
    assert issue.resolution_due_at == at(24 * 60)
    assert (issue.response_minutes, issue.resolution_minutes) == (120, 24 * 60)
    assert events(issue) == ["register"]


def test_policy_change_affects_new_issues_only(db, data, refs):
    from circle.models import SlaPolicy

    first = register(data, refs)
    policy = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.severity == "small"))
    policy.resolve_minutes = 60
    db.session.commit()
    second = register(data, refs)
    assert first.resolution_due_at == at(240)
    assert second.resolution_due_at == at(60)


@pytest.mark.parametrize("change,message", [
    ({"severity": "huge"}, "事项类型"),
    ({"description": "  "}, "描述"),
])
def test_register_refuses_bad_input(db, data, refs, change, message):
    with pytest.raises(wf.InvalidInput, match=message):
        register(data, refs, **change)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0


def test_register_refuses_merchant_outside_scope_and_wrong_roles(db, data, refs):
    west = f.MerchantFactory(circle=data.west)
    with pytest.raises(wf.NotAllowed):
        register(data, refs, merchant=west)
    with pytest.raises(wf.NotAllowed):
        register(data, refs, actor=data.users["staff"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0


def test_hotline_work_order_required_and_unique(db, data, refs):
    with pytest.raises(wf.InvalidInput):
        register(data, refs, source=refs["hotline"])
    register(data, refs, source=refs["hotline"], work_order_no="2406210001")
    with pytest.raises(wf.InvalidInput):
        register(data, refs, source=refs["hotline"], work_order_no="2406210001")


# --- the loop, step by step -------------------------------------------------------------

def test_level_one_resolution(db, data, refs):
    issue = register(data, refs)
    wf.resolve_at_level1(issue, data.users["liaison"], summary="协调物业恢复供电",
                         expected_version=issue.version, now=at(60))
    assert (issue.status, issue.level, issue.resolved_at) == (Status.RESOLVED, 1, at(60))
    assert events(issue) == ["register", "resolve"]


def test_full_loop_to_symposium_and_closure(db, data, refs):
    liaison, specialist, staff = (data.users[r] for r in ("liaison", "specialist", "staff"))
    issue = register(data, refs, severity="hard")
    wf.escalate_to_community(issue, liaison, expected_version=issue.version, now=at(10))
    assert (issue.status, issue.level) == (Status.ESCALATED, 2)
    wf.accept_issue(issue, specialist, expected_version=issue.version, now=at(12))
    assert (issue.status, issue.assignee) == (Status.DISPATCHED, specialist)
    wf.record_site_visit(issue, specialist, arrived_at=at(30), outcome="temporary",
                         findings="电线过粗、功率过大", expected_version=issue.version,
                         now=at(40))
    assert (issue.status, issue.first_on_site_at) == (Status.ON_SITE, at(30))
    with pytest.raises(wf.InvalidInput):  # level 3 needs departments
        wf.escalate_to_joint_office(issue, specialist, departments=[],
                                    expected_version=issue.version, now=at(50))
    wf.escalate_to_joint_office(issue, specialist, departments=[refs["department"]],
                                expected_version=issue.version, now=at(50))
    assert (issue.status, issue.level, issue.highest_level) == (Status.JOINT_OFFICE, 3, 3)
    with pytest.raises(wf.InvalidInput):
        wf.record_site_visit(issue, specialist, arrived_at=at(60), outcome="escalate",
                             expected_version=issue.version, now=at(70))
    wf.record_site_visit(issue, specialist, arrived_at=at(60), outcome="escalate",
                         departments=[refs["department"]], findings="物业与商户僵持不下",
                         expected_version=issue.version, now=at(70))
    assert (issue.status, issue.level) == (Status.SYMPOSIUM, 4)
    deadline = at(3 * 24 * 60)
    wf.record_symposium(issue, specialist, held_at=at(24 * 60), agreed_deadline=deadline,
                        participants="社区、供电所、物业、商户", minutes="三日内完成线路改造",
                        departments=[refs["department"]], expected_version=issue.version,
                        now=at(24 * 60 + 5))
    assert issue.resolution_due_at == deadline
    assert "→" in issue.events[-1].note
    wf.resolve_issue(issue, specialist, summary="完成线路改造", expected_version=issue.version,
                     now=at(2 * 24 * 60))
    assert issue.status == Status.RESOLVED
    wf.record_callback(issue, staff, reached=True, resolved=True, rating="very_satisfied",
                       expected_version=issue.version, now=at(3 * 24 * 60))
    assert (issue.status, issue.rating, issue.closed_at) == (Status.CLOSED, "very_satisfied",
                                                             at(3 * 24 * 60))
    assert events(issue) == ["register", "escalate", "accept", "arrive", "joint_office",
                             "visit", "escalate_symposium", "symposium", "resolve", "close"]
    levels = [(e.from_level, e.to_level) for e in issue.events]
    assert levels[1] == (1, 2) and levels[4] == (2, 3) and levels[6] == (3, 4)


def test_visit_resolved_on_site(db, data, refs):
    specialist = data.users["specialist"]
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=issue.version,
                             now=at(5))
    wf.accept_issue(issue, specialist, expected_version=issue.version, now=at(6))
    with pytest.raises(wf.InvalidInput):  # resolved needs a summary or findings
        wf.record_site_visit(issue, specialist, arrived_at=at(25), outcome="resolved",
                             expected_version=issue.version, now=at(60))
    wf.record_site_visit(issue, specialist, arrived_at=at(25), outcome="resolved",
                         summary="商户购买小刀闸安装到电表箱", expected_version=issue.version,
                         now=at(60))
    assert (issue.status, issue.resolved_at) == (Status.RESOLVED, at(60))


@pytest.mark.parametrize("arrived", [-10, 60 * 24])
def test_visit_arrival_must_be_plausible(db, data, refs, arrived):
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=issue.version,
                             now=at(5))
    wf.accept_issue(issue, data.users["specialist"], expected_version=issue.version, now=at(6))
    version = issue.version
    with pytest.raises(wf.InvalidInput):
        wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(arrived),
                             outcome="temporary", expected_version=version, now=at(30))
    db.session.rollback()
    assert db.session.get(Issue, issue.id).version == version


def test_photos_checked_by_content(db, data, refs):
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=issue.version,
                             now=at(5))
    wf.accept_issue(issue, data.users["specialist"], expected_version=issue.version, now=at(6))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with pytest.raises(wf.InvalidInput):
        wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(20),
                             outcome="temporary", photos=[("shop.jpg", b"<html>not an image")],
                             expected_version=issue.version, now=at(30))
    db.session.rollback()
    with pytest.raises(wf.InvalidInput):
        wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(20),
                             outcome="temporary", photos=[("big.png", png + b"0" * 2000)],
                             photo_max_bytes=1000, expected_version=issue.version, now=at(30))
    db.session.rollback()
    visit = wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(20),
                                 outcome="temporary", photos=[("meter.txt", png)],
                                 expected_version=issue.version, now=at(30))
    assert visit.photos[0].content_type == "image/png"


def test_hold_and_resume_pause_the_clock(db, data, refs):
    liaison = data.users["liaison"]
    issue = register(data, refs)  # resolution due at +240
    wf.put_on_hold(issue, liaison, reason="等待商户提供电费单", expected_version=issue.version,
                   now=at(60))
    assert (issue.status, issue.status_before_hold) == (Status.ON_HOLD, Status.REGISTERED)
    with pytest.raises(wf.IllegalTransition):
        wf.escalate_to_community(issue, liaison, expected_version=issue.version, now=at(70))
    wf.resume_issue(issue, liaison, expected_version=issue.version, now=at(180))
    assert issue.status == Status.REGISTERED
    assert issue.resolution_due_at == at(240 + 120)
    assert issue.held_seconds == 120 * 60


def test_hold_needs_a_reason_and_withdraw_needs_a_reason(db, data, refs):
    issue = register(data, refs)
    with pytest.raises(wf.InvalidInput):
        wf.put_on_hold(issue, data.users["liaison"], reason=" ", expected_version=issue.version)
    with pytest.raises(wf.InvalidInput):
        wf.withdraw_issue(issue, data.users["liaison"], reason="", expected_version=issue.version)
    wf.withdraw_issue(issue, data.users["liaison"], reason="重复登记",
                      expected_version=issue.version, now=at(5))
    assert issue.status == Status.WITHDRAWN
    with pytest.raises(wf.IllegalTransition):
        wf.resume_issue(issue, data.users["liaison"], expected_version=issue.version)


def test_liaison_cannot_touch_escalated_issue(db, data, refs):
    liaison = data.users["liaison"]
    issue = register(data, refs)
    wf.escalate_to_community(issue, liaison, expected_version=issue.version, now=at(5))
    with pytest.raises(wf.NotAllowed):
        wf.withdraw_issue(issue, liaison, reason="x", expected_version=issue.version)
    with pytest.raises(wf.NotAllowed):
        wf.accept_issue(issue, liaison, expected_version=issue.version)


def test_accept_can_assign_only_a_specialist_of_the_community(db, data, refs):
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=issue.version)
    stranger = f.UserFactory(role="specialist", community=f.CommunityFactory())
    db.session.commit()
    with pytest.raises(wf.InvalidInput):
        wf.accept_issue(issue, data.users["admin"], assignee=stranger,
                        expected_version=issue.version)
    wf.accept_issue(issue, data.users["admin"], assignee=data.users["specialist"],
                    expected_version=issue.version)
    assert issue.assignee == data.users["specialist"]


# --- callbacks ----------------------------------------------------------------------------

def resolved_issue(data, refs):
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=issue.version,
                             now=at(5))
    wf.accept_issue(issue, data.users["specialist"], expected_version=issue.version, now=at(6))
    wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(25), outcome="resolved",
                         summary="安装小刀闸", expected_version=issue.version, now=at(90))
    return issue


def test_dissatisfied_callback_sends_back_and_next_rating_is_effective(db, data, refs):
    staff, specialist = data.users["staff"], data.users["specialist"]
    issue = resolved_issue(data, refs)
    wf.record_callback(issue, staff, reached=True, resolved=True, rating="dissatisfied",
                       comments="还是跳闸", expected_version=issue.version, now=at(24 * 60))
    assert (issue.status, issue.level, issue.rehandle_count) == (Status.DISPATCHED, 2, 1)
    assert issue.resolved_at is None
    assert issue.resolution_due_at == at(24 * 60 + 240)  # a new clock
    assert issue.rating == "dissatisfied"
    wf.record_site_visit(issue, specialist, arrived_at=at(24 * 60 + 30), outcome="resolved",
                         summary="更换电表箱开关", expected_version=issue.version,
                         now=at(24 * 60 + 60))
    wf.record_callback(issue, staff, reached=True, resolved=True, rating="satisfied",
                       expected_version=issue.version, now=at(48 * 60))
    assert (issue.status, issue.rating) == (Status.CLOSED, "satisfied")
    assert [(c.rating, c.round) for c in issue.callbacks] == [("dissatisfied", 0),
                                                              ("satisfied", 1)]
    assert "rehandle" in events(issue)


def test_not_resolved_answer_also_sends_back(db, data, refs):
    issue = resolved_issue(data, refs)
    wf.record_callback(issue, data.users["staff"], reached=True, resolved=False,
                       rating="basically_satisfied", expected_version=issue.version,
                       now=at(600))
    assert issue.status == Status.DISPATCHED and issue.rehandle_count == 1


def test_three_failed_calls_close_as_unreachable(db, data, refs):
    staff = data.users["staff"]
    issue = resolved_issue(data, refs)
    for n in (1, 2):
        wf.record_callback(issue, staff, reached=False, expected_version=issue.version,
                           now=at(600 + n))
        assert (issue.status, issue.callback_attempts) == (Status.RESOLVED, n)
    wf.record_callback(issue, staff, reached=False, expected_version=issue.version, now=at(700))
    assert (issue.status, issue.callback_unreachable, issue.rating) == (Status.CLOSED, True,
                                                                         None)
    assert len(issue.callbacks) == 3


def test_reached_callback_needs_both_answers(db, data, refs):
    issue = resolved_issue(data, refs)
    with pytest.raises(wf.InvalidInput):
        wf.record_callback(issue, data.users["staff"], reached=True, rating="satisfied",
                           expected_version=issue.version)
    with pytest.raises(wf.InvalidInput):
        wf.record_callback(issue, data.users["staff"], reached=True, resolved=True,
                           rating="great", expected_version=issue.version)


# --- refusals change nothing; concurrency ---------------------------------------------------

def test_illegal_transition_changes_nothing(db, data, refs):
    issue = register(data, refs)
    before = (issue.status, issue.level, issue.version, len(issue.events))
    with pytest.raises(wf.IllegalTransition):
        wf.resolve_issue(issue, data.users["admin"], summary="x", expected_version=issue.version)
    with pytest.raises(wf.NotAllowed):
        wf.record_callback(issue, data.users["liaison"], reached=False,
                           expected_version=issue.version)
    db.session.rollback()
    issue = db.session.get(Issue, issue.id)
    assert (issue.status, issue.level, issue.version, len(issue.events)) == before


def test_stale_expected_version_is_refused(db, data, refs):
    issue = register(data, refs)
    seen = issue.version
    wf.put_on_hold(issue, data.users["specialist"], reason="等待", expected_version=seen)
    with pytest.raises(wf.StaleIssue):
        wf.escalate_to_community(issue, data.users["liaison"], expected_version=seen)


def test_change_committed_between_load_and_save_is_refused(db, data, refs):
    issue = register(data, refs)
    seen = issue.version
    # Another process commits a change after this request loaded the issue.
    with _db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE issue SET version = version + 1 WHERE id = :id"),
                     {"id": issue.id})
    with pytest.raises(wf.StaleIssue):
        wf.escalate_to_community(issue, data.users["liaison"], expected_version=seen)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(IssueEvent))
    assert count == 1  # only the registration


def test_two_users_acting_at_once_only_one_wins(app, db, data, refs):
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=issue.version)
    issue_id, version = issue.id, issue.version
    users = [data.users["specialist"].id, data.users["admin"].id]
    barrier = threading.Barrier(2)
    outcomes = []

    def act(user_id):
        from circle.models import User

        with app.app_context():
            user = _db.session.get(User, user_id)
            mine = _db.session.get(Issue, issue_id)
            barrier.wait()  # both have loaded the same version
            try:
                wf.accept_issue(mine, user, assignee=_db.session.get(User, users[0]),
                                expected_version=version)
                outcomes.append("ok")
            except wf.StaleIssue:
                outcomes.append("stale")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=act, args=(uid,)) for uid in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ok", "stale"]
    db.session.expire_all()
    accepts = db.session.scalars(
        sa.select(IssueEvent).where(IssueEvent.issue_id == issue_id,
                                    IssueEvent.action == "accept")
    ).all()
    assert len(accepts) == 1


# --- the engine: the declaration, chaining, the unit of work --------------------------------

def test_steps_chain_in_one_unit_of_work(db, data, refs):
    """Steps flush and never commit: a whole story is one transaction, or nothing."""
    from circle.issues import workflow as engine
    from circle.transaction import unit_of_work

    merchant = f.MerchantFactory(circle=data.east)
    db.session.commit()
    liaison, specialist = data.users["liaison"], data.users["specialist"]
    with unit_of_work():
        issue = engine.register_issue(liaison, merchant=merchant, category=refs["category"],
                                      source=refs["walk_in"], severity="small",
                                      description="门店频繁跳闸", now=at(0))
        engine.escalate_to_community(issue, liaison, expected_version=None, now=at(5))
        engine.accept_issue(issue, specialist, expected_version=None, now=at(6))
    issue_id = issue.id
    db.session.expire_all()
    assert events(db.session.get(Issue, issue_id)) == ["register", "escalate", "accept"]

    # A refusal in the middle of a chain writes nothing of it.
    with pytest.raises(wf.InvalidInput), unit_of_work():
        issue = db.session.get(Issue, issue_id)
        engine.record_site_visit(issue, specialist, arrived_at=at(20), outcome="temporary",
                                 expected_version=None, now=at(30))
        engine.resolve_issue(issue, specialist, summary="  ", expected_version=None,
                             now=at(31))
    db.session.expire_all()
    issue = db.session.get(Issue, issue_id)
    assert (issue.status, len(issue.events), len(issue.site_visits)) == (Status.DISPATCHED, 3, 0)


def test_a_step_alone_flushes_and_leaves_the_commit_to_the_caller(db, data, refs):
    from circle.issues import workflow as engine

    issue = register(data, refs)
    engine.escalate_to_community(issue, data.users["liaison"], expected_version=None,
                                 now=at(5))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IssueEvent)) == 2
    db.session.rollback()
    assert events(db.session.get(Issue, issue.id)) == ["register"]


def test_every_event_written_is_declared_and_labelled():
    from circle.labels import EVENT_LABELS

    declared = {step.event for step in wf.STEPS.values()}
    assert declared <= set(EVENT_LABELS)
    # Only one label for an event nothing writes now: "callback", which the demo data of
    # earlier versions wrote, so that old timelines still read.
    assert set(EVENT_LABELS) - declared == {"callback"}
    for step in wf.STEPS.values():
        assert step.capability in __import__("circle.permissions").permissions.PERMISSIONS
        assert step.sources, step.name


def test_the_desk_actions_derive_from_the_steps():
    assert set(wf.ACTIONS) == set(wf.ACTION_FUNCTIONS)
    assert [s.name for s in wf.steps_of("visit")] == ["arrive", "visit"]
    assert {s.name for s in wf.steps_of("callback")} == {
        "callback_missed", "unreachable", "close", "rehandle"}


def test_a_visit_resolved_on_site_needs_its_own_summary(db, data, refs):
    """The visit's findings (what was wrong) never become the resolution (how it was fixed)."""
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=None, now=at(5))
    wf.accept_issue(issue, data.users["specialist"], expected_version=None, now=at(6))
    with pytest.raises(wf.InvalidInput) as refused:
        wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(20),
                             outcome="resolved", findings="电表箱空开老化",
                             expected_version=None, now=at(30))
    assert set(refused.value.fields) == {"summary"}
    issue = db.session.get(Issue, issue.id)
    assert issue.status == Status.DISPATCHED and not issue.resolution_summary


def test_missing_inputs_are_all_named_at_once(db, data, refs):
    issue = register(data, refs)
    wf.escalate_to_community(issue, data.users["liaison"], expected_version=None, now=at(5))
    wf.accept_issue(issue, data.users["specialist"], expected_version=None, now=at(6))
    wf.record_site_visit(issue, data.users["specialist"], arrived_at=at(20), outcome="resolved",
                         summary="更换空开", expected_version=None, now=at(30))
    with pytest.raises(wf.InvalidInput) as refused:
        wf.record_callback(issue, data.users["staff"], reached=True, expected_version=None,
                           now=at(60))
    assert set(refused.value.fields) == {"resolved", "rating"}


def test_the_readme_shows_the_declared_loop():
    """README's table of the loop is generated from STEPS (python -m circle.issues.steps)."""
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- steps:begin -->\n", "<!-- steps:end -->"
    assert begin in readme and end in readme
    shown = readme.split(begin, 1)[1].split(end, 1)[0]
    assert shown == wf.steps_table(), "run: .venv/bin/python -m circle.issues.steps"
