"""``/healthz``: is this process up and can it reach the database?"""

import sqlalchemy as sa
from flask import Blueprint, jsonify

from circle.extensions import csrf, db, limiter

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@limiter.exempt
@csrf.exempt
def healthz():
    """200 with ``{"status": "ok"}`` when a query succeeds; 503 otherwise (for load
    balancers and orchestrators, which need no login)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
