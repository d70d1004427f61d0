"""The business-circle filter over more circles than a dropdown lists: typed, picked from
the lookup's answers, applied — the list narrows to that circle, and the filter shows its
name after the page reloads."""

from __future__ import annotations

import re

import sqlalchemy as sa

from circle.extensions import db
from circle.issues.models import Issue
from circle.org.models import BusinessCircle


def test_the_circle_filter_looks_circles_up_as_you_type(live_server, open_session):
    app, _base = live_server
    # The demo has a handful of circles: a threshold of one makes the filter a lookup, as a
    # district's thousand circles would.
    app.config["CIRCLE_FILTER_INLINE_OPTIONS"] = 1
    with app.app_context():
        circle_id, name, count = db.session.execute(
            sa.select(BusinessCircle.id, BusinessCircle.name, sa.func.count(Issue.id))
            .join(Issue, Issue.circle_id == BusinessCircle.id)
            .group_by(BusinessCircle.id, BusinessCircle.name)
            .order_by(sa.func.count(Issue.id).desc())).first()
        total = db.session.scalar(sa.select(sa.func.count(Issue.id)))
    assert 0 < count < total

    session = open_session("admin")
    session.login("admin")
    session.goto("/admin/issue/")
    page = session.page
    page.locator(".nav-tabs [data-toggle=dropdown]", has_text="添加筛选器").click()
    page.locator(".nav-tabs a.filter").filter(has_text=re.compile(r"^\s*商圈\s*$")).click()
    row = page.locator("#filter_form table.filters tr").last
    # The value is a lookup box, not a dropdown carrying the circles.
    assert row.locator("select.filter-val").count() == 0
    row.locator("a.select2-choice").last.click()
    search = page.locator(".select2-drop-active input.select2-input")
    search.fill(name[1:-1])  # part of the name
    choice = page.locator(".select2-drop-active .select2-result-selectable",
                          has_text=name)
    choice.first.wait_for()
    session.shot("circle-looked-up")
    choice.filter(has_text=re.compile(f"^{re.escape(name)}$")).click()
    with page.expect_navigation():
        page.locator("#filter_form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    session.assert_clean("filtered list")
    assert re.search(rf"flt\d+_\w+={circle_id}(&|$)", page.url), page.url
    tab = page.locator(".nav-tabs .nav-link.active")
    assert int(tab.inner_text().split("(")[1].rstrip(")")) == count
    # The active filter shows the circle's name, not its id.
    chosen = page.locator("#filter_form table.filters .select2-chosen").last
    assert chosen.inner_text().strip() == name
    session.shot("filtered-by-circle")
    session.assert_clean("after the filter")

    # A bookmark naming a circle the user may not see (or that is gone) says so: no bare id.
    page.goto(re.sub(rf"(flt\d+_\w+=){circle_id}(?=&|$)", r"\g<1>987654", page.url))
    page.wait_for_load_state("networkidle")
    chosen = page.locator("#filter_form table.filters .select2-chosen").last
    assert chosen.inner_text().strip() == "（不在您可见的范围内）"
    session.assert_clean("a filter on a row out of sight")
