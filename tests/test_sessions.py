"""Sessions end server-side, remember-me cookies are per login, sign-in leaks nothing,
passwords are not trivial, throttling cannot lock the owner out, ``next`` stays here."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.conftest import Browser, make_app
from tests.factories import TEST_PASSWORD


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _remember_login(browser, username="staff"):
    payload = {"username": username, "password": TEST_PASSWORD, "remember": "y"}
    return browser.submit("/login", payload)


def test_a_saved_session_cookie_is_dead_after_logout(browser, data):
    assert browser.login("staff").status_code == 302
    saved = _cookie(browser.client, "session")
    assert browser.get("/admin/").status_code == 200
    browser.logout()
    browser.client.set_cookie("session", saved)
    response = browser.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_the_sessions_of_other_devices(app, data):
    phone, desk = Browser(app.test_client()), Browser(app.test_client())
    assert phone.login("staff").status_code == 302
    assert desk.login("staff").status_code == 302
    saved = _cookie(phone.client, "session")
    phone.logout()
    assert desk.get("/admin/").status_code == 302
    phone.client.set_cookie("session", saved)
    assert phone.get("/admin/").status_code == 302


def test_remember_me_is_random_per_login_and_dies_with_logout(app, data):
    first, second = Browser(app.test_client()), Browser(app.test_client())
    _remember_login(first)
    _remember_login(second)
    one, two = _cookie(first.client, "remember_token"), _cookie(second.client, "remember_token")
    assert one and two and one != two
    # A remember-me cookie alone signs in again...
    fresh = app.test_client()
    fresh.set_cookie("remember_token", two)
    assert fresh.get("/admin/").status_code == 200
    # ...until the user signs out anywhere.
    first.logout()
    revived = app.test_client()
    revived.set_cookie("remember_token", two)
    assert revived.get("/admin/").status_code == 302


def test_remember_cookie_flags_and_lifetime(tmp_path):
    from email.utils import parsedate_to_datetime

    from circle.extensions import db
    from tests import factories as f
    from tests.conftest import _reset_schema, csrf_token_from

    # An app of its own (the cookie flags are set when it is made), on the test database
    # emptied as every test's is (on PostgreSQL the worker's database is shared).
    app = make_app(tmp_path, SESSION_COOKIE_SECURE=True)
    _reset_schema(app)
    try:
        with app.app_context():
            f.UserFactory(username="staff", role="admin")
            db.session.commit()
            browser = Browser(app.test_client())
            token = browser.client.get("/login", base_url="https://localhost").get_data(
                as_text=True)
            response = browser.client.post(
                "/login", base_url="https://localhost",
                headers={"Referer": "https://localhost/login"},  # checked by CSRF over HTTPS
                data={"username": "staff", "password": TEST_PASSWORD, "remember": "y",
                      "csrf_token": csrf_token_from(token)})
            assert response.status_code == 302
            cookies = [c for c in response.headers.getlist("Set-Cookie")
                       if c.startswith("remember_token=")]
            assert cookies, response.headers.getlist("Set-Cookie")
            cookie = cookies[0]
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
            expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
            assert expires.timestamp() - time.time() <= 30 * 86400 + 60
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_session_expires_after_the_remember_days(app, data, monkeypatch):
    browser = Browser(app.test_client())
    assert _remember_login(browser).status_code == 302
    assert browser.get("/admin/").status_code == 200
    later = time.time() + 31 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    assert browser.get("/admin/").status_code == 302


def test_sign_in_takes_as_long_for_unknown_accounts(app, db, data):
    from circle.accounts.views import authenticate

    # The production method, for the stored hash and the decoy alike (tests use a fast one).
    app.config["CIRCLE_PASSWORD_HASH"] = "scrypt"
    data.users["staff"].set_password("correct-horse-battery-9")
    db.session.commit()

    def median(username):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert authenticate(username, "wrong-password-x") is None
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    with app.test_request_context():
        authenticate("nobody", "x")  # the decoy hash is made once
        known, unknown = median("staff"), median("nobody-at-all")
    assert 0.33 < unknown / known < 3, (known, unknown)


WEAK_PASSWORDS = ["aaaaaaaaaa", " " * 10, "\t" * 12, "1234567890", "qwertyuiop",
                  "password123", "admin12345", "woaini1314", "staffstaff1"]


@pytest.mark.parametrize("password", WEAK_PASSWORDS)
def test_weak_passwords_are_refused_in_chinese(admin_browser, db, data, password):
    from circle.accounts.models import User

    user = data.users["staff"]
    old_hash = user.password_hash
    url = f"/admin/user/edit/?id={user.id}"
    response = admin_browser.submit(url, {
        "username": "staff", "display_name": "测试staff", "phone": "", "role": "staff",
        "community": str(data.community.id), "active": "y", "new_password": password})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "密码" in html
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_password_policy_accepts_a_passphrase():
    from circle.accounts.models import password_problem

    assert password_problem("correct-horse-battery") is None
    assert password_problem("staff-staff-staff", ("staff",)) is not None


def test_a_throttled_account_still_signs_in_from_a_clean_address(browser, data):
    attacker = {"environ_base": {"REMOTE_ADDR": "10.0.0.66"}}
    owner = {"environ_base": {"REMOTE_ADDR": "10.0.0.7"}}
    for _ in range(5):
        browser.submit("/login", {"username": "staff", "password": "wrong-password-x"},
                       **attacker)
    blocked = browser.submit("/login", {"username": "staff", "password": TEST_PASSWORD},
                             **attacker)
    assert blocked.status_code == 429
    signed_in = browser.submit("/login", {"username": "staff", "password": TEST_PASSWORD},
                               **owner)
    assert signed_in.status_code == 302


@pytest.mark.parametrize("target", [
    "//evil.example/", "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
    "/%2fevil.example", "/%2F%2Fevil.example", "/%5cevil.example", "/%5C%5Cevil.example",
    "/\t/evil.example", "/\n/evil.example", "/%09/evil.example", "/%0a/evil.example",
    "/\x00/evil.example", " //evil.example", "https://evil.example/", "http:evil.example",
    "javascript:alert(1)", "evil.example", "/ /evil.example",
])
def test_next_never_leaves_the_site(browser, data, target):
    from circle.i18n import safe_next

    assert safe_next(target, "/admin/") == "/admin/"
    payload = {"username": "staff", "password": TEST_PASSWORD}
    from urllib.parse import quote

    response = browser.submit("/login?next=" + quote(target, safe=""), payload,
                              form_url="/login")
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", ["/admin/", "/admin/issue/?flt0_0=1&sort=2",
                                    "/admin/merchant/?search=%E5%BA%97"])
def test_next_keeps_paths_of_this_site(target):
    from circle.i18n import safe_next

    assert safe_next(target, "/fallback") == target
