"""Bad input and attack, as a visitor would send it to the real app on the test database:
oversized bodies, wrong content types, invalid UTF-8, NUL characters, HTML/script in every text
field (it must come back escaped on every page that shows it), SQL metacharacters (stored as
typed, harmless), negative and huge numbers, dates in the wrong format.

Every refusal is a clear 4xx that names the field (API: 422 with `loc` ["body", ...]; a form:
re-rendered with the message next to the field), and nothing is stored: the rows are counted
before and after.
"""

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from app.models import (
    Batch,
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Household,
    HouseholdClaim,
    Offer,
    Participation,
    ParticipationEvent,
    Partner,
    PremiumRule,
    PriceTier,
    Quote,
    QuoteLine,
    QuoteRequest,
)
from tests import factories
from tests.support.world import World, build_world, csrf_of, web_login

COUNTED: list[type[SQLModel]] = [
    Household, Participation, ParticipationEvent, Campaign, Partner, Offer, PriceTier,
    Contractor, Group, GroupMember, Batch, QuoteRequest, Quote, QuoteLine, PremiumRule,
    HouseholdClaim,
]

# Breaks out of an attribute and out of text; must only ever come back escaped.
SCRIPT = "\"><script>alert('ww')</script>"
SCRIPT_ESCAPED = "&#34;&gt;&lt;script&gt;alert(&#39;ww&#39;)&lt;/script&gt;"
# Short ones for fields with a small maximum length (a house number needs a digit).
HOUSE_NUMBER = "7<b>x</b>"
HOUSE_NUMBER_ESCAPED = "7&lt;b&gt;x&lt;/b&gt;"
BOX = "<i>b</i>"
BOX_ESCAPED = "&lt;i&gt;b&lt;/i&gt;"
SQL = "O'Brien\"; DROP TABLE household;-- %_\\"


def row_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in COUNTED}


@pytest.fixture
def world(db_session: Session) -> World:
    return build_world(db_session)


@pytest.fixture
def unchanged(db_session: Session, world: World) -> Iterator[None]:
    """The test's requests are all refused: no row may be added or removed."""
    before = row_counts(db_session)
    yield
    assert row_counts(db_session) == before


def signup_body(number: int = 40, **household: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "An Peeters", "email": f"an{number}@example.be", "phone": "+32470123456",
        "street": "Torhoutsesteenweg", "house_number": str(number), "box": "",
        "postcode": "8400",
    }
    values.update(household)
    return {"household": values, "quantity": 48.5, "consent": True,
            "share_contact_with_contractor": True}


def signup_form(csrf: str, number: int = 41, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "An Peeters", "email": f"an{number}@example.be", "phone": "",
        "street": "Torhoutsesteenweg", "house_number": str(number), "box": "",
        "postcode": "8400", "quantity": "40", "consent": "true", "csrf_token": csrf,
    }
    values.update(fields)
    return values


def offer_url(world: World) -> str:
    return f"/wijken/{world.campaign.slug}/aanbod/{world.offer.id}"


def anonymous_csrf(client: TestClient, world: World) -> str:
    return csrf_of(client.get(offer_url(world)).text)


def locs(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


def assert_error_next_to(html: str, field: str) -> None:
    """The form came back with the message next to `field` (aria-invalid, aria-describedby)."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(field)}"[^>]*>', html)
    assert tag, f"no input {field!r} in the page"
    assert 'aria-invalid="true"' in tag.group(0), f"{field} is not marked invalid"
    assert f"{field}-error" in tag.group(0), f"{field} does not point at its message"
    message = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]+)</p>', html)
    assert message and message.group(1).strip(), f"no message next to {field}"


def assert_escaped(html: str, raw: str, escaped: str) -> None:
    assert raw not in html
    assert escaped in html


# --- oversized bodies --------------------------------------------------------------------------


def test_an_oversized_api_body_is_refused_with_413(
    client: TestClient, world: World, unchanged: None
) -> None:
    body = signup_body(name="A" * (2 * 1024 * 1024))
    response = client.post(f"/api/v1/offers/{world.offer.id}/participations", json=body)
    assert response.status_code == 413
    assert response.text == "Content Too Large"


def test_an_oversized_form_is_refused(client: TestClient, world: World, unchanged: None) -> None:
    csrf = anonymous_csrf(client, world)
    big = signup_form(csrf, name="A" * (1536 * 1024))
    assert client.post(offer_url(world), data=big).status_code == 413
    with_header = client.post(offer_url(world), data=big, headers={"X-CSRF-Token": csrf,
                                                                   "HX-Request": "true"})
    assert with_header.status_code == 413


def test_an_oversized_staff_body_is_refused(
    client: TestClient, db_session: Session, world: World, unchanged: None
) -> None:
    body = {"slug": "grote-wijk", "name": "Grote wijk", "municipality": "Oostende",
            "description": "x" * (2 * 1024 * 1024), "postcodes": ["8400"]}
    response = client.post("/api/v1/campaigns", json=body,
                           headers=world.staff_headers(db_session))
    assert response.status_code == 413


def test_too_long_household_fields_are_422_on_that_field(
    client: TestClient, world: World, unchanged: None, subtests: pytest.Subtests
) -> None:
    csrf = anonymous_csrf(client, world)
    for field, length in (("name", 201), ("street", 201), ("house_number", 21), ("box", 21)):
        with subtests.test(field=field):
            value = "9" * length
            response = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                                   json=signup_body(**{field: value}))
            assert response.status_code == 422
            assert ["body", "household", field] in locs(response)
            page = client.post(offer_url(world), data=signup_form(csrf, **{field: value}))
            assert page.status_code == 422
            assert_error_next_to(page.text, field)


def test_too_long_staff_fields_are_422_on_that_field(
    client: TestClient, db_session: Session, world: World, unchanged: None
) -> None:
    headers = world.staff_headers(db_session)
    contractor = client.post("/api/v1/contractors", headers=headers, json={
        "name": "N" * 201, "vat_number": "BE0123456749", "email": "a@example.be"})
    assert contractor.status_code == 422 and ["body", "name"] in locs(contractor)
    campaign = client.patch(f"/api/v1/campaigns/{world.campaign.slug}", headers=headers,
                            json={"name": "N" * 201})
    assert campaign.status_code == 422 and ["body", "name"] in locs(campaign)
    offer = client.patch(f"/api/v1/offers/{world.offer.id}", headers=headers,
                         json={"title": "T" * 201})
    assert offer.status_code == 422 and ["body", "title"] in locs(offer)


# --- wrong content types and bodies that are not what they say -------------------------------


def test_the_api_takes_only_json_bodies(
    client: TestClient, world: World, unchanged: None, subtests: pytest.Subtests
) -> None:
    for content, content_type in (
        ("name=An", "application/x-www-form-urlencoded"),
        ("name=An", "text/plain"),
        ('{"household": {}}', "text/json"),
        ("<household/>", "application/xml"),
        ("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n",
         "multipart/form-data; boundary=b"),
        ('{"household": {}}', ""),
    ):
        with subtests.test(content_type=content_type):
            response = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                                   content=content.encode(),
                                   headers={"Content-Type": content_type})
            assert response.status_code == 415
            assert response.json() == {"detail": "Content-Type must be application/json"}


def test_json_that_is_not_a_sign_up_is_422(
    client: TestClient, world: World, unchanged: None, subtests: pytest.Subtests
) -> None:
    for content in (b"", b"{", b"[]", b"null", b'"text"', b'{"household": 3}'):
        with subtests.test(content=content):
            response = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                                   content=content, headers={"Content-Type": "application/json"})
            assert response.status_code == 422
            assert all(loc[0] == "body" for loc in locs(response))


def test_a_form_page_posted_as_json_gets_the_form_back_with_messages(
    client: TestClient, world: World, unchanged: None
) -> None:
    csrf = anonymous_csrf(client, world)
    response = client.post(offer_url(world), json=signup_form(csrf),
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422
    assert_error_next_to(response.text, "name")


# --- invalid UTF-8 and NUL ---------------------------------------------------------------------


def test_invalid_utf8_in_a_json_body_is_a_clear_400(
    client: TestClient, world: World, unchanged: None
) -> None:
    content = b'{"household": {"name": "\xff\xfeAn", "street": "K\xe9rkstraat"}, "consent": true}'
    response = client.post(f"/api/v1/offers/{world.offer.id}/participations", content=content,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


def test_invalid_utf8_in_a_form_is_refused_next_to_the_field(
    client: TestClient, world: World, unchanged: None
) -> None:
    csrf = anonymous_csrf(client, world)
    fields = signup_form(csrf)
    fields.pop("name")
    body = "&".join(f"{k}={v}" for k, v in fields.items()).encode() + b"&name=%FF%FEAn"
    response = client.post(offer_url(world), content=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 422
    assert_error_next_to(response.text, "name")


def test_invalid_utf8_in_the_path_and_query_is_harmless(
    client: TestClient, db_session: Session, world: World, unchanged: None
) -> None:
    assert client.get("/wijken/%FF%FE").status_code == 404
    assert client.get("/api/v1/campaigns/%FF%FE").status_code == 404
    web_login(client, db_session, user=world.staff)
    listing = client.get(f"/beheer/wijken/{world.campaign.slug}/huishoudens?q=%FF%FE")
    assert listing.status_code == 200


def test_nul_characters_are_refused_on_their_field(
    client: TestClient, db_session: Session, world: World, unchanged: None
) -> None:
    api = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                      json=signup_body(name="An\x00Peeters"))
    assert api.status_code == 422 and ["body", "household", "name"] in locs(api)

    csrf = anonymous_csrf(client, world)
    form = client.post(offer_url(world), data=signup_form(csrf, street="Kerk\x00straat"))
    assert form.status_code == 422
    assert_error_next_to(form.text, "street")

    token = client.post("/api/v1/auth/token", json={"email": "a\x00@example.be",
                                                    "password": "x"})
    assert token.status_code == 422 and ["body", "email"] in locs(token)
    login = client.post("/login", data={"email": "a\x00@example.be", "password": "x",
                                        "csrf_token": csrf})
    assert login.status_code == 401
    headers = world.staff_headers(db_session)
    contractor = client.post("/api/v1/contractors", headers=headers, json={
        "name": "Gevel\x00werken", "vat_number": "BE0123456749", "email": "a@example.be"})
    assert contractor.status_code == 422 and ["body", "name"] in locs(contractor)
    assert client.get("/api/v1/campaigns/wijk%00").status_code == 404
    search = client.get(f"/api/v1/campaigns/{world.campaign.slug}/households?q=a%00b",
                        headers=headers)
    assert search.status_code == 422 and ["query", "q"] in locs(search)
    klimaattafel = client.post(f"/wijken/{world.campaign.slug}/klimaattafel", data={
        "postcode": "8400", "street": "Kerk\x00straat", "solar_pv": "1y", "csrf_token": csrf})
    assert klimaattafel.status_code == 422
    assert_error_next_to(klimaattafel.text, "street")


def test_non_ascii_tokens_are_refused_not_a_500(
    client: TestClient, world: World, unchanged: None
) -> None:
    client.get("/login")
    form = {"email": world.staff.email, "password": "x"}
    assert client.post("/login", data=form | {"csrf_token": "é" * 64}).status_code == 403
    assert client.post("/login", data=form,
                       headers={"X-CSRF-Token": "é".encode()}).status_code == 403
    assert client.get("/api/v1/me",
                      headers={"Authorization": "Bearer é".encode()}).status_code == 401
    assert client.post("/api/v1/auth/resident", json={"token": "é"}).status_code == 401
    assert client.get("/r/" + "é" * 10).status_code == 410


def test_a_forged_confirmation_reference_is_404(app: FastAPI, world: World) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    for ref in ("1.é", "².abc"):
        response = client.get(f"{offer_url(world)}/bedankt", params={"ref": ref})
        assert response.status_code == 404, (ref, response.status_code)


def test_malformed_form_bodies_are_a_4xx(
    client: TestClient, world: World, unchanged: None
) -> None:
    csrf = anonymous_csrf(client, world)
    for content, content_type in (
        (b"--b\r\nbroken", "multipart/form-data; boundary=b"),
        (f"csrf_token={csrf}&name=%ZZ%&house_number=%".encode(),
         "application/x-www-form-urlencoded"),
        (("&".join(f"f{i}=x" for i in range(5000)) + f"&csrf_token={csrf}").encode(),
         "application/x-www-form-urlencoded"),
    ):
        response = client.post(offer_url(world), content=content,
                               headers={"Content-Type": content_type, "X-CSRF-Token": csrf})
        assert 400 <= response.status_code < 500, (content[:30], response.status_code)
    upload = client.post(offer_url(world), files={"name": ("a.txt", b"An")},
                         data=signup_form(csrf))
    assert upload.status_code == 422  # a file where text belongs is not text


def test_a_multipart_form_without_boundary_is_a_4xx(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/login")
        response = client.post("/login", content=b"email=a",
                               headers={"Content-Type": "multipart/form-data"})
        assert 400 <= response.status_code < 500, response.status_code


SIGNUP_FORM_FIELDS = ("name", "email", "phone", "street", "house_number", "box", "postcode",
                      "city", "dwelling_type", "build_year", "tenure", "life_phase",
                      "budget_band", "profile", "quantity", "consent",
                      "share_contact_with_contractor")


@settings(max_examples=30, derandomize=True, database=None, deadline=None, print_blob=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(typed=st.dictionaries(st.sampled_from(SIGNUP_FORM_FIELDS),
                             st.text(st.characters(codec="utf-8"), max_size=250)))
def test_whatever_is_typed_into_the_sign_up_form_gets_a_redirect_or_the_form_back(
    client: TestClient, db_session: Session, world: World, typed: dict[str, str]
) -> None:
    csrf = anonymous_csrf(client, world)
    # A sign-up is stored as a participation, or as a claim when it lands on the address of a
    # known household with a contact that is not the household's own (the identity rule).
    before = row_counts(db_session)
    response = client.post(offer_url(world), data=signup_form(csrf) | typed,
                           follow_redirects=False)
    after = row_counts(db_session)
    stored = sum(after[name] - before[name] for name in ("Participation", "HouseholdClaim"))
    assert (response.status_code, stored) in {(303, 1), (409, 0), (422, 0)}, (
        response.status_code, stored)


# --- HTML and script in every text field: escaped wherever it is shown -----------------------


def test_script_in_a_sign_up_comes_back_escaped_on_every_page(
    client: TestClient, db_session: Session, world: World
) -> None:
    response = client.post(f"/api/v1/offers/{world.offer.id}/participations", json=signup_body(
        name=SCRIPT, street=SCRIPT, house_number=HOUSE_NUMBER, box=BOX))
    assert response.status_code == 201, response.text
    participation = db_session.get(Participation, response.json()["id"])
    assert participation is not None
    household = db_session.get(Household, participation.household_id)
    assert household is not None
    assert (household.name, household.street, household.house_number, household.box) == (
        SCRIPT, SCRIPT, HOUSE_NUMBER, BOX)  # stored as typed
    _put_in_the_batch(db_session, world, household)

    web_login(client, db_session, household=household)
    mijn = client.get("/mijn").text
    assert_escaped(mijn, SCRIPT, SCRIPT_ESCAPED)
    assert_escaped(mijn, HOUSE_NUMBER, HOUSE_NUMBER_ESCAPED)
    assert_escaped(mijn, BOX, BOX_ESCAPED)

    web_login(client, db_session, user=world.staff)
    slug = world.campaign.slug
    for url in (f"/beheer/wijken/{slug}/huishoudens",
                f"/beheer/wijken/{slug}/huishoudens?q=script",
                f"/beheer/wijken/{slug}/huishoudens/{household.id}",
                f"/beheer/wijken/{slug}/groepen",
                f"/beheer/wijken/{slug}/dashboard"):
        page = client.get(url, headers={"HX-Request": "true"} if "?q=" in url else {})
        assert page.status_code == 200, url
        assert SCRIPT not in page.text and HOUSE_NUMBER not in page.text, url
        assert SCRIPT_ESCAPED in page.text, url

    web_login(client, db_session, user=world.contractor_user)
    batch = client.get(f"/aannemer/batches/{world.batch.id}").text
    assert_escaped(batch, SCRIPT, SCRIPT_ESCAPED)
    assert_escaped(batch, HOUSE_NUMBER, HOUSE_NUMBER_ESCAPED)


def test_script_typed_into_the_sign_up_form_is_escaped_on_the_form_and_after(
    client: TestClient, db_session: Session, world: World
) -> None:
    csrf = anonymous_csrf(client, world)
    refused = client.post(offer_url(world), data=signup_form(csrf, name=SCRIPT, email="nope"))
    assert refused.status_code == 422
    assert_escaped(refused.text, SCRIPT, SCRIPT_ESCAPED)  # echoed back into value="..."
    saved = client.post(offer_url(world), data=signup_form(csrf, name=SCRIPT, street=SCRIPT),
                        follow_redirects=False)
    assert saved.status_code == 303
    done = client.get(saved.headers["location"])
    assert done.status_code == 200 and "<script>alert" not in done.text


def test_script_in_the_residents_own_details_is_escaped(
    client: TestClient, db_session: Session, world: World
) -> None:
    web_login(client, db_session, household=world.resident)
    response = client.patch("/api/v1/me", headers=world.resident_headers(db_session),
                            json={"name": SCRIPT, "box": BOX})
    assert response.status_code == 200
    assert response.json()["household"]["name"] == SCRIPT  # JSON carries it as data
    csrf = csrf_of(client.get("/mijn").text)
    form = {"name": SCRIPT, "email": world.resident.email, "phone": "",
            "street": SCRIPT, "house_number": HOUSE_NUMBER, "box": BOX, "postcode": "8400",
            "csrf_token": csrf}
    saved = client.post("/mijn/gegevens", data=form, follow_redirects=False)
    assert saved.status_code == 303
    mijn = client.get("/mijn").text
    assert_escaped(mijn, SCRIPT, SCRIPT_ESCAPED)
    assert_escaped(mijn, HOUSE_NUMBER, HOUSE_NUMBER_ESCAPED)
    refused = client.post("/mijn/gegevens", data=form | {"email": SCRIPT})
    assert refused.status_code == 422
    assert_escaped(refused.text, SCRIPT, SCRIPT_ESCAPED)
    assert_error_next_to(refused.text, "email")


def test_script_in_staff_forms_is_escaped_on_staff_and_public_pages(
    client: TestClient, db_session: Session, world: World
) -> None:
    csrf = web_login(client, db_session, user=world.staff)
    campaign = client.post("/beheer/wijken/nieuw", data={
        "slug": "scriptwijk", "name": SCRIPT, "municipality": SCRIPT, "description": SCRIPT,
        "postcodes": "8400", "streets": SCRIPT, "starts_on": "2026-01-01",
        "ends_on": "2030-12-31", "status": "open", "partners-0-kind": "ocmw",
        "partners-0-name": SCRIPT, "partners-0-role": SCRIPT, "csrf_token": csrf,
    }, follow_redirects=False)
    assert campaign.status_code == 303, re.findall(r'field-error"[^>]*>([^<]+)', campaign.text)
    contractor = client.post("/beheer/aannemers", data={
        "name": SCRIPT, "vat_number": factories.belgian_vat_number(7_654_321),
        "email": "script@example.be", "phone": "", "csrf_token": csrf}, follow_redirects=False)
    assert contractor.status_code == 303
    stored = db_session.exec(select(Contractor).where(Contractor.name == SCRIPT)).one()
    opens = datetime.now().strftime("%Y-%m-%dT%H:%M")
    closes = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    offer = client.post("/beheer/wijken/scriptwijk/aanbod/nieuw", data={
        "measure": "facade_insulation", "title": SCRIPT, "description": SCRIPT, "lot": "1<b>",
        "procurement_reference": SCRIPT, "contractor_id": str(stored.id), "unit": "m2",
        "vat_rate": "6", "capacity": "10", "signup_opens_at": opens, "signup_closes_at": closes,
        "price_tiers-0-min_participants": "0", "price_tiers-0-unit_price": "120,00",
        "csrf_token": csrf,
    }, follow_redirects=False)
    assert offer.status_code == 303, re.findall(r'field-error"[^>]*>([^<]+)', offer.text)
    offer_id = db_session.exec(select(Offer.id).where(Offer.title == SCRIPT)).one()

    for url in ("/beheer", "/beheer/wijken/scriptwijk", "/beheer/wijken/scriptwijk/bewerken",
                f"/beheer/aanbod/{offer_id}/bewerken", "/beheer/aannemers",
                "/beheer/wijken/scriptwijk/dashboard", "/", "/wijken/scriptwijk",
                f"/wijken/scriptwijk/aanbod/{offer_id}", "/wijken/scriptwijk/klimaattafel"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert SCRIPT not in page.text and "1<b>" not in page.text, url
        assert SCRIPT_ESCAPED in page.text, url


def test_script_in_quote_lines_and_notes_is_escaped(
    client: TestClient, db_session: Session, world: World
) -> None:
    csrf = web_login(client, db_session, user=world.contractor_user)
    url = f"/aannemer/offerteaanvragen/{world.quote_request.id}"
    saved = client.post(url, data={
        "description": [SCRIPT], "quantity": ["60"], "unit": ["m2"], "unit_price": ["45,00"],
        "vat_rate": "6", "valid_until": (date.today() + timedelta(days=60)).isoformat(),
        "lead_time_weeks": "6", "warranty_years": "10", "notes": SCRIPT, "action": "submit",
        "csrf_token": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    moved = client.post(
        f"/aannemer/batches/{world.batch.id}/deelnames/{world.assigned.id}/status",
        data={"status": "visit_planned", "occurred_on": date.today().isoformat(),
              "note": SCRIPT, "csrf_token": csrf}, follow_redirects=False)
    assert moved.status_code == 303
    assert_escaped(client.get(url).text, SCRIPT, SCRIPT_ESCAPED)
    assert SCRIPT not in client.get(f"/aannemer/batches/{world.batch.id}").text

    staff_csrf = web_login(client, db_session, user=world.staff)
    assert SCRIPT not in client.get(f"/beheer/offertes/{world.quote_request.id}").text
    for page_url in (f"/vergelijk/{world.quote_request.id}",
                     f"/beheer/wijken/{world.campaign.slug}/huishoudens/{world.member.id}"):
        page = client.get(page_url)
        assert page.status_code == 200, page_url
        assert_escaped(page.text, SCRIPT, SCRIPT_ESCAPED)
    opened = client.post("/beheer/offertes/nieuw", data={
        "group_id": str(world.quote_group.id), "measure": "roof_insulation", "unit": "m2",
        "description": SCRIPT, "deadline": (datetime.now() + timedelta(days=3)).strftime(
            "%Y-%m-%dT%H:%M"), "contractor_ids": [str(world.contractor.id)],
        "market_unit_price": "", "csrf_token": staff_csrf}, follow_redirects=False)
    assert opened.status_code == 303
    assert_escaped(client.get(opened.headers["location"]).text, SCRIPT, SCRIPT_ESCAPED)
    request_id = opened.headers["location"].rsplit("/", 1)[1]
    web_login(client, db_session, household=world.resident)
    assert_escaped(client.get(f"/vergelijk/{world.quote_request.id}").text, SCRIPT,
                   SCRIPT_ESCAPED)
    web_login(client, db_session, user=world.contractor_user)
    assert_escaped(client.get(f"/aannemer/offerteaanvragen/{request_id}").text, SCRIPT,
                   SCRIPT_ESCAPED)


def test_csv_exports_defuse_spreadsheet_formulas(
    client: TestClient, db_session: Session, world: World
) -> None:
    formula = "=HYPERLINK(\"http://evil.example\",\"klik\")"
    response = client.post(f"/api/v1/offers/{world.offer.id}/participations", json=signup_body(
        name=formula, street="@SUM(A1)", box="+1+1"))
    assert response.status_code == 201
    household = db_session.get(Household, db_session.get(  # type: ignore[union-attr]
        Participation, response.json()["id"]).household_id)
    assert household is not None
    _put_in_the_batch(db_session, world, household)
    web_login(client, db_session, user=world.staff)
    households_csv = client.get(f"/beheer/wijken/{world.campaign.slug}/huishoudens.csv")
    web_login(client, db_session, user=world.contractor_user)
    batch_csv = client.get(f"/aannemer/batches/{world.batch.id}.csv")
    for export in (households_csv, batch_csv):
        assert export.status_code == 200
        cells = [cell for row in csv.reader(io.StringIO(export.text.lstrip("\ufeff")),
                                            delimiter=";") for cell in row]
        assert f"'{formula}" in cells and "'@SUM(A1)" in cells
        assert not any(cell[:1] in ("=", "@") for cell in cells)


# --- SQL metacharacters ----------------------------------------------------------------------


def test_sql_metacharacters_are_stored_as_typed_and_harmless(
    client: TestClient, db_session: Session, world: World
) -> None:
    response = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                           json=signup_body(name=SQL, street=SQL, box="1'--"))
    assert response.status_code == 201
    participation = db_session.get(Participation, response.json()["id"])
    household = db_session.get(Household, participation.household_id)  # type: ignore[union-attr]
    assert household is not None and (household.name, household.street) == (SQL, SQL)
    assert row_counts(db_session)["Household"] > 1  # the table is still there

    headers = world.staff_headers(db_session)
    everyone = client.get(f"/api/v1/campaigns/{world.campaign.slug}/households",
                          headers=headers).json()["total"]
    for q, expected in ((SQL, 1), ("' OR '1'='1", 0), ("%", 1), ("_", 1), ("\\", 1)):
        found = client.get(f"/api/v1/campaigns/{world.campaign.slug}/households",
                           params={"q": q}, headers=headers)
        assert found.status_code == 200
        assert found.json()["total"] == expected, (q, found.json()["total"], everyone)
    audit = client.get("/api/v1/audit", params={"actor": "' OR 1=1 --"}, headers=headers)
    assert audit.status_code == 200 and audit.json()["total"] == 0
    assert client.get(f"/api/v1/campaigns/{world.campaign.slug}'--").status_code == 404

    web_login(client, db_session, user=world.staff)
    page = client.get(f"/beheer/wijken/{world.campaign.slug}/huishoudens/{household.id}")
    assert "O&#39;Brien&#34;; DROP TABLE household;-- %_\\" in page.text


# --- negative and huge numbers -----------------------------------------------------------------


def test_bad_sign_up_quantities_are_422_on_quantity(
    client: TestClient, world: World, unchanged: None, subtests: pytest.Subtests
) -> None:
    for quantity in (-1, -0.01, 100_001, 1e12, 10**30, "veel", [1], {}):
        with subtests.test(quantity=quantity):
            body = signup_body()
            body["quantity"] = quantity
            response = client.post(f"/api/v1/offers/{world.offer.id}/participations", json=body)
            assert response.status_code == 422
            assert ["body", "quantity"] in locs(response)


def test_a_boolean_sign_up_quantity_is_422_on_quantity(
    client: TestClient, db_session: Session, world: World
) -> None:
    before = row_counts(db_session)
    body = signup_body()
    body["quantity"] = True
    response = client.post(f"/api/v1/offers/{world.offer.id}/participations", json=body)
    assert (response.status_code, row_counts(db_session)) == (422, before)
    assert ["body", "quantity"] in locs(response)


def test_bad_quantities_in_the_form_come_back_next_to_the_field(
    client: TestClient, world: World, unchanged: None, subtests: pytest.Subtests
) -> None:
    csrf = anonymous_csrf(client, world)
    for quantity in ("-5", "1e999", "nan", "inf", "99999999999", "12,5,3"):
        with subtests.test(quantity=quantity):
            response = client.post(offer_url(world), data=signup_form(csrf, quantity=quantity))
            assert response.status_code == 422
            assert_error_next_to(response.text, "quantity")


BAD_OFFER_NUMBERS: list[tuple[dict[str, Any], list[Any]]] = [
    ({"capacity": 0}, ["body", "capacity"]),
    ({"capacity": -5}, ["body", "capacity"]),
    ({"capacity": 10**12}, ["body", "capacity"]),
    ({"capacity": 2**63}, ["body", "capacity"]),
    ({"contractor_id": 2**40}, ["body", "contractor_id"]),
    ({"price_tiers": [{"min_participants": 0, "unit_price_cents": -1}]},
     ["body", "price_tiers", 0, "unit_price_cents"]),
    ({"price_tiers": [{"min_participants": 0, "unit_price_cents": 10**15}]},
     ["body", "price_tiers", 0, "unit_price_cents"]),
    ({"price_tiers": [{"min_participants": 0, "unit_price_cents": 100},
                      {"min_participants": 10**12, "unit_price_cents": 90}]},
     ["body", "price_tiers", 1, "min_participants"]),
    ({"market_unit_price_cents": -3}, ["body", "market_unit_price_cents"]),
    ({"vat_rate": 12}, ["body", "vat_rate"]),
]


def test_bad_offer_numbers_are_422_on_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    headers = world.staff_headers(db_session)
    for change, loc in BAD_OFFER_NUMBERS:
        with subtests.test(change=change):
            body: dict[str, Any] = {
                "measure": "facade_insulation", "title": "Gevelisolatie",
                "contractor_id": world.contractor.id, "unit": "m2", "vat_rate": 6,
                "capacity": 60, "price_tiers": [{"min_participants": 0,
                                                 "unit_price_cents": 12000}],
                "signup_opens_at": "2026-02-01T00:00:00+01:00",
                "signup_closes_at": "2026-06-30T23:59:59+02:00", **change,
            }
            created = client.post(f"/api/v1/campaigns/{world.campaign.slug}/offers", json=body,
                                  headers=headers)
            assert created.status_code == 422
            assert loc in locs(created)
            changed = client.patch(f"/api/v1/offers/{world.offer.id}", json=change,
                                   headers=headers)
            assert changed.status_code == 422
            assert loc in locs(changed)


def test_bad_numbers_and_dates_in_the_offer_form_come_back_next_to_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    csrf = web_login(client, db_session, user=world.staff)
    opens = datetime.now().strftime("%Y-%m-%dT%H:%M")
    closes = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    good = {
        "measure": "facade_insulation", "title": "Gevelisolatie", "description": "",
        "lot": "1", "procurement_reference": "", "contractor_id": str(world.contractor.id),
        "unit": "m2", "vat_rate": "6", "capacity": "10", "signup_opens_at": opens,
        "signup_closes_at": closes, "price_tiers-0-min_participants": "0",
        "price_tiers-0-unit_price": "120,00", "csrf_token": csrf,
    }
    for field, value in (
        ("capacity", "-3"), ("capacity", "0"), ("capacity", "99999999999"), ("capacity", "tien"),
        ("price_tiers-0-unit_price", "-5"), ("price_tiers-0-unit_price", "1e30"),
        ("price_tiers-0-unit_price", "veel"), ("price_tiers-0-min_participants", "-1"),
        ("signup_opens_at", "31/12/2026"), ("signup_opens_at", "0001-01-01T00:00"),
        ("signup_closes_at", "morgen"), ("signup_closes_at", "2026-02-30T10:00"),
    ):
        for url in (f"/beheer/wijken/{world.campaign.slug}/aanbod/nieuw",
                    f"/beheer/aanbod/{world.offer.id}/bewerken"):
            with subtests.test(field=field, value=value, url=url):
                response = client.post(url, data=good | {field: value})
                assert response.status_code == 422
                assert_error_next_to(response.text, field)


def test_bad_quote_line_numbers_are_422_on_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    headers = world.contractor_headers(db_session)
    before = _quote_lines(db_session)
    for line, field in (
        ({"quantity": -1}, "quantity"), ({"quantity": 0}, "quantity"),
        ({"quantity": 1e12}, "quantity"), ({"unit_price_cents": -1}, "unit_price_cents"),
        ({"unit_price_cents": 10**12}, "unit_price_cents"),
        ({"unit_price_cents": 1.5}, "unit_price_cents"),
    ):
        with subtests.test(line=line):
            body = {"lines": [{"description": "Isolatie", "quantity": 10, "unit": "m2",
                               "unit_price_cents": 4500, **line}],
                    "vat_rate": 6, "valid_until": (date.today() + timedelta(days=30)).isoformat(),
                    "lead_time_weeks": 4, "warranty_years": 10}
            response = client.post(f"/api/v1/quote-requests/{world.quote_request.id}/quotes",
                                   json=body, headers=headers)
            assert response.status_code == 422
            assert ["body", "lines", 0, field] in locs(response)
            assert _quote_lines(db_session) == before


def test_bad_quote_form_input_comes_back_next_to_the_field(
    client: TestClient, db_session: Session, world: World, subtests: pytest.Subtests
) -> None:
    csrf = web_login(client, db_session, user=world.contractor_user)
    before = _quote_lines(db_session)
    good: dict[str, Any] = {
        "description": ["Dakisolatie"], "quantity": ["60"], "unit": ["m2"],
        "unit_price": ["45,00"], "vat_rate": "6",
        "valid_until": (date.today() + timedelta(days=60)).isoformat(),
        "lead_time_weeks": "6", "warranty_years": "10", "notes": "", "action": "submit",
        "csrf_token": csrf,
    }
    for field, value, error_field in (
        ("quantity", ["-1"], "lines-0-quantity"), ("quantity", ["0"], "lines-0-quantity"),
        ("quantity", ["1e12"], "lines-0-quantity"), ("unit_price", ["-5"], "lines-0-unit_price"),
        ("unit_price", ["1e30"], "lines-0-unit_price"),
        ("valid_until", "31-12-2026", "valid_until"), ("valid_until", "morgen", "valid_until"),
        ("lead_time_weeks", "-2", "lead_time_weeks"), ("warranty_years", "9999",
                                                        "warranty_years"),
    ):
        with subtests.test(field=field, value=value):
            response = client.post(f"/aannemer/offerteaanvragen/{world.quote_request.id}",
                                   data=good | {field: value})
            assert response.status_code == 422
            assert_error_next_to(response.text, error_field)
            assert _quote_lines(db_session) == before
            db_session.refresh(world.quote)
            assert (world.quote.lead_time_weeks, world.quote.warranty_years) == (6, 10)


def test_bad_status_change_input_comes_back_next_to_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    csrf = web_login(client, db_session, user=world.contractor_user)
    url = f"/aannemer/batches/{world.batch.id}/deelnames/{world.assigned.id}/status"
    for fields, error_field in (
        ({"status": "visit_planned", "occurred_on": "12/05/2026"}, "occurred_on"),
        ({"status": "visit_planned", "occurred_on": "gisteren"}, "occurred_on"),
        ({"status": "no_such_status"}, "status"),
        ({"status": "measured", "measured_quantity": "-4"}, "measured_quantity"),
        ({"status": "measured", "measured_quantity": "1e9"}, "measured_quantity"),
    ):
        with subtests.test(fields=fields):
            if fields["status"] == "measured" and world.assigned.status != "visit_planned":
                world.assigned.status = "visit_planned"
                db_session.add(world.assigned)
                db_session.flush()
            before = world.assigned.status
            response = client.post(url, data={**fields, "csrf_token": csrf})
            assert response.status_code == 422
            assert_error_next_to(response.text, f"p{world.assigned.id}-{error_field}")
            db_session.refresh(world.assigned)
            assert (world.assigned.status, world.assigned.measured_quantity) == (before, None)


def test_bad_premium_rule_input_comes_back_next_to_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    csrf = web_login(client, db_session, user=world.staff)
    good = {"measure": "roof_insulation", "income_category": "cat3", "kind": "percentage",
            "rate": "20", "cap": "", "valid_from": "2026-01-01", "valid_to": "",
            "source_url": "", "csrf_token": csrf}
    for fields, error_field in (
        ({"kind": "percentage", "rate": "-5"}, "rate"),
        ({"kind": "percentage", "rate": "250"}, "rate"),
        ({"kind": "per_unit", "rate": "99999999999999999999"}, "rate"),
        ({"kind": "per_unit", "rate": "1e400"}, "rate"),
        ({"cap": "99999999999999999999"}, "cap"),
        ({"cap": "-10"}, "cap"),
        ({"valid_from": "01-01-2026"}, "valid_from"),
        ({"valid_to": "2026-13-01"}, "valid_to"),
    ):
        with subtests.test(fields=fields):
            response = client.post("/beheer/premies", data=good | fields)
            assert response.status_code == 422
            assert_error_next_to(response.text, error_field)


def test_bad_energy_bill_comes_back_next_to_the_field(
    client: TestClient, db_session: Session, world: World, subtests: pytest.Subtests
) -> None:
    csrf = web_login(client, db_session, household=world.resident)
    headers = world.resident_headers(db_session)
    for fields, error_field in (
        ({"energy_kwh_year": "-100"}, "energy_kwh_year"),
        ({"energy_kwh_year": "99999999999"}, "energy_kwh_year"),
        ({"energy_cost_euros_year": "-5"}, "energy_cost_euros_year"),
        ({"energy_cost_euros_year": "1e30"}, "energy_cost_euros_year"),
    ):
        with subtests.test(fields=fields):
            form = {"energy_kwh_year": "3500", "energy_cost_euros_year": "1200",
                    "csrf_token": csrf, **fields}
            response = client.post("/mijn/energie", data=form)
            assert response.status_code == 422
            assert_error_next_to(response.text, error_field)
            db_session.refresh(world.resident)
            assert world.resident.energy_kwh_year is None
    for body in ({"energy_kwh_year": -1}, {"energy_kwh_year": 10**12},
                 {"energy_cost_cents_year": 10**15}, {"build_year": 10**20}):
        with subtests.test(body=body):
            api = client.patch("/api/v1/me", headers=headers, json=body)
            assert api.status_code == 422
            assert ["body", next(iter(body))] in locs(api)


def test_ids_out_of_range_are_simply_not_found(
    client: TestClient, db_session: Session, world: World, unchanged: None
) -> None:
    for too_big in (2**31, 2**63, 10**30):
        assert client.post(f"/api/v1/offers/{too_big}/participations",
                           json=signup_body()).status_code == 404
        assert client.get(f"/wijken/{world.campaign.slug}/aanbod/{too_big}").status_code == 404
    web_login(client, db_session, user=world.staff)
    assert client.get(f"/beheer/aanbod/{2**63}/bewerken").status_code == 404
    headers = world.staff_headers(db_session)
    batch = client.post(f"/api/v1/groups/{world.group.id}/batches",
                        json={"contractor_id": 2**63}, headers=headers)
    assert batch.status_code == 422 and ["body", "contractor_id"] in locs(batch)
    audit = client.get("/api/v1/audit", params={"household_id": 2**63}, headers=headers)
    assert audit.status_code == 422 and ["query", "household_id"] in locs(audit)
    assert client.get("/api/v1/audit", params={"page": 10**12},
                      headers=headers).status_code == 422


# --- dates in the wrong format -----------------------------------------------------------------


def test_bad_campaign_dates_are_422_on_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    headers = world.staff_headers(db_session)
    csrf = web_login(client, db_session, user=world.staff)
    for field, value in (
        ("starts_on", "01/02/2026"), ("starts_on", "2026-13-45"), ("starts_on", "gisteren"),
        ("ends_on", "2026-02-30"), ("ends_on", 20261231),
        ("starts_on", "2026-01-01T10:00:00+01:00x"),
    ):
        with subtests.test(field=field, value=value):
            body = {"slug": "datumwijk", "name": "Datumwijk", "municipality": "Oostende",
                    "postcodes": ["8400"], field: value}
            created = client.post("/api/v1/campaigns", json=body, headers=headers)
            assert created.status_code == 422 and ["body", field] in locs(created)
            changed = client.patch(f"/api/v1/campaigns/{world.campaign.slug}",
                                   json={field: value}, headers=headers)
            assert changed.status_code == 422 and ["body", field] in locs(changed)
            form = client.post("/beheer/wijken/nieuw", data={
                "slug": "datumwijk", "name": "Datumwijk", "municipality": "Oostende",
                "postcodes": "8400", "status": "draft", field: str(value), "csrf_token": csrf})
            assert form.status_code == 422
            assert_error_next_to(form.text, field)


def test_bad_offer_moments_are_422_on_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    headers = world.staff_headers(db_session)
    for field, value in (
        ("signup_opens_at", "2026-02-01"),  # no offset
        ("signup_opens_at", "01/02/2026 10:00"),
        ("signup_closes_at", "0001-01-01T00:00:00+01:00"),
        ("signup_closes_at", "9999-12-31T23:59:59-05:00"),
        ("signup_opens_at", "2026-02-01T25:00:00+01:00"),
    ):
        with subtests.test(field=field, value=value):
            response = client.patch(f"/api/v1/offers/{world.offer.id}", json={field: value},
                                    headers=headers)
            assert response.status_code == 422
            assert ["body", field] in locs(response)


def test_bad_quote_dates_are_422_on_the_field(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    staff, contractor = world.staff_headers(db_session), world.contractor_headers(db_session)
    for deadline in ("morgen", "0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00"):
        with subtests.test(deadline=deadline):
            response = client.post(
                f"/api/v1/groups/{world.quote_group.id}/quote-requests", headers=staff,
                json={"measure": "roof_insulation", "contractor_ids": [world.contractor.id],
                      "deadline": deadline})
            assert response.status_code == 422 and ["body", "deadline"] in locs(response)
    for valid_until in ("31-12-2026", "2026-12-31T10:00", "gisteren"):
        with subtests.test(valid_until=valid_until):
            quote = {"lines": [{"description": "Isolatie", "quantity": 10, "unit": "m2",
                                "unit_price_cents": 4500}], "vat_rate": 6,
                     "lead_time_weeks": 4, "warranty_years": 10, "valid_until": valid_until}
            response = client.post(f"/api/v1/quote-requests/{world.quote_request.id}/quotes",
                                   json=quote, headers=contractor)
            assert response.status_code == 422 and ["body", "valid_until"] in locs(response)


def test_bad_dates_in_filters_are_ignored_or_refused_never_a_500(
    client: TestClient, db_session: Session, world: World
) -> None:
    headers = world.staff_headers(db_session)
    for params, status in (({"date_from": "0001-01-01"}, 200), ({"date_to": "9999-12-31"}, 200),
                           ({"date_from": "31-12-2026"}, 422), ({"date_to": "gisteren"}, 422)):
        response = client.get("/api/v1/audit", params=params, headers=headers)
        assert response.status_code == status, params
        if status == 422:
            assert ["query", next(iter(params))] in locs(response)
    web_login(client, db_session, user=world.staff)
    for query in ("date_from=0001-01-01&date_to=9999-12-31", "date_from=31-12-2026"):
        assert client.get(f"/beheer/audit?{query}").status_code == 200


# --- helpers -----------------------------------------------------------------------------------


def _put_in_the_batch(session: Session, world: World, household: Household) -> None:
    """Make the household a member of the world's batch, its sign-up assigned."""
    session.add(GroupMember(group_id=world.group.id, household_id=household.id))  # type: ignore[arg-type]
    for participation in session.exec(select(Participation).where(
            Participation.household_id == household.id)).all():
        participation.status = "assigned"
        session.add(participation)
    household.share_contact_with_contractor = True
    session.add(household)
    session.flush()


def _quote_lines(session: Session) -> list[tuple[str, float, int]]:
    session.expire_all()
    return [(line.description, line.quantity, line.unit_price_cents)
            for line in session.exec(select(QuoteLine).order_by(QuoteLine.id)).all()]


# --- whole numbers in forms and query strings: one strict parser -------------------------------
#
# `str.isdigit()` takes "²" (which `int()` then refuses: a 500) and `int()` takes "١٢" and numbers
# no column holds (a 500 in the database driver). Every page reads whole numbers through
# `validation.parse_int`: a bad form value brings the form back (422, the message next to the
# field), a bad query value is ignored (the page as without it).

NINES = "9" * 25


@pytest.mark.parametrize(("text", "expected"), [
    ("12", 12), (" 12 ", 12), ("007", 7), ("0", 0), ("2147483647", 2_147_483_647),
    ("²", None), ("١٢", None), ("-1", None), ("+1", None), ("1e3", None), ("1_000", None),
    ("1.000", None), ("12a", None), (NINES, None), ("2147483648", None), ("", None),
    ("   ", None), (None, None), ("0" * 40 + "5", 5),
])
def test_parse_int_takes_only_ascii_digits_in_range(text: str | None, expected: int | None
                                                    ) -> None:
    from app.services.validation import parse_int

    assert parse_int(text) == expected


def test_parse_int_keeps_to_the_callers_bounds() -> None:
    from app.services.validation import parse_int

    assert parse_int("0", minimum=1) is None
    assert parse_int("1", minimum=1) == 1
    assert parse_int("501", maximum=500) is None
    assert parse_int("500", maximum=500) == 500


def _staff(client: TestClient, session: Session, world: World) -> str:
    return web_login(client, session, user=world.staff)


def _resident(client: TestClient, session: Session, world: World) -> str:
    return web_login(client, session, household=world.resident)


def _contractor(client: TestClient, session: Session, world: World) -> str:
    return web_login(client, session, user=world.contractor_user)


def _groups(world: World) -> str:
    return f"/beheer/wijken/{world.campaign.slug}/groepen"


def _quote_form(world: World, csrf: str, **fields: Any) -> dict[str, Any]:
    return {"description": ["Dakisolatie"], "quantity": ["60"], "unit": ["m2"],
            "unit_price": ["45,00"], "vat_rate": "6",
            "valid_until": (date.today() + timedelta(days=60)).isoformat(),
            "lead_time_weeks": "6", "warranty_years": "10", "notes": "", "action": "submit",
            "csrf_token": csrf, **fields}


def _premium_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"measure": "roof_insulation", "income_category": "cat3", "kind": "percentage",
            "rate": "20", "cap": "", "valid_from": "2026-01-01", "valid_to": "",
            "source_url": "", "csrf_token": csrf, **fields}


def _quote_request_form(world: World, csrf: str, **fields: Any) -> dict[str, Any]:
    return {"group_id": str(world.quote_group.id), "measure": "roof_insulation", "unit": "m2",
            "description": "", "deadline": (datetime.now() + timedelta(days=3)).strftime(
                "%Y-%m-%dT%H:%M"), "contractor_ids": [str(world.contractor.id)],
            "market_unit_price": "", "csrf_token": csrf, **fields}


def _suggest_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"by": "street", "min_size": "2", "max_size": "10", "offer_id": "",
            "csrf_token": csrf, **fields}


# (log-in, method, URL, form or None, status, field whose message must be next to it, or a
# message that must be on the page). A query value that is not a number is ignored: 200.
BAD_NUMBER_CASES: dict[str, tuple[Any, ...]] = {
    "audit household_id=²": (_staff, "GET", lambda w: "/beheer/audit?household_id=²",
                             None, 200, None),
    "audit household_id=nines": (_staff, "GET",
                                 lambda w: f"/beheer/audit?household_id={NINES}",
                                 None, 200, None),
    "audit page=²": (_staff, "GET", lambda w: "/beheer/audit?page=²", None, 200, None),
    "audit page=١٢": (_staff, "GET", lambda w: "/beheer/audit?page=١٢", None, 200, None),
    "households page=²": (_staff, "GET", lambda w: f"/beheer/wijken/{w.campaign.slug}"
                          "/huishoudens?page=²", None, 200, None),
    "claims page=²": (_staff, "GET", lambda w: "/beheer/nakijken?page=²", None, 200, None),
    "premiums bewerk=nines": (_staff, "GET", lambda w: f"/beheer/premies?bewerk={NINES}",
                              None, 200, None),
    "premiums bewerk=²": (_staff, "GET", lambda w: "/beheer/premies?bewerk=²", None, 200, None),
    "quote requests group_id=nines": (_staff, "GET",
                                      lambda w: f"/beheer/offertes?group_id={NINES}",
                                      None, 200, None),
    "new quote request group_id=nines": (_staff, "GET",
                                         lambda w: f"/beheer/offertes/nieuw?group_id={NINES}",
                                         None, 200, None),
    "group path id=nines": (_staff, "POST", lambda w: f"{_groups(w)}/{NINES}/naam",
                            lambda w, csrf: {"name": "x", "csrf_token": csrf}, 404, None),
    "household path id=nines": (_staff, "GET", lambda w: f"/beheer/wijken/{w.campaign.slug}"
                                f"/huishoudens/{NINES}", None, 404, None),
    "move to_group_id=²": (_staff, "POST", lambda w: f"{_groups(w)}/{w.quote_group.id}/verplaats",
                           lambda w, csrf: {"household_id": str(w.resident.id),
                                            "to_group_id": "²", "csrf_token": csrf},
                           422, "Kies een groep."),
    "move to_group_id=nines": (_staff, "POST",
                               lambda w: f"{_groups(w)}/{w.quote_group.id}/verplaats",
                               lambda w, csrf: {"household_id": str(w.resident.id),
                                                "to_group_id": NINES, "csrf_token": csrf},
                               422, "Kies een groep."),
    "move household_id=nines": (_staff, "POST",
                                lambda w: f"{_groups(w)}/{w.quote_group.id}/verplaats",
                                lambda w, csrf: {"household_id": NINES,
                                                 "to_group_id": str(w.group.id),
                                                 "csrf_token": csrf},
                                422, "Kies een huishouden van deze groep."),
    "batch contractor_id=²": (_staff, "POST", lambda w: f"{_groups(w)}/{w.group.id}/batch",
                              lambda w, csrf: {"contractor_id": "²", "csrf_token": csrf},
                              422, lambda w: f"group-{w.group.id}-contractor_id"),
    "batch contractor_id=nines": (_staff, "POST", lambda w: f"{_groups(w)}/{w.group.id}/batch",
                                  lambda w, csrf: {"contractor_id": NINES, "csrf_token": csrf},
                                  422, lambda w: f"group-{w.group.id}-contractor_id"),
    "batch offer_id=nines": (_staff, "POST", lambda w: f"{_groups(w)}/{w.group.id}/batch",
                             lambda w, csrf: {"contractor_id": str(w.contractor.id),
                                              "offer_id": NINES, "csrf_token": csrf},
                             422, lambda w: f"group-{w.group.id}-contractor_id"),
    "batch offer_id=²": (_staff, "POST", lambda w: f"{_groups(w)}/{w.group.id}/batch",
                         lambda w, csrf: {"contractor_id": str(w.contractor.id),
                                          "offer_id": "²", "csrf_token": csrf},
                         422, lambda w: f"group-{w.group.id}-contractor_id"),
    "suggestion min_size=²": (_staff, "POST", lambda w: f"{_groups(w)}/voorstel",
                              lambda w, csrf: _suggest_form(csrf, min_size="²"), 422,
                              "min_size"),
    "suggestion max_size=١٢": (_staff, "POST", lambda w: f"{_groups(w)}/voorstel",
                               lambda w, csrf: _suggest_form(csrf, max_size="١٢"), 422,
                               "max_size"),
    "suggestion offer_id=²": (_staff, "POST", lambda w: f"{_groups(w)}/voorstel",
                              lambda w, csrf: _suggest_form(csrf, offer_id="²"), 422,
                              "offer_id"),
    "suggestion shown offer_id=nines": (_staff, "GET", lambda w: f"{_groups(w)}/voorstel?"
                                        f"by=street&min_size=2&max_size=10&offer_id={NINES}"
                                        "&toon=1", None, 422, "offer_id"),
    "premium rule_id=²": (_staff, "POST", lambda w: "/beheer/premies",
                          lambda w, csrf: _premium_form(csrf, rule_id="²"), 404, None),
    "premium rule_id=nines": (_staff, "POST", lambda w: "/beheer/premies",
                              lambda w, csrf: _premium_form(csrf, rule_id=NINES), 404, None),
    "premium rate=²": (_staff, "POST", lambda w: "/beheer/premies",
                       lambda w, csrf: _premium_form(csrf, rate="²"), 422, "rate"),
    "premium rate=nines": (_staff, "POST", lambda w: "/beheer/premies",
                           lambda w, csrf: _premium_form(csrf, rate=NINES), 422, "rate"),
    "quote request group_id=²": (_staff, "POST", lambda w: "/beheer/offertes/nieuw",
                                 lambda w, csrf: _quote_request_form(w, csrf, group_id="²"),
                                 422, "group_id"),
    "quote request group_id=nines": (_staff, "POST", lambda w: "/beheer/offertes/nieuw",
                                     lambda w, csrf: _quote_request_form(w, csrf,
                                                                         group_id=NINES),
                                     422, "group_id"),
    "quote request contractor_ids=²": (_staff, "POST", lambda w: "/beheer/offertes/nieuw",
                                       lambda w, csrf: _quote_request_form(
                                           w, csrf, contractor_ids=["²"]),
                                       422, "Kies minstens één aannemer."),
    "offer form remove row ²": (_staff, "POST", lambda w: f"/beheer/aanbod/{w.offer.id}"
                                "/bewerken", lambda w, csrf: {
                                    "action": "remove_price_tiers-²", "csrf_token": csrf,
                                    "price_tiers-0-min_participants": "0",
                                    "price_tiers-0-unit_price": "120,00"}, 200, None),
    "paper intake build_year=١٩٩٠": (_staff, "POST", lambda w: f"/beheer/wijken/"
                                     f"{w.campaign.slug}/huishoudens/nieuw",
                                     lambda w, csrf: {
                                         "offer_id": str(w.offer.id), "name": "An Peeters",
                                         "street": "Torhoutsesteenweg", "house_number": "41",
                                         "postcode": "8400", "build_year": "١٩٩٠",
                                         "quantity": "40", "consent": "true",
                                         "csrf_token": csrf}, 422, "build_year"),
    "quote vat_rate=²": (_contractor, "POST",
                         lambda w: f"/aannemer/offerteaanvragen/{w.quote_request.id}",
                         lambda w, csrf: _quote_form(w, csrf, vat_rate="²"), 422, "vat_rate"),
    "energy kwh=²": (_resident, "POST", lambda w: "/mijn/energie",
                     lambda w, csrf: {"energy_kwh_year": "²", "energy_cost_euros_year": "",
                                      "csrf_token": csrf}, 422, "energy_kwh_year"),
    "energy kwh=١٢": (_resident, "POST", lambda w: "/mijn/energie",
                      lambda w, csrf: {"energy_kwh_year": "١٢", "energy_cost_euros_year": "",
                                       "csrf_token": csrf}, 422, "energy_kwh_year"),
    "energy kwh=nines": (_resident, "POST", lambda w: "/mijn/energie",
                         lambda w, csrf: {"energy_kwh_year": NINES,
                                          "energy_cost_euros_year": "", "csrf_token": csrf},
                         422, "energy_kwh_year"),
}


@pytest.mark.parametrize("case", list(BAD_NUMBER_CASES))
def test_a_bad_whole_number_on_a_page_is_refused_or_ignored_never_a_500(
    app: FastAPI, db_session: Session, world: World, case: str
) -> None:
    log_in, method, url, form, status, shown = BAD_NUMBER_CASES[case]
    before = row_counts(db_session)
    with TestClient(app, raise_server_exceptions=False) as client:
        csrf = log_in(client, db_session, world)
        response = client.request(method, url(world),
                                  data=form(world, csrf) if form else None,
                                  headers={"X-CSRF-Token": csrf} if method == "POST" else {},
                                  follow_redirects=False)
    assert response.status_code == status, (case, response.status_code, response.text[:300])
    if callable(shown):
        shown = shown(world)
    if shown and " " in shown:  # a message (its field is not on the page, or a fieldset)
        assert shown in response.text
    elif shown:
        assert_error_next_to(response.text, shown)
    assert row_counts(db_session) == before


# --- invisible and direction-changing characters -----------------------------------------------
#
# "Jan\u202eJanssens" shows as "JansnessnaJ" on a staff page; "Jan\u200bJ" looks like "JanJ" and
# matches no search. Refused with 422 on that field wherever text is typed (API and forms); a CSV
# never carries one, even from a row stored before the rule.

INVISIBLE = ["Jan\u202eJanssens", "Jan\u200bJ", "Jan\u2066Janssens\u2069", "\ufeffJan",
             "Jan\u061cJ", "Jan\u00adJanssens", "Jan\U000e0041J", "Jan\u3164"]
INVISIBLE_MESSAGE = "onzichtbaar teken"


@pytest.mark.parametrize("name", INVISIBLE)
def test_a_sign_up_with_an_invisible_character_in_the_name_is_422_on_name(
    client: TestClient, world: World, unchanged: None, name: str
) -> None:
    api = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                      json=signup_body(name=name))
    assert api.status_code == 422
    assert ["body", "household", "name"] in locs(api)
    assert INVISIBLE_MESSAGE in api.text
    csrf = anonymous_csrf(client, world)
    page = client.post(offer_url(world), data=signup_form(csrf, name=name))
    assert page.status_code == 422
    assert_error_next_to(page.text, "name")
    assert INVISIBLE_MESSAGE in page.text


def test_invisible_characters_in_an_address_are_422_on_that_field(
    client: TestClient, world: World, unchanged: None, subtests: pytest.Subtests
) -> None:
    csrf = anonymous_csrf(client, world)
    for field, value in (("street", "Torhoutse\u202esteenweg"), ("house_number", "4\u200b1"),
                         ("box", "\u200e3"), ("city", "Oostende\u2067")):
        with subtests.test(field=field):
            api = client.post(f"/api/v1/offers/{world.offer.id}/participations",
                              json=signup_body(**{field: value}))
            assert api.status_code == 422 and ["body", "household", field] in locs(api)
            page = client.post(offer_url(world), data=signup_form(csrf, **{field: value}))
            assert page.status_code == 422
            assert_error_next_to(page.text, field)


def test_staff_and_residents_cannot_store_invisible_characters_in_names_either(
    client: TestClient, db_session: Session, world: World, unchanged: None,
    subtests: pytest.Subtests
) -> None:
    name = "Gevel\u202ewerken"
    headers = world.staff_headers(db_session)
    with subtests.test("API contractor"):
        contractor = client.post("/api/v1/contractors", headers=headers, json={
            "name": name, "vat_number": "BE0123456749", "email": "a@example.be"})
        assert contractor.status_code == 422 and ["body", "name"] in locs(contractor)
    with subtests.test("API campaign"):
        campaign = client.patch(f"/api/v1/campaigns/{world.campaign.slug}", headers=headers,
                                json={"name": name})
        assert campaign.status_code == 422 and ["body", "name"] in locs(campaign)
    csrf = web_login(client, db_session, user=world.staff)
    with subtests.test("contractor form"):
        page = client.post("/beheer/aannemers", data={
            "name": name, "vat_number": factories.belgian_vat_number(7_654_329),
            "email": "gevel@example.be", "phone": "", "csrf_token": csrf})
        assert page.status_code == 422
        assert_error_next_to(page.text, "name")
        assert INVISIBLE_MESSAGE in page.text
    with subtests.test("paper intake"):
        page = client.post(f"/beheer/wijken/{world.campaign.slug}/huishoudens/nieuw", data={
            "offer_id": str(world.offer.id), "name": "Jan\u200bJ", "phone": "+32470123499",
            "street": "Torhoutsesteenweg", "house_number": "43", "postcode": "8400",
            "quantity": "40", "consent": "true", "csrf_token": csrf})
        assert page.status_code == 422
        assert_error_next_to(page.text, "name")
    with subtests.test("group name"):
        page = client.post(f"/beheer/wijken/{world.campaign.slug}/groepen/{world.group.id}/naam",
                           data={"name": name, "csrf_token": csrf})
        assert page.status_code == 422
        assert_error_next_to(page.text, f"group-{world.group.id}-name")
    with subtests.test("resident's own details"):
        resident_csrf = web_login(client, db_session, household=world.resident)
        page = client.post("/mijn/gegevens", data={
            "name": "Jan\u202eJanssens", "email": world.resident.email, "phone": "",
            "street": world.resident.street, "house_number": world.resident.house_number,
            "box": "", "postcode": "8400", "csrf_token": resident_csrf})
        assert page.status_code == 422
        assert_error_next_to(page.text, "name")
        api = client.patch("/api/v1/me", headers=world.resident_headers(db_session),
                           json={"name": "Jan\u200bJ"})
        assert api.status_code == 422
        db_session.refresh(world.resident)
        assert "\u200b" not in world.resident.name and "\u202e" not in world.resident.name


def test_a_csv_export_never_carries_an_invisible_character(
    client: TestClient, db_session: Session, world: World
) -> None:
    # Rows stored before the rule (or by hand): the exports leave the characters out.
    household = factories.make_household(db_session, campaign=world.campaign,
                                         name="Jan\u202eJanssens", street="Kerk\u200bstraat",
                                         house_number="1\u2066", box="\ufeff=1+1")
    factories.make_participation(db_session, household=household, offer=world.offer,
                                 status="registered")
    _put_in_the_batch(db_session, world, household)
    web_login(client, db_session, user=world.staff)
    slug = world.campaign.slug
    exports = [client.get(f"/beheer/wijken/{slug}/huishoudens.csv")]
    exports += [client.get(f"/beheer/wijken/{slug}/dashboard/{table}.csv")
                for table in ("straten",)]
    web_login(client, db_session, user=world.contractor_user)
    exports.append(client.get(f"/aannemer/batches/{world.batch.id}.csv"))
    for export in exports:
        assert export.status_code == 200, export.url
        body = export.text.removeprefix("\ufeff")  # the file's own byte-order mark
        found = re.findall(r"[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]", body)
        assert not found, (export.url, found)
    households_cells = [cell for row in csv.reader(io.StringIO(
        exports[0].text.removeprefix("\ufeff")), delimiter=";") for cell in row]
    assert "JanJanssens" in households_cells and "Kerkstraat" in households_cells
    assert "'=1+1" in households_cells  # no hidden character lets a formula through
