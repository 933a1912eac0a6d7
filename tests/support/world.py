"""One small but complete world for the bad-input and attack tests: an organisation with an open
campaign, an offer with registered and waitlisted sign-ups, a locked group assigned as a batch,
a quote request with a submitted quote, a premium rule, and a log-in for every role (bearer
tokens for the API, session cookies for the pages).

Everything is made in the test's rolled-back `db_session`, so it works on SQLite and PostgreSQL.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.deps import SESSION_COOKIE
from app.models import (
    Batch,
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Household,
    Offer,
    Participation,
    PremiumRule,
    Quote,
    QuoteRequest,
    User,
)
from app.models.enums import Role
from app.services import auth as auth_service
from app.services import premiums, quotes
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
    session.flush()
    return World(campaign=campaign, contractor=contractor, offer=offer, staff=staff,
                 contractor_user=contractor_user, resident=resident, registered=registered,
                 waitlisted=waitlisted, member=member, assigned=assigned, group=group,
                 batch=batch, quote_group=quote_group, quote_request=quote_request, quote=quote,
                 premium_rule=premium_rule)


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
