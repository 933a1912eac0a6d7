"""One small but complete world for the bad-input and attack tests: an organisation with an open
campaign, an offer with registered and waitlisted sign-ups, a locked group assigned as a batch,
a quote request with a submitted quote, a premium rule, and a log-in for every role (bearer
tokens for the API, session cookies for the pages).

Everything is made in the test's rolled-back `db_session`, so it works on SQLite and PostgreSQL.

Below it, `PrincipalsMatrix`: a larger world built once per test module for the access matrices
(two organisations with every kind of object, residents A and B logged in by magic link, staff
of both organisations, an admin of the first, two contractors), with one savepoint per request.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.deps import SESSION_COOKIE
from app.middleware import CSRF_COOKIE
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
    PremiumRule,
    Quote,
    QuoteRequest,
    User,
)
from app.models.enums import Role
from app.security import csrf_token_for
from app.services import auth as auth_service
from app.services import premiums, quotes, signups
from app.services.auth import Principal
from tests import factories


@dataclass
class World:
    campaign: Campaign
    contractor: Contractor
    offer: Offer
    staff: User
    contractor_user: User
    resident: Household
    registered: Participation
    waitlisted: Participation
    member: Household
    assigned: Participation
    group: Group
    batch: Batch
    quote_group: Group
    quote_request: QuoteRequest
    quote: Quote
    premium_rule: PremiumRule
    savings_assumption: int = 0
    energy_factor: int = 0

    # --- API bearer tokens -------------------------------------------------------------------

    def staff_headers(self, session: Session) -> dict[str, str]:
        return bearer(auth_service.start_session(session, kind="api", user=self.staff))

    def contractor_headers(self, session: Session) -> dict[str, str]:
        return bearer(auth_service.start_session(session, kind="api", user=self.contractor_user))

    def resident_headers(self, session: Session) -> dict[str, str]:
        return bearer(auth_service.start_session(session, kind="api", household=self.resident))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def staff_principal(campaign: Campaign, user: User | None = None) -> Principal:
    return Principal(role=Role.staff, session_id=0, organisation_id=campaign.organisation_id,
                     user_id=user.id if user else None)


def build_world(session: Session, *, capacity: int = 2) -> World:
    """The world described above; the offer's `capacity` places are taken, one more waits."""
    campaign = factories.make_campaign(session, postcodes=["8400"])
    contractor = factories.make_contractor(session, organisation_id=campaign.organisation_id,
                                           name="Gevelwerken Kust NV")
    offer = factories.make_offer(session, campaign=campaign, contractor=contractor,
                                 capacity=capacity)
    staff = factories.make_user(session, role="staff", organisation_id=campaign.organisation_id)
    contractor_user = factories.make_user(session, role="contractor", contractor=contractor)

    resident = factories.make_household(session, campaign=campaign, street="Meeuwenstraat",
                                        house_number="7")
    registered = factories.make_participation(session, household=resident, offer=offer,
                                              status="registered", quantity=48.5)
    member = factories.make_household(session, campaign=campaign, street="Meeuwenstraat",
                                      house_number="9")
    assigned = factories.make_participation(session, household=member, offer=offer,
                                            status="assigned", quantity=30.0)
    for _ in range(capacity - 2):
        factories.make_participation(session, offer=offer, status="registered")
    waitlisted = factories.make_participation(session, offer=offer, status="waitlisted")

    group = Group(campaign_id=campaign.id, name="Meeuwen", kind="framework",  # type: ignore[arg-type]
                  offer_id=offer.id, locked=True)
    session.add(group)
    session.flush()
    session.add(GroupMember(group_id=group.id, household_id=member.id))  # type: ignore[arg-type]
    batch = Batch(group_id=group.id, contractor_id=contractor.id, offer_id=offer.id)  # type: ignore[arg-type]
    session.add(batch)

    quote_group = Group(campaign_id=campaign.id, name="Daken", kind="quotes",  # type: ignore[arg-type]
                        measure="roof_insulation")
    session.add(quote_group)
    session.flush()
    session.add(GroupMember(group_id=quote_group.id, household_id=resident.id))  # type: ignore[arg-type]
    session.flush()
    staff_as = staff_principal(campaign, staff)
    quote_request = quotes.create_quote_request(
        session, staff_as, quote_group.id,  # type: ignore[arg-type]
        quotes.QuoteRequestCreate(measure="roof_insulation",  # type: ignore[arg-type]
                                  deadline=datetime.now(UTC) + timedelta(days=5),
                                  contractor_ids=[contractor.id]))  # type: ignore[list-item]
    contractor_as = Principal(role=Role.contractor, session_id=0, user_id=contractor_user.id,
                              contractor_id=contractor.id)
    quote, _created = quotes.submit_quote(
        session, contractor_as, quote_request.id,  # type: ignore[arg-type]
        quotes.QuoteInput(lines=[quotes.QuoteLineInput(  # type: ignore[arg-type]
            description="Dakisolatie", quantity=60, unit="m2", unit_price_cents=4500)],
            vat_rate=6, valid_until=date.today() + timedelta(days=60), lead_time_weeks=6,
            warranty_years=10))
    premium_rule = premiums.create_rule(session, staff_as, premiums.PremiumRuleInput(
        measure="roof_insulation", income_category="cat2", kind="percentage",  # type: ignore[arg-type]
        rate=30, cap_cents=200_000, valid_from=date(2026, 1, 1)))
    assumption, factor = _savings_data(session, staff_as, "https://example.be/besparing")
    session.flush()
    return World(campaign=campaign, contractor=contractor, offer=offer, staff=staff,
                 contractor_user=contractor_user, resident=resident, registered=registered,
                 waitlisted=waitlisted, member=member, assigned=assigned, group=group,
                 batch=batch, quote_group=quote_group, quote_request=quote_request, quote=quote,
                 premium_rule=premium_rule, savings_assumption=assumption,
                 energy_factor=factor)


# --- log-in for the pages (cookie sessions) ----------------------------------------------------


CSRF_IN_PAGE = re.compile(r'"X-CSRF-Token": "([0-9a-f]{64})"')


def csrf_of(html: str) -> str:
    match = CSRF_IN_PAGE.search(html)
    assert match, "page carries no CSRF token"
    return match.group(1)


def web_login(client: TestClient, session: Session, *, user: User | None = None,
              household: Household | None = None) -> str:
    """Log the client in with a fresh server-side session; answers the page's CSRF token."""
    token = auth_service.start_session(session, kind="web", user=user, household=household)
    client.cookies.set(SESSION_COOKIE, token)
    return csrf_of(client.get("/privacy").text)


# --- every principal at once: two organisations, two residents, an admin, two contractors ------
#
# The matrices in tests/test_access_matrix_principals_*.py ask every route as each of these
# principals. The world is built once per test module on a connection whose transaction is
# rolled back at the end; every request (a "cell") runs in a savepoint of its own, so a cell that
# erases, withdraws or moves something leaves the world as it was for the next one.

ANONYMOUS = "anonymous"
RESIDENT_A = "resident_a"
RESIDENT_B = "resident_b"
STAFF_A = "staff_a"
STAFF_B = "staff_b"
ADMIN = "admin"
CONTRACTOR_1 = "contractor_1"
CONTRACTOR_2 = "contractor_2"
PRINCIPALS = (ANONYMOUS, RESIDENT_A, RESIDENT_B, STAFF_A, STAFF_B, ADMIN, CONTRACTOR_1,
              CONTRACTOR_2)
RESIDENTS = (RESIDENT_A, RESIDENT_B)
STAFF_AND_ADMIN = (STAFF_A, STAFF_B, ADMIN)
CONTRACTORS = (CONTRACTOR_1, CONTRACTOR_2)
# Who works for which organisation: the admin belongs to organisation a (DESIGN.md: staff and
# admins belong to one organisation; cross-organisation access is explicit, never implied).
ORGANISATION_STAFF = {"a": (STAFF_A, ADMIN), "b": (STAFF_B,)}
# What an HTML page answers a visitor who is not logged in: a 303 to one of these log-in pages.
LOGIN = "the log-in page"
LINK = "the magic-link page"


@dataclass
class OrgSide:
    """One organisation's objects (ids and slugs only: the rows belong to the module's
    transaction, not to any one session)."""

    organisation_id: int
    staff_id: int
    slug: str
    draft_slug: str
    campaign_name: str
    draft_name: str
    contractor_id: int
    second_contractor_id: int
    contractor_name: str
    offer_id: int
    second_offer_id: int
    draft_offer_id: int
    home_1: int  # on organisation a: resident A's household
    home_2: int  # on organisation a: resident B's household
    signup_1: int  # home_1's registered sign-up for the offer
    signup_2: int  # home_2's registered sign-up for the offer
    offered_1: int  # home_1's sign-up for the second offer, with a personal offer open
    member_main: int  # household in the main batch (of the first contractor)
    assigned_main: int
    member_second: int  # household in the second batch (of the second contractor)
    assigned_second: int
    group_main: int  # locked, framework, batch of the first contractor
    group_second: int  # locked, framework, batch of the second contractor
    quote_group: int  # unlocked, quotes for roof insulation; home_1 is its member
    spare_group: int  # unlocked, quotes for roof insulation, empty
    batch_main: int
    batch_second: int
    quote_request: int  # the first contractor is invited and has quoted
    quote: int
    second_quote_request: int  # the second contractor is invited, no quote yet
    premium_rule: int
    premium_source: str
    confirmation_url: str  # the thank-you page of a sign-up made through the offer page
    page_signup: int  # the household of that sign-up
    claim: int  # a stranger's sign-up at home_2's address, held as a claim (identity rule)
    claimant: tuple[str, ...]  # what the stranger typed: name and email
    personal: dict[int, tuple[str, ...]]  # household id -> its name, email and phone
    savings_assumption: int = 0  # the organisation's own savings assumption
    energy_factor: int = 0  # the organisation's own energy price and emission factor


    @property
    def claimant_name(self) -> str:
        return self.claimant[0]


@dataclass
class Cast:
    a: OrgSide
    b: OrgSide
    admin_id: int
    admin_email: str
    grant_on_b: int  # a live access grant on organisation b, held by a third organisation's admin
    contractor_user_ids: dict[str, int]
    households: dict[str, int]  # resident principal -> household id
    bearer: dict[str, dict[str, str]]  # principal -> Authorization header ({} anonymous)
    cookie: dict[str, str]  # principal -> web session token (absent: anonymous)
    api_session_ids: dict[str, int]  # principal -> the id of its bearer token's session row

    def side(self, org: str) -> OrgSide:
        return {"a": self.a, "b": self.b}[org]

    def personal(self) -> dict[int, tuple[str, ...]]:
        return self.a.personal | self.b.personal

    def own_households(self, principal: str) -> set[int]:
        """The households whose personal data this principal may see."""
        if principal in ORGANISATION_STAFF["a"]:
            return set(self.a.personal)
        if principal in ORGANISATION_STAFF["b"]:
            return set(self.b.personal)
        if principal in self.households:
            return {self.households[principal]}
        if principal == CONTRACTOR_1:
            return {self.a.member_main}
        if principal == CONTRACTOR_2:
            return {self.a.member_second}
        return set()

    def foreign_values(self, principal: str) -> list[str]:
        """Names, emails and phone numbers this principal must never be shown: of households
        not its own, and what a stranger typed in a claim on a household (seen by the
        organisation's staff and the household itself)."""
        own = self.own_households(principal)
        values = [value for household_id, values in self.personal().items()
                  if household_id not in own for value in values if value]
        for side in (self.a, self.b):
            if side.home_2 not in own:
                values += [value for value in side.claimant if value]
        return values


_PEOPLE = {  # distinct names, so that finding one in an answer means that household leaked
    "a": ["Alma Verhaeghe", "Bert Desmet", "Cato Lievens", "Dirk Hoste", "Ines Vandenbroucke"],
    "b": ["Elke Vanwalleghem", "Frans Deruyter", "Griet Opsomer", "Hugo Claeys",
          "Jonas Verstraete"],
}


_STRANGERS = {"a": "Vera Vreemdeling", "b": "Wout Wildvreemd"}


def _household(session: Session, campaign: Campaign, org: str, index: int,
               street: str, number: int) -> Household:
    name = _PEOPLE[org][index]
    email = name.lower().replace(" ", ".") + f"@{org}.example.be"
    return factories.make_household(session, campaign=campaign, name=name, email=email,
                                    phone=f"+3247{ord(org)}{index:06d}", street=street,
                                    house_number=str(number), share_contact_with_contractor=True)


def _locked_group(session: Session, campaign: Campaign, name: str, offer: Offer,
                  member: Household, contractor: Contractor) -> tuple[Group, Batch]:
    group = Group(campaign_id=campaign.id, name=name, kind="framework",  # type: ignore[arg-type]
                  offer_id=offer.id, locked=True)
    session.add(group)
    session.flush()
    session.add(GroupMember(group_id=group.id, household_id=member.id))  # type: ignore[arg-type]
    batch = Batch(group_id=group.id, contractor_id=contractor.id, offer_id=offer.id)  # type: ignore[arg-type]
    session.add(batch)
    session.flush()
    return group, batch


def _build_side(session: Session, org: str) -> tuple[OrgSide, User, User, User]:
    """Everything of one organisation; answers the side, its staff and its contractors' users."""
    organisation = factories.make_organisation(session, name=f"Gemeente {org.upper()}")
    staff = factories.make_user(session, role="staff", organisation=organisation)
    campaign = factories.make_campaign(session, organisation=organisation,
                                       name=f"Klimaatwijk {org.upper()} Open")
    draft = factories.make_campaign(session, organisation=organisation, status="draft",
                                    name=f"Klimaatwijk {org.upper()} Ontwerp")
    contractor = factories.make_contractor(session, organisation=organisation,
                                           name=f"Gevelwerken {org.upper()} NV")
    second = factories.make_contractor(session, organisation=organisation,
                                       name=f"Schrijnwerk {org.upper()} BV")
    offer = factories.make_offer(session, campaign=campaign, contractor=contractor)
    second_offer = factories.make_offer(session, campaign=campaign, contractor=second,
                                        measure="window_frames", unit="piece")
    draft_offer = factories.make_offer(session, campaign=draft, contractor=contractor)
    street = "Zeedijk" if org == "a" else "Duinenstraat"
    home_1 = _household(session, campaign, org, 0, street, 1)
    home_2 = _household(session, campaign, org, 1, street, 3)
    member_main = _household(session, campaign, org, 2, street, 5)
    member_second = _household(session, campaign, org, 3, street, 7)
    signup_1 = factories.make_participation(session, household=home_1, offer=offer)
    signup_2 = factories.make_participation(session, household=home_2, offer=offer)
    offered_1 = factories.make_participation(
        session, household=home_1, offer=second_offer, status="offered", quantity=6.0,
        personal_offer_cents=425_000,
        personal_offer_deadline=date.today() + timedelta(days=14))
    assigned_main = factories.make_participation(session, household=member_main, offer=offer,
                                                 status="assigned")
    assigned_second = factories.make_participation(session, household=member_second,
                                                   offer=second_offer, status="assigned",
                                                   quantity=8.0)
    group_main, batch_main = _locked_group(session, campaign, "Zeedijk oneven", offer,
                                           member_main, contractor)
    group_second, batch_second = _locked_group(session, campaign, "Ramen", second_offer,
                                               member_second, second)
    quote_group = Group(campaign_id=campaign.id, name="Daken", kind="quotes",  # type: ignore[arg-type]
                        measure="roof_insulation")
    spare_group = Group(campaign_id=campaign.id, name="Daken twee", kind="quotes",  # type: ignore[arg-type]
                        measure="roof_insulation")
    session.add_all([quote_group, spare_group])
    session.flush()
    session.add(GroupMember(group_id=quote_group.id, household_id=home_1.id))  # type: ignore[arg-type]
    session.flush()

    staff_as = staff_principal(campaign, staff)
    deadline = datetime.now(UTC) + timedelta(days=5)
    quote_request = quotes.create_quote_request(
        session, staff_as, quote_group.id,  # type: ignore[arg-type]
        quotes.QuoteRequestCreate(measure="roof_insulation", deadline=deadline,  # type: ignore[arg-type]
                                  contractor_ids=[contractor.id]))  # type: ignore[list-item]
    second_request = quotes.create_quote_request(
        session, staff_as, quote_group.id,  # type: ignore[arg-type]
        quotes.QuoteRequestCreate(measure="roof_insulation", deadline=deadline,  # type: ignore[arg-type]
                                  contractor_ids=[second.id]))  # type: ignore[list-item]
    users = [factories.make_user(session, role="contractor", contractor=c)
             for c in (contractor, second)]
    contractor_as = Principal(role=Role.contractor, session_id=0, user_id=users[0].id,
                              contractor_id=contractor.id)
    quote, _created = quotes.submit_quote(
        session, contractor_as, quote_request.id,  # type: ignore[arg-type]
        quotes.QuoteInput(lines=[quotes.QuoteLineInput(  # type: ignore[arg-type]
            description="Dakisolatie", quantity=60, unit="m2", unit_price_cents=4500)],
            vat_rate=6, valid_until=date.today() + timedelta(days=60), lead_time_weeks=6,
            warranty_years=10))
    source = f"https://example.be/premies/organisatie-{org}"
    rule = premiums.create_rule(session, staff_as, premiums.PremiumRuleInput(
        measure="roof_insulation", income_category="cat2", kind="percentage",  # type: ignore[arg-type]
        rate=30, cap_cents=200_000, valid_from=date(2026, 1, 1), source_url=source))
    assumption, factor = _savings_data(session, staff_as, f"https://example.be/besparing/{org}")
    claimant = (_STRANGERS[org], _STRANGERS[org].lower().replace(" ", ".") + "@example.org")
    signups.sign_up(session, second_offer.id, {  # type: ignore[arg-type]
        "name": claimant[0], "email": claimant[1], "street": street, "house_number": "3",
        "box": "", "postcode": "8400", "quantity": "4", "consent": "true"})
    claim = session.exec(select(HouseholdClaim).where(
        HouseholdClaim.household_id == home_2.id)).one()
    session.flush()
    personal = {h.id: (h.name, h.email or "", h.phone or "")  # type: ignore[misc]
                for h in (home_1, home_2, member_main, member_second)}
    side = OrgSide(
        organisation_id=organisation.id, staff_id=staff.id,  # type: ignore[arg-type]
        slug=campaign.slug, draft_slug=draft.slug, campaign_name=campaign.name,
        draft_name=draft.name, contractor_id=contractor.id,  # type: ignore[arg-type]
        second_contractor_id=second.id, contractor_name=contractor.name,  # type: ignore[arg-type]
        offer_id=offer.id, second_offer_id=second_offer.id,  # type: ignore[arg-type]
        draft_offer_id=draft_offer.id, home_1=home_1.id, home_2=home_2.id,  # type: ignore[arg-type]
        signup_1=signup_1.id, signup_2=signup_2.id, offered_1=offered_1.id,  # type: ignore[arg-type]
        member_main=member_main.id, assigned_main=assigned_main.id,  # type: ignore[arg-type]
        member_second=member_second.id, assigned_second=assigned_second.id,  # type: ignore[arg-type]
        group_main=group_main.id, group_second=group_second.id,  # type: ignore[arg-type]
        quote_group=quote_group.id, spare_group=spare_group.id,  # type: ignore[arg-type]
        batch_main=batch_main.id, batch_second=batch_second.id,  # type: ignore[arg-type]
        quote_request=quote_request.id, quote=quote.id,  # type: ignore[arg-type]
        second_quote_request=second_request.id, premium_rule=rule.id,  # type: ignore[arg-type]
        premium_source=source, confirmation_url="", page_signup=0, claim=claim.id,  # type: ignore[arg-type]
        claimant=claimant, personal=personal, savings_assumption=assumption,
        energy_factor=factor,
    )
    return side, staff, users[0], users[1]


def _savings_data(session: Session, staff_as: Principal, source: str) -> tuple[int, int]:
    """An organisation's own savings assumption and energy factor: (their ids)."""
    from app.services import estimates

    assumption = estimates.create_assumption(session, staff_as, estimates.parse_assumption_input({
        "measure": "roof_insulation", "kwh_per_unit_year": 80, "valid_from": "2026-01-01",
        "source_url": source}))
    factor = estimates.create_factor(session, staff_as, estimates.parse_factor_input({
        "price_cents_per_mwh": 10_000, "co2_grams_per_kwh": 202, "valid_from": "2026-01-01"}))
    assert assumption.id is not None and factor.id is not None
    return assumption.id, factor.id


class PrincipalsMatrix:
    """The app, a TestClient and the world of every principal on one rolled-back connection.

    Use `with matrix.cell():` around each request: it runs in a savepoint that is rolled back
    afterwards. `api(...)` and `page(...)` send a request as one of the PRINCIPALS."""

    def __init__(self, engine: Engine) -> None:
        from app import db as app_db
        from app.main import create_app

        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        self.session: Session | None = None
        self.app = create_app(start_mail_sender=False)
        self.app.dependency_overrides[app_db.get_session] = self._session_for_request
        self.app.dependency_overrides[app_db.get_read_session] = self._session_for_request
        self.client = TestClient(self.app)
        self.client.__enter__()
        self.csrf_cookie = "matrix-csrf-cookie"
        self.csrf_token = csrf_token_for(self.csrf_cookie)
        try:
            with self.cell(keep=True) as session:
                self.cast = self._build(session)
        except BaseException:
            self.close()
            raise

    def _session_for_request(self) -> Iterator[Session]:
        session = self.session
        assert session is not None, "a request outside `with matrix.cell()`"
        session.commit()  # what the cell built counts as committed, as in the `app` fixture
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    @contextmanager
    def cell(self, *, keep: bool = False) -> Iterator[Session]:
        """A session in a savepoint of its own, rolled back afterwards (kept with `keep`)."""
        savepoint = None if keep else self.connection.begin_nested()
        session = Session(bind=self.connection, join_transaction_mode="create_savepoint",
                          expire_on_commit=False)
        self.session = session
        try:
            yield session
            if keep:
                session.commit()
        finally:
            self.session = None
            session.close()
            if savepoint is not None and savepoint.is_active:
                savepoint.rollback()

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        if self.transaction.is_active:
            self.transaction.rollback()
        self.connection.close()

    # --- the world ---------------------------------------------------------------------------

    def _build(self, session: Session) -> Cast:
        a, staff_a, contractor_1, contractor_2 = _build_side(session, "a")
        b, staff_b, _b1, _b2 = _build_side(session, "b")
        admin = factories.make_user(session, role="admin", organisation_id=a.organisation_id)
        grant_on_b = self._grant_to_a_third_organisations_admin(session, b)
        session.commit()
        users = {STAFF_A: staff_a, STAFF_B: staff_b, ADMIN: admin, CONTRACTOR_1: contractor_1,
                 CONTRACTOR_2: contractor_2}
        bearer = {ANONYMOUS: {}} | {
            name: _bearer_header(auth_service.start_session(session, kind="api", user=user))
            for name, user in users.items()}
        cookie = {name: auth_service.start_session(session, kind="web", user=user)
                  for name, user in users.items()}
        households = {RESIDENT_A: a.home_1, RESIDENT_B: a.home_2}
        session.commit()
        for name, household_id in households.items():  # residents log in by magic link
            bearer[name], cookie[name] = self._magic_link_log_in(session, household_id)
        for org, side in (("a", a), ("b", b)):
            self._sign_up_through_the_page(session, org, side)
        return Cast(a=a, b=b, admin_id=admin.id, admin_email=admin.email,  # type: ignore[arg-type]
                    grant_on_b=grant_on_b,
                    contractor_user_ids={CONTRACTOR_1: contractor_1.id,  # type: ignore[dict-item]
                                         CONTRACTOR_2: contractor_2.id},
                    households=households, bearer=bearer, cookie=cookie,
                    api_session_ids=_session_ids(session, bearer))

    @staticmethod
    def _grant_to_a_third_organisations_admin(session: Session, side: OrgSide) -> int:
        """A platform admin of a third organisation (none of the principals) may act in `side`'s
        organisation for a few hours: a grant the matrices can try to end."""
        from app.services import access

        other = factories.make_organisation(session, name="Intercommunale C")
        holder = factories.make_user(session, role="admin", organisation=other)
        grant = access.grant_access(
            session, access.GrantCreate(email=holder.email, hours=8, reason="Migratie"),
            organisation_id=side.organisation_id, granted_by=None)
        assert grant.id is not None
        return grant.id

    def _magic_link_log_in(self, session: Session,
                           household_id: int) -> tuple[dict[str, str], str]:
        from app.services import mail as mail_service

        api_token = mail_service.mint_magic_link(session, household_id).rsplit("/r/", 1)[1]
        web_token = mail_service.mint_magic_link(session, household_id).rsplit("/r/", 1)[1]
        session.commit()
        answer = self.client.post("/api/v1/auth/resident", json={"token": api_token})
        assert answer.status_code == 200, answer.text
        self.client.cookies.clear()
        self.client.cookies.set(CSRF_COOKIE, self.csrf_cookie)
        page = self.client.post(f"/r/{web_token}", headers={"X-CSRF-Token": self.csrf_token},
                                follow_redirects=False)
        assert page.status_code == 303, page.text
        cookie = page.cookies.get(SESSION_COOKIE)
        assert cookie, "the magic link set no session cookie"
        self.client.cookies.clear()
        return _bearer_header(answer.json()["access_token"]), cookie

    def _sign_up_through_the_page(self, session: Session, org: str, side: OrgSide) -> None:
        """A new household signs up on the offer page: keeps its thank-you page's URL."""
        name = _PEOPLE[org][4]
        email = name.lower().replace(" ", ".") + f"@{org}.example.be"
        self.client.cookies.clear()
        self.client.cookies.set(CSRF_COOKIE, self.csrf_cookie)
        answer = self.client.post(
            f"/wijken/{side.slug}/aanbod/{side.offer_id}",
            data={"name": name, "email": email, "street": "Vuurtorenstraat",
                  "house_number": "2", "postcode": "8400", "quantity": "40", "consent": "true"},
            headers={"X-CSRF-Token": self.csrf_token}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        self.client.cookies.clear()
        session.commit()
        household = session.exec(select(Household).where(Household.email == email)).one()
        side.confirmation_url = answer.headers["location"]
        side.page_signup = household.id  # type: ignore[assignment]
        side.personal[household.id] = (name, email)  # type: ignore[index]

    # --- requests ----------------------------------------------------------------------------

    def api(self, principal: str, method: str, url: str, body: Any = None) -> Any:
        """A JSON API request with the principal's bearer token (none when anonymous)."""
        self.client.cookies.clear()
        return self.client.request(method, url, json=body, headers=self.cast.bearer[principal])

    def page(self, principal: str, method: str, url: str, form: Any = None) -> Any:
        """An HTML request with the principal's session cookie and a valid CSRF token."""
        self.client.cookies.clear()
        self.client.cookies.set(CSRF_COOKIE, self.csrf_cookie)
        if principal in self.cast.cookie:
            self.client.cookies.set(SESSION_COOKIE, self.cast.cookie[principal])
        headers = {"X-CSRF-Token": self.csrf_token} if method != "GET" else {}
        try:
            return self.client.request(method, url, data=form, headers=headers,
                                       follow_redirects=False)
        finally:
            self.client.cookies.clear()


# --- expected answers, per principal ------------------------------------------------------------

Expect = dict[str, int | str]
NOBODY = "nobody of the cast"  # an owner none of the principals is (organisation b's contractor)


def everyone(answer: int | str, **cells: int | str) -> Expect:
    """The same answer for every principal, except those named."""
    return dict.fromkeys(PRINCIPALS, answer) | cells


def for_staff(ok: int, *, org: str | None = None, anonymous: int | str = 401) -> Expect:
    """Staff and admins only (residents and contractors: 403). With `org` the object belongs to
    that organisation: its staff get `ok`, the other organisation's staff 404."""
    answer: Expect = dict.fromkeys(PRINCIPALS, 403) | {ANONYMOUS: anonymous}
    for principal in STAFF_AND_ADMIN:
        answer[principal] = ok if org is None or principal in ORGANISATION_STAFF[org] else 404
    return answer


def for_residents(ok: int, *, owner: str | None = None, anonymous: int | str = 401) -> Expect:
    """Residents only (staff and contractors: 403). With `owner` the object is that resident's:
    the other resident gets 404."""
    answer: Expect = dict.fromkeys(PRINCIPALS, 403) | {ANONYMOUS: anonymous}
    for principal in RESIDENTS:
        answer[principal] = ok if owner is None or principal == owner else 404
    return answer


def for_contractors(ok: int, *, owner: str | None = None, anonymous: int | str = 401) -> Expect:
    """Contractors only (staff and residents: 403). With `owner` (a contractor or NOBODY) the
    object is that contractor's: the other gets 404."""
    answer: Expect = dict.fromkeys(PRINCIPALS, 403) | {ANONYMOUS: anonymous}
    for principal in CONTRACTORS:
        answer[principal] = ok if owner is None or principal == owner else 404
    return answer


def for_staff_and_contractor(ok: int, *, org: str, contractor: str,
                             anonymous: int | str = 401) -> Expect:
    """A batch or a sign-up in it: staff of its organisation and the contractor of the batch
    get `ok`; other staff and other contractors 404; residents 403."""
    answer = for_staff(ok, org=org, anonymous=anonymous)
    for principal in CONTRACTORS:
        answer[principal] = ok if principal == contractor else 404
    return answer


def for_comparison(*, org: str, member: str, anonymous: int | str = 401) -> Expect:
    """A quote comparison: staff of the organisation, and the resident whose household is in the
    group; everyone else logged in gets 404 (contractors never see it)."""
    answer = for_staff(200, org=org, anonymous=anonymous)
    for principal in RESIDENTS:
        answer[principal] = 200 if principal == member else 404
    for principal in CONTRACTORS:
        answer[principal] = 404
    return answer


@dataclass(frozen=True)
class Row:
    """One request of a matrix and the answer each principal must get.

    `route` is the app's route ("METHOD /path/{param}"), `url` builds the request's URL from the
    cast, `body` its JSON body or form (given the cast and the principal sending it)."""

    route: str
    label: str
    url: Callable[[Cast], str]
    expect: Expect
    body: Callable[[Cast, str], Any] | None = None

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    @property
    def id(self) -> str:
        return f"{self.route} [{self.label}]"


def cells(rows: list[Row]) -> list[Any]:
    """pytest parameters: one per row and principal, with readable ids."""
    import pytest

    return [pytest.param(row, principal, id=f"{row.id} as {principal}")
            for row in rows for principal in PRINCIPALS]


def assert_no_foreign_data(cast: Cast, principal: str, row: Row, response: Any) -> None:
    """No answer shows a household's name, email or phone to a principal not entitled to it."""
    text = response.text
    leaked = [value for value in cast.foreign_values(principal) if value in text]
    assert not leaked, f"{row.id} as {principal} shows {leaked}"


def _session_ids(session: Session, bearer: dict[str, dict[str, str]]) -> dict[str, int]:
    from app.models import AuthSession
    from app.security import token_hash

    ids = {}
    for principal, header in bearer.items():
        if header:
            token = header["Authorization"].split(" ", 1)[1]
            ids[principal] = session.exec(select(AuthSession.id).where(
                AuthSession.token_hash == token_hash(token))).one()
    return ids  # type: ignore[return-value]


def _bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def page_outcome(response: Any) -> int | str:
    """An HTML answer as the matrices write it: the status, or LOGIN/LINK for a redirect to a
    log-in page."""
    if response.status_code in (302, 303, 307):
        location = response.headers.get("location", "")
        if location.startswith("/login?next="):
            return LOGIN
        if location.startswith("/mijn/link?next="):
            return LINK
    return int(response.status_code)


# Routes that are not for one principal rather than another, with the reason; every other
# route of the app must have rows in a matrix (see `app_routes`).
NOT_IN_THE_MATRIX = {
    "GET /openapi.json": "the OpenAPI document, public by design",
    "GET /api/docs": "FastAPI's documentation page for the OpenAPI document",
    "GET /docs/oauth2-redirect": "FastAPI's own helper page for its documentation",
    "POST /api/v1/auth/token": "the password is the credential (tests/test_foundation_security)",
    "POST /api/v1/auth/resident": "the emailed token is the credential (tests/test_api_residents)",
    "POST /login": "the password is the credential (tests/test_pages_beheer, test_foundation_*)",
    "GET /r/{token}": "the emailed token is the credential (tests/test_pages_mijn)",
    "POST /r/{token}": "the emailed token is the credential (tests/test_pages_mijn)",
    "GET /adres-bevestigen/{token}": "the token mailed to the household is the credential "
                                     "(tests/test_pages_claims)",
    "POST /adres-bevestigen/{token}": "the token mailed to the household is the credential "
                                      "(tests/test_pages_claims)",
}


def app_routes(app: Any) -> set[str]:
    """Every route of the app as "METHOD /path" (HEAD left out, static files left out)."""
    from fastapi.routing import iter_route_contexts

    return {f"{method} {route.path}" for route in iter_route_contexts(app.routes)
            if route.path and route.methods for method in route.methods if method != "HEAD"}


def is_api_route(route: str) -> bool:
    path = route.split(" ", 1)[1]
    return path.startswith("/api/") or path in {"/healthz", "/metrics", "/openapi.json"}


def route_of(app: Any, method: str, url: str) -> str | None:
    """The app's route ("METHOD /path") that a request would reach first, or None."""
    from fastapi.routing import iter_route_contexts

    path = url.split("?", 1)[0]
    for route in iter_route_contexts(app.routes):
        regex = getattr(route, "path_regex", None)
        if route.path and route.methods and method in route.methods and regex is not None \
                and regex.match(path):
            return f"{method} {route.path}"
    return None
