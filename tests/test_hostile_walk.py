"""Every route, every admin list's filters, sorts, pages and searches, with hostile values.

The walk is generic: it reads the routes from ``app.url_map`` and the filters, sortable
columns and actions from the admin views themselves, and the query and form parameters
each page uses from the page it renders, so routes added later are walked too. As every
role (and signed out), on whichever database the suite runs on, nothing may answer 5xx.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest

from tests.conftest import Browser, csrf_token_from

#: Values that reach code expecting an id, a number, a date, a choice or plain text: the
#: classes the probes of issue #18 found, and more of the same kind.
HOSTILE = [
    "²", "１２", "٣", "𝟗",                            # digits to str.isdigit, not to int()
    "2147483648", "-2147483649", "9223372036854775808", "1" * 40, "-1", "+1", " 1",
    "1_000", "1e308", "NaN", "", "\x00", "a\x00b", "\x1f", "\u202e", "\ud7ff", "%", "'",
    "/\\evil.example", "<script>", "2024-02-30", "0000-00-00 to 0000-00-00", "a" * 300,
]
#: The sharpest of them, tried on each parameter on its own (the full corpus is tried on
#: all of a page's parameters at once).
SHARP = ["²", "9223372036854775808"]
#: Parameters every page is tried with besides those it shows.
COMMON_PARAMS = ["id", "page", "page_size", "sort", "desc", "search", "next", "url"]

ROLES = ["anonymous", "admin", "zhuanyuan", "lianluo1", "huifang"]
#: Routes whose purpose is to end or change the walking session itself.
SKIP_ENDPOINTS = {"static", "auth.logout"}


def _path_with(rule, value: str) -> str:
    """The rule's path with every variable part replaced by ``value`` (URL-quoted)."""
    return re.sub(r"<[^>]+>", quote(value, safe=""), rule.rule)


def _sample_path(rule) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>",
                  lambda m: "1" if m.group(1) in ("int", None) and m.group(2) != "code"
                  else ("csv" if "extension" in m.group(2) or "type" in m.group(2)
                        else "zh_CN"),
                  rule.rule)


_HREF = re.compile(r'href="([^"]+)"')
_FORM = re.compile(r'<form\b([^>]*)>(.*?)</form>', re.S | re.I)
_POST = re.compile(r'\bmethod="post"', re.I)
_FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')


def _params_of(html: str, path: str) -> tuple[set[str], set[str]]:
    """The page's query parameters (of its links to itself and its GET forms) and the
    fields of its POST forms."""
    query, posted = set(), set()
    for attributes, body in _FORM.findall(html):
        (posted if _POST.search(attributes) else query).update(_FIELD.findall(body))
    for href in _HREF.findall(html):
        parts = urlsplit(unescape(href))
        if parts.path == path:
            query.update(key for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    query.discard("csrf_token")
    posted.discard("csrf_token")
    return query, posted


def _admin_view_of(app, endpoint: str):
    blueprint = endpoint.split(".")[0]
    for admin in app.extensions.get("admin", []):
        for view in admin._views:
            if view.endpoint == blueprint:
                return view
    return None


def _list_params(view) -> set[str]:
    """The filter, sort and paging parameters a model view understands."""
    params = {"page", "page_size", "sort", "desc", "search"}
    filter_args = getattr(view, "_filter_args", None) or {}
    params.update(f"flt0_{key}" for key in filter_args)
    return params


class Walker:
    """One role's walk, collecting every 5xx as (method, url, params, status)."""

    def __init__(self, app, browser: Browser):
        self.app, self.browser, self.failures, self.requests = app, browser, [], 0
        self.token = None

    def _check(self, method, url, params, response):
        self.requests += 1
        if response.status_code >= 500:
            self.failures.append((method, url, params, response.status_code))

    def get(self, url, params=None):
        query = urlencode(params or {})
        response = self.browser.client.get(url + ("?" + query if query else ""))
        self._check("GET", url, params, response)
        return response

    def post(self, url, data):
        payload = dict(data)
        if self.token:
            payload["csrf_token"] = self.token
        response = self.browser.client.post(url, data=payload)
        self._check("POST", url, data, response)
        return response

    def walk(self):
        rules = [r for r in self.app.url_map.iter_rules()
                 if r.endpoint not in SKIP_ENDPOINTS and not r.endpoint.endswith(".static")]
        page = self.browser.client.get("/login", follow_redirects=True)
        self.token = csrf_token_from(page.get_data(as_text=True))
        for rule in rules:
            self.walk_rule(rule)

    def walk_rule(self, rule):
        view = _admin_view_of(self.app, rule.endpoint)
        sample = _sample_path(rule)
        query, posted = set(COMMON_PARAMS), set()
        variable = "<" in rule.rule
        if "GET" in rule.methods:
            page = self.get(sample)
            if _closed(page):
                return self.walk_closed(rule, variable)
            if page.status_code == 200 and page.mimetype == "text/html":
                found_query, posted = _params_of(page.get_data(as_text=True), sample)
                query |= found_query
        if view is not None and rule.endpoint.endswith(".index_view"):
            query |= _list_params(view)
            sortable = len(getattr(view, "_list_columns", []) or [])
            for sort in range(-1, sortable + 2):
                self.get(sample, {"sort": sort, "desc": 1})
        actions = [name for name, _ in getattr(view, "_actions", [])] if view else []
        everything = sorted(query | posted)
        for value in HOSTILE:
            path = _path_with(rule, value) if variable else sample
            if "GET" in rule.methods:
                self.get(path, dict.fromkeys(sorted(query), value))
            if "POST" in rule.methods:
                self.post(path, dict.fromkeys(everything, value))
                for action in actions:
                    self.post(path, {"action": action, "rowid": value})
        if "GET" in rule.methods:
            # One sharp value at a time, the others absent. List filters (``flt…``) are not
            # needed here: each is validated on its own, so the requests above, which set
            # them all at once, already reach every one.
            for value in SHARP:
                for name in sorted(query):
                    if not name.startswith("flt"):
                        self.get(sample, {name: value})

    def walk_closed(self, rule, variable):
        """A page this role may not open answers before it reads any parameter: the
        hostile values go into its path and, all at once, into its query and form."""
        for value in HOSTILE:
            path = _path_with(rule, value) if variable else _sample_path(rule)
            params = dict.fromkeys(COMMON_PARAMS, value)
            self.get(path, params)
            if "POST" in rule.methods:
                self.post(path, params)


def _closed(response) -> bool:
    """Refused to this role (or to the signed-out visitor) before the page ran."""
    return response.status_code in (401, 403) or (
        response.status_code == 302 and urlsplit(response.location).path == "/login")


@pytest.fixture
def demo(db):
    from circle.demo import seed_demo

    seed_demo()
    db.session.commit()


@pytest.mark.parametrize("role", ROLES)
def test_no_hostile_value_reaches_a_5xx(app, client, demo, role):
    from flask import got_request_exception

    from circle.demo import DEMO_PASSWORD

    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is an answer to count, not a stop
    errors = []
    got_request_exception.connect(lambda sender, exception, **kw: errors.append(exception),
                                  app, weak=False)
    browser = Browser(client)
    if role != "anonymous":
        assert browser.login(role, DEMO_PASSWORD).status_code == 302
    walker = Walker(app, browser)
    walker.walk()
    assert walker.requests > 1000
    kinds = sorted({f"{type(e).__name__}: {str(e)[:150]}" for e in errors})
    shown = "\n".join([repr(f) for f in walker.failures[:40]] + kinds[:40])
    assert not walker.failures, f"{len(walker.failures)} of {walker.requests} requests:\n{shown}"


@pytest.mark.parametrize("field", ["username", "password"])
def test_nul_in_the_login_form_is_refused_with_a_message(browser, data, field):
    payload = {"username": "staff", "password": "correct-horse-battery", field: "st\x00aff"}
    response = browser.submit("/login", payload)
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


def test_nul_in_a_search_is_refused_with_a_message(admin_browser):
    response = admin_browser.get("/admin/merchant/?search=a%00b")
    assert response.status_code == 400
    assert "控制字符" in response.get_data(as_text=True)


@pytest.mark.parametrize("value,expected", [
    ("1", 1), ("2147483647", 2147483647), ("2147483648", None), ("²", None), ("１２", None),
    ("-1", None), ("+1", None), (" 1", None), ("1_000", None), ("", None), (None, None),
    (7, 7), (True, None), ("0", None),
])
def test_parse_id(value, expected):
    from circle.inputs import parse_id

    assert parse_id(value) == expected


@pytest.mark.parametrize("method,path,status", [
    ("DELETE", "/api/v1/issues", 405), ("PUT", "/api/v1/events", 405),
    ("GET", "/api/v1/nothing-here", 404), ("GET", "/api/unknown", 404),
])
def test_unknown_api_methods_and_paths_answer_in_the_json_shape(client, db, method, path,
                                                                status):
    from tests.test_api import bearer, seed_api_world

    world = seed_api_world()
    anonymous = client.open(path, method=method)
    assert anonymous.status_code in (401, status)
    assert set(anonymous.get_json()["error"]) == {"code", "message", "fields"}
    response = client.open(path, method=method, headers=bearer(world.secret))
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    if status == 405:
        assert "GET" in response.headers["Allow"]
