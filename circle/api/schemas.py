"""Request and response schemas of the API (marshmallow; the OpenAPI document is made from these).

Request schemas refuse unknown fields (``additionalProperties: false`` in the document) and
normalise what they accept: phone numbers and credit codes to their canonical form, text
stripped and free of control characters (PostgreSQL refuses NUL bytes; a 500 must never come
from input). Response schemas only dump.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import marshmallow as ma
from marshmallow import fields, validate

from circle.accounts.models import Role
from circle.issues.lifecycle_models import ContactChannel, RequestKind
from circle.issues.models import Rating, Severity, Status
from circle.issues.sla import SlaState
from circle.issues.steps import STEPS
from circle.timeutil import local_zone
from circle.validators import InvalidValue, normalise_credit_code, normalise_phone

# Issue.work_order_no is a String(40); 12345 numbers are digits, sometimes with letters and
# dashes (JN20240621-0001).
WORK_ORDER_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,39}$"
MAX_DESCRIPTION_LENGTH = 2000
# Row ids are INTEGER columns: 32-bit on PostgreSQL, which refuses larger numbers in a query.
MAX_ID = 2**31 - 1
# Cursors are row ids; longer ones are accepted but mean "after everything".
CURSOR_PATTERN = r"^[0-9]{1,18}$"
def _phone_pattern() -> str:
    sep = r"[\s\-()（）]*"

    def chars(*classes: str) -> str:
        return "".join(sep + c for c in classes)

    digit = "[0-9]"
    mobile = chars("1", "[3-9]") + f"(?:{sep}{digit}){{9}}"
    area = f"0(?:{chars('1', '0')}|{chars('2', digit)}|{chars('[3-9]', digit, digit)})"
    landline = sep + area + f"(?:{sep}{digit}){{7,8}}"
    # A bare 86 is read as the country code only before 11 digits (normalise_phone).
    landline11 = sep + f"0(?:{chars('1', '0')}|{chars('2', digit)})(?:{sep}{digit}){{8}}|" \
        + sep + f"0{chars('[3-9]', digit, digit)}(?:{sep}{digit}){{7}}"
    plus = f"(?:{chars('[+]', '8', '6')}|{chars('0', '0', '8', '6')})"
    return (f"^(?:{plus}?(?:{mobile}|{landline})|{chars('8', '6')}(?:{mobile}|{landline11}))"
            f"{sep}$")


# Declared in the document as well as checked, so that the contract says what the code does.
_CONTROL_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
TEXT_PATTERN = f"^[^{_CONTROL_CLASS}]*$"
#: Text that is not blank once stripped: at least one character that is neither a blank nor
#: a control character.
NONBLANK_TEXT_PATTERN = f"^[^{_CONTROL_CLASS}]*[^\\s{_CONTROL_CLASS}][^{_CONTROL_CLASS}]*$"
#: What :func:`circle.validators.normalise_phone` accepts, as a pattern: a mobile (11
#: digits, 13–19) or a landline with its area code, optionally after +86/0086 (or a bare 86
#: before 11 digits), with blanks, dashes and brackets anywhere.
PHONE_PATTERN = _phone_pattern()
#: GB 32100: 18 digits and letters (no I, O, S, V, Z), upper-cased on reading; the check
#: digit is verified too.
_CREDIT_CHAR = "[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]"
CREDIT_CODE_PATTERN = f"^{_CREDIT_CHAR}{{2}}[0-9]{{6}}{_CREDIT_CHAR}{{10}}$"

# The events the workflow declares (circle.issues.steps.STEPS), for the API's docs.
EVENT_ACTIONS = ", ".join(dict.fromkeys(step.event for step in STEPS.values()))


class Text(fields.String):
    """A string with no control characters, at most ``max_length`` long, stripped of
    surrounding blanks; with ``nonblank``, not blank.

    The limits apply to the string as sent, and are declared in the document as
    ``maxLength``/``pattern``: the schema refuses exactly what this field refuses.
    """

    def __init__(self, *, max_length: int, nonblank: bool = False, **kwargs):
        self.max_length, self.nonblank = max_length, nonblank
        metadata = {"maxLength": max_length,
                    "pattern": NONBLANK_TEXT_PATTERN if nonblank else TEXT_PATTERN,
                    **({"minLength": 1} if nonblank else {}), **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(value):
            raise ma.ValidationError("Control characters are not allowed.")
        if len(value) > self.max_length:
            raise ma.ValidationError(f"Longer than maximum length {self.max_length}.")
        value = value.strip()
        if self.nonblank and not value:
            raise ma.ValidationError("Must not be blank.")
        return value


class Phone(fields.String):
    """A mainland mobile or landline number (:data:`PHONE_PATTERN`), normalised
    (13812345678, 0531-87654321)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": PHONE_PATTERN, **kwargs.pop("metadata", {})},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(PHONE_PATTERN, value):
            raise ma.ValidationError(
                "A mobile number (11 digits starting with 13-19) or a landline with its area "
                "code, e.g. 0531-87654321.")
        try:
            return normalise_phone(value)
        except InvalidValue as exc:
            raise ma.ValidationError([exc.args[0]]) from None


class CreditCode(fields.String):
    """A unified social credit code (GB 32100, :data:`CREDIT_CODE_PATTERN`), check digit
    verified."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": CREDIT_CODE_PATTERN,
                                   **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(CREDIT_CODE_PATTERN, value):
            raise ma.ValidationError("18 digits and letters (no I, O, S, V or Z).")
        try:
            return normalise_credit_code(value)
        except InvalidValue as exc:
            raise ma.ValidationError([exc.args[0]]) from None


class Moment(fields.DateTime):
    """An ISO 8601 date-time as aware UTC; without an offset it is read in the local zone."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=local_zone())
            return moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            # 0001-01-01T00:00:00+23:59 is a valid date-time with no UTC equivalent: earlier
            # than any moment Python holds. As a period bound it means "from the beginning".
            return datetime.min.replace(tzinfo=timezone.utc)


def _cursor(description: str) -> fields.String:
    return fields.String(validate=validate.Regexp(CURSOR_PATTERN), metadata={
        "description": description + " Treat it as opaque; omit it to start at the beginning.",
    })


def _limit(default: int, maximum: int) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=maximum),
                          metadata={"description": f"Page size (1–{maximum})."})


# --- requests ---------------------------------------------------------------------------

class MerchantRefSchema(ma.Schema):
    """Who the work order is about: a registered merchant, or one to register for review.

    Give ``id`` (a merchant of the token's community), or ``credit_code`` of a registered
    merchant, or ``shop_name`` and ``phone``: a merchant of the community with exactly this
    name and phone is used, otherwise one is created in the community's holding circle
    (待审核商户) for the specialists to review. ``owner_name``, ``address`` and
    ``credit_code`` are stored on a merchant created that way.
    """

    id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                        metadata={"description": "Merchant id in the panel."})
    credit_code = CreditCode(metadata={"description": "Unified social credit code "
                                                      "(统一社会信用代码, 18 characters)."})
    shop_name = Text(max_length=100, nonblank=True)
    phone = Phone(metadata={"description": "Mobile (11 digits) or landline with area code."})
    owner_name = Text(max_length=50)
    address = Text(max_length=200)

    #: The rule of :meth:`_identifiable`, as the document declares it (see
    #: :func:`circle.api.declare_schema_rules`).
    OPENAPI_RULES = {"anyOf": [{"required": ["id"]}, {"required": ["credit_code"]},
                               {"required": ["shop_name", "phone"]}]}

    @ma.validates_schema
    def _identifiable(self, data, **kwargs):
        if data.get("id") or data.get("credit_code"):
            return
        if not (data.get("shop_name") and data.get("phone")):
            raise ma.ValidationError(
                "Give the merchant's id, its credit code, or its shop name and phone.")


class IssueCreateSchema(ma.Schema):
    """A 12345 hotline work order to register as an issue."""

    work_order_no = fields.String(
        required=True, validate=validate.Regexp(WORK_ORDER_PATTERN),
        metadata={"description": "The 12345 work-order number. Registering the same number "
                                 "again returns the existing issue (200) instead of a new one."},
    )
    merchant = fields.Nested(MerchantRefSchema, required=True)
    category = Text(required=True, max_length=50, nonblank=True, metadata={
        "description": "Name of an active issue category as kept in the panel (e.g. 供电用电)."})
    severity = fields.String(
        load_default=Severity.SMALL, validate=validate.OneOf(Severity.ALL),
        metadata={"description": "小事/大事/难事. Defaults to small, the shortest SLA, so an "
                                 "unclassified order is never given more time than it may need."},
    )
    description = Text(required=True, max_length=MAX_DESCRIPTION_LENGTH, nonblank=True)


class IssueQuerySchema(ma.Schema):
    work_order = fields.String(validate=validate.Regexp(WORK_ORDER_PATTERN), metadata={
        "description": "Only the issue registered for this 12345 work-order number."})
    after = _cursor("The next_cursor of the previous page.")
    limit = _limit(20, 100)


class EventQuerySchema(ma.Schema):
    after = _cursor("The next_cursor of the previous page.")
    limit = _limit(100, 500)


class CallbackQuerySchema(ma.Schema):
    from_ = Moment(data_key="from", metadata={
        "description": "Calls made at or after this moment (ISO 8601; local time if no "
                       "offset)."})
    to = Moment(metadata={"description": "Calls made before this moment. A `to` earlier "
                                         "than `from` is an empty period."})
    after = _cursor("The next_cursor of the previous page.")
    limit = _limit(100, 500)


# --- responses --------------------------------------------------------------------------

def _nullable_enum(values, **kwargs):
    return fields.String(allow_none=True, validate=validate.OneOf(values), **kwargs)


class MerchantSummarySchema(ma.Schema):
    id = fields.Integer(required=True)
    shop_name = fields.String(required=True)
    circle = fields.String(required=True, metadata={
        "description": "Business circle; 待审核商户 while a merchant registered from a work "
                       "order awaits review."})


class SlaSchema(ma.Schema):
    response_due_at = fields.DateTime(allow_none=True, required=True, metadata={
        "description": "Someone must be on site (or the matter settled) by then."})
    resolution_due_at = fields.DateTime(allow_none=True, required=True)
    response_state = _nullable_enum(SlaState.ALL, required=True, metadata={
        "description": "null when the clock does not apply (withdrawn issues)."})
    resolution_state = _nullable_enum(SlaState.ALL, required=True)
    first_on_site_at = fields.DateTime(allow_none=True, required=True)
    on_hold = fields.Boolean(required=True, metadata={
        "description": "On hold (挂起): the clocks are paused."})


class WorkOrderSchema(ma.Schema):
    received_at = fields.DateTime(allow_none=True, required=True, metadata={
        "description": "When the issue reached the community's specialists (escalation, a "
                       "12345 dispatch, or a transfer from another community); null for an "
                       "issue still with its circle's liaison."})
    sign_due_at = fields.DateTime(allow_none=True, required=True)
    signed_at = fields.DateTime(allow_none=True, required=True, metadata={
        "description": "签收: when a specialist first accepted it."})
    sign_state = _nullable_enum(SlaState.ALL, required=True)
    contact_due_at = fields.DateTime(allow_none=True, required=True)
    contacted_at = fields.DateTime(allow_none=True, required=True, metadata={
        "description": "先行联系: the first contact with the merchant."})
    contact_channel = _nullable_enum(ContactChannel.ALL, required=True)
    contact_state = _nullable_enum(SlaState.ALL, required=True)
    extension_count = fields.Integer(required=True, metadata={
        "description": "Approved extensions (延期) of the resolution deadline."})
    pending_request = _nullable_enum(RequestKind.ALL, required=True, metadata={
        "description": "An extension or return (退单) waiting for a leader's decision."})
    supervised = fields.Boolean(required=True, metadata={
        "description": "Under a supervision order (督办) and not yet resolved."})
    chase_count = fields.Integer(required=True, metadata={
        "description": "Automatic chases (催办) after a supervision deadline passed."})


class ResolutionSchema(ma.Schema):
    summary = fields.String(required=True, metadata={"description": "How it was solved."})
    resolved_at = fields.DateTime(allow_none=True, required=True)
    closed_at = fields.DateTime(allow_none=True, required=True)
    rating = _nullable_enum(Rating.ALL, required=True, metadata={
        "description": "The merchant's rating at the latest reached callback."})
    satisfied = fields.Boolean(allow_none=True, required=True, metadata={
        "description": "Whether the rating counts as satisfied (满意 or better, or 基本满意)."})
    rehandle_count = fields.Integer(required=True, metadata={
        "description": "How often a callback sent the issue back (重办)."})
    callback_unreachable = fields.Boolean(required=True)


class EventSchema(ma.Schema):
    id = fields.Integer(required=True)
    issue_id = fields.Integer(required=True)
    work_order_no = fields.String(allow_none=True, required=True)
    at = fields.DateTime(required=True)
    action = fields.String(required=True, metadata={"description": "One of " + EVENT_ACTIONS
                                                    + " (more may be added)."})
    from_status = _nullable_enum(Status.ALL, required=True)
    to_status = _nullable_enum(Status.ALL, required=True)
    from_level = fields.Integer(allow_none=True, required=True)
    to_level = fields.Integer(allow_none=True, required=True)
    note = fields.String(required=True)
    actor_role = _nullable_enum(Role.ALL, required=True, metadata={
        "description": "Role of whoever acted (names are not shared)."})


class TimelineEntrySchema(EventSchema):
    class Meta:
        exclude = ("issue_id", "work_order_no")


class IssueSchema(ma.Schema):
    id = fields.Integer(required=True)
    work_order_no = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf(Status.ALL))
    level = fields.Integer(required=True, validate=validate.Range(min=1, max=4), metadata={
        "description": "1 circle liaison, 2 hotline specialist, 3 joint on-site office, "
                       "4 symposium."})
    highest_level = fields.Integer(required=True, validate=validate.Range(min=1, max=4))
    severity = fields.String(required=True, validate=validate.OneOf(Severity.ALL))
    category = fields.String(required=True)
    source = fields.String(required=True)
    description = fields.String(required=True)
    merchant = fields.Nested(MerchantSummarySchema, required=True)
    reported_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    sla = fields.Nested(SlaSchema, required=True)
    work_order = fields.Nested(WorkOrderSchema, required=True, metadata={
        "description": "The 12345 work-order lifecycle: signing for, first contact, "
                       "extensions, returns, supervision. An approved return (to_status "
                       "returned in the change feed) hands the work order back to the "
                       "platform to dispatch again."})
    resolution = fields.Nested(ResolutionSchema, required=True)
    timeline = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    possible_duplicates = fields.List(fields.Integer(), metadata={
        "description": "On registration only: ids of the merchant's open issues of the same "
                       "category registered recently (可能重复); the community may merge the "
                       "new issue into one of them."})


class PageSchema(ma.Schema):
    next_cursor = fields.String(required=True, metadata={
        "description": "Pass as `after` to get what follows (also when this page is empty, "
                       "to poll for new items)."})
    has_more = fields.Boolean(required=True,
                              metadata={"description": "More items are available right now."})


class IssuePageSchema(PageSchema):
    items = fields.List(fields.Nested(IssueSchema), required=True)


class EventPageSchema(PageSchema):
    items = fields.List(fields.Nested(EventSchema), required=True)


#: The figures a call can be counted in (``counted_as`` of :class:`CallbackSchema`).
COUNTED_AS = ("first_rating", "final_rating", "unreachable")


class CallbackSchema(ma.Schema):
    id = fields.Integer(required=True)
    issue_id = fields.Integer(required=True)
    work_order_no = fields.String(allow_none=True, required=True)
    called_at = fields.DateTime(required=True)
    reached = fields.Boolean(required=True, metadata={
        "description": "false: the merchant did not answer (no rating)."})
    resolved = fields.Boolean(allow_none=True, required=True, metadata={
        "description": "The merchant's answer: was the problem solved?"})
    rating = _nullable_enum(Rating.ALL, required=True)
    satisfied = fields.Boolean(allow_none=True, required=True)
    round = fields.Integer(required=True, metadata={
        "description": "0 for the first handling, 1 after the first 重办, ..."})
    comments = fields.String(required=True)
    counted_as = fields.List(fields.String(validate=validate.OneOf(COUNTED_AS)),
                             required=True, metadata={
        "description": "Which satisfaction figures count this call, by the dashboard's rules "
                       "(a field added later; clients may ignore it): `first_rating` — the "
                       "issue's first call that reached the merchant with a rating, counted "
                       "by the first-callback satisfaction (首次满意率) and re-handling "
                       "(重办率) rates in the period of `called_at`, and never replaced by a "
                       "later call; `final_rating` — its latest such call, the rating in "
                       "effect, counted by the final satisfaction rate; `unreachable` — the "
                       "latest call of an issue closed because the merchant could not be "
                       "reached, which dates it among the unreachable merchants. Empty for "
                       "any other call, and for every call of a withdrawn issue (withdrawn "
                       "issues count in no rate)."})


class CallbackPageSchema(PageSchema):
    items = fields.List(fields.Nested(CallbackSchema), required=True)

