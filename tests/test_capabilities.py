"""Every capability × every role × a row in and out of the role's scope, through HTTP.

Each capability of :class:`~circle.permissions.Cap` has a *probe*: the request (or the few
requests) that exercise exactly that right, and what they show when it is granted — a page
that answers 200 instead of 403, a row that is found instead of 404, a full phone number
instead of a masked one, a desk action that changes the issue instead of being refused.

The expected outcome is never written down here: it is read from the permission table
(:func:`~circle.permissions.can`) and row scope (:func:`~circle.permissions.circle_in_scope`).
Giving a role a right in ``circle/permissions.py`` changes what this test expects, and the
views must follow; a capability added to ``Cap`` without a probe fails
:func:`test_every_capability_has_a_probe`.

One app and one database serve the whole module (a fresh app per case would take minutes):
the people and circles are made once, every probe that changes something makes its own rows.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Callable

import pytest
import sqlalchemy as sa

from circle.extensions import db as _db
from circle.issues.models import (
    Callback,
    Issue,
    IssueCategory,
    IssueEvent,
    IssueSource,
    SiteVisit,
    Symposium,
)
from circle.merchants.models import Merchant
from circle.permissions import PERMISSIONS, Cap, can, circle_in_scope
from circle.reports import importing
from circle.timeutil import utcnow
from circle.validators import mask_phone
from tests import factories as f
from tests.conftest import (
    _ROW_VERSION_RE,
    Browser,
    IsolatedClient,
    _reset_schema,
    make_app,
    make_people,
)

ROLES = ("admin", "specialist", "liaison", "staff", "leader")


class Outcome(Enum):
    GRANTED = "granted"  # the right was exercised
    DENIED = "denied"  # refused: 403, a refusal flashed, or nothing changed
    NOT_FOUND = "not found"  # the row is outside the user's scope: 404, not listed, not offered


# --- the world: made once per module ------------------------------------------------------

@dataclass
class World:
    app: object
    browsers: dict[str, Browser]
    tokens: dict[str, str]
    users: dict[str, object]
    circles: dict[str, object]  # east, west (the data community), far (another community)
    # Per circle: a merchant with an emergency contact, and a closed issue with its records.
    merchants: dict[str, Merchant]
    issues: dict[str, Issue]
    records: dict[str, dict[str, object]]
    #: A hotline specialist of each circle's community (the assignee of dispatched issues)
    #: and a colleague of theirs (someone else to assign an issue to).
    specialist_of: dict[str, object]
    colleague_of: dict[str, object]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from circle.reference import install_reference_data

    app = make_app(tmp_path_factory.mktemp("capabilities"))
    app.test_client_class = IsolatedClient
    _reset_schema(app)
    with app.app_context():
        install_reference_data(holidays=False)
        community = f.CommunityFactory(name="恒大社区")
        east = f.CircleFactory(name="东街商圈", community=community)
        west = f.CircleFactory(name="西街商圈", community=community)
        far = f.CircleFactory(name="远方商圈", community=f.CommunityFactory(name="远方社区"))
        circles = {"east": east, "west": west, "far": far}
        users = make_people(community, east)
        colleague = f.UserFactory(username="colleague", role="specialist", community=community)
        far_specialist = f.UserFactory(username="far-specialist", role="specialist",
                                       community=far.community)
        far_colleague = f.UserFactory(username="far-colleague", role="specialist",
                                      community=far.community)
        now = utcnow()
        merchants, issues, records = {}, {}, {}
        for key, circle in circles.items():
            merchant = f.MerchantFactory(circle=circle, shop_name=f"{key}-商铺")
            f.EmergencyContactFactory(merchant=merchant, name=f"{key}-联系人")
            issue = f.IssueFactory(merchant=merchant, status="closed", level=2, highest_level=2,
                                   reported_at=now - timedelta(hours=5),
                                   first_on_site_at=now - timedelta(hours=4),
                                   resolved_at=now - timedelta(hours=3),
                                   closed_at=now - timedelta(hours=2), rating="satisfied")
            records[key] = {
                "issue": issue,
                "site_visit": SiteVisit(issue=issue, level=2, arrived_at=now, outcome="resolved"),
                "symposium": Symposium(issue=issue, held_at=now,
                                       agreed_deadline=now + timedelta(days=3)),
                "callback": Callback(issue=issue, called_at=now - timedelta(hours=2),
                                     reached=True, resolved_per_merchant=True,
                                     rating="satisfied"),
                "issue_event": IssueEvent(issue=issue, action="register", to_status="registered",
                                          to_level=1),
            }
            _db.session.add_all(list(records[key].values()))
            merchants[key], issues[key] = merchant, issue
        _db.session.commit()
        browsers, tokens = {}, {}
        for role in ROLES:
            browser = Browser(app.test_client())
            assert browser.login(role).status_code == 302
            browsers[role], tokens[role] = browser, browser.token("/admin/")
        yield World(app=app, browsers=browsers, tokens=tokens, users=users, circles=circles,
                    merchants=merchants, issues=issues, records=records,
                    specialist_of={"east": users["specialist"], "west": users["specialist"],
                                   "far": far_specialist},
                    colleague_of={"east": colleague, "west": colleague, "far": far_colleague})
        _db.session.remove()
        _db.engine.dispose()


@dataclass
class Case:
    """One cell of the matrix: who asks, about which circle."""

    world: World
    role: str
    scope: str  # "in", "out", or "-" for a city-wide capability

    @property
    def browser(self) -> Browser:
        return self.world.browsers[self.role]

    @property
    def user(self):
        return self.world.users[self.role]

    @property
    def key(self) -> str:
        """The circle probed: east is in everyone's scope; "out" is the nearest circle
        outside it — the other circle of the community for a liaison officer, another
        community for everyone else (which is still in an administrator's scope)."""
        if self.scope == "out":
            return "west" if self.role == "liaison" else "far"
        return "east"

    @property
    def circle(self):
        return self.world.circles[self.key]

    def post(self, url: str, data: dict | None = None, **kwargs):
        payload = {"csrf_token": self.world.tokens[self.role], **(data or {})}
        if "/edit/" in url and "row_version" not in payload:
            # An edit form carries the row version it showed (optimistic locking); a role
            # the form refuses gets none, and its post is refused as before.
            page = self.browser.client.get(url)
            version = _ROW_VERSION_RE.search(page.get_data(as_text=True))
            if version:
                payload["row_version"] = version.group(1)
        return self.browser.client.post(url, data=payload, **kwargs)


_serial = itertools.count(1)


def unique() -> int:
    return next(_serial)


def fresh_merchant(case: Case) -> Merchant:
    n = unique()
    merchant = f.MerchantFactory(circle=case.circle, shop_name=f"探针商铺{n}",
                                 phone=f"135{n:08d}")
    _db.session.commit()
    return merchant


def fresh_issue(case: Case, status: str, level: int, **kwargs) -> Issue:
    """An issue of a new merchant of the probed circle, already in ``status``."""
    issue = f.IssueFactory(merchant=fresh_merchant(case), status=status, level=level,
                           highest_level=level, **kwargs)
    _db.session.commit()
    return issue


# --- how a response reads ----------------------------------------------------------------

def page(case: Case, url: str) -> Outcome:
    """GET ``url``: 200 granted, 403 denied, 404 not found; anything else is a bug."""
    status = case.browser.get(url).status_code
    outcomes = {200: Outcome.GRANTED, 403: Outcome.DENIED, 404: Outcome.NOT_FOUND}
    assert status in outcomes, (url, status)
    return outcomes[status]


def pages(case: Case, *urls: str) -> Outcome:
    """Several pages that need the same right must all answer alike."""
    outcomes = {url: page(case, url) for url in urls}
    assert len(set(outcomes.values())) == 1, outcomes
    return next(iter(outcomes.values()))


def listed(case: Case, url: str, marker: str) -> Outcome:
    """A list page: 403 denied; 200 granted if it shows ``marker``, else not found."""
    response = case.browser.get(url)
    assert response.status_code in (200, 403), (url, response.status_code)
    if response.status_code == 403:
        return Outcome.DENIED
    return Outcome.GRANTED if marker in response.get_data(as_text=True) else Outcome.NOT_FOUND


def agree(*outcomes: Outcome) -> Outcome:
    assert len(set(outcomes)) == 1, outcomes
    return outcomes[0]


def changed(response, happened: bool) -> Outcome:
    """A write: granted if it happened; 404 not found; otherwise denied (never a 500)."""
    assert response.status_code < 500, response.status_code
    if happened:
        return Outcome.GRANTED
    return Outcome.NOT_FOUND if response.status_code == 404 else Outcome.DENIED


def desk(case: Case, issue: Issue, action: str, data: dict, happened) -> Outcome:
    """POST one action of the issue desk; ``happened(issue)`` says whether it took effect."""
    response = case.post(f"/admin/desk/{issue.id}/{action}", {"version": issue.version, **data})
    assert response.status_code in (302, 404), (action, response.status_code)
    _db.session.refresh(issue)
    return changed(response, happened(issue))


# --- the probes: one per capability -------------------------------------------------------

def see_dashboard(case: Case) -> Outcome:
    return page(case, "/admin/")


def see_merchants(case: Case) -> Outcome:
    merchant = case.world.merchants[case.key]
    return agree(page(case, f"/admin/merchant/details/?id={merchant.id}"),
                 listed(case, f"/admin/merchant/?search={merchant.shop_name}",
                        f"details/?id={merchant.id}&"))


def see_issues(case: Case) -> Outcome:
    records = case.world.records[case.key]
    return pages(case, *(f"/admin/{endpoint}/details/?id={records[endpoint].id}"
                         for endpoint in ("issue", "site_visit", "symposium", "callback")))


def see_full_phone(case: Case) -> Outcome:
    """The merchant's number and its emergency contact's, on every page that shows them:
    both in full, or both masked — never one of each (the drift this table ended)."""
    merchant = case.world.merchants[case.key]
    numbers = [merchant.phone, merchant.emergency_contacts[0].phone]
    seen = []
    for url in (f"/admin/merchant/?search={merchant.shop_name}",
                f"/admin/merchant/details/?id={merchant.id}",
                f"/admin/merchant/edit/?id={merchant.id}"):
        response = case.browser.get(url)
        if response.status_code in (302, 403, 404):  # not an editor, no right, out of scope
            seen.append(Outcome.NOT_FOUND if response.status_code == 404 else None)
            continue
        assert response.status_code == 200, (url, response.status_code)
        html = response.get_data(as_text=True)
        if f"id={merchant.id}" not in html:  # the list, searched: not listed (out of scope)
            seen.append(Outcome.NOT_FOUND)
            continue
        full = [number in html for number in numbers]
        masked = [mask_phone(number) in html for number in numbers]
        if all(full):
            seen.append(Outcome.GRANTED)
        else:
            assert not any(full) and all(masked), (url, full, masked)
            seen.append(Outcome.DENIED)
    seen = [outcome for outcome in seen if outcome is not None] or [Outcome.DENIED]
    return agree(*seen)


def call_issue_merchant(case: Case) -> Outcome:
    """The desk of an issue: its merchant's number in full (one tap dials) or masked."""
    issue, merchant = case.world.issues[case.key], case.world.merchants[case.key]
    response = case.browser.get(f"/admin/desk/{issue.id}")
    if response.status_code == 404:
        return Outcome.NOT_FOUND
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    if f'href="tel:{merchant.phone}"' in html:
        return Outcome.GRANTED
    assert merchant.phone not in html and mask_phone(merchant.phone) in html
    return Outcome.DENIED


def see_timeline_log(case: Case) -> Outcome:
    event = case.world.records[case.key]["issue_event"]
    return page(case, f"/admin/issue_event/details/?id={event.id}")


def see_audit_log(case: Case) -> Outcome:
    return page(case, "/admin/audit/")


def merchant_form(case: Case, n: int, **overrides) -> dict:
    return {"shop_name": f"新商铺{n}", "owner_name": "王连濛", "phone": f"136{n:08d}",
            "address": "恒大绿洲商业街8号", "circle": str(case.circle.id),
            "business_category": "食品零售", "credit_code": "", "active": "y", **overrides}


def edit_merchants(case: Case) -> Outcome:
    """Create a merchant in the circle, and rename one of its merchants."""
    n = unique()
    response = case.post("/admin/merchant/new/", merchant_form(case, n))
    created = _db.session.scalar(sa.select(Merchant).where(Merchant.shop_name == f"新商铺{n}"))
    # Out of scope, the circle is not among the choices: the form comes back (200).
    create = changed(response, created is not None)
    if create is Outcome.DENIED and response.status_code == 200:
        create = Outcome.NOT_FOUND
    merchant = fresh_merchant(case)
    response = case.post(f"/admin/merchant/edit/?id={merchant.id}",
                         merchant_form(case, n, shop_name=f"改名{n}", phone=merchant.phone))
    _db.session.refresh(merchant)
    return agree(create, changed(response, merchant.shop_name == f"改名{n}"))


def delete_merchants(case: Case) -> Outcome:
    merchant_id = fresh_merchant(case).id
    response = case.post("/admin/merchant/delete/", {"id": str(merchant_id)})
    gone = _db.session.get(Merchant, merchant_id, populate_existing=True) is None
    return changed(response, gone)


def import_merchants(case: Case) -> Outcome:
    """Import a one-row file into the circle (check and import in one go)."""
    n = unique()
    row = f"导入商铺{n},李明,134{n:08d},,,,,,,,,\r\n".encode()
    content = importing.template_csv() + row
    response = case.post("/admin/merchant-import/",
                         {"circle": str(case.circle.id), "step": "import",
                          "file": (io.BytesIO(content), "merchants.csv")},
                         content_type="multipart/form-data")
    created = _db.session.scalar(sa.select(Merchant).where(Merchant.shop_name == f"导入商铺{n}"))
    if created is not None:
        assert created.circle_id == case.circle.id
        return Outcome.GRANTED
    # Out of scope the circle is refused on the form (200); without the right, 403.
    assert response.status_code in (200, 403), response.status_code
    return Outcome.NOT_FOUND if response.status_code == 200 else Outcome.DENIED


def register_issue(case: Case) -> Outcome:
    merchant = fresh_merchant(case)
    category = _db.session.scalars(sa.select(IssueCategory)).first()
    source = _db.session.scalars(sa.select(IssueSource).where(~IssueSource.is_hotline)).first()
    response = case.post("/admin/register/", {
        "merchant": str(merchant.id), "severity": "small", "category": str(category.id),
        "source": str(source.id), "work_order_no": "", "description": "门店频繁跳闸"})
    registered = _db.session.scalar(
        sa.select(sa.func.count()).select_from(Issue).where(Issue.merchant_id == merchant.id))
    # Out of scope the merchant is refused on the form (200); without the right, 403.
    outcome = changed(response, registered > 0)
    if outcome is Outcome.DENIED and response.status_code == 200:
        outcome = Outcome.NOT_FOUND
    return outcome


def resolve_at_level1(case: Case) -> Outcome:
    issue = fresh_issue(case, "registered", 1)
    return desk(case, issue, "resolve_level1", {"summary": "更换空开"},
                lambda i: i.status == "resolved")


def escalate(case: Case) -> Outcome:
    issue = fresh_issue(case, "registered", 1)
    return desk(case, issue, "escalate", {"note": "需要专员"},
                lambda i: i.status == "escalated")


def hold_issue(case: Case) -> Outcome:
    """Put a level-1 issue on hold (so that only the hold right matters)."""
    issue = fresh_issue(case, "registered", 1)
    return desk(case, issue, "hold", {"reason": "等待商户"}, lambda i: i.status == "on_hold")


def handle_escalated(case: Case) -> Outcome:
    """Put a level-2 issue on hold: the hold right is not enough above level 1."""
    issue = fresh_issue(case, "dispatched", 2, assignee=case.world.specialist_of[case.key])
    return desk(case, issue, "hold", {"reason": "等待商户"}, lambda i: i.status == "on_hold")


def see_dispatch_board(case: Case) -> Outcome:
    """The dispatch board lists the escalated issue."""
    issue = fresh_issue(case, "escalated", 2)
    return listed(case, "/admin/dispatch/", f'id="issue-{issue.id}"')


def dispatch(case: Case) -> Outcome:
    """The desk of an escalated issue offers to accept (sign for) it, and the board's accept
    button shows only to those who may."""
    issue = fresh_issue(case, "escalated", 2)
    response = case.browser.get(f"/admin/desk/{issue.id}")
    assert response.status_code in (200, 404), response.status_code
    if response.status_code == 404:
        return Outcome.NOT_FOUND
    offered = 'data-action="accept"' in response.get_data(as_text=True)
    board = case.browser.get("/admin/dispatch/")
    if board.status_code == 200:
        html = board.get_data(as_text=True)
        assert (f'/admin/dispatch/{issue.id}/accept' in html) == offered, "board and desk"
    return Outcome.GRANTED if offered else Outcome.DENIED


def assign_others(case: Case) -> Outcome:
    """Accept an escalated issue on behalf of a colleague (someone other than oneself)."""
    issue = fresh_issue(case, "escalated", 2)
    colleague = case.world.colleague_of[case.key]
    return desk(case, issue, "accept", {"assignee": str(colleague.id)},
                lambda i: i.assignee_id == colleague.id)


def work_on_site(case: Case) -> Outcome:
    issue = fresh_issue(case, "on_site", 2, assignee=case.world.specialist_of[case.key],
                        first_on_site_at=utcnow() - timedelta(minutes=30))
    return desk(case, issue, "resolve", {"summary": "更换空开"},
                lambda i: i.status == "resolved")


def contact_merchant(case: Case) -> Outcome:
    issue = fresh_issue(case, "dispatched", 2, assignee=case.world.specialist_of[case.key])
    local = (utcnow() + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")  # Asia/Shanghai
    return desk(case, issue, "first_contact", {"contacted_at": local, "channel": "phone"},
                lambda i: i.contacted_at is not None)


def request_exception(case: Case) -> Outcome:
    issue = fresh_issue(case, "dispatched", 2, assignee=case.world.specialist_of[case.key],
                        resolution_due_at=utcnow() + timedelta(hours=2))
    later = (utcnow() + timedelta(days=3, hours=8)).strftime("%Y-%m-%dT%H:%M")
    return desk(case, issue, "request_extension", {"new_deadline": later, "reason": "待配件"},
                lambda i: len(i.requests) == 1)


def approve_exception(case: Case) -> Outcome:
    """Approve the extension a specialist asked for: the deadline moves."""
    from circle.issues.lifecycle_models import ApprovalRequest

    due, later = utcnow() + timedelta(hours=2), utcnow() + timedelta(days=3)
    issue = fresh_issue(case, "dispatched", 2, assignee=case.world.specialist_of[case.key],
                        resolution_due_at=due)
    _db.session.add(ApprovalRequest(issue=issue, kind="extension", reason="待配件",
                                    old_deadline=due, new_deadline=later))
    _db.session.commit()
    return desk(case, issue, "decide_extension", {"approve": "yes"},
                lambda i: i.extension_count == 1)


def transfer(case: Case) -> Outcome:
    issue = fresh_issue(case, "dispatched", 2, assignee=case.world.specialist_of[case.key])
    to = case.world.circles["west" if case.key != "west" else "east"]
    return desk(case, issue, "transfer", {"circle": str(to.id)},
                lambda i: i.circle_id == to.id)


def supervise(case: Case) -> Outcome:
    issue = fresh_issue(case, "dispatched", 2, assignee=case.world.specialist_of[case.key])
    return desk(case, issue, "supervise", {"note": "请今日办结"},
                lambda i: i.supervised_at is not None)


def record_callback(case: Case) -> Outcome:
    """The callback queue lists the resolved issue, and a call to the merchant is logged."""
    issue = fresh_issue(case, "resolved", 2, assignee=case.world.specialist_of[case.key],
                        resolved_at=utcnow() - timedelta(hours=1))
    queue = listed(case, "/admin/callbacks/", f'id="issue-{issue.id}"')
    logged = desk(case, issue, "callback", {"reached": "no"}, lambda i: len(i.callbacks) == 1)
    return agree(queue, logged) if queue is not Outcome.DENIED else logged


def edit_issues(case: Case) -> Outcome:
    issue = fresh_issue(case, "registered", 1)
    n = unique()
    response = case.post(f"/admin/issue/edit/?id={issue.id}", {
        "category": str(issue.category_id), "source": str(issue.source_id),
        "work_order_no": "", "description": f"更正{n}"})
    _db.session.refresh(issue)
    return changed(response, issue.description == f"更正{n}")


def export(case: Case) -> Outcome:
    """Download the circle's callbacks; out of scope the circle is refused on the form."""
    response = case.browser.get("/admin/satisfaction-export/", query_string={
        "download": "1", "circle": str(case.circle.id), "format": "csv"})
    response.get_data()
    if response.status_code == 403:
        return Outcome.DENIED
    assert response.status_code == 200, response.status_code
    if response.mimetype == "text/csv":
        assert case.world.merchants[case.key].shop_name in response.get_data(as_text=True)
        return Outcome.GRANTED
    return Outcome.NOT_FOUND


def administer_users(case: Case) -> Outcome:
    return pages(case, "/admin/user/", "/admin/user/new/")


def manage_own_devices(case: Case) -> Outcome:
    """The list of one's own devices (signing them out is tests/test_devices.py's: it would
    sign out the module's browsers)."""
    return pages(case, "/admin/devices/")


def administer_organisation(case: Case) -> Outcome:
    return pages(case, *(f"/admin/{endpoint}/"
                         for endpoint in ("community", "circle", "member", "department")))


def administer_reference_data(case: Case) -> Outcome:
    return pages(case, *(f"/admin/{endpoint}/" for endpoint in (
        "department_kind", "issue_category", "issue_source", "sla_policy", "calendar_day",
        "work_schedule", "holiday-import")))


def manage_api_tokens(case: Case) -> Outcome:
    return pages(case, "/admin/api_token/", "/admin/api_token/new/")


def manage_report_links(case: Case) -> Outcome:
    """Reissue a merchant's QR report link: the old sticker stops working."""
    from circle.selfreport.links import issue_report_link

    merchant = fresh_merchant(case)
    old = issue_report_link(merchant)
    _db.session.commit()
    response = case.post(f"/admin/stickers/merchant/{merchant.id}/reissue", {})
    _db.session.refresh(merchant)
    return changed(response, merchant.report_token != old)


def self_report(case: Case) -> Outcome:
    """A person's account never takes the merchant's own steps (only a merchant's link
    does, without any account: tests/test_selfreport.py)."""
    from circle.issues import workflow

    merchant = fresh_merchant(case)
    try:
        workflow.register_issue(
            case.user, merchant=merchant, step="self_report", severity="small",
            category=_db.session.scalars(sa.select(IssueCategory)).first(),
            source=_db.session.scalars(sa.select(IssueSource)).first(), description="跳闸")
    except workflow.NotAllowed:
        return Outcome.DENIED
    finally:
        _db.session.rollback()
    return Outcome.GRANTED


@dataclass(frozen=True)
class Probe:
    run: Callable[[Case], Outcome]
    #: Whether the right is limited to the user's circles (else it is city-wide).
    scoped: bool = True
    #: Other capabilities the probe's request needs as well.
    needs: tuple[Cap, ...] = ()


PROBES: dict[Cap, Probe] = {
    Cap.SEE_DASHBOARD: Probe(see_dashboard, scoped=False),
    Cap.SEE_MERCHANTS: Probe(see_merchants),
    Cap.SEE_ISSUES: Probe(see_issues),
    Cap.SEE_FULL_PHONE: Probe(see_full_phone, needs=(Cap.SEE_MERCHANTS,)),
    Cap.CALL_ISSUE_MERCHANT: Probe(call_issue_merchant, needs=(Cap.SEE_ISSUES,)),
    Cap.SEE_TIMELINE_LOG: Probe(see_timeline_log),
    Cap.SEE_AUDIT_LOG: Probe(see_audit_log, scoped=False),
    Cap.EDIT_MERCHANTS: Probe(edit_merchants, needs=(Cap.SEE_MERCHANTS,)),
    Cap.DELETE_MERCHANTS: Probe(delete_merchants, needs=(Cap.SEE_MERCHANTS,)),
    Cap.IMPORT_MERCHANTS: Probe(import_merchants),
    Cap.REGISTER_ISSUE: Probe(register_issue),
    Cap.RESOLVE_AT_LEVEL1: Probe(resolve_at_level1),
    Cap.ESCALATE: Probe(escalate),
    Cap.HOLD_ISSUE: Probe(hold_issue),
    Cap.HANDLE_ESCALATED: Probe(handle_escalated, needs=(Cap.HOLD_ISSUE,)),
    Cap.SEE_DISPATCH_BOARD: Probe(see_dispatch_board),
    Cap.DISPATCH: Probe(dispatch, needs=(Cap.HANDLE_ESCALATED, Cap.SEE_ISSUES)),
    Cap.ASSIGN_OTHERS: Probe(assign_others, needs=(Cap.DISPATCH, Cap.HANDLE_ESCALATED)),
    Cap.WORK_ON_SITE: Probe(work_on_site, needs=(Cap.HANDLE_ESCALATED,)),
    Cap.RECORD_CALLBACK: Probe(record_callback),
    Cap.CONTACT_MERCHANT: Probe(contact_merchant, needs=(Cap.HANDLE_ESCALATED,)),
    Cap.REQUEST_EXCEPTION: Probe(request_exception, needs=(Cap.HANDLE_ESCALATED,)),
    Cap.APPROVE_EXCEPTION: Probe(approve_exception, needs=(Cap.SEE_ISSUES,)),
    Cap.TRANSFER: Probe(transfer, needs=(Cap.HANDLE_ESCALATED,)),
    Cap.SUPERVISE: Probe(supervise, needs=(Cap.SEE_ISSUES,)),
    Cap.EDIT_ISSUES: Probe(edit_issues, needs=(Cap.SEE_ISSUES,)),
    Cap.EXPORT: Probe(export),
    Cap.ADMINISTER_USERS: Probe(administer_users, scoped=False),
    Cap.MANAGE_OWN_DEVICES: Probe(manage_own_devices, scoped=False),
    Cap.ADMINISTER_ORGANISATION: Probe(administer_organisation, scoped=False),
    Cap.ADMINISTER_REFERENCE_DATA: Probe(administer_reference_data, scoped=False),
    Cap.MANAGE_API_TOKENS: Probe(manage_api_tokens, scoped=False),
    Cap.MANAGE_REPORT_LINKS: Probe(manage_report_links, needs=(Cap.EDIT_MERCHANTS,)),
    Cap.SELF_REPORT: Probe(self_report, scoped=False),
}

#: Cells where the code does not yet do what the table says, with the file that must change.
#: Strict: once fixed, the cell passes, the xfail fails, and the entry goes.
KNOWN_GAPS: dict[tuple[Cap, str, str], str] = {
}


def expected(case: Case, capability: Cap) -> set[Outcome]:
    """What the table and row scope say the probe must show."""
    probe = PROBES[capability]
    holds = all(can(case.user, cap) for cap in (capability, *probe.needs))
    in_scope = not probe.scoped or circle_in_scope(case.user, case.circle.id)
    if holds:
        return {Outcome.GRANTED if in_scope else Outcome.NOT_FOUND}
    # Which check comes first (the right, or the row's scope) is the view's business.
    return {Outcome.DENIED} if in_scope else {Outcome.DENIED, Outcome.NOT_FOUND}


def matrix():
    for capability in Cap:
        probe = PROBES.get(capability)
        scopes = ("in", "out") if probe is None or probe.scoped else ("-",)
        for role in ROLES:
            for scope in scopes:
                marks = []
                gap = KNOWN_GAPS.get((capability, role, scope))
                if gap:
                    marks.append(pytest.mark.xfail(reason=gap, strict=True))
                yield pytest.param(capability, role, scope, marks=marks,
                                   id=f"{capability.value}-{role}-{scope}")


@pytest.mark.parametrize("capability,role,scope", list(matrix()))
def test_capability(world, capability, role, scope):
    case = Case(world, role, scope)
    assert capability in PROBES, f"no probe for {capability!r}"
    assert PROBES[capability].run(case) in expected(case, capability)


def test_every_capability_has_a_probe():
    assert set(PROBES) == set(Cap)
    assert set(PERMISSIONS) == set(Cap)


@pytest.mark.parametrize("capability,role,change", [
    (Cap.SEE_FULL_PHONE, "liaison", "grant"),
    (Cap.EXPORT, "liaison", "grant"),
    (Cap.EDIT_ISSUES, "liaison", "grant"),
    (Cap.IMPORT_MERCHANTS, "admin", "revoke"),
    (Cap.SEE_AUDIT_LOG, "admin", "revoke"),
])
def test_a_new_right_is_one_line_in_the_table(world, monkeypatch, capability, role, change):
    """Changing one entry of the table is all it takes: the views follow."""
    roles = PERMISSIONS[capability]
    monkeypatch.setitem(PERMISSIONS, capability,
                        roles | {role} if change == "grant" else roles - {role})
    case = Case(world, role, "in")
    want = Outcome.GRANTED if change == "grant" else Outcome.DENIED
    assert expected(case, capability) == {want}
    assert PROBES[capability].run(case) is want


def test_probes_refuse_without_a_csrf_token(world):
    """The matrix posts with the session's token; without one, nothing is written."""
    case = Case(world, "admin", "in")
    merchant_id = fresh_merchant(case).id
    response = case.browser.client.post("/admin/merchant/delete/", data={"id": merchant_id})
    assert response.status_code in (400, 403)
    assert _db.session.get(Merchant, merchant_id, populate_existing=True) is not None
