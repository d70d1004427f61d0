"""The benchmark harness (bench/) keeps working: its pure parts, without timing anything."""

import json

import pytest

from bench import driver, report, run

LOGIN_PAGE = """<html><body>
<form method="post" novalidate>
  <input id="csrf_token" name="csrf_token" type="hidden" value="tok-main">
  <input name="username"><input name="password" type="password">
</form>
<form method="post" action="/lang/en">
  <input type="hidden" name="csrf_token" value="tok-lang">
</form></body></html>"""

FILTER_GROUPS = {
    "层级": [{"arg": "3", "index": 3, "operation": "等于",
              "options": [["1", "一级"], ["2", "二级"]]}],
    "商圈": [{"arg": "0", "index": 0, "operation": "等于",
              "options": [["2", "东街商圈"], ["1", "西街商圈"]]}],
    "状态": [{"arg": "2", "index": 2, "operation": "等于",
              "options": [["registered", "已登记"], ["closed", "已办结"]]}],
    "登记时间": [{"arg": "7", "index": 7, "operation": "等于", "options": [],
                 "type": "datetimepicker"}],
}

LIST_PAGE = ('<div id="filter-groups-data" class="d-none">'
             + json.dumps(FILTER_GROUPS, ensure_ascii=False) + "</div>")

REGISTER_PAGE = """<form method="post">
<input id="csrf_token" name="csrf_token" type="hidden" value="tok">
<select name="merchant"><option value=""></option></select>
<select name="category"><option value="">选择…</option><option value="3">供电</option>
  <option value="5">供水</option></select>
<select name="source"><option value="">选择…</option>
  <option value="1" data-hotline="1">12345</option><option value="2">联络员上报</option></select>
</form>"""


@pytest.mark.parametrize("values, p, expected", [
    ([], 50, None),
    ([7.0], 95, 7.0),
    ([1, 2, 3, 4], 50, 2.5),
    ([4, 1, 3, 2], 0, 1),
    ([4, 1, 3, 2], 100, 4),
    (list(range(1, 101)), 95, 95.05),
])
def test_percentile(values, p, expected):
    assert driver.percentile(values, p) == pytest.approx(expected)


def test_csrf_token_comes_from_the_first_form():
    assert driver.csrf_token(LOGIN_PAGE) == "tok-main"
    with pytest.raises(ValueError):
        driver.csrf_token("<form></form>")


def test_filter_query_finds_filters_by_option_not_by_position():
    groups = json.loads(driver.parse_page(LIST_PAGE).filter_data)
    # "1" is also a level: the circle's name tells the two apart.
    assert driver.filter_query(groups, [("1", "西街商圈"), ("closed", "")]) == {
        "flt0_0": "1", "flt1_2": "closed"}
    with pytest.raises(LookupError):
        driver.filter_query(groups, [("99", "无此商圈")])


def test_filter_query_asks_a_lookup_filter_for_its_rows():
    groups = {"商圈": [{"arg": "0", "index": 0, "operation": "等于", "options": None,
                        "type": driver.LOOKUP_TYPE, "labels": {},
                        "url": "/admin/issue/ajax/lookup/?name=filter-0"}],
              "状态": FILTER_GROUPS["状态"]}
    asked = []

    def lookup(flt, label):
        asked.append((flt["url"], label))
        return [["1", "西街商圈"], ["12", "西街商圈二"]] if "西街" in label else []

    assert driver.filter_query(groups, [("1", "西街商圈"), ("closed", "")], lookup) == {
        "flt0_0": "1", "flt1_2": "closed"}
    assert asked == [("/admin/issue/ajax/lookup/?name=filter-0", "西街商圈"),
                     ("/admin/issue/ajax/lookup/?name=filter-0", "")]
    with pytest.raises(LookupError):
        driver.filter_query(groups, [("99", "无此商圈")], lookup)


def test_registration_form_choices():
    form = driver.registration_form(REGISTER_PAGE)
    assert form == {"csrf_token": "tok", "categories": ["3", "5"],
                    "sources": [("1", True), ("2", False)]}


def _page(p50, p95, errors=0):
    return {"n": 200, "errors": errors, "p50": p50, "p95": p95, "url": "/admin/issue/",
            "urls": 1, "user": "bench-admin"}


def test_table_marks_targets_and_growth():
    small = {"size": 10_000, "workers": 2,
             "latency": {"list_page1": _page(20, 40), "dashboard": _page(100, 200)},
             "register": {"per_second": 140.0, "errors": 0, "lost": 0, "registered": 800,
                          "seconds": 5.7, "clients": 8, "p50": 50, "p95": 90,
                          "rows_before": 10_000, "rows_after": 10_800, "error_kinds": {}},
             "export": {"csv": {"ok": True, "status": 200, "seconds": 1.5, "bytes": 2e6,
                                "rows": 8000, "first_byte": 0.2, "peak_rss_mb": 120,
                                "idle_rss_mb": 90}}}
    large = {"size": 1_000_000, "workers": 2,
             "latency": {"list_page1": {**_page(30, 80), "n": 90, "requested": 200},
                         "dashboard": _page(200, 350, errors=2)}}
    table = report.render_table([large, small])
    lines = table.splitlines()
    assert lines[0] == ("| measurement | target | 10k · 2w | 1M · 2w | p95 1M/10k · 2w |")
    list_row = next(line for line in lines if line.startswith("| Issue list, page 1 — admin"))
    assert "20 / 40 ✓" in list_row and "30 / 80 (n=90) ✓" in list_row and "×2.00 ✗" in list_row
    dashboard_row = next(line for line in lines if line.startswith("| Dashboard — admin"))
    assert "200 / 350 (2 err) ✗" in dashboard_row
    assert "140/s · 0 err · 0 lost ✓" in table
    assert "1.5 s · 120 MB ✓" in table
    text = report.render_report("SQLite", {"git": "abc"}, [small, large], "bench/run.py")
    assert "## SQLite" in text and "`/admin/issue/`" in text


@pytest.mark.parametrize("size, label", [(10_000, "10k"), (1_000_000, "1M"), (2_500, "2500")])
def test_size_label(size, label):
    assert report.size_label(size) == label


def test_quick_defaults():
    args, settings, kinds, sizes, workers = run.parse_args(["--quick", "--db", "sqlite"])
    assert (kinds, sizes, workers) == (["sqlite"], [10_000], [2])
    assert settings["requests"] < run.FULL["requests"]
    assert run.fingerprint(10_000, 1) != run.fingerprint(100_000, 1)


# --- issue #19: circle beside stock Flask-Admin and the floor ------------------------------

def test_rotation_puts_each_system_first_in_turn():
    firsts = [driver.rotation(n)[0] for n in range(3)]
    assert sorted(firsts) == sorted(driver.SYSTEMS)
    assert all(sorted(driver.rotation(n)) == sorted(driver.SYSTEMS) for n in range(6))


def test_compare_summary_ratios_of_p50s():
    summary = driver.compare_summary(
        {"circle": [0.010, 0.020, 0.030], "stock": [0.040, 0.060], "floor": [0.005]},
        driver.Counter())
    assert summary["circle"]["p50"] == pytest.approx(20)
    assert summary["stock_over_circle"] == pytest.approx(2.5)
    assert summary["circle_over_floor"] == pytest.approx(4)
    assert driver.compare_summary({"circle": [0.01]}, driver.Counter())[
        "stock_over_circle"] is None


def _compared(stock_ratio, floor_ratio, errors=0):
    system = {"n": 20, "p50": 10.0, "p95": 12.0}
    return {"errors": errors, "circle": system, "stock": system, "floor": system,
            "stock_over_circle": stock_ratio, "circle_over_floor": floor_ratio,
            "load": [1.0, 1.2], "url": {"circle": "/a", "stock": "/b", "floor": "/c"}}


def test_compare_table_marks_the_targets():
    runs = [{"size": 100_000, "pages": {"list_page1": _compared(1.8, 3.1),
                                        "detail": _compared(0.9, 1.2, errors=1)}},
            {"size": 10_000, "pages": {"list_page1": _compared(1.4, 2.0)}}]
    text = report.render_compare("SQLite", {"git": "abc"}, runs, "bench/run.py --compare")
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| page | stock/circle"))
    assert header.index("10k") < header.index("100k")
    row = next(line for line in lines if line.startswith("| Issue list, page 1 |"))
    assert row == "| Issue list, page 1 | 1.40 ✗ | 2.00 ✓ | 1.80 ✓ | 3.10 ✗ |"
    assert "(1 err) ✗" in next(line for line in lines
                               if line.startswith("| Issue details / desk |"))
    assert "| Issue list, page 1 | 10k | 10 / 12 | 10 / 12 | 10 / 12 | 20 | 1.0–1.2 |" in text


def test_compare_plan_asks_every_system_for_every_page():
    found = {"liaisons": [{"circle_id": 3, "circle_name": "东街商圈"}], "page": 9,
             "detail_ids": [1, 5], "shops": ["店"], "work_orders": ["2611"]}
    plan = run.compare_plan(found)
    assert [p["name"] for p in plan] == [key for key, _ in report.COMPARE_PAGES]
    for page in plan:
        systems = set(page["urls"]) | ({"circle"} if page.get("filters") else set())
        assert systems == set(driver.SYSTEMS)
    detail = next(p for p in plan if p["name"] == "detail")["urls"]
    assert detail["stock"] == ["/admin/issue/details/?id=1", "/admin/issue/details/?id=5"]


def test_baseline_serves_stock_and_floor_pages_over_circles_schema(app, data):
    """bench/baseline.py reflects the schema and answers every page the comparison asks."""
    from bench import baseline
    from circle.extensions import db
    from tests import factories as f

    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east, shop_name="冻品店"),
                           work_order_no="2611300001")
    f.EmergencyContactFactory(merchant=issue.merchant)
    db.session.commit()
    issue_id, circle_id = issue.id, data.east.id
    url = db.engine.url.render_as_string(hide_password=False)
    stock = baseline.create_app(url)
    client = stock.test_client()
    pages = {
        "/admin/issue/": "冻品店", "/admin/issue/?search=冻品": "冻品店",
        f"/admin/issue/?flt0_0={circle_id}&flt1_1=registered": "冻品店",
        f"/admin/issue/details/?id={issue_id}": "2611300001", "/admin/merchant/": "冻品店",
        # Stock lists a relation's rows by their str(): automap objects, one per contact.
        "/admin/merchant-same/": "automap.emergency_contact object",
        "/floor/issue/": "冻品店", "/floor/issue/?search=261130": "冻品店",
        f"/floor/issue/?circle={circle_id}&status=registered": "冻品店",
        f"/floor/issue/{issue_id}": "冻品店", "/floor/merchant/": "冻品店",
    }
    for path, expected in pages.items():
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert expected in answer.get_data(as_text=True), path
    assert "冻品店" not in client.get("/floor/issue/?search=无此店").get_data(as_text=True)
    with stock.app_context():
        stock.extensions["sqlalchemy"].engine.dispose()
