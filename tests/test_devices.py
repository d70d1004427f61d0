"""Signed-in devices: a random token per sign-in, kept as a hash, listed and signed out by
the user (我的登录设备) or by an administrator; a password change signs out all."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from circle.accounts.models import LoginDevice
from tests.conftest import Browser, csrf_token_from
from tests.factories import TEST_PASSWORD

PHONE = ("Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/116.0 Mobile Safari/537.36 wxwork/4.1.20")
DESKTOP = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0 Safari/537.36")


def _signed_in(app, username="staff", remember=True, agent=PHONE):
    browser = Browser(app.test_client())
    payload = {"username": username, "password": TEST_PASSWORD}
    if remember:
        payload["remember"] = "y"
    response = browser.submit("/login", payload, headers={"User-Agent": agent})
    assert response.status_code == 302
    return browser


def _devices(db, user) -> list[LoginDevice]:
    db.session.expire_all()
    return db.session.scalars(sa.select(LoginDevice).where(LoginDevice.user_id == user.id)
                              .order_by(LoginDevice.id)).all()


def _post(browser, url, page="/admin/devices/"):
    token = csrf_token_from(browser.get(page).get_data(as_text=True))
    return browser.client.post(url, data={"csrf_token": token})


def test_each_sign_in_is_a_device_stored_by_the_hash_of_its_token(app, db, data):
    browser = _signed_in(app)
    _signed_in(app)
    devices = _devices(db, data.users["staff"])
    assert len(devices) == 2 and devices[0].token_hash != devices[1].token_hash
    remember = unquote(browser.client.get_cookie("remember_token").value)
    token = remember.split("|")[0].split(":")[2]
    assert hashlib.sha256(token.encode()).hexdigest() == devices[0].token_hash
    assert token not in {d.token_hash for d in devices}
    assert devices[0].user_agent == PHONE


def test_my_devices_page_lists_them_in_chinese(app, db, data):
    browser = _signed_in(app)
    _signed_in(app, agent=DESKTOP)
    html = browser.get("/admin/devices/").get_data(as_text=True)
    assert "我的登录设备" in html and "本设备" in html
    assert "企业微信 · 安卓手机" in html and "Chrome · Windows 电脑" in html
    assert "Mozilla" not in html
    assert "Sign out" not in html and "My devices" not in html


def test_signing_out_another_device_ends_its_cookies(app, db, data):
    mine, other = _signed_in(app), _signed_in(app, agent="Lost phone")
    lost = next(d for d in _devices(db, data.users["staff"]) if d.user_agent == "Lost phone")
    assert _post(mine, f"/admin/devices/{lost.id}/sign-out").status_code == 302
    assert other.get("/admin/").status_code == 302
    remembered = app.test_client()
    remembered.set_cookie("remember_token", other.client.get_cookie("remember_token").value)
    assert remembered.get("/admin/").status_code == 302
    assert mine.get("/admin/").status_code == 200


def test_sign_out_all_other_devices_keeps_this_one(app, db, data):
    mine, others = _signed_in(app), [_signed_in(app), _signed_in(app)]
    user = data.users["staff"]
    assert _post(mine, f"/admin/devices/user/{user.id}/sign-out-all").status_code == 302
    assert [b.get("/admin/").status_code for b in others] == [302, 302]
    assert mine.get("/admin/").status_code == 200
    assert len([d for d in _devices(db, user) if d.revoked_at is None]) == 1


def test_nobody_signs_out_someone_elses_device_but_an_administrator(app, db, data):
    staff = _signed_in(app)
    liaison = _signed_in(app, "liaison")
    device = _devices(db, data.users["staff"])[0]
    assert _post(liaison, f"/admin/devices/{device.id}/sign-out").status_code == 403
    assert liaison.get(f"/admin/devices/user/{data.users['staff'].id}").status_code == 403
    assert staff.get("/admin/").status_code == 200
    admin = _signed_in(app, "admin")
    page = admin.get(f"/admin/devices/user/{data.users['staff'].id}").get_data(as_text=True)
    assert "企业微信 · 安卓手机" in page
    response = _post(admin, f"/admin/devices/user/{data.users['staff'].id}/sign-out-all")
    assert response.status_code == 302
    assert staff.get("/admin/").status_code == 302
    assert admin.get("/admin/").status_code == 200


def test_the_device_in_use_is_signed_out_by_logout_not_by_the_list(app, db, data):
    browser = _signed_in(app)
    device = _devices(db, data.users["staff"])[0]
    response = _post(browser, f"/admin/devices/{device.id}/sign-out")
    assert response.status_code == 302
    assert "要让正在使用的设备退出登录" in browser.get("/admin/devices/").get_data(as_text=True)
    assert _devices(db, data.users["staff"])[0].revoked_at is None


def test_a_device_of_nobody_is_a_404(app, db, data):
    browser = _signed_in(app)
    assert _post(browser, "/admin/devices/999999/sign-out").status_code == 404
    assert _post(browser, "/admin/devices/99999999999999999999/sign-out").status_code == 404


def test_a_password_change_signs_out_every_device(app, db, data):
    phone, desk = _signed_in(app), _signed_in(app)
    user = data.users["staff"]
    user.set_password("a-new-and-long-passphrase")
    db.session.commit()
    assert phone.get("/admin/").status_code == 302 and desk.get("/admin/").status_code == 302
    assert all(d.revoked_at is not None for d in _devices(db, user))


def test_the_user_list_links_each_user_to_their_devices(app, db, data):
    admin = _signed_in(app, "admin")
    html = admin.get("/admin/user/").get_data(as_text=True)
    assert f'href="/admin/devices/user/{data.users["staff"].id}"' in html
    assert "登录设备" in html


@pytest.mark.parametrize("agent,label", [
    ("Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/116.0 Mobile Safari/537.36 wxwork/4.1.20 MicroMessenger/7.0.1", "企业微信 · 安卓手机"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44", "微信 · iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0 Safari/537.36 Edg/120.0", "Edge · Windows 电脑"),
    ("Werkzeug/3.1.9", "未知浏览器"),
    ("", "未知浏览器"),
])
def test_a_device_is_named_as_people_name_it(app, agent, label):
    from circle.accounts.models import describe_user_agent

    with app.test_request_context():
        assert describe_user_agent(agent) == label
