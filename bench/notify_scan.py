"""Issue #15: the SLA scan at city scale — its time and its query plan.

    .venv/bin/python bench/notify_scan.py sqlite:///bench/.data/sqlite-1000000.sqlite3
    .venv/bin/python bench/notify_scan.py postgresql://postgres@127.0.0.1:5432/circle_bench_1000000

On a database made by ``flask circle gen-synthetic`` (see README.md), in one transaction
that is rolled back at the end (the database is left as it was): the plan of the query
that finds the issues whose clocks run, then the first scan (every threshold reached so far
is told: the backlog of a deployment that starts notifying) and a second scan a minute
later (the steady state: nothing new to tell, every issue still checked). Prints a
Markdown table row per scan.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(url: str) -> None:
    os.environ.setdefault("CIRCLE_JOBS_URL", "memory://")
    os.environ["DATABASE_URL"] = url
    import sqlalchemy as sa

    from circle import create_app
    from circle.extensions import db
    from circle.issues.models import Issue
    from circle.notify import sla_scan
    from circle.notify.models import Notice, Notification
    from circle.timeutil import utcnow

    app = create_app({"CIRCLE_JOBS_URL": "memory://"})
    with app.app_context():
        session = db.session
        dialect = db.engine.dialect.name
        query = sla_scan.running_issues_query()
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        plan = [str(row[-1]) for row in session.execute(sa.text(explain + sql))]
        issues = session.scalar(sa.select(sa.func.count()).select_from(Issue))
        running = len(session.execute(query).all())
        print(f"database: {dialect}, {issues:,} issues, {running:,} with running clocks")
        print("plan:", " | ".join(plan))
        print()
        print("| scan | notices written | notifications | seconds |")
        print("|---|---|---|---|")
        now = utcnow()
        scans = (("first (backlog)", now), ("next minute", now + timedelta(minutes=1)))
        for label, moment in scans:
            before = session.scalar(sa.select(sa.func.count()).select_from(Notification))
            start = time.perf_counter()
            written = sla_scan.scan(moment)
            session.flush()
            seconds = time.perf_counter() - start
            told = session.scalar(sa.select(sa.func.count()).select_from(Notification)) - before
            print(f"| {label} | {written:,} | {told:,} | {seconds:.2f} |")
        notices = session.scalar(sa.select(sa.func.count()).select_from(Notice))
        session.rollback()
        print(f"\n({notices:,} notices in the transaction; rolled back)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "sqlite:///" + str(Path(__file__).parent / ".data" / "sqlite-1000000.sqlite3"))
