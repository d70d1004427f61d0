"""Every admin view renders for an administrator, in Chinese, with local times."""

import html as htmllib
import json
import re

import pytest
from flask_admin.contrib.sqla import ModelView

from tests import factories as f


def _model_views(app):
    admin = app.extensions["admin"][0]
    return [view for view in admin._views if isinstance(view, ModelView)]


def test_every_view_renders_for_admin(app, admin_browser, db, data):
    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    f.EmergencyContactFactory(merchant=issue.merchant)
    db.session.commit()
    assert admin_browser.get("/admin/").status_code == 200
    views = _model_views(app)
    assert len(views) >= 12
    for view in views:
        base = f"/admin/{view.endpoint}/"
        response = admin_browser.get(base)
        assert response.status_code == 200, base
        if view.can_create:
            assert admin_browser.get(base + "new/").status_code == 200, base
        record = db.session.scalars(db.select(view.model)).first()
        if record is not None:
            pk = view.get_pk_value(record)
            assert admin_browser.get(f"{base}details/?id={pk}").status_code == 200, base
            if view.can_edit:
                assert admin_browser.get(f"{base}edit/?id={pk}").status_code == 200, base


def test_admin_ui_speaks_chinese(admin_browser):
    html = admin_browser.get("/admin/merchant/").get_data(as_text=True)
    assert "商户" in html  # our own label
    assert "新建" in html or "创建" in html  # Flask-Admin's own catalogue
    assert "商铺名称" in html


def test_phone_renders_as_tel_link(admin_browser, db, data):
    f.MerchantFactory(circle=data.east, phone="13812345678")
    db.session.commit()
    html = admin_browser.get("/admin/merchant/").get_data(as_text=True)
    assert '<a href="tel:13812345678">13812345678</a>' in html


def test_times_are_shown_in_configured_zone(admin_browser, db, data):
    from datetime import datetime, timezone

    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    issue.reported_at = datetime(2024, 6, 20, 16, 30, tzinfo=timezone.utc)  # 00:30 next day
    db.session.commit()
    html = admin_browser.get("/admin/issue/").get_data(as_text=True)
    assert "2024-06-21 00:30" in html


def test_issue_list_is_newest_first(admin_browser, db, data):
    merchant = f.MerchantFactory(circle=data.east)
    first = f.IssueFactory(merchant=merchant, description="第一")
    second = f.IssueFactory(merchant=merchant, description="第二")
    db.session.commit()
    html = admin_browser.get("/admin/issue/").get_data(as_text=True)
    assert html.index(f"?id={second.id}") < html.index(f"?id={first.id}")


def filter_arg(app, endpoint, column_key, kind="Equal"):
    """The URL argument of a list filter, found by its column and filter class."""
    view = next(v for v in app.extensions["admin"][0]._views
                if getattr(v, "endpoint", None) == endpoint)
    for index, flt in enumerate(view._filters):
        name = type(flt).__name__
        if flt.column.key == column_key and kind in name and "Not" not in name:
            return "flt0_" + view.get_filter_arg(index, flt)
    raise LookupError(column_key)


@pytest.mark.parametrize(
    "column,value",
    [("status", "escalated"), ("level", "2"), ("severity", "hard"), ("circle_id", None)],
)
def test_issue_filters_keep_only_matching_rows(app, admin_browser, db, data, column, value):
    wanted = f.IssueFactory(merchant=f.MerchantFactory(circle=data.west), status="escalated",
                            level=2, severity="hard", description="想要的")
    f.IssueFactory(merchant=f.MerchantFactory(circle=data.east), description="不要的")
    db.session.commit()
    value = value or str(data.west.id)
    html = admin_browser.get(f"/admin/issue/?{filter_arg(app, 'issue', column)}={value}"
                             ).get_data(as_text=True)
    assert f"?id={wanted.id}&" in html
    assert html.count("edit/?id=") == 1


def test_community_filter(app, admin_browser, db, data):
    other = f.CircleFactory()
    f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    f.IssueFactory(merchant=f.MerchantFactory(circle=other))
    db.session.commit()
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "issue")
    index = next(i for i, flt in enumerate(view._filters)
                 if type(flt).__name__ == "CommunityFilter")
    html = admin_browser.get(f"/admin/issue/?flt0_{index}={data.community.id}"
                             ).get_data(as_text=True)
    assert html.count("edit/?id=") == 1


@pytest.mark.parametrize("endpoint, make", [
    ("issue", lambda circle: f.IssueFactory(merchant=f.MerchantFactory(circle=circle))),
    ("merchant", lambda circle: f.MerchantFactory(circle=circle)),
])
def test_street_filter(app, browser, db, data, endpoint, make):
    """The street filter keeps the rows of its communities' circles; its options are the
    streets the user sees, and another street's id shows a leader nothing of it."""
    theirs = f.StreetFactory(name="乙街道")
    other = f.CircleFactory(community=f.CommunityFactory(street=theirs))
    ours, elsewhere = make(data.east), make(other)
    db.session.commit()
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    index = next(i for i, flt in enumerate(view._filters) if type(flt).__name__ == "StreetFilter")
    arg = f"flt0_{view.get_filter_arg(index, view._filters[index])}"

    def rows(street):
        html = browser.get(f"/admin/{endpoint}/?{arg}={street}").get_data(as_text=True)
        groups = json.loads(htmllib.unescape(re.search(
            r'id="filter-groups-data" class="d-none">(.*?)</div>', html, re.S).group(1)))
        options = {name for entry in groups["街道"] for _id, name in entry["options"]}
        return set(re.findall(r'/(?:details|edit)/\?id=(\d+)&', html)), options

    browser.login("admin")
    found, options = rows(data.community.street_id)
    assert found == {str(ours.id)}
    assert options == {data.community.street.name, "乙街道"}
    assert rows(theirs.id)[0] == {str(elsewhere.id)}
    browser.logout()
    browser.login("leader")
    found, options = rows(theirs.id)
    assert found == set() and options == {data.community.street.name}
    assert rows("junk")[0] == {str(ours.id)}  # ignored, never a 500


def test_date_range_filter_reads_local_time(app, admin_browser, db, data):
    from datetime import datetime, timezone

    issue = f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    # 2024-06-20 23:30 in Shanghai is 15:30 UTC.
    issue.reported_at = datetime(2024, 6, 20, 15, 30, tzinfo=timezone.utc)
    db.session.commit()
    arg = filter_arg(app, "issue", "reported_at", "Between")
    inside = "2024-06-20+23:00:00+to+2024-06-20+23:59:59"
    outside = "2024-06-21+00:00:00+to+2024-06-21+23:59:59"
    assert "edit/?id=" in admin_browser.get(f"/admin/issue/?{arg}={inside}").get_data(as_text=True)
    assert "edit/?id=" not in admin_browser.get(f"/admin/issue/?{arg}={outside}"
                                                ).get_data(as_text=True)


@pytest.mark.parametrize("junk", ["abc", "99999999999999999999x", "<script>"])
def test_junk_filter_values_do_not_break_the_list(app, admin_browser, data, junk):
    for column in ("circle_id", "level", "status"):
        response = admin_browser.get(f"/admin/issue/?{filter_arg(app, 'issue', column)}={junk}")
        assert response.status_code == 200


def test_search_by_shop_name(admin_browser, db, data):
    f.IssueFactory(merchant=f.MerchantFactory(circle=data.east, shop_name="连濛冷冻食品"))
    f.IssueFactory(merchant=f.MerchantFactory(circle=data.east, shop_name="阿强理发"))
    db.session.commit()
    html = admin_browser.get("/admin/issue/?search=冷冻").get_data(as_text=True)
    assert "连濛冷冻食品" in html
    assert "阿强理发" not in html


def test_overview_counts_only_what_the_user_may_see(browser, db, data):
    f.IssueFactory(merchant=f.MerchantFactory(circle=data.east))
    f.IssueFactory(merchant=f.MerchantFactory(circle=data.west))
    f.IssueFactory(merchant=f.MerchantFactory(circle=f.CircleFactory()))
    db.session.commit()
    from circle.reports.dashboard import open_now
    from circle.timeutil import utcnow

    def open_total(user):
        return open_now(user, utcnow()).overall.open_total

    assert open_total(data.users["liaison"]) == 1
    assert open_total(data.users["specialist"]) == 2
    assert open_total(data.users["admin"]) == 3
    browser.login("liaison")
    assert browser.get("/admin/").status_code == 200


@pytest.mark.parametrize("endpoint", ["merchant", "issue", "issue_event", "site_visit",
                                      "callback"])
def test_list_pages_do_not_query_per_row(app, admin_browser, db, data, endpoint):
    """A list page costs the same number of queries for 3 rows as for 30."""
    import sqlalchemy as sa
    from sqlalchemy import event

    from tests.steps import wf

    def add_rows(n):
        for _ in range(n):
            merchant = f.MerchantFactory(circle=data.east)
            f.EmergencyContactFactory(merchant=merchant)
            f.EmergencyContactFactory(merchant=merchant, priority=2)
            db.session.commit()
            issue = wf.register_issue(data.users["admin"], merchant=merchant,
                                      category=db.session.scalars(sa.select(
                                          f.IssueCategory)).first(),
                                      source=db.session.scalars(sa.select(
                                          f.IssueSource).where(~f.IssueSource.is_hotline)
                                      ).first(),
                                      severity="small", description="跳闸")
            wf.escalate_to_community(issue, data.users["admin"],
                                     expected_version=issue.version)
            wf.accept_issue(issue, data.users["admin"], assignee=data.users["specialist"],
                            expected_version=issue.version)
            wf.record_site_visit(issue, data.users["admin"], arrived_at=issue.reported_at,
                                 outcome="resolved", summary="已解决",
                                 expected_version=issue.version)
            wf.record_callback(issue, data.users["admin"], reached=True, resolved=True,
                               rating="satisfied", expected_version=issue.version)

    def queries_for_page():
        count = [0]

        def counter(*args):
            count[0] += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assert admin_browser.get(f"/admin/{endpoint}/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count[0]

    add_rows(3)
    few = queries_for_page()
    add_rows(27)
    assert queries_for_page() == few
