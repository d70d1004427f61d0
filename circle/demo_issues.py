"""The demo's issues: how the cases of the news story (:mod:`circle.demo_cases`) are played.

Each :class:`~circle.demo_cases._Case` says who reported what, when, and how far it got in
the loop; :class:`_Timeline` plays it through the workflow engine with ``now=`` set to the
story's clock, so the timelines, clocks and figures are what people using the panel would have
produced. :func:`add_issues` is called by :func:`circle.demo.seed_demo`.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone

from circle.accounts.models import User
from circle.demo import _CIRCLES, _SHOPS, _by_name, _Cast, _Generator
from circle.demo_cases import _CASES, _Case, _Rehandle
from circle.issues import workcalendar, workflow
from circle.issues.lifecycle_models import ContactChannel, ReturnBasis
from circle.issues.models import (
    Issue,
    IssueCategory,
    IssueSource,
    Rating,
    Severity,
    Status,
    VisitOutcome,
)
from circle.merchants.models import Merchant
from circle.org.models import Department
from circle.reference import HOTLINE, LIAISON_REPORT, MEMBER_REPORT, WALK_IN
from circle.timeutil import local_zone

# The service promise: (response, resolution) per severity.

_DAY = 24 * 60
# Typical minutes from the previous step to this one, per severity.
_PACE = {
    Severity.SMALL: {"escalate": 10, "accept": 5, "contact": 5, "arrive": 15, "joint_office": 180,
                     "symposium": _DAY, "resolve": 90, "hold": 30, "resume": 20 * 60,
                     "callback": 20 * 60, "close": 3, "rehandle": 15, "withdraw": 40},
    Severity.BIG: {"escalate": 30, "accept": 10, "contact": 10, "arrive": 25, "joint_office": 300,
                   "symposium": 2 * _DAY, "resolve": 240, "hold": 60, "resume": _DAY,
                   "callback": 21 * 60, "close": 3, "rehandle": 15, "withdraw": 60},
    Severity.HARD: {"escalate": 60, "accept": 15, "contact": 15, "arrive": 30, "joint_office": _DAY,
                    "symposium": 2 * _DAY, "resolve": 3 * _DAY, "hold": 60, "resume": _DAY,
                    "callback": 22 * 60, "close": 3, "rehandle": 15, "withdraw": 60},
}

_REGISTER_NOTES = {
    HOTLINE: "接12345热线工单{no}，登记诉求。",
    LIAISON_REPORT: "联络员巡查商圈时发现，登记诉求。",
    WALK_IN: "商户到联络员处反映，登记诉求。",
    MEMBER_REPORT: "群众建议员/民意收集员反映，联络员登记诉求。",
}


class _Timeline:
    """Plays one issue forward in time through the workflow engine.

    Every step is a call of a :mod:`circle.issues.workflow` step function with ``now=`` set
    to the story's clock, so the demo's timelines, clocks (held issues pause theirs) and
    figures are exactly what people using the panel would have produced.
    """

    def __init__(self, case: _Case, cast: _Cast, liaison: User,
                 departments: dict[str, Department], rng: random.Random, now: datetime,
                 reported_at: datetime, specialist: User):
        self.case, self.cast, self.liaison = case, cast, liaison
        self.specialist = specialist  # of the community the issue is in
        self.departments = [departments[name] for name in case.departments]
        self.rng, self.now = rng, now
        self.at = reported_at
        self.issue: Issue | None = None

    # -- mechanics ------------------------------------------------------------------------

    def _advance(self, step: str) -> None:
        minutes = self.case.pace.get(step)
        if minutes is None:
            base = _PACE[self.case.severity][step]
            minutes = base + self.rng.randint(0, max(1, base // 5))
        # A safety net: whatever the hour of seeding, no demo event lies in the future.
        self.at = min(self.at + timedelta(minutes=minutes), self.now)

    def _note(self, step: str, default: str) -> str:
        return self.case.notes.get(step, default).format(no=self.issue.work_order_no)

    def _visit(self, level: int, findings: str, outcome: str, summary: str = "") -> None:
        specialist = self.specialist
        workflow.record_site_visit(
            self.issue, specialist, arrived_at=self.at, outcome=outcome, findings=findings,
            summary=summary, attendees=[specialist, self.liaison] if level == 3 else [specialist],
            departments=list(self.departments) if level == 3 or outcome == VisitOutcome.ESCALATE
            else [], expected_version=None, now=self.at)

    # -- steps ----------------------------------------------------------------------------

    def register(self, merchant: Merchant, category, source, work_order_no) -> Issue:
        case = self.case
        note = case.notes.get("register", _REGISTER_NOTES[case.source]).format(no=work_order_no)
        self.issue = workflow.register_issue(
            self.liaison, merchant=merchant, category=category, source=source,
            severity=case.severity, description=case.description,
            work_order_no=work_order_no, note=note, now=self.at)
        return self.issue

    def escalate(self) -> None:
        self._advance("escalate")
        workflow.escalate_to_community(
            self.issue, self.liaison, expected_version=None, now=self.at,
            note=self._note("escalate", "联络员协调未能解决，上报社区热线专员。"))

    def accept(self) -> None:
        self._advance("accept")
        workflow.accept_issue(self.issue, self.specialist, expected_version=None,
                              now=self.at,
                              note=self._note("accept", "热线专员接单，已电话联系商户。"))

    def phone_merchant(self) -> None:
        """先行联系: the specialist phones the merchant soon after signing for it."""
        self._advance("contact")
        workflow.record_first_contact(self.issue, self.specialist, contacted_at=self.at,
                                      channel=ContactChannel.PHONE, note="电话联系商户，了解情况。",
                                      expected_version=None, now=self.at)

    def transfer(self, circle, specialist: User) -> None:
        """转办 to the merchant's own circle in another community; its specialist signs."""
        self._advance("accept")
        workflow.transfer_issue(self.issue, self.specialist, circle=circle, move_merchant=True,
                                note=self._note("transfer", ""), expected_version=None,
                                now=self.at)
        self.specialist = specialist

    def extend(self, reason: str, days: int, approved: bool) -> None:
        """延期申请 before the deadline, approved by the street leader two hours later (or
        still waiting for the leader)."""
        self._advance("contact")
        new = self.issue.resolution_due_at + timedelta(days=days)
        workflow.request_extension(self.issue, self.specialist, reason=reason,
                                   new_deadline=new, expected_version=None, now=self.at)
        if not approved:
            return
        self.at = min(self.at + timedelta(hours=2), self.now)
        workflow.decide_extension(self.issue, self.cast.leader, approve=True,
                                  note="同意延期，请按新期限办结。", expected_version=None,
                                  now=self.at)

    def give_back(self, basis: str, reason: str) -> None:
        """退单: not the community's remit; the leader approves the return."""
        self._advance("contact")
        basis_row = _by_name(ReturnBasis)[basis]
        workflow.request_return(self.issue, self.specialist, basis=basis_row, reason=reason,
                                expected_version=None, now=self.at)
        self.at = min(self.at + timedelta(hours=3), self.now)
        workflow.decide_return(self.issue, self.cast.leader, approve=True,
                               note="同意退回12345平台重新派单。", expected_version=None,
                               now=self.at)

    def supervise(self, note: str, days: int) -> None:
        """督办 by the street leader, with a deadline ``days`` later (end of that day)."""
        self._advance("contact")
        workflow.supervise_issue(self.issue, self.cast.leader, note=note,
                                 deadline=_local_evening(self.at, days), expected_version=None,
                                 now=self.at)

    def arrive(self, findings: str, outcome: str, summary: str = "") -> None:
        self._advance("arrive")
        self._visit(2, findings, outcome, summary)

    def joint_office(self, outcome: str, summary: str = "") -> None:
        """The joint on-site office the last visit convened (its outcome chained level 3)."""
        self._advance("joint_office")
        self._visit(3, self.case.joint_findings, outcome, summary)

    def symposium(self) -> None:
        self._advance("symposium")
        case, specialist = self.case, self.specialist
        names = "、".join(d.name for d in self.departments)
        workflow.record_symposium(
            self.issue, specialist, held_at=self.at,
            agreed_deadline=_local_evening(self.at, case.deadline_days),
            participants=f"社区党委、热线专员{specialist.display_name}、"
                         f"商圈联络员{self.liaison.display_name}、{names}、商户代表",
            minutes=case.minutes, departments=list(self.departments),
            expected_version=None, now=self.at)

    def hold(self, reason: str) -> None:
        self._advance("hold")
        workflow.put_on_hold(self.issue, self.specialist, reason=reason,
                             expected_version=None, now=self.at)

    def resume(self) -> None:
        self._advance("resume")
        workflow.resume_issue(self.issue, self.specialist, note="等待事项已落实，恢复办理。",
                              expected_version=None, now=self.at)

    def resolve(self, summary: str) -> None:
        self._advance("resolve")
        if self.issue.level == 1:
            workflow.resolve_at_level1(self.issue, self.liaison, expected_version=None,
                                       now=self.at, summary=summary)
        else:
            workflow.resolve_issue(self.issue, self.specialist, expected_version=None,
                                   now=self.at, summary=summary)

    def callback(self, *, reached: bool, rating: str | None = None, comment: str = "") -> None:
        """One call: not reached, or reached with a rating (closing or re-opening the issue)."""
        self._advance("callback")
        satisfied = rating not in (Rating.DISSATISFIED, Rating.VERY_DISSATISFIED)
        workflow.record_callback(
            self.issue, self.cast.staff, reached=reached,
            resolved=satisfied if reached else None, rating=rating if reached else None,
            comments=comment, called_at=self.at, expected_version=None, now=self.at)

    def withdraw(self, reason: str) -> None:
        self._advance("withdraw")
        workflow.withdraw_issue(self.issue, self.liaison, reason=reason,
                                expected_version=None, now=self.at)


def _play(t: _Timeline, case: _Case) -> None:
    """Take an issue through the four-level loop as far as its case says."""
    # An on-hold issue is played to where it was held, then held.
    target = case.hold_from if case.status == Status.ON_HOLD else case.status
    if case.status == Status.WITHDRAWN:
        t.withdraw(case.withdraw_reason)
        return
    # A visit that settles the matter resolves it on the spot, unless the case waited on a
    # third party first (then it is resolved after the wait).
    resolves_on_site = (case.status in (Status.RESOLVED, Status.CLOSED)
                        and not case.held_then_resumed)
    if case.peak >= 2:
        t.escalate()
        if target == Status.ESCALATED:
            return
        if case.registered_in is not None:
            t.transfer(*t.home)
        t.accept()
        if case.phoned:
            t.phone_merchant()
        if case.returned:
            return t.give_back(*case.returned)
        if case.extension:
            t.extend(*case.extension)
        if case.supervision:
            t.supervise(*case.supervision)
        if target == Status.DISPATCHED:
            return _finish_open(t, case)
        if case.peak >= 3:
            t.arrive(case.findings, VisitOutcome.ESCALATE)
        elif target == Status.ON_SITE:
            t.arrive(case.findings, VisitOutcome.TEMPORARY)
            return _finish_open(t, case)
        elif resolves_on_site and case.visit_outcome == VisitOutcome.RESOLVED:
            t.arrive(case.findings, VisitOutcome.RESOLVED, case.summary)
        else:
            t.arrive(case.findings, VisitOutcome.TEMPORARY)
        if case.peak >= 3:
            joint_open = target == Status.JOINT_OFFICE
            if case.peak == 4:
                t.joint_office(VisitOutcome.ESCALATE)
            elif joint_open or not resolves_on_site:
                t.joint_office(VisitOutcome.TEMPORARY)
            else:
                t.joint_office(VisitOutcome.RESOLVED, case.summary)
            if joint_open:
                return
        if case.peak == 4:
            t.symposium()
            if target == Status.SYMPOSIUM:
                return
    if target in Status.OPEN:
        return _finish_open(t, case)
    if case.held_then_resumed:
        t.hold(case.hold_reason)
        t.resume()
    if t.issue.status != Status.RESOLVED:
        t.resolve(case.summary)
    if case.rehandle:
        _play_rehandle(t, case.rehandle)
    if case.unreachable:
        t.callback(reached=False)
    if case.status == Status.CLOSED:
        t.callback(reached=True, rating=case.rating, comment=case.comment)


def _finish_open(t: _Timeline, case: _Case) -> None:
    if case.status == Status.ON_HOLD:
        t.hold(case.hold_reason)


def _play_rehandle(t: _Timeline, rehandle: _Rehandle) -> None:
    """The merchant rejects the first resolution; the specialist goes back and fixes it."""
    t.callback(reached=True, rating=Rating.DISSATISFIED, comment=rehandle.complaint)
    t.arrive(rehandle.findings, VisitOutcome.RESOLVED, rehandle.summary)


def _community_of(circle_index: int) -> int:
    return _CIRCLES[circle_index][3]


def _local_evening(at: datetime, days: int) -> datetime:
    """18:00 local time, ``days`` days after ``at``: deadlines are agreed as whole days."""
    zone = local_zone()
    day = at.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(18, 0), tzinfo=zone).astimezone(timezone.utc)


def _reported_at(case: _Case, now: datetime) -> datetime:
    if case.minutes_ago:
        return now - timedelta(minutes=case.minutes_ago)
    # Anchor on a local working hour of an earlier day, so times look like office hours.
    zone = local_zone()
    day = now.astimezone(zone).date() - timedelta(days=case.days_ago)
    calendar = workcalendar.load_calendar(zone)  # office hours fall on working days
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    hour, minute = (int(part) for part in case.clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(timezone.utc)


def add_issues(merchants: dict[str, Merchant], cast: _Cast,
                departments: dict[str, Department], gen: _Generator, now: datetime) -> None:
    """Play every case through the workflow engine, oldest first."""
    categories, sources = _by_name(IssueCategory), _by_name(IssueSource)
    # Oldest first, so that issue numbers grow with time as they would in real use.
    for reported_at, case in sorted(((_reported_at(c, now), c) for c in _CASES),
                                    key=lambda pair: pair[0]):
        merchant = merchants[case.shop]
        home = next(i for i, shops in enumerate(_SHOPS)
                    if case.shop in (name for name, _ in shops))
        circle_index = home if case.registered_in is None else case.registered_in
        home_circle = merchant.circle
        if circle_index != home:
            # Registered in the wrong circle by its liaison (and transferred later).
            wrong = cast.liaisons[circle_index].circles[0]
            merchant.circle, merchant.circle_id = wrong, wrong.id
        source = sources[case.source]
        liaison = cast.liaisons[circle_index]
        timeline = _Timeline(case, cast, liaison, departments, gen.rng, now, reported_at,
                             cast.specialists[_community_of(circle_index)])
        timeline.home = (home_circle, cast.specialists[_community_of(home)])
        timeline.register(merchant, categories[case.category], source,
                          gen.work_order_no(reported_at) if source.is_hotline else None)
        _play(timeline, case)
    # 催办: the supervision orders whose deadline has passed are chased today.
    workflow.chase_overdue_supervisions(now=now)
