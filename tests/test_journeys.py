"""Whole journeys through the loop, each person in their own browser, over HTTP.

Registration happens through :func:`circle.issues.workflow.register_issue` (the register page
is built separately); everything after it goes through the issue desk's forms.
"""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from circle.issues import sla, workcalendar
from circle.issues.models import Callback, IssueCategory, IssueSource, Status
from circle.timeutil import utcnow
from tests import factories as f
from tests.steps import wf as workflow
from tests.test_desk import (
    act,
    browser_for,
    department,
    desk_url,
    local_input,
    minute,
    register,
    shown_actions,
    text,
)


def timeline(html: str) -> list[str]:
    """The event codes of the desk's timeline, in the order shown."""
    return re.findall(r'data-event="([a-z_]+)"', html[html.index('id="timeline"'):])


def clocks(issue):
    now, calendar = utcnow(), workcalendar.load_calendar()
    return sla.response_state(issue, now, calendar), sla.resolution_state(issue, now, calendar)


def test_seed_story_frozen_food_shop(app, db, data):
    """王连濛's frozen-food shop keeps tripping its power; settled within the half hour."""
    specialist = data.users["specialist"]
    shop = f.MerchantFactory(circle=data.east, shop_name="王记冻品", owner_name="王连濛",
                             phone="13912345678", business_category="冻品批发")
    f.EmergencyContactFactory(merchant=shop, priority=1, name=str(specialist),
                              phone=specialist.phone, relation="社区热线专员", user=specialist)
    db.session.commit()
    reported = minute(utcnow()) - timedelta(hours=1)
    issue = workflow.register_issue(
        data.users["liaison"], merchant=shop,
        category=db.session.scalars(
            sa.select(IssueCategory).where(IssueCategory.name == "供电用电")).one(),
        source=db.session.scalars(sa.select(IssueSource).where(IssueSource.is_hotline)).first(),
        severity="small", work_order_no="SD12345-20240621-0001",
        description="冻品店冷柜频繁跳闸，店内断电，冻品有化冻风险", now=reported,
    )
    liaison, zhuanyuan, staff = (browser_for(app, name)
                                 for name in ("liaison", "specialist", "staff"))

    # The liaison cannot fix wiring: up to the community.
    page = text(liaison.get(desk_url(issue)))
    assert "SD12345-20240621-0001" in page and f'href="tel:{specialist.phone}"' in page
    assert act(liaison, db, issue, "escalate", {"note": "需专业电工"}).status_code == 302

    # The specialist takes it and is on site 25 minutes after the report.
    assert act(zhuanyuan, db, issue, "accept",
               {"assignee": str(specialist.id)}).status_code == 302
    summary = "电表箱内小刀闸老化跳闸，现场更换小刀闸后恢复供电"
    response = act(zhuanyuan, db, issue, "visit", {
        "arrived_at": local_input(reported + timedelta(minutes=25)),
        "outcome": "resolved",
        "findings": "冷柜启动电流大，电表箱内小刀闸老化",
        "summary": summary,
        "attendees": [str(specialist.id), str(data.users["liaison"].id)],
    })
    assert response.status_code == 302
    db.session.refresh(issue)
    assert issue.status == Status.RESOLVED and issue.resolution_summary == summary
    assert issue.first_on_site_at == reported + timedelta(minutes=25)

    # The callback: 满意, solved → closed.
    assert "callback" in shown_actions(text(staff.get(desk_url(issue))))
    response = act(staff, db, issue, "callback", {
        "reached": "yes", "resolved": "yes", "rating": "satisfied", "comments": "半小时就到了"},
        follow_redirects=True)
    assert response.status_code == 200
    db.session.refresh(issue)
    assert issue.status == Status.CLOSED and issue.rating == "satisfied"
    assert issue.closed_at is not None
    assert clocks(issue) == ("met", "met")

    actions = [event.action for event in issue.events]
    assert actions == ["register", "escalate", "accept", "arrive", "resolve", "close"]
    assert [event.actor.username for event in issue.events] == [
        "liaison", "liaison", "specialist", "specialist", "specialist", "staff"]
    html = text(liaison.get(desk_url(issue)))
    assert timeline(html) == actions
    assert "小刀闸" in html
    # Signed for, contacted (on site), responded, resolved: all four clocks met.
    assert html.count("sla-met") == 4
    assert shown_actions(html) == set()


def test_dissatisfied_callback_sends_the_issue_back(app, db, data):
    # A new clock on a fixed duration ends later than the first; under 不过晌 a re-handling
    # within the same half-day keeps its end (test_sla_rules.py).
    f.use_fixed_durations()
    specialist = data.users["specialist"]
    issue = register(db, data)
    reported = issue.reported_at
    workflow.escalate_to_community(issue, data.users["liaison"], expected_version=None,
                                   now=reported + timedelta(minutes=1))
    workflow.accept_issue(issue, specialist, expected_version=None,
                          now=reported + timedelta(minutes=2))
    workflow.record_site_visit(issue, specialist, arrived_at=reported + timedelta(minutes=15),
                               outcome="resolved", summary="复位空开",
                               expected_version=None, now=reported + timedelta(minutes=20))
    first_due = issue.resolution_due_at
    zhuanyuan, staff = browser_for(app, "specialist"), browser_for(app, "staff")

    # 不满意: back to the specialist at level 2 (重办) with a new resolution clock.
    act(staff, db, issue, "callback", {"reached": "yes", "resolved": "no",
                                       "rating": "dissatisfied", "comments": "第二天又跳闸了"})
    db.session.refresh(issue)
    assert (issue.status, issue.level) == (Status.DISPATCHED, 2)
    assert issue.rehandle_count == 1
    assert issue.resolution_due_at > first_due
    assert issue.resolved_at is None
    page = text(zhuanyuan.get(desk_url(issue)))
    assert "visit" in shown_actions(page)
    assert 'class="col-sm-8 desk-rehandle-count">1<' in page

    # Re-handled: a second visit resolves it for good.
    act(zhuanyuan, db, issue, "visit", {
        "arrived_at": local_input(minute(utcnow())),
        "outcome": "resolved", "findings": "线路过载", "summary": "更换小刀闸并分路"})
    db.session.refresh(issue)
    assert issue.status == Status.RESOLVED

    act(staff, db, issue, "callback", {"reached": "yes", "resolved": "yes",
                                       "rating": "satisfied"})
    db.session.refresh(issue)
    assert issue.status == Status.CLOSED
    assert issue.rating == "satisfied"  # the latest reached callback counts
    ratings = [c.rating for c in sorted(issue.callbacks, key=lambda c: (c.called_at, c.id))]
    assert ratings == ["dissatisfied", "satisfied"]
    assert [c.round for c in issue.callbacks] == [0, 1]

    html = text(staff.get(desk_url(issue)))
    assert html.count("desk-callback-effective") == 1
    effective_row = html[html.index("desk-callback-effective"):]
    assert "第二天又跳闸了" not in effective_row[:effective_row.index("</tr>")]
    assert [e for e in timeline(html) if e in ("rehandle", "close")] == ["rehandle", "close"]


def test_three_unreachable_callbacks_close_the_issue(app, db, data):
    issue = register(db, data)
    workflow.resolve_at_level1(issue, data.users["liaison"], summary="已复位",
                               expected_version=None)
    staff = browser_for(app, "staff")
    for attempt in (1, 2):
        act(staff, db, issue, "callback", {"reached": "no", "comments": f"第{attempt}次未接"})
        db.session.refresh(issue)
        assert issue.status == Status.RESOLVED and issue.callback_attempts == attempt
    act(staff, db, issue, "callback", {"reached": "no"})
    db.session.refresh(issue)
    assert issue.status == Status.CLOSED
    assert issue.callback_unreachable is True
    assert issue.rating is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Callback)) == 3
    html = text(staff.get(desk_url(issue)))
    assert shown_actions(html) == set()
    assert timeline(html)[-3:] == ["callback_missed", "callback_missed", "unreachable"]


def test_all_four_levels(app, db, data):
    """Level 1 → 2 → 3 (joint office with departments) → 4 (symposium deadline) → closed."""
    issue = register(db, data, severity="hard", description="整条街配电线路老化，多家商户频繁断电")
    power, property_company = department(db, "供电所"), department(db, "物业公司")
    liaison, zhuanyuan, staff = (browser_for(app, name)
                                 for name in ("liaison", "specialist", "staff"))
    reported = issue.reported_at

    act(liaison, db, issue, "escalate", {})
    act(zhuanyuan, db, issue, "accept", {"assignee": str(data.users["specialist"].id)})
    # On site, the specialist sees it needs the power company: escalate with departments.
    act(zhuanyuan, db, issue, "visit", {
        "arrived_at": local_input(reported + timedelta(minutes=40)), "outcome": "escalate",
        "findings": "主干线老化", "departments": [str(power.id)]})
    db.session.refresh(issue)
    assert (issue.status, issue.level) == (Status.JOINT_OFFICE, 3)

    # The joint office meets on site; it cannot settle it there: symposium.
    act(zhuanyuan, db, issue, "visit", {
        "arrived_at": local_input(reported + timedelta(minutes=50)), "outcome": "escalate",
        "findings": "需改造线路，费用分担有争议",
        "departments": [str(power.id), str(property_company.id)]})
    db.session.refresh(issue)
    assert (issue.status, issue.level, issue.highest_level) == (Status.SYMPOSIUM, 4, 4)
    assert [v.level for v in issue.site_visits] == [2, 3]

    deadline = minute(utcnow()) + timedelta(days=14)
    act(zhuanyuan, db, issue, "symposium", {
        "held_at": local_input(minute(utcnow()) - timedelta(minutes=10)),
        "agreed_deadline": local_input(deadline), "participants": "商户代表、物业、供电所",
        "minutes": "两周内完成线路改造，费用由物业承担",
        "departments": [str(power.id), str(property_company.id)]})
    db.session.refresh(issue)
    assert issue.resolution_due_at == deadline

    act(zhuanyuan, db, issue, "resolve", {"summary": "线路改造完成"})
    act(staff, db, issue, "callback", {"reached": "yes", "resolved": "yes",
                                       "rating": "very_satisfied"})
    db.session.refresh(issue)
    assert issue.status == Status.CLOSED
    assert clocks(issue)[1] == "met"
    html = text(liaison.get(desk_url(issue)))
    assert timeline(html) == ["register", "escalate", "accept", "arrive", "joint_office",
                              "visit", "escalate_symposium", "symposium", "resolve", "close"]
    assert "两周内完成线路改造" in html
