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
