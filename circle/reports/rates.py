"""The dashboard's figures for a period — counts and 12345-style rates — declared once.

:data:`FIGURES` is the table: each figure's name, label, definition, what it divides (for a
rate) and where the page shows it. The per-circle table's columns, the rate cards, the
weekly trend (table and chart), the issue-list links and "How the figures are counted" are
all read from it; :class:`PeriodCounts` answers each rate by name. A new rate over counts
that exist is one entry in :data:`FIGURES`.

The counts are declared in :mod:`circle.reports.counts` (what each counts, and by which date;
the issue list filters by the same declaration, so every figure links to exactly its
issues) and come from :mod:`circle.reports.figures`, pre-aggregated per circle and local day.
Which date puts an issue in a period depends on the count — each uses the moment its event
happened (the callbacks as :mod:`circle.issues.callbacks` declares them, the response as
:mod:`circle.issues.response` does). Withdrawn issues are in no rate.

==========================  =============================================================
count                       dated by
==========================  =============================================================
reported, withdrawn,        ``Issue.reported_at`` (registration)
settled, responded…
resolved, resolved on time, ``Issue.resolved_at`` (the latest resolution)
called back
first rated, first          ``Callback.called_at`` of the issue's first rating (fixed once
satisfied, first re-handled recorded)
rated, satisfied, confirmed ``Callback.called_at`` of the issue's final rating
unreachable                 ``Callback.called_at`` of the call that closed it (its latest)
==========================  =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from circle.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class Rate:
    """A share ``numerator / denominator``; no denominator means no figure ("—")."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> float | None:
        """The rate in per cent, one decimal (what the page and the charts show)."""
        return None if self.value is None else round(self.value * 100, 1)

    def __str__(self) -> str:
        return "—" if self.percent is None else f"{self.percent:.1f}%"


@dataclass(frozen=True)
class Trend:
    """How a figure appears in the weekly trend chart (its table shows the figure's label)."""

    key: str  # the series, which dashboard.js colours
    label: object | None = None  # the legend, when not the figure's label


@dataclass(frozen=True)
class Figure:
    """One figure of the period: a count of :class:`PeriodCounts`, or a rate between two."""

    name: str  # the PeriodCounts count or rate, and the page's data-figure
    label: object  # lazy string: card title, column heading, term in the definitions
    definition: object | None = None  # shown under "How the figures are counted"
    numerator: str | None = None  # for a rate: the PeriodCounts count divided…
    denominator: str | None = None  # …by this one
    card: bool = False  # a card of its own among the period's figures
    #: In the row of cards that leads the period: the first one large, the others beside it.
    headline: bool = False
    column: bool = False  # a column of the per-circle (per-community) table
    note: str | None = None  # a count shown small in this figure's card
    trend: Trend | None = None  # a series of the weekly trend

    @property
    def is_rate(self) -> bool:
        return self.numerator is not None

    def of(self, counts) -> int | Rate:
        """The figure for ``counts`` (a :class:`PeriodCounts` or anything with the counts)."""
        if self.is_rate:
            return Rate(getattr(counts, self.numerator), getattr(counts, self.denominator))
        return getattr(counts, self.name)

    @property
    def note_figure(self) -> Figure | None:
        return FIGURE[self.note] if self.note else None


#: The figures in the order of the per-circle table (the cards and the definitions follow
#: the same order).
FIGURES = (
    Figure("reported", _l("Issues reported"),
           _l("Issues registered in the period (by registration time), withdrawn ones "
              "included."),
           card=True, column=True, note="withdrawn", trend=Trend("reported")),
    Figure("withdrawn", _l("Withdrawn"),
           _l("Issues registered in the period and withdrawn since (duplicates, invalid "
              "registrations). A withdrawn issue is left out of every rate below, in every "
              "period, whenever it was withdrawn.")),
    Figure("returned", _l("Returned (退单)"),
           _l("Issues registered in the period and since returned (退单) with a leader's "
              "approval because they are not the community's remit. Like withdrawn issues, "
              "a returned issue is left out of every rate below except the return rate.")),
    Figure("resolution_rate", _l("Resolution rate (解决率)"),
           _l("Of the issues registered in the period, less the withdrawn and returned ones: "
              "the share that is now resolved or closed."),
           numerator="settled", denominator="valid", card=True, column=True),
    Figure("response_on_time_rate", _l("Response on-time rate"),
           _l("Of the issues registered in the period (not withdrawn, with a response "
              "deadline) that have had a response: the share whose response came no later "
              "than the response deadline. The response is the earliest on-site arrival or "
              "resolution ever recorded for the issue (for a matter settled without a visit, "
              "its resolution); it is recorded once, and re-handling does not change it."),
           numerator="responded_on_time", denominator="responded", card=True, column=True),
    Figure("sign_rate", _l("Signed for on time (及时签收率)"),
           _l("Of the issues registered in the period (not withdrawn or returned) that reached "
              "the community's specialists — escalated, or transferred from another "
              "community: the share signed for (签收, accepted by a specialist) no later than "
              "the signing deadline. An issue not yet signed for counts as not signed in "
              "time; a transfer to another community starts the clock again."),
           numerator="signed_on_time", denominator="sign_required", card=True, column=True),
    Figure("contact_rate", _l("First contact on time (先行联系率)"),
           _l("Of the same issues: the share whose merchant was first contacted (先行联系), by "
              "phone or on site, no later than the first-contact deadline. An issue whose "
              "merchant has not been contacted yet counts as not contacted in time."),
           numerator="contacted_on_time", denominator="contact_required", card=True,
           column=True),
    Figure("resolved", _l("Issues resolved"), column=True, trend=Trend("resolved")),
    Figure("on_time_resolution_rate", _l("On-time resolution rate (按期办结率)"),
           _l("Of the issues resolved in the period (by the time of their latest resolution; "
              "not withdrawn or returned; with a resolution deadline): the share resolved no "
              "later than the deadline. The deadline moves out by time on hold and to the "
              "new date of an approved extension, becomes the date agreed at a symposium, and "
              "starts again when an issue is sent back for re-handling."),
           numerator="resolved_on_time", denominator="resolved_with_deadline", card=True,
           column=True, note="resolved"),
    Figure("callback_rate", _l("Callback rate (回访率)"),
           _l("Of the issues resolved in the period (by the time of their latest resolution; "
              "not withdrawn): the share with at least one callback attempt, reached or not, "
              "about that resolution."),
           numerator="called_back", denominator="resolved", card=True, column=True),
    Figure("first_satisfaction_rate", _l("First-callback satisfaction rate (首次满意率)"),
           _l("Of the issues whose first rating was given in the period — the first callback "
              "that reached the merchant and recorded a rating, dated by the time of that "
              "call: the share rated very satisfied, satisfied or basically satisfied. Each "
              "issue counts once, with that first rating; a later callback never changes it, "
              "so a past period's figure stays as it was."),
           numerator="first_satisfied", denominator="first_rated", card=True, headline=True,
           column=True,
           trend=Trend("satisfaction", _l("First-callback satisfaction rate (%)"))),
    Figure("final_satisfaction_rate", _l("Final satisfaction rate (最终满意率)"),
           _l("Of the issues whose final rating was given in the period — the latest callback "
              "that reached the merchant and recorded a rating, the one in effect, dated by "
              "the time of that call: the share rated very satisfied, satisfied or basically "
              "satisfied. An issue rated again later moves to the period of its new rating; "
              "an issue closed as unreachable after a rating keeps that rating here."),
           numerator="satisfied", denominator="rated", card=True, headline=True, column=True,
           note="unreachable"),
    Figure("rehandle_rate", _l("Re-handling rate (重办率)"),
           _l("Of the same issues as the first-callback satisfaction rate (resolved, and "
              "first rated in the period): the share that callback sent back for re-handling "
              "(重办) because the merchant said the problem was not solved or was not "
              "satisfied. Fixed once the first rating is recorded."),
           numerator="first_rehandled", denominator="first_rated", card=True, headline=True,
           column=True),
    Figure("unreachable", _l("Unreachable merchants"),
           _l("Issues (not withdrawn) closed because the merchant could not be reached after "
              "repeated calls, dated by the call that closed them — their latest call — on "
              "this page, in the satisfaction export and in the API alike."),
           column=True),
    Figure("extension_rate", _l("Extension rate (延期率)"),
           _l("Of the issues registered in the period, less the withdrawn and returned ones: "
              "the share whose resolution deadline was extended (延期) with a leader's "
              "approval at least once."),
           numerator="extended", denominator="valid", card=True, column=True),
    Figure("return_rate", _l("Return rate (回退率)"),
           _l("Of the issues registered in the period, less the withdrawn ones: the share "
              "returned (退单) with a leader's approval."),
           numerator="returned", denominator="not_withdrawn", card=True, column=True),
    Figure("chase_rate", _l("Chase rate (催办率)"),
           _l("Of the issues registered in the period, less the withdrawn and returned ones: "
              "the share chased (催办) at least once because a supervision order's deadline "
              "passed before the issue was resolved."),
           numerator="chased", denominator="valid", card=True, column=True),
    Figure("duplicate_rate", _l("Duplicate report rate (重复诉求率)"),
           _l("Of the issues registered in the period: the share merged into another issue "
              "as a duplicate of the same problem (one case per problem). Merged issues are "
              "withdrawn, so they are left out of every other rate."),
           numerator="merged", denominator="reported", card=True, column=True),
    Figure("confirmed_rate", _l("Merchant-confirmed resolution rate"),
           _l("Of the same final ratings as the final satisfaction rate: the share in which "
              "the merchant said the problem was solved."),
           numerator="confirmed", denominator="rated", card=True, column=True),
)
FIGURE = {figure.name: figure for figure in FIGURES}
RATES = {figure.name: figure for figure in FIGURES if figure.is_rate}


@dataclass
class PeriodCounts:
    """Counts for one period, for one circle, one week, or everything in view.

    Each field is a count of issues (the same as :data:`circle.reports.figures.FIELDS`);
    each rate of :data:`FIGURES` is an attribute too (``counts.first_satisfaction_rate``).
    """

    # Dated by registration (reported_at).
    reported: int = 0
    withdrawn: int = 0
    settled: int = 0  # now resolved or closed
    responded: int = 0  # not withdrawn, with a response deadline, and responded to
    responded_on_time: int = 0
    returned: int = 0  # 退单, approved
    sign_required: int = 0  # reached the specialists: had to be signed for
    signed_on_time: int = 0
    contact_required: int = 0
    contacted_on_time: int = 0
    extended: int = 0  # at least one approved extension
    chased: int = 0  # at least one 催办
    merged: int = 0  # merged into another issue as a duplicate
    # Dated by the latest resolution (resolved_at); withdrawn issues left out.
    resolved: int = 0
    resolved_with_deadline: int = 0
    resolved_on_time: int = 0
    called_back: int = 0  # at least one callback attempt for that resolution
    # Dated by the first rating (fixed once recorded); withdrawn issues left out.
    first_rated: int = 0
    first_satisfied: int = 0  # very satisfied + satisfied + basically satisfied
    first_rehandled: int = 0  # sent back for re-handling by that first rating
    # Dated by the final rating (the one in effect).
    rated: int = 0
    satisfied: int = 0
    confirmed: int = 0  # the merchant said it was solved
    # Dated by the call that closed the issue as unreachable.
    unreachable: int = 0

    def add(self, row) -> None:
        """Add the same-named columns of a result row (missing ones count as zero)."""
        mapping = row._mapping
        for name in _COUNT_NAMES:
            if name in mapping:
                setattr(self, name, getattr(self, name) + int(mapping[name] or 0))

    def merge(self, other: PeriodCounts) -> None:
        for name in _COUNT_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def not_withdrawn(self) -> int:
        """Issues reported in the period less the withdrawn ones."""
        return self.reported - self.withdrawn

    @property
    def valid(self) -> int:
        """Issues reported in the period less the withdrawn and returned ones."""
        return self.reported - self.withdrawn - self.returned

    def __getattr__(self, name: str) -> Rate:
        # Only called for names that are not fields or properties: the declared rates.
        figure = RATES.get(name)
        if figure is None:
            raise AttributeError(name)
        return figure.of(self)


_COUNT_NAMES = tuple(f.name for f in fields(PeriodCounts))


# --- "How the figures are counted" -----------------------------------------------------

#: The terms of the page's definitions: what is open now and the period first, then each
#: figure of :data:`FIGURES` that has a definition, then how the trend and the links read.
DEFINITIONS = [
    (_l("Open issues"),
     _l("Issues not yet resolved, closed or withdrawn, on hold included, as of now.")),
    (_l("Overdue now"),
     _l("Open issues, not on hold (their clock is stopped), whose resolution deadline has "
        "passed.")),
    (_l("Awaiting callback"),
     _l("Resolved issues waiting for the callback to the merchant.")),
    (_l("Period"),
     _l("From 00:00 on the first day to 24:00 on the last day, local time. Each figure puts "
        "an issue in the period by the date of its own event, as said below.")),
    *((figure.label, figure.definition) for figure in FIGURES if figure.definition),
    (_l("Weekly trend"),
     _l("By ISO week (Monday to Sunday), the first and last weeks cut to the period. Each "
        "series is dated like its figure: reported by registration, resolved by resolution, "
        "first-callback satisfaction by the first rating.")),
    (_l("Links"),
     _l("Every number opens the list of exactly the issues it counts, as many as it says: "
        "a count its issues; a rate the issues it is about (the number after the slash); "
        "the number before the slash the issues in its share. The issue list's filter "
        "\"Counted as\" and its filters on rating and call times do the same by hand.")),
]
