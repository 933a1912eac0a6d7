"""Signing up for a framework offer: validation, capacity and the waitlist, withdrawal with
promotion of the oldest waitlisted sign-up. Correct under concurrency on SQLite and PostgreSQL.

How capacity stays exact: every change that can take or free a place locks the offer row first
(`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite each writing transaction holds the database
write lock from `BEGIN IMMEDIATE`), then counts the places held and decides. `sign_up` commits
before it answers, so a 201 the resident saw is never rolled back afterwards.
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.config import get_settings
from app.i18n import N_
from app.models import Campaign, Household, Offer, Participation
from app.models.base import utcnow
from app.models.enums import CampaignStatus, HouseholdSource
from app.models.enums import ParticipationStatus as S
from app.security import hit_rate_limit
from app.services import status_flow
from app.services.errors import Conflict, Invalid, NotFound
from app.services.households import HouseholdData, clean_household, find_or_create_household
from app.services.mail import queue_mail

MAX_QUANTITY = 100_000
WITHDRAW_NOTE = N_("Ingetrokken door bewoner")
# A duplicate sign-up re-sends the log-in link, at most this often per household and hour.
RESEND_LINKS_PER_HOUR = 3

MSG_CONSENT = N_("Je kan je pas inschrijven als je akkoord gaat met de privacyverklaring.")
MSG_QUANTITY = N_("Geef een getal van 0 of meer, bijvoorbeeld 45 of 45,5.")
MSG_DUPLICATE = N_("Dit adres is al ingeschreven voor dit aanbod. We hebben de link naar je "
                   "inschrijving opnieuw gemaild (als we een e-mailadres hebben).")
MSG_NOT_OPEN_YET = N_("De inschrijvingen voor dit aanbod zijn nog niet begonnen.")
MSG_CLOSED = N_("De inschrijvingen voor dit aanbod zijn afgesloten.")
MSG_CAMPAIGN_NOT_OPEN = N_("Deze wijk neemt op dit moment geen inschrijvingen aan.")
MSG_OFFER_NOT_FOUND = N_("Dit aanbod bestaat niet.")
MSG_NOT_WITHDRAWABLE = N_("Deze inschrijving kan niet meer ingetrokken worden.")


class SignupInvalid(Invalid):
    """Several fields failed; `errors` maps each field name to its Dutch message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(errors[first], field=field_path(first))
        self.errors = errors


@dataclass
class SignupData:
    household: HouseholdData
    quantity: float | None
    share_contact_with_contractor: bool


@dataclass(frozen=True)
class SignupResult:
    participation: Participation
    household: Household
    waitlist_position: int | None


def field_path(name: str) -> str:
    """Where a field sits in the API body: household fields under `household`."""
    top_level = {"quantity", "consent", "share_contact_with_contractor"}
    return name if name in top_level else f"household.{name}"


def is_true(value: Any) -> bool:
    """A checkbox or JSON boolean: only an explicit yes counts."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"true", "on", "1", "yes", "ja"}


def clean_signup(
    raw: Mapping[str, Any], campaign: Campaign, *, live: bool = False
) -> tuple[SignupData | None, dict[str, str]]:
    """Validate a sign-up given as flat fields (the household's fields plus `quantity`,
    `consent`, `share_contact_with_contractor`). `live` relaxes the rules that need the whole
    form (consent, email-or-phone) for validation while the resident types."""
    household, errors = clean_household(raw, campaign, contact_required=not live)
    quantity, quantity_errors = parse_quantity(raw.get("quantity"))
    errors.update(quantity_errors)
    if not live and not is_true(raw.get("consent")):
        errors["consent"] = MSG_CONSENT
    if errors or household is None:
        return None, errors
    return SignupData(
        household=household,
        quantity=quantity,
        share_contact_with_contractor=is_true(raw.get("share_contact_with_contractor")),
    ), {}


def parse_quantity(raw: Any) -> tuple[float | None, dict[str, str]]:
    """The estimated quantity (optional; a decimal comma is fine), or an error for `quantity`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, {}
    try:
        if isinstance(raw, bool):
            raise ValueError("a boolean is not a quantity")
        value = float(str(raw).strip().replace(",", "."))
    except ValueError:
        return None, {"quantity": MSG_QUANTITY}
    if not 0 <= value <= MAX_QUANTITY:  # also refuses NaN
        return None, {"quantity": MSG_QUANTITY}
    return value, {}


def get_public_offer(session: Session, offer_id: int) -> tuple[Offer, Campaign]:
    """An offer of a published (open or closed) campaign; drafts answer NotFound."""
    row = session.exec(
        select(Offer, Campaign)
        .join(Campaign, col(Campaign.id) == Offer.campaign_id)
        .where(Offer.id == offer_id, Campaign.status != CampaignStatus.draft)
    ).first()
    if row is None:
        raise NotFound(MSG_OFFER_NOT_FOUND)
    return row[0], row[1]


def ensure_signup_open(offer: Offer, campaign: Campaign) -> None:
    """Refuse (409) outside the sign-up window or when the wijk is not open."""
    now = utcnow()
    if campaign.status != CampaignStatus.open:
        raise Conflict(MSG_CAMPAIGN_NOT_OPEN)
    if now < offer.signup_opens_at:
        raise Conflict(MSG_NOT_OPEN_YET)
    if now >= offer.signup_closes_at:
        raise Conflict(MSG_CLOSED)


def _lock_offer(session: Session, offer_id: int) -> Offer:
    """Serialise every change to this offer's places (FOR UPDATE; SQLite holds the write lock)."""
    offer = session.exec(
        select(Offer).where(Offer.id == offer_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return offer


def places_held(session: Session, offer_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(Participation).where(
            Participation.offer_id == offer_id,
            col(Participation.status).in_(status_flow.HOLDS_A_PLACE),
        )
    ).one()


def sign_up(
    session: Session,
    offer_id: int,
    raw: Mapping[str, Any],
    *,
    actor: status_flow.Actor = status_flow.Actor("resident"),
    source: str = HouseholdSource.online,
) -> SignupResult:
    """Sign a household up for an offer, registered or (when full) waitlisted; commits.

    `raw` holds flat fields as the form posts them (see `clean_signup`). Raises SignupInvalid
    (422, every failing field), Conflict (409: window closed, or this address already signed
    up for this offer, in which case the log-in link is mailed again), NotFound (404).
    """
    offer, campaign = get_public_offer(session, offer_id)
    data, errors = clean_signup(raw, campaign)
    if data is None:
        raise SignupInvalid(errors)
    ensure_signup_open(offer, campaign)
    settings = get_settings()
    try:
        offer = _lock_offer(session, offer_id)
        now = utcnow()
        household, _created = find_or_create_household(
            session, campaign, data.household, consented_at=now,
            consent_version=settings.PRIVACY_NOTICE_VERSION,
            share_contact_with_contractor=data.share_contact_with_contractor, source=source,
        )
        assert household.id is not None
        existing = session.exec(
            select(Participation.id).where(
                Participation.offer_id == offer_id, Participation.household_id == household.id
            )
        ).first()
        if existing is not None:
            _resend_link(session, household, campaign)
            raise Conflict(MSG_DUPLICATE)
        held = places_held(session, offer_id)
        if held < offer.capacity:
            held += len(_fill_free_places(session, offer, held=held))
        status = S.registered if held < offer.capacity else S.waitlisted
        participation = Participation(
            household_id=household.id, offer_id=offer_id, measure=offer.measure,
            quantity=data.quantity, status=status, created_at=now, status_changed_at=now,
        )
        session.add(participation)
        session.flush()
        status_flow.record_initial_status(session, participation, actor)
        position = waitlist_position(session, participation)
        if household.email:
            queue_mail(session, "signup_confirmation", household_id=household.id, context={
                "campaign_name": campaign.name, "campaign_slug": campaign.slug,
                "offer_id": offer_id, "offer_title": offer.title, "status": status.value,
                "waitlist_position": position,
            })
        session.commit()
    except IntegrityError as exc:
        # A retry that slipped past the address check (UNIQUE(offer_id, household_id)).
        session.rollback()
        raise Conflict(MSG_DUPLICATE) from exc
    return SignupResult(participation=participation, household=household,
                        waitlist_position=position)


def _resend_link(session: Session, household: Household, campaign: Campaign) -> None:
    """Mail the existing household a fresh log-in link, committed before the 409 is raised."""
    if household.email and not hit_rate_limit(
        session, f"signup-resend:{household.id}", limit=RESEND_LINKS_PER_HOUR, window_seconds=3600
    ):
        queue_mail(session, "magic_link", household_id=household.id,
                   context={"campaign_name": campaign.name})
    session.commit()


def waitlist_position(session: Session, participation: Participation) -> int | None:
    """1-based rank among the offer's waitlisted sign-ups by (status_changed_at, id); None
    when not waitlisted. Positions have no gaps: withdrawn sign-ups are not waitlisted."""
    if participation.status != S.waitlisted or participation.offer_id is None:
        return None
    ahead = session.exec(
        select(func.count()).select_from(Participation).where(
            Participation.offer_id == participation.offer_id,
            Participation.status == S.waitlisted,
            (col(Participation.status_changed_at) < participation.status_changed_at)
            | ((col(Participation.status_changed_at) == participation.status_changed_at)
               & (col(Participation.id) < participation.id)),
        )
    ).one()
    return ahead + 1


def waitlist_positions(session: Session, household_id: int) -> dict[int, int]:
    """Waitlist position of each of a household's waitlisted sign-ups, in one query:
    {participation_id: position}."""
    ranked = (
        select(
            col(Participation.id).label("participation_id"),
            col(Participation.household_id).label("household_id"),
            func.row_number().over(
                partition_by=col(Participation.offer_id),
                order_by=(col(Participation.status_changed_at), col(Participation.id)),
            ).label("position"),
        )
        .where(
            Participation.status == S.waitlisted,
            col(Participation.offer_id).in_(
                select(Participation.offer_id).where(
                    Participation.household_id == household_id,
                    Participation.status == S.waitlisted,
                )
            ),
        )
        .subquery()
    )
    rows = session.exec(
        select(ranked.c.participation_id, ranked.c.position).where(
            ranked.c.household_id == household_id
        )
    ).all()
    return {participation_id: position for participation_id, position in rows}


def _fill_free_places(
    session: Session, offer: Offer, *, held: int | None = None,
    actor: status_flow.Actor = status_flow.SYSTEM,
) -> list[Participation]:
    """Promote the oldest waitlisted sign-ups into free places (the offer is locked).
    `held` saves a count when the caller just made it."""
    assert offer.id is not None
    free = offer.capacity - (places_held(session, offer.id) if held is None else held)
    if free <= 0:
        return []
    waiting = session.exec(
        select(Participation)
        .where(Participation.offer_id == offer.id, Participation.status == S.waitlisted)
        .order_by(col(Participation.status_changed_at), col(Participation.id))
        .limit(free)
    ).all()
    promoted = []
    for participation in waiting:
        status_flow.change_status(
            session, participation, S.registered, actor=actor,
            note="Doorgeschoven van de wachtlijst",
        )
        queue_mail(session, "waitlist_promoted", household_id=participation.household_id,
                   context={"offer_id": offer.id, "offer_title": offer.title,
                            "campaign_id": offer.campaign_id})
        promoted.append(participation)
    session.flush()
    return promoted


def promote_from_waitlist(session: Session, offer_id: int) -> list[Participation]:
    """Move the oldest waitlisted sign-ups of an offer into its free places (usually one, after
    a withdrawal), each with a status event and a `waitlist_promoted` mail. Locks the offer;
    the caller's transaction commits. Returns the promoted participations."""
    return _fill_free_places(session, _lock_offer(session, offer_id))


def withdraw(
    session: Session, participation: Participation, actor: status_flow.Actor
) -> Participation:
    """Cancel a sign-up at the resident's request ("Ingetrokken door bewoner"); if it held a
    place, the oldest waitlisted sign-up moves up and is mailed. Raises Conflict when the
    sign-up can no longer be cancelled. The caller's transaction commits.

    The caller has already checked that `participation` belongs to the resident."""
    if participation.offer_id is not None:
        _lock_offer(session, participation.offer_id)
        session.refresh(participation)
    if not status_flow.can_transition(participation.status, S.cancelled):
        raise Conflict(MSG_NOT_WITHDRAWABLE)
    held_a_place = participation.status in status_flow.HOLDS_A_PLACE
    status_flow.change_status(session, participation, S.cancelled, actor=actor,
                              note=WITHDRAW_NOTE)
    session.flush()
    if held_a_place and participation.offer_id is not None:
        promote_from_waitlist(session, participation.offer_id)
    return participation


def confirmation_ref(participation_id: int) -> str:
    """A reference to put in the thank-you page's URL; only this server can make one."""
    return f"{participation_id}.{_ref_signature(participation_id)}"


def participation_for_ref(session: Session, ref: str) -> tuple[Participation, Household] | None:
    """The sign-up behind a confirmation reference, or None when it is not a valid one."""
    id_text, _, signature = ref.partition(".")
    if not id_text.isdigit() or not hmac.compare_digest(signature, _ref_signature(int(id_text))):
        return None
    row = session.exec(
        select(Participation, Household)
        .join(Household, col(Household.id) == Participation.household_id)
        .where(Participation.id == int(id_text))
    ).first()
    return (row[0], row[1]) if row else None


def _ref_signature(participation_id: int) -> str:
    key = get_settings().SECRET_KEY.encode()
    return hmac.new(key, f"signup|{participation_id}".encode(), hashlib.sha256).hexdigest()[:24]
