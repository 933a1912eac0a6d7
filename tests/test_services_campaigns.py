"""Campaign rules without HTTP: scoping to the caller's organisation, the period and slug
rules, partners, and the content version that public caches key on."""

from datetime import date

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from app.models import AuditEvent, Partner
from app.models.enums import Role
from app.services import campaigns
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from tests.factories import make_campaign, make_household, make_offer, make_participation, make_user


def principal_of(user) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(role=Role(user.role), session_id=0, user_id=user.id,
                     organisation_id=user.organisation_id, email=user.email)


def new_campaign(**overrides: object) -> campaigns.CampaignCreate:
    values: dict[str, object] = {"slug": "zeewijk", "name": "Zeewijk", "municipality": "Oostende",
                                 "postcodes": ["8400"], "partners": [
                                     {"kind": "woonmaatschappij", "name": "Woonmaatschappij",
                                      "role": "sociale woningen"}]}
    values.update(overrides)
    return campaigns.CampaignCreate.model_validate(values)


def test_create_campaign_belongs_to_the_callers_organisation(db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = campaigns.create_campaign(db_session, principal_of(staff), new_campaign())
    assert campaign.organisation_id == staff.organisation_id and campaign.status == "draft"
    partners = db_session.exec(select(Partner).where(Partner.campaign_id == campaign.id)).all()
    assert [(p.kind, p.role) for p in partners] == [("woonmaatschappij", "sociale woningen")]


@pytest.mark.parametrize(("field", "value"), [
    ("slug", "Zee Wijk"), ("slug", "-zee"), ("postcodes", ["84000"]), ("postcodes", []),
    ("name", "  "),
])
def test_campaign_input_rules(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        new_campaign(**{field: value})
    assert error.value.errors()[0]["loc"][0] == field


def test_period_and_slug_conflicts_name_their_field(db_session: Session) -> None:
    staff = principal_of(make_user(db_session))
    with pytest.raises(Invalid) as period:
        campaigns.create_campaign(db_session, staff, new_campaign(
            starts_on=date(2026, 5, 1), ends_on=date(2026, 4, 1)))
    assert period.value.field == "ends_on"
    make_campaign(db_session, slug="zeewijk")
    with pytest.raises(Conflict) as taken:
        campaigns.create_campaign(db_session, staff, new_campaign())
    assert taken.value.field == "slug"


def test_staff_cannot_reach_another_organisations_campaign_and_the_try_is_logged(
    db_session: Session,
) -> None:
    owner, intruder = make_user(db_session), make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=owner.organisation_id)
    with pytest.raises(NotFound):
        campaigns.update_campaign(db_session, principal_of(intruder), campaign.slug,
                                  campaigns.CampaignUpdate(name="Overgenomen"), ip="10.0.0.9")
    db_session.refresh(campaign)
    assert campaign.name != "Overgenomen"
    event = db_session.exec(select(AuditEvent)).one()
    assert (event.organisation_id, event.outcome, event.ip) == (
        owner.organisation_id, "denied", "10.0.0.9")
    admin_elsewhere = make_user(db_session, role="admin")
    with pytest.raises(NotFound):
        campaigns.get_staff_campaign(db_session, principal_of(admin_elsewhere), campaign.slug)


def test_update_changes_only_given_fields_and_bumps_the_version(db_session: Session) -> None:
    staff = make_user(db_session)
    campaign = make_campaign(db_session, organisation_id=staff.organisation_id, name="Oud")
    campaigns.update_campaign(db_session, principal_of(staff), campaign.slug,
                              campaigns.CampaignUpdate(status="closed"))
    assert (campaign.name, campaign.status, campaign.content_version) == ("Oud", "closed", 1)
    with pytest.raises(Invalid) as required:
        campaigns.update_campaign(db_session, principal_of(staff), campaign.slug,
                                  campaigns.CampaignUpdate(name=None))
    assert required.value.field == "name"


def test_visible_campaigns_depend_on_who_asks(db_session: Session) -> None:
    staff = make_user(db_session)
    own_draft = make_campaign(db_session, organisation_id=staff.organisation_id, status="draft")
    other_closed = make_campaign(db_session, status="closed")
    public = campaigns.list_visible_campaigns(db_session, None)
    as_staff = campaigns.list_visible_campaigns(db_session, principal_of(staff))
    assert own_draft not in public and own_draft in as_staff
    assert other_closed not in as_staff


def test_campaign_numbers_count_households_offers_and_places(db_session: Session) -> None:
    campaign = make_campaign(db_session)
    offer = make_offer(db_session, campaign=campaign)
    make_participation(db_session, offer=offer)
    make_participation(db_session, offer=offer, status="waitlisted")
    make_household(db_session, campaign=campaign)
    numbers = campaigns.campaign_numbers(db_session, [campaign.id])[campaign.id]  # type: ignore[list-item]
    assert (numbers.households, numbers.offers, numbers.participants) == (3, 1, 1)
