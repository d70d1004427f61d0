"""The desk in Chromium: a refused form keeps the desk's address and the whole paste."""

from __future__ import annotations

import sqlalchemy as sa

from circle.accounts.models import User
from circle.extensions import db
from circle.issues.models import Issue, Status
from circle.org.models import BusinessCircle

WORKING = (Status.DISPATCHED, Status.ON_SITE, Status.ESCALATED)


def an_issue_of(app, username: str) -> int | None:
    """A demo issue the user's community is working on."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        return db.session.scalar(
            sa.select(Issue.id).join(BusinessCircle, Issue.circle_id == BusinessCircle.id)
            .where(BusinessCircle.community_id == user.community_id,
                   Issue.status.in_(WORKING)).order_by(Issue.id).limit(1))


def test_a_long_paste_is_counted_refused_and_the_address_stays_the_desk(open_session,
                                                                          live_server):
    app, _base = live_server
    issue_id = an_issue_of(app, "zhuanyuan")
    assert issue_id, "the demo has a working issue in the specialist's community"
    s = open_session("specialist")
    s.login("zhuanyuan")
    s.goto(f"/admin/desk/{issue_id}")
    details = s.page.locator("details#action-hold")
    details.locator("summary").click()
    field = details.locator("textarea[name=reason]")
    field.fill("长" * 20_000)
    counter = details.locator(".text-counter")
    assert counter.inner_text().replace(" ", "") == "20000/4000"
    details.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    # The refusal is shown on the desk, at the desk's own address, with every character kept.
    assert s.page.url.split("#")[0].endswith(f"/admin/desk/{issue_id}"), s.page.url
    again = s.page.locator("details#action-hold textarea[name=reason]")
    assert len(again.input_value()) == 20_000
    assert s.page.locator("details#action-hold .invalid-feedback").count() >= 1
    s.assert_clean("desk after the refusal")
    s.page.reload()
    s.page.wait_for_load_state("networkidle")
    assert s.page.url.split("#")[0].endswith(f"/admin/desk/{issue_id}")
    s.assert_clean("desk reloaded")
