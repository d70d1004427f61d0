"""What circle is measured against (issue #19): stock Flask-Admin, and a bare-Flask floor.

Not part of the app: bench/run.py serves it with gunicorn beside circle, over the same
database, and the driver requests the same pages from both, interleaved.

``/admin/…``  **stock** Flask-Admin 2: plain ``ModelView`` classes over tables reflected with
              SQLAlchemy automap, configured only with class attributes, as the Flask-Admin
              examples are (columns, searchable columns, filters). No sign-in (the stock
              examples have none): it pays nothing circle pays for sessions and row scope.
``/floor/…``  the **floor**: the same page's rows fetched by one lean Core query and
              rendered by a minimal Jinja template — what any Python web stack must pay to
              show them.

    gunicorn -c gunicorn.conf.py 'bench.baseline:create_app()'   # DATABASE_URL=…
"""

from __future__ import annotations

import os
import secrets

import sqlalchemy as sa
from flask import Flask, abort, request
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterEqual, IntEqualFilter
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.ext.automap import automap_base

from bench.run import sa_url

PAGE_SIZE = 50
#: The most keys a floor search reads per way of matching (circle's search_key_limit).
SEARCH_KEYS = 500


def _scalar_name(base, local_cls, referred_cls, constraint):
    # issue.assignee_id and issue.reporter_id both refer to user: name each after its column.
    column = list(constraint.columns)[0].name
    return column[:-3] if column.endswith("_id") else referred_cls.__name__


def _collection_name(base, local_cls, referred_cls, constraint):
    column = list(constraint.columns)[0].name
    return f"{referred_cls.__name__}_by_{column}"


def reflect(engine):
    """The database's tables as automap classes (one per table, named like it)."""
    base = automap_base()
    base.prepare(autoload_with=engine, name_for_scalar_relationship=_scalar_name,
                 name_for_collection_relationship=_collection_name)
    return base.classes


def stock_views(classes, db) -> list[ModelView]:
    """The stock ModelViews of the pages in issue #19's table."""
    issue, merchant = classes.issue, classes.merchant

    class IssueView(ModelView):
        page_size = PAGE_SIZE
        can_set_page_size = True
        can_view_details = True
        column_default_sort = ("id", True)
        column_list = ("id", "work_order_no", "merchant.shop_name", "circle.name",
                       "category.name", "severity", "level", "status", "reported_at",
                       "assignee.display_name")
        column_searchable_list = ("work_order_no", "merchant.shop_name")
        column_filters = (IntEqualFilter(issue.circle_id, "circle"),
                          FilterEqual(issue.status, "status"))

    class MerchantView(ModelView):
        page_size = PAGE_SIZE
        can_view_details = True
        column_default_sort = ("id", True)
        column_list = ("shop_name", "owner_name", "phone", "circle.name",
                       "business_category", "active", "updated_at")
        column_searchable_list = ("shop_name", "owner_name", "phone")

    class MerchantSameView(MerchantView):
        """The merchant list as circle draws it: also each merchant's emergency contacts
        (the relation listed, as a stock column of it is) and circle's filters (circle,
        business category, active, created), as class attributes."""

        column_list = (*MerchantView.column_list[:5], "emergency_contact_by_merchant_id",
                       *MerchantView.column_list[5:])
        column_filters = (IntEqualFilter(merchant.circle_id, "circle"), "business_category",
                          "active", "created_at")

    return [IssueView(issue, db, endpoint="issue"),
            MerchantView(merchant, db, endpoint="merchant"),
            MerchantSameView(merchant, db, endpoint="merchant_same",
                             url="/admin/merchant-same")]


# --- the floor -------------------------------------------------------------------------------

TABLE = """<!doctype html><html><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><table><tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for v in row %}<td>{{ "" if v is none else v }}</td>{% endfor %}</tr>
{% endfor %}</table>{% for row in extra %}<p>{{ row|join(" · ") }}</p>{% endfor %}</body></html>"""

ISSUE_COLUMNS = ("i.id, i.work_order_no, m.shop_name, bc.name, c.name, i.severity, i.level, "
                 "i.status, i.reported_at, u.display_name")
ISSUE_FROM = ("FROM issue i JOIN merchant m ON m.id = i.merchant_id "
              "JOIN business_circle bc ON bc.id = i.circle_id "
              "JOIN issue_category c ON c.id = i.category_id "
              'LEFT JOIN "user" u ON u.id = i.assignee_id ')


def _after_prefix(term: str) -> str:
    return term[:-1] + chr(ord(term[-1]) + 1)


def floor_issue_ids(conn, args) -> list[int]:
    """The ids of the issue list page the arguments ask for (newest first)."""
    page = max(0, int(args.get("page", 0) or 0))
    where, params = [], {"limit": PAGE_SIZE, "offset": page * PAGE_SIZE}
    if args.get("circle"):
        where.append("circle_id = :circle")
        params["circle"] = int(args["circle"])
    if args.get("status"):
        where.append("status = :status")
        params["status"] = args["status"]
    term = (args.get("search") or "").strip()
    if term:
        # Each way of matching in a small indexed query of its own, then the ids.
        orders = conn.execute(sa.text(
            "SELECT work_order_no FROM issue WHERE work_order_no >= :t AND "
            "work_order_no < :u LIMIT :k"), {"t": term, "u": _after_prefix(term),
                                             "k": SEARCH_KEYS}).scalars().all()
        shops = conn.execute(sa.text(
            "SELECT id FROM merchant WHERE shop_name LIKE :p ORDER BY id LIMIT :k"),
            {"p": f"%{term}%", "k": SEARCH_KEYS}).scalars().all()
        ways = []
        if orders:
            ways.append("work_order_no IN :orders")
            params["orders"] = tuple(orders)
        if shops:
            ways.append("merchant_id IN :shops")
            params["shops"] = tuple(shops)
        if not ways:
            return []
        where.append("(" + " OR ".join(ways) + ")")
    stmt = sa.text("SELECT id FROM issue " + (("WHERE " + " AND ".join(where)) if where else "")
                   + " ORDER BY id DESC LIMIT :limit OFFSET :offset")
    for name in ("orders", "shops"):
        if name in params:
            stmt = stmt.bindparams(sa.bindparam(name, expanding=True))
    return conn.execute(stmt, params).scalars().all()


def register_floor(app: Flask, db) -> None:
    """The bare routes: one query (or two for a search) and a minimal template each."""
    # Compiled once, as Flask's template loader keeps a file's template (render_template_
    # string compiles its source on every call: ~4 ms, more than the rest of the page).
    table = app.jinja_env.from_string(TABLE)

    @app.get("/floor/issue/")
    def floor_issues():
        """The issue list page: the same rows and columns as circle's."""
        conn = db.session.connection()
        ids = floor_issue_ids(conn, request.args)
        rows = conn.execute(sa.text(f"SELECT {ISSUE_COLUMNS} {ISSUE_FROM} WHERE i.id IN :ids "
                                    "ORDER BY i.id DESC").bindparams(
            sa.bindparam("ids", expanding=True)), {"ids": ids or [0]}).all()
        return table.render(title="issues", rows=rows, extra=(),
                            header=ISSUE_COLUMNS.split(", "))

    @app.get("/floor/issue/<int:issue_id>")
    def floor_issue(issue_id: int):
        """One issue with its timeline (what the issue desk shows first)."""
        conn = db.session.connection()
        rows = conn.execute(sa.text(f"SELECT {ISSUE_COLUMNS}, i.description {ISSUE_FROM} "
                                    "WHERE i.id = :id"), {"id": issue_id}).all()
        if not rows:
            abort(404)
        events = conn.execute(sa.text(
            "SELECT e.created_at, u.display_name, e.action, e.to_status, e.note "
            'FROM issue_event e LEFT JOIN "user" u ON u.id = e.actor_id '
            "WHERE e.issue_id = :id ORDER BY e.id"), {"id": issue_id}).all()
        return table.render(title="issue", rows=rows, extra=events,
                            header=ISSUE_COLUMNS.split(", ") + ["description"])

    @app.get("/floor/merchant/")
    def floor_merchants():
        """The merchant list page with each merchant's emergency contacts."""
        conn = db.session.connection()
        rows = conn.execute(sa.text(
            "SELECT m.id, m.shop_name, m.owner_name, m.phone, bc.name, m.business_category, "
            "m.active, m.updated_at FROM merchant m JOIN business_circle bc "
            "ON bc.id = m.circle_id WHERE m.id IN (SELECT id FROM merchant ORDER BY id DESC "
            "LIMIT :n) ORDER BY m.id DESC"), {"n": PAGE_SIZE}).all()
        contacts = conn.execute(sa.text(
            "SELECT merchant_id, name, relation, phone FROM emergency_contact "
            "WHERE merchant_id IN :ids ORDER BY merchant_id, priority").bindparams(
            sa.bindparam("ids", expanding=True)), {"ids": [r[0] for r in rows] or [0]}).all()
        return table.render(title="merchants", rows=rows, extra=contacts,
                            header=["id", "shop", "owner", "phone", "circle", "category",
                                    "active", "updated"])


def create_app(database_url: str | None = None) -> Flask:
    """The stock admin and the floor over ``database_url`` (default ``$DATABASE_URL``)."""
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=sa_url(database_url or os.environ["DATABASE_URL"]),
        # Throwaway: this app serves a bench database on loopback only.
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_hex(16),
    )
    db = SQLAlchemy()
    db.init_app(app)
    # Flask-Admin needs Flask-Babel initialised when it is installed; in Chinese, as circle
    # serves its pages (Flask-Admin's own zh_Hans_CN catalogue).
    Babel(app, locale_selector=lambda: "zh_CN")
    with app.app_context():
        classes = reflect(db.engine)
    admin = Admin(app, name="stock")
    for view in stock_views(classes, db):
        admin.add_view(view)
    register_floor(app, db)

    @app.get("/healthz")
    def healthz():
        return "ok"

    return app
