"""API tokens' service accounts act in the workflow but are nobody's colleague."""

import sqlalchemy as sa

from circle.api.tokens import issue_token
from circle.models import User
from tests import factories as f


def make_token(db, data):
    token, _secret = issue_token(name="city-12345", community=data.community,
                                 created_by=data.users["admin"])
    db.session.commit()
    return token


def test_service_account_is_not_offered_as_assignee_or_contact(admin_browser, db, data):
    token = make_token(db, data)
    service = token.service_user
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east), status="escalated",
                           level=2)
    db.session.commit()
    desk = admin_browser.get(f"/admin/desk/{issue.id}").get_data(as_text=True)
    assert str(data.users["specialist"]) in desk
    assert service.display_name not in desk
    board = admin_browser.get("/admin/dispatch/").get_data(as_text=True)
    assert service.display_name not in board
    form = admin_browser.get("/admin/merchant/new/").get_data(as_text=True)
    assert service.display_name not in form


def test_service_account_cannot_be_given_a_password(admin_browser, db, data):
    service = make_token(db, data).service_user
    response = admin_browser.submit(f"/admin/user/edit/?id={service.id}", {
        "username": service.username, "display_name": service.display_name, "phone": "",
        "role": "specialist", "community": str(data.community.id), "active": "y",
        "new_password": "a-password-for-the-robot"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(User.password_hash).where(User.id == service.id)) == ""


def test_issued_token_marks_its_account_and_people_leave_it_out(db, data):
    service = make_token(db, data).service_user
    assert service.is_service_account is True
    assert not any(u.is_service_account for u in data.users.values())
    data.users["staff"].active = False
    db.session.commit()
    people = set(db.session.scalars(User.people()))
    assert people == {data.users[role] for role in ("admin", "specialist", "liaison", "leader")}


def test_token_acting_as_a_person_is_switched_off(db, data):
    from circle.api.tokens import token_problem

    token = make_token(db, data)
    assert token_problem(token) is None
    token.service_user.is_service_account = False
    assert token_problem(token) == "service_account_disabled"
