"""Synthetic, reproducible city-scale data for benchmarks: ``flask circle gen-synthetic``.

Realistic enough to exercise every query path: Chinese shop and person names, valid phones
and credit codes, issues in every status and level spread over two years, their timelines,
site visits, symposiums and callbacks with a realistic rating mix — written with bulk
Core inserts (explicit ids, executemany in batches), not ORM objects, so a million issues
take minutes. Deadlines follow the SLA policy's rules on the installed calendar, computed by
the same functions as registration (:class:`circle.issues.sla.Terms`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from circle.accounts.models import Role, User, hash_password, user_circle
from circle.extensions import db
from circle.issues.lifecycle_models import ApprovalRequest, ReturnBasis, Supervision
from circle.issues.models import (
    Callback,
    Issue,
    IssueCategory,
    IssueEvent,
    IssueSource,
    Rating,
    SiteVisit,
    Status,
    Symposium,
)
from circle.issues.sla import Terms
from circle.issues.sla_models import SlaPolicy
from circle.issues.workcalendar import add_time, load_calendar
from circle.merchants.models import EmergencyContact, Merchant
from circle.org.models import BusinessCircle, Community, Street
from circle.synthetic_words import (
    _GIVEN,
    _MOBILE,
    _PROBLEMS,
    _SHOP_KINDS,
    _SHOP_WORDS,
    _STREETS,
    _SURNAMES,
)
from circle.timeutil import utcnow
from circle.validators import CREDIT_CODE_CHARS, credit_code_check_char

MERCHANTS_PER_CIRCLE = 100
CIRCLES_PER_COMMUNITY = 20
SYNTHETIC_PASSWORD = "synthetic-bench-2024"

# Status mix by age, as in a mature deployment: a fresh working set still open, older
# issues almost all closed, and a long tail of issues on hold or waiting for a symposium's
# agreed deadline. ``(age in days up to, weights)``; ages are uniform over the history.
_STATUS_BY_AGE = (
    (2, ((Status.REGISTERED, 15), (Status.ESCALATED, 12), (Status.DISPATCHED, 15),
         (Status.ON_SITE, 15), (Status.JOINT_OFFICE, 5), (Status.RESOLVED, 15),
         (Status.CLOSED, 18), (Status.WITHDRAWN, 3), (Status.ON_HOLD, 2))),
    (14, ((Status.REGISTERED, 1), (Status.ESCALATED, 1), (Status.DISPATCHED, 3),
          (Status.ON_SITE, 3), (Status.JOINT_OFFICE, 4), (Status.SYMPOSIUM, 3),
          (Status.RESOLVED, 8), (Status.CLOSED, 70), (Status.WITHDRAWN, 4),
          (Status.ON_HOLD, 3), (Status.RETURNED, 1))),
    (None, ((Status.CLOSED, 95.5), (Status.WITHDRAWN, 4), (Status.ON_HOLD, 0.3),
           (Status.SYMPOSIUM, 0.2), (Status.RETURNED, 1))),
)
# The 12345 lifecycle, per issue signed for by a specialist: the merchant phoned first (the
# others are first contacted on site), an extension asked for (and mostly approved), a
# supervision order by the street leader (its deadline sometimes missed: chased daily).
_PHONED_FIRST = 0.85
_EXTENSION_SHARE = 0.04
_EXTENSION_APPROVED = 0.85
_SUPERVISED_SHARE = 0.02
COMMUNITIES_PER_STREET = 5
HISTORY_DAYS = 730
# Share of open level-2 issues that are back after a dissatisfied callback (重办).
_REHANDLED_OPEN_SHARE = 0.1
_RATING_WEIGHTS = (("very_satisfied", 45), ("satisfied", 33), ("basically_satisfied", 13),
                   ("dissatisfied", 6), ("very_dissatisfied", 3))
_SEVERITY_WEIGHTS = (("small", 60), ("big", 32), ("hard", 8))
_SATISFIED = Rating.SATISFIED_SET


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


@dataclass
class _Ids:
    """Next free primary key per table (ids are assigned here, not by the database)."""

    merchant: int
    contact: int
    issue: int
    event: int
    visit: int
    symposium: int
    callback: int
    request: int
    supervision: int


def _next_id(model) -> int:
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE) + f"{rng.randrange(10 ** 8):08d}"


def _credit_code(rng: random.Random, serial: int) -> str:
    body = "92370113MA" + "".join(CREDIT_CODE_CHARS[(serial // 31 ** k) % 31] for k in range(7))
    return body + credit_code_check_char(body)


def _insert(model_or_table, rows: list[dict]) -> None:
    if rows:
        table = getattr(model_or_table, "__table__", model_or_table)
        db.session.execute(sa.insert(table), rows)


def _organisation(rng, merchants: int, seed: int, password_hash: str):
    """Communities, circles and accounts sized for ``merchants``; returns what issues need."""
    circles_needed = max(1, -(-merchants // MERCHANTS_PER_CIRCLE))
    communities = max(1, -(-circles_needed // CIRCLES_PER_COMMUNITY))
    tag = f"S{seed}"
    circle_ids, liaison_of, specialist_of, staff_of, community_of = [], {}, {}, {}, {}
    leader_of, street, leader = {}, None, None
    for c in range(communities):
        if c % COMMUNITIES_PER_STREET == 0:
            street = Street(name=f"合成街道{tag}-{c // COMMUNITIES_PER_STREET + 1:03d}")
            leader = User(username=f"syn{tag}-ld{c // COMMUNITIES_PER_STREET + 1}",
                          display_name=_person(rng), phone=_mobile(rng), role=Role.LEADER,
                          street=street, password_hash=password_hash, active=True)
            db.session.add_all([street, leader])
            db.session.flush()
        community = Community(name=f"合成社区{tag}-{c + 1:03d}", address="济南市长清区",
                              street=street)
        db.session.add(community)
        db.session.flush()
        specialist = User(username=f"syn{tag}-zy{c + 1}", display_name=_person(rng),
                          phone=_mobile(rng), role=Role.SPECIALIST, community=community,
                          password_hash=password_hash, active=True)
        staff = User(username=f"syn{tag}-hf{c + 1}", display_name=_person(rng),
                     phone=_mobile(rng), role=Role.STAFF, community=community,
                     password_hash=password_hash, active=True)
        db.session.add_all([specialist, staff])
        db.session.flush()
        for k in range(min(CIRCLES_PER_COMMUNITY, circles_needed - len(circle_ids))):
            circle = BusinessCircle(name=f"{rng.choice(_STREETS)}商圈{c + 1}-{k + 1}",
                                    community=community)
            db.session.add(circle)
            db.session.flush()
            liaison = User(username=f"syn{tag}-ll{c + 1}-{k + 1}", display_name=_person(rng),
                           phone=_mobile(rng), role=Role.LIAISON, password_hash=password_hash,
                           active=True)
            db.session.add(liaison)
            db.session.flush()
            _insert(user_circle, [{"user_id": liaison.id, "circle_id": circle.id}])
            circle_ids.append(circle.id)
            liaison_of[circle.id] = liaison.id
            specialist_of[circle.id] = specialist.id
            staff_of[circle.id] = staff.id
            community_of[circle.id] = community.id
            leader_of[circle.id] = leader.id
    return circle_ids, liaison_of, specialist_of, staff_of, leader_of


def _merchants(rng, count: int, circle_ids, ids: _Ids, now: datetime, bar) -> list[tuple]:
    """Insert merchants and their emergency contacts; returns (merchant id, circle id)."""
    created, batch, contacts = [], [], []
    for n in range(count):
        circle_id = circle_ids[n // MERCHANTS_PER_CIRCLE % len(circle_ids)]
        word, (kind, category) = rng.choice(_SHOP_WORDS), rng.choice(_SHOP_KINDS)
        merchant_id = ids.merchant
        ids.merchant += 1
        owner = _person(rng)
        batch.append({
            "id": merchant_id, "shop_name": f"{word}{kind}{n + 1}", "owner_name": owner,
            "phone": _mobile(rng), "address": f"{rng.choice(_STREETS)}{rng.randint(1, 999)}号",
            "circle_id": circle_id, "business_category": category,
            "credit_code": _credit_code(rng, merchant_id) if rng.random() < 0.5 else None,
            "active": rng.random() > 0.03, "created_at": now - timedelta(days=800),
            "updated_at": now - timedelta(days=rng.randint(0, 800)),
        })
        contacts.append({"id": ids.contact, "merchant_id": merchant_id, "priority": 1,
                         "name": owner[0] + rng.choice(_GIVEN), "phone": _mobile(rng),
                         "relation": rng.choice(("配偶", "儿子", "女儿", "店长"))})
        ids.contact += 1
        created.append((merchant_id, circle_id))
        if len(batch) >= 5000:
            _insert(Merchant, batch)
            _insert(EmergencyContact, contacts)
            bar.update(len(batch))
            batch, contacts = [], []
    _insert(Merchant, batch)
    _insert(EmergencyContact, contacts)
    bar.update(len(batch))
    return created


def _issue_rows(rng, merchant, refs, now, ids: _Ids):
    """One issue with its events, visits, symposium and callbacks, as insert dicts.

    A fast path beside the workflow engine (bulk inserts, no ORM): the timeline takes only
    steps declared in :data:`circle.issues.steps.STEPS`, by the roles allowed to, which
    tests/test_synthetic.py checks by replaying generated timelines against the declaration.
    A dissatisfied callback sends the issue back for re-handling at level 2 (重办) with a new
    resolution clock, so closed issues end on a satisfied rating or as unreachable.
    """
    merchant_id, circle_id = merchant
    liaison, specialist, staff = (refs["liaison"][circle_id], refs["specialist"][circle_id],
                                  refs["staff"][circle_id])
    leader = refs["leader"][circle_id]
    age_days = rng.uniform(0, refs["days"])
    status = _weighted(rng, next(w for limit, w in _STATUS_BY_AGE
                                 if limit is None or age_days <= limit))
    severity = _weighted(rng, _SEVERITY_WEIGHTS)
    terms, calendar = refs["terms"][severity], refs["calendar"]
    reported = now - timedelta(days=age_days)
    response_due, first_resolution_due = terms.deadlines(reported, calendar)
    # The pace of the handling follows the budgets (minutes from registration).
    respond = terms.response_minutes or 30
    resolve = max(1, int((first_resolution_due - reported).total_seconds() // 60))
    source_id, hotline = rng.choice(refs["sources"])
    issue_id = ids.issue
    ids.issue += 1
    level = {Status.REGISTERED: 1, Status.JOINT_OFFICE: 3, Status.SYMPOSIUM: 4}.get(status)
    if level is None:
        level = rng.choices((1, 2, 3, 4), weights=(35, 50, 12, 3))[0] if status in (
            Status.CLOSED, Status.RESOLVED, Status.WITHDRAWN) else 2
    first_rating = _weighted(rng, _RATING_WEIGHTS)
    rehandled = (status == Status.CLOSED and first_rating not in _SATISFIED) or (
        status in (Status.DISPATCHED, Status.ON_SITE) and rng.random() < _REHANDLED_OPEN_SHARE)
    events, visits, symposiums, callbacks, requests, orders = [], [], [], [], [], []
    state = {"clock": reported, "status": Status.REGISTERED, "level": 1, "assignee": None,
             "first_on_site": None, "resolved": None, "started": reported, "round": 0,
             "received": None, "sign_due": None, "signed": None, "contact_due": None,
             "contacted": None, "channel": None, "extensions": 0, "chases": 0,
             "supervised": None, "due": first_resolution_due}
    budgets = refs["budgets"][severity]

    def event(action, to_status, to_level, actor, minutes, note=""):
        state["clock"] = min(state["clock"] + timedelta(minutes=minutes), now)
        events.append({"id": ids.event, "issue_id": issue_id, "actor_id": actor,
                       "created_at": state["clock"], "action": action,
                       "from_status": state["status"] if action != "register" else None,
                       "to_status": to_status,
                       "from_level": state["level"] if action != "register" else None,
                       "to_level": to_level, "note": note})
        ids.event += 1
        state["status"], state["level"] = to_status, to_level

    def visit(level_, outcome, findings):
        visits.append({"id": ids.visit, "issue_id": issue_id, "level": level_,
                       "arrived_at": state["clock"], "findings": findings, "outcome": outcome,
                       "recorded_by_id": specialist, "created_at": state["clock"]})
        ids.visit += 1

    def callback(reached, rating=None, hours=None, resolved=None):
        called = min(state["clock"] + timedelta(hours=hours or rng.randint(2, 40)), now)
        if reached and resolved is None:
            resolved = rating in _SATISFIED
        callbacks.append({"id": ids.callback, "issue_id": issue_id, "called_at": called,
                          "called_by_id": staff, "reached": reached,
                          "resolved_per_merchant": resolved if reached else None,
                          "rating": rating, "comments": "", "round": state["round"]})
        ids.callback += 1

    def received():
        """Escalated: the signing-for and first-contact clocks start (as sla does)."""
        at = state["received"] = state["clock"]
        state["sign_due"] = _after(at, budgets[0], terms.response_clock, calendar)
        state["contact_due"] = _after(at, budgets[1], terms.response_clock, calendar)

    def accepted():
        """Signed for; then perhaps the first phone call, an extension, a supervision."""
        state["signed"] = state["signed"] or state["clock"]
        if rng.random() < _PHONED_FIRST:
            event("first_contact", state["status"], state["level"], specialist,
                  rng.randint(2, int(budgets[1] * 1.2) + 2), "电话联系商户")
            state["contacted"], state["channel"] = state["clock"], "phone"
        if status in (Status.ESCALATED, Status.RETURNED):
            return
        if rng.random() < _EXTENSION_SHARE:
            event("request_extension", state["status"], state["level"], specialist,
                  rng.randint(10, 120), "需协调相关单位，申请延期")
            if state["clock"] < state["due"]:
                approved = rng.random() < _EXTENSION_APPROVED
                asked_at, old_due = state["clock"], state["due"]
                new_due = old_due + timedelta(days=rng.randint(1, 5))
                event("approve_extension" if approved else "refuse_extension",
                      state["status"], state["level"], leader, rng.randint(20, 240),
                      "同意延期" if approved else "期限内应办结")
                requests.append({
                    "id": ids.request, "issue_id": issue_id, "kind": "extension",
                    "status": "approved" if approved else "refused", "reason": "需协调相关单位",
                    "basis_id": None, "old_deadline": old_due, "new_deadline": new_due,
                    "requested_by_id": specialist, "requested_at": asked_at,
                    "decided_by_id": leader, "decided_at": state["clock"],
                    "decision_note": ""})
                ids.request += 1
                if approved:
                    state["due"], state["extensions"] = new_due, 1
            else:  # the step refuses a request after the deadline: it never happened
                events.pop()
                ids.event -= 1
                state["clock"] = events[-1]["created_at"]
        if rng.random() < _SUPERVISED_SHARE:
            event("supervise", state["status"], state["level"], leader, rng.randint(30, 600),
                  "请加快办理")
            deadline = state["clock"] + timedelta(days=rng.randint(1, 3))
            state["supervised"] = state["clock"]
            orders.append({"id": ids.supervision, "issue_id": issue_id,
                           "issued_by_id": leader, "issued_at": state["clock"],
                           "note": "请加快办理", "deadline": deadline, "last_chased_on": None,
                           "chase_count": 0})
            ids.supervision += 1

    def chase_until(end):
        """催办: once a day from the day after a missed supervision deadline, until ``end``."""
        if not orders or state["status"] not in Status.OPEN:
            return
        order = orders[-1]
        day = order["deadline"] + timedelta(days=1)
        while day <= state["clock"]:  # the chases of days already past were written
            day += timedelta(days=1)
        # The clock stays: the next event is at ``end``, after these.
        while day <= end and order["chase_count"] < 7:
            events.append({"id": ids.event, "issue_id": issue_id, "actor_id": None,
                           "created_at": day, "action": "chase",
                           "from_status": state["status"], "to_status": state["status"],
                           "from_level": state["level"], "to_level": state["level"],
                           "note": "督办期限已过，催办"})
            ids.event += 1
            order["chase_count"] += 1
            order["last_chased_on"] = day.date()
            day += timedelta(days=1)
        state["chases"] = order["chase_count"]

    def resolve_now():
        minutes = rng.randint(10, int(resolve * (1.4 if rng.random() < 0.12 else 0.9)) + 10)
        chase_until(min(state["clock"] + timedelta(minutes=minutes), now))
        actor = liaison if state["level"] == 1 else specialist
        event("resolve", Status.RESOLVED, state["level"], actor, minutes, "已解决")
        state["resolved"] = state["clock"]
        state.setdefault("first_resolved", state["clock"])

    event("register", Status.REGISTERED, 1, liaison, 0)
    if rehandled:
        # First round: handled on site at level 2, resolved, called back dissatisfied.
        event("escalate", Status.ESCALATED, 2, liaison, rng.randint(5, 60))
        received()
        state["assignee"] = specialist
        event("accept", Status.DISPATCHED, 2, specialist, rng.randint(2, 30))
        accepted()
        event("arrive", Status.ON_SITE, 2, specialist, rng.randint(10, int(respond * 1.3) + 10))
        state["first_on_site"] = state["clock"]
        if state["contacted"] is None:
            state["contacted"], state["channel"] = state["clock"], "on_site"
        visit(2, "resolved", "现场查看")
        resolve_now()
        # As the workflow decides: the call sends it back, so the merchant did not call it
        # solved (a satisfied rating for a problem not solved is re-handled too).
        callback(True, first_rating, resolved=False)
        state["clock"] = callbacks[-1]["called_at"]
        event("rehandle", Status.DISPATCHED, 2, staff, 1, "不满意，重办")
        state["started"], state["round"] = state["clock"], 1
        if status != Status.DISPATCHED:
            event("arrive", Status.ON_SITE, 2, specialist, rng.randint(30, 600))
            visit(2, "resolved" if status == Status.CLOSED else "temporary", "重办现场查看")
    elif level >= 2 and status != Status.REGISTERED:
        event("escalate", Status.ESCALATED, 2, liaison, rng.randint(5, 60))
        received()
        if status != Status.ESCALATED:
            state["assignee"] = specialist
            event("accept", Status.DISPATCHED, 2, specialist, rng.randint(2, 30))
            accepted()
            if status == Status.RETURNED:
                event("request_return", Status.DISPATCHED, 2, specialist, rng.randint(10, 240),
                      "不属于本社区职责范围")
                asked_at = state["clock"]
                event("approve_return", Status.RETURNED, 2, leader, rng.randint(30, 600),
                      "同意退单")
                requests.append({
                    "id": ids.request, "issue_id": issue_id, "kind": "return",
                    "status": "approved", "reason": "不属于本社区职责范围",
                    "basis_id": refs["basis"], "old_deadline": None, "new_deadline": None,
                    "requested_by_id": specialist, "requested_at": asked_at,
                    "decided_by_id": leader, "decided_at": state["clock"],
                    "decision_note": "同意退单"})
                ids.request += 1
            elif status != Status.DISPATCHED:
                event("arrive", Status.ON_SITE, 2, specialist,
                      rng.randint(10, int(respond * 1.3) + 10))
                state["first_on_site"] = state["clock"]
                if state["contacted"] is None:
                    state["contacted"], state["channel"] = state["clock"], "on_site"
                visit(2, "resolved" if level == 2 else "escalate", "现场查看")
                if level >= 3 and status != Status.ON_SITE:
                    event("joint_office", Status.JOINT_OFFICE, 3, specialist,
                          rng.randint(60, 600))
                    visit(3, "resolved" if level == 3 else "escalate", "联合现场办公")
                    if level == 4:
                        event("escalate_symposium", Status.SYMPOSIUM, 4, specialist,
                              rng.randint(60, 1440))
                        symposiums.append({
                            "id": ids.symposium, "issue_id": issue_id,
                            "held_at": state["clock"],
                            "participants": "社区、职能部门、商户代表", "minutes": "商定解决时限",
                            "agreed_deadline": state["clock"] + timedelta(
                                days=rng.randint(3, 14)),
                            "recorded_by_id": specialist, "created_at": state["clock"]})
                        ids.symposium += 1
    before_hold = state["status"]
    if status in Status.OPEN:
        chase_until(now)
    if status == Status.ON_HOLD:
        event("hold", Status.ON_HOLD, state["level"], specialist, rng.randint(10, 120),
              "等待商户提供材料")
    if status in (Status.RESOLVED, Status.CLOSED):
        resolve_now()
    rating, unreachable = None, False
    if rehandled:
        rating = first_rating
    if status == Status.CLOSED:
        if rng.random() < 0.02:
            unreachable = True
            # As the workflow does: two missed calls, and the third closes it.
            for attempt in range(3):
                callback(False, hours=20 + attempt * 4)
                state["clock"] = callbacks[-1]["called_at"]
                if attempt < 2:
                    event("callback_missed", Status.RESOLVED, state["level"], staff, 1)
            event("unreachable", Status.CLOSED, state["level"], staff, 1)
        else:
            rating = _weighted(rng, _RATING_WEIGHTS[:3])
            callback(True, rating)
            event("close", Status.CLOSED, state["level"], staff, rng.randint(120, 2400),
                  "回访办结")
    if status == Status.WITHDRAWN:
        # Liaison officers act on level 1 only; above it the community withdraws.
        event("withdraw", Status.WITHDRAWN, state["level"],
              liaison if state["level"] == 1 else specialist, rng.randint(10, 300), "重复登记")
    closed = state["clock"] if status in (Status.CLOSED, Status.WITHDRAWN, Status.RETURNED) \
        else None
    resolution_due = (symposiums[-1]["agreed_deadline"] if symposiums
                      else state["due"] if state["round"] == 0
                      else terms.resolution_due(state["started"], calendar))
    issue = {
        "id": issue_id, "merchant_id": merchant_id, "circle_id": circle_id,
        "category_id": rng.choice(refs["categories"]), "source_id": source_id,
        "description": rng.choice(_PROBLEMS), "severity": severity,
        "work_order_no": f"{reported:%y%m%d}{issue_id:09d}" if hotline else None,
        "level": state["level"], "highest_level": max(e["to_level"] for e in events),
        "status": status,
        "status_before_hold": before_hold if status == Status.ON_HOLD else None,
        "reporter_id": liaison, "assignee_id": state["assignee"], "reported_at": reported,
        "first_on_site_at": state["first_on_site"],
        # The response, kept once (circle/issues/response.py): first arrival or resolution.
        "responded_at": min((moment for moment in (state["first_on_site"],
                                                   state.get("first_resolved"))
                             if moment is not None), default=None),
        # As in the workflow, a re-handled issue keeps its last resolution time until the
        # next one.
        "resolved_at": state["resolved"],
        "closed_at": closed,
        "response_due_at": response_due,
        "resolution_due_at": resolution_due,
        "response_minutes": terms.response_minutes, "response_clock": terms.response_clock,
        "resolution_rule": terms.rule, "resolution_amount": terms.amount,
        "resolution_minutes": terms.minutes, "resolution_clock": terms.clock,
        "resolution_started_at": state["started"],
        "hold_started_at": state["clock"] if status == Status.ON_HOLD else None,
        "held_seconds": 0,
        "resolution_summary": "已解决" if state["resolved"] else "",
        "rehandle_count": state["round"],
        "rating": rating, "callback_attempts": 3 if unreachable else 0,
        "callback_unreachable": unreachable, "updated_at": state["clock"], "version": 1,
        "received_at": state["received"], "sign_due_at": state["sign_due"],
        "signed_at": state["signed"], "contact_due_at": state["contact_due"],
        "contacted_at": state["contacted"], "contact_channel": state["channel"],
        "extension_count": state["extensions"], "chase_count": state["chases"],
        "supervised_at": state["supervised"],
    }
    return issue, events, visits, symposiums, callbacks, requests, orders


def _after(start: datetime, minutes: int, clock: str, calendar) -> datetime:
    """``start`` plus a budget on ``clock`` (the calendar's, fast, in the common case)."""
    if clock == "calendar":
        return start + timedelta(minutes=minutes)
    return add_time(start, timedelta(minutes=minutes), clock=clock, calendar=calendar)


def generate(merchants: int, issues: int, seed: int = 1, now: datetime | None = None,
             progress=None, days: int = HISTORY_DAYS) -> dict:
    """Add ``merchants`` merchants and ``issues`` issues (with everything that hangs off
    them). Reproducible for a given seed and ``now``. Returns the row counts written."""
    from circle.reference import install_reference_data

    rng = random.Random(seed)
    now = now or utcnow().replace(microsecond=0)
    install_reference_data()
    policies = list(db.session.scalars(sa.select(SlaPolicy)))
    terms = {p.severity: Terms.of_policy(p) for p in policies}
    refs = {
        "terms": terms, "calendar": load_calendar(), "days": days,
        "budgets": {p.severity: (p.sign_minutes, p.contact_minutes) for p in policies},
        "basis": db.session.scalars(sa.select(ReturnBasis.id).order_by(ReturnBasis.id)).first(),
        "categories": list(db.session.scalars(sa.select(IssueCategory.id))),
        "sources": [(s.id, s.is_hotline) for s in db.session.scalars(sa.select(IssueSource))],
    }
    # One hash for every synthetic account: scrypt per user would dominate small runs.
    password_hash = hash_password(SYNTHETIC_PASSWORD)
    circle_ids, refs["liaison"], refs["specialist"], refs["staff"], refs["leader"] = (
        _organisation(rng, merchants, seed, password_hash))
    ids = _Ids(*(_next_id(m) for m in (Merchant, EmergencyContact, Issue, IssueEvent,
                                        SiteVisit, Symposium, Callback, ApprovalRequest,
                                        Supervision)))
    bar = progress or _NoBar()
    created = _merchants(rng, merchants, circle_ids, ids, now, bar)
    counts = {"merchants": merchants, "issues": 0, "events": 0, "visits": 0, "callbacks": 0}
    buffers = {model: [] for model in _CHILDREN_AFTER_PARENTS}
    for _ in range(issues):
        issue, *children = _issue_rows(rng, rng.choice(created), refs, now, ids)
        buffers[Issue].append(issue)
        for model, rows in zip(_CHILDREN_AFTER_PARENTS[1:], children, strict=True):
            buffers[model].extend(rows)
        if len(buffers[Issue]) >= 5000:
            _flush(buffers, counts, bar)
    _flush(buffers, counts, bar)
    _fix_sequences()
    db.session.commit()
    # Core inserts bypass the ORM hooks that keep the dashboard's figures: recount them.
    from circle.reports.figures import rebuild_figures

    rebuild_figures()
    db.session.commit()
    _analyze()
    return counts


class _NoBar:
    def update(self, n):
        pass


#: The tables an issue's rows go to, parents before children (foreign keys are enforced),
#: in the order :func:`_issue_rows` returns them.
_CHILDREN_AFTER_PARENTS = (Issue, IssueEvent, SiteVisit, Symposium, Callback, ApprovalRequest,
                           Supervision)


def _flush(buffers, counts, bar) -> None:
    for model in _CHILDREN_AFTER_PARENTS:
        _insert(model, buffers[model])
    counts["issues"] += len(buffers[Issue])
    counts["events"] += len(buffers[IssueEvent])
    counts["visits"] += len(buffers[SiteVisit])
    counts["callbacks"] += len(buffers[Callback])
    bar.update(len(buffers[Issue]))
    for rows in buffers.values():
        rows.clear()
    db.session.commit()


def _analyze() -> None:
    """Refresh the planner's statistics after a bulk load: SQLite never gathers them on its
    own, and PostgreSQL's autovacuum would get to it only later, so the first queries on a
    fresh million rows could pick a scan over an index."""
    with db.engine.connect() as connection:
        connection.execute(sa.text("ANALYZE"))
        connection.commit()


def _fix_sequences() -> None:
    """Ids were given explicitly; move PostgreSQL's sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for model in (Merchant, EmergencyContact, *_CHILDREN_AFTER_PARENTS):
        table = model.__tablename__
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        ))

