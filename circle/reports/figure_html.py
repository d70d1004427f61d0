"""A dashboard number as HTML: a link to the issue list of exactly the issues it counts.

The same markup the dashboard's Jinja macros wrote (``data-figure`` names each figure,
``data-numerator-of`` and ``data-denominator-of`` the two counts under a rate), built in
Python: a district's page shows two thousand of them, and a macro call per number was most
of the page's time.
"""

from __future__ import annotations

from markupsafe import Markup, escape


def figure_link(value, url, name, css: str = "") -> Markup:
    """A count, linked to its issues."""
    css = f" {escape(css)}" if css else ""
    return Markup(f'<a href="{escape(url)}" data-figure="{escape(name)}"\n'
                  f'     class="figure-link{css}">{escape(value)}</a>')


def rate_figure(rate, numerator_url, denominator_url, name, css: str = "") -> Markup:
    """A rate: the percentage (or "—"), which opens the issues the rate is about (its
    denominator), and the fraction behind it, each number opening its issues."""
    css = f" {escape(css)}" if css else ""
    name, denominator_url = escape(name), escape(denominator_url)
    return Markup(
        f'<a href="{denominator_url}" data-figure="{name}"\n'
        f'     class="figure-link rate-value{css}">{escape(rate)}</a>\n'
        '  <span class="rate-fraction text-muted small text-nowrap">'
        f'<a href="{escape(numerator_url)}" data-numerator-of="{name}"\n'
        f'     class="figure-link">{escape(rate.numerator)}</a>/'
        f'<a href="{denominator_url}" data-denominator-of="{name}"\n'
        f'     class="figure-link">{escape(rate.denominator)}</a></span>')


def period_figures_of(issue_url):
    """``period_figure(figure, counts, args, css='')`` for a page whose issue-list links
    ``issue_url`` builds: one figure of the period (:data:`circle.reports.rates.FIGURES`)
    for ``counts``, a count or a rate; ``args`` are the other criteria (period, row)."""

    def period_figure(figure, counts, args, css: str = "") -> Markup:
        if figure.is_rate:
            return rate_figure(figure.of(counts), issue_url(count=figure.numerator, **args),
                               issue_url(count=figure.denominator, **args), figure.name, css)
        return figure_link(figure.of(counts), issue_url(count=figure.name, **args),
                           figure.name, css)

    return period_figure
