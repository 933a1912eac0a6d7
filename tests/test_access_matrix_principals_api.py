"""The JSON API asked as every principal: anonymous, resident A and B (households of
organisation a's campaign, logged in by magic link), staff of organisation a and of b, the admin
of organisation a, and contractors 1 and 2 (both working for organisation a).

Each row is one request about one object; `expect` says what each principal gets (DESIGN.md):
401 without a token, 403 for a role the route is not for, 404 for another organisation's,
contractor's or household's object (never 403 there, so nothing tells that it exists), and the
success status for those it is for. Every answer is also checked for personal data of a
household the principal may not see. The world is built once for the module; every cell runs
in a savepoint that is rolled back. A route of the app without a row fails
`test_every_api_route_is_in_the_matrix`: adding a route means adding its rows here.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories import belgian_vat_number
from tests.support.world import (
    ADMIN,
    ANONYMOUS,
    CONTRACTOR_1,
    CONTRACTOR_2,
    NOBODY,
    NOT_IN_THE_MATRIX,
    ORGANISATION_STAFF,
    RESIDENT_A,
    RESIDENT_B,
    STAFF_A,
    STAFF_B,
    Cast,
    PrincipalsMatrix,
    Row,
    app_routes,
    assert_no_foreign_data,
    cells,
    everyone,
    for_comparison,
    for_contractors,
    for_residents,
    for_staff,
    for_staff_and_contractor,
    is_api_route,
    route_of,
)


@pytest.fixture(scope="module")
def matrix(engine: Engine) -> Iterator[PrincipalsMatrix]:
    built = PrincipalsMatrix(engine)
    yield built
    built.close()


# --- bodies ---------------------------------------------------------------------------------

FUTURE = (date.today() + timedelta(days=30)).isoformat() + "T12:00:00+01:00"
QUOTE = {"lines": [{"description": "Dakisolatie", "quantity": 60, "unit": "m2",
                    "unit_price_cents": 4400}],
         "vat_rate": 6, "valid_until": (date.today() + timedelta(days=60)).isoformat(),
         "lead_time_weeks": 6, "warranty_years": 10, "notes": ""}
CAMPAIGN = {"slug": "matrixwijk", "name": "Matrixwijk", "municipality": "Brugge",
            "postcodes": ["8000"]}
CONTRACTOR = {"name": "Dak NV", "vat_number": belgian_vat_number(4242),
              "email": "dak@example.be"}
SIGN_UP = {"household": {"name": "Nieuwe Buur", "email": "nieuwe.buur@example.be",
                         "street": "Vuurtorenstraat", "house_number": "99", "postcode": "8400"},
           "quantity": 30, "consent": True}
INTERESTS = {"postcode": "8400", "street": "Kerkstraat",
             "answers": [{"measure": "solar_pv", "horizon": "1y"}]}


SAVINGS_ASSUMPTION = {"measure": "facade_insulation", "kwh_per_unit_year": 60,
                      "valid_from": "2026-01-01", "source_url": "https://example.be/gevel"}
SUPPORT_PATH = {"title": "Hulp bij betalen", "summary": "Samen zoeken.",
                "steps": [{"kind": "loan", "title": "Mijn VerbouwLening"}]}
ENERGY_FACTOR = {"price_cents_per_mwh": 11_000, "co2_grams_per_kwh": 202,
                 "valid_from": "2026-01-01"}


def offer_body(cast: Cast, org: str) -> dict[str, Any]:
    return {"measure": "window_frames", "title": "Ramen", "unit": "piece",
            "contractor_id": cast.side(org).contractor_id,
            "price_tiers": [{"min_participants": 0, "unit_price_cents": 80000}],
            "vat_rate": 6, "capacity": 10, "signup_opens_at": "2026-02-01T00:00:00+01:00",
            "signup_closes_at": "2026-06-30T23:59:59+02:00"}


# --- the rows -------------------------------------------------------------------------------

def public_rows() -> list[Row]:
    """Routes for anyone: the same answer whoever asks; drafts are nobody's public page."""
    rows = [
        Row("GET /healthz", "anyone", lambda w: "/healthz", everyone(200)),
        # The operator's, behind METRICS_TOKEN (unset here): no user's token opens it.
        Row("GET /metrics", "the metrics token only", lambda w: "/metrics", everyone(404)),
        Row("GET /api/v1/campaigns", "anyone", lambda w: "/api/v1/campaigns", everyone(200)),
        Row("POST /api/v1/auth/logout", "the presented token",
            lambda w: "/api/v1/auth/logout", everyone(204, **{ANONYMOUS: 401})),
        Row("POST /api/v1/auth/resident-link", "known address",
            lambda w: "/api/v1/auth/resident-link", everyone(202),
            lambda w, p: {"email": w.a.personal[w.a.home_1][1]}),
        Row("POST /api/v1/auth/resident-link", "unknown address",
            lambda w: "/api/v1/auth/resident-link", everyone(202),
            lambda w, p: {"email": "niemand@example.be"}),
    ]
    for org in ("a", "b"):
        rows += campaign_read_rows(org)
    return rows


def campaign_read_rows(org: str) -> list[Row]:
    def side(w: Cast) -> Any:
        return w.side(org)

    open_, draft = f"open, org {org}", f"draft, org {org}"
    # A draft is shown to its own organisation's staff only.
    draft_visible = everyone(404) | dict.fromkeys(ORGANISATION_STAFF[org], 200)
    return [
        Row("GET /api/v1/campaigns/{slug}", open_,
            lambda w: f"/api/v1/campaigns/{side(w).slug}", everyone(200)),
        Row("GET /api/v1/campaigns/{slug}", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}", draft_visible),
        Row("GET /api/v1/campaigns/{slug}/offers", open_,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/offers", everyone(200)),
        Row("GET /api/v1/campaigns/{slug}/offers", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}/offers", everyone(404)),
        Row("POST /api/v1/offers/{offer_id}/participations", open_,
            lambda w: f"/api/v1/offers/{side(w).offer_id}/participations", everyone(201),
            lambda w, p: SIGN_UP),
        Row("POST /api/v1/offers/{offer_id}/participations", draft,
            lambda w: f"/api/v1/offers/{side(w).draft_offer_id}/participations", everyone(404),
            lambda w, p: SIGN_UP),
        Row("POST /api/v1/campaigns/{slug}/interests", open_,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/interests", everyone(201),
            lambda w, p: INTERESTS),
        Row("POST /api/v1/campaigns/{slug}/interests", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}/interests", everyone(404),
            lambda w, p: INTERESTS),
        Row("GET /api/v1/campaigns/{slug}/support-paths", open_,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/support-paths", everyone(200)),
        Row("GET /api/v1/campaigns/{slug}/support-paths", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}/support-paths", everyone(404)),
        Row("GET /api/v1/offers/{offer_id}/estimate", open_,
            lambda w: f"/api/v1/offers/{side(w).offer_id}/estimate?quantity=40"
                      "&income_category=2&build_year=1962", everyone(200)),
        Row("GET /api/v1/offers/{offer_id}/estimate", draft,
            lambda w: f"/api/v1/offers/{side(w).draft_offer_id}/estimate?quantity=40",
            everyone(404)),
        Row("GET /api/v1/campaigns/{slug}/interests/summary", open_,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/interests/summary", everyone(200)),
        Row("GET /api/v1/campaigns/{slug}/interests/summary", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}/interests/summary",
            everyone(404)),
        Row("GET /api/v1/campaigns/{slug}/ocds", open_,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/ocds", everyone(200)),
        Row("GET /api/v1/campaigns/{slug}/ocds", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}/ocds", everyone(404)),
    ]


def plain_staff_rows() -> list[Row]:
    """Staff routes about the caller's own organisation as a whole (lists, creating)."""
    return [
        Row("POST /api/v1/campaigns", "create in own organisation",
            lambda w: "/api/v1/campaigns", for_staff(201), lambda w, p: CAMPAIGN),
        Row("GET /api/v1/contractors", "own organisation's",
            lambda w: "/api/v1/contractors", for_staff(200)),
        Row("POST /api/v1/contractors", "create in own organisation",
            lambda w: "/api/v1/contractors", for_staff(201), lambda w, p: CONTRACTOR),
        Row("GET /api/v1/audit", "own organisation's", lambda w: "/api/v1/audit",
            for_staff(200)),
        Row("GET /api/v1/claims", "own organisation's", lambda w: "/api/v1/claims",
            for_staff(200)),
        Row("GET /api/v1/claims", "of another organisation's campaign",
            lambda w: f"/api/v1/claims?campaign={w.b.slug}", for_staff(200)),
        Row("GET /api/v1/audit", "filtered on another organisation's household",
            lambda w: f"/api/v1/audit?household_id={w.b.home_1}", for_staff(200)),
        Row("GET /api/v1/savings-assumptions", "shared and own organisation's",
            lambda w: "/api/v1/savings-assumptions", for_staff(200)),
        Row("POST /api/v1/savings-assumptions", "create in own organisation",
            lambda w: "/api/v1/savings-assumptions", for_staff(201),
            lambda w, p: SAVINGS_ASSUMPTION),
        Row("GET /api/v1/energy-factors", "shared and own organisation's",
            lambda w: "/api/v1/energy-factors", for_staff(200)),
        Row("POST /api/v1/energy-factors", "create in own organisation",
            lambda w: "/api/v1/energy-factors", for_staff(201), lambda w, p: ENERGY_FACTOR),
    ]


def staff_object_rows(org: str) -> list[Row]:
    """Staff routes about one object of organisation `org`."""
    def side(w: Cast) -> Any:
        return w.side(org)

    label, draft = f"org {org}", f"draft, org {org}"
    return [
        Row("PATCH /api/v1/campaigns/{slug}", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}", for_staff(200, org=org),
            lambda w, p: {"name": "Andere naam"}),
        Row("PATCH /api/v1/campaigns/{slug}", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}", for_staff(200, org=org),
            lambda w, p: {"description": "Nog niet gepubliceerd."}),
        Row("POST /api/v1/campaigns/{slug}/offers", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/offers", for_staff(201, org=org),
            lambda w, p: offer_body(w, org)),
        Row("POST /api/v1/campaigns/{slug}/offers", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}/offers", for_staff(201, org=org),
            lambda w, p: offer_body(w, org)),
        Row("PATCH /api/v1/offers/{offer_id}", label,
            lambda w: f"/api/v1/offers/{side(w).offer_id}", for_staff(200, org=org),
            lambda w, p: {"title": "Nieuwe titel"}),
        Row("PATCH /api/v1/offers/{offer_id}", draft,
            lambda w: f"/api/v1/offers/{side(w).draft_offer_id}", for_staff(200, org=org),
            lambda w, p: {"title": "Nieuwe titel"}),
        Row("GET /api/v1/campaigns/{slug}/households", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/households", for_staff(200, org=org)),
        Row("GET /api/v1/campaigns/{slug}/households", f"search, org {org}",
            lambda w: f"/api/v1/campaigns/{side(w).slug}/households?q=a",
            for_staff(200, org=org)),
        Row("GET /api/v1/campaigns/{slug}/households", draft,
            lambda w: f"/api/v1/campaigns/{side(w).draft_slug}/households",
            for_staff(200, org=org)),
        Row("GET /api/v1/campaigns/{slug}/stats", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/stats", for_staff(200, org=org)),
        Row("POST /api/v1/campaigns/{slug}/groups/suggest", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/groups/suggest",
            for_staff(200, org=org),
            lambda w, p: {"by": ["street"], "min_size": 1, "max_size": 10,
                          "offer_id": w.side(org).offer_id}),
        Row("GET /api/v1/campaigns/{slug}/groups", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/groups", for_staff(200, org=org)),
        Row("POST /api/v1/campaigns/{slug}/groups", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/groups", for_staff(201, org=org),
            lambda w, p: {"name": "Nieuwe groep", "kind": "framework",
                          "offer_id": w.side(org).offer_id,
                          "household_ids": [w.side(org).home_2]}),
        Row("GET /api/v1/groups/{group_id}", label,
            lambda w: f"/api/v1/groups/{side(w).group_main}", for_staff(200, org=org)),
        Row("PATCH /api/v1/groups/{group_id}", label,
            lambda w: f"/api/v1/groups/{side(w).quote_group}", for_staff(200, org=org),
            lambda w, p: {"name": "Daken noord", "add_household_ids": [w.side(org).home_2]}),
        Row("POST /api/v1/groups/{group_id}/batches", label,
            lambda w: f"/api/v1/groups/{side(w).group_main}/batches", for_staff(201, org=org),
            lambda w, p: {"contractor_id": w.side(org).second_contractor_id}),
        Row("POST /api/v1/groups/{group_id}/quote-requests", label,
            lambda w: f"/api/v1/groups/{side(w).quote_group}/quote-requests",
            for_staff(201, org=org),
            lambda w, p: {"measure": "roof_insulation", "deadline": FUTURE,
                          "contractor_ids": [w.side(org).contractor_id]}),
        Row("POST /api/v1/quotes/{quote_id}/accept", label,
            lambda w: f"/api/v1/quotes/{side(w).quote}/accept", for_staff(200, org=org)),
        Row("POST /api/v1/claims/{claim_id}/confirm", label,
            lambda w: f"/api/v1/claims/{side(w).claim}/confirm", for_staff(200, org=org),
            lambda w, p: {"note": "Gebeld: de dochter schreef in."}),
        Row("PUT /api/v1/campaigns/{slug}/support-paths/{profile}", label,
            lambda w: f"/api/v1/campaigns/{side(w).slug}/support-paths/cannot_but_will",
            for_staff(200, org=org), lambda w, p: SUPPORT_PATH),
        Row("PUT /api/v1/savings-assumptions/{assumption_id}", label,
            lambda w: f"/api/v1/savings-assumptions/{side(w).savings_assumption}",
            for_staff(200, org=org), lambda w, p: SAVINGS_ASSUMPTION),
        Row("DELETE /api/v1/savings-assumptions/{assumption_id}", label,
            lambda w: f"/api/v1/savings-assumptions/{side(w).savings_assumption}",
            for_staff(204, org=org)),
        Row("PUT /api/v1/energy-factors/{factor_id}", label,
            lambda w: f"/api/v1/energy-factors/{side(w).energy_factor}",
            for_staff(200, org=org), lambda w, p: ENERGY_FACTOR),
        Row("POST /api/v1/claims/{claim_id}/reject", label,
            lambda w: f"/api/v1/claims/{side(w).claim}/reject", for_staff(200, org=org),
            lambda w, p: {"note": "Gebeld: niemand van het gezin."}),
    ]


def mixed_object_rows() -> list[Row]:
    """A request that names objects of both organisations: refused as a whole."""
    return [
        Row("POST /api/v1/campaigns/{slug}/groups", "org a's campaign, org b's household",
            lambda w: f"/api/v1/campaigns/{w.a.slug}/groups",
            for_staff(422, org="a") | {STAFF_B: 404},
            lambda w, p: {"name": "Gemengd", "kind": "framework", "offer_id": w.a.offer_id,
                          "household_ids": [w.b.home_2]}),
        Row("PATCH /api/v1/groups/{group_id}", "org a's group, org b's household",
            lambda w: f"/api/v1/groups/{w.a.quote_group}",
            for_staff(422, org="a") | {STAFF_B: 404},
            lambda w, p: {"add_household_ids": [w.b.home_2]}),
        Row("POST /api/v1/groups/{group_id}/batches", "org a's group, org b's contractor",
            lambda w: f"/api/v1/groups/{w.a.group_main}/batches",
            for_staff(422, org="a") | {STAFF_B: 404},
            lambda w, p: {"contractor_id": w.b.contractor_id}),
        Row("POST /api/v1/campaigns/{slug}/offers", "org a's campaign, org b's contractor",
            lambda w: f"/api/v1/campaigns/{w.a.slug}/offers",
            for_staff(422, org="a") | {STAFF_B: 404},
            lambda w, p: offer_body(w, "b")),
        Row("POST /api/v1/groups/{group_id}/quote-requests", "org a's group, org b's contractor",
            lambda w: f"/api/v1/groups/{w.a.quote_group}/quote-requests",
            for_staff(422, org="a") | {STAFF_B: 404},
            lambda w, p: {"measure": "roof_insulation", "deadline": FUTURE,
                          "contractor_ids": [w.b.contractor_id]}),
    ]


def batch_rows() -> list[Row]:
    """Batches and the sign-ups in them: staff of the organisation and the batch's contractor."""
    return [
        Row("GET /api/v1/contractor/batches", "own", lambda w: "/api/v1/contractor/batches",
            for_contractors(200)),
        Row("GET /api/v1/batches/{batch_id}.csv", "contractor 1's, org a",
            lambda w: f"/api/v1/batches/{w.a.batch_main}.csv",
            for_staff_and_contractor(200, org="a", contractor=CONTRACTOR_1)),
        Row("GET /api/v1/batches/{batch_id}.csv", "contractor 2's, org a",
            lambda w: f"/api/v1/batches/{w.a.batch_second}.csv",
            for_staff_and_contractor(200, org="a", contractor=CONTRACTOR_2)),
        Row("GET /api/v1/batches/{batch_id}.csv", "org b's",
            lambda w: f"/api/v1/batches/{w.b.batch_main}.csv",
            for_staff_and_contractor(200, org="b", contractor=NOBODY)),
        Row("POST /api/v1/participations/{participation_id}/status", "in contractor 1's batch",
            lambda w: f"/api/v1/participations/{w.a.assigned_main}/status",
            for_staff_and_contractor(200, org="a", contractor=CONTRACTOR_1),
            lambda w, p: {"status": "visit_planned", "note": "",
                          "occurred_on": date.today().isoformat()}),
        Row("POST /api/v1/participations/{participation_id}/status", "in contractor 2's batch",
            lambda w: f"/api/v1/participations/{w.a.assigned_second}/status",
            for_staff_and_contractor(200, org="a", contractor=CONTRACTOR_2),
            lambda w, p: {"status": "visit_planned", "note": ""}),
        Row("POST /api/v1/participations/{participation_id}/status", "in org b's batch",
            lambda w: f"/api/v1/participations/{w.b.assigned_main}/status",
            for_staff_and_contractor(200, org="b", contractor=NOBODY),
            lambda w, p: {"status": "visit_planned", "note": ""}),
        Row("POST /api/v1/participations/{participation_id}/status",
            "resident A's sign-up, in no batch",
            lambda w: f"/api/v1/participations/{w.a.signup_1}/status",
            for_staff_and_contractor(200, org="a", contractor=NOBODY),
            lambda w, p: {"status": "cancelled", "note": "Op vraag van de bewoner"}),
    ]


def quote_rows() -> list[Row]:
    return [
        Row("GET /api/v1/contractor/quote-requests", "own",
            lambda w: "/api/v1/contractor/quote-requests", for_contractors(200)),
        Row("POST /api/v1/quote-requests/{quote_request_id}/quotes", "contractor 1 invited",
            lambda w: f"/api/v1/quote-requests/{w.a.quote_request}/quotes",
            for_contractors(200, owner=CONTRACTOR_1), lambda w, p: QUOTE),
        Row("POST /api/v1/quote-requests/{quote_request_id}/quotes", "contractor 2 invited",
            lambda w: f"/api/v1/quote-requests/{w.a.second_quote_request}/quotes",
            for_contractors(201, owner=CONTRACTOR_2), lambda w, p: QUOTE),
        Row("POST /api/v1/quote-requests/{quote_request_id}/quotes", "org b's",
            lambda w: f"/api/v1/quote-requests/{w.b.quote_request}/quotes",
            for_contractors(201, owner=NOBODY), lambda w, p: QUOTE),
        Row("GET /api/v1/quote-requests/{quote_request_id}/comparison",
            "org a's, resident A's group",
            lambda w: f"/api/v1/quote-requests/{w.a.quote_request}/comparison",
            for_comparison(org="a", member=RESIDENT_A)),
        Row("GET /api/v1/quote-requests/{quote_request_id}/comparison", "org b's",
            lambda w: f"/api/v1/quote-requests/{w.b.quote_request}/comparison",
            for_comparison(org="b", member=NOBODY)),
    ]


def resident_rows() -> list[Row]:
    """/me is always the caller's own household; sign-ups by id are the owner's only."""
    def own_details(w: Cast, principal: str) -> dict[str, Any]:
        return {"phone": "+32470999999", "share_contact_with_contractor": False}

    return [
        Row("GET /api/v1/me", "own household", lambda w: "/api/v1/me", for_residents(200)),
        Row("PATCH /api/v1/me", "own household", lambda w: "/api/v1/me", for_residents(200),
            own_details),
        Row("GET /api/v1/me/export", "own household", lambda w: "/api/v1/me/export",
            for_residents(200)),
        Row("DELETE /api/v1/me", "own household", lambda w: "/api/v1/me", for_residents(204)),
        Row("POST /api/v1/me/participations/{participation_id}/withdraw", "resident A's",
            lambda w: f"/api/v1/me/participations/{w.a.signup_1}/withdraw",
            for_residents(200, owner=RESIDENT_A)),
        Row("POST /api/v1/me/participations/{participation_id}/withdraw", "resident B's",
            lambda w: f"/api/v1/me/participations/{w.a.signup_2}/withdraw",
            for_residents(200, owner=RESIDENT_B)),
        Row("POST /api/v1/me/participations/{participation_id}/withdraw",
            "another household's, in a batch",
            lambda w: f"/api/v1/me/participations/{w.a.assigned_main}/withdraw",
            for_residents(200, owner=NOBODY)),
        Row("POST /api/v1/me/participations/{participation_id}/decision", "resident A's offer",
            lambda w: f"/api/v1/me/participations/{w.a.offered_1}/decision",
            for_residents(200, owner=RESIDENT_A), lambda w, p: {"decision": "accept"}),
        Row("POST /api/v1/me/participations/{participation_id}/decision", "org b's offer",
            lambda w: f"/api/v1/me/participations/{w.b.offered_1}/decision",
            for_residents(200, owner=NOBODY), lambda w, p: {"decision": "decline"}),
    ]


ROWS = (public_rows() + plain_staff_rows() + staff_object_rows("a") + staff_object_rows("b")
        + mixed_object_rows() + batch_rows() + quote_rows() + resident_rows())


@pytest.mark.parametrize(("row", "principal"), cells(ROWS))
def test_api_answers_each_principal_as_designed(matrix: PrincipalsMatrix, row: Row,
                                                principal: str) -> None:
    cast = matrix.cast
    url = row.url(cast)
    with matrix.cell():
        response = matrix.api(principal, row.method, url,
                              row.body(cast, principal) if row.body else None)
    assert response.status_code == row.expect[principal], (
        f"{row.method} {url} as {principal}: {response.status_code} {response.text[:300]}")
    assert_no_foreign_data(cast, principal, row, response)


# --- what lists show ------------------------------------------------------------------------

def _ids(answer: Any) -> list[int]:
    items = answer["items"] if isinstance(answer, dict) else answer
    return sorted(item["id"] for item in items)



LISTS = [
    # (principal, url, what the answer's ids/slugs must be, given the cast)
    (ANONYMOUS, "/api/v1/campaigns", lambda w: sorted([w.a.slug, w.b.slug])),
    (RESIDENT_A, "/api/v1/campaigns", lambda w: sorted([w.a.slug, w.b.slug])),
    (CONTRACTOR_1, "/api/v1/campaigns", lambda w: sorted([w.a.slug, w.b.slug])),
    (STAFF_A, "/api/v1/campaigns", lambda w: sorted([w.a.slug, w.a.draft_slug, w.b.slug])),
    (ADMIN, "/api/v1/campaigns", lambda w: sorted([w.a.slug, w.a.draft_slug, w.b.slug])),
    (STAFF_B, "/api/v1/campaigns", lambda w: sorted([w.a.slug, w.b.slug, w.b.draft_slug])),
    (STAFF_A, "/api/v1/contractors",
     lambda w: sorted([w.a.contractor_id, w.a.second_contractor_id])),
    (ADMIN, "/api/v1/contractors",
     lambda w: sorted([w.a.contractor_id, w.a.second_contractor_id])),
    (STAFF_B, "/api/v1/contractors",
     lambda w: sorted([w.b.contractor_id, w.b.second_contractor_id])),
    (STAFF_A, "/api/v1/campaigns/{a.slug}/households", lambda w: sorted(w.a.personal)),
    (ADMIN, "/api/v1/campaigns/{a.slug}/households", lambda w: sorted(w.a.personal)),
    (STAFF_B, "/api/v1/campaigns/{b.slug}/households", lambda w: sorted(w.b.personal)),
    (CONTRACTOR_1, "/api/v1/contractor/batches", lambda w: [w.a.batch_main]),
    (CONTRACTOR_2, "/api/v1/contractor/batches", lambda w: [w.a.batch_second]),
    (CONTRACTOR_1, "/api/v1/contractor/quote-requests", lambda w: [w.a.quote_request]),
    (CONTRACTOR_2, "/api/v1/contractor/quote-requests", lambda w: [w.a.second_quote_request]),
    (STAFF_A, "/api/v1/claims", lambda w: [w.a.claim]),
    (ADMIN, "/api/v1/claims", lambda w: [w.a.claim]),
    (STAFF_B, "/api/v1/claims", lambda w: [w.b.claim]),
    (STAFF_A, "/api/v1/claims?campaign={b.slug}", lambda w: []),
    (STAFF_A, "/api/v1/campaigns/{a.slug}/groups",
     lambda w: sorted([w.a.group_main, w.a.group_second, w.a.quote_group, w.a.spare_group])),
]


@pytest.mark.parametrize(("principal", "url", "expected"), LISTS,
                         ids=[f"{u} as {p}" for p, u, _ in LISTS])
def test_api_lists_show_exactly_the_callers_own(matrix: PrincipalsMatrix, principal: str,
                                                url: str, expected: Any) -> None:
    cast = matrix.cast
    with matrix.cell():
        response = matrix.api(principal, "GET", url.format(a=cast.a, b=cast.b))
    assert response.status_code == 200, response.text
    answer = response.json()
    if url == "/api/v1/campaigns":
        assert sorted(c["slug"] for c in answer) == expected(cast)
    else:
        assert _ids(answer) == expected(cast)


def test_api_audit_log_shows_only_the_own_organisations_events(
    matrix: PrincipalsMatrix,
) -> None:
    """Staff of b read org a's households (refused, and logged for org a); then org a's log has
    that refusal and org b's log has nothing about org a."""
    cast = matrix.cast
    with matrix.cell():
        refused = matrix.api(STAFF_B, "GET", f"/api/v1/campaigns/{cast.a.slug}/households")
        own_log = matrix.api(STAFF_A, "GET", "/api/v1/audit?outcome=denied").json()
        admin_log = matrix.api(ADMIN, "GET", "/api/v1/audit?outcome=denied").json()
        other_log = matrix.api(STAFF_B, "GET", "/api/v1/audit?outcome=denied").json()
    assert refused.status_code == 404
    assert [item["actor_user_id"] for item in own_log["items"]] == [cast.b.staff_id]
    assert [item["actor_user_id"] for item in admin_log["items"]] == [cast.b.staff_id]
    assert other_log["total"] == 0


# --- every route is classified --------------------------------------------------------------

def test_every_api_route_is_in_the_matrix(matrix: PrincipalsMatrix) -> None:
    """A new API route fails here until it has rows in ROWS (or a reason in
    NOT_IN_THE_MATRIX)."""
    covered = {row.route for row in ROWS} | set(NOT_IN_THE_MATRIX)
    routes = {route for route in app_routes(matrix.app) if is_api_route(route)}
    assert sorted(routes - covered) == [], "API routes without rows in the matrix"
    assert sorted({row.route for row in ROWS} - routes) == [], "rows for routes that are gone"


def test_every_row_reaches_the_route_it_names(matrix: PrincipalsMatrix) -> None:
    wrong = {row.id: route_of(matrix.app, row.method, row.url(matrix.cast)) for row in ROWS}
    assert {row_id: reached for row_id, reached in wrong.items()
            if reached != row_id.rsplit(" [", 1)[0]} == {}

