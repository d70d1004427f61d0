"""Admin lists at city scale: capped counts, bounded page depth, indexed search."""

import pytest
import sqlalchemy as sa
from flask_login import login_user
from sqlalchemy.orm import defaultload, joinedload, selectinload

from circle.biglists import (
    CappedCount,
    _after_prefix,
    capped_count,
    relations_loaded_by_options,
)
from circle.extensions import db as _db
from circle.issues.models import Issue
from circle.merchants.models import EmergencyContact, Merchant
from circle.org.models import BusinessCircle
from tests import factories as f
from tests.sqlspy import recorded_sql


@pytest.fixture
def small_cap(app, monkeypatch):
    """Every list counts up to 5 rows (the real cap is 100,000), in pages of 2 if asked."""
    admin = app.extensions["admin"][0]
    for view in admin._views:
        if hasattr(view, "list_count_cap"):
            monkeypatch.setattr(view, "list_count_cap", 5)
            monkeypatch.setattr(view, "page_size_options", (2, 20, 50, 100))


def _issues(data, n, **merchant_kwargs):
    merchant = f.MerchantFactory(circle=data.east, **merchant_kwargs)
    return [f.IssueFactory(merchant=merchant) for _ in range(n)]


def test_capped_count(db, data):
    _issues(data, 4)
    db.session.commit()
    ids = sa.select(Issue.id)
    assert capped_count(ids, 10) == 4 and not isinstance(capped_count(ids, 10), CappedCount)
    capped = capped_count(ids, 3)
    assert isinstance(capped, CappedCount) and capped == 3 and str(capped) == "3+"
    assert capped_count(ids, 4) == 4


def test_capped_count_counts_rows_not_a_constant(db, data):
    """The rows are counted as a constant (cheaper than their keys): every FROM, join and
    condition of the query is kept, and a DISTINCT query still counts distinct keys."""
    _issues(data, 3, shop_name="冻品店")
    _issues(data, 2, shop_name="五金店")
    db.session.commit()
    joined = db.session.query(Issue).join(Merchant, Issue.merchant).with_entities(Issue.id)
    assert capped_count(db.session.query(Issue).with_entities(Issue.id), 10) == 5
    assert capped_count(joined.filter(Merchant.shop_name == "冻品店"), 10) == 3
    assert capped_count(sa.select(Issue.id).where(Issue.id < 0), 10) == 0
    # One row per issue and merchant pair over a join that repeats issues: DISTINCT keys.
    doubled = (db.session.query(Issue).join(Merchant, sa.true()).with_entities(Issue.id))
    assert capped_count(doubled, 100) == 10
    assert capped_count(doubled.distinct(), 100) == 5
    # An expression rather than the key column is counted as it is.
    assert capped_count(doubled.with_entities(Issue.id + 0), 100) == 10


def test_list_shows_capped_count_and_pages_up_to_the_cap(admin_browser, db, data,
                                                        small_cap):
    _issues(data, 8)
    db.session.commit()
    html = admin_browser.get("/admin/issue/?page_size=2").get_data(as_text=True)
    assert "(5+)" in html
    # Pages 0, 1, 2 hold the first five rows; the pager stops there.
    assert "page=2" in html and "page=3" not in html


def test_a_page_counts_only_as_far_as_its_pager_looks(app, admin_browser, db, data,
                                                     monkeypatch):
    """The first page of a big list counts ``list_count_ahead`` rows ("4+"), a later one
    the pages its pager reaches past it: the count grows as one pages on, to the cap."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "issue")
    monkeypatch.setattr(view, "list_count_cap", 10)
    monkeypatch.setattr(view, "list_count_ahead", 4)
    monkeypatch.setattr(view, "list_count_pages_ahead", 1)
    monkeypatch.setattr(view, "page_size_options", (2, 20, 50, 100))
    _issues(data, 8)
    db.session.commit()
    first = admin_browser.get("/admin/issue/?page_size=2").get_data(as_text=True)
    assert "(4+)" in first and "page=1" in first and "page=2" not in first
    # Page 3 (rows 7 and 8) counts up to (3 + 1) pages of 2: all 8 rows, exactly.
    later = admin_browser.get("/admin/issue/?page_size=2&page=3").get_data(as_text=True)
    assert "(8)" in later and "(8+)" not in later


def test_a_page_past_the_cap_shows_the_last_one_with_a_message(admin_browser, db, data,
                                                                small_cap):
    issues = _issues(data, 8)
    db.session.commit()
    newest_first = sorted(issue.id for issue in issues)[::-1]
    response = admin_browser.get("/admin/issue/?page_size=2&page=40")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "缩小" in html  # "narrow the list with a filter or a search"
    # The last reachable page (rows 5 and 6 of 8 with a cap of 5) is shown, not nothing.
    assert f"#{newest_first[4]}<" in html


def test_search_matches_start_of_work_order_number(admin_browser, db, data):
    hotline = db.session.scalars(sa.select(f.IssueSource).where(f.IssueSource.is_hotline)).first()
    merchant = f.MerchantFactory(circle=data.east, shop_name="福满园饺子馆")
    wanted = f.IssueFactory(merchant=merchant, source=hotline, work_order_no="2611270001")
    other = f.IssueFactory(merchant=merchant, source=hotline, work_order_no="2511270002")
    middle = f.IssueFactory(merchant=merchant, source=hotline, work_order_no="9926112700")
    db.session.commit()
    html = admin_browser.get("/admin/issue/?search=26112").get_data(as_text=True)
    assert f"#{wanted.id}<" in html
    assert f"#{other.id}<" not in html and f"#{middle.id}<" not in html


@pytest.mark.parametrize("term", ["饺子", "福满园", "园饺子馆"])
def test_search_matches_any_part_of_shop_name(admin_browser, db, data, term):
    wanted = _issues(data, 1, shop_name="福满园饺子馆")[0]
    other = _issues(data, 1, shop_name="阿强理发")[0]
    db.session.commit()
    html = admin_browser.get(f"/admin/issue/?search={term}").get_data(as_text=True)
    assert f"#{wanted.id}<" in html and f"#{other.id}<" not in html


@pytest.mark.parametrize("term", ["%", "_", "\\", "100%"])
def test_search_wildcards_are_literal(admin_browser, db, data, term):
    issue = _issues(data, 1, shop_name="百分百超市")[0]
    db.session.commit()
    response = admin_browser.get("/admin/issue/", query_string={"search": term})
    assert response.status_code == 200
    assert f"#{issue.id}<" not in response.get_data(as_text=True)


def test_search_stays_within_scope(browser, db, data):
    """A liaison officer's search finds nothing outside the circles in their care."""
    mine = _issues(data, 1, shop_name="鑫源超市东店")[0]
    west = f.MerchantFactory(circle=data.west, shop_name="鑫源超市西店")
    theirs = f.IssueFactory(merchant=west)
    db.session.commit()
    browser.login("liaison")
    html = browser.get("/admin/issue/?search=鑫源").get_data(as_text=True)
    assert f"#{mine.id}<" in html and f"#{theirs.id}<" not in html
    assert "(1)" in html


def test_page_query_does_not_join_related_rows(app, admin_browser, db, data):
    """The page is chosen from the issue table alone; related rows are loaded for it after,
    so an OFFSET deep in the list never joins the rows it skips."""
    _issues(data, 3)
    db.session.commit()
    with recorded_sql(app, db) as statements:
        assert admin_browser.get("/admin/issue/?page=1&page_size=1").status_code == 200
    paged = [s for s in statements if "OFFSET" in s.upper()]
    assert paged and all(" JOIN " not in s.upper() for s in paged)


def test_after_prefix():
    assert _after_prefix("261") == "262"
    assert _after_prefix("福满") == "福" + chr(ord("满") + 1)
    assert _after_prefix("a\U0010ffff") == "b"
    assert _after_prefix("") is None


@pytest.fixture
def few_search_keys(app, monkeypatch):
    """The issue search goes through at most 2 merchants or work-order numbers (really 500)."""
    view = next(view for view in app.extensions["admin"][0]._views
                if getattr(view, "search_columns", None))
    monkeypatch.setattr(view, "search_key_limit", 2)


def _hotline_issue(db, data, work_order_no, **merchant_kwargs):
    hotline = db.session.scalars(sa.select(f.IssueSource).where(f.IssueSource.is_hotline)).first()
    merchant = f.MerchantFactory(circle=data.east, **merchant_kwargs)
    return f.IssueFactory(merchant=merchant, source=hotline, work_order_no=work_order_no)


def test_search_matches_latin_letters_in_any_case(admin_browser, db, data):
    wanted = _issues(data, 1, shop_name="KFC肯德基东湖店")[0]
    other = _issues(data, 1, shop_name="阿强理发")[0]
    db.session.commit()
    html = admin_browser.get("/admin/issue/?search=kfc").get_data(as_text=True)
    assert f"#{wanted.id}<" in html and f"#{other.id}<" not in html


def test_search_lists_work_orders_and_shops_that_match_together(admin_browser, db, data):
    by_number = _hotline_issue(db, data, "2611270001", shop_name="阿强理发")
    by_name = _issues(data, 1, shop_name="2611便利店")[0]
    neither = _hotline_issue(db, data, "2511270002", shop_name="福满园饺子馆")
    db.session.commit()
    html = admin_browser.get("/admin/issue/?search=2611").get_data(as_text=True)
    assert f"#{by_number.id}<" in html and f"#{by_name.id}<" in html
    assert f"#{neither.id}<" not in html
    assert "(2)" in html


def test_search_matching_nothing_lists_nothing(admin_browser, db, data):
    issue = _hotline_issue(db, data, "2611270001", shop_name="阿强理发")
    db.session.commit()
    html = admin_browser.get("/admin/issue/?search=不存在的店").get_data(as_text=True)
    assert f"#{issue.id}<" not in html and "(1)" not in html


def test_search_asks_for_the_matching_keys_first(app, admin_browser, db, data):
    """The list and its count select issues by the keys found first (merchant ids,
    work-order numbers), not through a subquery on merchants that the planners cannot
    combine with the work-order match."""
    _issues(data, 2, shop_name="福满园饺子馆")
    db.session.commit()
    with recorded_sql(app, db) as statements:
        assert admin_browser.get("/admin/issue/?search=福满").status_code == 200
    on_issues = [" ".join(s.split()) for s in statements if "FROM issue" in s]
    assert any("count(*)" in s for s in on_issues)
    # No condition on the shop name (the page's rows do show it, joined to them).
    conditions = [s.split(" WHERE ", 1)[1] for s in on_issues if " WHERE " in s]
    assert conditions and all("shop_name" not in c for c in conditions)


def test_too_broad_a_search_lists_the_first_matches_and_says_so(admin_browser, db, data,
                                                                few_search_keys):
    first, second, third = (_issues(data, 1, shop_name=f"鑫源超市{n}号店")[0]
                            for n in (1, 2, 3))
    db.session.commit()
    html = admin_browser.get("/admin/issue/?search=鑫源超市").get_data(as_text=True)
    # The first two merchants registered, and a message asking for more of the name.
    assert f"#{first.id}<" in html and f"#{second.id}<" in html
    assert f"#{third.id}<" not in html
    assert "请输入更完整的店铺名称或工单号" in html
    html = admin_browser.get("/admin/issue/?search=鑫源超市3").get_data(as_text=True)
    assert f"#{third.id}<" in html and "请输入更完整" not in html


# A view's own loader options on a relation the merchant list shows (its circle, many to
# one): of another strategy than the list's own, of the same, with a
# relation loaded through it, and options for columns reached through it only.
OWN_LOADERS = {
    "selectin many-to-one": lambda: [selectinload(Merchant.circle)],
    "selectin through it": lambda: [
        selectinload(Merchant.circle).joinedload(BusinessCircle.community)],
    "joined many-to-one": lambda: [joinedload(Merchant.circle)],
    "load_only under it": lambda: [
        defaultload(Merchant.circle).load_only(BusinessCircle.name)],
}


@pytest.fixture
def own_loader_view(app):
    """Register, on this test's app, a merchant list whose ``get_query`` loads relations
    it shows with options of its own (set by the test)."""
    from circle.merchants.admin import MerchantView

    class OwnLoaderMerchants(MerchantView):
        loaders = staticmethod(lambda: [])

        def get_query(self):
            return super().get_query().options(*self.loaders())

    view = OwnLoaderMerchants(Merchant, _db, name="own loaders", endpoint="own_loaders",
                              url="/admin/own-loaders")
    app.extensions["admin"][0].add_view(view)
    return view


@pytest.mark.parametrize("loaders", OWN_LOADERS.values(), ids=OWN_LOADERS.keys())
def test_a_views_own_loader_options_are_kept_not_fought(own_loader_view, admin_browser, db,
                                                       data, loaders):
    own_loader_view.loaders = staticmethod(loaders)
    merchant = f.MerchantFactory(circle=data.east, shop_name="冻品店")
    f.EmergencyContactFactory(merchant=merchant, name="王店长")
    db.session.commit()
    response = admin_browser.get("/admin/own-loaders/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "冻品店" in html and "东街商圈" in html and "王店长" in html
    # The query a download streams (execute=False) carries the same options, and runs.
    with admin_browser.client.application.test_request_context():
        login_user(data.users["admin"])
        _count, query = own_loader_view.get_list(0, None, False, None, [], execute=False)
        assert [row.shop_name for row in query.all()] == ["冻品店"]


def test_relations_loaded_by_options():
    query = sa.select(Merchant)
    assert relations_loaded_by_options(query) == set()
    query = query.options(selectinload(Merchant.circle).joinedload(BusinessCircle.community),
                          defaultload(Merchant.emergency_contacts).load_only(
                              EmergencyContact.name))
    assert relations_loaded_by_options(query) == {Merchant.circle.property}
