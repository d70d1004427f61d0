"""Security headers, login throttling, CSRF, inert HTML, and no inline script."""

import re

import pytest

from tests import factories as f
from tests.conftest import make_app


def test_security_headers_on_every_page(client, data):
    for url in ("/login", "/admin/"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_session_cookie_flags(browser, data):
    response = browser.login("admin")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # only when SESSION_COOKIE_SECURE is configured


def test_secure_cookie_and_https_when_configured(tmp_path):
    app = make_app(tmp_path, SESSION_COOKIE_SECURE=True)
    from circle.extensions import db

    with app.app_context():
        db.create_all()
    client = app.test_client()
    response = client.get("/login", base_url="https://localhost")
    assert "Strict-Transport-Security" in response.headers
    assert client.get("/login").status_code == 302  # plain HTTP is sent to HTTPS
    with app.app_context():
        db.engine.dispose()


ADMIN_PAGES = ["/admin/", "/admin/issue/", "/admin/merchant/", "/admin/merchant/new/",
               "/admin/user/", "/admin/issue/?flt0_0=1", "/admin/register/",
               "/admin/dispatch/", "/admin/callbacks/", "/admin/audit/", "/admin/sla_policy/"]


def test_pages_have_no_inline_handlers_and_scripts_carry_the_nonce(admin_browser, db, data):
    f.MerchantFactory(circle=data.east)
    db.session.commit()
    for url in ADMIN_PAGES:
        response = admin_browser.get(url)
        html = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert "javascript:" not in html.replace("javascript:void(0)", ""), url
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert f'nonce="{nonce}"' in tag, (url, tag)


XSS = "<script>alert(1)</script>"  # fits the shortest text columns (50 characters)
XSS_IMG = '<img src=x onerror=alert(1)><script>alert("x")</script>'


def test_stored_html_renders_as_text_everywhere(admin_browser, db, data):
    from tests.steps import wf

    merchant = f.MerchantFactory(circle=data.east, shop_name=XSS, owner_name=XSS)
    f.EmergencyContactFactory(merchant=merchant, name=XSS, relation=XSS)
    db.session.commit()
    issue = f.IssueFactory(merchant=merchant, description=XSS_IMG)
    db.session.commit()
    wf.escalate_to_community(issue, data.users["admin"], note=XSS,
                             expected_version=issue.version)
    for url in ("/admin/merchant/", f"/admin/merchant/details/?id={merchant.id}",
                "/admin/issue/", f"/admin/issue/details/?id={issue.id}",
                f"/admin/desk/{issue.id}", "/admin/dispatch/", "/admin/issue_event/"):
        html = admin_browser.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert" in html, url


def test_login_is_throttled_per_account(browser, data):
    for _ in range(5):
        assert browser.login("staff", "wrong-password-x").status_code == 200
    response = browser.login("staff", "wrong-password-x")
    assert response.status_code == 429
    assert "尝试次数过多" in response.get_data(as_text=True)
    # Even the right password waits now: the account is being guessed at.
    assert browser.login("staff").status_code == 429
    # Another account from the same address is not locked by it.
    assert browser.login("admin").status_code == 302


def test_login_is_throttled_per_address(tmp_path):
    app = make_app(tmp_path, CIRCLE_LOGIN_LIMIT_PER_IP="3 per minute",
                   CIRCLE_LOGIN_LIMIT_PER_ACCOUNT="100 per minute")
    from circle.extensions import db
    from tests.conftest import Browser

    with app.app_context():
        db.create_all()
    browser = Browser(app.test_client())
    codes = [browser.login(f"user{n}", "wrong-password-x").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    with app.app_context():
        db.engine.dispose()


def test_successful_logins_do_not_count(browser, data):
    for _ in range(8):
        assert browser.login("staff").status_code == 302
        browser.logout()


@pytest.mark.parametrize("url,payload", [
    ("/admin/merchant/new/", {"shop_name": "x"}),
    ("/admin/merchant/delete/", {"id": "1"}),
    ("/admin/merchant/action/", {"action": "delete", "rowid": "1"}),
    ("/logout", {}),
    ("/lang/en", {}),
])
def test_state_changing_requests_need_csrf(admin_browser, db, data, url, payload):
    f.MerchantFactory(circle=data.east)
    db.session.commit()
    assert admin_browser.client.post(url, data=payload).status_code == 400


def _redis_available() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_workers_share_login_counts_through_redis(tmp_path):
    """Two app processes (workers) behind one login page count failures together."""
    import os
    import uuid

    if not _redis_available():
        if os.environ.get("CI"):
            pytest.fail("Redis must be running on 127.0.0.1:6379 in CI")
        pytest.skip("no Redis on 127.0.0.1:6379 (start it with: redis-server --daemonize yes)")
    from circle.extensions import db
    from tests.conftest import Browser

    uri = "redis://127.0.0.1:6379/15"
    user = f"nobody-{uuid.uuid4().hex[:8]}"  # fresh counters for this run
    browsers = []
    for n in range(2):
        app = make_app(tmp_path / str(n), RATELIMIT_STORAGE_URI=uri,
                       CIRCLE_LOGIN_LIMIT_PER_ACCOUNT="3 per minute",
                       CIRCLE_LOGIN_LIMIT_PER_IP="100 per minute")
        (tmp_path / str(n)).mkdir(exist_ok=True)
        with app.app_context():
            db.create_all()
        browsers.append((app, Browser(app.test_client())))
    codes = []
    for attempt in range(4):
        app, browser = browsers[attempt % 2]
        with app.app_context():
            codes.append(browser.login(user, "wrong-password-x").status_code)
    assert codes == [200, 200, 200, 429]
    for app, _ in browsers:
        with app.app_context():
            db.engine.dispose()
