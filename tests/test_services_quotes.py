"""Quote requests, quotes with revisions until the deadline, the comparison's exact money, and
accepting one quote for the group."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.models import (
    Campaign,
    Group,
    GroupMember,
    Household,
    OutboxMail,
    PremiumRule,
    Quote,
    QuoteLine,
    QuoteRequest,
)
from app.models.enums import Role
from app.services import quotes
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from app.services.pricing import split_by_shares
from app.services.quotes import QuoteInput, QuoteLineInput, QuoteRequestCreate
from tests import factories

IN_A_WEEK = datetime.now(UTC) + timedelta(days=7)


def staff_of(campaign: Campaign) -> Principal:
    return Principal(role=Role.staff, session_id=0, organisation_id=campaign.organisation_id)


def contractor_principal(contractor_id: int) -> Principal:
    return Principal(role=Role.contractor, session_id=0, contractor_id=contractor_id)


def resident(household: Household) -> Principal:
    return Principal(role=Role.resident, session_id=0, household_id=household.id)


def quote_group(
    session: Session, quantities: list[float | None], categories: list[str | None] | None = None
) -> tuple[Campaign, Group, list[Household]]:
    """A quotes group of households with a sign-up for facade insulation of these quantities."""
    campaign = factories.make_campaign(session)
    group = Group(campaign_id=campaign.id, name="Gevels Zwaluwenstraat", kind="quotes",
                  measure="facade_insulation", locked=True)
    session.add(group)
    session.flush()
    households = []
    for index, quantity in enumerate(quantities):
        category = categories[index] if categories else None
        household = factories.make_household(session, campaign=campaign, income_category=category,
                                             street="Zwaluwenstraat", house_number=str(index + 1))
        session.add(GroupMember(group_id=group.id, household_id=household.id))
        factories.make_participation(session, household=household, group_id=group.id,
                                     measure="facade_insulation", quantity=quantity,
                                     status="registered")
        households.append(household)
    session.flush()
    return campaign, group, households


def open_request(session: Session, campaign: Campaign, group: Group, contractors: int = 2,
                 **overrides: object) -> tuple[QuoteRequest, list[factories.Contractor]]:
    invited = [factories.make_contractor(session, organisation_id=campaign.organisation_id)
               for _ in range(contractors)]
    data = QuoteRequestCreate.model_validate({
        "measure": "facade_insulation", "unit": "m2", "description": "Gevelisolatie 14 cm",
        "deadline": IN_A_WEEK, "contractor_ids": [c.id for c in invited], **overrides})
    return quotes.create_quote_request(session, staff_of(campaign), group.id, data), invited


def quote_input(*lines: tuple[float, str, int], vat_rate: int = 6, warranty: int = 10,
                valid_days: int = 60) -> QuoteInput:
    return QuoteInput(
        lines=[QuoteLineInput(description=f"Regel {i}", quantity=q, unit=unit,  # type: ignore[arg-type]
                              unit_price_cents=price) for i, (q, unit, price) in enumerate(lines)],
        vat_rate=vat_rate,  # type: ignore[arg-type]
        valid_until=date.today() + timedelta(days=valid_days),
        lead_time_weeks=8, warranty_years=warranty,
    )


def test_shares_sum_exactly_to_the_total() -> None:
    shares = split_by_shares(100_001, [48.5, 20, 31.5])
    assert shares == [48_501, 20_000, 31_500]
    assert sum(shares) == 100_001


def test_comparison_splits_the_total_incl_vat_exactly_by_quantity(db_session: Session) -> None:
    campaign, group, households = quote_group(db_session, [48.5, 20, 31.5])
    request, (contractor, _) = open_request(db_session, campaign, group)
    quotes.submit_quote(db_session, contractor_principal(contractor.id), request.id,
                        quote_input((100, "m2", 9434), (1, "piece", 7)))

    comparison = quotes.get_comparison(db_session, staff_of(campaign), request.id)

    [column] = comparison.columns
    assert column.total_excl_vat_cents == 943_407
    assert column.total_incl_vat_cents == 1_000_011  # 943 407 × 1,06 = 1 000 011,42 → half-up
    shares = [cost.share_incl_vat_cents for cost in column.members]
    assert sum(shares) == column.total_incl_vat_cents
    assert shares == split_by_shares(1_000_011, [48.5, 20, 31.5])
    assert column.unit_price_cents == 9434  # total excl. ÷ 100 m² (the piece line is excluded)
    assert [m.household.id for m in comparison.members] == [h.id for h in households]


def test_households_without_quantity_count_as_the_average(db_session: Session) -> None:
    assert quotes.share_weights([10, None, 30]) == [10, 20, 30]
    assert quotes.share_weights([None, None]) == [1.0, 1.0]


def test_premium_uses_the_rule_valid_on_the_quote_date_and_the_income_category(
    db_session: Session,
) -> None:
    campaign, group, households = quote_group(db_session, [50, 50], ["cat4", None])
    request, (contractor, _) = open_request(db_session, campaign, group)
    on = date.today()
    db_session.add_all([
        # expired: must not be used
        PremiumRule(measure="facade_insulation", income_category="cat4", kind="per_unit",
                    rate=9999, valid_from=on - timedelta(days=400),
                    valid_to=on - timedelta(days=1), is_example=True),
        PremiumRule(measure="facade_insulation", income_category="cat4", kind="per_unit",
                    rate=4000, cap_cents=150_000, valid_from=on - timedelta(days=10),
                    is_example=True),
    ])
    quotes.submit_quote(db_session, contractor_principal(contractor.id), request.id,
                        quote_input((100, "m2", 12_000)))

    [column] = quotes.get_comparison(db_session, staff_of(campaign), request.id).columns

    low_income, unknown = column.members
    assert low_income.share_incl_vat_cents == 636_000  # half of € 12.720,00
    assert low_income.premium.amount_cents == 150_000  # 50 m² × € 40 = € 2.000, capped at € 1.500
    assert low_income.net_cents == 486_000
    assert (unknown.premium.known, unknown.premium.amount_cents) == (False, 0)
    assert unknown.net_cents == unknown.share_incl_vat_cents
    assert column.net_total_cents == 1_272_000 - 150_000


def test_lowest_net_cost_and_best_value_are_highlighted_with_reasons(db_session: Session) -> None:
    campaign, group, _ = quote_group(db_session, [40, 60])
    request, (cheap, solid) = open_request(db_session, campaign, group)
    quotes.submit_quote(db_session, contractor_principal(cheap.id), request.id,
                        quote_input((100, "m2", 10_000), warranty=2))
    quotes.submit_quote(db_session, contractor_principal(solid.id), request.id,
                        quote_input((100, "m2", 11_000), warranty=10))

    comparison = quotes.get_comparison(db_session, staff_of(campaign), request.id)

    by_contractor = {column.contractor.id: column for column in comparison.columns}
    assert by_contractor[cheap.id].lowest_net_cost and not by_contractor[solid.id].lowest_net_cost
    assert by_contractor[solid.id].best_value and not by_contractor[cheap.id].best_value
    assert "€ 10.600,00" in comparison.lowest_net_cost_reason.replace("\xa0", " ")
    assert solid.name in comparison.best_value_reason


def test_market_reference_gives_the_difference_per_unit(db_session: Session) -> None:
    campaign, group, _ = quote_group(db_session, [100])
    request, (contractor, _) = open_request(db_session, campaign, group,
                                            market_unit_price_cents=10_000)
    quotes.submit_quote(db_session, contractor_principal(contractor.id), request.id,
                        quote_input((100, "m2", 11_000)))
    [column] = quotes.get_comparison(db_session, staff_of(campaign), request.id).columns
    assert column.market_difference_pct == 10


def test_revising_before_the_deadline_replaces_the_lines(db_session: Session) -> None:
    campaign, group, _ = quote_group(db_session, [30])
    request, (contractor, _) = open_request(db_session, campaign, group)
    first, created = quotes.submit_quote(db_session, contractor_principal(contractor.id),
                                         request.id, quote_input((30, "m2", 12_000)))
    again, created_again = quotes.submit_quote(
        db_session, contractor_principal(contractor.id), request.id,
        quote_input((30, "m2", 11_500), (1, "dwelling", 50_000)))
    assert (created, created_again, again.id) == (True, False, first.id)
    lines = db_session.exec(select(QuoteLine).where(QuoteLine.quote_id == first.id)).all()
    assert sorted(line.unit_price_cents for line in lines) == [11_500, 50_000]


def test_quotes_are_locked_after_the_deadline(db_session: Session) -> None:
    campaign, group, _ = quote_group(db_session, [30])
    request, (contractor, _) = open_request(db_session, campaign, group)
    request.deadline = datetime.now(UTC) - timedelta(minutes=1)
    with pytest.raises(Conflict) as refused:
        quotes.submit_quote(db_session, contractor_principal(contractor.id), request.id,
                            quote_input((30, "m2", 12_000)))
    assert "termijn is verstreken" in refused.value.message


def test_a_contractor_that_was_not_invited_cannot_see_or_quote(db_session: Session) -> None:
    campaign, group, _ = quote_group(db_session, [30])
    request, _ = open_request(db_session, campaign, group)
    outsider = factories.make_contractor(db_session, organisation_id=campaign.organisation_id)
    with pytest.raises(NotFound):
        quotes.submit_quote(db_session, contractor_principal(outsider.id), request.id,
                            quote_input((30, "m2", 12_000)))
    assert quotes.contractor_invitations(db_session, contractor_principal(outsider.id)) == []


def test_request_invites_only_the_organisations_contractors_and_mails_them(
    db_session: Session,
) -> None:
    campaign, group, _ = quote_group(db_session, [30])
    foreign = factories.make_contractor(db_session)
    with pytest.raises(Invalid) as refused:
        quotes.create_quote_request(db_session, staff_of(campaign), group.id,
                                    QuoteRequestCreate.model_validate({
                                        "measure": "facade_insulation", "deadline": IN_A_WEEK,
                                        "contractor_ids": [foreign.id]}))
    assert refused.value.field == "contractor_ids"
    request, invited = open_request(db_session, campaign, group)
    mails = db_session.exec(select(OutboxMail).where(
        OutboxMail.purpose == "quote_request_invitation")).all()
    assert sorted(mail.recipient for mail in mails) == sorted(c.email for c in invited)
    assert all(mail.context["quote_request_id"] == request.id for mail in mails)


def test_deadline_in_the_past_is_refused(db_session: Session) -> None:
    campaign, group, _ = quote_group(db_session, [30])
    with pytest.raises(Invalid) as refused:
        open_request(db_session, campaign, group, deadline=datetime.now(UTC) - timedelta(hours=1))
    assert refused.value.field == "deadline"


def test_resident_member_sees_only_their_own_row_and_strangers_get_not_found(
    db_session: Session,
) -> None:
    campaign, group, (mine, neighbour) = quote_group(db_session, [40, 60])
    request, (contractor, _) = open_request(db_session, campaign, group)
    quotes.submit_quote(db_session, contractor_principal(contractor.id), request.id,
                        quote_input((100, "m2", 10_000)))

    comparison = quotes.get_comparison(db_session, resident(mine), request.id)
    data = quotes.comparison_json(comparison)

    assert [h["household_id"] for h in data["households"]] == [mine.id]  # type: ignore[index]
    [quote] = data["quotes"]  # type: ignore[misc]
    assert [h["household_id"] for h in quote["households"]] == [mine.id]
    outsider = factories.make_household(db_session, campaign=campaign)
    with pytest.raises(NotFound):
        quotes.get_comparison(db_session, resident(outsider), request.id)
    other_staff = Principal(role=Role.staff, session_id=0,
                            organisation_id=factories.make_organisation(db_session).id)
    with pytest.raises(NotFound):
        quotes.get_comparison(db_session, other_staff, request.id)


def test_accepting_one_quote_declines_the_others_and_notifies_everyone(
    db_session: Session,
) -> None:
    campaign, group, households = quote_group(db_session, [40, 60])
    households[1].email = None
    request, (winner, loser) = open_request(db_session, campaign, group)
    chosen, _ = quotes.submit_quote(db_session, contractor_principal(winner.id), request.id,
                                    quote_input((100, "m2", 10_000)))
    other, _ = quotes.submit_quote(db_session, contractor_principal(loser.id), request.id,
                                   quote_input((100, "m2", 9_000)))

    quotes.accept_quote(db_session, staff_of(campaign), chosen.id)

    assert (chosen.status, other.status, request.status) == ("accepted", "declined", "awarded")
    mails = db_session.exec(select(OutboxMail).where(OutboxMail.purpose.in_(  # type: ignore[attr-defined]
        ["quote_accepted", "quote_declined", "quote_comparison"]))).all()
    sent = {(mail.purpose, mail.recipient or mail.household_id) for mail in mails}
    assert sent == {("quote_accepted", winner.email), ("quote_declined", loser.email),
                    ("quote_comparison", households[0].id)}
    with pytest.raises(Conflict):
        quotes.accept_quote(db_session, staff_of(campaign), other.id)


def test_accepting_waits_for_the_deadline_or_every_reply(db_session: Session) -> None:
    campaign, group, _ = quote_group(db_session, [40])
    request, (first, _) = open_request(db_session, campaign, group)
    quote, _ = quotes.submit_quote(db_session, contractor_principal(first.id), request.id,
                                   quote_input((40, "m2", 10_000)))
    with pytest.raises(Conflict):
        quotes.accept_quote(db_session, staff_of(campaign), quote.id)
    request.deadline = datetime.now(UTC) - timedelta(minutes=1)
    quotes.accept_quote(db_session, staff_of(campaign), quote.id)
    assert db_session.get(Quote, quote.id).status == "accepted"  # type: ignore[union-attr]


def test_household_finds_the_quote_requests_of_its_groups(db_session: Session) -> None:
    campaign, group, (member, _) = quote_group(db_session, [40, 60])
    request, _ = open_request(db_session, campaign, group)
    outsider = factories.make_household(db_session, campaign=campaign)

    [found] = quotes.quote_requests_for_household(db_session, member.id)

    assert (found.id, found.url, found.quote_count) == (request.id, f"/vergelijk/{request.id}", 0)
    assert quotes.quote_requests_for_household(db_session, outsider.id) == []
