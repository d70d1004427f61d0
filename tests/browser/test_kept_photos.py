"""The desk on a phone: photos attached to a visit form that comes back with an error are
still there, as thumbnails, and are saved when the form is sent again (issue #17)."""

from __future__ import annotations

import sqlalchemy as sa

from circle.accounts.models import User
from circle.extensions import db
from circle.issues.models import Issue, SiteVisit, SiteVisitPhoto, Status
from circle.issues.staging import StagedUpload
from tests.test_desk import tiny_png

PHONE = (390, 844)

#: Every kept photo's thumbnail has loaded (an image that failed has no natural width).
THUMBS_LOADED = """() => Array.from(document.querySelectorAll(".desk-kept-photo img"))
  .map((img) => img.complete && img.naturalWidth > 0)"""


def a_visitable_issue(app, username: str) -> int:
    """A demo issue assigned to the specialist and waiting for (another) visit."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        return db.session.scalar(
            sa.select(Issue.id).where(Issue.assignee_id == user.id,
                                      Issue.status.in_((Status.DISPATCHED, Status.ON_SITE)))
            .order_by(Issue.id).limit(1))


def test_photos_survive_a_refused_visit_form_on_a_phone(open_session, live_server):
    app, _base = live_server
    issue_id = a_visitable_issue(app, "zhuanyuan")
    assert issue_id, "the demo has an issue the specialist is handling"
    s = open_session("specialist", viewport=PHONE)
    s.login("zhuanyuan")
    s.goto(f"/admin/desk/{issue_id}")
    form = s.page.locator("details#action-visit")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    # "Resolved on site" without saying how: the workflow refuses it.
    form.locator("input[name=outcome][value=resolved]").check()
    form.locator("[name=findings]").fill("电表箱内小刀闸老化")
    form.locator("input[name=photos]").set_input_files([
        {"name": f"现场{n}.png", "mimeType": "image/png", "buffer": tiny_png() + bytes([n])}
        for n in (1, 2)])
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("visit refused")
    form = s.page.locator("details#action-visit")
    assert form.locator(".invalid-feedback").count() >= 1
    assert "已附照片，将随表单一起保存" in form.locator(".desk-kept-photos").inner_text()
    assert s.page.evaluate(THUMBS_LOADED) == [True, True]
    s.no_horizontal_scroll()
    s.shot("visit-refused-photos-kept")

    form.locator("[name=summary]").fill("更换了电表箱内的小刀闸")
    form.locator("button[type=submit]").click()
    s.page.wait_for_load_state("networkidle")
    s.assert_clean("visit saved")
    assert s.page.locator(".alert-success").count() == 1
    s.shot("visit-saved")
    with app.app_context():
        photos = db.session.scalars(
            sa.select(SiteVisitPhoto.original_name).join(SiteVisit)
            .where(SiteVisit.issue_id == issue_id, SiteVisitPhoto.original_name.like("现场%"))
        ).all()
        assert sorted(photos) == ["现场1.png", "现场2.png"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StagedUpload)) == 0
