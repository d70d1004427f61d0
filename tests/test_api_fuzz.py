"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis).

Every operation the document lists gets schema-valid (positive) and schema-violating
(negative) requests, derandomized so that a run is reproducible, and bounded so that it stays
quick. Whatever is sent, the API must never answer 5xx, must answer only documented status
codes with the documented headers and content type, and every body must match its schema.

schemathesis' ``negative_data_rejection`` check is not used: a negative case may "violate"
the schema only in its Authorization header, which this test always replaces by a valid
token, and is then rightly accepted.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from circle.extensions import db as _db
from tests.test_api import CATEGORY, seed_api_world

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def fuzz_app(app):
    """The app with communities, tokens, merchants, issues, events and callbacks.

    Set up in an app context that is closed again: each fuzzed request must run in its own
    context (and database session), as in production.
    """
    app.config.update(CIRCLE_API_RATE_LIMIT="100000 per minute",
                      CIRCLE_API_FEED_SETTLE_SECONDS=0)
    with app.app_context():
        world = seed_api_world()
        known = SimpleNamespace(secret=world.secret, merchant=world.merchant.id,
                                issue=world.closed.id, work_order=world.closed.work_order_no)
        _db.session.remove()
    return app, known


def steer(case, known):
    """Point a schema-valid case at data that exists, so that the success paths (a new
    issue, an existing one) and their response bodies are fuzzed too, not only the 4xx."""
    label = case.operation.label
    if label == "POST /api/v1/issues" and isinstance(case.body, dict):
        case.body["category"] = CATEGORY
        case.body["merchant"] = {"id": known.merchant}
    elif label == "GET /api/v1/issues/{issue_id}":
        case.path_parameters["issue_id"] = known.issue
    elif label == "GET /api/v1/issues":
        case.query = {**(case.query or {}), "work_order": known.work_order}
    return case


def _strategy(operation, mode, known):
    strategy = operation.as_strategy(generation_mode=mode)
    if mode.is_positive:
        # Half of the valid cases are steered to existing data.
        strategy = st.tuples(strategy, st.booleans()).map(
            lambda pair: steer(pair[0], known) if pair[1] else pair[0])
    return strategy


def test_api_holds_its_contract_under_fuzzing(fuzz_app):
    app, known = fuzz_app
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {known.secret}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} == {
        "POST /api/v1/issues", "GET /api/v1/issues", "GET /api/v1/issues/{issue_id}",
        "GET /api/v1/events", "GET /api/v1/callbacks",
    }
    statuses = set()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=_strategy(operation, mode, known))
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                      database=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
                      suppress_health_check=list(HealthCheck))
            def exercise(case):
                response = case.call(headers=auth)
                statuses.add((case.operation.label, response.status_code))
                case.validate_response(response, checks=CHECKS, headers=auth)

            exercise()
    # The run reached the success paths, not only the refusals.
    assert {("POST /api/v1/issues", 201), ("GET /api/v1/issues/{issue_id}", 200),
            ("GET /api/v1/issues", 200), ("GET /api/v1/events", 200),
            ("GET /api/v1/callbacks", 200)} <= statuses
