"""Group suggestions: the pure cutting function (no database) and the campaign wrapper that
chooses which households take part."""

import time
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from app.models import Group, GroupMember
from app.models.enums import Role
from app.services.auth import Principal
from app.services.errors import Invalid, NotFound
from app.services.grouping import (
    HouseholdRow,
    SuggestRequest,
    balanced_sizes,
    house_number_key,
    suggest_for_campaign,
    suggest_groups,
)
from bench.bench_grouping import synthetic_rows
from tests import factories


def row(household_id: int, street: str = "Kerkstraat", number: str | None = None,
        **values: str | None) -> HouseholdRow:
    return HouseholdRow(household_id=household_id, street=street,
                        house_number=number if number is not None else str(household_id),
                        **values)


def staff_of(organisation_id: int | None, role: Role = Role.staff) -> Principal:
    return Principal(role=role, session_id=0, user_id=None, organisation_id=organisation_id)


# --- the pure function ---------------------------------------------------------------------


def test_twenty_three_households_with_max_ten_make_groups_of_eight_eight_and_seven() -> None:
    suggestion = suggest_groups([row(i) for i in range(1, 24)], by=[], min_size=5, max_size=10)

    assert [group.size for group in suggestion.groups] == [8, 8, 7]
    assert suggestion.unassigned == []
    assert sorted(i for g in suggestion.groups for i in g.household_ids) == list(range(1, 24))


@pytest.mark.parametrize("count", range(5, 80))
def test_sizes_stay_within_bounds_and_differ_by_at_most_one(count: int) -> None:
    sizes = balanced_sizes(count, 5, 12)

    assert sum(sizes) == count
    assert len(sizes) == -(-count // 12)
    assert max(sizes) - min(sizes) <= 1
    assert all(5 <= size <= 12 for size in sizes)


def test_neighbours_are_grouped_in_natural_house_number_order() -> None:
    numbers = ["10", "9", "2", "1", "10A", "11", "3"]
    rows = [row(index + 1, number=number) for index, number in enumerate(numbers)]
    rows.append(row(100, street="Abdijstraat", number="50"))

    suggestion = suggest_groups(rows, by=[], min_size=1, max_size=100)

    ordered = suggestion.groups[0].household_ids
    by_id = {r.household_id: (r.street, r.house_number) for r in rows}
    assert [by_id[i] for i in ordered] == [
        ("Abdijstraat", "50"), ("Kerkstraat", "1"), ("Kerkstraat", "2"), ("Kerkstraat", "3"),
        ("Kerkstraat", "9"), ("Kerkstraat", "10"), ("Kerkstraat", "10A"), ("Kerkstraat", "11"),
    ]
    assert house_number_key("9") < house_number_key("10") < house_number_key("10b")


def test_consecutive_neighbours_end_up_in_the_same_group() -> None:
    rows = [row(i, number=str(i)) for i in range(1, 21)]

    suggestion = suggest_groups(reversed(rows), by=[], min_size=5, max_size=10)

    assert [g.household_ids for g in suggestion.groups] == [list(range(1, 11)),
                                                             list(range(11, 21))]


def test_parts_by_key_get_their_criteria_and_a_too_small_part_is_listed_with_the_reason() -> None:
    rows = [row(i, life_phase="young_family") for i in range(1, 8)]
    rows += [row(i, life_phase="senior") for i in range(8, 11)]

    suggestion = suggest_groups(rows, by=["life_phase"], min_size=5, max_size=12)

    assert [(g.criteria, g.size) for g in suggestion.groups] == [
        ({"life_phase": "young_family"}, 7)]
    assert "jong gezin" in suggestion.groups[0].name
    assert {item.household_id for item in suggestion.unassigned} == {8, 9, 10}
    assert {item.reason for item in suggestion.unassigned} == {
        "te weinig huishoudens met life_phase=senior: 3 < 5"}


def test_households_with_an_unknown_key_value_fit_no_group() -> None:
    rows = [row(i, tenure="owner_occupier") for i in range(1, 6)] + [row(6, tenure=None)]

    suggestion = suggest_groups(rows, by=["tenure"], min_size=5, max_size=12)

    assert suggestion.groups[0].household_ids == [1, 2, 3, 4, 5]
    assert [(u.household_id, u.reason) for u in suggestion.unassigned] == [(6, "tenure onbekend")]


def test_two_keys_partition_on_their_combination() -> None:
    rows = [row(i, life_phase="senior", budget_band="lt_5k") for i in range(1, 6)]
    rows += [row(i, life_phase="senior", budget_band="gt_30k") for i in range(6, 11)]

    suggestion = suggest_groups(rows, by=["life_phase", "budget_band"], min_size=5, max_size=12)

    assert sorted(tuple(sorted(g.criteria.items())) for g in suggestion.groups) == [
        (("budget_band", "gt_30k"), ("life_phase", "senior")),
        (("budget_band", "lt_5k"), ("life_phase", "senior")),
    ]


def test_when_no_balanced_cut_fits_full_groups_are_made_and_the_rest_is_left_over() -> None:
    suggestion = suggest_groups([row(i) for i in range(1, 14)], by=[], min_size=7, max_size=12)

    assert [g.size for g in suggestion.groups] == [12]
    assert [u.household_id for u in suggestion.unassigned] == [13]
    assert "past niet in groepen van 7 tot 12" in suggestion.unassigned[0].reason


def test_group_names_are_unique() -> None:
    rows = [row(i, life_phase="senior" if i % 2 else "single") for i in range(1, 61)]

    suggestion = suggest_groups(rows, by=["life_phase"], min_size=5, max_size=12)

    names = [g.name for g in suggestion.groups]
    assert len(names) == len(set(names))


def test_one_hundred_thousand_households_are_grouped_in_under_two_seconds() -> None:
    rows = synthetic_rows(100_000)

    # CPU time of this process: other processes on a busy machine do not count against it.
    started = time.process_time()
    suggestion = suggest_groups(rows, by=["life_phase", "budget_band"], min_size=5, max_size=12)
    elapsed = time.process_time() - started

    assert sum(g.size for g in suggestion.groups) + len(suggestion.unassigned) == 100_000
    assert elapsed < 2.0, f"took {elapsed:.2f} s"


def test_request_refuses_unknown_keys_and_reversed_sizes() -> None:
    with pytest.raises(ValueError, match="unknown grouping key"):
        SuggestRequest(by=["shoe_size"])
    with pytest.raises(ValueError, match="max_size"):
        SuggestRequest(min_size=8, max_size=5)


# --- the campaign wrapper ------------------------------------------------------------------


def test_suggestion_takes_the_offers_active_signups_only(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    offer = factories.make_offer(db_session, campaign=campaign)
    other_offer = factories.make_offer(db_session, campaign=campaign, measure="window_frames")
    active = [factories.make_participation(
        db_session, offer=offer,
        household=factories.make_household(db_session, campaign=campaign, life_phase="senior"))
        for _ in range(6)]
    for status in ("waitlisted", "cancelled"):
        factories.make_participation(db_session, offer=offer, status=status,
                                     household=factories.make_household(db_session,
                                                                        campaign=campaign))
    factories.make_participation(db_session, offer=other_offer,
                                 household=factories.make_household(db_session,
                                                                    campaign=campaign))
    erased = factories.make_household(db_session, campaign=campaign, name="",
                                      erased_at=datetime.now(UTC))
    factories.make_participation(db_session, offer=offer, household=erased)

    suggestion, scope = suggest_for_campaign(
        db_session, staff_of(campaign.organisation_id), campaign.slug,
        SuggestRequest(by=["life_phase"], min_size=5, max_size=12, offer_id=offer.id))

    assert scope.measure == "facade_insulation"
    assert [sorted(g.household_ids) for g in suggestion.groups] == [
        sorted(p.household_id for p in active)]
    assert suggestion.unassigned == []


def test_members_of_a_locked_group_are_left_out_of_a_new_suggestion(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    offer = factories.make_offer(db_session, campaign=campaign)
    households = [factories.make_participation(
        db_session, offer=offer,
        household=factories.make_household(db_session, campaign=campaign)).household_id
        for _ in range(7)]
    locked = Group(campaign_id=campaign.id, name="Vast", kind="framework", offer_id=offer.id,
                   measure=offer.measure, locked=True)
    db_session.add(locked)
    db_session.flush()
    db_session.add(GroupMember(group_id=locked.id, household_id=households[0]))
    db_session.flush()

    suggestion, _scope = suggest_for_campaign(
        db_session, staff_of(campaign.organisation_id), campaign.slug,
        SuggestRequest(min_size=2, max_size=12, offer_id=offer.id))

    proposed = {i for g in suggestion.groups for i in g.household_ids}
    assert proposed == set(households[1:])


def test_suggestion_for_another_organisations_campaign_is_not_found(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    stranger = factories.make_organisation(db_session)

    with pytest.raises(NotFound):
        suggest_for_campaign(db_session, staff_of(stranger.id), campaign.slug, SuggestRequest())


def test_an_offer_of_another_campaign_is_refused_naming_offer_id(db_session: Session) -> None:
    campaign = factories.make_campaign(db_session)
    foreign_offer = factories.make_offer(db_session)

    with pytest.raises(Invalid) as refused:
        suggest_for_campaign(db_session, staff_of(campaign.organisation_id), campaign.slug,
                             SuggestRequest(offer_id=foreign_offer.id))
    assert refused.value.field == "offer_id"
