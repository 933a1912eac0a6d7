"""Schemathesis against the app's own /openapi.json, in-process, on the test phase's real database.

Every operation of the JSON API gets a bounded, derandomised run of generated requests: valid
ones (with the path pointing at real objects, and with generated path parameters) and invalid
ones (bodies and query strings that break the schema), sent with the bearer token of the role
the operation is for. No answer may be a 500, use a status code the document does not list,
have another content type, or break the documented response schema; an invalid request must be
refused with a 4xx.
"""

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from app.main import create_app
from app.services import signups
from tests.support.world import World, build_world

# The document as the app serves it at /openapi.json (read from a separate app instance: the
# document does not depend on the database).
OPENAPI: dict[str, Any] = create_app(start_mail_sender=False).openapi()
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)

ANYONE, STAFF, CONTRACTOR, RESIDENT = "anyone", "staff", "contractor", "resident"
STAFF_OR_CONTRACTOR = "staff_or_contractor"

# Who calls each operation. A new operation must be added here (the test below fails otherwise).
CALLER: dict[str, str] = {
    "GET /healthz": ANYONE,
    "POST /api/v1/auth/token": ANYONE,
    "POST /api/v1/auth/resident-link": ANYONE,
    "POST /api/v1/auth/resident": ANYONE,
    "POST /api/v1/auth/logout": STAFF_OR_CONTRACTOR,
    "GET /api/v1/campaigns": STAFF,
    "POST /api/v1/campaigns": STAFF,
    "GET /api/v1/campaigns/{slug}": ANYONE,
    "PATCH /api/v1/campaigns/{slug}": STAFF,
    "GET /api/v1/campaigns/{slug}/offers": ANYONE,
    "POST /api/v1/campaigns/{slug}/offers": STAFF,
    "POST /api/v1/offers/{offer_id}/participations": ANYONE,
    "PATCH /api/v1/offers/{offer_id}": STAFF,
    "GET /api/v1/me": RESIDENT,
    "PATCH /api/v1/me": RESIDENT,
    "DELETE /api/v1/me": RESIDENT,
    "GET /api/v1/me/export": RESIDENT,
    "POST /api/v1/me/participations/{participation_id}/withdraw": RESIDENT,
    "POST /api/v1/me/participations/{participation_id}/decision": RESIDENT,
    "POST /api/v1/campaigns/{slug}/interests": ANYONE,
    "GET /api/v1/campaigns/{slug}/interests/summary": ANYONE,
    "GET /api/v1/contractors": STAFF,
    "POST /api/v1/contractors": STAFF,
    "GET /api/v1/campaigns/{slug}/households": STAFF,
    "GET /api/v1/audit": STAFF,
    "POST /api/v1/campaigns/{slug}/groups/suggest": STAFF,
    "GET /api/v1/campaigns/{slug}/groups": STAFF,
    "POST /api/v1/campaigns/{slug}/groups": STAFF,
    "GET /api/v1/groups/{group_id}": STAFF,
    "PATCH /api/v1/groups/{group_id}": STAFF,
    "POST /api/v1/groups/{group_id}/batches": STAFF,
    "GET /api/v1/campaigns/{slug}/stats": STAFF,
    "GET /api/v1/campaigns/{slug}/ocds": ANYONE,
    "GET /api/v1/contractor/batches": CONTRACTOR,
    "GET /api/v1/batches/{batch_id}.csv": STAFF_OR_CONTRACTOR,
    "POST /api/v1/participations/{participation_id}/status": STAFF_OR_CONTRACTOR,
    "POST /api/v1/groups/{group_id}/quote-requests": STAFF,
    "GET /api/v1/contractor/quote-requests": CONTRACTOR,
    "POST /api/v1/quote-requests/{quote_request_id}/quotes": CONTRACTOR,
    "GET /api/v1/quote-requests/{quote_request_id}/comparison": STAFF,
    "POST /api/v1/quotes/{quote_id}/accept": STAFF,
    "GET /api/v1/claims": STAFF,
    "POST /api/v1/claims/{claim_id}/confirm": STAFF,
    "POST /api/v1/claims/{claim_id}/reject": STAFF,
    "GET /api/v1/offers/{offer_id}/estimate": ANYONE,
    "GET /api/v1/savings-assumptions": STAFF,
    "POST /api/v1/savings-assumptions": STAFF,
    "PUT /api/v1/savings-assumptions/{assumption_id}": STAFF,
    "DELETE /api/v1/savings-assumptions/{assumption_id}": STAFF,
    "GET /api/v1/energy-factors": STAFF,
    "POST /api/v1/energy-factors": STAFF,
    "PUT /api/v1/energy-factors/{factor_id}": STAFF,
    "GET /api/v1/campaigns/{slug}/support-paths": ANYONE,
    "PUT /api/v1/campaigns/{slug}/support-paths/{profile}": STAFF,
}

LABELS = [
    f"{method.upper()} {path}"
    for path, methods in OPENAPI["paths"].items()
    for method in methods
    if method in {"get", "post", "put", "patch", "delete"}
]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
# Bounded for CI; raise it locally (WIJKWERF_ATTACK_EXAMPLES=200) for a deeper search.
EXAMPLES_PER_OPERATION = int(os.environ.get("WIJKWERF_ATTACK_EXAMPLES", "15"))


def real_path_parameters(world: World, label: str) -> dict[str, Any]:
    """Path parameters that point at objects that exist and belong to the caller."""
    known = {
        "slug": world.campaign.slug,
        "offer_id": world.offer.id,
        "group_id": world.group.id,
        "batch_id": world.batch.id,
        "quote_request_id": world.quote_request.id,
        "quote_id": world.quote.id,
        "assumption_id": world.savings_assumption,
        "factor_id": world.energy_factor,
        "profile": "cannot_but_will",
        # The resident's own sign-up for /me/...; the batch member's for status changes.
        "participation_id": (world.registered.id if "/me/" in label else world.assigned.id),
    }
    path = label.split(" ", 1)[1]
    return {name: value for name, value in known.items() if "{" + name + "}" in path}


def a_claim(session: Session, world: World) -> int:
    """A sign-up by someone else at the resident's address: a claim of the world's wijk."""
    resident = world.resident
    claim = signups.sign_up(session, world.offer.id, {  # type: ignore[arg-type]
        "name": "Iemand Anders", "email": "anders@example.be", "street": resident.street,
        "house_number": resident.house_number, "postcode": resident.postcode,
        "consent": "true"}).claim
    assert claim is not None and claim.id is not None
    return claim.id


def callers(world: World, session: Session, caller: str) -> list[dict[str, str]]:
    """The Authorization headers to call with: each role the operation is for."""
    if caller == STAFF:
        return [world.staff_headers(session)]
    if caller == STAFF_OR_CONTRACTOR:
        return [world.staff_headers(session), world.contractor_headers(session)]
    if caller == CONTRACTOR:
        return [world.contractor_headers(session)]
    if caller == RESIDENT:
        return [world.resident_headers(session)]
    return [{}]


def has_inputs(label: str) -> bool:
    """Whether the operation takes a body or query parameters that can be made invalid."""
    method, path = label.split(" ", 1)
    operation = OPENAPI["paths"][path][method.lower()]
    return "requestBody" in operation or any(
        parameter["in"] == "query" for parameter in operation.get("parameters", []))


@pytest.fixture
def stop_lifespans() -> Iterator[None]:
    """Schemathesis starts the app's lifespan once per app and keeps it; end it after the test."""
    yield
    schemathesis_asgi.shutdown_lifespans()


def test_every_operation_has_a_known_caller() -> None:
    assert sorted(LABELS) == sorted(CALLER)


def test_the_document_is_the_one_served_at_openapi_json(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == OPENAPI


@pytest.mark.parametrize("label", LABELS)
def test_generated_requests_get_no_500_and_answers_match_the_document(
    label: str, app: FastAPI, db_session: Session, stop_lifespans: None
) -> None:
    world = build_world(db_session)
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    real = real_path_parameters(world, label)
    if "{claim_id}" in label:
        real["claim_id"] = a_claim(db_session, world)
    strategies = []
    for headers in callers(world, db_session, CALLER[label]):
        # Valid requests about real objects, the same with generated path parameters, and
        # invalid bodies and query strings about real objects.
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real,
                                                headers=headers))
        if real:
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, headers=headers))
        if has_inputs(label):
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE,
                                                    path_parameters=real, headers=headers))
    statuses = run_cases(st.one_of(strategies), lambda case: case.call(app=app))
    # The tokens work: not everything was refused for who was calling.
    assert set(statuses) - {401, 403}, statuses


def run_cases(strategy: st.SearchStrategy[Any], call: Callable[[Any], Any]) -> list[int]:
    """Send what the strategy generates and check every answer; answers the status codes."""
    statuses: list[int] = []

    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
              deadline=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(case=strategy)
    def check(case: Any) -> None:
        response = call(case)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()
    return statuses
