"""Every admin list with rows in it: its page, each sort both ways and page 2, as every role.

tests/test_hostile_walk.py walks every route with hostile values, but in its data some lists
are empty, and a list goes wrong where it reads rows (a view's own loader options fought the
list's once a delivery existed, issue #19). This walk is generic like that one: it reads the
list views from the app's Flask-Admin views, makes sure each has rows (the demo, plus what
the demo leaves empty), and opens each as the administrator and as every other role that
may open it.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for
from flask_admin.model import BaseModelView
from flask_login import login_user

from circle.demo import DEMO_COMMUNITY, DEMO_PASSWORD, seed_demo
from circle.models import Community, Issue, User
from tests.conftest import Browser

#: A demo account of each role besides the administrator's.
OTHER_ROLES = ["zhuanyuan", "lianluo1", "huifang", "lingdao"]

_HREF = re.compile(r'href="([^"]+)"')


def list_views(app) -> list:
    """Every model list the app's admin registers."""
    return [view for admin in app.extensions["admin"] for view in admin._views
            if isinstance(view, BaseModelView)]


def rows_on(html: str) -> int:
    """How many rows the page's list draws (not counting its "no items" row)."""
    table = html.split("model-list", 1)[1].split("</table>", 1)[0]
    body = table.split("</thead>", 1)[1]
    return body.count("<tr>") - body.count('<td colspan="999">')


def links_to_page(html: str, path: str, page: int) -> bool:
    """Whether the page links to page ``page`` (counted from 0) of the list at ``path``."""
    return any(urlsplit(unescape(href)).path == path
               and parse_qs(urlsplit(unescape(href)).query).get("page") == [str(page)]
               for href in _HREF.findall(html))


def fill_what_the_demo_leaves_empty() -> None:
    """A WeCom robot for the demo community, an API token, and a notice about a demo issue
    delivered to the robot and by e-mail: the demo has no robot, token or delivery."""
    from circle.api.tokens import issue_token
    from circle.extensions import db
    from circle.notify.models import Preference, WecomWebhook
    from circle.notify.outbox import write_notice
    from circle.notify.rules import Kind
    from circle.timeutil import utcnow

    community = db.session.scalar(sa.select(Community).where(
        Community.name == DEMO_COMMUNITY))
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    specialist = db.session.scalar(sa.select(User).where(User.username == "zhuanyuan"))
    db.session.add(WecomWebhook(
        community=community, url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=demo"))
    db.session.add(Preference(user=specialist, email="zhuanyuan@example.org",
                              email_enabled=True))
    issue_token(name="12345平台", community=community, created_by=admin)
    db.session.flush()
    issue = db.session.scalar(sa.select(Issue).join(Issue.circle).where(
        Issue.circle.has(community_id=community.id)).order_by(Issue.id).limit(1))
    write_notice(db.session.connection(), key=f"walk:{issue.id}", kind=Kind.NEW_ISSUE,
                 issue=issue, people=[specialist.id], now=utcnow())
    db.session.commit()


@pytest.fixture
def demo(db):
    seed_demo()
    fill_what_the_demo_leaves_empty()


class ListWalk:
    """One account's walk of the lists it may open; what went wrong, in ``failures``."""

    def __init__(self, app, browser: Browser, user: User):
        self.app, self.browser, self.user = app, browser, user
        self.failures, self.empty, self.paged = [], [], []

    def reachable(self) -> list:
        """The list views this account may open, with each one's address."""
        views = []
        with self.app.test_request_context():
            login_user(self.user)
            for view in list_views(self.app):
                if view.is_accessible():
                    views.append((view, url_for(f"{view.endpoint}.index_view")))
        return views

    def open(self, url: str, query: str = "") -> str | None:
        """The list page's HTML, or ``None`` (and a failure) if it has no rows."""
        response = self.browser.get(url + query)
        if response.status_code != 200:
            self.failures.append((url + query, response.status_code))
            return None
        html = response.get_data(as_text=True)
        if rows_on(html) == 0:
            self.failures.append((url + query, "no rows drawn"))
            return None
        return html

    def walk(self) -> None:
        for view, url in self.reachable():
            # The smallest page size offered, so that more lists have a page 2.
            size = min(view.page_size_options) if view.can_set_page_size else view.page_size
            paging = f"?page_size={size}" if view.can_set_page_size else "?"
            html = self.open(url, paging)
            if html is None:
                self.empty.append(view.endpoint)
                continue
            for index, (name, _label) in enumerate(view._list_columns):
                if name in view._sortable_columns:
                    self.open(url, f"{paging}&sort={index}")
                    self.open(url, f"{paging}&sort={index}&desc=1")
            if links_to_page(html, url, 1):
                self.paged.append(view.endpoint)
                self.open(url, f"{paging}&page=1")


def _walk(app, client, username):
    browser = Browser(client)
    assert browser.login(username, DEMO_PASSWORD).status_code == 302
    user = app.extensions["sqlalchemy"].session.scalar(
        sa.select(User).where(User.username == username))
    walk = ListWalk(app, browser, user)
    walk.walk()
    return walk


def test_every_list_has_rows_and_draws_them_sorted_and_paged(app, client, demo):
    walk = _walk(app, client, "admin")
    reachable = {view.endpoint for view, _url in walk.reachable()}
    # The administrator opens every list: each must have rows in this data.
    assert reachable == {view.endpoint for view in list_views(app)}
    assert not walk.empty, (
        f"lists without a row in the walk's data: {', '.join(walk.empty)} — give them rows "
        "in fill_what_the_demo_leaves_empty")
    assert not walk.failures, walk.failures
    # Long enough lists were paged through (the demo has more than a page of these).
    assert {"issue", "merchant", "issue_event"} <= set(walk.paged)


@pytest.mark.parametrize("username", OTHER_ROLES)
def test_each_role_sees_rows_in_the_lists_it_may_open(app, client, demo, username):
    walk = _walk(app, client, username)
    assert walk.reachable(), f"{username} may open no list"
    assert not walk.failures, walk.failures
