"""Framework offers (one procured lot in a campaign) with their price tiers: creating them,
and editing them under the rule that an offer with sign-ups may only change in the direction
that cannot hurt residents, unless staff confirm the explained effect."""

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import AwareDatetime, Field, field_validator
from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from app.i18n import N_, format_instant, format_money, gettext
from app.models import Campaign, Offer, Participation, PriceTier
from app.models.enums import Measure, ParticipationStatus, Unit
from app.services import audit, signups
from app.services.auth import Principal
from app.services.campaigns import bump_content_version, get_staff_campaign
from app.services.contractors import contractor_of_organisation
from app.services.errors import Conflict, Invalid, NotFound
from app.services.labels import UNIT_LABELS  # noqa: F401  (re-exported for the pages)
from app.services.pricing import Tier, current_tier
from app.services.status_flow import HOLDS_A_PLACE, Actor, change_status
from app.services.validation import CleanInput, DbId, instant_in_range

VAT_RATES = (6, 21)
# Upper bounds of what staff can enter: beyond them a number is a typing error (and would not
# fit the database's integer columns).
MAX_CAPACITY = 100_000
MAX_UNIT_PRICE_CENTS = 100_000_000


class PriceTierIn(CleanInput):
    min_participants: int = Field(ge=0, le=MAX_CAPACITY)
    unit_price_cents: int = Field(ge=0, le=MAX_UNIT_PRICE_CENTS)


def tier_problem(tiers: list[PriceTierIn]) -> str | None:
    """Why a list of price tiers is not acceptable, or None."""
    if not tiers:
        return N_("Geef minstens één prijstrap.")
    if tiers[0].min_participants != 0:
        return N_("De eerste prijstrap geldt vanaf 0 deelnemers.")
    for previous, tier in zip(tiers, tiers[1:], strict=False):
        if tier.min_participants <= previous.min_participants:
            return N_("Elke volgende prijstrap vraagt meer deelnemers dan de vorige.")
        if tier.unit_price_cents > previous.unit_price_cents:
            return N_("Een volgende prijstrap mag niet duurder zijn dan de vorige.")
    return None


def _check_vat(value: int) -> int:
    if value not in VAT_RATES:
        raise ValueError(N_("Het btw-tarief is 6 of 21 procent."))
    return value


def _check_tiers(value: list[PriceTierIn]) -> list[PriceTierIn]:
    problem = tier_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class OfferCreate(CleanInput):
    """A new offer, as POSTed to /api/v1/campaigns/{slug}/offers or the beheer form."""

    measure: Measure
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    lot: str = Field(default="", max_length=40)
    procurement_reference: str = Field(default="", max_length=80)
    contractor_id: DbId
    unit: Unit
    price_tiers: list[PriceTierIn]
    vat_rate: int = 6
    capacity: int = Field(gt=0, le=MAX_CAPACITY)
    signup_opens_at: AwareDatetime
    signup_closes_at: AwareDatetime
    market_unit_price_cents: int | None = Field(default=None, ge=0, le=MAX_UNIT_PRICE_CENTS)

    @field_validator("vat_rate")
    @classmethod
    def _vat(cls, value: int) -> int:
        return _check_vat(value)

    @field_validator("signup_opens_at", "signup_closes_at")
    @classmethod
    def _moment(cls, value: datetime) -> datetime | None:
        return instant_in_range(value)

    @field_validator("price_tiers")
    @classmethod
    def _tiers(cls, value: list[PriceTierIn]) -> list[PriceTierIn]:
        return _check_tiers(value)


class OfferUpdate(CleanInput):
    """Changes to an offer (all optional). `confirm: true` accepts a change that is worse for
    residents who already signed up, after its effect has been explained."""

    measure: Measure | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    lot: str | None = Field(default=None, max_length=40)
    procurement_reference: str | None = Field(default=None, max_length=80)
    contractor_id: DbId | None = None
    unit: Unit | None = None
    price_tiers: list[PriceTierIn] | None = None
    vat_rate: int | None = None
    capacity: int | None = Field(default=None, gt=0, le=MAX_CAPACITY)
    signup_opens_at: AwareDatetime | None = None
    signup_closes_at: AwareDatetime | None = None
    market_unit_price_cents: int | None = Field(default=None, ge=0, le=MAX_UNIT_PRICE_CENTS)
    confirm: bool = False

    @field_validator("vat_rate")
    @classmethod
    def _vat(cls, value: int | None) -> int | None:
        return None if value is None else _check_vat(value)

    @field_validator("signup_opens_at", "signup_closes_at")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        return instant_in_range(value)

    @field_validator("price_tiers")
    @classmethod
    def _tiers(cls, value: list[PriceTierIn] | None) -> list[PriceTierIn] | None:
        return None if value is None else _check_tiers(value)


class NeedsConfirmation(Conflict):
    """A change that would hurt residents who signed up; `effects` explains how."""

    def __init__(self, effects: list[str]) -> None:
        message = gettext("Deze wijziging raakt bewoners die al ingeschreven zijn. "
                          "Bevestig ze (confirm: true) als je dit wilt: ") + " ".join(effects)
        super().__init__(message, field="confirm")
        self.effects = effects


@dataclass
class OfferChange:
    offer: Offer
    # What the change did to residents who had signed up (empty when nothing got worse).
    effects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OfferCounts:
    participants: int
    waitlisted: int


def get_staff_offer(
    session: Session, principal: Principal, offer_id: int, *, ip: str | None = None
) -> Offer:
    """An offer in a campaign of an organisation the caller acts for. With `ip` given, a
    refusal is written to the audit log."""
    statement = (
        select(Offer, Campaign.organisation_id)
        .join(Campaign, col(Campaign.id) == col(Offer.campaign_id))
        .where(Offer.id == offer_id, col(Campaign.organisation_id).in_(principal.organisation_ids))
    )
    found = session.exec(statement).first()
    if found is None:
        if ip is not None:
            owner = session.exec(
                select(Campaign.organisation_id)
                .join(Offer, col(Offer.campaign_id) == col(Campaign.id))
                .where(Offer.id == offer_id)
            ).first()
            audit.record_denied(session, principal, action="offer.view", object_type="offer",
                                object_id=offer_id, owner_organisation_id=owner, ip=ip)
        raise NotFound(N_("Dit aanbod bestaat niet."))
    offer, organisation_id = found
    audit.record_grant_use(session, principal, [organisation_id], object_type="offer",
                           object_id=offer_id, ip=ip or "")
    return offer


def list_campaign_offers(session: Session, campaign_id: int) -> list[Offer]:
    return list(session.exec(
        select(Offer).where(Offer.campaign_id == campaign_id).order_by(col(Offer.lot),
                                                                       col(Offer.id))
    ).all())


def tiers_of(session: Session, offer_ids: list[int]) -> dict[int, list[PriceTier]]:
    result: dict[int, list[PriceTier]] = {offer_id: [] for offer_id in offer_ids}
    if not offer_ids:
        return result
    for tier in session.exec(
        select(PriceTier).where(col(PriceTier.offer_id).in_(offer_ids))
        .order_by(col(PriceTier.offer_id), col(PriceTier.min_participants))
    ).all():
        result[tier.offer_id].append(tier)
    return result


def counts_of(session: Session, offer_ids: list[int]) -> dict[int, OfferCounts]:
    """Place-holding and waitlisted sign-ups per offer, in one grouped query."""
    rows = session.exec(
        select(Participation.offer_id, Participation.status, func.count())
        .where(col(Participation.offer_id).in_(offer_ids))
        .group_by(col(Participation.offer_id), col(Participation.status))
    ).all() if offer_ids else []
    held: dict[int, int] = {}
    waiting: dict[int, int] = {}
    for offer_id, status, count in rows:
        assert offer_id is not None
        if status in HOLDS_A_PLACE:
            held[offer_id] = held.get(offer_id, 0) + count
        elif status == ParticipationStatus.waitlisted:
            waiting[offer_id] = waiting.get(offer_id, 0) + count
    return {offer_id: OfferCounts(held.get(offer_id, 0), waiting.get(offer_id, 0))
            for offer_id in offer_ids}


def _check_window(opens: datetime, closes: datetime) -> None:
    if closes <= opens:
        raise Invalid(N_("De inschrijving moet sluiten na de opening."), field="signup_closes_at")


def create_offer(
    session: Session, principal: Principal, slug: str, data: OfferCreate,
    *, ip: str | None = None,
) -> Offer:
    """A new offer with its price tiers in a campaign of the caller's organisation."""
    campaign = get_staff_campaign(session, principal, slug, ip=ip)
    contractor_of_organisation(session, campaign.organisation_id, data.contractor_id)
    _check_window(data.signup_opens_at, data.signup_closes_at)
    offer = Offer(
        campaign_id=campaign.id,  # type: ignore[arg-type]
        contractor_id=data.contractor_id, measure=data.measure, title=data.title.strip(),
        description=data.description.strip(), lot=data.lot.strip(),
        procurement_reference=data.procurement_reference.strip(), unit=data.unit,
        vat_rate=data.vat_rate, capacity=data.capacity,
        signup_opens_at=data.signup_opens_at, signup_closes_at=data.signup_closes_at,
        market_unit_price_cents=data.market_unit_price_cents,
    )
    session.add(offer)
    session.flush()
    session.add_all(PriceTier(offer_id=offer.id, min_participants=tier.min_participants,  # type: ignore[arg-type]
                              unit_price_cents=tier.unit_price_cents)
                    for tier in data.price_tiers)
    bump_content_version(session, campaign)
    session.flush()
    return offer


def _price_rises(old: list[Tier], new: list[Tier]) -> bool:
    """Whether some number of participants pays more under the new tiers (both are step
    functions, so checking every threshold of either is enough)."""
    for threshold in {tier.min_participants for tier in old + new}:
        before, after = current_tier(old, threshold), current_tier(new, threshold)
        if after is None:
            continue
        if before is None or after.unit_price_cents > before.unit_price_cents:
            return True
    return False


def _harm(offer: Offer, changes: dict[str, object], old_tiers: list[Tier],
          new_tiers: list[Tier] | None, counts: OfferCounts,
          registered: int) -> list[str]:
    """What the change does to residents who signed up, in words; empty when harmless."""
    effects: list[str] = []
    capacity = changes.get("capacity")
    if isinstance(capacity, int) and capacity < offer.capacity:
        effects.append(gettext("De capaciteit daalt van %(old)s naar %(new)s plaatsen.")
                       % {"old": offer.capacity, "new": capacity})
        to_waitlist = counts.participants - capacity
        if to_waitlist > 0:
            if to_waitlist > registered:
                raise Invalid(
                    gettext("Er zijn al %(n)s plaatsen toegewezen; de capaciteit kan niet lager "
                            "dan dat.") % {"n": counts.participants - registered},
                    field="capacity",
                )
            effects.append(gettext("%(n)s inschrijving(en) gaan naar de wachtlijst "
                                   "(de laatst ingeschrevenen eerst).") % {"n": to_waitlist})
    if new_tiers is not None and _price_rises(old_tiers, new_tiers):
        before = current_tier(old_tiers, counts.participants)
        after = current_tier(new_tiers, counts.participants)
        if before and after and after.unit_price_cents > before.unit_price_cents:
            effects.append(
                gettext("Bij het huidige aantal deelnemers (%(n)s) stijgt de prijs van %(old)s "
                        "naar %(new)s per eenheid: bewoners betalen meer.")
                % {"n": counts.participants, "old": format_money(before.unit_price_cents),
                   "new": format_money(after.unit_price_cents)})
        else:
            effects.append(gettext("Bij sommige aantallen deelnemers wordt de prijs hoger: "
                                   "bewoners kunnen meer betalen."))
    vat_rate = changes.get("vat_rate")
    if isinstance(vat_rate, int) and vat_rate > offer.vat_rate:
        effects.append(gettext("Het btw-tarief stijgt van %(old)s%% naar %(new)s%%: bewoners "
                               "betalen meer.") % {"old": offer.vat_rate, "new": vat_rate})
    opens = changes.get("signup_opens_at")
    if isinstance(opens, datetime) and opens > offer.signup_opens_at:
        effects.append(gettext("De inschrijving opent later (%(when)s).")
                       % {"when": format_instant(opens)})
    closes = changes.get("signup_closes_at")
    if isinstance(closes, datetime) and closes < offer.signup_closes_at:
        effects.append(gettext("De inschrijving sluit vroeger (%(when)s).")
                       % {"when": format_instant(closes)})
    for name, label in (("measure", N_("maatregel")), ("unit", N_("eenheid"))):
        value = changes.get(name)
        if value is not None and value != getattr(offer, name):
            effects.append(gettext("De %(what)s verandert voor wie al ingeschreven is.")
                           % {"what": gettext(label)})
    return effects


def update_offer(
    session: Session, principal: Principal, offer_id: int, data: OfferUpdate,
    *, ip: str | None = None,
) -> OfferChange:
    """Apply the given fields; refuse a change that hurts signed-up residents unless confirmed."""
    offer = get_staff_offer(session, principal, offer_id, ip=ip)
    assert offer.id is not None
    campaign = session.get(Campaign, offer.campaign_id)
    assert campaign is not None
    changes = data.model_dump(exclude_unset=True, exclude={"confirm"})
    for required in ("measure", "title", "contractor_id", "unit", "price_tiers", "vat_rate",
                     "capacity", "signup_opens_at", "signup_closes_at"):
        if required in changes and changes[required] is None:
            raise Invalid(N_("Vul dit veld in."), field=required)
    changes = {name: getattr(data, name) for name in changes}
    for optional_text in ("description", "lot", "procurement_reference"):
        if optional_text in changes and changes[optional_text] is None:
            changes[optional_text] = ""  # null clears an optional text
    if "contractor_id" in changes:
        contractor_of_organisation(session, campaign.organisation_id, changes["contractor_id"])
    _check_window(changes.get("signup_opens_at", offer.signup_opens_at),
                  changes.get("signup_closes_at", offer.signup_closes_at))

    old_tiers = [Tier(t.min_participants, t.unit_price_cents)
                 for t in tiers_of(session, [offer.id])[offer.id]]
    new_tiers = ([Tier(t.min_participants, t.unit_price_cents) for t in data.price_tiers]
                 if data.price_tiers is not None else None)
    # Lock the offer's places while they are counted and moved (as signing up does).
    session.exec(select(Offer.id).where(Offer.id == offer.id).with_for_update()).one()
    counts = counts_of(session, [offer.id])[offer.id]
    registered = list(session.exec(
        select(Participation).where(Participation.offer_id == offer.id,
                                    Participation.status == ParticipationStatus.registered)
        .order_by(col(Participation.created_at).desc(), col(Participation.id).desc())
    ).all())
    effects: list[str] = []
    if counts.participants or counts.waitlisted:
        effects = _harm(offer, changes, old_tiers, new_tiers, counts, len(registered))
        if effects and not data.confirm:
            raise NeedsConfirmation(effects)

    actor = Actor("staff", principal.user_id)
    new_capacity = changes.get("capacity")
    if new_capacity is not None:
        # The last to sign up go to the waitlist; moved oldest first, so that among themselves
        # they keep their arrival order there too (the waitlist runs by status_changed_at).
        for participation in reversed(registered[:max(0, counts.participants - new_capacity)]):
            change_status(session, participation, ParticipationStatus.waitlisted, actor=actor,
                          note=gettext("De capaciteit van het aanbod werd verlaagd."))

    for name, value in changes.items():
        if name == "price_tiers":
            continue
        setattr(offer, name, value.strip() if isinstance(value, str) else value)
    session.add(offer)
    if data.price_tiers is not None:
        session.exec(delete(PriceTier).where(col(PriceTier.offer_id) == offer.id))  # type: ignore[call-overload]
        session.flush()
        session.add_all(PriceTier(offer_id=offer.id, min_participants=tier.min_participants,
                                  unit_price_cents=tier.unit_price_cents)
                        for tier in data.price_tiers)
    bump_content_version(session, campaign)
    session.flush()
    if new_capacity is not None and counts.waitlisted:
        signups.promote_from_waitlist(session, offer.id)
    return OfferChange(offer=offer, effects=effects)
