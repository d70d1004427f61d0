"""Every admin list at 390×844 as the administrator: no horizontal overflow, no column one
character wide, the row actions in reach, the filters in a drawer; and the folded navbar names
the product and the signed-in user."""

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


#: The filter drawer's state: what a phone user sees and what assistive technology is told.
DRAWER = """() => {
  const drawer = document.querySelector("#filter-drawer");
  const button = document.querySelector("[data-filter-drawer-open]");
  const visible = (el) => !!el && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const box = drawer.getBoundingClientRect();
  return {
    open: visible(drawer), formShown: visible(document.querySelector("#filter_form")),
    expanded: button.getAttribute("aria-expanded"), controls: button.getAttribute("aria-controls"),
    role: drawer.getAttribute("role"), modal: drawer.getAttribute("aria-modal"),
    title: drawer.querySelector("#" + drawer.getAttribute("aria-labelledby")).innerText.trim(),
    focusInside: drawer.contains(document.activeElement),
    focusOnButton: document.activeElement === button,
    addFilterShown: visible(drawer.querySelector(".filter-drawer-add [data-toggle=dropdown]")),
    toolbarMenuShown: visible(document.querySelector(".nav-tabs .field-filters")
                                .previousElementSibling),
    left: box.left, right: box.right,
    scrollWidth: document.documentElement.scrollWidth,
  };
}"""


#: The drawer has finished sliding in.
SLID_IN = """() => document.querySelector("#filter-drawer").getAnimations().length === 0"""


def drawer_problems(page) -> list[str]:
    """Open the list's filter drawer with its button and close it with Escape: what went
    wrong on the way."""
    found = []
    button = page.locator("[data-filter-drawer-open]")
    closed = page.evaluate(DRAWER)
    if closed["open"] or closed["formShown"] or closed["toolbarMenuShown"]:
        found.append(f"filters shown before the button is tapped: {closed}")
    if not button.is_visible():
        return found + ["no filter button"]
    button.click()
    page.wait_for_function(SLID_IN)
    state = page.evaluate(DRAWER)
    expected = {"open": True, "formShown": True, "expanded": "true",
                "controls": "filter-drawer", "role": "dialog", "modal": "true",
                "focusInside": True, "addFilterShown": True}
    wrong = {key: state[key] for key in expected if state[key] != expected[key]}
    if wrong:
        found.append(f"drawer open but {wrong}")
    if len(state["title"]) < 2:
        found.append(f"drawer title {state['title']!r}")
    if state["left"] < 0 or state["right"] > PHONE[0] + 0.5 or state["scrollWidth"] > PHONE[0]:
        found.append(f"drawer overflows: {state}")
    page.keyboard.press("Escape")
    state = page.evaluate(DRAWER)
    if state["open"] or state["expanded"] != "false" or not state["focusOnButton"]:
        found.append(f"Escape left {state}")
    return found


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
    with_filters = 0
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
        if page.locator("#filter_form").count():
            with_filters += 1
            found += drawer_problems(page)
        if found:
            problems[url] = found
        if url in ("/admin/issue/", "/admin/merchant/"):
            session.folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(session.folder / (url.strip("/").replace("/", "-")
                                                       + ".png")))
    assert problems == {}
    assert with_filters >= 10, with_filters
    session.assert_clean("after the walk")


def test_filters_in_a_drawer_narrow_a_list_on_a_phone(open_session):
    """Open the drawer, add "status group = open", apply: fewer issues, and the button
    counts the filter; the backdrop closes the drawer."""
    session = open_session("admin", viewport=PHONE)
    session.login("admin")
    session.goto("/admin/issue/")
    page = session.page
    tab = page.locator(".nav-tabs .nav-link.active")
    everything = int(tab.inner_text().split("(")[1].rstrip(")"))
    button = page.locator("[data-filter-drawer-open]")
    assert button.inner_text().strip() == "筛选"
    assert not page.locator("#filter_form").is_visible()
    button.click()
    page.wait_for_function(SLID_IN)
    drawer = page.locator("#filter-drawer")
    assert drawer.is_visible()
    drawer.locator(".filter-drawer-add [data-toggle=dropdown]").click()
    drawer.locator(".filter-drawer-add a.filter", has_text="状态分组").click()
    row = drawer.locator("table.filters tr").last
    row.locator("a.select2-choice").last.click()  # the value's select box (select2)
    page.locator(".select2-drop-active .select2-result-selectable", has_text="未办结").click()
    session.shot("drawer-with-filter")
    session.no_horizontal_scroll()
    with page.expect_navigation():
        drawer.locator("#filter_form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    session.assert_clean("filtered list")
    narrowed = int(tab.inner_text().split("(")[1].rstrip(")"))
    assert 0 < narrowed < everything, (narrowed, everything)
    assert button.inner_text().strip() == "筛选 (1)"
    assert not page.locator("#filter_form").is_visible()
    button.click()
    page.wait_for_function(SLID_IN)
    assert drawer.locator("table.filters tr").count() == 1
    session.no_horizontal_scroll()
    session.shot("drawer-reopened")
    page.mouse.click(10, 400)  # the backdrop, left of the drawer
    assert not drawer.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    session.assert_clean("after the drawer")


def test_filters_stay_in_the_toolbar_on_a_desktop(open_session):
    session = open_session("admin")
    session.login("admin")
    session.goto("/admin/issue/")
    page = session.page
    assert not page.locator("[data-filter-drawer-open]").is_visible()
    assert not page.locator(".filter-drawer-head").is_visible()
    assert not page.locator(".filter-drawer-add").is_visible()
    page.locator(".nav-tabs [data-toggle=dropdown]", has_text="添加筛选器").click()
    page.locator(".nav-tabs a.filter", has_text="状态分组").click()
    assert page.locator("#filter_form table.filters tr").count() == 1
    assert page.locator("#filter_form").is_visible()


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
