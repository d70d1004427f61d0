"""The API against its own OpenAPI document: schemathesis ``run --checks all``, in a test.

schemathesis' engine — what its command line runs — drives a real HTTP server on the
loopback address through all of its phases (the document's examples, the coverage cases of
every boundary, missing or undeclared method, schema-valid and schema-violating fuzzing, and
stateful sequences) with every check the installed version has, read from its registry
rather than listed here. The run is derandomized and bounded so that it stays quick, and the
test fails on any failure or error of any check: no 5xx; only documented statuses, headers
and content types; bodies that match their schemas; every request that violates the schema
refused and every one that conforms accepted; undeclared methods answered 405 with ``Allow``;
requests without the token refused.

Two things the document cannot say are supplied by a ``before_call`` hook: which category
names and merchants exist. A schema-valid work order names a category and a merchant, and
the API refuses (422) one that the panel does not have; the hook points the valid bodies at
an existing category and merchant (keeping everything else generated), so that the success
path and its response body are what gets fuzzed. Violating bodies are sent as generated.

``object_level_authorization`` runs but compares nothing, by its own design: it needs the
``[auth.wfc]`` peers configuration (several users and how each authenticates) to replay one
user's requests as another. Scoping is proven where the data is known instead:
tests/test_api.py shows that another community's issue is a 404 for a token.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine import Status as EngineStatus
from schemathesis.engine import events, from_schema
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER
from werkzeug.serving import make_server

from circle.extensions import db as _db
from tests.test_api import CATEGORY, seed_api_world

EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def live_api(app):
    """The app with communities, tokens, merchants, issues, events and callbacks, served
    over HTTP on the loopback address (each request in its own context, as in production)."""
    app.config.update(CIRCLE_API_RATE_LIMIT="100000 per minute",
                      CIRCLE_API_FEED_SETTLE_SECONDS=0)
    with app.app_context():
        world = seed_api_world()
        known = SimpleNamespace(secret=world.secret, merchant=world.merchant.id,
                                credit_code=world.merchant.credit_code,
                                issue=world.closed.id)
        _db.session.remove()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}", known
    http.shutdown()
    thread.join(timeout=10)


def _config(secret: str) -> SchemathesisConfig:
    """What ``schemathesis run --checks all --max-examples N --generation-deterministic``
    with the token header sets."""
    config = SchemathesisConfig()
    project = config.projects.override
    project.checks.update(included_check_names=["all"])
    project.generation.update(max_examples=EXAMPLES_PER_OPERATION, deterministic=True,
                              database="none")
    project.update(headers={"Authorization": f"Bearer {secret}"})
    return config


def test_api_passes_every_schemathesis_check(live_api):
    base_url, known = live_api
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json",
                                           config=_config(known.secret))
    assert {result.ok().label for result in schema.get_all_operations()} == {
        "POST /api/v1/issues", "GET /api/v1/issues", "GET /api/v1/issues/{issue_id}",
        "GET /api/v1/events", "GET /api/v1/callbacks",
    }
    statuses = set()

    def before_call(context, case, kwargs):
        body_is_valid = case.meta is None or not case.meta.is_negative_at(
            ParameterLocation.BODY)
        if (case.operation.label == "POST /api/v1/issues" and body_is_valid
                and isinstance(case.body, dict)):
            case.body["category"] = CATEGORY
            merchant = case.body.get("merchant")
            if isinstance(merchant, dict):
                if "id" in merchant:
                    merchant["id"] = known.merchant
                if "credit_code" in merchant:
                    merchant["credit_code"] = known.credit_code

    def after_call(context, case, response):
        statuses.add((case.operation.label, response.status_code))

    # Both hooks exist at the global scope only: registered for this run, then removed.
    for hook in (before_call, after_call):
        schemathesis.hook(hook)
    try:
        failures, errors, checks_run = _run(schema)
    finally:
        for hook in (before_call, after_call):
            GLOBAL_HOOK_DISPATCHER.unregister(hook)
    assert not errors, "\n".join(errors)
    assert not failures, "\n".join(dict.fromkeys(failures))
    # Every check the library has ran (one, object_level_authorization, vacuously).
    assert set(CHECKS.get_all_names()) <= checks_run
    # The run reached the success paths, not only the refusals.
    assert {("POST /api/v1/issues", 201), ("GET /api/v1/issues/{issue_id}", 200),
            ("GET /api/v1/issues", 200), ("GET /api/v1/events", 200),
            ("GET /api/v1/callbacks", 200)} <= statuses


def _run(schema):
    """Run the engine; the failures, the errors and the names of the checks that ran."""
    failures, errors, checks_run = [], [], set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    checks_run.add(check.name)
                    if check.status == EngineStatus.FAILURE:
                        case = event.recorder.cases[case_id].value
                        failures.append(f"{check.name}: {case.method} {case.formatted_path} "
                                        f"query={case.query} body={case.body!r:.300} — "
                                        f"{check.failure_info.failure.title}: "
                                        f"{check.failure_info.failure.message:.300}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            errors.append(repr(getattr(event, "info", event))[:500])
    return failures, errors, checks_run
