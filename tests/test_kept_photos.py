"""Photos survive a failed desk form (issue #17): kept server-side, shown again with their
thumbnails, attached when the form is sent again, refused to anybody else."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from circle.issues import staging
from circle.issues.models import SiteVisitPhoto, Status
from circle.issues.staging import StagedUpload
from circle.issues.workflow import MAX_PHOTOS_PER_VISIT
from circle.jobs import run_periodic
from circle.timeutil import utcnow
from tests.steps import wf
from tests.test_desk import act, advance, browser_for, desk_url, local_input, register, text
from tests.test_desk import tiny_png as _tiny_png

KEPT = re.compile(r'name="kept_photos" value="([^"]+)"')


def photo(n: int) -> bytes:
    """A valid PNG, different for each ``n`` (bytes after IEND are ignored by viewers)."""
    return _tiny_png() + bytes([n])


def files(*numbers: int) -> list:
    return [(io.BytesIO(photo(n)), f"现场{n}.png") for n in numbers]


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def visit_fields(issue, **extra) -> dict:
    return {"arrived_at": local_input(issue.reported_at + timedelta(minutes=20)),
            "outcome": "temporary", "findings": "电表箱内小刀闸老化", **extra}


def failed_visit(browser, db, issue, *numbers: int, **extra) -> list[str]:
    """Post the visit without its arrival time (the workflow requires it) and the photos
    ``numbers``: the form comes back; the kept photos' tokens on it."""
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue, arrived_at=""), "photos": files(*numbers), **extra})
    assert response.status_code == 200, response.status_code
    return KEPT.findall(text(response))


def dispatched(db, data):
    return advance(db, data, register(db, data), Status.DISPATCHED)


def test_a_failed_visit_keeps_its_photos_and_the_next_try_attaches_them(app, browser, db,
                                                                      data):
    issue = dispatched(db, data)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue, arrived_at=""), "photos": files(1, 2)})
    assert response.status_code == 200
    html = text(response)
    tokens = KEPT.findall(html)
    assert len(tokens) == 2 and len(set(tokens)) == 2
    assert "已附照片，将随表单一起保存" in html
    assert html.count('name="remove_photos"') == 2
    assert "电表箱内小刀闸老化" in html  # what was typed is kept too
    for token in tokens:
        assert f'src="/admin/desk/kept-photo/{token}"' in html
    assert count(db, StagedUpload) == 2 and count(db, SiteVisitPhoto) == 0
    thumb = browser.get(f"/admin/desk/kept-photo/{tokens[0]}")
    assert thumb.status_code == 200 and thumb.data == photo(1)
    assert thumb.headers["Content-Type"] == "image/png"
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"

    response = act(browser, db, issue, "visit", {**visit_fields(issue), "kept_photos": tokens})
    assert response.status_code == 302, text(response)
    db.session.refresh(issue)
    [visit] = issue.site_visits
    assert sorted(p.data for p in visit.photos) == [photo(1), photo(2)]
    assert {p.original_name for p in visit.photos} == {"现场1.png", "现场2.png"}
    assert count(db, StagedUpload) == 0
    assert browser.get(f"/admin/desk/kept-photo/{tokens[0]}").status_code == 404


def test_kept_photos_go_with_new_ones(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    tokens = failed_visit(browser, db, issue, 1)
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue), "kept_photos": tokens, "photos": files(2, 3)})
    assert response.status_code == 302, text(response)
    db.session.refresh(issue)
    assert sorted(p.data for p in issue.site_visits[0].photos) == [photo(1), photo(2),
                                                                   photo(3)]
    assert count(db, StagedUpload) == 0


def test_a_second_failure_keeps_the_kept_and_the_new(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    first = failed_visit(browser, db, issue, 1)
    second = failed_visit(browser, db, issue, 2, kept_photos=first)
    assert len(second) == 2 and first[0] in second
    assert count(db, StagedUpload) == 2


def test_another_users_token_is_refused_and_nothing_is_attached(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    tokens = failed_visit(browser, db, issue, 1, 2)
    admin = browser_for(app, "admin")
    assert admin.get(f"/admin/desk/kept-photo/{tokens[0]}").status_code == 404
    response = act(admin, db, issue, "visit", {**visit_fields(issue), "kept_photos": tokens})
    assert response.status_code == 200
    html = text(response)
    assert "之前保留的部分照片已过期或属于他人，请重新选择。" in html
    assert not KEPT.findall(html)  # none of the specialist's photos shown to the admin
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED and not issue.site_visits
    assert count(db, SiteVisitPhoto) == 0
    # The specialist's photos are still theirs.
    assert count(db, StagedUpload) == 2
    assert browser.get(f"/admin/desk/kept-photo/{tokens[0]}").status_code == 200


def test_a_token_is_only_good_for_its_issue(app, browser, db, data):
    issue, other = dispatched(db, data), dispatched(db, data)
    browser.login("specialist")
    tokens = failed_visit(browser, db, issue, 1)
    response = act(browser, db, other, "visit", {**visit_fields(other), "kept_photos": tokens})
    assert response.status_code == 200
    assert "之前保留的部分照片已过期或属于他人" in text(response)
    db.session.refresh(other)
    assert not other.site_visits


def test_an_expired_token_is_refused_and_purged(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    tokens = failed_visit(browser, db, issue, 1)
    db.session.execute(sa.update(StagedUpload).values(
        created_at=utcnow() - staging.STAGED_TTL - timedelta(minutes=1)))
    db.session.commit()
    assert browser.get(f"/admin/desk/kept-photo/{tokens[0]}").status_code == 404
    response = act(browser, db, issue, "visit", {**visit_fields(issue), "kept_photos": tokens})
    assert response.status_code == 200
    assert "之前保留的部分照片已过期" in text(response)
    assert count(db, StagedUpload) == 0  # removed by the next staging


def test_the_daily_job_removes_expired_photos(app, db, data):
    issue = dispatched(db, data)
    user = data.users["specialist"]
    now = utcnow()
    staging.stage(user.id, issue.id, "visit", [("new.png", photo(2), "image/png")], now=now)
    db.session.add(StagedUpload(token="t" * 43, user_id=user.id, issue_id=issue.id,
                                action="visit", filename="old.png", content_type="image/png",
                                size=1, data=b"x",
                                created_at=now - staging.STAGED_TTL - timedelta(minutes=1)))
    db.session.commit()
    assert run_periodic(now)["staged_uploads"] == "1"
    assert db.session.scalars(sa.select(StagedUpload.filename)).all() == ["new.png"]


def test_removing_a_kept_photo(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    tokens = failed_visit(browser, db, issue, 1, 2)
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue), "kept_photos": tokens, "remove_photos": [tokens[0]]})
    assert response.status_code == 302, text(response)
    db.session.refresh(issue)
    assert [p.data for p in issue.site_visits[0].photos] == [photo(2)]
    assert count(db, StagedUpload) == 0


def test_a_removed_photo_is_gone_when_the_form_fails_again(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    tokens = failed_visit(browser, db, issue, 1, 2)
    again = failed_visit(browser, db, issue, kept_photos=tokens, remove_photos=[tokens[1]])
    assert again == [tokens[0]]
    assert count(db, StagedUpload) == 1


def test_the_maximum_counts_kept_and_new_photos(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    tokens = failed_visit(browser, db, issue, *range(1, 5))
    new = range(5, 5 + MAX_PHOTOS_PER_VISIT - 3)  # one too many with the four kept
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue), "kept_photos": tokens, "photos": files(*new)})
    assert response.status_code == 200
    html = text(response)
    assert f"每次现场处置最多上传{MAX_PHOTOS_PER_VISIT}张照片" in html
    db.session.refresh(issue)
    assert not issue.site_visits
    # Nothing lost: all of them are kept, the user removes one and sends the form again.
    kept = KEPT.findall(html)
    assert len(kept) == MAX_PHOTOS_PER_VISIT + 1
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue), "kept_photos": kept, "remove_photos": [kept[-1]]})
    assert response.status_code == 302, text(response)
    db.session.refresh(issue)
    assert len(issue.site_visits[0].photos) == MAX_PHOTOS_PER_VISIT
    assert count(db, StagedUpload) == 0


def test_only_photos_that_pass_the_checks_are_kept(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue, arrived_at=""),
        "photos": [(io.BytesIO(b"not a photo"), "notes.jpg"), (io.BytesIO(photo(1)), "ok.png")]})
    assert response.status_code == 200
    html = text(response)
    assert len(KEPT.findall(html)) == 1
    assert "notes.jpg" in html  # named next to the field: choose it again, as a photo
    [row] = db.session.scalars(sa.select(StagedUpload)).all()
    assert row.filename == "ok.png" and row.content_type == "image/png"


def test_a_forged_token_changes_nothing(app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    response = act(browser, db, issue, "visit", {
        **visit_fields(issue), "kept_photos": ["x" * 500, "<script>"]})
    assert response.status_code == 200
    assert "之前保留的部分照片已过期" in text(response)
    assert browser.get("/admin/desk/kept-photo/" + "x" * 500).status_code == 404
    assert browser.get(desk_url(issue)).status_code == 200


# --- a form drawn before someone else changed the issue ----------------------------------

CHANGED = "您填写表单期间，此诉求已被他人修改。页面显示的是它现在的状态，您填写的内容已保留"
NO_LONGER = "此诉求已被他人修改，此操作已无法进行："
VISIT_VERSION = re.compile(r'id="visit-version" name="version" type="hidden" value="(\d+)"')


def contacted_meanwhile(db, data, issue) -> None:
    """Someone else, elsewhere, records the first contact: the issue's version moves on, and
    a visit is still the next step."""
    wf.record_first_contact(issue, data.users["admin"], channel="phone",
                            contacted_at=issue.reported_at + timedelta(minutes=5),
                            expected_version=None)


def send_visit_seen_at(browser, issue, version: int, follow_redirects=False, **fields):
    """Send the visit form as drawn when the issue was at ``version``."""
    return browser.submit(f"{desk_url(issue)}/visit", {
        **visit_fields(issue), "version": version, **fields}, form_url=desk_url(issue),
        follow_redirects=follow_redirects)


def test_a_visit_sent_after_a_change_comes_back_with_its_photos_and_then_goes_through(
        app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    seen = issue.version
    contacted_meanwhile(db, data, issue)
    db.session.refresh(issue)
    assert issue.version > seen and issue.contacted_at is not None

    response = send_visit_seen_at(browser, issue, seen, photos=files(1))
    assert response.status_code == 200
    html = text(response)
    assert CHANGED in html
    assert "电表箱内小刀闸老化" in html  # what was typed
    [token] = KEPT.findall(html)  # the photo, kept
    assert f'src="/admin/desk/kept-photo/{token}"' in html
    assert "先行联系" in html  # the desk shows the change: the first contact's event
    # The form now carries the version the page shows.
    assert VISIT_VERSION.findall(html) == [str(issue.version)]
    db.session.refresh(issue)
    assert issue.status == Status.DISPATCHED and not issue.site_visits
    assert count(db, StagedUpload) == 1

    # Sent again from that page: the user has seen the issue as it is now.
    response = send_visit_seen_at(browser, issue, int(VISIT_VERSION.findall(html)[0]),
                                  kept_photos=[token])
    assert response.status_code == 302, text(response)
    db.session.refresh(issue)
    [visit] = issue.site_visits
    assert visit.findings == "电表箱内小刀闸老化"
    assert [p.data for p in visit.photos] == [photo(1)]
    assert count(db, StagedUpload) == 0


def test_a_visit_no_longer_possible_after_a_change_says_so_and_changes_nothing(
        app, browser, db, data):
    issue = dispatched(db, data)
    browser.login("specialist")
    seen = issue.version
    wf.put_on_hold(issue, data.users["admin"], reason="等待商户回复", expected_version=None)
    db.session.refresh(issue)
    version = issue.version

    response = send_visit_seen_at(browser, issue, seen, photos=files(1),
                                  follow_redirects=True)
    assert response.status_code == 200
    html = text(response)
    assert NO_LONGER in html and CHANGED not in html
    assert not KEPT.findall(html)
    db.session.refresh(issue)
    assert (issue.status, issue.version) == (Status.ON_HOLD, version)
    assert not issue.site_visits
    assert count(db, StagedUpload) == 0 and count(db, SiteVisitPhoto) == 0


def test_a_change_between_the_check_and_the_write_is_met_the_same_way(app, browser, db, data,
                                                                      monkeypatch):
    """Someone else's write lands after the desk compared the versions, before its own
    conditional UPDATE: the form comes back with its photos too."""
    from circle.extensions import db as _db
    from circle.issues import workflow
    from circle.issues.models import Issue

    issue = dispatched(db, data)
    browser.login("specialist")
    record_visit = workflow.ACTION_FUNCTIONS["visit"]

    def someone_else_first(issue, actor, **inputs):
        with _db.engine.begin() as elsewhere:
            elsewhere.execute(sa.update(Issue).where(Issue.id == issue.id)
                              .values(version=Issue.version + 1))
        return record_visit(issue, actor, **inputs)

    monkeypatch.setitem(workflow.ACTION_FUNCTIONS, "visit", someone_else_first)
    response = send_visit_seen_at(browser, issue, issue.version, photos=files(1))
    assert response.status_code == 200
    html = text(response)
    assert CHANGED in html and "电表箱内小刀闸老化" in html
    [token] = KEPT.findall(html)
    db.session.refresh(issue)
    assert VISIT_VERSION.findall(html) == [str(issue.version)]
    assert not issue.site_visits and count(db, StagedUpload) == 1
    thumb = browser.get(f"/admin/desk/kept-photo/{token}")
    assert thumb.status_code == 200 and thumb.data == photo(1)
