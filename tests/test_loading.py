"""circle/loading.py: an object's collections read in a few statements, the empty ones not."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from circle.issues.desk import DESK_RECORDS, MERCHANT_RECORDS
from circle.issues.models import Issue, IssueEvent, SiteVisit
from circle.loading import load_collections
from circle.models import Department, DepartmentKind, Merchant
from circle.timeutil import utcnow
from tests import factories as f
from tests.sqlspy import recorded_sql


@pytest.fixture
def case(db, data):
    """An issue with three events and two visits that share a department and an
    attendee; no symposium, callback, request or photo; a merchant with two contacts."""
    users = data.users
    kind = db.session.scalars(sa.select(DepartmentKind)).first()
    power, water = (Department(name=name, kind=kind) for name in ("供电所", "自来水公司"))
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    f.EmergencyContactFactory(merchant=issue.merchant, priority=2, name="乙")
    f.EmergencyContactFactory(merchant=issue.merchant, priority=1, name="甲",
                              user=users["specialist"])
    now = utcnow()
    for n, action in enumerate(("registered", "assigned", "escalated")):
        db.session.add(IssueEvent(issue=issue, action=action, actor=users["specialist"],
                                  created_at=now + timedelta(minutes=n)))
    # Recorded later but arrived earlier: the collection's own order (arrived_at) holds.
    late = SiteVisit(issue=issue, level=3, arrived_at=now + timedelta(hours=2),
                     outcome="resolved", departments=[power, water],
                     attendees=[users["specialist"]])
    early = SiteVisit(issue=issue, level=2, arrived_at=now + timedelta(hours=1),
                      outcome="escalate", departments=[power],
                      attendees=[users["specialist"], users["liaison"]])
    db.session.add_all([late, early])
    db.session.commit()
    return issue.id


def _as_selectinload_reads(db, issue_id):
    db.session.expunge_all()
    issue = db.session.scalars(sa.select(Issue).where(Issue.id == issue_id).options(
        selectinload(Issue.events), selectinload(Issue.symposiums),
        selectinload(Issue.site_visits).selectinload(SiteVisit.departments),
        selectinload(Issue.site_visits).selectinload(SiteVisit.attendees),
        selectinload(Issue.merchant).selectinload(Merchant.emergency_contacts))).one()
    return {
        "events": [e.action for e in issue.events],
        "visits": [(v.level, sorted(d.name for d in v.departments),
                    sorted(u.username for u in v.attendees)) for v in issue.site_visits],
        "symposiums": list(issue.symposiums),
        "contacts": [(c.name, c.user.username if c.user else None)
                     for c in issue.merchant.emergency_contacts],
    }


def test_collections_match_what_selectinload_reads_and_nothing_loads_later(app, db, case):
    expected = _as_selectinload_reads(db, case)
    assert expected["visits"] == [(2, ["供电所"], ["liaison", "specialist"]),
                                  (3, ["供电所", "自来水公司"], ["specialist"])]
    assert expected["contacts"] == [("甲", "specialist"), ("乙", None)]

    db.session.expunge_all()
    issue = db.session.get(Issue, case)
    merchant = issue.merchant
    with recorded_sql(app, db) as statements:
        load_collections(([issue], DESK_RECORDS), ([merchant], MERCHANT_RECORDS))
    with recorded_sql(app, db) as later:
        seen = {
            "events": [e.action for e in issue.events],
            "visits": [(v.level, sorted(d.name for d in v.departments),
                        sorted(u.username for u in v.attendees)) for v in issue.site_visits],
            "symposiums": list(issue.symposiums),
            "contacts": [(c.name, c.user.username if c.user else None)
                         for c in merchant.emergency_contacts],
        }
        assert [list(v.photos) for v in issue.site_visits] == [[], []]
        assert issue.callbacks == [] and issue.requests == [] and issue.photos == []
    assert seen == expected
    # Everything was read by load_collections: the users the rows name were already in
    # the session (the fixture's), the contacts' users joined into the contacts' read.
    assert later == []
    # Two questions (which collections have rows, at each level) and one read per
    # collection with rows: events, visits, contacts; the visits' departments, attendees.
    probes = [s for s in statements if s.lstrip().upper().startswith("SELECT EXISTS")]
    assert len(probes) == 2, statements
    assert len(statements) == 2 + 3 + 2, statements
    empty = ("symposium", "callback", "approval_request", "issue_photo", "site_visit_photo")
    for statement in statements:
        if statement not in probes:
            assert not any(f"FROM {table} " in statement or f"FROM {table}\n" in statement
                           for table in empty), statement


def test_nothing_to_load(app, db, case):
    with recorded_sql(app, db) as statements:
        load_collections(([], DESK_RECORDS))
    assert statements == []


def test_desk_shows_both_visits_departments(admin_browser, case):
    page = admin_browser.get(f"/admin/desk/{case}").get_data(as_text=True)
    visits = re.findall(r'<li class="list-group-item desk-visit">(.*?)</li>', page, re.S)
    departments = [re.sub(r"\s+", " ", re.search(r"(?:Departments|部门).*?</div>", visit, re.S)
                          .group(0)) for visit in visits]
    assert len(visits) == 2
    assert "供电所" in departments[0] and "自来水公司" not in departments[0]
    assert "供电所、自来水公司" in departments[1]


def test_what_it_cannot_load_is_refused_not_left_to_lazy_loading(app, db, case):
    issue = db.session.get(Issue, case)
    with pytest.raises(ValueError, match="one key"):
        load_collections(([issue], {Issue.merchant: {}}))  # a many-to-one at the top
    with pytest.raises(ValueError, match="below a many-to-one"):
        load_collections(([issue], {Issue.events: {IssueEvent.actor: {"x": {}}}}))


def test_rows_added_in_the_session_are_seen(app, db, case):
    issue = db.session.get(Issue, case)
    db.session.add(IssueEvent(issue_id=issue.id, action="noted", created_at=utcnow()))
    db.session.expire(issue, ["events"])
    load_collections(([issue], {Issue.events: {}}))
    assert [e.action for e in issue.events][-1] == "noted"
