"""The dispatch board's rows rendered in Python, one call per row (issue #19).

A board shows up to 50 rows per status (an administrator's, 25 per status over every
community); drawn by the template, each row cost ~0.3 ms of Jinja — attribute lookups,
filters, an ``url_for`` per link, the escaping of every constant piece — half the page's
time. :class:`BoardRowRenderer` works out once per page what every row shares (the
translated words, the CSRF token, the links' pattern, who may call or accept) and writes
each row as the template did: the same elements, classes and text, every value escaped.
"""

from __future__ import annotations

from flask import url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from circle import labels
from circle.i18n import gettext as _
from circle.permissions import Cap, can
from circle.timeutil import format_local
from circle.validators import mask_phone

#: Stands for the issue id in a link built once per page (an int converter's value: no
#: other part of an admin URL is these digits).
_ID = 918273645


def _pattern(endpoint: str) -> str:
    """``url_for(endpoint, issue_id=…)`` as a format string with ``{0}`` for the id."""
    url = url_for(endpoint, issue_id=_ID)
    return str(escape(url.replace("{", "{{").replace("}", "}}"))).replace(str(_ID), "{0}")


class BoardRowRenderer:
    """Renders one board row per call (``renderer(row, accepting)``), as :class:`Markup`.

    ``accepting``: the row's section takes the accept form (the escalated issues, for a
    user who may accept them).
    """

    def __init__(self, user, *, severity_names: dict, level_names: dict,
                 sla_names: dict):
        self.user_id = user.id
        self.may_call = can(user, Cap.CALL_ISSUE_MERCHANT)
        self.can_assign = can(user, Cap.ASSIGN_OTHERS)
        self.may_accept = can(user, Cap.DISPATCH)
        self.severity_names, self.level_names = severity_names, level_names
        self.sla_names, self.sla_colours = sla_names, labels.SLA_STATE_COLOURS
        self.desk_url, self.accept_url = _pattern("desk.issue"), _pattern(".accept")
        self.csrf = escape(generate_csrf())
        words = {
            "no": _("No."), "merchant": _("Merchant"), "phones": _("Phones"),
            "category": _("Category"), "severity": _("Severity"), "level": _("Level"),
            "assigned": _("Assigned to"), "reported": _("Reported"),
            "deadline": _("Resolution deadline"),
            "sign": _("Signed for (签收)") + ": ", "contact": _("First contact (先行联系)") + ": ",
            "response": _("Response") + ": ", "resolution": _("Resolution (办结)") + ": ",
            "supervised": _("督办"), "rehandled": _("Re-handled"),
            "no_specialist": _("No active hotline specialist in this community."),
            "assign_to": _("Assign to"), "choose": _("Choose a specialist…"),
            "assign": _("Assign"), "accept": _("Accept"),
        }
        #: The words, escaped once (the table's header shows them too).
        self.words = {key: escape(text) for key, text in words.items()}

    def __call__(self, row, accepting: bool) -> Markup:
        w = self.words
        issue, merchant = row.issue, row.issue.merchant
        issue_id = escape(issue.id)
        alert = row.alert
        row_class = (" table-danger board-row-overdue" if alert == "overdue" else
                     " table-warning board-row-at-risk" if alert == "at_risk" else "")
        number = [f'<a class="font-weight-bold" href="{self.desk_url.format(issue_id)}">'
                  f'#{issue_id}</a>']
        if issue.supervised_at:
            number.append(f'<span class="badge badge-danger board-supervised">'
                          f'{w["supervised"]}</span>')
        if issue.rehandle_count:
            number.append(f'<span class="badge badge-warning rehandle-badge">{w["rehandled"]}'
                          f' ×{escape(issue.rehandle_count)}</span>')
        if issue.work_order_no:
            number.append(f'<small class="d-block text-muted">12345 '
                          f'{escape(issue.work_order_no)}</small>')
        phones = [f"<div>{self._phone(merchant.phone)}</div>"]
        for contact in merchant.emergency_contacts:
            relation = f" · {escape(contact.relation)}" if contact.relation else ""
            phones.append(f'<div class="small emergency-contact"><span class="text-muted">'
                          f'{escape(contact.name)}{relation}</span> '
                          f'{self._phone(contact.phone)}</div>')
        due = format_local(issue.resolution_due_at) or "—"
        cells = [
            f'<tr id="issue-{issue_id}" class="board-row{row_class}">',
            f'<td data-label="{w["no"]}">{" ".join(number)}</td>',
            f'<td data-label="{w["merchant"]}">{escape(merchant.shop_name)} '
            f'<small class="d-block text-muted">{escape(merchant.owner_name)}</small></td>',
            f'<td data-label="{w["phones"]}">{"".join(phones)}</td>',
            f'<td data-label="{w["category"]}">{escape(issue.category.name)}</td>',
            f'<td data-label="{w["severity"]}">'
            f'{escape(self.severity_names.get(issue.severity, issue.severity))}</td>',
            f'<td data-label="{w["level"]}">'
            f'{escape(self.level_names.get(issue.level, issue.level))}</td>',
            f'<td data-label="{w["assigned"]}">{escape(issue.assignee or "—")}</td>',
            f'<td data-label="{w["reported"]}" class="text-nowrap">'
            f'{escape(format_local(issue.reported_at))}</td>',
            f'<td data-label="{w["deadline"]}"><span class="text-nowrap">{escape(due)}</span>'
            f'<div class="sla-badges">{self._badges(row)}</div></td>',
        ]
        if accepting:
            cells.append(self._accept_cell(row, issue_id))
        cells.append("</tr>")
        return Markup("\n".join(cells))

    def _phone(self, phone) -> str:
        if not phone:
            return ""
        if not self.may_call:
            return str(escape(mask_phone(phone)))
        phone = escape(phone)
        return f'<a href="tel:{phone}" class="text-nowrap">{phone}</a>'

    def _badges(self, row) -> str:
        badges = []
        for clock, state, extra in (("sign", row.sign, " sla-sign"),
                                    ("contact", row.contact, " sla-contact"),
                                    ("response", row.response, ""),
                                    ("resolution", row.resolution, "")):
            if state:
                badges.append(f'<span class="badge badge-{escape(self.sla_colours[state])} '
                              f'sla-{escape(state)}{extra}">{self.words[clock]}'
                              f'{escape(self.sla_names[state])}</span>')
        return " ".join(badges)  # spaced, as the template wrote them

    def _accept_cell(self, row, issue_id) -> str:
        w = self.words
        if self.can_assign and not row.assignees:
            return (f'<td class="board-action"><small class="text-muted">'
                    f'{w["no_specialist"]}</small></td>')
        parts = [f'<td class="board-action"><form method="post" '
                 f'action="{self.accept_url.format(issue_id)}" class="accept-form">',
                 f'<input type="hidden" name="csrf_token" value="{self.csrf}">',
                 f'<input type="hidden" name="version" value="{escape(row.issue.version)}">']
        if self.can_assign:
            # A specialist takes it with one tap (preselected) or picks the colleague on duty.
            taking = any(person.id == self.user_id for person in row.assignees)
            parts.append(f'<label class="sr-only" for="assignee-{issue_id}">'
                         f'{w["assign_to"]}</label>')
            parts.append(f'<select name="assignee" id="assignee-{issue_id}" '
                         'class="form-control form-control-sm mb-1" required>')
            if not taking:
                parts.append(f'<option value="">{w["choose"]}</option>')
            parts.extend(f'<option value="{escape(person.id)}"'
                         f'{" selected" if person.id == self.user_id else ""}>'
                         f'{escape(person)}</option>' for person in row.assignees)
            parts.append("</select>")
            parts.append(f'<button type="submit" class="btn btn-primary btn-sm btn-block">'
                         f'{w["accept"] if taking else w["assign"]}</button>')
        else:
            parts.append(f'<button type="submit" class="btn btn-primary btn-sm btn-block">'
                         f'{w["accept"]}</button>')
        parts.append("</form></td>")
        return "\n".join(parts)
