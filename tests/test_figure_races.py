"""PostgreSQL races between transactions that change the same community's figures: a
circle moved while its issues change, a community row deleted while another transaction
waits on it. Each test holds the first transaction's locks (its before-commit recount run,
not committed), starts the second, lets it block, then commits the first."""
import threading
import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from circle.issues.models import Issue, IssueCategory, IssueSource
from circle.org.models import BusinessCircle
from circle.reports import figures as fig
from tests import factories as f
from tests.test_figures import (
    _register,
    counted,
    counted_by_category,
    stored,
    stored_by_category,
    stored_by_community,
    summed_by_community,
)

MOMENT = datetime(2026, 5, 5, 3, 0, tzinfo=timezone.utc)


def _registers(merchant_id, circle_id):
    """A change that registers an issue of the merchant in the circle at MOMENT."""
    def change(session):
        category_id = session.scalars(sa.select(IssueCategory.id)).first()
        source_id = session.scalars(sa.select(IssueSource.id)).first()
        session.add(Issue(merchant_id=merchant_id, circle_id=circle_id,
                          category_id=category_id, source_id=source_id,
                          description="跳闸", severity="small", reported_at=MOMENT))
    return change


def _first_holds_locks(app, db, change):
    """T1: make ``change``, flush, run the before-commit recount (locks held), return
    the still-open session."""
    ctx = app.app_context()
    ctx.push()
    session = Session(db.engine)
    change(session)
    session.flush()
    fig._recount(session)
    return ctx, session


def _in_thread(app, db, change, errors):
    """A thread committing ``change(session)`` in a session of its own (errors kept)."""
    def run():
        try:
            with app.app_context(), Session(db.engine) as session:
                change(session)
                session.commit()
        except Exception as exc:  # reported in the test's thread
            errors.append(exc)
    return threading.Thread(target=run)


def _race(app, db, first, second):
    """``first`` holds its recount's locks; ``second`` starts and blocks on them; then
    ``first`` commits and ``second`` finishes. Both must succeed and every figure agree."""
    ctx, s1 = _first_holds_locks(app, db, first)
    errors = []
    t2 = _in_thread(app, db, second, errors)
    t2.start()
    time.sleep(2)  # T2 is now waiting on a lock T1 holds
    s1.commit()
    s1.close()
    ctx.pop()
    t2.join(30)
    assert not errors
    _check(db)


def _check(db):
    db.session.expire_all()
    db.session.commit()
    assert stored(db) == counted(db)
    assert stored_by_community(db) == summed_by_community(db)
    assert stored_by_category(db) == counted_by_category(db)


@pytest.fixture
def pg(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")


def test_a_community_row_deleted_while_another_transaction_waits_on_it(pg, app, db, data):
    """T1 transfers the community's only issue of the day to another community (its
    community row drops to zero and is deleted); T2 registers in another circle of the
    same community on that day and waits on T1's lock: it must write the row again, not
    update nothing."""
    other = f.CommunityFactory(name="第二社区")
    far = f.CircleFactory(community=other, name="远处")
    issue = _register(data, data.users["admin"], data.east, now=MOMENT)
    merchant = f.MerchantFactory(circle=data.west)
    db.session.commit()
    ids = dict(issue=issue.id, far=far.id, west=data.west.id, merchant=merchant.id)
    assert data.east.community_id == data.west.community_id

    def transfer(session):
        session.get(Issue, ids["issue"]).circle_id = ids["far"]

    _race(app, db, transfer, _registers(ids["merchant"], ids["west"]))


def test_circle_moved_while_an_issue_of_it_is_registered(pg, app, db, data):
    """T1 moves circle west to another community; T2 registers in west on a day west
    already has counts on: the new community's row must get T2's issue."""
    other = f.CommunityFactory(name="第二社区")
    _register(data, data.users["admin"], data.west, now=MOMENT)
    merchant = f.MerchantFactory(circle=data.west)
    db.session.commit()
    ids = dict(west=data.west.id, other=other.id, merchant=merchant.id)

    def move(session):
        session.get(BusinessCircle, ids["west"]).community_id = ids["other"]

    _race(app, db, move, _registers(ids["merchant"], ids["west"]))


def test_circle_moved_while_an_issue_of_it_changes(pg, app, db, data):
    """T1 moves circle west to another community; T2 withdraws an existing issue of west
    (an UPDATE that leaves issue.circle_id alone takes no lock on the circle row). Read
    plainly, west's community would be the old one until T1 commits, and the new
    community's row and categories would miss T2's change (found in review)."""
    other = f.CommunityFactory(name="第二社区")
    issue = _register(data, data.users["admin"], data.west, now=MOMENT)
    db.session.commit()
    ids = dict(west=data.west.id, other=other.id, issue=issue.id)

    def move(session):
        session.get(BusinessCircle, ids["west"]).community_id = ids["other"]

    def withdraw(session):
        session.get(Issue, ids["issue"]).status = "withdrawn"

    _race(app, db, move, withdraw)
