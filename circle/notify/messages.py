"""What a notice says: one message per notice and reader, for every channel.

Phone numbers follow the pages' rule (:func:`circle.permissions.may_see_full_phone`): in
full only for a reader who may see them, masked (138****1234) for the others and always in
a WeCom group, which anyone in the community may read. Shop names are shown as the pages
show them to whoever may see the issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, render_template

from circle.i18n import gettext as _
from circle.issues.models import Issue
from circle.notify.rules import KIND_LABELS, Kind
from circle.permissions import may_see_full_phone
from circle.validators import mask_phone


@dataclass
class Message:
    """A notice as one reader gets it."""

    subject: str
    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    link: str = ""

    @property
    def text(self) -> str:
        """Plain text (the e-mail's text part)."""
        body = [self.title, ""] + [f"{label}：{value}" for label, value in self.lines]
        if self.link:
            body += ["", self.link]
        return "\n".join(body) + "\n"

    @property
    def markdown(self) -> str:
        """WeCom markdown: bold title, quoted lines, a link to the issue."""
        rows = [f"**{_md(self.title)}**"]
        rows += [f"> {_md(label)}：<font color=\"comment\">{_md(value)}</font>"
                 for label, value in self.lines]
        if self.link:
            rows.append(f"[{_('Open the issue')}]({self.link})")
        return "\n".join(rows)

    def html(self) -> str:
        """The e-mail's HTML part (a template: values are escaped)."""
        return render_template("notify/email.html", message=self)


def _md(value: str) -> str:
    # WeCom markdown has no escaping: keep a value from opening links or tags.
    return str(value).replace("\n", " ").replace("[", "［").replace("]", "］").replace("<", "＜")


def issue_link(issue_id: int) -> str:
    return f"{current_app.config['CIRCLE_BASE_URL'].rstrip('/')}/admin/desk/{issue_id}"


def render(notice, reader=None) -> Message:
    """The message of ``notice`` for ``reader`` (a user; ``None``: a WeCom group)."""
    from circle.labels import EVENT_LABELS, LEVEL_LABELS, SEVERITY_LABELS, STATUS_LABELS

    label = str(KIND_LABELS.get(notice.kind, notice.kind))
    detail = notice.detail or {}
    if notice.kind == Kind.DIGEST:
        lines = [(_("Open"), str(detail.get("open", 0))),
                 (_("At risk"), str(detail.get("at_risk", 0))),
                 (_("Overdue"), str(detail.get("overdue", 0))),
                 (_("Callbacks due"), str(detail.get("callbacks_due", 0)))]
        base = current_app.config["CIRCLE_BASE_URL"].rstrip("/")
        return Message(subject=f"[{label}] {detail.get('date', '')}", title=label,
                       lines=lines, link=f"{base}/admin/notifications/")
    issue: Issue | None = notice.issue
    if issue is None:
        return Message(subject=label, title=label)
    merchant = issue.merchant
    shop = merchant.shop_name if merchant else ""
    phone = merchant.phone if merchant else ""
    if reader is None or not may_see_full_phone(reader):
        phone = mask_phone(phone)
    lines = [(_("Merchant"), shop)]
    if phone:
        lines.append((_("Phone"), phone))
    lines += [
        (_("Issue"), (issue.description or "")[:80]),
        (_("Severity"), str(SEVERITY_LABELS.get(issue.severity, issue.severity))),
        (_("Status"), f"{STATUS_LABELS.get(issue.status, issue.status)} · "
                      f"{LEVEL_LABELS.get(issue.level, issue.level)}"),
    ]
    if issue.resolution_due_words and issue.status not in ("resolved", "closed", "withdrawn"):
        lines.append((_("Due"), issue.resolution_due_words))
    if detail.get("action"):
        lines.append((_("Step"), str(EVENT_LABELS.get(detail["action"], detail["action"]))))
    if detail.get("note"):
        lines.append((_("Note"), str(detail["note"])[:120]))
    return Message(subject=f"[{label}] #{issue.id} {shop}", title=f"{label} · #{issue.id} {shop}",
                   lines=lines, link=issue_link(issue.id))
