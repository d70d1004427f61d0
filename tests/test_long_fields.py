"""Long fields: a long paste is never cut silently — a live counter, and a clear refusal."""

from __future__ import annotations

import re

import sqlalchemy as sa
from markupsafe import escape

from circle.issues.desk_forms import TEXT_MAX
from circle.issues.models import Issue, Status
from circle.issues.register import MAX_DESCRIPTION_LENGTH
from tests.test_desk import act, advance, desk_url, register, text
from tests.test_register import URL, east_shop, form_data, issue_count, liaison  # noqa: F401

PASTE = "长" * 20_000


def refusal(length: int, limit: int) -> str:
    from circle.textlimits import TOO_LONG

    return str(escape(str(TOO_LONG) % {"length": length, "max": limit}))


def test_the_register_form_counts_instead_of_cutting(liaison, db, east_shop):  # noqa: F811
    html = text(liaison.get(URL))
    field = re.search(r"<textarea[^>]*name=\"description\"[^>]*>", html).group(0)
    assert f'data-maxlength="{MAX_DESCRIPTION_LENGTH}"' in field
    assert "maxlength=" not in field.replace("data-maxlength=", "")
    assert "counter.js" in html


def test_a_20000_character_paste_is_refused(app, liaison, db, east_shop):  # noqa: F811
    response = liaison.submit(URL, form_data(db, east_shop, description=PASTE))
    assert response.status_code == 200
    with app.test_request_context():
        assert refusal(20_000, MAX_DESCRIPTION_LENGTH) in text(response)
    assert issue_count(db) == 0


def test_a_desk_note_past_the_limit_changes_nothing(app, browser, db, data):
    issue = advance(db, data, register(db, data), "on_site")
    db.session.commit()
    browser.login("specialist")
    page = text(browser.get(desk_url(issue)))
    assert f'data-maxlength="{TEXT_MAX}"' in page
    response = act(browser, db, issue, "resolve", {"summary": PASTE})
    assert response.status_code == 200
    with app.test_request_context():
        assert refusal(20_000, TEXT_MAX) in text(response)
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Issue).where(Issue.id == issue.id))
    assert stored.status == Status.ON_SITE and stored.resolution_summary == ""
