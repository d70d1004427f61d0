"""Login, logout, deactivation and session invalidation."""

import pytest

from circle.accounts.models import User
from tests.factories import TEST_PASSWORD


def test_anonymous_user_is_sent_to_login(client, data):
    response = client.get("/admin/merchant/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "next=" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/admin/", "/admin/issue/", "/admin/user/", "/admin/issue/new/"])
def test_every_admin_page_needs_login(client, data, url):
    assert client.get(url).status_code == 302


def test_login_page_is_chinese_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html
    assert 'lang="zh-CN"' in html


def test_login_and_logout(browser, data):
    response = browser.login("liaison")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    assert browser.get("/admin/merchant/").status_code == 200
    response = browser.logout()
    assert response.status_code == 302
    assert browser.get("/admin/merchant/").status_code == 302


def test_login_follows_only_local_next(browser, data):
    token = browser.token("/login")
    response = browser.client.post(
        "/login?next=https://evil.example/steal",
        data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/admin/")
    browser.logout()
    token = browser.token("/login")
    response = browser.client.post(
        "/login?next=/admin/merchant/",
        data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/admin/merchant/")


@pytest.mark.parametrize(
    "username,password", [("admin", "wrong-password-1"), ("nobody", TEST_PASSWORD)]
)
def test_failed_login_gives_one_generic_message(browser, data, username, password):
    response = browser.login(username, password)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "用户名或密码错误，或账号已停用" in html
    assert browser.get("/admin/").status_code == 302


def test_login_without_csrf_token_is_refused(client, data):
    response = client.post("/login", data={"username": "admin", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_inactive_user_cannot_log_in(browser, data, db):
    data.users["liaison"].active = False
    db.session.commit()
    response = browser.login("liaison")
    assert response.status_code == 200
    assert browser.get("/admin/").status_code == 302


def test_deactivated_user_is_logged_out_on_next_request(app, browser, data, db):
    browser.login("liaison")
    assert browser.get("/admin/merchant/").status_code == 200
    user = db.session.get(User, data.users["liaison"].id)
    user.active = False
    db.session.commit()
    assert browser.get("/admin/merchant/").status_code == 302


def test_password_change_ends_other_sessions(app, browser, data, db):
    browser.login("staff")
    assert browser.get("/admin/").status_code == 200
    user = db.session.get(User, data.users["staff"].id)
    user.set_password("another-long-password")
    db.session.commit()
    assert browser.get("/admin/").status_code == 302


def test_logout_needs_post(browser, data):
    browser.login("admin")
    assert browser.get("/logout").status_code == 405
    assert browser.get("/admin/").status_code == 200


def test_password_is_stored_hashed(data):
    user = data.users["admin"]
    assert TEST_PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert user.check_password(TEST_PASSWORD)
    assert not user.check_password("nope")


def test_short_password_is_refused(data):
    with pytest.raises(ValueError):
        data.users["admin"].set_password("short")


def test_non_admin_gets_403_on_admin_only_views(browser, data):
    browser.login("liaison")
    response = browser.get("/admin/user/")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)
