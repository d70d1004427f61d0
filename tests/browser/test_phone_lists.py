"""Every admin list at 390×844 as the administrator: no horizontal overflow, no column one
character wide, the row actions in reach; and the folded navbar names the product and the
signed-in user."""

from __future__ import annotations

from flask_admin.contrib.sqla import ModelView

PHONE = (390, 844)

#: For every cell with text: how wide it is, and how wide its widest character is.
NARROW_CELLS = """() => {
  const narrow = [];
  document.querySelectorAll("table.model-list td, table.model-list th").forEach((cell) => {
    const text = cell.innerText.trim();
    if (text.length < 2 || cell.offsetParent === null) return;
    const width = cell.getBoundingClientRect().width;
    const font = parseFloat(getComputedStyle(cell).fontSize);
    if (width < 3 * font) {
      narrow.push(`${cell.className || cell.tagName}: ${width}px "${text.slice(0, 20)}"`);
    }
  });
  return narrow;
}"""

#: Short labels of the menu bar (list, create, filters, search…) broken over several lines.
WRAPPED_LABELS = """() => {
  const wrapped = [];
  document.querySelectorAll(".nav-tabs a, .nav-tabs button").forEach((el) => {
    const text = el.innerText.trim();
    if (text.length < 2 || text.length > 12 || el.offsetParent === null) return;
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
    if (tops.size > 1) wrapped.push(`"${text}" on ${tops.size} lines`);
  });
  return wrapped;
}"""

#: The row actions of the first row: each one visible, inside the screen, big enough to tap.
ACTIONS = """() => {
  const row = document.querySelector("table.model-list td.list-buttons-column");
  if (!row) return null;
  return Array.from(row.querySelectorAll("a.icon, form.icon button")).map((el) => {
    const box = el.getBoundingClientRect();
    return {left: box.left, right: box.right, width: box.width, height: box.height};
  });
}"""


def list_urls(app) -> list[str]:
    """The index of every model list the admin menu offers."""
    with app.test_request_context():
        admin = app.extensions["admin"][0]
        return sorted({view.url + "/" for view in admin._views
                       if isinstance(view, ModelView) and view.url.startswith("/admin/")})


def test_every_admin_list_is_readable_on_a_phone(open_session, live_server):
    app, _base = live_server
    session = open_session("admin", viewport=PHONE)
    session.login("admin")
    urls = list_urls(app)
    assert len(urls) >= 15, urls
    problems = {}
    for url in urls:
        response = session.goto(url)
        assert response.status == 200, url
        page = session.page
        found = []
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE[0]:
            found.append(f"page is {width}px wide")
        found += page.evaluate(NARROW_CELLS)
        found += page.evaluate(WRAPPED_LABELS)
        for box in page.evaluate(ACTIONS) or []:
            if box["left"] < 0 or box["right"] > PHONE[0]:
                found.append(f"row action off screen: {box}")
            if box["width"] < 32 or box["height"] < 32:
                found.append(f"row action too small to tap: {box}")
        if found:
            problems[url] = found
        if url in ("/admin/issue/", "/admin/merchant/"):
            session.folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(session.folder / (url.strip("/").replace("/", "-")
                                                       + ".png")))
    assert problems == {}


def test_the_folded_navbar_names_the_product_and_the_user(open_session):
    session = open_session("liaison", viewport=PHONE)
    session.login("lianluo1")
    session.goto("/admin/issue/")
    page = session.page
    assert not page.locator("#admin-navbar-collapse").is_visible()
    # The toggle is labelled in the page's language (Flask-Admin writes English).
    assert page.locator(".navbar-toggler").get_attribute("aria-label") == "菜单"
    identity = page.locator("[data-mobile-id]")
    assert identity.is_visible()
    text = identity.inner_text()
    assert "红色商业圈" in text, text
    assert len(text.replace("红色商业圈", "").strip()) >= 2, text  # the user's name
    box = identity.bounding_box()
    toggler = page.locator(".navbar-toggler").bounding_box()
    # In the navbar's top row, beside the toggle, inside the screen.
    assert box["x"] >= toggler["x"] + toggler["width"] - 1
    assert box["x"] + box["width"] <= PHONE[0]
    assert abs((box["y"] + box["height"] / 2) - (toggler["y"] + toggler["height"] / 2)) < 12
    session.folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(session.folder / "navbar.png"))
