"""A list page's filter data for the signed-in user: a filter over more of a table's rows
than a dropdown should list becomes a lookup as you type (issue #19); the others carry
their options, every table's read in one statement (:mod:`circle.adminfilters`)."""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user

from circle.adminfilters import (
    LOOKUP_PREFIX,
    LOOKUP_TYPE,
    FilterLookup,
    RowsAsOptions,
    row_options,
)


class LookupFiltersMixin:
    """For Flask-Admin model views: the lookups registered, the filter data built."""

    def _refresh_filters_cache(self) -> None:
        # Each filter offering a table's rows may become a lookup as you type: Flask-Admin's
        # ``ajax_lookup`` view answers it through a loader registered under its name.
        super()._refresh_filters_cache()
        for index, flt in enumerate(self._filters or ()):
            rows = row_options(flt)
            if rows is not None:
                name = LOOKUP_PREFIX + self.get_filter_arg(index, flt)
                self._form_ajax_refs[name] = FilterLookup(name, rows)

    def _get_filter_groups(self):
        """The list page's filter data (``#filter-groups-data``), built for the signed-in user.

        A filter offering more of a table's rows than ``CIRCLE_FILTER_INLINE_OPTIONS`` to
        this user carries no options but the :data:`LOOKUP_TYPE`, its lookup's URL and the
        names of the rows its active instances chose (``labels``); the others carry their
        options, as Flask-Admin's do.
        """
        if not self._filter_groups:
            return None
        most = current_app.config["CIRCLE_FILTER_INLINE_OPTIONS"]
        user = current_user._get_current_object()
        RowsAsOptions.read_inline([rows for flt in self._filters
                                   if (rows := row_options(flt)) is not None], user, most)
        groups = {}
        for group in self._filter_groups.values():
            entries = []
            for item in group:
                entry = dict(item, operation=str(item["operation"]))
                rows = row_options(self._filters[item["index"]])
                inline = None if rows is None else rows.inline(user, most)
                if rows is not None and inline is None:
                    name = LOOKUP_PREFIX + item["arg"]
                    entry.update(options=None, type=LOOKUP_TYPE,
                                 url=self.get_url(".ajax_lookup", name=name),
                                 labels=rows.labels(user, self._chosen(item["arg"])))
                elif inline is not None:
                    entry["options"] = inline
                elif entry["options"]:
                    entry["options"] = [(key, str(label)) for key, label in entry["options"]]
                entries.append(entry)
            groups[str(group.label)] = entries
        return groups

    @staticmethod
    def _chosen(arg: str) -> list[str]:
        """The values the request's filters (``flt<pos>_<arg>``) give the filter ``arg``."""
        suffix = "_" + arg
        return [value for key, value in request.args.items(multi=True)
                if key.startswith("flt") and key.endswith(suffix)
                and key[3:-len(suffix)].isdigit()]
