"""The desk's flow: the next step first, no address that 405s, and the 重办 mark."""

from __future__ import annotations

import re

import pytest
from flask_babel import lazy_gettext as _l

from circle.issues.desk_forms import ACTION_FORMS
from circle.issues.steps import NEXT_ACTIONS, STEPS, next_actions
from tests.test_desk import act as post_action
from tests.test_desk import advance, desk_url, flashed, register, text


def action_order(html: str) -> list[str]:
    return re.findall(r'data-action="([a-z_0-9]+)"', html)


def open_actions(html: str) -> set[str]:
    return set(re.findall(r'data-action="([a-z_0-9]+)" open', html))


@pytest.mark.parametrize("action", list(ACTION_FORMS))
def test_get_of_every_action_address_opens_the_desk(admin_browser, db, data, action):
    issue = register(db, data)
    response = admin_browser.get(f"{desk_url(issue)}/{action}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(desk_url(issue))
    assert admin_browser.get(response.headers["Location"]).status_code == 200


def test_get_of_an_unknown_action_or_issue_is_not_found(admin_browser, db, data):
    issue = register(db, data)
    assert admin_browser.get(f"{desk_url(issue)}/no_such_action").status_code == 404
    assert admin_browser.get("/admin/desk/999999/escalate").status_code == 404


def test_a_form_error_puts_the_desk_address_back(app, browser, db, data):
    issue = advance(db, data, register(db, data), "on_site")
    db.session.commit()
    browser.login("specialist")
    response = post_action(browser, db, issue, "resolve", {"summary": ""})
    html = text(response)
    assert response.status_code == 200
    assert f'data-replace-url="{desk_url(issue)}"' in html
    # The form comes back open; the page without an error carries no such address.
    assert "resolve" in open_actions(html)
    assert "data-replace-url" not in text(browser.get(desk_url(issue)))


def test_after_signing_for_the_next_steps_come_first(browser, db, data):
    issue = advance(db, data, register(db, data), "dispatched")
    db.session.commit()
    browser.login("specialist")
    html = text(browser.get(desk_url(issue)))
    order = action_order(html)
    assert order[:2] == ["first_contact", "visit"]
    assert "accept" in order[2:]
    assert open_actions(html) == {"first_contact", "visit"}
    assert flashed(browser.client.application, _l("Other actions")) in html


def test_a_registered_issue_offers_escalation_first_to_the_liaison(browser, db, data):
    issue = register(db, data, actor=data.users["liaison"])
    db.session.commit()
    browser.login("liaison")
    order = action_order(text(browser.get(desk_url(issue))))
    assert order[0] in ("escalate", "resolve_level1")
    assert set(order[:2]) == {"escalate", "resolve_level1"}


def test_next_actions_are_declared_for_statuses_they_can_start_from():
    for status, actions in NEXT_ACTIONS.items():
        for action in actions:
            assert any(status in s.sources for s in STEPS.values() if s.action == action)
    assert next_actions("dispatched", {"accept", "visit", "hold"}) == ["visit"]
    assert next_actions("escalated", {"accept", "hold"}) == ["accept"]


def test_a_rehandled_issue_carries_the_mark_everywhere(app, admin_browser, db, data):
    issue = advance(db, data, register(db, data), "dispatched")
    issue.rehandle_count = 2
    issue.resolution_summary = "更换空开（第一次）"
    db.session.commit()
    mark = flashed(app, _l("Re-handled")) + " ×2"
    desk = text(admin_browser.get(desk_url(issue)))
    assert mark in desk
    assert flashed(app, _l("Superseded by the re-handling")) in desk
    assert "<del>更换空开（第一次）</del>" in desk
    assert mark in text(admin_browser.get("/admin/issue/"))
    assert mark in text(admin_browser.get("/admin/dispatch/"))


def test_a_fresh_resolution_after_rehandling_is_current(app, admin_browser, db, data):
    issue = advance(db, data, register(db, data), "resolved")
    issue.rehandle_count = 1
    db.session.commit()
    desk = text(admin_browser.get(desk_url(issue)))
    assert flashed(app, _l("Superseded by the re-handling")) not in desk
    assert "<del>" not in desk
