"""Every change made through the admin is written to an append-only audit log."""

import re

import pytest
import sqlalchemy as sa

from circle.models import AuditRecord, Merchant, SlaPolicy
from tests import factories as f
from tests.test_crud import merchant_form


def records(db, **where):
    """The log's records (sign-ins left out unless asked for: every test signs in)."""
    stmt = sa.select(AuditRecord).order_by(AuditRecord.id)
    if "action" not in where:
        stmt = stmt.where(AuditRecord.action.not_in(("login", "logout", "login_fail")))
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditRecord, key) == value)
    return db.session.scalars(stmt).all()


def test_merchant_create_with_inline_contact_is_audited(admin_browser, db, data):
    admin_browser.submit("/admin/merchant/new/", merchant_form(data))
    merchant = db.session.scalar(sa.select(Merchant))
    created = records(db, action="create")
    kinds = {(r.object_type, r.object_id) for r in created}
    assert ("merchant", str(merchant.id)) in kinds
    assert ("emergency_contact", str(merchant.emergency_contacts[0].id)) in kinds
    entry = next(r for r in created if r.object_type == "merchant")
    assert entry.actor_name == str(data.users["admin"]) and entry.actor_id == data.users["admin"].id
    assert entry.changes["shop_name"] == "连濛冷冻食品专卖店"


def test_update_records_old_and_new_values(admin_browser, db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="旧名字")
    db.session.commit()
    admin_browser.submit(f"/admin/merchant/edit/?id={merchant.id}",
                         merchant_form(data, shop_name="新名字"))
    update = records(db, action="update", object_type="merchant")[-1]
    assert update.changes["shop_name"] == ["旧名字", "新名字"]
    assert "updated_at" not in update.changes


def test_delete_is_audited(admin_browser, db, data):
    merchant = f.MerchantFactory(circle=data.east, shop_name="要删除的店")
    db.session.commit()
    admin_browser.submit("/admin/merchant/delete/", {"id": str(merchant.id)},
                         form_url="/admin/merchant/")
    entry = records(db, action="delete", object_type="merchant")[-1]
    assert entry.object_repr == "要删除的店" and entry.changes["shop_name"] == "要删除的店"


def test_user_change_redacts_the_password(admin_browser, db, data):
    user = data.users["liaison"]
    admin_browser.submit(f"/admin/user/edit/?id={user.id}", {
        "username": "liaison", "display_name": "新名字", "phone": "", "role": "liaison",
        "circles": [str(data.east.id), str(data.west.id)], "active": "y",
        "new_password": "a-brand-new-password"})
    entry = records(db, action="update", object_type="user")[-1]
    assert entry.changes["password_hash"] == ["•••", "•••"]
    assert entry.changes["display_name"][1] == "新名字"
    assert [c for c in entry.changes["circles"]["added"]] == [str(data.west)]
    assert "a-brand-new-password" not in str(entry.changes)


def test_reference_data_and_sla_policy_changes_are_audited(admin_browser, db, data):
    admin_browser.submit("/admin/issue_category/new/", {"name": "新类别", "sort_order": "5",
                                                         "active": "y"})
    policy = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.severity == "big"))
    admin_browser.submit(f"/admin/sla_policy/edit/?id={policy.id}",
                         {"respond_minutes": "90", "resolve_minutes": "1440"})
    assert records(db, object_type="issue_category", action="create")
    assert records(db, object_type="sla_policy")[-1].changes["respond_minutes"] == [120, 90]


def test_refused_change_writes_no_audit_row(admin_browser, db, data):
    admin_browser.submit("/admin/merchant/new/", merchant_form(data, phone="123"))
    assert records(db) == []


def test_seeding_through_factories_is_not_recorded(db, data):
    # Rows written straight through the ORM outside the admin, with no workflow step.
    assert records(db) == []


def test_audit_log_is_read_only(admin_browser, db, data):
    admin_browser.submit("/admin/community/new/", {"name": "审计社区", "address": "",
                                                   "description": ""})
    entry = records(db)[0]
    assert admin_browser.get("/admin/audit/").status_code == 200
    assert admin_browser.get(f"/admin/audit/details/?id={entry.id}").status_code == 200
    assert admin_browser.get("/admin/audit/new/").status_code in (302, 404)
    assert admin_browser.get(f"/admin/audit/edit/?id={entry.id}").status_code in (302, 404)
    admin_browser.submit("/admin/audit/delete/", {"id": str(entry.id)}, form_url="/admin/audit/")
    assert len(records(db)) == 1
    entry.object_repr = "tampered"
    with pytest.raises(PermissionError):
        db.session.commit()
    db.session.rollback()


def test_only_admins_and_leaders_read_the_audit_log(browser, data):
    browser.login("specialist")
    assert browser.get("/admin/audit/").status_code == 403


def test_audit_log_escapes_values(admin_browser, db, data):
    admin_browser.submit("/admin/community/new/", {"name": "<script>alert(1)</script>",
                                                   "address": "", "description": ""})
    html = admin_browser.get("/admin/audit/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_the_audit_log_reads_in_chinese(admin_browser, db, data):
    """Object types and changed fields by their labels, values in words, no raw JSON."""
    merchant = f.MerchantFactory(circle=data.east, shop_name="旧名字", active=True)
    db.session.commit()
    form = merchant_form(data, shop_name="新名字")
    form.pop("active")  # unticked: the merchant is no longer active
    admin_browser.submit(f"/admin/merchant/edit/?id={merchant.id}", form)
    assert records(db, action="update", object_type="merchant")
    html = admin_browser.get("/admin/audit/").get_data(as_text=True)
    assert "商铺名称：<del>旧名字</del> → 新名字" in html
    assert "启用：<del>是</del> → 否" in html
    object_types = re.findall(r'<td class="col-object_type">\s*([^<]*?)\s*</td>', html)
    # The admin's sign-in is in the log too (about the user account).
    assert object_types and set(object_types) == {"商户列表", "紧急联系人", "用户账号"}
    assert '"旧名字"' not in html and "<code>shop_name</code>" not in html
