"""List pages do only the work their rows need (issue #19): the columns shown, filter
options as (id, name) pairs, row icons and labels rendered once per page, not per row."""

import json
import re

import pytest

from tests import factories as f
from tests.sqlspy import recorded_sql


def filter_options(html: str) -> set[str]:
    """Every option label the list's filters offer (their JSON data on the page)."""
    data = html.split('<div id="filter-groups-data" class="d-none">', 1)[1].split("</div>")[0]
    return {label for filters in json.loads(data).values() for flt in filters
            for _value, label in (flt.get("options") or ())}


def _issues(data, n):
    merchant = f.MerchantFactory(circle=data.east, shop_name="冻品店")
    return [f.IssueFactory(merchant=merchant, description=f"门店跳闸 {i}") for i in range(n)]


def _page_statements(statements) -> tuple[list, list]:
    """The statements that read the page (with a LIMIT) and those that read rows by key."""
    # (Filter options are read with a LIMIT too, from issue_category and others.)
    page = [s for s in statements if "LIMIT" in s.upper() and re.search(r"FROM issue\b", s)
            and "count(" not in s.lower()]
    by_key = [s for s in statements if "FROM issue" in s and " IN (" in s
              and "issue.work_order_no" in s]
    return page, by_key


def _shows_only_its_columns(statement) -> None:
    # The rows with the columns shown, and the merchant, circle, category and assignee
    # joined to them, in the same query.
    assert "issue.status" in statement and "merchant" in statement
    assert "business_circle" in statement
    # The description, the deadlines and forty other columns are not shown: not read.
    assert "issue.description" not in statement and "issue.resolution_due_at" not in statement


def test_issue_page_loads_only_the_columns_shown(app, admin_browser, db, data):
    _issues(data, 23)
    db.session.commit()
    # The first page (no OFFSET): one statement, the rows with the columns shown.
    with recorded_sql(app, db) as statements:
        html = admin_browser.get("/admin/issue/?page_size=20").get_data(as_text=True)
    page, by_key = _page_statements(statements)
    assert len(page) == 1 and not by_key, statements
    _shows_only_its_columns(page[0])
    assert "冻品店" in html and "已登记" in html  # the merchant and the status label
    # A later page selects the keys alone (an OFFSET skips index entries), then those rows.
    with recorded_sql(app, db) as statements:
        html = admin_browser.get("/admin/issue/?page=1&page_size=20").get_data(as_text=True)
    page, by_key = _page_statements(statements)
    assert len(page) == 1 and len(by_key) == 1, statements
    assert " ".join(page[0].split()).startswith("SELECT issue.id AS issue_id FROM issue ")
    _shows_only_its_columns(by_key[0])
    assert html.count("门店跳闸") == 0 and html.count("冻品店") == 3


def test_page_rows_keep_the_lists_order(admin_browser, db, data):
    """Rows read by their keys come back in the list's order, whatever the sort."""
    merchant_b = f.MerchantFactory(circle=data.east, shop_name="乙店")
    merchant_a = f.MerchantFactory(circle=data.west, shop_name="甲店")
    issues = [f.IssueFactory(merchant=merchant_b, work_order_no=f"2611{i:02d}", level=level)
              for i, level in enumerate((2, 1, 3))]
    issues += [f.IssueFactory(merchant=merchant_a, work_order_no=f"2612{i:02d}", level=level)
               for i, level in enumerate((1, 3, 2))]
    db.session.commit()

    def shown(query=""):
        html = admin_browser.get("/admin/issue/" + query).get_data(as_text=True)
        return [number for number in (issue.work_order_no for issue in issues)
                if number in html] and sorted(
            (html.index(issue.work_order_no), issue.work_order_no) for issue in issues)

    newest_first = [number for _at, number in shown()]
    assert newest_first == [issue.work_order_no for issue in reversed(issues)]
    # Sorted by the level (column 6: sortable), ascending and descending, ties by nothing
    # in particular: every row is there once, in an order the sort allows.
    levels = {issue.work_order_no: issue.level for issue in issues}
    for query, descending in (("?sort=6", False), ("?sort=6&desc=1", True)):
        order = [number for _at, number in shown(query)]
        assert sorted(order) == sorted(levels)
        assert [levels[n] for n in order] == sorted(levels.values(), reverse=descending)
    # The work-order number (column 1) is not sortable: the default order, not none.
    assert [number for _at, number in shown("?sort=1&desc=1")] == newest_first


def test_list_queries_do_not_grow_with_the_rows(app, admin_browser, db, data):
    """Whatever a row shows (merchant, circle, assignee, labels) is loaded per page."""
    _issues(data, 2)
    db.session.commit()
    with recorded_sql(app, db) as few:
        admin_browser.get("/admin/issue/")
    _issues(data, 12)
    db.session.commit()
    with recorded_sql(app, db) as many:
        admin_browser.get("/admin/issue/")
    assert len(many) == len(few)


@pytest.mark.parametrize("path", ["/admin/issue/", "/admin/merchant/"])
def test_circle_filter_options_are_pairs_not_rows(app, admin_browser, db, data, path):
    with recorded_sql(app, db) as statements:
        html = admin_browser.get(path).get_data(as_text=True)
    circles = [s for s in statements if "FROM business_circle" in s and "ORDER BY" in s]
    assert circles and all("business_circle.description" not in s for s in circles)
    # Asked once per page, however often Flask-Admin reads the options.
    assert len(circles) == 1
    assert {"东街商圈", "西街商圈"} <= filter_options(html)


@pytest.mark.parametrize("path, tables", [
    ("/admin/issue/", ("business_circle", "community", "street", "issue_category",
                       "issue_source")),
    ("/admin/merchant/", ("business_circle", "community", "street")),
])
def test_every_filters_options_are_read_in_one_statement(app, admin_browser, db, data,
                                                        path, tables):
    """A list page offers several tables' rows as filter options: one round trip."""
    with recorded_sql(app, db) as statements:
        html = admin_browser.get(path).get_data(as_text=True)
    reading = [s for s in statements if any(f"FROM {table} " in s or f"FROM {table}\n" in s
                                            for table in tables) and "ORDER BY" in s]
    assert len(reading) == 1, reading
    assert all(f"FROM {table}" in reading[0] for table in tables)
    options = filter_options(html)
    assert {"东街商圈", "西街商圈", data.community.name, data.community.street.name} <= options


def test_filter_options_stay_within_the_users_circles(browser, db, data):
    browser.login("liaison")  # a liaison of the east circle only
    options = filter_options(browser.get("/admin/merchant/").get_data(as_text=True))
    assert "东街商圈" in options and "西街商圈" not in options


def test_row_icons_link_each_row_and_delete_carries_the_token(admin_browser, db, data):
    merchants = [f.MerchantFactory(circle=data.east) for _ in range(3)]
    db.session.commit()
    ids = [merchant.id for merchant in merchants]
    html = admin_browser.get("/admin/merchant/").get_data(as_text=True)
    for merchant_id in ids:
        assert f'/admin/merchant/details/?id={merchant_id}&amp;url=' in html
        assert f'/admin/merchant/edit/?id={merchant_id}&amp;url=' in html
        assert f'name="id" type="hidden" value="{merchant_id}"' in html
    assert html.count('title="查看记录"') == 3 and html.count('title="编辑记录"') == 3
    assert 'data-confirm="你确定要删除这条记录吗？"' in html  # Chinese, as before
    # The delete icon's own form (the token it carries) deletes the row.
    target = ids[1]
    form_start = html.index(f'name="id" type="hidden" value="{target}"')
    form = html[html.rindex("<form", 0, form_start):html.index("</form>", form_start)]
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = admin_browser.client.post("/admin/merchant/delete/", data={
        "id": str(target), "url": "/admin/merchant/", "csrf_token": token})
    assert answer.status_code == 302
    remaining = admin_browser.get("/admin/merchant/").get_data(as_text=True)
    assert f"edit/?id={target}&amp;" not in remaining
    assert f"edit/?id={ids[0]}&amp;" in remaining


def test_a_forged_delete_from_the_list_changes_nothing(admin_browser, db, data):
    merchant_id = f.MerchantFactory(circle=data.east).id
    db.session.commit()
    answer = admin_browser.client.post("/admin/merchant/delete/", data={
        "id": str(merchant_id), "url": "/admin/merchant/", "csrf_token": "forged"})
    assert answer.status_code in (302, 400)
    html = admin_browser.get("/admin/merchant/").get_data(as_text=True)
    assert f"edit/?id={merchant_id}&amp;" in html


def test_issue_numbers_link_to_each_issues_desk(admin_browser, db, data):
    issues = _issues(data, 3)
    db.session.commit()
    html = admin_browser.get("/admin/issue/").get_data(as_text=True)
    for issue in issues:
        assert f'<a href="/admin/desk/{issue.id}">#{issue.id}</a>' in html


def test_phones_masked_in_the_list_for_a_user_without_the_right(browser, db, data):
    f.MerchantFactory(circle=data.east, phone="13812345678")
    db.session.commit()
    browser.login("liaison")
    html = browser.get("/admin/merchant/").get_data(as_text=True)
    assert "138****5678" in html and "13812345678" not in html
    browser.logout()
    browser.login("specialist")
    html = browser.get("/admin/merchant/").get_data(as_text=True)
    assert '<a href="tel:13812345678">13812345678</a>' in html


def test_labels_follow_the_language_of_each_request(admin_browser, db, data):
    _issues(data, 1)
    db.session.commit()
    assert "已登记" in admin_browser.get("/admin/issue/").get_data(as_text=True)
    admin_browser.submit("/lang/en", {}, form_url="/admin/issue/")
    html = admin_browser.get("/admin/issue/").get_data(as_text=True)
    assert "Registered" in html and "已登记" not in html
