"""The admin menu is drawn once per role, language and page (circle/adminmenu.py), and each
user still sees exactly the menu their role gives: what Flask-Admin's own drawing shows."""

import re

import pytest

ROLES = ("admin", "specialist", "liaison", "staff", "leader")
PAGES = ("/admin/", "/admin/issue/", "/admin/merchant/")


def menu(html: str) -> str:
    """The main menu's list, as the page shows it."""
    start = html.index('<ul class="nav navbar-nav mr-auto">')
    return html[start:html.index('<ul class="nav navbar-nav navbar-right">', start)]


def entries(html: str) -> list[str]:
    return re.findall(r'href="(/admin/[^"]*)"', menu(html))


def stock_menu(app, browser, path: str) -> str:
    """The same page with the cache emptied before every draw: Flask-Admin's own menu."""
    admin = app.extensions["admin"][0]
    admin.__dict__.pop("_circle_menu_cache", None)
    html = browser.get(path).get_data(as_text=True)
    admin.__dict__.pop("_circle_menu_cache", None)
    return menu(html)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_own_menu_from_the_cache(app, browser, data, role):
    seen = {}
    for other in ROLES:  # every role's menu cached first, on every page
        browser.login(other)
        for path in PAGES:
            answer = browser.get(path)
            if answer.status_code == 200:
                seen[other, path] = menu(answer.get_data(as_text=True))
        browser.logout()
    browser.login(role)
    for path in PAGES:
        answer = browser.get(path)
        if answer.status_code != 200:
            continue
        cached = menu(answer.get_data(as_text=True))
        assert cached == seen[role, path] == stock_menu(app, browser, path)
    # The active entry follows the page, from the cache too.
    home = browser.get("/admin/").get_data(as_text=True)
    assert '<li class="active">' in menu(home)


def test_roles_menus_differ_and_never_leak(app, browser, data):
    browser.login("admin")
    admin_entries = entries(browser.get("/admin/").get_data(as_text=True))
    browser.logout()
    browser.login("liaison")
    liaison_entries = entries(browser.get("/admin/").get_data(as_text=True))
    assert "/admin/user/" in admin_entries and "/admin/user/" not in liaison_entries
    assert set(liaison_entries) < set(admin_entries)


def test_the_menu_speaks_the_users_language(app, browser, data):
    browser.login("admin")
    chinese = menu(browser.get("/admin/").get_data(as_text=True))
    browser.submit("/lang/en", {"next": "/admin/"}, form_url="/admin/")
    english = menu(browser.get("/admin/").get_data(as_text=True))
    assert "商户" in chinese and "Merchants" not in chinese
    assert "Merchants" in english and "商户" not in english
