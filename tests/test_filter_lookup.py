"""Related filters over many rows are looked up as you type (issue #19): the list page carries
no options but the lookup's URL, the lookup answers the user's own rows only, by name."""

from __future__ import annotations

import json

import pytest

from circle.adminfilters import LOOKUP_MAX_LIMIT, LOOKUP_TYPE
from tests import factories as f
from tests.test_issue_filters import listed

CIRCLE, COMMUNITY = "商圈", "社区"


def filter_groups(html: str) -> dict:
    """The list page's filter data (``#filter-groups-data``), label → filters."""
    data = html.split('<div id="filter-groups-data" class="d-none">', 1)[1].split("</div>")[0]
    return json.loads(data)


def entry(browser, path: str, label: str = CIRCLE) -> dict:
    response = browser.get(path)
    assert response.status_code == 200, (path, response.status_code)
    (found,) = filter_groups(response.get_data(as_text=True))[label]
    return found


def lookup(browser, url: str, **params):
    """What the lookup at ``url`` (which names it: ``?name=…``) answers for ``params``."""
    path, _, name = url.partition("?name=")
    response = browser.get(path, query_string={"name": name, **params})
    assert response.status_code == 200, (url, params, response.status_code)
    return [tuple(pair) for pair in response.get_json()]


@pytest.fixture
def threshold(app):
    """Set ``CIRCLE_FILTER_INLINE_OPTIONS`` for the test."""
    def set_to(most: int):
        app.config["CIRCLE_FILTER_INLINE_OPTIONS"] = most
    return set_to


@pytest.fixture
def other(db, data):
    """A second community with a circle of its own, outside the first one's scope."""
    community = f.CommunityFactory(name="第二社区")
    circle = f.CircleFactory(name="南街商圈", community=community)
    db.session.commit()
    return circle


@pytest.mark.parametrize("path", ["/admin/issue/", "/admin/merchant/"])
def test_a_page_over_the_threshold_carries_the_lookup_not_the_circles(
        app, admin_browser, db, data, path):
    # The default threshold: 101 circles are more than a dropdown lists.
    assert app.config["CIRCLE_FILTER_INLINE_OPTIONS"] == 100
    for n in range(99):
        f.CircleFactory(name=f"清河街商圈{n:02d}", community=data.community)
    db.session.commit()
    html = admin_browser.get(path).get_data(as_text=True)
    (circle,) = filter_groups(html)[CIRCLE]
    assert circle["type"] == LOOKUP_TYPE and circle["options"] is None
    view = path.strip("/").split("/")[1]
    assert circle["url"] == f"/admin/{view}/ajax/lookup/?name=filter-{circle['arg']}"
    assert circle["labels"] == {}
    # No circle's name rides in the page (the community's two circles neither).
    assert "清河街商圈" not in html and "\\u6e05\\u6cb3" not in html
    assert "东街商圈" not in json.dumps(filter_groups(html), ensure_ascii=False)
    # The page loads the lookup script, with its translated texts.
    assert 'src="/static/filter-lookup.js"' in html and "data-no-matches=" in html


@pytest.mark.parametrize(("most", "inline"), [(2, True), (1, False)])
def test_the_threshold_counts_the_rows_the_user_may_see(
        admin_browser, threshold, data, other, most, inline):
    # The specialist sees the community's two circles, not the other community's.
    admin_browser.logout()
    admin_browser.login("specialist")
    threshold(most)
    circle = entry(admin_browser, "/admin/issue/")
    if inline:
        assert circle["options"] == [[str(data.east.id), "东街商圈"],
                                     [str(data.west.id), "西街商圈"]]
        assert circle.get("type") is None and "url" not in circle
    else:
        assert circle["options"] is None and circle["type"] == LOOKUP_TYPE


def test_the_lookup_matches_names_by_substring_in_order_and_pages(
        admin_browser, threshold, db, data):
    threshold(1)
    names = [f"清河街商圈{n}-20" for n in range(7)] + ["南湖商城"]
    for name in names:
        f.CircleFactory(name=name, community=data.community)
    db.session.commit()
    url = entry(admin_browser, "/admin/issue/")["url"]
    found = lookup(admin_browser, url, query="河街商", offset=0, limit=10)
    assert [name for _id, name in found] == sorted(n for n in names if "河街商" in n)
    # Paged by offset: the pages are the list, cut.
    pages = [lookup(admin_browser, url, query="河街商", offset=o, limit=3) for o in (0, 3, 6)]
    assert [pair for page in pages for pair in page] == found
    assert [len(page) for page in pages] == [3, 3, 1]
    # No text: every circle, by name.
    everything = lookup(admin_browser, url, query="", limit=50)
    assert [name for _id, name in everything] == sorted(names + ["东街商圈", "西街商圈"])
    # LIKE's wildcards are text like any other.
    assert lookup(admin_browser, url, query="%") == []
    assert lookup(admin_browser, url, query="商圈_") == []


@pytest.mark.parametrize("role", ["liaison", "specialist"])
def test_the_lookup_never_lists_rows_outside_the_users_scope(
        browser, threshold, data, other, role):
    threshold(0)  # every related filter is a lookup
    browser.login(role)
    circle = entry(browser, "/admin/issue/")
    found = lookup(browser, circle["url"], query="商圈")
    expected = {"liaison": ["东街商圈"], "specialist": ["东街商圈", "西街商圈"]}[role]
    assert [name for _id, name in found] == expected
    assert lookup(browser, circle["url"], query="南街") == []
    # The community filter too: the user's own community only.
    community = entry(browser, "/admin/issue/", COMMUNITY)
    assert community["type"] == LOOKUP_TYPE
    assert lookup(browser, community["url"], query="社区") == [
        (str(data.community.id), "恒大社区")]
    # A chosen circle of another community shows no name either.
    chosen = entry(browser, f"/admin/issue/?flt0_{circle['arg']}={other.id}")
    assert chosen["labels"] == {}


@pytest.mark.parametrize("params", [
    {"offset": "-1"}, {"offset": "abc"}, {"offset": "99999999999999999999"},
    {"limit": "0"}, {"limit": "-5"}, {"limit": "1000000"}, {"limit": "x"},
    {"query": "商" * 5000}, {"query": "' OR 1=1 --"},
])
def test_bad_lookup_arguments_answer_a_page_not_500(admin_browser, threshold, data, params):
    threshold(1)
    url = entry(admin_browser, "/admin/issue/")["url"]
    found = lookup(admin_browser, url, **params)
    assert len(found) <= LOOKUP_MAX_LIMIT
    if "query" not in params:  # a bad offset or limit reads the first page
        assert [name for _id, name in found] == ["东街商圈", "西街商圈"]


def test_a_control_character_is_refused_with_the_apps_message(admin_browser, threshold, data):
    threshold(1)
    path, _, name = entry(admin_browser, "/admin/issue/")["url"].partition("?name=")
    response = admin_browser.get(path, query_string={"name": name, "query": "东\x00"})
    assert response.status_code == 400 and "东街商圈" not in response.get_data(as_text=True)


def test_an_unknown_lookup_is_not_found(admin_browser, data):
    assert admin_browser.get("/admin/issue/ajax/lookup/?name=filter-nope").status_code == 404


def test_an_active_filter_shows_its_rows_name_and_still_filters(
        admin_browser, threshold, db, data):
    threshold(1)
    east_issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    west_issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.west))
    db.session.commit()
    arg = entry(admin_browser, "/admin/issue/")["arg"]
    query = f"flt0_{arg}={data.east.id}"
    circle = entry(admin_browser, f"/admin/issue/?{query}")
    assert circle["labels"] == {str(data.east.id): "东街商圈"}
    assert listed(admin_browser, query) == {east_issue.id}
    assert listed(admin_browser, f"flt0_{arg}={data.west.id}") == {west_issue.id}
    # Two instances of the filter, each named; a value that is no id names nothing.
    both = entry(admin_browser, f"/admin/issue/?{query}&flt1_{arg}={data.west.id}"
                                f"&flt2_{arg}=abc")
    assert both["labels"] == {str(data.east.id): "东街商圈", str(data.west.id): "西街商圈"}


def test_a_lookup_answers_only_those_who_may_open_its_list(client, browser, threshold, data):
    threshold(0)
    browser.login("admin")
    url = entry(browser, "/admin/user/", COMMUNITY)["url"]  # accounts: administrators only
    assert lookup(browser, url, query="恒大") == [(str(data.community.id), "恒大社区")]
    browser.logout()
    path, _, name = url.partition("?name=")
    anonymous = client.get(path, query_string={"name": name, "query": "恒大"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    browser.login("liaison")
    refused = client.get(path, query_string={"name": name, "query": "恒大"})
    assert refused.status_code == 403 and "恒大社区" not in refused.get_data(as_text=True)
