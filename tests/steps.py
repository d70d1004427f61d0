"""The workflow as a request uses it: each step function in its own unit of work.

Step functions flush and never commit (so that they chain); views, CLI commands and the API
wrap each request in :func:`circle.transaction.unit_of_work`. Tests that play the loop one
request at a time use ``wf`` from here, so that every call commits, or rolls back on a
refusal, exactly as it does behind a view.
"""

import functools

from circle.issues import workflow
from circle.transaction import unit_of_work

STEP_FUNCTIONS = {f.__name__ for f in workflow.ACTION_FUNCTIONS.values()} | {
    "register_issue", "decide_request", "chase_overdue_supervisions"}


class _InRequests:
    def __getattr__(self, name):
        attr = getattr(workflow, name)
        if name not in STEP_FUNCTIONS:
            return attr

        @functools.wraps(attr)
        def in_unit_of_work(*args, **kwargs):
            with unit_of_work():
                return attr(*args, **kwargs)

        return in_unit_of_work


wf = _InRequests()
