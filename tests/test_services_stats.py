"""Dashboard figures: funnel from the status history, participation per street, social mix,
klimaattafel, capacity/waitlist and the LEKP count; tables and their CSV form."""

from sqlmodel import Session

from app.models import (
    Batch,
    Campaign,
    Group,
    GroupMember,
    Interest,
    InterestSubmission,
    ParticipationEvent,
)
from app.services.stats import campaign_stats, table_by_key, table_csv, tables
from tests import factories


def build_wijk(db_session: Session) -> tuple[Campaign, dict[str, int]]:
    campaign = factories.make_campaign(db_session)
    offer = factories.make_offer(db_session, campaign=campaign, capacity=3)
    ids: dict[str, int] = {}

    def household(key: str, street: str, **values: str) -> int:
        made = factories.make_household(db_session, campaign=campaign, street=street, **values)
        assert made.id is not None
        ids[key] = made.id
        return made.id

    household("done", "Kerkstraat", tenure="owner_occupier", life_phase="senior")
    household("cancelled_after_visit", "Kerkstraat", tenure="social_tenant")
    household("registered", "Kerkstraat", tenure="owner_occupier")
    household("waiting", "Molenstraat", tenure="private_tenant")
    household("idle", "Molenstraat", tenure="private_tenant")
    done = factories.make_participation(db_session, offer=offer, status="completed",
                                        household_id=ids["done"])
    cancelled = factories.make_participation(db_session, offer=offer, status="visit_planned",
                                             household_id=ids["cancelled_after_visit"])
    cancelled.status = "cancelled"
    db_session.add(cancelled)
    db_session.add(ParticipationEvent(participation_id=cancelled.id, from_status="visit_planned",
                                      to_status="cancelled", note="verhuisd"))
    factories.make_participation(db_session, offer=offer, household_id=ids["registered"])
    factories.make_participation(db_session, offer=offer, status="waitlisted",
                                 household_id=ids["waiting"])
    group = Group(campaign_id=campaign.id, name="G", kind="framework", offer_id=offer.id,
                  measure=offer.measure, locked=True)
    db_session.add(group)
    db_session.flush()
    db_session.add(GroupMember(group_id=group.id, household_id=done.household_id))
    db_session.add(Batch(group_id=group.id, contractor_id=offer.contractor_id,
                         offer_id=offer.id))
    for horizon in ("1y", "1y", "5y"):
        submission = InterestSubmission(campaign_id=campaign.id, postcode="8400")
        db_session.add(submission)
        db_session.flush()
        db_session.add(Interest(submission_id=submission.id, campaign_id=campaign.id,
                                measure="solar_pv", horizon=horizon))
    db_session.flush()
    return campaign, ids


def test_the_funnel_counts_households_by_the_furthest_step_they_reached(
    db_session: Session
) -> None:
    campaign, _ids = build_wijk(db_session)

    funnel = {row["stage"]: row["count"] for row in campaign_stats(db_session, campaign).funnel}

    assert funnel == {"interest": 5 + 3, "registered": 4, "assigned": 2, "visit_planned": 2,
                      "offered": 1, "accepted": 1, "completed": 1}


def test_participation_per_street_counts_active_signups(db_session: Session) -> None:
    campaign, _ids = build_wijk(db_session)

    streets = campaign_stats(db_session, campaign).streets

    assert streets == [
        {"street": "Kerkstraat", "households": 3, "signed_up": 2, "share": 0.6667},
        {"street": "Molenstraat", "households": 2, "signed_up": 1, "share": 0.5},
    ]


def test_the_social_mix_compares_signed_up_households_with_the_whole_wijk(
    db_session: Session
) -> None:
    campaign, _ids = build_wijk(db_session)

    tenure = {row["value"]: (row["signed_up"], row["all"])
              for row in campaign_stats(db_session, campaign).mix["tenure"]}

    assert tenure == {"owner_occupier": (2, 2), "private_tenant": (1, 2), "social_tenant": (0, 1)}


def test_klimaattafel_offers_and_lekp(db_session: Session) -> None:
    campaign, _ids = build_wijk(db_session)

    stats = campaign_stats(db_session, campaign)

    assert stats.klimaattafel == [{"measure": "solar_pv", "horizon": "1y", "count": 2},
                                  {"measure": "solar_pv", "horizon": "5y", "count": 1}]
    assert [(o["capacity"], o["participants"], o["waitlisted"], o["remaining"])
            for o in stats.offers] == [(3, 2, 1, 1)]
    assert stats.lekp == {"collective_renovations": 1, "dwellings": 5, "per_1000_dwellings": 200.0}


def test_an_empty_campaign_has_zero_figures_and_no_lekp_ratio(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)

    stats = campaign_stats(db_session, campaign)

    assert all(row["count"] == 0 for row in stats.funnel)
    assert stats.streets == [] and stats.offers == []
    assert stats.lekp["per_1000_dwellings"] is None
    assert all(table.caption for table in tables(stats))


def test_tables_download_as_semicolon_csv_with_a_byte_order_mark(db_session: Session) -> None:
    campaign, _ids = build_wijk(db_session)
    stats = campaign_stats(db_session, campaign)

    text = table_csv(table_by_key(stats, "straten"))

    assert text.startswith("\ufeffStraat;Huishoudens;Ingeschreven;Aandeel\r\n")
    assert "Kerkstraat;3;2;66,7 %\r\n" in text


def test_csv_cells_cannot_start_a_spreadsheet_formula(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    factories.make_household(db_session, campaign=campaign, street="=HYPERLINK(1)")

    text = table_csv(table_by_key(campaign_stats(db_session, campaign), "straten"))

    assert "'=HYPERLINK(1)" in text
