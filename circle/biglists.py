"""Admin lists that cost the same at a thousand rows and at a million.

Flask-Admin's list view does three things whose cost grows with the table:

- it counts every matching row (``COUNT(*)``) on every page to draw the pager;
- it reaches page *n* with ``OFFSET n × page size`` through rows joined to their related
  rows (``joinedload`` of every relation in the list), so the database joins all the rows it
  skips;
- it searches with ``CAST(column AS VARCHAR) ILIKE '%term%'``, which no index can serve.

:class:`BigListMixin` replaces all three:

- **Capped count.** Matching rows are counted only up to :attr:`list_count_cap`
  (``SELECT count(*) FROM (SELECT id … LIMIT cap + 1)``); beyond it the list shows
  "100,000+" and the pager stops there (bounded page depth). Anyone looking further back
  than 2,000 pages narrows the list with a filter or a search instead. A page counts only
  as far as its pager looks: :attr:`list_count_ahead` rows, or
  :attr:`list_count_pages_ahead` pages past itself if that is further (the first page of
  a million rows says "10,000+" and counts 10,000, not 100,000; the pager's last page
  moves on as one pages on).
- **Lean pages.** A later page's query selects the keys of its rows alone, so that an
  ``OFFSET`` skips index entries, not joined rows; a second query reads those rows with only
  the columns the list shows (``load_only``: an issue has fifty columns, the list ten) and,
  joined to them, the many-to-one relations the list shows (other relations are loaded for
  that page alone, ``selectinload``). The first page, with no OFFSET, reads those columns
  and relations in one query.
- **Indexed search.** The search box matches each configured column
  (:attr:`search_columns`) either by prefix, through an index — on SQLite as a range on
  the column's ordinary index, on PostgreSQL as ``LIKE 'term%'`` on a ``text_pattern_ops``
  index (the database's collation keeps ``LIKE`` off an ordinary index) — or as a
  substring of a column of a smaller related table (a shop name among the merchants),
  whose matching ids then select rows of the big one through its foreign-key index.

  Each way of matching is first asked on its own, in a small query of its own, for at
  most :attr:`~BigListMixin.search_key_limit` keys (the work-order numbers starting with
  the term, the ids of the merchants whose name contains it); a way that matches nothing is
  dropped, the others become ``column IN (those keys)``. The list and its count then see
  conditions that an index serves each and whose size the planner knows, which both
  databases combine (SQLite's multi-index OR, PostgreSQL's bitmap OR) — not one ``OR`` of a
  range and a subquery, for which both planners give up and walk the whole table. A term
  that matches more keys than that (one character, a chain's name, the first digits of
  every work order) is searched among the first of them only (the lowest numbers, the
  first merchants registered), and the list says so: the work stays bounded, and the user
  types a little more.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash
from sqlalchemy.orm import joinedload, load_only, selectinload

from circle.extensions import db
from circle.i18n import gettext

#: Default for :attr:`BigListMixin.list_count_cap`.
LIST_COUNT_CAP = 100_000
#: Defaults for :attr:`BigListMixin.list_count_ahead` and ``list_count_pages_ahead``.
LIST_COUNT_AHEAD = 10_000
LIST_COUNT_PAGES_AHEAD = 10
#: Default for :attr:`BigListMixin.search_key_limit`.
SEARCH_KEY_LIMIT = 500


class CappedCount(int):
    """A row count that stopped at a cap: an ``int`` for the pager's arithmetic, shown as
    "100,000+" (Flask-Admin prints the count next to the list's title)."""

    capped: bool = True

    def __str__(self) -> str:
        return f"{int(self):,}+"


def capped_count(query, cap: int) -> int:
    """Count the rows of ``query`` (a select or Query of the primary key), stopping at
    ``cap``.

    Returns an ``int``, or a :class:`CappedCount` equal to ``cap`` when there are more.
    The rows are counted as a constant, not their keys, unless the query is DISTINCT: the
    subquery hands each selected value on (SQLite: 10.9 -> 7.0 ms over 100,000 rows).
    """
    select = getattr(query, "statement", query)  # a Query's own SELECT, or a select
    if isinstance(select, sa.Select) and not (select._distinct or select._distinct_on) \
            and len(select.selected_columns) == 1 \
            and isinstance(select.selected_columns[0], sa.Column):
        # A plain key column (not ``distinct(key)`` or an expression): a constant counts
        # the same rows.
        select = select.with_only_columns(sa.literal_column("1"), maintain_column_froms=True)
    limited = select.limit(cap + 1).subquery()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(limited))
    return CappedCount(cap) if count > cap else count


def _after_prefix(term: str) -> str | None:
    """The smallest string greater than every string starting with ``term``."""
    for i in range(len(term) - 1, -1, -1):
        code = ord(term[i]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates are no characters: skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            return term[:i] + chr(code)
    return None


def prefix_match(column, term: str):
    """``column`` starts with ``term``, in a form the dialect's index can serve."""
    if db.engine.dialect.name == "postgresql":
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped + "%", escape="\\")
    # SQLite's LIKE ignores ordinary indexes (it is case-insensitive); a range does not.
    upper = _after_prefix(term)
    clause = column >= term
    return clause if upper is None else sa.and_(clause, column < upper)


def contains_match(column, term: str):
    """``column`` contains ``term`` (wildcards literal), ignoring the case of ASCII letters.

    SQLite's ``LIKE`` already ignores it. On PostgreSQL ``ILIKE`` is used only when the term
    has a letter with a case: it is several times slower than ``LIKE``, and a term in
    Chinese (or digits) matches the same either way.
    """
    if db.engine.dialect.name == "postgresql" and term.lower() != term.upper():
        return column.icontains(term, autoescape=True)
    return column.contains(term, autoescape=True)


def relations_loaded_by_options(query) -> set:
    """The relationships of the query's entity whose loading the query's own options set
    (``selectinload(Delivery.notice)``, ``joinedload(Issue.merchant).joinedload(...)``).

    A list adds its own loader for each relation it shows; one of another strategy on the
    same relation would be refused (``InvalidRequestError``: "loader strategy replacement
    ... is in conflict"), so the list leaves those relations to the view's options.
    SQLAlchemy 2.1 has no public way to read a statement's options back (``options()``
    only adds them): this reads ``_with_options`` and each :class:`~sqlalchemy.orm.Load`'s
    elements, whose path is (entity, relationship, related entity) for a relationship's
    own strategy. tests/test_biglists.py fails if those internals change.
    """
    found = set()
    for option in getattr(query, "_with_options", ()):
        for element in getattr(option, "context", ()):
            path = element.path
            # A strategy of the relationship itself, not of a column or relationship
            # reached through it (``defaultload(X.rel).load_only(...)`` sets none on it).
            if element.strategy is not None and not path.is_token and len(path) == 3:
                found.add(path[1])
    return found


class BigListMixin:
    """List pages with a capped count, lean paging and indexed search.

    Mix into a Flask-Admin ``ModelView`` (before it). See the module docstring.
    """

    #: Matching rows are counted up to this number; pages stop there.
    list_count_cap: int = LIST_COUNT_CAP
    #: A page counts this many matching rows at least (up to the cap) …
    list_count_ahead: int = LIST_COUNT_AHEAD
    #: … or as many as reach this many pages past it, if that is more.
    list_count_pages_ahead: int = LIST_COUNT_PAGES_AHEAD
    #: What the search box matches: ``{attribute path: "prefix" | "contains"}``. A path
    #: ``"merchant.shop_name"`` matches rows whose (many-to-one) merchant's shop name
    #: matches, through the ids of those merchants. "prefix" is served by an index;
    #: "contains" scans the (smaller) table it names. Empty: Flask-Admin's own search over
    #: ``column_searchable_list`` (for small tables).
    search_columns: dict[str, str] = {}
    #: A search matches through at most this many keys of each column (work-order numbers,
    #: merchants); a term matching more is searched among the first of them (see module).
    search_key_limit: int = SEARCH_KEY_LIMIT
    #: Columns the list's formatters read beyond those it shows (loaded with the page; any
    #: other column would be read row by row, one query each).
    list_load_also: tuple[str, ...] = ()
    _page_relations: list = []

    # Flask-Admin draws its own pager when it is given a count; we pass ours.
    simple_list_pager = True

    def scaffold_auto_joins(self):
        # Keep the relations Flask-Admin would join into the page query; load them per page.
        self._page_relations = super().scaffold_auto_joins()
        return []

    def _search_keys(self, path: str, how: str, term: str):
        """The column of the model that ``term`` is matched through (per
        :attr:`search_columns`), and a select of the keys it matches, in a stable order."""
        def match(column):
            return prefix_match(column, term) if how == "prefix" else contains_match(column,
                                                                                    term)

        attribute_names = path.split(".")
        if len(attribute_names) == 1:
            # The matching values themselves: a list of them is served by any index on the
            # column, and the query for them reads that index alone. No ORDER BY: the index
            # yields the lowest values first, and PostgreSQL could not sort with its
            # pattern-ops index (see prefix_match), so it would sort every match.
            column = getattr(self.model, path)
            return column, sa.select(column).where(match(column))
        relation, column_name = attribute_names
        prop = getattr(self.model, relation).property
        (local, remote), = prop.local_remote_pairs
        related = getattr(prop.mapper.class_, column_name)
        # The first merchants registered: an order both databases read without sorting.
        return local, sa.select(remote).where(match(related)).order_by(remote)

    def _apply_search(self, query, count_query, joins, count_joins, search):
        term = search.strip()
        if not term or not self.search_columns:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        limit = self.search_key_limit
        conditions, partial = [], False
        for path, how in self.search_columns.items():
            column, keys_query = self._search_keys(path, how, term)
            keys = db.session.scalars(keys_query.limit(limit + 1)).all()
            if len(keys) > limit:
                keys, partial = keys[:limit], True
            if keys:
                conditions.append(column.in_(keys))
        if partial:
            flash(gettext("“%(term)s” matches more than %(n)s shop names or work-order "
                          "numbers: only the issues of the first %(n)s are listed. Type more "
                          "of the name or number.", term=term, n=f"{limit:,}"), "info")
        condition = sa.or_(*conditions) if conditions else sa.false()
        query = query.filter(condition)
        if count_query is not None:
            count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        """The page's rows and the capped count of all matching rows."""
        size = page_size if page_size is not None else self.page_size
        if page and size:
            last = max(0, -(-self.list_count_cap // size) - 1)
            if page > last:
                flash(gettext("Lists go back %(n)s rows at most: narrow the list with a "
                              "filter or a search.", n=f"{self.list_count_cap:,}"), "info")
                page = last
        _, query = super().get_list(page, sort_column, sort_desc, search, filters,
                                    execute=False, page_size=page_size)
        pk = getattr(self.model, self._primary_key)
        matching = query.limit(None).offset(None).order_by(None).with_entities(pk)
        count = capped_count(matching, self._count_cap(page, size))
        if not execute:
            own = relations_loaded_by_options(query)
            relations = [r for r in self._page_relations if r.property not in own]
            if relations:
                query = query.options(*(selectinload(r) for r in relations))
            return count, query
        return count, self._page_rows(query, first_page=not page)

    def _count_cap(self, page: int | None, size: int | None) -> int:
        """How far the count of a page goes: as far as its pager looks (see module)."""
        ahead = ((page or 0) + self.list_count_pages_ahead) * (size or self.page_size or 1)
        return min(self.list_count_cap, max(self.list_count_ahead, ahead))

    def _page_rows(self, query, first_page: bool = False) -> list:
        """The page's rows, in the list's order: their keys first (the list's query with its
        filters, sort, offset and limit, selecting the key alone, which an OFFSET skips
        through in the index), then those rows with the columns shown and, joined to them,
        their many-to-one relations shown (the others, and the query's own options, loaded
        per page). A relation the query's own options load is left to them.

        The first page has no OFFSET to skip through: it is read in one statement, the
        query itself with those columns and relations (one round trip fewer on the page
        people open most)."""
        pk = getattr(self.model, self._primary_key)
        options = self._page_options(query)
        if first_page:
            return query.options(*options).all()
        ids = [row[0] for row in query.with_entities(pk).all()]
        if not ids:
            return []
        rows = query.limit(None).offset(None).order_by(None).filter(pk.in_(ids)).options(
            *options).all()
        position = {key: index for index, key in enumerate(ids)}
        rows.sort(key=lambda row: position[getattr(row, self._primary_key)])
        return rows

    def _page_options(self, query) -> list:
        """The loader options of a page's rows: the columns shown, and the relations shown
        (many-to-one joined, the others by a second statement) that the query's own options
        do not load."""
        options = [load_only(*self._list_load_columns())]
        own = relations_loaded_by_options(query)
        for relation in self._page_relations:
            if relation.property in own:
                continue
            many_to_one = relation.property.direction.name == "MANYTOONE"
            options.append(joinedload(relation) if many_to_one else selectinload(relation))
        return options

    def _list_load_columns(self) -> list:
        """The model's columns a list page reads: those shown, the keys of the relations
        shown (to load them per page), the sort column and :attr:`list_load_also`."""
        mapper = sa.inspect(self.model)
        names = {self._primary_key, *self.list_load_also}
        if self.column_default_sort:
            sort = self.column_default_sort
            names.add(sort[0] if isinstance(sort, tuple) else sort)
        shown = {name.split(".")[0] for name, _label in self._list_columns}
        for name in shown:
            prop = mapper.attrs.get(name)
            if isinstance(prop, sa.orm.ColumnProperty):
                names.add(name)
            elif isinstance(prop, sa.orm.RelationshipProperty) and prop.direction.name \
                    == "MANYTOONE":
                names.update(column.key for column in prop.local_columns)
        return [mapper.column_attrs[name].class_attribute for name in sorted(names)
                if name in mapper.column_attrs]
