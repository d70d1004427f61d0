"""Optimistic locking on every admin edit form: of two people editing one row, the second
save is refused with a message instead of silently overwriting the first."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from markupsafe import escape

from circle.adminkit import EDIT_CONFLICT, CircleModelView
from circle.issues.models import Issue
from circle.merchants.models import Merchant
from tests import factories as f
from tests.conftest import Browser, csrf_token_from
from tests.test_crud import merchant_form


def signed_in(app, username: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def open_form(browser: Browser, url: str) -> dict:
    """What the page gave this person: its CSRF token and the row version."""
    html = browser.get(url).get_data(as_text=True)
    version = re.search(r'name="row_version"[^>]*value="(\d+)"', html)
    assert version, "the edit form carries no row version"
    return {"csrf_token": csrf_token_from(html), "row_version": version.group(1)}


def conflict_text(app) -> str:
    with app.test_request_context():
        return str(escape(str(EDIT_CONFLICT)))


def test_two_people_editing_one_merchant(app, db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="原来的店名")
    db.session.commit()
    url = f"/admin/merchant/edit/?id={merchant.id}"
    first, second = signed_in(app, "admin"), signed_in(app, "specialist")
    first_page, second_page = open_form(first, url), open_form(second, url)
    saved = second.client.post(url, data={**merchant_form(data, shop_name="第二个人的店名"),
                                          **second_page})
    assert saved.status_code == 302
    refused = first.client.post(url, data={**merchant_form(data, shop_name="第一个人的店名"),
                                           **first_page})
    assert refused.status_code == 200
    assert conflict_text(app) in refused.get_data(as_text=True)
    # What the first person typed stays in the form, to copy from.
    assert "第一个人的店名" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Merchant, merchant.id).shop_name == "第二个人的店名"


def test_two_people_editing_one_issue(app, db, data):
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east), description="旧描述")
    db.session.commit()
    url = f"/admin/issue/edit/?id={issue.id}"
    first, second = signed_in(app, "admin"), signed_in(app, "specialist")
    first_page, second_page = open_form(first, url), open_form(second, url)
    form = {"category": str(issue.category_id), "source": str(issue.source_id),
            "work_order_no": ""}
    assert second.client.post(url, data={**form, "description": "第二个人",
                                         **second_page}).status_code == 302
    refused = first.client.post(url, data={**form, "description": "第一个人", **first_page})
    assert conflict_text(app) in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).description == "第二个人"


def test_a_save_without_a_conflict_goes_through_and_bumps_the_version(app, db, data):
    merchant = f.MerchantFactory(circle=data.east)
    db.session.commit()
    before = merchant.version
    url = f"/admin/merchant/edit/?id={merchant.id}"
    admin = signed_in(app, "admin")
    page = open_form(admin, url)
    response = admin.client.post(url, data={**merchant_form(data, shop_name="新店名"), **page})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Merchant, merchant.id).version == before + 1


@pytest.mark.parametrize("row_version", ["", "abc", "0", "-1", "99999999999999999999"])
def test_a_missing_or_bad_version_is_refused_not_a_500(app, db, data, row_version):
    merchant = f.MerchantFactory(circle=data.east, shop_name="不变")
    db.session.commit()
    url = f"/admin/merchant/edit/?id={merchant.id}"
    admin = signed_in(app, "admin")
    page = open_form(admin, url)
    response = admin.client.post(url, data={**merchant_form(data, shop_name="变了"), **page,
                                            "row_version": row_version})
    assert response.status_code == 200
    assert conflict_text(app) in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Merchant, merchant.id).shop_name == "不变"


def test_every_editable_admin_view_is_locked(app, db, data):
    """Each model an admin may edit through a form carries a row version."""
    admin_views = app.extensions["admin"][0]._views
    with app.test_request_context():
        login_user(data.users["admin"])
        editable = [view for view in admin_views
                    if isinstance(view, CircleModelView) and view.can_edit]
        assert editable
        for view in editable:
            assert "version" in sa.inspect(view.model).columns, view.endpoint
            assert "row_version" in view.get_edit_form()(), view.endpoint
            assert _l("Version") not in [str(c[1]) for c in view.get_list_columns()]
