"""The same registration POST sent 20 times at once (a network retry storm) makes one issue:
a unique index on the form's one-time key decides, not a lock in one process. Runs against
a real threaded server on whichever database the suite runs on (SQLite or PostgreSQL)."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from circle.extensions import db
from circle.issues.models import Issue, IssueCategory, IssueSource
from circle.reference import install_reference_data
from circle.selfreport.links import issue_report_link
from tests import factories as f
from tests.conftest import _reset_schema, make_app, make_people

TIMES = 20
_INPUT = r'name="{}"[^>]*value="([^"]+)"'


def _value(html: str, name: str) -> str:
    return re.search(_INPUT.format(name), html).group(1)


@pytest.fixture
def server(tmp_path):
    app = make_app(tmp_path, CIRCLE_SELF_REPORT_LIMIT_PER_LINK="1000 per minute",
                   CIRCLE_SELF_REPORT_LIMIT_PER_IP="1000 per minute")
    _reset_schema(app)
    with app.app_context():
        install_reference_data(holidays=False)
        community = f.CommunityFactory(name="恒大社区")
        east = f.CircleFactory(name="东街商圈", community=community)
        make_people(community, east)
        merchant = f.MerchantFactory(circle=east)
        token = issue_report_link(merchant)
        db.session.commit()
        ids = {"merchant": merchant.id, "token": token,
               "category": db.session.scalars(sa.select(IssueCategory.id)).first(),
               "source": db.session.scalars(sa.select(IssueSource.id).where(
                   ~IssueSource.is_hotline)).first()}
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{http.server_port}", ids
    http.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _count(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Issue))
        db.session.remove()
        return count


def _storm(url: str, cookies, payload: dict) -> list[requests.Response]:
    """The same POST, ``TIMES`` times at once (released together by a barrier)."""
    barrier = threading.Barrier(TIMES)

    def send(_):
        with requests.Session() as session:
            session.cookies.update(cookies)
            barrier.wait()
            return session.post(url, data=payload, allow_redirects=False, timeout=60)

    with ThreadPoolExecutor(TIMES) as pool:
        return list(pool.map(send, range(TIMES)))


def test_liaison_form_posted_20_times_at_once_makes_one_issue(server):
    app, base, ids = server
    browser = requests.Session()
    page = browser.get(base + "/login").text
    browser.post(base + "/login", data={"username": "liaison", "password": f.TEST_PASSWORD,
                                        "csrf_token": _value(page, "csrf_token")})
    form = browser.get(base + "/admin/register/").text
    payload = {"csrf_token": _value(form, "csrf_token"),
               "registration_key": _value(form, "registration_key"),
               "merchant": ids["merchant"], "severity": "small", "category": ids["category"],
               "source": ids["source"], "work_order_no": "", "description": "门店跳闸"}
    responses = _storm(base + "/admin/register/", browser.cookies, payload)
    assert [r.status_code for r in responses] == [302] * TIMES
    assert len({r.headers["Location"] for r in responses}) == 1
    assert _count(app) == 1


def test_qr_report_posted_20_times_at_once_makes_one_issue(server):
    app, base, ids = server
    browser = requests.Session()
    page = browser.get(f"{base}/r/{ids['token']}").text
    payload = {"csrf_token": _value(page, "csrf_token"),
               "registration_key": _value(page, "registration_key"),
               "category": ids["category"], "severity": "big", "description": "冷柜断电"}
    responses = _storm(f"{base}/r/{ids['token']}", browser.cookies, payload)
    assert [r.status_code for r in responses] == [302] * TIMES
    assert len({r.headers["Location"] for r in responses}) == 1
    assert _count(app) == 1
