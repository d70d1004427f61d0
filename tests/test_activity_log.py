"""The one activity log: workflow steps, sign-ins, admin edits, exports — in words, scoped for
leaders, exportable, append-only."""

from __future__ import annotations

import io
import zipfile

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from circle.audit.models import AuditRecord
from circle.issues import workflow
from circle.models import Department, DepartmentKind
from circle.transaction import unit_of_work
from tests import factories as f
from tests.conftest import Browser
from tests.test_desk import act, advance, flashed, register, text


def log(db, **where):
    stmt = sa.select(AuditRecord).order_by(AuditRecord.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditRecord, key) == value)
    return db.session.scalars(stmt).all()


def test_every_workflow_step_is_in_the_log(db, data):
    with unit_of_work():
        issue = register(db, data)
        advance(db, data, issue, "dispatched")
    steps = log(db, action="step", object_id=str(issue.id))
    assert [r.changes["step"] for r in steps] == ["register", "escalate", "accept"]
    accept = steps[-1]
    assert accept.actor_id == data.users["specialist"].id
    assert accept.changes["status"] == ["escalated", "dispatched"]
    assert accept.circle_id == data.east.id
    # The issue's timeline and the log agree.
    assert len(steps) == len(issue.events)


def test_a_refused_step_leaves_no_record(db, data):
    with unit_of_work():
        issue = register(db, data)
    before = len(log(db))
    try:
        with unit_of_work():
            workflow.escalate_to_community(issue, data.users["admin"], expected_version=None)
            raise RuntimeError("the request failed after the step")
    except RuntimeError:
        pass
    with unit_of_work():
        db.session.add(f.CommunityFactory.build(name="另一个社区"))
    assert len(log(db, action="step")) == before


def test_a_desk_step_carries_the_client_address(admin_browser, db, data):
    with unit_of_work():
        issue = register(db, data)
    response = act(admin_browser, db, issue, "escalate", {"note": "交社区"},
                   environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302
    entry = log(db, action="step")[-1]
    assert (entry.changes["step"], entry.remote_addr) == ("escalate", "10.1.2.3")


def test_logins_logouts_and_failed_logins(browser, db, data):
    response = browser.submit("/login", {"username": "liaison", "password": "wrong-guess-123"},
                              environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 200
    failed = log(db, action="login_fail")
    assert len(failed) == 1
    assert failed[0].changes == {"username": "liaison"}
    assert failed[0].remote_addr == "192.0.2.7"
    assert "wrong-guess-123" not in str(failed[0].changes) + failed[0].object_repr
    assert browser.login("liaison").status_code == 302
    assert browser.logout().status_code == 302
    user = data.users["liaison"]
    assert [r.actor_id for r in log(db, action="login")] == [user.id]
    assert [r.actor_id for r in log(db, action="logout")] == [user.id]


def test_the_log_page_speaks_chinese(admin_browser, app, db, data):
    kind = db.session.scalars(sa.select(DepartmentKind)).first()
    department = Department(name="供电所", kind=kind, active=True)
    db.session.add(department)
    db.session.commit()
    admin_browser.submit(f"/admin/department/edit/?id={department.id}",
                         {"name": "供电所", "kind": str(kind.id), "contact_person": "",
                          "phone": ""})  # unticked: no longer active
    assert log(db, action="update", object_type="department")
    with unit_of_work():
        issue = register(db, data)
        advance(db, data, issue, "escalated")
    html = text(admin_browser.get("/admin/audit/"))
    for word in ("True", "False", "escalated", ">escalate<", '"active"', "<code>"):
        assert word not in html
    for label in ("Yes", "No", "Escalated to the community", "Escalated to community",
                  "Workflow step", "Signed in", "Activity log"):
        assert flashed(app, _l(label)) in html


def test_the_log_filters_by_kind_object_and_actor(admin_browser, db, data):
    with unit_of_work():
        issue = register(db, data)
    html = text(admin_browser.get("/admin/audit/?flt0_0=step"))
    label = str(escape(str(issue)))
    assert label in html
    logins_only = text(admin_browser.get("/admin/audit/?flt0_0=login"))
    assert label not in logins_only
    by_nobody = text(admin_browser.get("/admin/audit/?search=nobody-at-all"))
    assert label not in by_nobody


def test_the_log_exports_what_the_list_shows(admin_browser, app, db, data):
    with unit_of_work():
        issue = register(db, data)
        advance(db, data, issue, "escalated")
    response = admin_browser.get("/admin/audit/download/csv?flt0_0=step")
    assert response.status_code == 200
    body = response.get_data().decode("utf-8-sig")
    with app.test_request_context():
        from circle.audit.describe import ACTION_LABELS

        step_word, login_word = str(ACTION_LABELS["step"]), str(ACTION_LABELS["login"])
    assert body.count(step_word) == 2 and login_word not in body
    assert "escalated" not in body
    xlsx = admin_browser.get("/admin/audit/download/xlsx")
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.get_data())) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    assert admin_browser.get("/admin/audit/download/pdf").status_code == 404
    assert log(db, action="export", object_type="audit_record")


def test_a_leader_reads_only_the_records_of_their_street(app, db, data):
    elsewhere = f.CircleFactory(community=f.CommunityFactory(street=f.StreetFactory()))
    db.session.commit()
    with unit_of_work():
        mine = register(db, data)
        theirs = register(db, data, circle=elsewhere)
    leader = Browser(app.test_client())
    assert leader.login("leader").status_code == 302
    html = text(leader.get("/admin/audit/"))
    assert str(escape(str(mine))) in html and str(escape(str(theirs))) not in html
    # Sign-ins name no circle: an administrator's business.
    login = log(db, action="login")[0]
    assert leader.get(f"/admin/audit/details/?id={login.id}").status_code == 404
    other = log(db, action="step", object_id=str(theirs.id))[0]
    assert leader.get(f"/admin/audit/details/?id={other.id}").status_code == 404
    mine_record = log(db, action="step", object_id=str(mine.id))[0]
    assert leader.get(f"/admin/audit/details/?id={mine_record.id}").status_code == 200


def test_nobody_edits_or_deletes_the_log(admin_browser, db, data):
    with unit_of_work():
        register(db, data)
    entry = log(db, action="step")[0]
    for url in ("/admin/audit/new/", f"/admin/audit/edit/?id={entry.id}"):
        assert admin_browser.get(url).status_code in (302, 403, 404)
    admin_browser.submit("/admin/audit/delete/", {"id": str(entry.id)},
                         form_url="/admin/audit/")
    admin_browser.submit(f"/admin/audit/edit/?id={entry.id}", {"object_repr": "x"},
                         form_url="/admin/audit/")
    db.session.expire_all()
    assert db.session.get(AuditRecord, entry.id).object_repr == log(db, action="step")[0] \
        .object_repr != "x"


def test_every_admin_view_that_changes_rows_is_audited(app, db, data):
    """Create, edit and delete in any model view reach the log: each such model is audited."""
    from flask_login import login_user

    from circle.adminkit import CircleModelView

    with app.test_request_context():
        login_user(data.users["admin"])
        changing = [view for view in app.extensions["admin"][0]._views
                    if isinstance(view, CircleModelView)
                    and (view.can_create or view.can_edit or view.can_delete)]
        assert changing
        for view in changing:
            assert getattr(view.model, "__audited__", False) or view.model.__tablename__ in (
                "api_token",), view.endpoint  # tokens record themselves (no hash copied)
