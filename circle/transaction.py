"""The unit of work: domain functions change objects and flush; the edge commits once.

Views, CLI commands, API handlers and jobs wrap what one request (or command, or job) does in
:func:`unit_of_work`: everything inside commits together, or — on any exception — nothing
does. Workflow steps never commit, so several can be chained in one transaction (the demo
plays a whole story that way).
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError

from circle.extensions import db


@contextmanager
def unit_of_work():
    """Commit the session when the block ends; roll it back if anything escapes it.

    A conditional UPDATE that matched no row at commit (someone else changed the issue
    first) becomes :class:`~circle.issues.workflow.StaleIssue`, a refusal the user can read.
    """
    session = db.session
    try:
        yield session
        session.commit()
    except StaleDataError:
        session.rollback()
        from circle.issues.workflow import StaleIssue

        raise StaleIssue() from None
    except BaseException:
        session.rollback()
        raise
