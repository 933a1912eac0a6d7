"""Every HTML page and form asked as every principal: anonymous, resident A and B (households of
organisation a's campaign, logged in by magic link), staff of organisation a and of b, the admin
of organisation a, and contractors 1 and 2 (both working for organisation a).

Each row is one request about one object; `expect` says what each principal gets (DESIGN.md):
a redirect to the log-in page (LOGIN, or LINK for residents' pages) when not logged in, 403 for
a role the page is not for, 404 for another organisation's, contractor's or household's object
(never 403 there), and the page (200) or the redirect after a saved form (303) for those it is
for. POSTs carry a valid CSRF token and a valid form, so a refusal is the access rule's, not the
form's. Every answer is also checked for personal data of a household the principal may not see.
The world is built once for the module; every cell runs in a savepoint that is rolled back. A
page of the app without a row fails `test_every_page_is_in_the_matrix`.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories import DEFAULT_PASSWORD, belgian_vat_number
from tests.support.world import (
    ADMIN,
    ANONYMOUS,
    CONTRACTOR_1,
    CONTRACTOR_2,
    CONTRACTORS,
    LINK,
    LOGIN,
    NOBODY,
    NOT_IN_THE_MATRIX,
    RESIDENT_A,
    RESIDENT_B,
    RESIDENTS,
    STAFF_A,
    STAFF_AND_ADMIN,
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
    is_api_route,
    page_outcome,
    route_of,
)


@pytest.fixture(scope="module")
def matrix(engine: Engine) -> Iterator[PrincipalsMatrix]:
    built = PrincipalsMatrix(engine)
    yield built
    built.close()


def staff(ok: int, org: str | None = None) -> dict[str, int | str]:
    return for_staff(ok, org=org, anonymous=LOGIN)


def contractor(ok: int, owner: str | None = None) -> dict[str, int | str]:
    return for_contractors(ok, owner=owner, anonymous=LOGIN)


def resident(ok: int, owner: str | None = None) -> dict[str, int | str]:
    return for_residents(ok, owner=owner, anonymous=LINK)


# --- forms (valid ones: a refusal must come from the access rule) ----------------------------

IN_A_MONTH = (date.today() + timedelta(days=30)).isoformat()


def campaign_form(cast: Cast, org: str, *, draft: bool = False) -> dict[str, str]:
    side = cast.side(org)
    return {"slug": side.draft_slug if draft else side.slug, "name": "Andere naam",
            "municipality": "Oostende", "description": "Samen isoleren.", "postcodes": "8400",
            "streets": "", "starts_on": "2026-01-01", "ends_on": "2030-12-31",
            "status": "draft" if draft else "open"}


NEW_CAMPAIGN = {"slug": "matrixwijk", "name": "Matrixwijk", "municipality": "Brugge",
                "description": "", "postcodes": "8000", "streets": "",
                "starts_on": "2026-01-01", "ends_on": "2027-12-31", "status": "draft"}


def offer_form(cast: Cast, org: str) -> dict[str, str]:
    return {"measure": "facade_insulation", "title": "Buitengevelisolatie", "description": "",
            "lot": "1", "procurement_reference": "2026/MATRIX/001", "unit": "m2",
            "vat_rate": "6", "capacity": "60", "signup_opens_at": "2026-01-01T00:00",
            "signup_closes_at": "2030-06-30T23:59",
            "contractor_id": str(cast.side(org).contractor_id),
            "price_tiers-0-min_participants": "0", "price_tiers-0-unit_price": "120,00",
            "price_tiers-1-min_participants": "25", "price_tiers-1-unit_price": "108,00",
            "price_tiers-2-min_participants": "50", "price_tiers-2-unit_price": "98,00",
            "confirm": "true"}


def intake_form(cast: Cast, org: str) -> dict[str, str]:
    return {"offer_id": str(cast.side(org).offer_id), "name": "Greet Vanhee", "email": "",
            "phone": "0470 11 22 33", "street": "Kievitstraat", "house_number": "7",
            "postcode": "8400", "consent": "true"}


CONTRACTOR_FORM = {"name": "Dak NV", "vat_number": belgian_vat_number(4343),
                   "email": "dak@example.be", "phone": "050 12 34 56"}
PREMIUM_FORM = {"measure": "roof_insulation", "income_category": "cat1", "kind": "percentage",
                "rate": "20", "cap": "", "valid_from": "2026-01-01", "valid_to": "",
                "source_url": "https://example.be/premies/nieuw", "is_example": ""}
SIGN_UP_FORM = {"name": "Nieuwe Buur", "email": "nieuwe.buur@example.be",
                "street": "Vuurtorenstraat", "house_number": "99", "postcode": "8400",
                "quantity": "30", "consent": "true"}
KLIMAATTAFEL_FORM = {"postcode": "8400", "street": "Kerkstraat", "solar_pv": "1y"}
QUOTE_FORM = {"vat_rate": "6", "valid_until": (date.today() + timedelta(days=60)).isoformat(),
              "lead_time_weeks": "6", "warranty_years": "10", "notes": "",
              "description": ["Dakisolatie"], "quantity": ["60"], "unit": ["m2"],
              "unit_price": ["44,00"]}


SAVINGS_FORM = {"measure": "facade_insulation", "dwelling_type": "", "kwh_per_unit_year": "60",
                "valid_from": "2026-01-01", "source_url": "https://example.be/gevel"}
ENERGY_FORM = {"energy_price": "11000", "energy_co2": "202", "energy_valid_from": "2026-01-01"}


def details_form(cast: Cast, principal: str) -> dict[str, str]:
    """The resident's own details with a new phone number (other principals send A's)."""
    org_side = cast.a
    household = cast.households.get(principal, org_side.home_1)
    name, email, _phone = cast.personal()[household]
    number = "1" if household == org_side.home_1 else "3"
    return {"name": name, "email": email, "phone": "0470 99 99 99", "street": "Zeedijk",
            "house_number": number, "box": "", "postcode": "8400"}


# --- the rows -------------------------------------------------------------------------------

def public_rows(org: str) -> list[Row]:
    """Public pages answer everyone alike; a draft campaign is nobody's public page, and an
    offer is only found under its own campaign."""
    def side(w: Cast) -> Any:
        return w.side(org)

    open_, draft = f"open, org {org}", f"draft, org {org}"
    other = "b" if org == "a" else "a"
    rows = []
    for label, slug, offer in ((open_, "slug", "offer_id"), (draft, "draft_slug",
                                                             "draft_offer_id")):
        ok = 200 if label == open_ else 404
        saved = 303 if label == open_ else 404

        def base(w: Cast, slug: str = slug) -> str:
            return f"/wijken/{getattr(side(w), slug)}"

        def offer_url(w: Cast, slug: str = slug, offer: str = offer) -> str:
            return f"/wijken/{getattr(side(w), slug)}/aanbod/{getattr(side(w), offer)}"

        rows += [
            Row("GET /wijken/{slug}", label, base, everyone(ok)),
            Row("GET /wijken/{slug}/tellers", label, lambda w, b=base: f"{b(w)}/tellers",
                everyone(ok)),
            Row("GET /wijken/{slug}/klimaattafel", label,
                lambda w, b=base: f"{b(w)}/klimaattafel", everyone(ok)),
            Row("POST /wijken/{slug}/klimaattafel", label,
                lambda w, b=base: f"{b(w)}/klimaattafel", everyone(saved),
                lambda w, p: KLIMAATTAFEL_FORM),
            Row("GET /wijken/{slug}/aanbod/{offer_id}", label, offer_url, everyone(ok)),
            Row("POST /wijken/{slug}/aanbod/{offer_id}", label, offer_url, everyone(saved),
                lambda w, p: SIGN_UP_FORM),
            Row("POST /wijken/{slug}/aanbod/{offer_id}/controle", label,
                lambda w, o=offer_url: f"{o(w)}/controle", everyone(ok),
                lambda w, p: SIGN_UP_FORM),
            Row("GET /wijken/{slug}/aanbod/{offer_id}/tellers", label,
                lambda w, o=offer_url: f"{o(w)}/tellers", everyone(ok)),
            Row("GET /wijken/{slug}/aanbod/{offer_id}/schatting", label,
                lambda w, o=offer_url: f"{o(w)}/schatting?quantity=40", everyone(ok)),
        ]
    rows += [
        Row("GET /wijken/{slug}/aanbod/{offer_id}/bedankt", open_,
            lambda w: side(w).confirmation_url, everyone(200)),
        Row("GET /wijken/{slug}/aanbod/{offer_id}", f"org {other}'s offer under org {org}'s wijk",
            lambda w: f"/wijken/{side(w).slug}/aanbod/{w.side(other).offer_id}", everyone(404)),
        Row("GET /wijken/{slug}/aanbod/{offer_id}/bedankt",
            f"org {other}'s confirmation under org {org}'s offer",
            lambda w: f"/wijken/{side(w).slug}/aanbod/{side(w).offer_id}/bedankt?"
                      + w.side(other).confirmation_url.split("?", 1)[1], everyone(404)),
    ]
    return rows


def plain_rows() -> list[Row]:
    """Pages for anyone or for a role as a whole."""
    logged_in_users = dict.fromkeys((*STAFF_AND_ADMIN, *CONTRACTORS), 303)
    return [
        Row("GET /", "anyone", lambda w: "/", everyone(200)),
        Row("GET /privacy", "anyone", lambda w: "/privacy", everyone(200)),
        # Logged-in staff and contractors are sent on to their start page.
        Row("GET /login", "anyone", lambda w: "/login", everyone(200) | logged_in_users),
        Row("POST /logout", "anyone", lambda w: "/logout", everyone(303)),
        Row("GET /mijn/link", "anyone", lambda w: "/mijn/link", everyone(200)),
        Row("POST /mijn/link", "anyone", lambda w: "/mijn/link", everyone(200),
            lambda w, p: {"email": "niemand@example.be"}),
        Row("GET /mijn/gewist", "anyone", lambda w: "/mijn/gewist", everyone(200)),
        Row("GET /account", "own account", lambda w: "/account",
            for_staff(200, anonymous=LOGIN) | dict.fromkeys(CONTRACTORS, 200)),
        Row("POST /account/totp", "own account, a wrong code", lambda w: "/account/totp",
            for_staff(422, anonymous=LOGIN) | dict.fromkeys(CONTRACTORS, 422),
            lambda w, p: {"code": "000000", "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}),
        Row("POST /account/wachtwoord", "own account", lambda w: "/account/wachtwoord",
            for_staff(303, anonymous=LOGIN) | dict.fromkeys(CONTRACTORS, 303),
            lambda w, p: {"current_password": DEFAULT_PASSWORD,
                          "new_password": "een nieuw en lang wachtwoord"}),
        # A session or token is ended only by its own user: staff of a's bearer token here.
        Row("POST /account/sessies/{session_id}/intrekken", "staff of a's token",
            lambda w: f"/account/sessies/{w.api_session_ids[STAFF_A]}/intrekken",
            {**for_staff(404, anonymous=LOGIN), STAFF_A: 303, **dict.fromkeys(CONTRACTORS, 404)}),
        Row("GET /beheer", "own organisation", lambda w: "/beheer", staff(200)),
        Row("GET /beheer/wijken/nieuw", "own organisation", lambda w: "/beheer/wijken/nieuw",
            staff(200)),
        Row("POST /beheer/wijken/nieuw", "own organisation", lambda w: "/beheer/wijken/nieuw",
            staff(303), lambda w, p: NEW_CAMPAIGN),
        Row("GET /beheer/aannemers", "own organisation", lambda w: "/beheer/aannemers",
            staff(200)),
        Row("POST /beheer/aannemers", "own organisation", lambda w: "/beheer/aannemers",
            staff(303), lambda w, p: CONTRACTOR_FORM),
        Row("GET /beheer/audit", "own organisation", lambda w: "/beheer/audit", staff(200)),
        Row("GET /beheer/audit", "filtered on another organisation's household",
            lambda w: f"/beheer/audit?household_id={w.b.home_1}", staff(200)),
        Row("GET /beheer/offertes", "own organisation", lambda w: "/beheer/offertes",
            staff(200)),
        Row("GET /beheer/offertes/nieuw", "own organisation", lambda w: "/beheer/offertes/nieuw",
            staff(200)),
        Row("GET /beheer/premies", "own organisation", lambda w: "/beheer/premies", staff(200)),
        Row("GET /beheer/nakijken", "own organisation", lambda w: "/beheer/nakijken",
            staff(200)),
        Row("GET /beheer/toegang", "own organisation", lambda w: "/beheer/toegang", staff(200)),
        # Access is given on the own organisation to another organisation's admin only: org a's
        # admin can be given access to org b (303), not to its own organisation (422).
        Row("POST /beheer/toegang", "to the admin of org a", lambda w: "/beheer/toegang",
            staff(422) | {STAFF_B: 303},
            lambda w, p: {"email": w.admin_email, "hours": "2", "reason": "Ondersteuning"}),
        Row("POST /beheer/toegang/{grant_id}/intrekken", "a grant on org b",
            lambda w: f"/beheer/toegang/{w.grant_on_b}/intrekken", staff(303, "b")),
        Row("POST /beheer/premies", "a new rule", lambda w: "/beheer/premies", staff(303),
            lambda w, p: PREMIUM_FORM),
        Row("GET /beheer/besparingen", "own organisation", lambda w: "/beheer/besparingen",
            staff(200)),
        Row("POST /beheer/besparingen", "a new assumption", lambda w: "/beheer/besparingen",
            staff(303), lambda w, p: SAVINGS_FORM),
        Row("POST /beheer/besparingen/energie", "a new energy factor",
            lambda w: "/beheer/besparingen/energie", staff(303), lambda w, p: ENERGY_FORM),
        Row("POST /mijn/inkomenscategorie", "own household",
            lambda w: "/mijn/inkomenscategorie", resident(303),
            lambda w, p: {"income_category": "3"}),
        Row("GET /aannemer", "own company", lambda w: "/aannemer", contractor(200)),
        Row("GET /mijn", "own household", lambda w: "/mijn", resident(200)),
        Row("POST /mijn/gegevens", "own household", lambda w: "/mijn/gegevens", resident(303),
            details_form),
        Row("POST /mijn/energie", "own household", lambda w: "/mijn/energie", resident(303),
            lambda w, p: {"energy_kwh_year": "4400", "energy_cost_euros_year": "1.800,00"}),
        Row("GET /mijn/gegevens.json", "own household", lambda w: "/mijn/gegevens.json",
            resident(200)),
        Row("GET /mijn/wissen", "own household", lambda w: "/mijn/wissen", resident(200)),
        Row("POST /mijn/wissen", "own household", lambda w: "/mijn/wissen", resident(303)),
    ]


def staff_object_rows(org: str) -> list[Row]:
    """/beheer pages about one object of organisation `org`."""
    def side(w: Cast) -> Any:
        return w.side(org)

    label, draft = f"org {org}", f"draft, org {org}"

    def wijk(w: Cast) -> str:
        return f"/beheer/wijken/{side(w).slug}"

    def group(w: Cast, name: str = "quote_group") -> str:
        return f"{wijk(w)}/groepen/{getattr(side(w), name)}"

    return [
        Row("GET /beheer/wijken/{slug}", label, wijk, staff(200, org)),
        Row("GET /beheer/wijken/{slug}", draft,
            lambda w: f"/beheer/wijken/{side(w).draft_slug}", staff(200, org)),
        Row("GET /beheer/wijken/{slug}/bewerken", label, lambda w: f"{wijk(w)}/bewerken",
            staff(200, org)),
        Row("POST /beheer/wijken/{slug}/bewerken", label, lambda w: f"{wijk(w)}/bewerken",
            staff(303, org), lambda w, p: campaign_form(w, org)),
        Row("POST /beheer/wijken/{slug}/bewerken", draft,
            lambda w: f"/beheer/wijken/{side(w).draft_slug}/bewerken", staff(303, org),
            lambda w, p: campaign_form(w, org, draft=True)),
        Row("GET /beheer/wijken/{slug}/aanbod/nieuw", label,
            lambda w: f"{wijk(w)}/aanbod/nieuw", staff(200, org)),
        Row("POST /beheer/wijken/{slug}/aanbod/nieuw", label,
            lambda w: f"{wijk(w)}/aanbod/nieuw", staff(303, org),
            lambda w, p: offer_form(w, org)),
        Row("GET /beheer/aanbod/{offer_id}/bewerken", label,
            lambda w: f"/beheer/aanbod/{side(w).offer_id}/bewerken", staff(200, org)),
        Row("POST /beheer/aanbod/{offer_id}/bewerken", label,
            lambda w: f"/beheer/aanbod/{side(w).offer_id}/bewerken", staff(303, org),
            lambda w, p: offer_form(w, org)),
        Row("GET /beheer/aanbod/{offer_id}/bewerken", draft,
            lambda w: f"/beheer/aanbod/{side(w).draft_offer_id}/bewerken", staff(200, org)),
        Row("GET /beheer/wijken/{slug}/huishoudens", label,
            lambda w: f"{wijk(w)}/huishoudens", staff(200, org)),
        Row("GET /beheer/wijken/{slug}/huishoudens", f"search, org {org}",
            lambda w: f"{wijk(w)}/huishoudens?q=a", staff(200, org)),
        Row("GET /beheer/wijken/{slug}/huishoudens.csv", label,
            lambda w: f"{wijk(w)}/huishoudens.csv", staff(200, org)),
        Row("GET /beheer/wijken/{slug}/huishoudens/nieuw", label,
            lambda w: f"{wijk(w)}/huishoudens/nieuw", staff(200, org)),
        Row("POST /beheer/wijken/{slug}/huishoudens/nieuw", label,
            lambda w: f"{wijk(w)}/huishoudens/nieuw", staff(303, org),
            lambda w, p: intake_form(w, org)),
        Row("GET /beheer/wijken/{slug}/huishoudens/{household_id}", label,
            lambda w: f"{wijk(w)}/huishoudens/{side(w).home_1}", staff(200, org)),
        Row("GET /beheer/wijken/{slug}/groepen", label, lambda w: f"{wijk(w)}/groepen",
            staff(200, org)),
        Row("GET /beheer/wijken/{slug}/groepen/voorstel", label,
            lambda w: f"{wijk(w)}/groepen/voorstel?by=street&min_size=1&max_size=10&toon=1",
            staff(200, org)),
        Row("POST /beheer/wijken/{slug}/groepen/voorstel", label,
            lambda w: f"{wijk(w)}/groepen/voorstel", staff(303, org),
            lambda w, p: {"by": ["street"], "min_size": "1", "max_size": "10",
                          "offer_id": str(w.side(org).offer_id)}),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/naam", label,
            lambda w: f"{group(w)}/naam", staff(303, org), lambda w, p: {"name": "Daken noord"}),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/vergrendeling", label,
            lambda w: f"{group(w)}/vergrendeling", staff(303, org),
            lambda w, p: {"locked": "true"}),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/verplaats", label,
            lambda w: f"{group(w)}/verplaats", staff(303, org),
            lambda w, p: {"household_id": str(w.side(org).home_1),
                          "to_group_id": str(w.side(org).spare_group)}),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/batch", label,
            lambda w: f"{group(w, 'group_main')}/batch", staff(303, org),
            lambda w, p: {"contractor_id": str(w.side(org).second_contractor_id)}),
        Row("GET /beheer/wijken/{slug}/dashboard", label, lambda w: f"{wijk(w)}/dashboard",
            staff(200, org)),
        Row("GET /beheer/wijken/{slug}/dashboard/{table}.csv", label,
            lambda w: f"{wijk(w)}/dashboard/funnel.csv", staff(200, org)),
        Row("GET /beheer/offertes/{quote_request_id}", label,
            lambda w: f"/beheer/offertes/{side(w).quote_request}", staff(200, org)),
        Row("POST /beheer/offertes/nieuw", f"for org {org}'s group", lambda w:
            "/beheer/offertes/nieuw",
            # The group is a choice in the form: another organisation's is refused like an
            # unknown one, next to the field (422), and nothing is opened.
            {**staff(303, org), **{p: 422 for p, v in staff(303, org).items() if v == 404}},
            lambda w, p: {"group_id": str(w.side(org).quote_group), "measure": "roof_insulation",
                          "unit": "m2", "description": "", "deadline": f"{IN_A_MONTH}T12:00",
                          "contractor_ids": [str(w.side(org).contractor_id)]}),
        Row("POST /beheer/offertes/{quote_request_id}/offertes/{quote_id}/aanvaarden", label,
            lambda w: f"/beheer/offertes/{side(w).quote_request}/offertes/{side(w).quote}"
                      "/aanvaarden", staff(303, org)),
        Row("GET /beheer/premies", f"editing org {org}'s rule",
            lambda w: f"/beheer/premies?bewerk={side(w).premium_rule}", staff(200, org)),
        Row("POST /beheer/premies", f"saving org {org}'s rule", lambda w: "/beheer/premies",
            staff(303, org), lambda w, p: PREMIUM_FORM | {
                "rule_id": str(w.side(org).premium_rule)}),
        Row("POST /beheer/premies/{rule_id}/verwijderen", label,
            lambda w: f"/beheer/premies/{side(w).premium_rule}/verwijderen", staff(303, org)),
        Row("GET /beheer/wijken/{slug}/ondersteuning", label,
            lambda w: f"/beheer/wijken/{side(w).slug}/ondersteuning", staff(200, org)),
        Row("GET /beheer/wijken/{slug}/ondersteuning/{profile}", label,
            lambda w: f"/beheer/wijken/{side(w).slug}/ondersteuning/cannot_but_will",
            staff(200, org)),
        Row("POST /beheer/wijken/{slug}/ondersteuning/{profile}", label,
            lambda w: f"/beheer/wijken/{side(w).slug}/ondersteuning/cannot_but_will",
            staff(303, org), lambda w, p: {"title": "Hulp bij betalen", "steps-0-kind": "loan",
                                           "steps-0-title": "Mijn VerbouwLening"}),
        Row("GET /beheer/besparingen", f"editing org {org}'s assumption",
            lambda w: f"/beheer/besparingen?bewerk={side(w).savings_assumption}",
            staff(200, org)),
        Row("GET /beheer/besparingen", f"editing org {org}'s energy factor",
            lambda w: f"/beheer/besparingen?energie={side(w).energy_factor}", staff(200, org)),
        Row("POST /beheer/besparingen", f"saving org {org}'s assumption",
            lambda w: "/beheer/besparingen", staff(303, org), lambda w, p: SAVINGS_FORM | {
                "assumption_id": str(w.side(org).savings_assumption)}),
        Row("POST /beheer/besparingen/energie", f"saving org {org}'s energy factor",
            lambda w: "/beheer/besparingen/energie", staff(303, org), lambda w, p: ENERGY_FORM
            | {"factor_id": str(w.side(org).energy_factor)}),
        Row("POST /beheer/besparingen/{assumption_id}/verwijderen", label,
            lambda w: f"/beheer/besparingen/{side(w).savings_assumption}/verwijderen",
            staff(303, org)),
        Row("POST /beheer/nakijken/{claim_id}", label,
            lambda w: f"/beheer/nakijken/{side(w).claim}", staff(303, org),
            lambda w, p: {"decision": "confirm", "note": "Gebeld."}),
    ]


def mixed_rows() -> list[Row]:
    """URLs that put an object of organisation b under organisation a's campaign: 404 for all."""
    def wijk(w: Cast) -> str:
        return f"/beheer/wijken/{w.a.slug}"

    return [
        Row("GET /beheer/wijken/{slug}/huishoudens/{household_id}", "org b's household",
            lambda w: f"{wijk(w)}/huishoudens/{w.b.home_1}", staff(404, "a")),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/naam", "org b's group",
            lambda w: f"{wijk(w)}/groepen/{w.b.quote_group}/naam", staff(404, "a"),
            lambda w, p: {"name": "Overgenomen"}),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/verplaats", "org b's group",
            lambda w: f"{wijk(w)}/groepen/{w.b.quote_group}/verplaats", staff(404, "a"),
            lambda w, p: {"household_id": str(w.b.home_1), "to_group_id": str(w.b.spare_group)}),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/batch", "org b's group",
            lambda w: f"{wijk(w)}/groepen/{w.b.group_main}/batch", staff(404, "a"),
            lambda w, p: {"contractor_id": str(w.b.second_contractor_id)}),
        Row("POST /beheer/wijken/{slug}/groepen/{group_id}/vergrendeling", "org b's group",
            lambda w: f"{wijk(w)}/groepen/{w.b.quote_group}/vergrendeling", staff(404, "a"),
            lambda w, p: {"locked": "true"}),
        Row("POST /beheer/offertes/{quote_request_id}/offertes/{quote_id}/aanvaarden",
            "org b's quote under org a's request",
            lambda w: f"/beheer/offertes/{w.a.quote_request}/offertes/{w.b.quote}/aanvaarden",
            staff(404)),
    ]


def contractor_rows() -> list[Row]:
    """/aannemer pages: only the contractor's own batches and invitations."""
    def batch(name: str, org: str = "a") -> Any:
        return lambda w: f"/aannemer/batches/{getattr(w.side(org), name)}"

    def request(name: str, org: str = "a") -> Any:
        return lambda w: f"/aannemer/offerteaanvragen/{getattr(w.side(org), name)}"

    moved = {"status": "visit_planned", "note": "", "occurred_on": date.today().isoformat()}
    return [
        Row("GET /aannemer/batches/{batch_id}", "contractor 1's", batch("batch_main"),
            contractor(200, CONTRACTOR_1)),
        Row("GET /aannemer/batches/{batch_id}", "contractor 2's", batch("batch_second"),
            contractor(200, CONTRACTOR_2)),
        Row("GET /aannemer/batches/{batch_id}", "org b's", batch("batch_main", "b"),
            contractor(200, NOBODY)),
        Row("GET /aannemer/batches/{batch_id}.csv", "contractor 1's",
            lambda w: f"/aannemer/batches/{w.a.batch_main}.csv", contractor(200, CONTRACTOR_1)),
        Row("GET /aannemer/batches/{batch_id}.csv", "org b's",
            lambda w: f"/aannemer/batches/{w.b.batch_main}.csv", contractor(200, NOBODY)),
        Row("POST /aannemer/batches/{batch_id}/deelnames/{participation_id}/status",
            "contractor 1's", lambda w: f"/aannemer/batches/{w.a.batch_main}/deelnames/"
                                        f"{w.a.assigned_main}/status",
            contractor(303, CONTRACTOR_1), lambda w, p: moved),
        Row("POST /aannemer/batches/{batch_id}/deelnames/{participation_id}/status",
            "contractor 2's sign-up under contractor 1's batch",
            lambda w: f"/aannemer/batches/{w.a.batch_main}/deelnames/"
                      f"{w.a.assigned_second}/status",
            contractor(303, NOBODY), lambda w, p: moved),
        Row("POST /aannemer/batches/{batch_id}/deelnames/{participation_id}/status",
            "org b's", lambda w: f"/aannemer/batches/{w.b.batch_main}/deelnames/"
                                 f"{w.b.assigned_main}/status",
            contractor(303, NOBODY), lambda w, p: moved),
        Row("GET /aannemer/offerteaanvragen/{quote_request_id}", "contractor 1 invited",
            request("quote_request"), contractor(200, CONTRACTOR_1)),
        Row("GET /aannemer/offerteaanvragen/{quote_request_id}", "contractor 2 invited",
            request("second_quote_request"), contractor(200, CONTRACTOR_2)),
        Row("GET /aannemer/offerteaanvragen/{quote_request_id}", "org b's",
            request("quote_request", "b"), contractor(200, NOBODY)),
        Row("POST /aannemer/offerteaanvragen/{quote_request_id}", "contractor 1 revises",
            request("quote_request"), contractor(303, CONTRACTOR_1), lambda w, p: QUOTE_FORM),
        Row("POST /aannemer/offerteaanvragen/{quote_request_id}", "contractor 2 submits",
            request("second_quote_request"), contractor(303, CONTRACTOR_2),
            lambda w, p: QUOTE_FORM),
        Row("POST /aannemer/offerteaanvragen/{quote_request_id}", "org b's",
            request("quote_request", "b"), contractor(303, NOBODY), lambda w, p: QUOTE_FORM),
    ]


def resident_rows() -> list[Row]:
    """/mijn pages about one sign-up, and the comparison of a group's quotes."""
    def signup(name: str, org: str = "a", action: str = "intrekken") -> Any:
        return lambda w: f"/mijn/inschrijvingen/{getattr(w.side(org), name)}/{action}"

    return [
        Row("GET /mijn/inschrijvingen/{participation_id}/intrekken", "resident A's",
            signup("signup_1"), resident(200, RESIDENT_A)),
        Row("GET /mijn/inschrijvingen/{participation_id}/intrekken", "resident B's",
            signup("signup_2"), resident(200, RESIDENT_B)),
        Row("POST /mijn/inschrijvingen/{participation_id}/intrekken", "resident A's",
            signup("signup_1"), resident(303, RESIDENT_A)),
        Row("POST /mijn/inschrijvingen/{participation_id}/intrekken", "resident B's",
            signup("signup_2"), resident(303, RESIDENT_B)),
        Row("POST /mijn/inschrijvingen/{participation_id}/intrekken", "org b's",
            signup("signup_1", "b"), resident(303, NOBODY)),
        Row("POST /mijn/inschrijvingen/{participation_id}/beslissing", "resident A's offer",
            signup("offered_1", action="beslissing"), resident(303, RESIDENT_A),
            lambda w, p: {"decision": "accept"}),
        Row("POST /mijn/inschrijvingen/{participation_id}/beslissing", "org b's offer",
            signup("offered_1", "b", "beslissing"), resident(303, NOBODY),
            lambda w, p: {"decision": "accept"}),
        Row("GET /vergelijk/{quote_request_id}", "org a's, resident A's group",
            lambda w: f"/vergelijk/{w.a.quote_request}",
            for_comparison(org="a", member=RESIDENT_A, anonymous=LINK)),
        Row("GET /vergelijk/{quote_request_id}", "org b's",
            lambda w: f"/vergelijk/{w.b.quote_request}",
            for_comparison(org="b", member=NOBODY, anonymous=LINK)),
    ]


ROWS = (public_rows("a") + public_rows("b") + plain_rows() + staff_object_rows("a")
        + staff_object_rows("b") + mixed_rows() + contractor_rows() + resident_rows())


@pytest.mark.parametrize(("row", "principal"), cells(ROWS))
def test_page_answers_each_principal_as_designed(matrix: PrincipalsMatrix, row: Row,
                                                 principal: str) -> None:
    cast = matrix.cast
    url = row.url(cast)
    with matrix.cell():
        response = matrix.page(principal, row.method, url,
                               row.body(cast, principal) if row.body else None)
    outcome = page_outcome(response)
    assert outcome == row.expect[principal], (
        f"{row.method} {url} as {principal}: {outcome} "
        f"{response.headers.get('location', '')} {response.text[:300]}")
    assert_no_foreign_data(cast, principal, row, response)


# --- what pages list ------------------------------------------------------------------------

def _shows(cast: Cast, *names: str) -> list[str]:
    """The values named "org.attribute" (e.g. "a.campaign_name")."""
    return [getattr(cast.side(org), attribute)
            for org, attribute in (name.split(".") for name in names)]


LISTS = [
    # (principal, url, what the page must show, what it must not show), as attribute names
    (STAFF_A, "/beheer", ("a.campaign_name", "a.draft_name"), ("b.campaign_name",
                                                               "b.draft_name")),
    (ADMIN, "/beheer", ("a.campaign_name", "a.draft_name"), ("b.campaign_name", "b.draft_name")),
    (STAFF_B, "/beheer", ("b.campaign_name", "b.draft_name"), ("a.campaign_name",
                                                               "a.draft_name")),
    (STAFF_A, "/beheer/aannemers", ("a.contractor_name",), ("b.contractor_name",)),
    (ADMIN, "/beheer/aannemers", ("a.contractor_name",), ("b.contractor_name",)),
    (STAFF_B, "/beheer/aannemers", ("b.contractor_name",), ("a.contractor_name",)),
    (STAFF_A, "/beheer/premies", ("a.premium_source",), ("b.premium_source",)),
    (ADMIN, "/beheer/premies", ("a.premium_source",), ("b.premium_source",)),
    (STAFF_B, "/beheer/premies", ("b.premium_source",), ("a.premium_source",)),
    (ANONYMOUS, "/", ("a.campaign_name", "b.campaign_name"), ("a.draft_name", "b.draft_name")),
    (STAFF_A, "/beheer/nakijken", ("a.claimant_name",), ("b.claimant_name",)),
    (ADMIN, "/beheer/nakijken", ("a.claimant_name",), ("b.claimant_name",)),
    (STAFF_B, "/beheer/nakijken", ("b.claimant_name",), ("a.claimant_name",)),
]


@pytest.mark.parametrize(("principal", "url", "shows", "hides"), LISTS,
                         ids=[f"{u} as {p}" for p, u, _, _ in LISTS])
def test_pages_list_exactly_the_callers_own(matrix: PrincipalsMatrix, principal: str, url: str,
                                            shows: tuple[str, ...],
                                            hides: tuple[str, ...]) -> None:
    cast = matrix.cast
    with matrix.cell():
        response = matrix.page(principal, "GET", url)
    assert response.status_code == 200
    assert [value for value in _shows(cast, *shows) if value not in response.text] == []
    assert [value for value in _shows(cast, *hides) if value in response.text] == []


def test_contractor_and_staff_lists_link_only_to_their_own(matrix: PrincipalsMatrix) -> None:
    cast = matrix.cast
    with matrix.cell():
        first = matrix.page(CONTRACTOR_1, "GET", "/aannemer").text
        second = matrix.page(CONTRACTOR_2, "GET", "/aannemer").text
        requests_a = matrix.page(STAFF_A, "GET", "/beheer/offertes").text
        requests_b = matrix.page(STAFF_B, "GET", "/beheer/offertes").text
    assert f"/aannemer/batches/{cast.a.batch_main}\"" in first
    assert f"/aannemer/batches/{cast.a.batch_second}\"" not in first
    assert f"/aannemer/batches/{cast.a.batch_second}\"" in second
    assert f"/aannemer/offerteaanvragen/{cast.a.quote_request}\"" in first
    assert f"/aannemer/offerteaanvragen/{cast.a.second_quote_request}\"" not in first
    assert f"/beheer/offertes/{cast.a.quote_request}\"" in requests_a
    assert f"/beheer/offertes/{cast.b.quote_request}\"" not in requests_a
    assert f"/beheer/offertes/{cast.b.quote_request}\"" in requests_b


# --- every page is classified ---------------------------------------------------------------

def test_every_page_is_in_the_matrix(matrix: PrincipalsMatrix) -> None:
    """A new page or form fails here until it has rows in ROWS (or a reason in
    NOT_IN_THE_MATRIX)."""
    covered = {row.route for row in ROWS} | set(NOT_IN_THE_MATRIX)
    routes = {route for route in app_routes(matrix.app) if not is_api_route(route)}
    assert sorted(routes - covered) == [], "pages without rows in the matrix"
    assert sorted({row.route for row in ROWS} - routes) == [], "rows for pages that are gone"


def test_every_row_reaches_the_page_it_names(matrix: PrincipalsMatrix) -> None:
    reached = {row.id: route_of(matrix.app, row.method, row.url(matrix.cast)) for row in ROWS}
    assert {row_id: route for row_id, route in reached.items()
            if route != row_id.rsplit(" [", 1)[0]} == {}


def test_the_cast_covers_every_principal(matrix: PrincipalsMatrix) -> None:
    """Residents A and B are two households of one campaign, logged in by their magic links."""
    cast = matrix.cast
    assert set(cast.households) == set(RESIDENTS)
    assert cast.households[RESIDENT_A] != cast.households[RESIDENT_B]
    with matrix.cell():
        pages = {principal: matrix.page(principal, "GET", "/mijn").text
                 for principal in RESIDENTS}
    assert cast.personal()[cast.a.home_1][0] in pages[RESIDENT_A]
    assert cast.personal()[cast.a.home_2][0] in pages[RESIDENT_B]
    assert {STAFF_A, STAFF_B, ADMIN, CONTRACTOR_1, CONTRACTOR_2} <= set(cast.cookie)


@pytest.mark.parametrize("target", ["//evil.example", "/%5Cevil.example", "https://evil.example",
                                    "/%09/evil.example", "javascript:alert(1)"])
@pytest.mark.parametrize("principal", [STAFF_A, CONTRACTOR_1])
def test_the_log_in_page_sends_logged_in_users_only_to_a_path_of_this_site(
    matrix: PrincipalsMatrix, principal: str, target: str,
) -> None:
    """`next` is only followed to a local path; whatever else is typed there lands on the
    user's own start page or a path of this site (no open redirect)."""
    with matrix.cell():
        response = matrix.page(principal, "GET", f"/login?next={target}")
    location = response.headers["location"]
    assert response.status_code == 303
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
