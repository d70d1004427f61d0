"""Work queues: the specialists' dispatch board and the staff's callback queue.

Both pages are read-only lists built by plain functions of the user and the time
(:func:`dispatch_board`, :func:`callback_queue`); the only action, accepting an issue, goes
through :func:`circle.issues.workflow.accept_issue`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy.orm import defer, joinedload

from circle import labels
from circle.accounts.models import Role, User
from circle.adminkit import CircleBaseView
from circle.extensions import db
from circle.i18n import gettext as _
from circle.inputs import parse_id, parse_int
from circle.issues import sla, workcalendar, workflow
from circle.issues.board_rows import BoardRowRenderer
from circle.issues.models import Issue, Status
from circle.merchants.models import Merchant
from circle.permissions import Cap, can, circle_ids_subquery, scope_by_circle
from circle.sqlhints import selective
from circle.timeutil import utcnow
from circle.transaction import unit_of_work

#: The board's sections, in workflow order: every open status an escalated issue can have.
BOARD_STATUSES = tuple(status for status in Status.OPEN if status != Status.REGISTERED)
#: A section shows this many rows per page, the most urgent first; the section's pager
#: reaches the rest. The board's cost is bounded by its pages, not by the open work.
ROWS_PER_STATUS = 50
#: The same on a board of every community (an administrator's): shorter pages, so that
#: the whole board of eight sections still reads at a glance.
CITY_ROWS_PER_STATUS = 25
CALLBACK_ROWS = 200
UNREACHABLE_WINDOW = timedelta(days=30)

# Worst first: the row takes the colour of its worse clock.
_ALERT_ORDER = (sla.SlaState.OVERDUE, sla.SlaState.AT_RISK)


@dataclass
class BoardRow:
    """One issue on the dispatch board with its SLA states, computed once."""

    issue: Issue
    response: str | None
    resolution: str | None
    sign: str | None = None  # 签收
    contact: str | None = None  # 先行联系
    # Specialists an administrator may assign this issue to (empty for specialists).
    assignees: list[User] = field(default_factory=list)

    @property
    def alert(self) -> str | None:
        """``overdue`` or ``at_risk`` if either clock is, else ``None`` (for the row colour)."""
        states = (self.response, self.resolution, self.sign, self.contact)
        return next((state for state in _ALERT_ORDER if state in states), None)


@dataclass
class BoardSection:
    """The board's rows of one status, most urgent first."""

    status: str
    rows: list[BoardRow]
    total: int
    page: int = 0  # which page of the section (0: the most urgent rows)
    page_size: int = ROWS_PER_STATUS

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first row in the section."""
        return self.page * self.page_size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.page * self.page_size + len(self.rows)


def _board_filter(user: User, stmt):
    # Open issues are a few per cent of all: SQLite must be told (circle/sqlhints.py), or it
    # skips through the index circle by circle.
    stmt = stmt.where(Issue.level >= 2, selective(Issue.status.in_(BOARD_STATUSES)))
    return scope_by_circle(stmt, Issue.circle_id, user)


def active_specialists() -> dict[int, list[User]]:
    """Active hotline specialists by community id, by name (for the assignee choice)."""
    by_community: dict[int, list[User]] = {}
    users = db.session.scalars(
        User.people().where(User.role == Role.SPECIALIST)
        .order_by(User.display_name, User.id)
    )
    for user in users:
        if user.community_id is not None:
            by_community.setdefault(user.community_id, []).append(user)
    return by_community


def dispatch_board(user: User, now: datetime, *, limit: int | None = None,
                   pages: dict[str, int] | None = None) -> list[BoardSection]:
    """The escalated, still open issues ``user`` may see, in one section per status.

    Sections follow the workflow order and only statuses with issues appear. Within a
    section rows are sorted by :func:`circle.issues.sla.urgency_key` (overdue first, then
    the nearest resolution deadline) and cut into pages of ``limit`` rows (by default
    :data:`ROWS_PER_STATUS`, or :data:`CITY_ROWS_PER_STATUS` for a user who sees every
    community); ``pages`` says which page of a section to show (the first, the most urgent
    rows, by default; a page past the end shows the last). Only the pages shown are loaded:
    the query count and the rows do not grow with the open work.
    """
    if limit is None:
        limit = CITY_ROWS_PER_STATUS if circle_ids_subquery(user) is None else ROWS_PER_STATUS
    totals = dict(db.session.execute(
        _board_filter(user, sa.select(Issue.status, sa.func.count()))
        .group_by(Issue.status)
    ).all())
    if not totals:
        return []
    wanted = {status: min(max(0, (pages or {}).get(status, 0)), (total - 1) // limit)
              for status, total in totals.items()}
    # Rank within each status in SQL, in the order urgency_key gives (earliest deadline
    # first, none last), so that the cut keeps the most urgent rows.
    rank = sa.func.row_number().over(
        partition_by=Issue.status,
        order_by=(Issue.resolution_due_at.is_(None), Issue.resolution_due_at, Issue.id),
    )
    ranked = _board_filter(user, sa.select(Issue.id, Issue.status.label("section"),
                                           rank.label("rank"))).subquery()
    # Each section's page: its rows ranked past the pages before it, up to one page.
    shown = sa.or_(*(
        sa.and_(ranked.c.section == status, ranked.c.rank > page * limit,
                ranked.c.rank <= (page + 1) * limit)
        for status, page in wanted.items()))
    assigning = can(user, Cap.ASSIGN_OTHERS)
    loads = [
        joinedload(Issue.merchant).selectinload(Merchant.emergency_contacts),
        joinedload(Issue.category),
        joinedload(Issue.assignee),
        # The long texts are not shown: not read (raise rather than load them row by row).
        defer(Issue.description, raiseload=True),
        defer(Issue.resolution_summary, raiseload=True),
    ]
    if assigning:
        loads.append(joinedload(Issue.circle))  # its community's specialists are offered
    issues = db.session.scalars(
        sa.select(Issue)
        .join(ranked, ranked.c.id == Issue.id)
        .where(shown)
        .options(*loads)
    ).unique().all()
    calendar = workcalendar.load_calendar()
    specialists = active_specialists() if assigning else {}
    by_status: dict[str, list[BoardRow]] = {}
    for issue in sorted(issues, key=lambda issue: (sla.urgency_key(issue, now), issue.id)):
        by_status.setdefault(issue.status, []).append(BoardRow(
            issue=issue,
            response=sla.response_state(issue, now, calendar),
            resolution=sla.resolution_state(issue, now, calendar),
            sign=sla.sign_state(issue, now, calendar),
            contact=sla.contact_state(issue, now, calendar),
            assignees=specialists.get(issue.circle.community_id, []) if assigning else [],
        ))
    return [
        BoardSection(status=status, rows=by_status.get(status, []), total=totals[status],
                     page=wanted[status], page_size=limit)
        for status in BOARD_STATUSES
        if totals.get(status)
    ]


@dataclass
class CallbackRow:
    """A resolved issue waiting for its callback, and how long it has waited."""

    issue: Issue
    waited: timedelta | None


@dataclass
class CallbackQueue:
    """The rows shown (the longest waiting first) and the queue's figures."""

    rows: list[CallbackRow]
    waiting: int
    unreachable_recently: int

    @property
    def truncated(self) -> bool:
        return self.waiting > len(self.rows)


def callback_queue(user: User, now: datetime, *, limit: int = CALLBACK_ROWS) -> CallbackQueue:
    """Resolved issues ``user`` may see, longest waiting first, with the queue's figures.

    ``unreachable_recently`` counts the issues closed in the last 30 days because the
    merchant could not be reached.
    """
    def waiting_filter(stmt):
        return scope_by_circle(stmt.where(Issue.status == Status.RESOLVED), Issue.circle_id,
                               user)

    issues = db.session.scalars(
        waiting_filter(sa.select(Issue))
        .order_by(Issue.resolved_at.is_(None), Issue.resolved_at, Issue.id)
        .limit(limit)
        .options(joinedload(Issue.merchant), defer(Issue.description, raiseload=True))
    ).all()
    waiting = db.session.scalar(waiting_filter(sa.select(sa.func.count()).select_from(Issue)))
    unreachable = db.session.scalar(scope_by_circle(
        sa.select(sa.func.count()).select_from(Issue).where(
            # Few issues are closed as unreachable, and few of those lately: said so, SQLite
            # reads them through their index instead of every closed issue of the community.
            selective(Issue.callback_unreachable == sa.true()),
            Issue.status == Status.CLOSED,
            selective(Issue.closed_at >= now - UNREACHABLE_WINDOW, 0.05),
        ),
        Issue.circle_id, user,
    ))
    rows = [CallbackRow(issue, now - issue.resolved_at if issue.resolved_at else None)
            for issue in issues]
    return CallbackQueue(rows=rows, waiting=waiting or 0, unreachable_recently=unreachable or 0)


def waited_text(delta: timedelta | None) -> str:
    """How long something has waited, to the hour (or minute, under an hour)."""
    if delta is None:
        return ""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def translated(lazy_labels: dict) -> dict:
    """The labels translated once for a page that shows each of them on many rows (a lazy
    label is translated again every time it is shown)."""
    return {key: str(label) for key, label in lazy_labels.items()}


def issue_in_scope_or_404(user: User, issue_id: int) -> Issue:
    """The issue with this id if ``user`` may see it; a 404 otherwise (nothing revealed)."""
    issue = db.session.scalar(
        scope_by_circle(sa.select(Issue).where(Issue.id == issue_id), Issue.circle_id, user)
    )
    if issue is None:
        abort(404)
    return issue


class DispatchBoardView(CircleBaseView):
    """The hotline specialists' board: escalated issues by status, most urgent first."""

    capability = Cap.SEE_DISPATCH_BOARD

    @property
    def extra_css(self) -> list[str]:
        return [url_for("static", filename="workflow.css")]

    @expose("/")
    def index(self):
        """The board of the specialist's community (all communities for an admin)."""
        now = utcnow()
        # ``?escalated=2``: the third page of that section (pages count from 0, as the
        # section's pager writes them; anything unreadable is the first page).
        pages = {status: parse_int(request.args.get(status), minimum=0) or 0
                 for status in BOARD_STATUSES if status in request.args}
        sections = dispatch_board(current_user, now, pages=pages)
        counts = {section.status: section.total for section in sections}

        def page_url(status: str, page: int) -> str:
            # The other sections stay on the pages they show.
            return url_for(".index", **{**pages, status: page}, _anchor=f"status-{status}")

        board_row = BoardRowRenderer(current_user,
                                     severity_names=translated(labels.SEVERITY_LABELS),
                                     level_names=translated(labels.LEVEL_LABELS),
                                     sla_names=translated(labels.SLA_STATE_LABELS))
        return self.render("circle/dispatch.html", sections=sections, counts=counts,
                           page_url=page_url, board_statuses=BOARD_STATUSES,
                           board_row=board_row)

    @expose("/<int:issue_id>/accept", methods=("POST",))
    def accept(self, issue_id: int):
        """Accept an escalated issue: the specialist takes it, or an admin assigns it.

        The form carries the ``version`` of the issue as shown, so an issue someone else
        accepted meanwhile is refused instead of silently reassigned. The CSRF token is
        checked by ``CSRFProtect`` before this runs.
        """
        actor = current_user._get_current_object()
        issue = issue_in_scope_or_404(actor, issue_id)
        back = redirect(url_for(".index", _anchor=f"status-{issue.status}"))
        version = parse_id(request.form.get("version"))
        if version is None:
            flash(_("The page was out of date. Reload it and try again."), "error")
            return back
        assignee = None
        if "assignee" in request.form:
            assignee = db.session.get(User, parse_id(request.form["assignee"]) or 0)
            if assignee is None:
                flash(_("Choose the hotline specialist who takes the issue."), "error")
                return back
        try:
            with unit_of_work():
                workflow.accept_issue(issue, actor, assignee=assignee,
                                      expected_version=version)
        except workflow.StaleIssue:
            # The board is drawn again at once: no need to tell anyone to reload it.
            flash(_("Issue #%(id)d was changed by someone else in the meantime; the board "
                    "below shows it as it is now.", id=issue_id), "error")
            return back
        except workflow.WorkflowError as exc:
            flash(str(exc.message), "error")
            return back
        flash(_("Issue #%(id)d accepted by %(name)s.", id=issue.id, name=str(issue.assignee)),
              "success")
        return redirect(url_for(".index", _anchor=f"status-{issue.status}"))


class CallbackQueueView(CircleBaseView):
    """The callback staff's queue: resolved issues waiting for the call to the merchant."""

    capability = Cap.RECORD_CALLBACK

    @property
    def extra_css(self) -> list[str]:
        return [url_for("static", filename="workflow.css")]

    @expose("/")
    def index(self):
        """Resolved issues of the staff's community, the longest waiting first."""
        now = utcnow()
        queue = callback_queue(current_user, now)
        return self.render("circle/callbacks.html", queue=queue, waited_text=waited_text,
                           max_attempts=workflow.CALLBACK_ATTEMPTS_BEFORE_UNREACHABLE,
                           unreachable_days=UNREACHABLE_WINDOW.days)
