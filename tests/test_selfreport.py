"""Issue #16: one issue per form, one case per problem, and merchants reporting for
themselves through the QR sticker's link — report, track, rate, "still not solved"."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import gettext
from markupsafe import escape

from circle.issues.models import (
    Callback,
    CallbackChannel,
    Issue,
    IssueCategory,
    IssueEvent,
    IssueSource,
    Status,
)
from circle.issues.steps import replay_problems
from circle.reference import SELF_REPORT
from circle.reports.figures import CircleDayFigures
from circle.selfreport.links import issue_report_link
from circle.selfreport.models import IssuePhoto
from circle.timeutil import utcnow
from tests import factories as f
from tests.conftest import Browser, csrf_token_from
from tests.steps import wf as workflow
from tests.test_desk import act, advance, browser_for, register, tiny_png

REGISTER = "/admin/register/"
_KEY_RE = re.compile(r'name="registration_key"[^>]*value="([^"]+)"')


def text(message, **kwargs) -> str:
    return str(escape(gettext(message, **kwargs)))


def issues(db) -> list[Issue]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Issue).order_by(Issue.id)))


def first_category(db) -> IssueCategory:
    return db.session.scalars(sa.select(IssueCategory).order_by(IssueCategory.sort_order)).first()


def walk_in(db) -> IssueSource:
    return db.session.scalars(sa.select(IssueSource).where(~IssueSource.is_hotline)
                              .order_by(IssueSource.sort_order)).first()


@pytest.fixture
def shop(db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="连濛冷冻食品")
    f.EmergencyContactFactory(merchant=merchant, name="王专员", phone="13900001111")
    token = issue_report_link(merchant)
    db.session.commit()
    merchant.token = token
    return merchant


def registration(db, shop, **overrides) -> dict:
    data = {"merchant": str(shop.id), "severity": "small", "category": str(first_category(db).id),
            "source": str(walk_in(db).id), "work_order_no": "", "description": "门店跳闸"}
    data.update(overrides)
    return data


def form_page(browser: Browser, url: str) -> tuple[str, str]:
    """The CSRF token and the one-time registration key of a form page."""
    html = browser.get(url).get_data(as_text=True)
    return csrf_token_from(html), _KEY_RE.search(html).group(1)


# --- idempotency ---------------------------------------------------------------------------

def test_the_same_registration_form_posted_twice_makes_one_issue(browser, db, data, shop):
    browser.login("liaison")
    token, key = form_page(browser, REGISTER)
    payload = {**registration(db, shop), "csrf_token": token, "registration_key": key}
    first = browser.client.post(REGISTER, data=payload)
    again = browser.client.post(REGISTER, data=payload)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert len(issues(db)) == 1
    assert issues(db)[0].registration_key == key


def test_every_form_page_gets_a_new_key(browser, data):
    browser.login("liaison")
    assert form_page(browser, REGISTER)[1] != form_page(browser, REGISTER)[1]


def test_register_issue_returns_the_first_issue_for_a_known_key(db, data, shop):
    kwargs = dict(merchant=shop, category=first_category(db), source=walk_in(db),
                  severity="small", description="跳闸", registration_key="k" * 32)
    one = workflow.register_issue(data.users["liaison"], **kwargs)
    two = workflow.register_issue(data.users["liaison"], **kwargs)
    assert one.id == two.id and len(issues(db)) == 1


# --- duplicates and merging ----------------------------------------------------------------

def test_liaison_form_warns_of_a_possible_duplicate(browser, db, data, shop):
    earlier = register(db, data, merchant=shop)
    db.session.commit()
    browser.login("liaison")
    response = browser.submit(REGISTER, registration(db, shop))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text("Possible duplicate") in html and f"/admin/desk/{earlier.id}" in html
    assert len(issues(db)) == 1  # nothing registered until the liaison says so
    response = browser.submit(REGISTER, registration(db, shop, register_anyway="1"))
    assert response.status_code == 302 and len(issues(db)) == 2


def test_an_old_or_other_category_issue_is_no_duplicate(browser, db, data, shop, app):
    old = register(db, data, merchant=shop,
                   reported_at=utcnow() - timedelta(days=app.config[
                       "CIRCLE_DUPLICATE_WINDOW_DAYS"] + 1))
    db.session.commit()
    assert old.id
    browser.login("liaison")
    assert browser.submit(REGISTER, registration(db, shop)).status_code == 302


def test_merge_closes_the_duplicate_and_both_timelines_say_so(app, browser, db, data, shop):
    original = register(db, data, merchant=shop)
    duplicate = register(db, data, merchant=shop, description="又跳闸了")
    db.session.commit()
    browser.login("liaison")
    desk = browser.get(f"/admin/desk/{duplicate.id}").get_data(as_text=True)
    assert text("Possible duplicate") in desk and f"/admin/desk/{original.id}" in desk
    response = act(browser, db, duplicate, "merge", {"original": str(original.id)})
    assert response.status_code == 302
    db.session.expire_all()
    duplicate, original = db.session.get(Issue, duplicate.id), db.session.get(Issue, original.id)
    assert duplicate.status == Status.WITHDRAWN and duplicate.merged_into_id == original.id
    assert duplicate.closed_at is not None
    assert [e.action for e in duplicate.events][-1] == "merge"
    assert [e.action for e in original.events][-1] == "merged_in"
    assert original.status == Status.REGISTERED
    # The duplicate's tracking link shows the original.
    page = browser.client.get(f"/r/t/{duplicate.tracking_token}").get_data(as_text=True)
    assert f"{original.id}" in page and original.description in page
    # 重复诉求率: one of the two issues of the day was merged.
    assert db.session.scalar(sa.select(sa.func.sum(CircleDayFigures.merged))) == 1
    from circle.reports.rates import PeriodCounts

    counts = PeriodCounts(reported=2, withdrawn=1, merged=1)
    assert counts.duplicate_rate.percent == 50.0
    events = [(e.action, e.from_status, e.to_status, e.from_level, e.to_level, None)
              for e in duplicate.events]
    assert replay_problems(events) == []


@pytest.mark.parametrize("original,message", [
    ("", "Enter the number of the issue this one duplicates."),
    ("abc", "No issue with this number in your business circles."),
    ("999999", "No issue with this number in your business circles."),
])
def test_merge_refuses_bad_originals(browser, db, data, shop, original, message):
    duplicate = register(db, data, merchant=shop)
    db.session.commit()
    browser.login("liaison")
    response = act(browser, db, duplicate, "merge", {"original": original})
    assert response.status_code == 200
    assert text(message) in response.get_data(as_text=True)
    assert issues(db)[0].status == Status.REGISTERED


def test_merge_into_itself_or_another_circles_issue_is_refused(browser, db, data, shop):
    duplicate = register(db, data, merchant=shop)
    west = register(db, data, circle=data.west)
    db.session.commit()
    browser.login("liaison")
    for original, message in ((duplicate, "An issue cannot be merged into itself."),
                              (west, "No issue with this number in your business circles.")):
        response = act(browser, db, duplicate, "merge", {"original": str(original.id)})
        assert text(message) in response.get_data(as_text=True)
    assert {i.status for i in issues(db)} == {Status.REGISTERED}


# --- the QR report page ----------------------------------------------------------------------

def report_payload(client, token, **overrides):
    html = client.get(f"/r/{token}").get_data(as_text=True)
    payload = {"csrf_token": csrf_token_from(html),
               "registration_key": _KEY_RE.search(html).group(1),
               "category": str(first_category_id(html)), "severity": "big",
               "description": "冷柜断电，商品要化了"}
    payload.update(overrides)
    return payload


def first_category_id(html: str) -> str:
    return re.search(r'<option value="(\d+)"', html).group(1)


def test_report_page_shows_the_shop_and_a_call_button(client, shop):
    response = client.get(f"/r/{shop.token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "连濛冷冻食品" in html and 'href="tel:13900001111"' in html
    assert "小事不过晌、大事不过夜、难事不过周" in html
    assert "<script" not in html  # no heavy assets, nothing to download but the page
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("token", ["nope", "x" * 65])
def test_unknown_or_revoked_link_answers_404_in_chinese(client, db, shop, token):
    response = client.get(f"/r/{token}")
    assert response.status_code == 404
    assert "此链接无效" in response.get_data(as_text=True)


def test_merchant_reports_with_a_photo_and_lands_on_tracking(client, db, data, shop):
    payload = report_payload(client, shop.token)
    payload["photos"] = [(io.BytesIO(tiny_png()), "电表箱.png")]
    response = client.post(f"/r/{shop.token}", data=payload,
                           content_type="multipart/form-data")
    assert response.status_code == 302 and "/r/t/" in response.headers["Location"]
    [issue] = issues(db)
    assert issue.source.name == SELF_REPORT and issue.reporter_id is None
    assert (issue.status, issue.level, issue.severity) == (Status.REGISTERED, 1, "big")
    assert [p.content_type for p in issue.photos] == ["image/png"]
    assert issue.events[0].actor_id is None and issue.events[0].note == SELF_REPORT
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已收到" in page and "冷柜断电" in page
    # The same POST again (a retry on a slow line) is the same case.
    again = client.post(f"/r/{shop.token}", data={**payload, "photos": []})
    assert again.status_code == 302 and len(issues(db)) == 1


@pytest.mark.parametrize("photo,message", [
    (b"GIF89a not a photo", ("%(name)s is not a JPEG or PNG photo.", {})),
    (b"\x89PNG\r\n\x1a\n" + b"0" * 2048, ("%(name)s is larger than %(limit)s.",
                                           {"limit": "1 KB"})),
])
def test_bad_photos_are_refused_and_nothing_is_stored(app, client, db, shop, photo, message):
    app.config["CIRCLE_SELF_REPORT_PHOTO_MAX_BYTES"] = 1024
    payload = report_payload(client, shop.token)
    payload["photos"] = [(io.BytesIO(photo), "a.png")]
    response = client.post(f"/r/{shop.token}", data=payload, content_type="multipart/form-data")
    assert response.status_code == 200
    assert text(message[0], name="a.png", **message[1]) in response.get_data(as_text=True)
    assert issues(db) == [] and db.session.scalar(
        sa.select(sa.func.count()).select_from(IssuePhoto)) == 0


def test_too_large_body_is_refused_in_chinese(app, client, db, shop):
    app.config["CIRCLE_SELF_REPORT_PHOTO_MAX_BYTES"] = 1024
    payload = report_payload(client, shop.token)
    payload["photos"] = [(io.BytesIO(b"\xff\xd8\xff" + b"0" * 300_000), "big.jpg")]
    response = client.post(f"/r/{shop.token}", data=payload, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "照片太大" in response.get_data(as_text=True)
    assert issues(db) == []


def test_missing_description_gets_a_message(client, db, shop):
    response = client.post(f"/r/{shop.token}", data=report_payload(client, shop.token,
                                                                  description="  "))
    assert response.status_code == 200 and issues(db) == []


def test_a_long_report_is_refused_with_its_length_and_kept(client, db, shop):
    """No script on the merchant's page: the limit is told in words under the field, and a
    longer text (a 20,000-character paste) is refused with its length, not cut."""
    from circle.selfreport.forms import MAX_DESCRIPTION

    page = client.get(f"/r/{shop.token}").get_data(as_text=True)
    assert text("At most %(n)d characters.", n=MAX_DESCRIPTION) in page
    assert "<script" not in page and " maxlength=" not in page
    paste = "冷" * 20_000
    response = client.post(f"/r/{shop.token}", data=report_payload(client, shop.token,
                                                                  description=paste))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and issues(db) == []
    assert text("This text has %(length)d characters; at most %(max)d are accepted. "
                "Shorten it (nothing was saved).", length=20_000, max=MAX_DESCRIPTION) in html
    assert paste in html  # kept in the field, to shorten


def test_reports_are_rate_limited_per_link(tmp_path):
    from circle.extensions import db as _db
    from circle.reference import install_reference_data
    from tests.conftest import IsolatedClient, _reset_schema, make_app

    app = make_app(tmp_path, CIRCLE_SELF_REPORT_LIMIT_PER_LINK="2 per hour")
    app.test_client_class = IsolatedClient
    _reset_schema(app)
    with app.app_context():
        install_reference_data(holidays=False)
        merchant = f.MerchantFactory()
        token = issue_report_link(merchant)
        _db.session.commit()
        client = app.test_client()
        codes = []
        for n in range(3):
            payload = report_payload(client, token, description=f"第{n}次")
            codes.append(client.post(f"/r/{token}", data=payload).status_code)
        assert codes == [302, 302, 429]
        assert "太多" in client.post(f"/r/{token}", data=payload).get_data(as_text=True)
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 2
        _db.session.remove()
        _db.engine.dispose()


def test_a_report_without_csrf_is_refused(client, db, shop):
    response = client.post(f"/r/{shop.token}", data={"description": "x"})
    assert response.status_code == 400 and issues(db) == []


# --- tracking, confirming, rating ----------------------------------------------------------

def reported(client, db, shop) -> Issue:
    """A merchant's report, made an hour ago (so that the steps after it are in the past)."""
    client.post(f"/r/{shop.token}", data=report_payload(client, shop.token))
    issue = issues(db)[-1]
    issue.reported_at -= timedelta(hours=1)
    for event in issue.events:
        event.created_at -= timedelta(hours=1)
    db.session.commit()
    return issue


def test_liaison_confirms_a_self_report_once(app, client, db, data, shop):
    issue = reported(client, db, shop)
    liaison = browser_for(app, "liaison")
    desk = liaison.get(f"/admin/desk/{issue.id}").get_data(as_text=True)
    assert 'id="action-confirm"' in desk
    assert act(liaison, db, issue, "confirm").status_code == 302
    desk = liaison.get(f"/admin/desk/{issue.id}").get_data(as_text=True)
    assert 'id="action-confirm"' not in desk
    page = client.get(f"/r/t/{issue.tracking_token}").get_data(as_text=True)
    assert "已受理" in page


def test_merchant_rates_satisfied_and_the_rating_is_the_callback(app, client, db, data, shop):
    issue = reported(client, db, shop)
    advance(db, data, issue, Status.RESOLVED)
    db.session.commit()
    url = f"/r/t/{issue.tracking_token}"
    page = client.get(url).get_data(as_text=True)
    assert "已解决" in page and 'id="rate-form"' in page
    response = client.post(url + "/rate", data={"csrf_token": csrf_token_from(page),
                                                "resolved": "yes", "rating": "satisfied"})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.status == Status.CLOSED and issue.rating == "satisfied"
    [callback] = issue.callbacks
    assert callback.channel == CallbackChannel.SELF and callback.called_by_id is None
    # And it is in the satisfaction export, as the staff's callbacks are.
    staff = browser_for(app, "staff")
    export = staff.get("/admin/satisfaction-export/", query_string={
        "download": "1", "format": "csv"}).get_data(as_text=True)
    assert shop.shop_name in export
    # No second rating once closed.
    assert 'id="rate-form"' not in client.get(url).get_data(as_text=True)


def test_dissatisfied_self_rating_sends_the_issue_back(client, db, data, shop):
    issue = reported(client, db, shop)
    advance(db, data, issue, Status.RESOLVED)
    db.session.commit()
    url = f"/r/t/{issue.tracking_token}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    client.post(url + "/rate", data={"csrf_token": token, "resolved": "no",
                                     "rating": "dissatisfied", "comments": "还是跳闸"})
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.status in (Status.DISPATCHED, Status.ESCALATED) and issue.level == 2
    assert issue.rehandle_count == 1 and issue.callbacks[-1].channel == CallbackChannel.SELF


def test_still_not_solved(client, db, data, shop):
    issue = reported(client, db, shop)
    url = f"/r/t/{issue.tracking_token}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    # Open: a word on the timeline.
    assert client.post(url + "/not-solved", data={"csrf_token": token,
                                                  "note": "还没人来"}).status_code == 302
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.events[-1].action == "merchant_nudge" and issue.status == Status.REGISTERED
    # Resolved: back for re-handling, recorded as the merchant's callback without a rating.
    advance(db, data, issue, Status.RESOLVED)
    db.session.commit()
    client.post(url + "/not-solved", data={"csrf_token": token})
    db.session.expire_all()
    issue = db.session.get(Issue, issue.id)
    assert issue.rehandle_count == 1 and issue.status in (Status.DISPATCHED, Status.ESCALATED)
    callback = db.session.scalars(sa.select(Callback)).one()
    assert callback.rating is None and callback.resolved_per_merchant is False


def test_tracking_page_names_only_the_handling_specialist(client, db, data, shop):
    issue = reported(client, db, shop)
    advance(db, data, issue, Status.DISPATCHED)
    db.session.commit()
    page = client.get(f"/r/t/{issue.tracking_token}").get_data(as_text=True)
    specialist = data.users["specialist"]
    assert specialist.display_name in page and specialist.phone in page
    assert data.users["liaison"].display_name not in page
    assert data.users["admin"].display_name not in page


def test_unknown_tracking_link_is_404(client, data):
    assert client.get("/r/t/nothing-here").status_code == 404


def test_a_self_report_timeline_replays_against_the_declaration(client, db, data, shop):
    issue = reported(client, db, shop)
    advance(db, data, issue, Status.RESOLVED)
    db.session.commit()
    url = f"/r/t/{issue.tracking_token}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    client.post(url + "/rate", data={"csrf_token": token, "resolved": "yes",
                                     "rating": "very_satisfied"})
    rows = db.session.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue.id)
                              .order_by(IssueEvent.id)).scalars()
    events = [(e.action, e.from_status, e.to_status, e.from_level, e.to_level,
               e.actor.role if e.actor else "merchant_link") for e in rows]
    assert events[0][0] == "register" and events[-1][0] == "close"
    assert replay_problems(events) == []


def test_a_person_cannot_take_the_merchants_steps(db, data, shop):
    with pytest.raises(workflow.NotAllowed):
        workflow.register_issue(data.users["admin"], merchant=shop, category=first_category(db),
                                source=walk_in(db), severity="small", description="x",
                                step="self_report")


# --- stickers ------------------------------------------------------------------------------

def test_merchant_sticker_and_circle_sheet(browser, db, data, shop):
    browser.login("liaison")
    page = browser.get(f"/admin/stickers/merchant/{shop.id}").get_data(as_text=True)
    assert "<svg" in page and "连濛冷冻食品" in page and "王专员" in page
    assert "小事不过晌、大事不过夜、难事不过周" in page
    sheet = browser.get(f"/admin/stickers/circle/{data.east.id}").get_data(as_text=True)
    assert sheet.count('class="sticker"') == 1
    assert browser.get(f"/admin/stickers/circle/{data.west.id}").status_code == 404


def test_only_an_admin_reissues_and_the_old_sticker_stops_working(app, client, db, data, shop):
    liaison = browser_for(app, "liaison")
    url = f"/admin/stickers/merchant/{shop.id}"
    assert liaison.submit(url + "/reissue", {}, form_url=url).status_code == 403
    admin = browser_for(app, "admin")
    assert admin.submit(url + "/reissue", {}, form_url=url).status_code == 302
    db.session.expire_all()
    assert client.get(f"/r/{shop.token}").status_code == 404
    fresh = db.session.get(type(shop), shop.id).report_token
    assert fresh and client.get(f"/r/{fresh}").status_code == 200
    admin.submit(url + "/reissue", {"revoke_only": "1"}, form_url=url)
    assert client.get(f"/r/{fresh}").status_code == 404
