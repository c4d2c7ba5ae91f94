"""schemathesis against the app's own OpenAPI: generated requests to every automation API route (valid and
invalid ones) never get a 500, and every status answered is one the route documents."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from main import create_app
from tests.helpers import ADMIN, make_settings

# The schema as the app publishes it at /openapi.json (building the app opens no connection).
schema = schemathesis.openapi.from_dict(create_app(make_settings("sqlite://", None)).openapi()).include(
    path_regex="^/api/v1/")


@schema.parametrize()
# derandomized: the same cases every run, so CI is repeatable (run with more examples to explore)
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_automation_api_keeps_to_its_own_schema(case: Any, client: Any) -> None:
    """Sent through the test's client (the app already running: its workers and its database)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {ADMIN}"}
    response = client.request(**{k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params",
                                                                           "json", "content", "data")})
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             response_schema_conformance])
