"""Which SQL statements a request runs (for tests of what a page asks the database)."""

from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def recorded_sql(app, db):
    """The SQL statements run while the block runs, in order."""
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
