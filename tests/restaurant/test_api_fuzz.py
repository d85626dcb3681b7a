"""schemathesis against the live schema: every operation, as anonymous, customer, chef, manager and partner.

The schema is fetched from /api/v1/schema/ through the WSGI application, as
a client would read it, and each operation gets generated requests (valid
and not) from each caller. Checked for every answer: never a 5xx, a status
the schema documents, its content type, and a body conforming to the
schema (the one error shape for every 4xx). The run is derandomized, so CI
sees the same requests each time.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import app_session_start
from restaurant.api.clients import ApiScope
from restaurant.wsgi import application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(db, rush_limits_lifted, settings):  # type: ignore[no-untyped-def]
    settings.SIGN_IN_RATE_PER_IP = "1000000/m"
    # The application is called as a server would call it, inside the test's
    # transaction: as Django's own test client does, the end of a request must
    # not close the connection that transaction lives on.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def callers(actors, small_menu, partner_key) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    def bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {"Authorization": f"Bearer {app_session_start(user=user).access}"}

    return {
        "anonymous": {},
        "customer": bearer(actors.customer),
        "chef": bearer(actors.chef),
        "manager": bearer(actors.manager),
        "partner": {"Authorization": partner_key(*ApiScope.values)},
    }


def _operations() -> list[str]:
    """Every operation's label ("GET /api/v1/menu/"), one test each, read from the live schema in the test."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return sorted(f"{method.upper()} {route}" for route, methods in paths.items() for method in methods)


# schemathesis's own pytest loader (schemathesis.pytest.from_fixture) sets a
# node attribute pytest 9 no longer has; its strategies are driven here instead.
@pytest.mark.django_db
@pytest.mark.parametrize("label", _operations())
def test_every_operation_answers_every_caller_as_its_schema_says(label, api_schema, callers):  # type: ignore[no-untyped-def]
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label

    # Requests the schema allows, and requests it does not (wrong types, missing fields, …).
    cases = st.one_of(operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def every_caller(case) -> None:  # type: ignore[no-untyped-def]
        for headers in callers.values():
            case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=CHECKS)

    every_caller()
