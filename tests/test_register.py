"""Registering an issue: the liaison's phone form and its merchant search."""

import re

import pytest
import sqlalchemy as sa
from flask_babel import gettext
from markupsafe import escape

from circle.issues.models import Issue, IssueCategory, IssueEvent, IssueSource
from circle.issues.sla_models import SlaPolicy
from circle.labels import duration_label
from tests import factories as f

URL = "/admin/register/"
SEARCH = "/admin/register/merchants"


def text(message, **kwargs) -> str:
    """A message as the page shows it: translated in the test's locale, HTML-escaped."""
    return str(escape(gettext(message, **kwargs)))


def issue_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Issue))


def first(db, model, **where):
    stmt = sa.select(model).filter_by(**where).order_by(model.sort_order)
    return db.session.scalars(stmt).first()


def form_data(db, shop, **overrides) -> dict:
    """A complete, valid registration for ``shop`` (walk-in source, small matter)."""
    data = {
        "merchant": str(shop.id),
        "severity": "small",
        "category": str(first(db, IssueCategory).id),
        "source": str(first(db, IssueSource, is_hotline=False).id),
        "work_order_no": "",
        "description": "门店频繁跳闸，冷柜断电",
    }
    data.update(overrides)
    return data


@pytest.fixture
def liaison(browser, data):
    assert browser.login("liaison").status_code == 302
    return browser


@pytest.fixture
def east_shop(db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="连濛冷冻食品", owner_name="王连濛",
                                 phone="13812345678")
    db.session.commit()
    return merchant


def test_liaison_registers_an_issue_and_lands_on_the_desk(liaison, db, data, east_shop):
    response = liaison.submit(URL, form_data(db, east_shop, severity="big"))
    assert response.status_code == 302
    issue = db.session.scalars(sa.select(Issue)).one()
    assert response.headers["Location"].endswith(f"/admin/desk/{issue.id}")
    assert (issue.level, issue.status, issue.severity) == (1, "registered", "big")
    assert issue.merchant_id == east_shop.id and issue.circle_id == data.east.id
    assert issue.reporter_id == data.users["liaison"].id
    assert issue.response_due_at is not None and issue.resolution_due_at is not None
    assert issue.resolution_due_at > issue.response_due_at > issue.reported_at
    actions = db.session.scalars(sa.select(IssueEvent.action)
                                 .where(IssueEvent.issue_id == issue.id)).all()
    assert actions == ["register"]


def test_a_registration_is_one_transaction_and_reads_nothing_after_it(app, liaison, db,
                                                                      east_shop):
    """The desk's address names the issue from what the registration wrote: the commit is
    the request's last word with the database (reading the issue again after it cost a
    transaction of its own, a third of a registration's round trips to the server)."""
    payload = {**form_data(db, east_shop), "csrf_token": liaison.token(URL)}
    seen = []

    def begin(conn):
        seen.append("BEGIN")

    def commit(conn):
        seen.append("COMMIT")

    def statement(conn, cursor, sql, *args):
        seen.append(" ".join(sql.split())[:60])

    with app.app_context():
        engine = db.engine
    listeners = (("begin", begin), ("commit", commit), ("before_cursor_execute", statement))
    for name, listener in listeners:
        sa.event.listen(engine, name, listener)
    try:
        response = liaison.client.post(URL, data=payload)
    finally:
        for name, listener in listeners:
            sa.event.remove(engine, name, listener)
    assert response.status_code == 302
    issue = db.session.scalars(sa.select(Issue)).one()
    assert response.headers["Location"].endswith(f"/admin/desk/{issue.id}")
    assert seen.count("BEGIN") == 1 and seen.count("COMMIT") == 1, seen
    assert seen[-1] == "COMMIT", seen


def test_merchant_of_another_circle_is_refused(liaison, db, data):
    west_shop = f.MerchantFactory(circle=data.west, shop_name="西街秘密小店")
    db.session.commit()
    response = liaison.submit(URL, form_data(db, west_shop))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert text("Choose a merchant in your own business circles.") in html
    assert "西街秘密小店" not in html  # nothing about the other circle's merchant leaks
    assert issue_count(db) == 0


def test_inactive_merchant_is_refused(liaison, db, data):
    closed_shop = f.MerchantFactory(circle=data.east, active=False)
    db.session.commit()
    response = liaison.submit(URL, form_data(db, closed_shop))
    assert response.status_code == 200
    assert text("Choose a merchant in your own business circles.") in response.get_data(
        as_text=True)
    assert issue_count(db) == 0


def test_hotline_source_needs_its_work_order_number(liaison, db, east_shop):
    hotline = first(db, IssueSource, is_hotline=True)
    response = liaison.submit(URL, form_data(db, east_shop, source=str(hotline.id)))
    assert response.status_code == 200
    assert text("A 12345 hotline issue needs its work-order number.") in response.get_data(
        as_text=True)
    assert issue_count(db) == 0

    response = liaison.submit(URL, form_data(db, east_shop, source=str(hotline.id),
                                             work_order_no=" 2406 2100 01 "))
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Issue.work_order_no)).one() == "2406210001"


def test_duplicate_work_order_is_refused(liaison, db, east_shop):
    hotline = first(db, IssueSource, is_hotline=True)
    earlier = f.IssueFactory(merchant=east_shop, source=hotline, work_order_no="2406210001")
    db.session.commit()
    response = liaison.submit(URL, form_data(db, east_shop, source=str(hotline.id),
                                             work_order_no="2406210001"))
    assert response.status_code == 200
    assert text("12345 work order %(no)s is already registered as issue #%(id)d.",
                no="2406210001", id=earlier.id) in response.get_data(as_text=True)
    assert issue_count(db) == 1


def test_a_refusal_from_the_workflow_is_shown_on_the_form(liaison, db, east_shop):
    db.session.execute(sa.delete(SlaPolicy).where(SlaPolicy.severity == "hard"))
    db.session.commit()
    response = liaison.submit(URL, form_data(db, east_shop, severity="hard"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert text("No SLA policy is set for this severity; ask an administrator.") in html
    assert "alert-danger" in html
    # What was typed is kept, and the chosen merchant is still chosen.
    assert "门店频繁跳闸" in html
    assert re.search(rf'<option selected value="{east_shop.id}">连濛冷冻食品', html)
    assert issue_count(db) == 0


def test_specialist_and_admin_may_register_too(browser, db, data):
    west_shop = f.MerchantFactory(circle=data.west)
    db.session.commit()
    for username in ("specialist", "admin"):
        browser.login(username)
        # The second is the same shop's same kind of problem: registered as new on purpose.
        assert browser.submit(URL, form_data(db, west_shop, register_anyway="1")
                              ).status_code == 302
        browser.logout()
    assert issue_count(db) == 2


def test_missing_csrf_token_is_refused(liaison, db, east_shop):
    response = liaison.client.post(URL, data=form_data(db, east_shop))
    assert response.status_code == 400
    assert issue_count(db) == 0


def test_staff_may_not_register(browser, db, data, east_shop):
    browser.login("staff")
    assert browser.get(URL).status_code == 403
    assert browser.get(SEARCH).status_code == 403
    response = browser.submit(URL, form_data(db, east_shop), form_url="/admin/")
    assert response.status_code == 403
    assert issue_count(db) == 0


@pytest.mark.parametrize("url", [URL, SEARCH + "?q=a"])
def test_anonymous_is_sent_to_login(client, data, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"merchant": "abc"},
        {"merchant": ""},
        {"merchant": "0"},
        {"merchant": "-1"},
        {"merchant": "999999"},
        {"merchant": "99999999999999999999999"},
        {"merchant": "１２"},
        {"category": "abc"},
        {"category": "999999"},
        {"category": ""},
        {"source": "x"},
        {"source": "999999"},
        {"severity": "serious"},
        {"severity": ""},
        {"description": "   "},
        {"description": "长" * 2001},
        {"work_order_no": "1" * 41},
    ],
)
def test_bad_input_gets_a_message_not_an_error(liaison, db, east_shop, overrides):
    response = liaison.submit(URL, form_data(db, east_shop, **overrides))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "invalid-feedback" in html
    assert text("Please correct the marked fields.") in html
    assert issue_count(db) == 0


def test_missing_fields_get_a_message(liaison, db, east_shop):
    response = liaison.submit(URL, {"description": "跳闸"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for message in ("Choose the merchant.", "Choose how serious the matter is.",
                    "Choose a category from the list.", "Choose where the issue came from."):
        assert text(message) in html
    assert issue_count(db) == 0


def test_inactive_category_is_not_offered_nor_accepted(liaison, db, east_shop):
    retired = first(db, IssueCategory)
    retired.active = False
    db.session.commit()
    html = liaison.get(URL).get_data(as_text=True)
    categories = re.search(r'<select[^>]*id="category".*?</select>', html, re.S).group(0)
    assert f'value="{retired.id}"' not in categories
    assert retired.name not in categories
    response = liaison.submit(URL, form_data(db, east_shop, category=str(retired.id)))
    assert response.status_code == 200
    assert issue_count(db) == 0


def test_page_fits_a_phone(liaison, db, data):
    html = liaison.get(URL).get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width' in html
    form = html[html.index('<form method="post" action="/admin/register/"'):]
    form = form[:form.index("</form>")]
    controls = re.findall(r"<(?:select|textarea)\b[^>]*>|<input\b[^>]*type=\"text\"[^>]*>", form)
    assert len(controls) == 5  # merchant, category, source, work order, description
    for control in controls:
        assert re.search(r'class="[^"]*\bform-control\b', control), control
    assert "btn-block" in form and "btn-lg" in form
    # The picker's script is a file (no inline script), and select2's styles are loaded.
    assert "/static/register.js" in html
    assert "select2.css" in html and "/static/workflow.css" in html
    assert "<script>" not in form and "onclick" not in form


def test_severity_choices_show_the_sla_promise(liaison, db, data):
    # Fixed durations read as they always have (the deadline rules: test_sla_rules.py).
    f.use_fixed_durations()
    db.session.commit()
    html = liaison.get(URL).get_data(as_text=True)
    assert text("respond within %(respond)s, resolve within %(resolve)s",
                respond=duration_label(30), resolve=duration_label(4 * 60)) in html
    assert text("respond within %(respond)s, resolve within %(resolve)s",
                respond=duration_label(24 * 60), resolve=duration_label(7 * 24 * 60)) in html


def test_hotline_sources_are_marked_for_the_script(liaison, db, data):
    hotline = first(db, IssueSource, is_hotline=True)
    html = liaison.get(URL).get_data(as_text=True)
    assert re.search(rf'<option data-hotline="1" value="{hotline.id}">', html)


def test_merchant_can_be_preselected_by_link_within_scope(liaison, db, data, east_shop):
    west_shop = f.MerchantFactory(circle=data.west, shop_name="西街秘密小店")
    db.session.commit()
    html = liaison.get(f"{URL}?merchant={east_shop.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{east_shop.id}">连濛冷冻食品', html)
    html = liaison.get(f"{URL}?merchant={west_shop.id}").get_data(as_text=True)
    assert "西街秘密小店" not in html
    assert liaison.get(f"{URL}?merchant=junk").status_code == 200


# --- the merchant search behind the picker ------------------------------------------------

def search(browser, **params) -> dict:
    response = browser.get(SEARCH, query_string=params)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_search_returns_only_active_merchants_of_the_users_circles(liaison, db, data,
                                                                  east_shop):
    f.MerchantFactory(circle=data.west, shop_name="西街冷冻批发")
    f.MerchantFactory(circle=f.CircleFactory(), shop_name="别的社区冷冻店")
    f.MerchantFactory(circle=data.east, shop_name="已歇业冷冻店", active=False)
    db.session.commit()
    result = search(liaison, q="冷冻")
    assert [row["id"] for row in result["results"]] == [east_shop.id]
    assert "连濛冷冻食品" in result["results"][0]["text"]
    assert result["pagination"] == {"more": False}
    ids = {row["id"] for row in search(liaison)["results"]}
    assert ids == {east_shop.id}


def test_specialist_searches_the_whole_community(browser, db, data, east_shop):
    west_shop = f.MerchantFactory(circle=data.west, shop_name="西街冷冻批发")
    f.MerchantFactory(circle=f.CircleFactory(), shop_name="别的社区冷冻店")
    db.session.commit()
    browser.login("specialist")
    ids = {row["id"] for row in search(browser, q="冷冻")["results"]}
    assert ids == {east_shop.id, west_shop.id}


@pytest.mark.parametrize("term", ["连濛", "冷冻食品", "王连", "138123", "12345678",
                                  "138-1234-5678"])
def test_search_matches_name_owner_and_phone(liaison, db, data, east_shop, term):
    f.MerchantFactory(circle=data.east, shop_name="阿强理发", owner_name="李强",
                      phone="13900000000")
    db.session.commit()
    assert [row["id"] for row in search(liaison, q=term)["results"]] == [east_shop.id]


def test_search_treats_wildcards_as_text(liaison, db, data, east_shop):
    assert search(liaison, q="%")["results"] == []
    assert search(liaison, q="_")["results"] == []


def test_search_is_paginated_by_twenty(liaison, db, data):
    for n in range(25):
        f.MerchantFactory(circle=data.east, shop_name=f"水果店{n:02d}")
    db.session.commit()
    page1 = search(liaison, q="水果")
    page2 = search(liaison, q="水果", page=2)
    assert len(page1["results"]) == 20 and page1["pagination"]["more"] is True
    assert len(page2["results"]) == 5 and page2["pagination"]["more"] is False
    ids = [row["id"] for row in page1["results"] + page2["results"]]
    assert len(set(ids)) == 25


def test_search_puts_names_starting_with_the_term_first(liaison, db, data):
    inside = f.MerchantFactory(circle=data.east, shop_name="老王水果")
    starts = f.MerchantFactory(circle=data.east, shop_name="水果王")
    db.session.commit()
    assert [row["id"] for row in search(liaison, q="水果")["results"]] == [starts.id, inside.id]


@pytest.mark.parametrize("params", [{"page": "abc"}, {"page": "-3"}, {"page": "9" * 30},
                                    {"q": "x" * 500}, {"page": "0"}])
def test_search_survives_junk_parameters(liaison, db, data, east_shop, params):
    result = search(liaison, **params)
    assert "results" in result and "pagination" in result
