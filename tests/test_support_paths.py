"""Support paths without HTTP: staff replace one path per profile with steps linked to the
campaign's coalition partners (another organisation's campaign is not found, an unknown
partner is refused naming the step), a household's own path follows its tenure or profile,
partners that stay keep their steps, and the demo fills every path with sourced content."""

import pytest
from sqlmodel import Session, select

from app.models import AuditEvent, Partner, SupportStep
from app.models.enums import Role, SupportProfile
from app.services import campaigns, support_paths
from app.services.auth import Principal
from app.services.errors import Invalid, NotFound
from tests import factories


def staff(organisation_id: int) -> Principal:
    return Principal(role=Role.staff, session_id=0, organisation_id=organisation_id)


def path_body(partner: dict[str, str] | None) -> support_paths.PathInput:
    return support_paths.parse_path_input({
        "title": "Wel willen, hulp bij betalen",
        "summary": "Het energiehuis en het OCMW zoeken met jou een weg.",
        "steps": [{"kind": "loan", "title": "Mijn VerbouwLening", "body": "Tot € 60.000.",
                   "partner": partner, "url": "https://mijnenergiehuis.be/mijn-verbouwlening"},
                  {"kind": "ocmw", "title": "Het OCMW kijkt mee"}]})


def campaign_with_partners(session: Session) -> tuple[factories.Campaign, Partner]:
    campaign = factories.make_campaign(session)
    ocmw = Partner(campaign_id=campaign.id, kind="ocmw", name="OCMW Oostende")  # type: ignore[arg-type]
    session.add_all([ocmw, Partner(campaign_id=campaign.id, kind="energiehuis",  # type: ignore[arg-type]
                                   name="Energiehuis Oostende")])
    session.flush()
    return campaign, ocmw


def test_staff_replace_a_path_and_anyone_reads_it_with_its_partner(db_session: Session) -> None:
    campaign, _ocmw = campaign_with_partners(db_session)
    saved = support_paths.replace_path(
        db_session, staff(campaign.organisation_id), campaign.slug,
        SupportProfile.cannot_but_will, path_body({"name": "Energiehuis Oostende",
                                                   "kind": "energiehuis"}))
    assert [step.title for step in saved.steps] == ["Mijn VerbouwLening", "Het OCMW kijkt mee"]
    again = support_paths.replace_path(
        db_session, staff(campaign.organisation_id), campaign.slug,
        SupportProfile.cannot_but_will, path_body(None))
    assert again.steps[0].partner_name is None  # replaced, not added to
    listed = support_paths.public_paths(db_session, campaign.slug)
    assert [p.as_json() for p in listed] == [again.as_json()]
    assert len(db_session.exec(select(SupportStep)).all()) == 2
    assert db_session.exec(select(AuditEvent.action)).all() == ["support_path.update"] * 2


def test_another_organisation_cannot_replace_a_path(db_session: Session) -> None:
    campaign, _ocmw = campaign_with_partners(db_session)
    other = factories.make_organisation(db_session)
    with pytest.raises(NotFound):
        support_paths.replace_path(db_session, staff(other.id), campaign.slug,  # type: ignore[arg-type]
                                   SupportProfile.can_and_will, path_body(None))


def test_a_partner_of_another_campaign_is_refused_naming_the_step(db_session: Session) -> None:
    campaign, _ocmw = campaign_with_partners(db_session)
    with pytest.raises(Invalid) as raised:
        support_paths.replace_path(db_session, staff(campaign.organisation_id), campaign.slug,
                                   SupportProfile.can_and_will,
                                   path_body({"name": "OCMW Brugge", "kind": "ocmw"}))
    assert raised.value.field == "steps.0.partner"
    with pytest.raises(Invalid) as raised:
        support_paths.parse_path_input({"title": "T", "steps": [{"kind": "bank", "title": "x"}]})
    assert raised.value.field == "steps.0.kind"


def test_a_households_path_follows_its_tenure_then_its_profile(db_session: Session) -> None:
    campaign, _ocmw = campaign_with_partners(db_session)
    principal = staff(campaign.organisation_id)
    for profile in (SupportProfile.cannot_but_will, SupportProfile.landlord_tenant):
        support_paths.replace_path(db_session, principal, campaign.slug, profile,
                                   path_body(None))
    owner = factories.make_household(db_session, campaign=campaign, tenure="owner_occupier",
                                     profile="cannot_but_will")
    tenant = factories.make_household(db_session, campaign=campaign, tenure="private_tenant",
                                      profile="cannot_but_will")
    unknown = factories.make_household(db_session, campaign=campaign, tenure=None, profile=None)
    doubting = factories.make_household(db_session, campaign=campaign, profile="can_but_wont")
    owner_path = support_paths.path_for_household(db_session, owner)
    tenant_path = support_paths.path_for_household(db_session, tenant)
    assert owner_path is not None and owner_path.profile == "cannot_but_will"
    assert tenant_path is not None and tenant_path.profile == "landlord_tenant"
    assert support_paths.path_for_household(db_session, unknown) is None
    assert support_paths.path_for_household(db_session, doubting) is None  # no path defined


def test_partners_that_stay_keep_their_steps_when_the_campaign_is_edited(
    db_session: Session
) -> None:
    campaign, ocmw = campaign_with_partners(db_session)
    principal = staff(campaign.organisation_id)
    support_paths.replace_path(db_session, principal, campaign.slug,
                               SupportProfile.cannot_and_wont,
                               path_body({"name": "OCMW Oostende", "kind": "ocmw"}))
    campaigns.update_campaign(db_session, principal, campaign.slug, campaigns.CampaignUpdate(
        partners=[campaigns.PartnerIn(kind="ocmw", name="OCMW Oostende",  # type: ignore[arg-type]
                                      role="toeleiding")]))
    db_session.expire_all()
    path = support_paths.public_paths(db_session, campaign.slug)[0]
    assert path.steps[0].partner_name == "OCMW Oostende"
    assert db_session.get(Partner, ocmw.id) is not None
    assert db_session.exec(select(Partner).where(
        Partner.campaign_id == campaign.id)).all() == [db_session.get(Partner, ocmw.id)]


def test_the_demo_fills_every_path_with_sourced_steps_and_partners(db_session: Session) -> None:
    from app.services.demo import DEMO_SLUG, seed_demo_data

    seed_demo_data(db_session)
    paths = support_paths.public_paths(db_session, DEMO_SLUG)
    assert [p.profile for p in paths] == [profile.value for profile in SupportProfile]
    kinds = {step.kind for path in paths for step in path.steps}
    assert {"premium", "loan", "coach", "ocmw", "ambassador", "landlord",
            "social_housing"} <= kinds
    assert all(step.url is None or step.url.startswith("http") for p in paths for step in p.steps)
    assert any(step.partner_name == "OCMW Oostende" for p in paths for step in p.steps)
    assert any("voorbeeld" in step.body for p in paths for step in p.steps)
