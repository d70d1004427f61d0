"""Create, edit and delete through the admin with CSRF on, and validation refusals."""

import pytest
import sqlalchemy as sa

from circle.models import (
    BusinessCircle,
    Community,
    EmergencyContact,
    Issue,
    IssueEvent,
    Merchant,
    User,
)
from tests import factories as f


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def merchant_form(data, **overrides):
    form = {
        "shop_name": "连濛冷冻食品专卖店",
        "owner_name": "王连濛",
        "phone": "138 0531 1234",
        "address": "恒大绿洲商业街8号",
        "circle": str(data.east.id),
        "business_category": "食品零售",
        "credit_code": "",
        "active": "y",
        "emergency_contacts-0-priority": "1",
        "emergency_contacts-0-name": "刘专员",
        "emergency_contacts-0-phone": "13905310000",
        "emergency_contacts-0-relation": "社区热线专员",
    }
    form.update(overrides)
    return form


def test_create_merchant_with_emergency_contact(admin_browser, db, data):
    response = admin_browser.submit("/admin/merchant/new/", merchant_form(data))
    assert response.status_code == 302
    merchant = db.session.scalar(sa.select(Merchant))
    assert merchant.shop_name == "连濛冷冻食品专卖店"
    assert merchant.phone == "13805311234"  # normalised
    assert merchant.credit_code is None  # empty is no code, not ""
    assert [c.phone for c in merchant.emergency_contacts] == ["13905310000"]
    assert merchant.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("phone", "12345", "请输入手机号"),
        ("credit_code", "91350100M000100Y44", "校验位"),
        ("credit_code", "ABC", "18"),
        ("emergency_contacts-0-phone", "999", "请输入手机号"),
        ("shop_name", "", "必填"),
    ],
)
def test_invalid_merchant_is_refused_with_a_clear_message(admin_browser, db, data, field,
                                                          value, message):
    response = admin_browser.submit("/admin/merchant/new/", merchant_form(data, **{field: value}))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db, Merchant) == 0
    assert _count(db, EmergencyContact) == 0


def test_valid_credit_code_is_stored_upper_case(admin_browser, db, data):
    admin_browser.submit("/admin/merchant/new/",
                         merchant_form(data, credit_code="91350100m000100y43"))
    assert db.session.scalar(sa.select(Merchant.credit_code)) == "91350100M000100Y43"


def test_edit_merchant(admin_browser, db, data):
    merchant = f.MerchantFactory(circle=data.east)
    db.session.commit()
    url = f"/admin/merchant/edit/?id={merchant.id}"
    response = admin_browser.submit(
        url, merchant_form(data, shop_name="新名字", phone="0531-87654321",
                           **{"emergency_contacts-0-name": "王五"})
    )
    assert response.status_code == 302
    db.session.expire_all()
    merchant = db.session.get(Merchant, merchant.id)
    assert merchant.shop_name == "新名字"
    assert merchant.phone == "0531-87654321"


def test_list_delete_needs_csrf(admin_browser, db, data):
    merchant = f.MerchantFactory(circle=data.east)
    db.session.commit()
    response = admin_browser.client.post("/admin/merchant/delete/",
                                         data={"id": str(merchant.id)})
    assert response.status_code == 400
    assert _count(db, Merchant) == 1
    response = admin_browser.submit("/admin/merchant/delete/", {"id": str(merchant.id)},
                                    form_url="/admin/merchant/")
    assert response.status_code == 302
    assert _count(db, Merchant) == 0


def test_bulk_action_needs_csrf(admin_browser, db, data):
    merchant = f.MerchantFactory(circle=data.east)
    db.session.commit()
    payload = {"action": "delete", "rowid": str(merchant.id)}
    assert admin_browser.client.post("/admin/merchant/action/", data=payload).status_code == 400
    assert _count(db, Merchant) == 1
    admin_browser.submit("/admin/merchant/action/", payload, form_url="/admin/merchant/")
    assert _count(db, Merchant) == 0


def test_issues_are_registered_through_the_workflow_not_the_crud_form(admin_browser):
    # The generic create form would skip the SLA clocks; "Register an issue" is the way in.
    assert admin_browser.get("/admin/issue/new/").status_code in (302, 404)


def test_work_order_number_clash_is_explained(db, data):
    """The domain rule names the issue that already holds the number (API, imports)."""
    from circle.issues.rules import issue_problem

    merchant = f.MerchantFactory(circle=data.east)
    existing = f.IssueFactory(merchant=merchant, work_order_no="2406210000001")
    db.session.commit()
    duplicate = Issue(merchant=merchant, category=existing.category, source=existing.source,
                      severity="big", description="停电", work_order_no=" 2406210000001")
    assert f"#{existing.id}" in str(issue_problem(duplicate))


def test_edit_issue_records_a_timeline_row(admin_browser, db, data):
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    db.session.commit()
    response = admin_browser.submit(f"/admin/issue/edit/?id={issue.id}", {
        "category": str(issue.category_id), "source": str(issue.source_id),
        "work_order_no": "", "description": "更正后的描述",
    })
    assert response.status_code == 302
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.description == "更正后的描述"
    assert issue.merchant_id is not None and issue.severity == "small"
    event = db.session.scalar(sa.select(IssueEvent).where(IssueEvent.action == "edit"))
    assert event is not None and event.actor.username == "admin"


def test_issues_cannot_be_deleted(admin_browser, db, data):
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    db.session.commit()
    admin_browser.submit("/admin/issue/delete/", {"id": str(issue.id)}, form_url="/admin/issue/")
    assert _count(db, Issue) == 1


def test_community_and_circle_round_trip(admin_browser, db, data):
    admin_browser.submit("/admin/community/new/", {"name": "新社区", "address": "长清区",
                                                   "description": ""})
    community = db.session.scalar(sa.select(Community).where(Community.name == "新社区"))
    assert community is not None
    admin_browser.submit("/admin/circle/new/", {"name": "新商圈",
                                                "community": str(community.id),
                                                "description": "沿街商铺"})
    assert db.session.scalar(
        sa.select(BusinessCircle).where(BusinessCircle.name == "新商圈")
    ).community_id == community.id


def test_create_user_and_role_rules(admin_browser, db, data):
    form = {"username": "newliaison", "display_name": "新联络员", "phone": "13700000000",
            "role": "liaison", "active": "y", "new_password": "long-enough-password"}
    response = admin_browser.submit("/admin/user/new/", form)
    assert "至少属于一个商圈" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.username == "newliaison")) is None
    form["circles"] = [str(data.east.id)]
    response = admin_browser.submit("/admin/user/new/", form)
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "newliaison"))
    assert user.check_password("long-enough-password")
    assert [c.name for c in user.circles] == ["东街商圈"]


def test_deactivating_a_user_in_the_admin_ends_their_session(app, admin_browser, db, data):
    other = app.test_client()
    from tests.conftest import Browser

    liaison = Browser(other)
    liaison.login("liaison")
    assert liaison.get("/admin/").status_code == 200
    user = data.users["liaison"]
    response = admin_browser.submit(f"/admin/user/edit/?id={user.id}", {
        "username": "liaison", "display_name": "联络员", "phone": "", "role": "liaison",
        "circles": [str(data.east.id)], "new_password": "",
    })
    assert response.status_code == 302
    assert liaison.get("/admin/").status_code == 302
