"""No English on a Chinese page: every menu page, as each role, in zh_CN.

Walks the menu (and each list's create and first detail page) with the demo data, reads
what a person sees — text, tooltips (``title``), placeholders, labels for screen readers,
and the options of the list filters — and fails on any Latin word outside a short allowlist
(product names, units, file formats, the demo's usernames and e-mail addresses, 12345
work-order numbers).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from circle.demo import seed_demo

PASSWORD = "circle-demo-2024"
ROLES = {"admin": "admin", "specialist": "zhuanyuan", "liaison": "lianluo1",
         "staff": "huifang", "leader": "lingdao"}

#: Latin words a Chinese page may show: product and format names, units, the language
#: switch's "English", the demo's usernames.
ALLOWED = {
    "WeCom", "CSV", "XLSX", "API", "QR", "SMTP", "SLA", "ID", "IP", "URL", "HTTPS", "JSON",
    "OpenAPI", "Excel", "WPS", "UTF", "GBK", "PNG", "JPEG", "SVG", "PDF", "KB", "MB", "KiB",
    "MiB", "English", "Webhook", "api",
    # Browsers and devices, as their makers name them (the devices page).
    "Chrome", "Safari", "Firefox", "Edge", "iPhone", "iPad", "Windows", "Mac", "Linux",
    *ROLES.values(), "lianluo2", "lianluo3", "zhuanyuan2",
}
#: What is never a word: e-mail addresses, web addresses, work-order and ticket numbers
#: (letters and digits run together, e.g. GD-2024-0001), dates and file names.
NOT_WORDS = re.compile(
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+"  # e-mail
    r"|https?://\S+"  # web address
    r"|\b[A-Za-z]*\d[\w-]*\b"  # anything with a digit in it: codes, numbers, units with a value
    r"|\b[\w-]+\.(csv|xlsx|png|jpg|svg|pdf)\b")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: Attributes whose text a person reads.
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm")


class VisibleText(HTMLParser):
    """The text of a page a person reads: body text, the attributes above, select options;
    not scripts, styles or the hidden data Flask-Admin's scripts read (but the filter
    options among it, which its script turns into menus)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._skipping: list[str] = []
        self._data: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template") or (
                # Words a person types (file headers), marked as English on purpose.
                tag == "code" and (attrs.get("lang") or "").startswith("en")):
            self._skip += 1
            self._skipping.append(tag)
        # Data Flask-Admin's scripts turn into what people see: the filter menus, the
        # bulk actions' confirmations, a new inline form (escaped HTML).
        if attrs.get("id") in ("filter-groups-data", "actions-confirmation-data"):
            self._data = attrs["id"]
        if "inline-field-template" in (attrs.get("class") or ""):
            self._data = "inline-template"
        for name in READ_ATTRIBUTES:
            if attrs.get(name):
                if name == "aria-label" and "navbar-toggler" in (attrs.get("class") or ""):
                    # Flask-Admin writes "Toggle navigation"; circle/static/phone.js puts the
                    # page's word there (tests/browser/test_phone_lists.py checks it).
                    continue
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])
        if attrs.get("data-chart"):
            # A chart's legend and axis labels, which the canvas draws.
            chart = json.loads(attrs["data-chart"])
            self.parts.extend(str(label) for label in chart.get("labels", []))
            self.parts.extend(str(d.get("label", "")) for d in chart.get("datasets", []))

    def handle_endtag(self, tag):
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
            self._skip -= 1

    def handle_data(self, data):
        if self._data and data.strip():
            kind, self._data = self._data, None
            if kind == "filter-groups-data":
                self.parts.extend(_filter_menu_words(json.loads(data)))
            elif kind == "actions-confirmation-data":
                self.parts.extend(json.loads(data).values())
            else:
                inner = VisibleText()
                inner.feed(data)
                self.parts.extend(inner.parts)
            return
        if not self._skip:
            self.parts.append(data)


def _filter_menu_words(groups: dict):
    """What Flask-Admin's filter menu shows: each filter's name, operation and options."""
    for name, filters in groups.items():
        yield name
        for flt in filters:
            yield flt.get("operation") or ""
            for option in flt.get("options") or []:
                yield str(option[1])


#: Codes that slip past LATIN_WORD because they carry digits: ISO weeks (2026-W45).
CODES = re.compile(r"\b\d{4}-W\d{2}\b")


def english_words(html: str) -> list[str]:
    """The Latin words on a page outside the allowlist, each with its context."""
    parser = VisibleText()
    parser.feed(html)
    found = []
    for part in parser.parts:
        found += [f"{code!r} in {part.strip()[:80]!r}" for code in CODES.findall(part)]
        text = NOT_WORDS.sub(" ", part)
        for match in LATIN_WORD.finditer(text):
            if match.group() not in ALLOWED:
                found.append(f"{match.group()!r} in {part.strip()[:80]!r}")
    return found


LINK = re.compile(r'<a\b[^>]*\bhref="(/admin/[^"#]*)"', re.S)
MENU = re.compile(r'id="admin-navbar-collapse"(.*?)</nav>', re.S)


def menu_pages(html: str) -> list[str]:
    return sorted({href.replace("&amp;", "&") for href in LINK.findall(MENU.search(html).group(1))})


def login(app, username: str):
    """A test client signed in as ``username`` (CSRF on: the token is read from the form)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture
def demo_app(app):
    with app.app_context():
        seed_demo()
    return app


@pytest.mark.parametrize("role", list(ROLES))
def test_no_english_on_any_menu_page(demo_app, role):
    client = login(demo_app, ROLES[role])
    home = client.get("/admin/").get_data(as_text=True)
    pages = menu_pages(home)
    assert len(pages) >= 3
    seen, findings = set(), {}
    queue = ["/admin/", *pages]
    while queue:
        url = queue.pop(0)
        if url in seen or "logout" in url:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (302, 403, 404) or not response.mimetype == "text/html":
            continue
        html = response.get_data(as_text=True)
        words = english_words(html)
        if words:
            findings[url] = sorted(set(words))
        # One step further from each list: its create page and its first record.
        if url in pages and url.endswith("/"):
            for extra in (re.search(rf'href="({re.escape(url)}new/[^"]*)"', html),
                          re.search(rf'href="({re.escape(url)}details/\?id=[^"]*)"', html)):
                if extra:
                    queue.append(extra.group(1).replace("&amp;", "&"))
    assert not findings, "\n".join(f"{url}: {words}" for url, words in findings.items())


def test_our_own_chinese_for_the_phrases_people_see_daily(demo_app):
    client = login(demo_app, "admin")
    merchants = client.get("/admin/merchant/").get_data(as_text=True)
    assert "每页50条" in merchants and "项目" not in merchants
    assert "批量操作" in merchants and "选中的" not in merchants
    create = client.get("/admin/merchant/new/").get_data(as_text=True)
    assert "商户列表：新建" in create
    assert "添加紧急联系人" in create and "添加 紧急联系人" not in create
    assert "姓名" in create
    detail = client.get("/admin/merchant/details/?id=1").get_data(as_text=True)
    assert re.search(r"启用\s*</b>\s*</td>\s*<td>\s*是\s*</td>", detail), "启用 是"
    events = client.get("/admin/issue_event/").get_data(as_text=True)
    assert "签收" in events or "受理" in events
    assert re.search(r'<td class="col-action">\s*[a-z_]+\s*</td>', events) is None
