"""The /api/v1 endpoints: issues from 12345 work orders, the change feed, callback results.

Every request here is authenticated by its bearer token (:mod:`circle.api.auth`), counted
per token by the rate limiter, size-limited, scoped to the token's community (another
community's issue is a 404, as if it did not exist) and written to the audit log.

Cursors: lists are ordered by row id and ``next_cursor`` is the last id served, so a client
that stores it never sees an item twice nor skips one — with one proviso for the change feed,
see :func:`events`.
"""

from __future__ import annotations

import http
import logging
from datetime import timedelta

import flask
import sqlalchemy as sa
from flask import current_app, g, request, url_for
from flask_smorest import Blueprint, abort
from sqlalchemy.orm import joinedload, selectinload
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import Map, RequestRedirect, Rule

from circle.api import schemas as s
from circle.api.auth import rate_limit_key, request_token, require_token
from circle.api.errors import ApiErrorSchema, register_error_handlers
from circle.api.intake import IntakeError, community_circles, register_work_order
from circle.audit.recording import record
from circle.extensions import db, limiter
from circle.issues import sla, workcalendar
from circle.issues.callbacks import (
    final_rating_clause,
    first_rating_clause,
    unreachable_call_clause,
)
from circle.issues.models import Callback, Issue, IssueEvent, Rating, Status
from circle.issues.register import duplicate_window
from circle.issues.workflow import possible_duplicates
from circle.reports.counts import counted_issue
from circle.timeutil import utcnow

log = logging.getLogger(__name__)

#: What goes into ``AuditRecord.action`` (a String(10)) for every API call.
AUDIT_ACTION = "api"


class JsonParser(FlaskParser):
    """webargs' parser, made strict.

    Unknown query parameters are refused (422) like unknown body fields: a misspelt filter
    (``?workorder=``) must not silently return everything. A body that is not declared as
    JSON is refused (415) instead of being read as empty, and JSON nested deeply enough to
    exhaust Python's recursion limit is a 400, not a 500.
    """

    # None: each schema's own setting, which is marshmallow's RAISE.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": None, "querystring": None}

    def _raw_load_json(self, req):
        if req.get_data(cache=True) and not req.is_json:
            raise UnsupportedMediaType()
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            abort(400, message="The JSON body is nested too deeply.")


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = JsonParser()


blp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                   description="Issues from 12345 hotline work orders, their change feed and "
                               "callback (回访) results.")
register_error_handlers(blp)
# One budget per token across the whole API (scope "api"); the limit is read from the
# configuration (CIRCLE_API_RATE_LIMIT) on each request.
limiter.shared_limit(lambda: current_app.config["CIRCLE_API_RATE_LIMIT"], scope="api",
                     key_func=rate_limit_key)(blp)


def errors(*codes: int):
    """Document error responses (all in the :class:`ApiErrorSchema` shape)."""
    descriptions = {
        400: "Malformed request (e.g. the body is not valid JSON).",
        401: "Missing, invalid or revoked token.",
        403: "The token's service account may not do this.",
        404: "No such issue in the token's community.",
        409: "Conflicts with existing data (e.g. a work order of another community).",
        413: "Request body larger than allowed.",
        415: "The body is not application/json.",
        422: "Invalid parameters or body; see error.fields.",
        429: "Rate limit of the token exceeded; see Retry-After.",
    }
    headers = {
        401: {"WWW-Authenticate": {"schema": {"type": "string"},
                                   "description": "Bearer challenge."}},
        429: {"Retry-After": {"schema": {"type": "string"},
                              "description": "Seconds to wait."}},
    }

    def decorator(func):
        for code in reversed(codes):
            func = blp.alt_response(code, schema=ApiErrorSchema,
                                    description=descriptions.get(code,
                                                                 http.HTTPStatus(code).phrase),
                                    headers=headers.get(code))(func)
        return func

    return decorator


COMMON_ERRORS = (401, 403, 429)


# --- request hooks ------------------------------------------------------------------------

@blp.before_request
def authenticate():
    """Limit the body size, then require a usable token."""
    request.max_content_length = current_app.config["CIRCLE_API_MAX_BODY"]
    g.api_token = require_token()


@blp.after_request
def audit_call(response):
    """Write one audit record per call and note when the token was last used.

    The views commit their own work; anything still pending here (a failed request) is
    rolled back first so that it cannot ride along with the audit record.
    """
    try:
        db.session.rollback()
        token, problem = request_token()
        actor = token.service_user if token is not None else None
        if token is not None and problem is None:
            token.last_used_at = utcnow()
        details = {"method": request.method, "path": request.path[:200],
                   "status": response.status_code,
                   "query": {k[:50]: v[:100] for k, v in list(request.args.items())[:10]}}
        if token is not None:
            details["token"] = token.id
        record(AUDIT_ACTION, "api_call", actor=actor, remote_addr=request.remote_addr or "",
               object_id=str(getattr(g, "api_object_id", ""))[:50],
               object_repr=f"{request.method} {request.path} {response.status_code}",
               changes=details)
        db.session.commit()
    except Exception:  # the answer is already made; a failed log write must not replace it
        db.session.rollback()
        log.exception("could not audit an API call")
    return response


# --- unknown paths and methods ------------------------------------------------------------

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _api_routes(app) -> Map:
    """The API's own URL rules, to tell an unknown path (404) from a wrong method (405)."""
    if "circle_api_routes" not in app.extensions:
        rules = [Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
                 for rule in app.url_map.iter_rules()
                 if rule.rule.startswith(blp.url_prefix) and rule.endpoint != "api.unknown"]
        app.extensions["circle_api_routes"] = Map(rules)
    return app.extensions["circle_api_routes"]


def unknown(path):
    """Anything under /api/v1 that no endpoint takes: a JSON 404 or 405, never the panel's
    HTML error page (Flask matches no blueprint for those, so the API's handlers would not
    run without this catch-all)."""
    adapter = _api_routes(current_app._get_current_object()).bind("localhost")
    try:
        # Raises NotFound, or MethodNotAllowed (with the Allow header) for a known path.
        adapter.match(request.path, method=request.method)
    except RequestRedirect:
        pass
    abort(404)


# Registered with Flask's own add_url_rule so that it stays out of the OpenAPI document.
flask.Blueprint.add_url_rule(blp, "/<path:path>", "unknown", unknown, methods=_ALL_METHODS)


@blp.after_request
def allow_only_own_methods(response):
    """``Allow`` lists the methods of the API's own route for the path.

    Flask's automatic OPTIONS answer (and ``Allow``) counts every rule matching the path, the
    catch-all above included, which would advertise all methods on every endpoint.
    """
    if request.method == "OPTIONS" and "Allow" in response.headers:
        adapter = _api_routes(current_app._get_current_object()).bind("localhost")
        response.headers["Allow"] = ", ".join(sorted(adapter.allowed_methods(request.path)))
    return response


# --- representations ----------------------------------------------------------------------

def _event_payload(event: IssueEvent, work_order_no: str | None = None) -> dict:
    return {
        "id": event.id, "issue_id": event.issue_id, "work_order_no": work_order_no,
        "at": event.created_at, "action": event.action,
        "from_status": event.from_status, "to_status": event.to_status,
        "from_level": event.from_level, "to_level": event.to_level,
        "note": event.note or "", "actor_role": event.actor.role if event.actor else None,
    }


def _satisfied(rating: str | None) -> bool | None:
    return None if rating is None else rating in Rating.SATISFIED_SET


def issue_payload(issue: Issue, now, calendar) -> dict:
    """Everything the city platform needs to know about one issue."""
    return {
        "id": issue.id, "work_order_no": issue.work_order_no, "status": issue.status,
        "level": issue.level, "highest_level": issue.highest_level,
        "severity": issue.severity, "category": issue.category.name,
        "source": issue.source.name, "description": issue.description,
        "merchant": {"id": issue.merchant.id, "shop_name": issue.merchant.shop_name,
                     "circle": issue.circle.name},
        "reported_at": issue.reported_at, "updated_at": issue.updated_at,
        "sla": {
            "response_due_at": issue.response_due_at,
            "resolution_due_at": issue.resolution_due_at,
            "response_state": sla.response_state(issue, now, calendar),
            "resolution_state": sla.resolution_state(issue, now, calendar),
            "first_on_site_at": issue.first_on_site_at,
            "on_hold": issue.status == Status.ON_HOLD,
        },
        "work_order": {
            "received_at": issue.received_at,
            "sign_due_at": issue.sign_due_at, "signed_at": issue.signed_at,
            "sign_state": sla.sign_state(issue, now, calendar),
            "contact_due_at": issue.contact_due_at, "contacted_at": issue.contacted_at,
            "contact_channel": issue.contact_channel,
            "contact_state": sla.contact_state(issue, now, calendar),
            "extension_count": issue.extension_count or 0,
            "pending_request": issue.pending_request.kind if issue.pending_request else None,
            "supervised": issue.is_supervised,
            "chase_count": issue.chase_count or 0,
        },
        "resolution": {
            "summary": issue.resolution_summary or "",
            "resolved_at": issue.resolved_at, "closed_at": issue.closed_at,
            "rating": issue.rating, "satisfied": _satisfied(issue.rating),
            "rehandle_count": issue.rehandle_count or 0,
            "callback_unreachable": bool(issue.callback_unreachable),
        },
        "timeline": [_event_payload(event) for event in issue.events],
    }


def _issues_query():
    """Issues of the token's community, with everything the payload reads loaded."""
    return (
        sa.select(Issue)
        .where(Issue.circle_id.in_(community_circles(g.api_token.community_id)))
        .options(joinedload(Issue.merchant), joinedload(Issue.circle),
                 joinedload(Issue.category), joinedload(Issue.source),
                 selectinload(Issue.events).joinedload(IssueEvent.actor))
    )


def _payloads(issues) -> list[dict]:
    now, calendar = utcnow(), workcalendar.load_calendar()
    return [issue_payload(issue, now, calendar) for issue in issues]


def _load_issue(issue_id: int) -> Issue | None:
    if not 0 < issue_id <= s.MAX_ID:
        return None
    return db.session.scalar(_issues_query().where(Issue.id == issue_id))


def _cursor(query) -> int:
    """The row id to continue after; beyond the largest possible id means after all."""
    return min(int(query.get("after") or 0), s.MAX_ID)


def _page(items: list, limit: int, after: int, item_id) -> dict:
    has_more = len(items) > limit
    items = items[:limit]
    cursor = item_id(items[-1]) if items else after
    return {"items": items, "next_cursor": str(cursor), "has_more": has_more}


# --- endpoints ----------------------------------------------------------------------------

@blp.route("/issues", methods=["POST"], tags=["Issues"])
@blp.arguments(s.IssueCreateSchema, description="A 12345 hotline work order.")
@blp.response(201, s.IssueSchema, description="Registered as a new issue.",
              headers={"Location": {"schema": {"type": "string"},
                                    "description": "URL of the new issue."}})
@blp.alt_response(200, schema=s.IssueSchema, success=True,
                  description="This work order was registered before; the existing issue.")
@errors(400, *COMMON_ERRORS, 409, 413, 415)
@blp.doc(operationId="createIssue")
def create_issue(order):
    """Register a 12345 work order as an issue

    Idempotent on `work_order_no`: the first request creates the issue (201); any later one
    with the same number returns that issue (200), even when two arrive at the same moment.
    The merchant is given by id, by credit code, or by shop name and phone; a merchant not
    yet registered is created in the community's holding circle (待审核商户) for review.
    The issue is reported by the token's service account and goes at once to the community's
    hotline specialists (escalated, level 2), who must sign for it (签收): its signing-for,
    first-contact, response and resolution clocks start.
    """
    try:
        issue, created = register_work_order(g.api_token, order,
                                             remote_addr=request.remote_addr or "")
    except IntakeError as exc:
        abort(exc.status, message=exc.message, errors=exc.fields)
    g.api_object_id = issue.id
    db.session.expire_all()
    payload = _payloads([_load_issue(issue.id)])[0]
    payload["possible_duplicates"] = [other.id for other in possible_duplicates(
        issue.merchant_id, issue.category_id, duplicate_window(), exclude=issue.id)]
    if created:
        return payload, 201, {"Location": url_for("api.get_issue", issue_id=issue.id)}
    return payload, 200


@blp.route("/issues/<int:issue_id>", methods=["GET"], tags=["Issues"])
@blp.response(200, s.IssueSchema)
@errors(*COMMON_ERRORS, 404)
@blp.doc(operationId="getIssue")
def get_issue(issue_id):
    """One issue: status, level, SLA deadlines and states, resolution, timeline"""
    g.api_object_id = issue_id
    issue = _load_issue(issue_id)
    if issue is None:
        abort(404, message="No issue with this id in the token's community.")
    return _payloads([issue])[0]


@blp.route("/issues", methods=["GET"], tags=["Issues"])
@blp.arguments(s.IssueQuerySchema, location="query")
@blp.response(200, s.IssuePageSchema)
@errors(*COMMON_ERRORS)
@blp.doc(operationId="listIssues")
def list_issues(query):
    """The community's issues, or the one registered for a work order

    With `work_order`, the page holds that work order's issue, or nothing. Without it, all
    of the community's issues in id order, cursor-paginated.
    """
    after, limit = _cursor(query), query["limit"]
    stmt = _issues_query().where(Issue.id > after).order_by(Issue.id).limit(limit + 1)
    if query.get("work_order"):
        stmt = stmt.where(Issue.work_order_no == query["work_order"])
    issues = db.session.scalars(stmt).unique().all()
    page = _page(issues, limit, after, lambda issue: issue.id)
    page["items"] = _payloads(page["items"])
    return page


@blp.route("/events", methods=["GET"], tags=["Change feed"])
@blp.arguments(s.EventQuerySchema, location="query")
@blp.response(200, s.EventPageSchema)
@errors(*COMMON_ERRORS)
@blp.doc(operationId="listEvents")
def events(query):
    """The change feed: every timeline event of the community's issues, in order

    Store `next_cursor` and ask again with `after=<next_cursor>` to receive only what
    happened since; an empty page keeps the cursor where it was. Events become visible a
    few seconds after they are written (CIRCLE_API_FEED_SETTLE_SECONDS), so that one
    committed late by a slow transaction is never skipped by a cursor that already moved
    past it.
    """
    after, limit = _cursor(query), query["limit"]
    rows = db.session.execute(
        sa.select(IssueEvent, Issue.work_order_no)
        .join(Issue, IssueEvent.issue_id == Issue.id)
        .where(Issue.circle_id.in_(community_circles(g.api_token.community_id)),
               IssueEvent.id > after)
        .options(joinedload(IssueEvent.actor))
        .order_by(IssueEvent.id).limit(limit + 1)
    ).all()
    settled_before = utcnow() - timedelta(
        seconds=current_app.config["CIRCLE_API_FEED_SETTLE_SECONDS"])
    items = []
    for event, work_order_no in rows:
        # Ids are handed out before commit; an unsettled event may still have an older,
        # uncommitted neighbour. Stop at the first one: the next poll picks up from here.
        if event.created_at > settled_before:
            break
        items.append(_event_payload(event, work_order_no))
    settled_all = len(items) == len(rows)
    page = _page(items, limit, after, lambda item: item["id"])
    page["has_more"] = page["has_more"] and settled_all
    return page


@blp.route("/callbacks", methods=["GET"], tags=["Callbacks"])
@blp.arguments(s.CallbackQuerySchema, location="query")
@blp.response(200, s.CallbackPageSchema)
@errors(*COMMON_ERRORS)
@blp.doc(operationId="listCallbacks")
def callbacks(query):
    """Callback (回访) results: whether the merchant was reached, solved, satisfied

    Every call made to a merchant of the community in the period [`from`, `to`), reached or
    not, in id order and cursor-paginated. `satisfied` follows the satisfaction rates: very
    satisfied, satisfied and basically satisfied count as satisfied. `counted_as` says which
    of the dashboard's figures count the call, by the same rules: `first_rating` (the
    issue's first rating: first-callback satisfaction and re-handling rates), `final_rating`
    (its final rating, in effect: final satisfaction), `unreachable` (the call that closed
    the issue because the merchant could not be reached); empty for other calls and for
    every call of a withdrawn issue.
    """
    after, limit = _cursor(query), query["limit"]
    counted = counted_issue(Issue)
    stmt = (
        sa.select(Callback, Issue.work_order_no,
                  sa.and_(counted, first_rating_clause(Callback)).label("first_rating"),
                  sa.and_(counted, final_rating_clause(Callback)).label("final_rating"),
                  sa.and_(counted, unreachable_call_clause(Callback, Issue)
                          ).label("unreachable"))
        .join(Issue, Callback.issue_id == Issue.id)
        .where(Issue.circle_id.in_(community_circles(g.api_token.community_id)),
               Callback.id > after)
        .order_by(Callback.id).limit(limit + 1)
    )
    if query.get("from_"):
        stmt = stmt.where(Callback.called_at >= query["from_"])
    if query.get("to"):
        stmt = stmt.where(Callback.called_at < query["to"])
    items = [_callback_payload(row) for row in db.session.execute(stmt)]
    return _page(items, limit, after, lambda item: item["id"])


def _callback_payload(row) -> dict:
    """One call of :func:`callbacks`, with the figures that count it."""
    callback = row.Callback
    return {
        "id": callback.id, "issue_id": callback.issue_id, "work_order_no": row.work_order_no,
        "called_at": callback.called_at, "reached": callback.reached,
        "resolved": callback.resolved_per_merchant if callback.reached else None,
        "rating": callback.rating, "satisfied": _satisfied(callback.rating),
        "round": callback.round or 0, "comments": callback.comments or "",
        "counted_as": [name for name in s.COUNTED_AS if row._mapping[name]],
    }
