"""Who may see and do what: every role × view × in-scope and out-of-scope object.

The fixture builds, for the east circle (in scope for the liaison, and for the specialist and
staff of its community), the west circle (the same community, out of the liaison's scope)
and a circle of another community (out of scope for everyone but the admin): a merchant and
an issue with a site visit, a symposium and a callback in each. Every denied request must
answer 403/404 (never 500) and leave the database as it was.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from circle.issues.models import Callback, Issue, SiteVisit, Symposium
from circle.models import Merchant
from circle.timeutil import utcnow
from circle.validators import mask_phone
from tests import factories as f

ROLES = ("admin", "specialist", "liaison", "staff")
ADMIN_ONLY = ("community", "circle", "member", "department", "department_kind", "user",
              "issue_category", "issue_source", "sla_policy", "calendar_day", "work_schedule",
              "issue_event", "audit")
SCOPED = {"merchant": Merchant, "issue": Issue, "site_visit": SiteVisit,
          "symposium": Symposium, "callback": Callback}
# Who may edit rows of the scoped views (create follows edit for merchants).
EDITORS = {"merchant": {"admin", "specialist", "liaison"}, "issue": {"admin", "specialist"},
           "site_visit": set(), "symposium": set(), "callback": set()}
DELETERS = {"merchant": {"admin"}}
# Which circles each role sees: east/west are the data community, other is elsewhere.
SEES = {"admin": {"east", "west", "other"}, "specialist": {"east", "west"},
        "staff": {"east", "west"}, "liaison": {"east"}}


@pytest.fixture
def world(db, data):
    now = utcnow()
    circles = {"east": data.east, "west": data.west, "other": f.CircleFactory()}
    rows = {}
    for key, circle in circles.items():
        merchant = f.MerchantFactory(circle=circle, shop_name=f"{key}-shop")
        issue = f.IssueFactory(merchant=merchant, description=f"{key}-issue",
                               status="resolved", level=2)
        visit = SiteVisit(issue=issue, level=2, arrived_at=now, outcome="resolved",
                          findings=f"{key}-visit")
        symposium = Symposium(issue=issue, held_at=now, agreed_deadline=now + timedelta(days=3),
                              minutes=f"{key}-minutes")
        callback = Callback(issue=issue, called_at=now, reached=True, rating="satisfied",
                            comments=f"{key}-callback")
        db.session.add_all([visit, symposium, callback])
        rows[key] = {"merchant": merchant, "issue": issue, "site_visit": visit,
                     "symposium": symposium, "callback": callback}
    db.session.commit()
    return rows


def login(browser, role):
    assert browser.login(role).status_code == 302
    return browser


def snapshot(db):
    """Everything a denied request must leave untouched."""
    db.session.expire_all()
    merchants = sorted((m.id, m.shop_name, m.phone) for m in db.session.scalars(
        sa.select(Merchant)))
    issues = sorted((i.id, i.description, i.status, i.version) for i in db.session.scalars(
        sa.select(Issue)))
    counts = [db.session.scalar(sa.select(sa.func.count()).select_from(m))
              for m in (SiteVisit, Symposium, Callback)]
    return merchants, issues, counts


@pytest.mark.parametrize("role", ROLES)
def test_admin_only_views(browser, db, data, world, role):
    login(browser, role)
    before = snapshot(db)
    for endpoint in ADMIN_ONLY:
        expected = 200 if role == "admin" else 403
        assert browser.get(f"/admin/{endpoint}/").status_code == expected, endpoint
        if role != "admin":
            assert browser.get(f"/admin/{endpoint}/details/?id=1").status_code == 403
            assert browser.get(f"/admin/{endpoint}/new/").status_code == 403
            token = browser.token("/admin/")
            for path, payload in (("delete/", {"id": "1"}),
                                  ("action/", {"action": "delete", "rowid": "1"}),
                                  ("new/", {"name": "x"})):
                response = browser.client.post(f"/admin/{endpoint}/{path}",
                                               data={**payload, "csrf_token": token})
                assert response.status_code == 403, (endpoint, path)
    assert snapshot(db) == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(SCOPED))
def test_scoped_lists_and_details(browser, db, data, world, role, endpoint):
    login(browser, role)
    html = browser.get(f"/admin/{endpoint}/").get_data(as_text=True)
    for key, objects in world.items():
        pk = objects[endpoint].id
        visible = key in SEES[role]
        assert (f"details/?id={pk}&" in html) == visible, (key, pk)
        details = browser.get(f"/admin/{endpoint}/details/?id={pk}")
        assert details.status_code == (200 if visible else 404), key
        edit = browser.get(f"/admin/{endpoint}/edit/?id={pk}")
        if not visible:
            # Editors get 404 (no such row for them); others are refused before any lookup.
            assert edit.status_code == (404 if role in EDITORS[endpoint] else 302), key
        elif role in EDITORS[endpoint]:
            assert edit.status_code == 200, key
        else:
            assert edit.status_code == 302, key  # Flask-Admin sends them back to the list


@pytest.mark.parametrize("role", ROLES)
def test_scoped_writes(browser, db, data, world, role):
    login(browser, role)
    before = snapshot(db)
    token = browser.token("/admin/")
    for key, objects in world.items():
        if key in SEES[role]:
            continue
        merchant, issue = objects["merchant"], objects["issue"]
        post = browser.client.post
        assert post(f"/admin/merchant/edit/?id={merchant.id}",
                    data={"shop_name": "hacked", "csrf_token": token}).status_code in (302, 404)
        assert post(f"/admin/issue/edit/?id={issue.id}",
                    data={"description": "hacked", "csrf_token": token}).status_code in (302,
                                                                                        404)
        assert post("/admin/merchant/delete/", data={"id": merchant.id, "csrf_token": token}
                    ).status_code in (302, 403, 404)
        post("/admin/merchant/action/", data={"action": "delete", "rowid": merchant.id,
                                              "csrf_token": token})
        assert browser.get(f"/admin/desk/{issue.id}").status_code == 404
        assert post(f"/admin/desk/{issue.id}/callback",
                    data={"version": issue.version, "reached": "no",
                          "csrf_token": token}).status_code == 404
    assert snapshot(db) == before


@pytest.mark.parametrize("role", ROLES)
def test_merchant_create_is_limited_to_own_circles(browser, db, data, world, role):
    login(browser, role)
    from tests.test_crud import merchant_form

    response = browser.submit("/admin/merchant/new/", merchant_form(data), form_url="/admin/")
    created = db.session.scalar(sa.select(Merchant).where(
        Merchant.shop_name == "连濛冷冻食品专卖店"))
    if role in EDITORS["merchant"]:
        assert response.status_code == 302 and created is not None
    else:
        assert response.status_code in (302, 403) and created is None
    if role == "liaison":
        other = world["other"]["merchant"].circle
        html = browser.get("/admin/merchant/new/").get_data(as_text=True)
        assert other.name not in html and data.west.name not in html
        before = snapshot(db)
        response = browser.submit("/admin/merchant/new/",
                                  merchant_form(data, shop_name="越权", circle=str(data.west.id)))
        assert response.status_code == 200
        assert snapshot(db) == before


@pytest.mark.parametrize("role,visible", [("liaison", {"东街商圈"}),
                                          ("specialist", {"东街商圈", "西街商圈"})])
def test_filter_options_are_scoped(browser, db, data, world, role, visible):
    login(browser, role)
    html = browser.get("/admin/merchant/").get_data(as_text=True)
    other = world["other"]["merchant"].circle.name
    assert other not in html
    for name in ("东街商圈", "西街商圈"):
        assert (name in html) == (name in visible)


@pytest.mark.parametrize("url,roles", [
    ("/admin/register/", {"admin", "specialist", "liaison"}),
    ("/admin/dispatch/", {"admin", "specialist"}),
    ("/admin/callbacks/", {"admin", "staff"}),
])
@pytest.mark.parametrize("role", ROLES)
def test_job_views_by_role(browser, data, world, url, roles, role):
    login(browser, role)
    assert browser.get(url).status_code == (200 if role in roles else 403)


@pytest.mark.parametrize("role", ROLES)
def test_built_in_exports_and_ajax_are_off(browser, data, world, role):
    login(browser, role)
    for endpoint in SCOPED:
        assert browser.get(f"/admin/{endpoint}/export/csv/").status_code in (302, 403, 404)
    response = browser.get("/admin/issue/ajax/lookup/?name=merchant&query=shop")
    assert response.status_code in (400, 404)


def test_phone_numbers_are_masked_for_liaisons(browser, db, data, world):
    phone = world["east"]["merchant"].phone
    login(browser, "liaison")
    html = browser.get("/admin/merchant/").get_data(as_text=True)
    assert phone not in html and f"{phone[:3]}****{phone[-4:]}" in html
    browser.logout()
    login(browser, "specialist")
    assert f'href="tel:{phone}"' in browser.get("/admin/merchant/").get_data(as_text=True)


def test_merchant_picker_masks_phones_for_liaisons(browser, db, data, world):
    phone = world["east"]["merchant"].phone
    login(browser, "liaison")
    results = browser.get("/admin/register/merchants?q=east").get_json()["results"]
    assert results and all(phone not in r["text"] for r in results)
    assert any(f"{phone[:3]}****{phone[-4:]}" in r["text"] for r in results)


def test_emergency_contact_phones_are_masked_like_the_merchants(browser, db, data, world):
    """The list and the details show a contact's number exactly as the merchant's: masked
    for a liaison officer (it used to be a full ``tel:`` link next to the masked shop)."""
    merchant = world["east"]["merchant"]
    contact = f.EmergencyContactFactory(merchant=merchant, name="王二", phone="13700000002")
    db.session.commit()
    login(browser, "liaison")
    for url in ("/admin/merchant/", f"/admin/merchant/details/?id={merchant.id}"):
        html = browser.get(url).get_data(as_text=True)
        assert contact.phone not in html and "137****0002" in html, url
        assert merchant.phone not in html and mask_phone(merchant.phone) in html, url
    browser.logout()
    login(browser, "specialist")
    html = browser.get("/admin/merchant/").get_data(as_text=True)
    assert f'href="tel:{contact.phone}"' in html and f'href="tel:{merchant.phone}"' in html


def test_liaison_edits_a_merchant_without_seeing_its_numbers(browser, db, data, world):
    """The edit form does not send the stored numbers either: their boxes start empty with
    the masked number as a hint; left empty they keep the number, typed in they replace it."""
    merchant = world["east"]["merchant"]
    contact = f.EmergencyContactFactory(merchant=merchant, name="王二", phone="13700000002")
    db.session.commit()
    phone, contact_id = merchant.phone, contact.id
    url = f"/admin/merchant/edit/?id={merchant.id}"
    login(browser, "liaison")
    html = browser.get(url).get_data(as_text=True)
    assert phone not in html and "13700000002" not in html
    assert f'placeholder="{mask_phone(phone)}"' in html and 'placeholder="137****0002"' in html
    form = {"shop_name": "改名商铺", "owner_name": "张三", "phone": "", "address": "一号",
            "circle": str(data.east.id), "business_category": "", "credit_code": "",
            "active": "y", "emergency_contacts-0-id": str(contact_id),
            "emergency_contacts-0-priority": "1", "emergency_contacts-0-name": "王二",
            "emergency_contacts-0-phone": "", "emergency_contacts-0-relation": ""}
    assert browser.submit(url, form).status_code == 302
    db.session.expire_all()
    merchant = db.session.get(Merchant, merchant.id)
    assert merchant.shop_name == "改名商铺"
    assert merchant.phone == phone and merchant.emergency_contacts[0].phone == "13700000002"
    form.update({"phone": "139 1234 0000", "emergency_contacts-0-phone": "13912340001"})
    assert browser.submit(url, form).status_code == 302
    db.session.expire_all()
    merchant = db.session.get(Merchant, merchant.id)
    assert merchant.phone == "13912340000"
    assert merchant.emergency_contacts[0].phone == "13912340001"
    # A typed number is still checked.
    response = browser.submit(url, {**form, "phone": "12345"})
    assert response.status_code == 200
    assert db.session.get(Merchant, merchant.id).phone == "13912340000"


def test_every_capability_is_described_and_in_the_table():
    from circle.permissions import MEANING, PERMISSIONS, Cap

    assert set(MEANING) == set(PERMISSIONS) == set(Cap)


def test_the_readme_shows_the_permission_table():
    """README's table is generated from PERMISSIONS (python -m circle.permissions)."""
    from pathlib import Path

    from circle.permissions import permissions_table

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- permissions:begin -->\n", "<!-- permissions:end -->"
    assert begin in readme and end in readme
    shown = readme.split(begin, 1)[1].split(end, 1)[0]
    assert shown == permissions_table(), "run: .venv/bin/python -m circle.permissions"
