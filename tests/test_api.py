"""Contract tests of the /api/v1 JSON API: auth, each endpoint, each error, idempotency,
concurrency, scoping, rate limits, the audit trail and the token pages of the panel."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from circle.api.intake import HOLDING_CIRCLE_NAME
from circle.api.models import ApiToken
from circle.api.tokens import issue_token, revoke_token
from circle.audit.models import AuditRecord
from circle.extensions import db as _db
from circle.models import (
    BusinessCircle,
    Callback,
    Issue,
    IssueCategory,
    IssueEvent,
    IssueSource,
    Merchant,
    User,
)
from circle.timeutil import utcnow
from circle.validators import credit_code_check_char
from tests import factories as f
from tests.steps import wf

CATEGORY = "供电用电"


def credit_code(middle: str) -> str:
    """A valid unified social credit code (GB 32100 check digit) around ``middle``."""
    first17 = "91370102" + middle.ljust(9, "0")[:9]
    return first17 + credit_code_check_char(first17)


@functools.cache
def _test_password_hash() -> str:
    # Hashing is slow on purpose; every test's users share one hash of the test password.
    return generate_password_hash(f.TEST_PASSWORD)


def make_user(username: str, role: str, *, community=None, circles=()) -> User:
    user = User(username=username, display_name=f"测试{username}", role=role,
                community=community, circles=list(circles),
                password_hash=_test_password_hash())
    _db.session.add(user)
    return user


def seed_api_world():
    """Two communities, their circles, people, merchants, an API token each, and issues with
    a timeline and a callback. Committed; returns a namespace."""
    from circle.reference import install_reference_data

    install_reference_data(holidays=False)
    w = SimpleNamespace()
    w.community = f.CommunityFactory(name="恒大社区")
    w.east = f.CircleFactory(name="东街商圈", community=w.community)
    w.west = f.CircleFactory(name="西街商圈", community=w.community)
    w.other_community = f.CommunityFactory(name="阳光社区")
    w.other_circle = f.CircleFactory(name="阳光商圈", community=w.other_community)
    w.users = {
        "admin": make_user("admin", "admin"),
        "specialist": make_user("specialist", "specialist", community=w.community),
        "liaison": make_user("liaison", "liaison", circles=[w.east]),
        "staff": make_user("staff", "staff", community=w.community),
    }
    w.merchant = f.MerchantFactory(shop_name="王记冷冻食品", circle=w.east,
                                   credit_code=credit_code("MA3C5LX2K"))
    w.west_merchant = f.MerchantFactory(shop_name="西街超市", circle=w.west)
    w.other_merchant = f.MerchantFactory(shop_name="阳光面馆", circle=w.other_circle,
                                         credit_code=credit_code("MA3C5LX3K"))
    w.token, w.secret = issue_token(name="12345平台", community=w.community,
                                    created_by=w.users["admin"])
    w.other_token, w.other_secret = issue_token(name="阳光平台", community=w.other_community,
                                                created_by=w.users["admin"])
    _db.session.commit()
    refs = _refs()
    liaison, staff, admin = w.users["liaison"], w.users["staff"], w.users["admin"]
    # A closed issue of the community: registered, solved at level 1, called back.
    w.closed = wf.register_issue(liaison, merchant=w.merchant, severity="small",
                                 description="门店频繁跳闸", work_order_no="WO-100", **refs)
    wf.resolve_at_level1(w.closed, liaison, summary="更换小空开", expected_version=None)
    wf.record_callback(w.closed, staff, reached=True, resolved=True, rating="satisfied",
                       comments="很满意", expected_version=None)
    w.other_issue = wf.register_issue(admin, merchant=w.other_merchant, severity="big",
                                      description="燃气味", work_order_no="WO-900", **refs)
    wf.resolve_at_level1(w.other_issue, admin, summary="修好", expected_version=None)
    wf.record_callback(w.other_issue, admin, reached=True, resolved=True,
                       rating="very_satisfied", expected_version=None)
    return w


def _refs() -> dict:
    return {
        "category": _db.session.scalar(sa.select(IssueCategory)
                                       .where(IssueCategory.name == CATEGORY)),
        "source": _db.session.scalar(sa.select(IssueSource).where(IssueSource.is_hotline)),
    }


@pytest.fixture(autouse=True)
def _api_settings(app):
    # Events are shown at once in tests (the settle window has its own test).
    app.config["CIRCLE_API_FEED_SETTLE_SECONDS"] = 0


@pytest.fixture
def world(db):
    return seed_api_world()


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def api(client, world):
    """Calls the API with the community's token."""

    class Api:
        def get(self, url, **kwargs):
            return client.get(url, headers=bearer(world.secret), **kwargs)

        def post(self, url, payload=None, **kwargs):
            return client.post(url, json=payload, headers=bearer(world.secret), **kwargs)

    return Api()


def order(world, **overrides) -> dict:
    payload = {"work_order_no": "JN20240621-0001", "merchant": {"id": world.merchant.id},
               "category": CATEGORY, "severity": "small",
               "description": "冷冻食品店总跳闸，请尽快处理"}
    payload.update(overrides)
    return payload


def assert_error(response, status: int, code: str, fields=()):
    """The one error shape, with the expected status, code and fields at fault."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    for field in fields:
        assert field in body["error"]["fields"], body["error"]["fields"]
    return body["error"]


def issue_count(work_order_no=None) -> int:
    stmt = sa.select(sa.func.count()).select_from(Issue)
    if work_order_no:
        stmt = stmt.where(Issue.work_order_no == work_order_no)
    return _db.session.scalar(stmt)


# --- authentication ---------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic dXNlcjpwYXNz",
                                    "Bearer circle_not-a-real-token",
                                    "Bearer " + "circle_" + "A" * 43])
def test_missing_or_invalid_token_is_401(client, world, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/issues", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(client, db, world):
    revoke_token(world.token, actor=world.users["admin"])
    db.session.commit()
    error = assert_error(client.get("/api/v1/issues", headers=bearer(world.secret)),
                         401, "unauthorized")
    assert "revoked" in error["message"]
    # The attempt is on record, against the revoked token, which was not "used".
    attempt = db.session.scalar(sa.select(AuditRecord).where(AuditRecord.action == "api"))
    assert attempt.changes["token"] == world.token.id and attempt.changes["status"] == 401
    db.session.refresh(world.token)
    assert world.token.last_used_at is None


def test_token_whose_service_account_was_disabled_is_403(client, db, world):
    world.token.service_user.active = False
    db.session.commit()
    assert_error(client.get("/api/v1/issues", headers=bearer(world.secret)), 403, "forbidden")


def test_session_cookie_does_not_authenticate_the_api(browser, world):
    assert browser.login("admin").status_code == 302
    assert browser.get("/admin/").status_code == 200  # signed in to the panel…
    assert_error(browser.get("/api/v1/issues"), 401, "unauthorized")  # …not to the API
    response = browser.client.post("/api/v1/issues", json=order(world))
    assert_error(response, 401, "unauthorized")
    assert issue_count("JN20240621-0001") == 0


def test_token_does_not_open_the_panel(client, world):
    response = client.get("/admin/", headers=bearer(world.secret))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_service_account_cannot_sign_in(browser, world):
    response = browser.login(world.token.service_user.username, password="anything-at-all")
    assert response.status_code == 200  # the form again, not a redirect into the panel


def test_api_needs_no_csrf_token(api, world):
    # CSRFProtect guards every POST of the panel; the API is exempt (token-authenticated).
    assert api.post("/api/v1/issues", order(world)).status_code == 201


# --- POST /issues -----------------------------------------------------------------------

def test_create_issue_from_a_work_order(api, db, world):
    response = api.post("/api/v1/issues", order(world))
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/issues/{body['id']}"
    assert body["work_order_no"] == "JN20240621-0001"
    assert (body["status"], body["level"], body["severity"]) == ("escalated", 2, "small")
    assert body["category"] == CATEGORY and body["source"] == "12345热线工单"
    assert body["merchant"] == {"id": world.merchant.id, "shop_name": "王记冷冻食品",
                                "circle": "东街商圈"}
    assert body["sla"]["response_state"] == "on_track"
    assert body["sla"]["resolution_due_at"] > body["sla"]["response_due_at"]
    # Dispatched by the city: straight to the specialists, who must sign for it.
    assert [e["action"] for e in body["timeline"]] == ["register", "escalate"]
    lifecycle = body["work_order"]
    assert lifecycle["sign_state"] == "on_track" and lifecycle["signed_at"] is None
    assert lifecycle["sign_due_at"] < lifecycle["contact_due_at"]
    assert (lifecycle["pending_request"], lifecycle["supervised"]) == (None, False)
    assert body["timeline"][0]["actor_role"] == "specialist"
    issue = db.session.get(Issue, body["id"])
    # Reported by the token's service account, so the workflow's rules applied to it.
    assert issue.reporter_id == world.token.service_user_id
    assert issue.circle_id == world.east.id


def test_same_work_order_twice_returns_the_existing_issue(api, world):
    first = api.post("/api/v1/issues", order(world))
    again = api.post("/api/v1/issues", order(world, description="再次来电"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["description"] == "冷冻食品店总跳闸，请尽快处理"
    assert "Location" not in again.headers
    assert issue_count("JN20240621-0001") == 1


def test_merchant_by_credit_code(api, world):
    payload = order(world, merchant={"credit_code": world.merchant.credit_code.lower()})
    response = api.post("/api/v1/issues", payload)
    assert response.status_code == 201
    assert response.get_json()["merchant"]["id"] == world.merchant.id


def test_unregistered_merchant_is_created_in_the_holding_circle(api, db, world):
    shop = {"shop_name": "新开张奶茶店", "phone": "+86 138-0000-1234", "owner_name": "赵六"}
    first = api.post("/api/v1/issues", order(world, merchant=shop))
    assert first.status_code == 201
    merchant = db.session.get(Merchant, first.get_json()["merchant"]["id"])
    assert merchant.phone == "13800001234"  # normalised
    assert merchant.circle.name == HOLDING_CIRCLE_NAME
    assert merchant.circle.community_id == world.community.id
    # The same shop calling again is the same merchant, not a duplicate.
    second = api.post("/api/v1/issues", order(world, work_order_no="JN2", merchant=shop))
    assert second.status_code == 201
    assert second.get_json()["merchant"]["id"] == merchant.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusinessCircle).where(
        BusinessCircle.name == HOLDING_CIRCLE_NAME)) == 1


def test_unknown_credit_code_with_shop_and_phone_registers_the_merchant(api, db, world):
    code = credit_code("MA3C5LX9K")
    payload = order(world, merchant={"credit_code": code, "shop_name": "新店",
                                     "phone": "0531-87654321"})
    response = api.post("/api/v1/issues", payload)
    assert response.status_code == 201
    merchant = db.session.get(Merchant, response.get_json()["merchant"]["id"])
    assert (merchant.credit_code, merchant.circle.name) == (code, HOLDING_CIRCLE_NAME)


@pytest.mark.parametrize("merchant, field", [
    ({"credit_code": credit_code("MA3C5LX9K")}, "merchant.credit_code"),
    ({"id": 999999}, "merchant.id"),
])
def test_merchant_that_cannot_be_identified_is_422(api, db, world, merchant, field):
    assert_error(api.post("/api/v1/issues", order(world, merchant=merchant)),
                 422, "validation_error", [field])
    assert issue_count() == 2  # only the seeded ones
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusinessCircle).where(
        BusinessCircle.name == HOLDING_CIRCLE_NAME)) == 0


def test_merchant_of_another_community_is_refused(api, world):
    by_id = api.post("/api/v1/issues", order(world, merchant={"id": world.other_merchant.id}))
    assert_error(by_id, 422, "validation_error", ["merchant.id"])
    by_code = api.post("/api/v1/issues", order(
        world, merchant={"credit_code": world.other_merchant.credit_code}))
    assert_error(by_code, 422, "validation_error", ["merchant.credit_code"])


def test_inactive_merchant_is_refused(api, db, world):
    world.merchant.active = False
    db.session.commit()
    assert_error(api.post("/api/v1/issues", order(world)), 422, "validation_error",
                 ["merchant.id"])


@pytest.mark.parametrize("changes, fields", [
    ({"work_order_no": None}, ["work_order_no"]),
    ({"work_order_no": "has space"}, ["work_order_no"]),
    ({"work_order_no": "x" * 41}, ["work_order_no"]),
    ({"merchant": {}}, ["merchant"]),
    ({"merchant": {"shop_name": "只有店名"}}, ["merchant"]),
    ({"merchant": {"shop_name": "店", "phone": "12345"}}, ["merchant.phone"]),
    ({"merchant": {"credit_code": "91370102MA3C5LX2K0"}}, ["merchant.credit_code"]),
    ({"merchant": {"id": 2**70}}, ["merchant.id"]),
    ({"merchant": {"id": 2**31}}, ["merchant.id"]),
    ({"category": "不存在的类别"}, ["category"]),
    ({"severity": "urgent"}, ["severity"]),
    ({"description": "   "}, ["description"]),
    ({"description": "a\x00b"}, ["description"]),
    ({"description": "长" * 2001}, ["description"]),
    ({"unexpected": 1}, ["unexpected"]),
])
def test_invalid_work_orders_are_422_with_the_fields_at_fault(api, world, changes, fields):
    payload = order(world, **changes)
    payload = {k: v for k, v in payload.items() if v is not None}
    assert_error(api.post("/api/v1/issues", payload), 422, "validation_error", fields)
    assert issue_count() == 2


@pytest.mark.parametrize("body", [[], "text", 42, None])
def test_body_that_is_not_an_object_is_422(api, body):
    response = api.post("/api/v1/issues", body)
    assert_error(response, 422, "validation_error")


def test_malformed_json_is_400(client, world):
    response = client.post("/api/v1/issues", data="{not json", headers=bearer(world.secret),
                           content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_json_nested_too_deeply_is_400(client, world):
    body = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/issues", data=body, headers=bearer(world.secret),
                           content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_body_that_is_not_json_is_415(client, world):
    response = client.post("/api/v1/issues", data={"work_order_no": "x"},
                           headers=bearer(world.secret))
    assert_error(response, 415, "unsupported_media_type")


def test_body_over_the_size_limit_is_413(api, world):
    response = api.post("/api/v1/issues", order(world, description="长" * 30000))
    assert_error(response, 413, "payload_too_large")


def test_work_order_of_another_community_is_409(api, world):
    response = api.post("/api/v1/issues", order(world, work_order_no="WO-900"))
    error = assert_error(response, 409, "conflict", ["work_order_no"])
    assert "WO-900" not in json.dumps(error)  # nothing about the other issue leaks
    assert "#" not in error["message"]  # nor its issue number


def test_missing_hotline_source_is_422(api, db, world):
    db.session.execute(sa.update(IssueSource).values(is_hotline=False))
    db.session.commit()
    assert_error(api.post("/api/v1/issues", order(world)), 422, "validation_error")


def _post_concurrently(app, world, payload, n=2):
    barrier = threading.Barrier(n)
    results = []

    def post():
        client = app.test_client()  # each request gets its own app context (IsolatedClient)
        barrier.wait(timeout=10)
        response = client.post("/api/v1/issues", json=payload, headers=bearer(world.secret))
        results.append((response.status_code, response.get_json().get("id")))

    threads = [threading.Thread(target=post) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.parametrize("merchant", [None, {"shop_name": "并发小店", "phone": "13912345678"}],
                         ids=["registered-merchant", "new-merchant"])
def test_two_identical_posts_at_once_make_one_issue(app, db, world, merchant):
    payload = order(world, merchant=merchant or {"id": world.merchant.id})
    results = _post_concurrently(app, world, payload)
    assert sorted(status for status, _ in results) == [200, 201]
    assert len({issue_id for _, issue_id in results}) == 1
    db.session.expire_all()
    assert issue_count("JN20240621-0001") == 1
    # One merchant, one holding circle, whoever created them.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Merchant)
                             .where(Merchant.shop_name == "并发小店")) == (1 if merchant else 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusinessCircle).where(
        BusinessCircle.name == HOLDING_CIRCLE_NAME)) == (1 if merchant else 0)


def test_losing_the_insert_race_returns_the_winners_issue(app, db, world, monkeypatch):
    # Both requests pass every check before either inserts, so the unique index decides:
    # the loser's IntegrityError must become a 200 with the winner's issue.
    barrier = threading.Barrier(2)
    original = wf.issue_problem

    def check_then_wait(issue):
        problem = original(issue)
        barrier.wait(timeout=10)
        return problem

    monkeypatch.setattr(wf, "issue_problem", check_then_wait)
    # A registered merchant: nothing is written before the check (SQLite has one writer).
    results = _post_concurrently(app, world, order(world))
    assert sorted(status for status, _ in results) == [200, 201]
    assert len({issue_id for _, issue_id in results}) == 1
    db.session.expire_all()
    assert issue_count("JN20240621-0001") == 1


# --- GET /issues/{id} and /issues -------------------------------------------------------

def test_get_issue_with_resolution_and_timeline(api, world):
    response = api.get(f"/api/v1/issues/{world.closed.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "closed"
    assert body["resolution"]["summary"] == "更换小空开"
    assert body["resolution"]["rating"] == "satisfied"
    assert body["resolution"]["satisfied"] is True
    assert body["sla"]["resolution_state"] == "met"
    assert [e["action"] for e in body["timeline"]] == ["register", "resolve", "close"]
    assert [e["actor_role"] for e in body["timeline"]] == ["liaison", "liaison", "staff"]


@pytest.mark.parametrize("path", ["/api/v1/issues/999999", "/api/v1/issues/0",
                                  f"/api/v1/issues/{2**31}", "/api/v1/issues/" + "9" * 30])
def test_unknown_issue_is_404(api, path):
    assert_error(api.get(path), 404, "not_found")


def test_issue_of_another_community_is_404(api, client, world):
    assert_error(api.get(f"/api/v1/issues/{world.other_issue.id}"), 404, "not_found")
    # …while its own community's token sees it.
    own = client.get(f"/api/v1/issues/{world.other_issue.id}",
                     headers=bearer(world.other_secret))
    assert own.status_code == 200


def test_find_issue_by_work_order(api, world):
    body = api.get("/api/v1/issues?work_order=WO-100").get_json()
    assert [item["id"] for item in body["items"]] == [world.closed.id]
    assert api.get("/api/v1/issues?work_order=NOPE").get_json()["items"] == []
    # Another community's work order is simply not found.
    assert api.get("/api/v1/issues?work_order=WO-900").get_json()["items"] == []


def test_list_issues_is_cursor_paginated(api, world):
    for n in range(3):
        assert api.post("/api/v1/issues", order(world, work_order_no=f"P{n}")).status_code == 201
    seen, cursor = [], None
    while True:
        url = "/api/v1/issues?limit=2" + (f"&after={cursor}" if cursor else "")
        page = api.get(url).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == sorted(seen) and len(seen) == 4  # WO-100 and P0..P2, not WO-900


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=101", "limit"),
                                          ("limit=abc", "limit"), ("after=-1", "after"),
                                          ("after=abc", "after"),
                                          ("work_order=a%20b", "work_order"),
                                          ("work_order=", "work_order"),
                                          ("workorder=WO-100", "workorder")])
def test_invalid_list_parameters_are_422(api, query, field):
    assert_error(api.get(f"/api/v1/issues?{query}"), 422, "validation_error", [field])


# --- GET /events ------------------------------------------------------------------------

def test_change_feed_in_order_with_cursor_and_scope(api, db, world):
    created = api.post("/api/v1/issues", order(world)).get_json()
    page = api.get("/api/v1/events?limit=2").get_json()
    assert [e["action"] for e in page["items"]] == ["register", "resolve"]
    assert page["has_more"] is True
    rest = api.get(f"/api/v1/events?after={page['next_cursor']}").get_json()
    assert [e["action"] for e in rest["items"]] == ["close", "register", "escalate"]
    assert rest["items"][-1]["issue_id"] == created["id"]
    assert rest["items"][-1]["work_order_no"] == "JN20240621-0001"
    assert rest["has_more"] is False
    ids = [e["id"] for e in page["items"] + rest["items"]]
    assert ids == sorted(ids)
    # Nothing of the other community; an empty page keeps the cursor for the next poll.
    other_issue_events = db.session.scalars(
        sa.select(IssueEvent.id).where(IssueEvent.issue_id == world.other_issue.id)).all()
    assert not set(other_issue_events) & set(ids)
    empty = api.get(f"/api/v1/events?after={rest['next_cursor']}").get_json()
    assert empty == {"items": [], "next_cursor": rest["next_cursor"], "has_more": False}


@pytest.mark.parametrize("url", ["/api/v1/events", "/api/v1/callbacks", "/api/v1/issues"])
def test_cursor_beyond_any_id_is_an_empty_page(api, url):
    # Ids are 32-bit INTEGER on PostgreSQL: a larger cursor must not reach the database.
    page = api.get(f"{url}?after=999999999999999999").get_json()
    assert page["items"] == [] and page["has_more"] is False


def test_change_feed_holds_back_events_until_they_settle(app, api, world):
    app.config["CIRCLE_API_FEED_SETTLE_SECONDS"] = 3600
    page = api.get("/api/v1/events").get_json()
    assert page == {"items": [], "next_cursor": "0", "has_more": False}


# --- GET /callbacks ---------------------------------------------------------------------

def test_callbacks_of_the_community(api, world):
    body = api.get("/api/v1/callbacks").get_json()
    assert len(body["items"]) == 1
    item = body["items"][0]
    assert item["issue_id"] == world.closed.id and item["work_order_no"] == "WO-100"
    assert (item["reached"], item["resolved"], item["rating"], item["satisfied"]) == (
        True, True, "satisfied", True)
    assert item["comments"] == "很满意"


def test_callbacks_say_which_figures_count_them(api, db, world):
    """``counted_as`` follows the dashboard's rules: the first and the final rating of an
    issue, the call that closed it as unreachable, and nothing for a withdrawn issue."""
    refs = _refs()
    staff, liaison = world.users["staff"], world.users["liaison"]
    specialist = world.users["specialist"]

    def resolved(work_order_no):
        issue = wf.register_issue(liaison, merchant=world.merchant, severity="small",
                                  description="门前下水道堵塞", work_order_no=work_order_no,
                                  **refs)
        wf.resolve_at_level1(issue, liaison, summary="疏通", expected_version=None)
        return issue

    def call(issue, **answers):
        wf.record_callback(issue, staff, expected_version=None, **answers)

    def solve_again(issue):
        wf.accept_issue(issue, specialist, expected_version=None)
        wf.record_site_visit(issue, specialist, arrived_at=utcnow(), outcome="resolved",
                             summary="再次疏通", expected_version=None)

    again = resolved("WO-101")  # dissatisfied, re-handled, then satisfied
    call(again, reached=True, resolved=False, rating="dissatisfied")
    solve_again(again)
    call(again, reached=True, resolved=True, rating="satisfied")
    lost = resolved("WO-102")  # rated, re-handled, then never reached again
    call(lost, reached=True, resolved=True, rating="very_dissatisfied")
    solve_again(lost)
    for _ in range(3):
        call(lost, reached=False)
    twin = resolved("WO-103")  # rated, sent back, then withdrawn as a duplicate
    call(twin, reached=True, resolved=False, rating="dissatisfied")
    wf.withdraw_issue(twin, specialist, reason="重复登记", expected_version=None)

    items = api.get("/api/v1/callbacks").get_json()["items"]
    by_issue = {}
    for item in items:
        by_issue.setdefault(item["issue_id"], []).append(item["counted_as"])
    assert by_issue[world.closed.id] == [["first_rating", "final_rating"]]
    assert by_issue[again.id] == [["first_rating"], ["final_rating"]]
    assert by_issue[lost.id] == [["first_rating", "final_rating"], [], [], ["unreachable"]]
    assert by_issue[twin.id] == [[]]


def test_callbacks_by_period(api, db, world):
    called_at = db.session.scalar(sa.select(Callback.called_at)
                                  .where(Callback.issue_id == world.closed.id))
    day = called_at.date().isoformat()
    assert len(api.get(f"/api/v1/callbacks?from={day}T00:00:00Z").get_json()["items"]) == 1
    assert api.get("/api/v1/callbacks?to=2000-01-01").get_json()["items"] == []
    future = "2999-01-01T00:00:00%2B08:00"
    assert api.get(f"/api/v1/callbacks?from={future}").get_json()["items"] == []


@pytest.mark.parametrize("query, field", [
    ("from=", "from"), ("to=", "to"), ("after=", "after"),
])
def test_empty_bounds_are_refused_as_the_document_says(api, query, field):
    assert_error(api.get(f"/api/v1/callbacks?{query}"), 422, "validation_error", [field])


def test_a_period_ending_before_it_starts_is_empty(api):
    assert api.get("/api/v1/callbacks?from=2024-02-01&to=2024-01-01").get_json()["items"] == []


def test_a_bound_before_any_utc_moment_is_the_beginning(api):
    page = api.get("/api/v1/callbacks?from=0001-01-01T00:00:00%2B23:59").get_json()
    assert len(page["items"]) == 1


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"),
])
def test_invalid_callback_period_is_422(api, query, field):
    assert_error(api.get(f"/api/v1/callbacks?{query}"), 422, "validation_error", [field])


# --- errors everywhere --------------------------------------------------------------------

def test_unknown_path_is_a_json_404(api):
    assert_error(api.get("/api/v1/nothing/here"), 404, "not_found")


def test_wrong_method_is_a_json_405_with_allow(client, world):
    response = client.delete("/api/v1/issues", headers=bearer(world.secret))
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_rate_limit_per_token(app, client, world):
    app.config["CIRCLE_API_RATE_LIMIT"] = "2 per minute"
    for _ in range(2):
        assert client.get("/api/v1/events", headers=bearer(world.secret)).status_code == 200
    response = client.get("/api/v1/events", headers=bearer(world.secret))
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1
    # Another token has its own budget.
    assert client.get("/api/v1/events",
                      headers=bearer(world.other_secret)).status_code == 200


def test_unexpected_failure_is_a_json_500_and_rolled_back(app, api, db, world, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer like production, not re-raise

    def broken(*args, **kwargs):
        db.session.add(Merchant(shop_name="半截", owner_name="", phone="13900000000",
                                circle_id=world.east.id))
        raise RuntimeError("boom")

    monkeypatch.setattr("circle.api.views.register_work_order", broken)
    response = api.post("/api/v1/issues", order(world))
    assert_error(response, 500, "internal_error")
    assert "boom" not in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Merchant).where(Merchant.shop_name == "半截")) is None
    audit = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "api")).all()
    assert [r.changes["status"] for r in audit] == [500]


def test_api_sets_no_cookies(api, client, world):
    for response in (api.get("/api/v1/issues"), api.post("/api/v1/issues", order(world)),
                     client.get("/api/v1/issues")):
        assert "Set-Cookie" not in response.headers


def test_panel_keeps_its_html_error_pages(client, world):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


# --- audit ----------------------------------------------------------------------------------

def test_every_call_is_audited(api, client, db, world):
    api.get(f"/api/v1/issues/{world.closed.id}")
    client.get("/api/v1/events")  # no token
    rows = db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "api")
                              .order_by(AuditRecord.id)).all()
    assert len(rows) == 2
    ok, anonymous = rows
    assert ok.actor_id == world.token.service_user_id
    assert ok.actor_name == "API · 12345平台"
    assert ok.object_id == str(world.closed.id)
    assert ok.changes["status"] == 200 and ok.changes["token"] == world.token.id
    assert ok.changes["path"] == f"/api/v1/issues/{world.closed.id}"
    assert anonymous.actor_id is None and anonymous.changes["status"] == 401
    db.session.refresh(world.token)
    assert world.token.last_used_at is not None


def test_merchant_created_by_the_api_is_in_the_audit_log(api, db, world):
    api.post("/api/v1/issues", order(world, merchant={"shop_name": "新店", "phone": "13900001111"}))
    created = db.session.scalars(sa.select(AuditRecord).where(
        AuditRecord.action == "create", AuditRecord.object_type == "merchant")).all()
    assert [r.actor_id for r in created] == [world.token.service_user_id]


# --- the OpenAPI document and the docs page ----------------------------------------------

def test_openapi_document_describes_every_operation_and_error(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = {(method.upper(), path): op for path, item in spec["paths"].items()
                  for method, op in item.items() if method in ("get", "post")}
    assert set(operations) == {("POST", "/api/v1/issues"), ("GET", "/api/v1/issues"),
                               ("GET", "/api/v1/issues/{issue_id}"), ("GET", "/api/v1/events"),
                               ("GET", "/api/v1/callbacks")}
    for op in operations.values():
        assert {"401", "403", "429", "default"} <= set(op["responses"])
    assert {"200", "201", "400", "409", "413", "415", "422"} <= set(
        operations[("POST", "/api/v1/issues")]["responses"])
    assert "404" in operations[("GET", "/api/v1/issues/{issue_id}")]["responses"]
    error = spec["components"]["schemas"]["ApiError"]
    assert error["required"] == ["error"]


def test_docs_page_is_self_contained(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"https?://", html)  # nothing from a CDN
    for path in ("/api/v1/issues", "/api/v1/events", "/api/v1/callbacks"):
        assert path in html
    assert "Register a 12345 work order as an issue" in html


# --- tokens in the panel ----------------------------------------------------------------

_SECRET_RE = re.compile(r'value="(circle_[A-Za-z0-9_-]{43})"')


def test_admin_creates_a_token_shown_once(browser, db, world):
    browser.login("admin")
    response = browser.submit("/admin/api_token/new/",
                              {"name": "市12345平台", "community": str(world.community.id)})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = _SECRET_RE.search(response.get_data(as_text=True)).group(1)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "市12345平台"))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix) and len(token.prefix) < len(secret)
    account = token.service_user
    assert (account.username, account.role, account.community_id, account.active) == (
        "api-市12345平台", "specialist", world.community.id, True)
    assert not account.check_password("")
    # The secret works, and is nowhere to be seen again.
    assert browser.client.get("/api/v1/issues", headers=bearer(secret)).status_code == 200
    for url in ("/admin/api_token/", f"/admin/api_token/details/?id={token.id}"):
        page = browser.get(url)
        assert page.status_code == 200
        assert secret not in page.get_data(as_text=True)
    audit = db.session.scalars(sa.select(AuditRecord).where(
        AuditRecord.object_type == "api_token", AuditRecord.action == "create")).all()
    assert any(r.actor_id == world.users["admin"].id for r in audit)
    assert all(token.token_hash not in json.dumps(r.changes) for r in audit)


@pytest.mark.parametrize("name", ["", "12345平台", "x" * 47])
def test_token_name_must_be_new_and_short(browser, db, world, name):
    browser.login("admin")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken))
    response = browser.submit("/admin/api_token/new/",
                              {"name": name, "community": str(world.community.id)})
    assert response.status_code == 200
    assert not _SECRET_RE.search(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == before


def test_token_whose_account_name_is_taken_is_refused_with_a_message(browser, db, world):
    make_user("api-巡检", "staff", community=world.community)
    db.session.commit()
    browser.login("admin")
    response = browser.submit("/admin/api_token/new/",
                              {"name": "巡检", "community": str(world.community.id)})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "api-巡检" in html and not _SECRET_RE.search(html)
    assert db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "巡检")) is None


def test_admin_revokes_a_token(browser, client, db, world):
    browser.login("admin")
    response = browser.submit("/admin/api_token/action/",
                              {"action": "revoke", "rowid": str(world.token.id)},
                              form_url="/admin/api_token/")
    assert response.status_code == 302
    db.session.expire_all()
    assert world.token.revoked_at is not None
    assert world.token.service_user.active is False
    assert_error(client.get("/api/v1/issues", headers=bearer(world.secret)), 401,
                 "unauthorized")
    # The other community's token is untouched.
    assert client.get("/api/v1/issues", headers=bearer(world.other_secret)).status_code == 200


@pytest.mark.parametrize("username", ["specialist", "liaison", "staff"])
def test_only_admins_manage_tokens(browser, world, username):
    browser.login(username)
    assert browser.get("/admin/api_token/").status_code == 403
    assert browser.get("/admin/api_token/new/").status_code == 403


def test_token_must_belong_to_a_community(db, world):
    from circle.api.tokens import TokenError

    with pytest.raises(TokenError):
        issue_token(name="无社区", community=None, created_by=world.users["admin"])


def test_service_account_counts_as_a_user_of_the_community(db, world):
    account = db.session.get(User, world.token.service_user_id)
    assert account.community_id == world.community.id and account.role == "specialist"


def test_an_approved_return_reaches_the_platform_through_the_change_feed(api, db, world):
    """退单: the platform reads the return (and its basis) in the feed to dispatch again."""
    from circle.issues.lifecycle_models import ReturnBasis

    created = api.post("/api/v1/issues", order(world)).get_json()
    issue = db.session.get(Issue, created["id"])
    leader = f.UserFactory(username="leader", role="leader",
                           street=f.StreetFactory(name="新华街道"))
    world.community.street = leader.street
    db.session.commit()
    basis = db.session.scalars(sa.select(ReturnBasis)).first()
    specialist = world.users["specialist"]
    wf.accept_issue(issue, specialist, expected_version=None)
    wf.request_return(issue, specialist, basis=basis, reason="属邻街道辖区",
                      expected_version=None)
    wf.decide_return(issue, leader, approve=True, note="同意退回", expected_version=None)
    feed = api.get(f"/api/v1/events?after={issue.events[0].id - 1}").get_json()["items"]
    returned = [e for e in feed if e["to_status"] == "returned"]
    assert len(returned) == 1 and returned[0]["work_order_no"] == "JN20240621-0001"
    assert returned[0]["action"] == "approve_return" and returned[0]["actor_role"] == "leader"
    assert f"{basis.name}: 属邻街道辖区" in returned[0]["note"]
    body = api.get(f"/api/v1/issues/{issue.id}").get_json()
    assert body["status"] == "returned" and body["work_order"]["signed_at"] is not None
def test_a_second_work_order_for_the_same_problem_is_flagged_as_possible_duplicate(api, world):
    first = api.post("/api/v1/issues", order(world)).get_json()
    assert first["possible_duplicates"] == []
    second = api.post("/api/v1/issues", order(world, work_order_no="JN20240621-0002"))
    assert second.status_code == 201
    assert second.get_json()["possible_duplicates"] == [first["id"]]
