"""Signing up for a framework offer: validation, capacity and the waitlist, withdrawal with
promotion of the oldest waitlisted sign-up. Correct under concurrency on SQLite and PostgreSQL.

How capacity stays exact: every change that can take or free a place locks the offer row first
(`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite each writing transaction holds the database
write lock from `BEGIN IMMEDIATE`), then counts the places held and decides. `sign_up` commits
before it answers, so a 201 the resident saw is never rolled back afterwards.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import i18n, observability
from app.config import get_settings
from app.db import constraint_name
from app.i18n import N_
from app.models import (
    Campaign,
    Household,
    HouseholdClaim,
    Offer,
    OutboxMail,
    Participation,
    ParticipationEvent,
)
from app.models.base import utcnow
from app.models.enums import CampaignStatus, HouseholdSource
from app.models.enums import ParticipationStatus as S
from app.security import hit_rate_limit
from app.services import claims, status_flow
from app.services.errors import Conflict, Invalid, NotFound, ServiceError
from app.services.households import HouseholdData, clean_household, fill_in_blanks
from app.services.mail import queue_mail

log = logging.getLogger(__name__)

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
    """A stored sign-up, or (at a known household's address, unproven) the claim it became."""

    participation: Participation | None
    household: Household
    waitlist_position: int | None
    claim: HouseholdClaim | None = None


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


def ensure_signup_open(offer: Offer, campaign: Campaign) -> None:
    """Refuse (409) outside the sign-up window or when the wijk is not open."""
    now = utcnow()
    if campaign.status != CampaignStatus.open:
        raise Conflict(MSG_CAMPAIGN_NOT_OPEN)
    if now < offer.signup_opens_at:
        raise Conflict(MSG_NOT_OPEN_YET)
    if now >= offer.signup_closes_at:
        raise Conflict(MSG_CLOSED)


def lock_offer(session: Session, offer_id: int) -> Offer:
    """Serialise every change to this offer's places (FOR UPDATE; SQLite holds the write lock)."""
    offer = session.exec(
        select(Offer).where(Offer.id == offer_id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return offer


def places_held(session: Session, offer_id: int) -> int:
    """Sign-ups holding a place, and the claims holding one (see `app.services.claims`)."""
    held = session.exec(
        select(func.count()).select_from(Participation).where(
            Participation.offer_id == offer_id,
            col(Participation.status).in_(status_flow.HOLDS_A_PLACE),
        )
    ).one()
    return held + claims.held_places(session, [offer_id]).get(offer_id, (0, 0))[0]


@dataclass(frozen=True)
class SignupRequest:
    """One sign-up as it arrives: flat fields (see `clean_signup`) for an offer. `campaign_slug`,
    when given, must be the offer's wijk (the HTML form's URL carries it)."""

    offer_id: int
    raw: Mapping[str, Any]
    actor: status_flow.Actor = status_flow.Actor("resident")
    source: str = HouseholdSource.online
    locale: str = "nl"
    campaign_slug: str | None = None
    # The household whose control the caller proved (a resident logged in by its magic link):
    # a sign-up at its address is its own. Anyone else's at a known address is a claim.
    proven_household_id: int | None = None
    # The request that sent it (the writer thread writes its mails with this id).
    request_id: str = field(default_factory=observability.current_request_id)


@dataclass(frozen=True)
class SignupReceipt:
    """What a sign-up that was stored answers."""

    participation_id: int
    offer_id: int
    household_id: int
    status: str
    waitlist_position: int | None
    # Kept as a claim on a known household (then participation_id is the claim's id).
    claim_id: int | None = None
    # A confirmation mail was queued (the thank-you page says so).
    mailed: bool = False


@dataclass(frozen=True)
class PreparedSignup:
    """A sign-up that passed validation, ready to be written (see `commit_signups`)."""

    request: SignupRequest
    data: SignupData
    campaign_id: int


def sign_up(
    session: Session,
    offer_id: int,
    raw: Mapping[str, Any],
    *,
    actor: status_flow.Actor = status_flow.Actor("resident"),
    source: str = HouseholdSource.online,
    proven_household_id: int | None = None,
) -> SignupResult:
    """Sign a household up for an offer, registered or (when full) waitlisted; commits.

    `raw` holds flat fields as the form posts them (see `clean_signup`). Raises SignupInvalid
    (422, every failing field), Conflict (409: window closed, or this household already signed
    up for this offer, by staff or its own resident, in which case the log-in link is mailed
    again), NotFound (404). At a known household's address, anyone else's sign-up becomes a
    claim (`SignupResult.claim`, see app.services.claims).
    """
    request = SignupRequest(offer_id, raw, actor=actor, source=source,
                            locale=i18n.current_language.get(),
                            proven_household_id=proven_household_id)
    outcome = sign_up_many(session, [request])[0]
    if isinstance(outcome, ServiceError):
        raise outcome
    household = session.get(Household, outcome.household_id)
    assert household is not None
    if outcome.claim_id is not None:
        return SignupResult(participation=None, household=household,
                            waitlist_position=outcome.waitlist_position,
                            claim=session.get(HouseholdClaim, outcome.claim_id))
    participation = session.get(Participation, outcome.participation_id)
    assert participation is not None
    return SignupResult(participation=participation, household=household,
                        waitlist_position=outcome.waitlist_position)


def sign_up_many(
    session: Session, requests: Sequence[SignupRequest]
) -> list[SignupReceipt | ServiceError]:
    """Sign-ups that arrive together, validated and then written in one transaction (commits).
    Each gets its receipt or the error it would have raised alone."""
    return commit_signups(session, prepare_signups(session, requests))


def prepare_signups(
    session: Session, requests: Sequence[SignupRequest]
) -> list[PreparedSignup | ServiceError]:
    """Validate sign-ups against their offers without writing anything: NotFound for an unknown
    offer (or another wijk's), SignupInvalid for bad fields, Conflict outside the window."""
    offer_ids = {request.offer_id for request in requests}
    found = {
        offer.id: (offer, campaign)
        for offer, campaign in session.exec(
            select(Offer, Campaign)
            .join(Campaign, col(Campaign.id) == Offer.campaign_id)
            .where(col(Offer.id).in_(offer_ids), Campaign.status != CampaignStatus.draft)
        ).all()
    }
    prepared: list[PreparedSignup | ServiceError] = []
    for request in requests:
        pair = found.get(request.offer_id)
        if pair is None or (request.campaign_slug is not None
                            and pair[1].slug != request.campaign_slug):
            prepared.append(NotFound(MSG_OFFER_NOT_FOUND))
            continue
        offer, campaign = pair
        data, errors = clean_signup(request.raw, campaign)
        if data is None:
            prepared.append(SignupInvalid(errors))
            continue
        try:
            ensure_signup_open(offer, campaign)
        except Conflict as exc:
            prepared.append(exc)
            continue
        assert campaign.id is not None
        prepared.append(PreparedSignup(request, data, campaign.id))
    return prepared


def commit_signups(
    session: Session, prepared: Sequence[PreparedSignup | ServiceError]
) -> list[SignupReceipt | ServiceError]:
    """Write validated sign-ups in one transaction and commit it.

    The offers are locked first (`FOR UPDATE`, in id order; on SQLite the transaction holds the
    write lock from BEGIN), so places are counted once per offer and handed out in arrival
    order. The rows go in with a few multi-row statements instead of one ORM flush per sign-up.
    Should the batch hit a constraint (another instance stored the same sign-up meanwhile), it
    is rolled back and each sign-up is written on its own.
    """
    try:
        outcomes = _write_signups(session, prepared)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        pending = [item for item in prepared if isinstance(item, PreparedSignup)]
        if len(pending) <= 1:
            return [Conflict(MSG_DUPLICATE) if isinstance(item, PreparedSignup) else item
                    for item in prepared]
        # The constraint's name only: the driver's message repeats the row's values.
        log.info("sign-up batch of %d hit a constraint (%s); writing them one by one",
                 len(pending), constraint_name(exc))
        return [commit_signups(session, [item])[0] if isinstance(item, PreparedSignup) else item
                for item in prepared]
    return outcomes


def _write_signups(
    session: Session, prepared: Sequence[PreparedSignup | ServiceError]
) -> list[SignupReceipt | ServiceError]:
    outcomes: list[SignupReceipt | ServiceError | None] = [
        item if isinstance(item, ServiceError) else None for item in prepared]
    todo = [(index, item) for index, item in enumerate(prepared)
            if isinstance(item, PreparedSignup)]
    if not todo:
        return [item for item in outcomes if item is not None]
    connection = session.connection()
    offers = _lock_offers(session, sorted({item.request.offer_id for _, item in todo}))
    now = utcnow()
    # The window may have closed (or the wijk been closed) while the batch waited for the lock.
    for index, item in list(todo):
        offer, campaign = offers[item.request.offer_id]
        try:
            ensure_signup_open(offer, campaign)
        except Conflict as exc:
            outcomes[index] = exc
            todo.remove((index, item))

    households = _households_for(session, todo, now)
    seen_pairs = _existing_pairs(session, todo, households)
    held, waiting = _place_counts(session, list(offers))
    rows: list[dict[str, Any]] = []
    placed: list[tuple[int, PreparedSignup, int, str, int | None]] = []
    version = get_settings().PRIVACY_NOTICE_VERSION
    for index, item in todo:
        request = item.request
        # The mails this sign-up queues (a claim's, a link resent) name its request.
        observability.request_id.set(request.request_id)
        offer, campaign = offers[request.offer_id]
        household_id = households[(item.campaign_id, item.data.household.address_key)]
        known = households.existing.get(household_id)
        if known is None and households.creator.get(household_id) is not item:
            known = session.get(Household, household_id)  # made a moment ago by this batch
        proven = request.actor.kind == "staff" or request.proven_household_id == household_id
        signed_up = (request.offer_id, household_id) in seen_pairs
        if signed_up and (proven or known is None):
            _resend_link(session, household_id, campaign, locale=request.locale)
            outcomes[index] = Conflict(MSG_DUPLICATE)
            continue
        assert offer.id is not None
        if held[offer.id] < offer.capacity and waiting[offer.id]:
            promoted = len(_fill_free_places(session, offer, held=held[offer.id]))
            held[offer.id] += promoted
            waiting[offer.id] -= promoted
        if held[offer.id] < offer.capacity:
            status, position = S.registered, None
            held[offer.id] += 1
        else:
            waiting[offer.id] += 1
            status, position = S.waitlisted, waiting[offer.id]
        if known is not None and not proven:
            # The identity rule: the same answer as anyone, and nothing added to the household.
            claim = claims.open_claim(
                session, household=known, offer=offer, campaign=campaign,
                data=item.data.household, quantity=item.data.quantity,
                share_contact_with_contractor=item.data.share_contact_with_contractor,
                held_status=status.value, waitlist_position=position,
                already_signed_up=signed_up, source=request.source, locale=request.locale,
                now=now)
            assert claim.id is not None
            outcomes[index] = SignupReceipt(
                participation_id=claim.id, offer_id=offer.id, household_id=household_id,
                status=status.value, waitlist_position=position, claim_id=claim.id,
                mailed=bool(item.data.household.email))
            continue
        if known is not None:
            fill_in_blanks(known, item.data.household, consented_at=now,
                           consent_version=version,
                           share_contact_with_contractor=item.data.share_contact_with_contractor)
            session.add(known)
            if known.email:
                households.with_email.add(household_id)
        seen_pairs.add((request.offer_id, household_id))
        rows.append({"household_id": household_id, "offer_id": offer.id,
                     "measure": offer.measure, "quantity": item.data.quantity,
                     "status": status.value, "created_at": now, "status_changed_at": now})
        placed.append((index, item, household_id, status.value, position))
    if not rows:
        session.flush()
        return [item for item in outcomes if item is not None]

    participation_table = Participation.__table__  # type: ignore[attr-defined]
    # One multi-row statement; the ids are matched by (household, offer), which is unique here
    # (asking for them in parameter order would make SQLAlchemy insert row by row on SQLite).
    table = participation_table.c
    inserted = {
        (household_id, offer_id): participation_id
        for participation_id, household_id, offer_id in connection.execute(
            insert(participation_table).returning(table.id, table.household_id, table.offer_id),
            rows,
        ).all()
    }
    events, mails = [], []
    for index, item, household_id, status_value, position in placed:
        request = item.request
        participation_id = inserted[(household_id, request.offer_id)]
        offer, campaign = offers[request.offer_id]
        events.append({"participation_id": participation_id, "from_status": None,
                       "to_status": status_value, "note": "", "actor_kind": request.actor.kind,
                       "actor_user_id": request.actor.user_id, "created_at": now})
        if households.has_email(household_id):
            mails.append({
                "purpose": "signup_confirmation", "household_id": household_id,
                "recipient": None, "user_id": None, "locale": request.locale,
                "context": {"campaign_name": campaign.name, "campaign_slug": campaign.slug,
                            "offer_id": offer.id, "offer_title": offer.title,
                            "status": status_value, "waitlist_position": position,
                            **({"request_id": request.request_id} if request.request_id
                               else {})},
                "next_attempt_at": now, "created_at": now,
            })
        outcomes[index] = SignupReceipt(participation_id=participation_id,
                                        offer_id=request.offer_id,
                                        household_id=household_id, status=status_value,
                                        waitlist_position=position,
                                        mailed=households.has_email(household_id))
    connection.execute(insert(ParticipationEvent.__table__), events)  # type: ignore[attr-defined]
    if mails:
        connection.execute(insert(OutboxMail.__table__), mails)  # type: ignore[attr-defined]
    return [item for item in outcomes if item is not None]


def _lock_offers(session: Session, offer_ids: list[int]) -> dict[int, tuple[Offer, Campaign]]:
    """The offers with their campaigns, locked in id order (SQLite: the write lock is held)."""
    rows = session.exec(
        select(Offer, Campaign)
        .join(Campaign, col(Campaign.id) == Offer.campaign_id)
        .where(col(Offer.id).in_(offer_ids))
        .order_by(col(Offer.id))
        .with_for_update(of=Offer)  # type: ignore[arg-type]
        .execution_options(populate_existing=True)
    ).all()
    return {offer.id: (offer, campaign) for offer, campaign in rows}  # type: ignore[misc]


def _place_counts(session: Session, offer_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Places held and sign-ups waitlisted per offer, in one aggregate query."""
    held = dict.fromkeys(offer_ids, 0)
    waiting = dict.fromkeys(offer_ids, 0)
    counted = session.exec(
        select(Participation.offer_id, Participation.status, func.count())
        .where(col(Participation.offer_id).in_(offer_ids),
               col(Participation.status).in_([*status_flow.HOLDS_A_PLACE, S.waitlisted]))
        .group_by(col(Participation.offer_id), col(Participation.status))
    ).all()
    for offer_id, status, count in counted:
        assert offer_id is not None
        if status == S.waitlisted:
            waiting[offer_id] += count
        else:
            held[offer_id] += count
    for offer_id, (registered, waitlisted) in claims.held_places(session, offer_ids).items():
        held[offer_id] += registered
        waiting[offer_id] += waitlisted
    return held, waiting


class _HouseholdIds(dict[tuple[int, str], int]):
    """(campaign id, address key) -> household id, remembering which households have an email
    address stored (an existing household keeps its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.with_email: set[int] = set()
        self.created: set[int] = set()  # made by this batch: no sign-ups stored yet
        # Those made by this batch, and the sign-up whose details made each.
        self.creator: dict[int, PreparedSignup] = {}
        # The households that existed before this batch (none of them changed here).
        self.existing: dict[int, Household] = {}

    def has_email(self, household_id: int) -> bool:
        return household_id in self.with_email


def _households_for(
    session: Session, todo: list[tuple[int, PreparedSignup]], now: datetime
) -> _HouseholdIds:
    """Each sign-up's household: found by address in its wijk, or created from the first
    sign-up at that address. Existing households are returned unchanged (`existing`): whether a
    sign-up may add to one is the caller's decision (the identity rule)."""
    result = _HouseholdIds()
    by_campaign: dict[int, dict[str, PreparedSignup]] = {}
    for _, item in todo:
        by_campaign.setdefault(item.campaign_id, {}).setdefault(
            item.data.household.address_key, item)
    version = get_settings().PRIVACY_NOTICE_VERSION
    table = Household.__table__  # type: ignore[attr-defined]
    for campaign_id, items in by_campaign.items():
        existing = {
            household.address_key or "": household
            for household in session.exec(
                select(Household).where(Household.campaign_id == campaign_id,
                                        col(Household.address_key).in_(list(items)))
            ).all()
        }
        new_rows = [
            {"campaign_id": campaign_id, "address_key": key, "source": item.request.source,
             **{f.name: getattr(item.data.household, f.name)
                for f in dataclass_fields(item.data.household)},
             "privacy_consent_version": version, "privacy_consented_at": now,
             "share_contact_with_contractor": item.data.share_contact_with_contractor,
             "created_at": now, "updated_at": now}
            for key, item in items.items() if key not in existing
        ]
        if new_rows:
            dialect = session.get_bind().dialect.name
            upsert = pg_insert if dialect == "postgresql" else sqlite_insert
            created = session.connection().execute(
                upsert(table).on_conflict_do_nothing(
                    index_elements=["campaign_id", "address_key"]
                ).returning(table.c.id, table.c.address_key, table.c.email),
                new_rows,
            ).all()
            for household_id, key, email in created:
                result[(campaign_id, key)] = household_id
                result.created.add(household_id)
                result.creator[household_id] = items[key]
                if email:
                    result.with_email.add(household_id)
            missing = [row["address_key"] for row in new_rows
                       if (campaign_id, row["address_key"]) not in result]
            if missing:  # another instance created them a moment ago
                existing.update({
                    household.address_key or "": household
                    for household in session.exec(
                        select(Household).where(Household.campaign_id == campaign_id,
                                                col(Household.address_key).in_(missing))
                    ).all()
                })
        for key, household in existing.items():
            if (campaign_id, key) in result:
                continue
            assert household.id is not None
            result[(campaign_id, key)] = household.id
            result.existing[household.id] = household
            if household.email:
                result.with_email.add(household.id)
    session.flush()
    return result


def _existing_pairs(
    session: Session, todo: list[tuple[int, PreparedSignup]], households: _HouseholdIds
) -> set[tuple[int, int]]:
    """(offer id, household id) of the sign-ups already stored for these households (the ones
    this batch created have none: with a rush of new addresses, no query at all)."""
    household_ids = set(households.values()) - households.created
    if not household_ids:
        return set()
    offer_ids = {item.request.offer_id for _, item in todo}
    rows = session.exec(
        select(Participation.offer_id, Participation.household_id).where(
            col(Participation.household_id).in_(household_ids),
            col(Participation.offer_id).in_(offer_ids),
        )
    ).all()
    return {(offer_id, household_id) for offer_id, household_id in rows
            if offer_id is not None}


def _resend_link(session: Session, household_id: int, campaign: Campaign, *,
                 locale: str) -> None:
    """Mail the existing household a fresh log-in link (at most RESEND_LINKS_PER_HOUR)."""
    household = session.get(Household, household_id)
    if household is None or not household.email:
        return
    if not hit_rate_limit(session, f"signup-resend:{household_id}",
                          limit=RESEND_LINKS_PER_HOUR, window_seconds=3600):
        mail = queue_mail(session, "magic_link", household_id=household_id,
                          context={"campaign_name": campaign.name})
        mail.locale = locale


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
    return _fill_free_places(session, lock_offer(session, offer_id))


def withdraw(
    session: Session, participation: Participation, actor: status_flow.Actor
) -> Participation:
    """Cancel a sign-up at the resident's request ("Ingetrokken door bewoner"); if it held a
    place, the oldest waitlisted sign-up moves up and is mailed. Raises Conflict when the
    sign-up can no longer be cancelled. The caller's transaction commits.

    The caller has already checked that `participation` belongs to the resident."""
    if participation.offer_id is not None:
        lock_offer(session, participation.offer_id)
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


def confirmation_ref(receipt: SignupReceipt) -> str:
    """What the thank-you page shows, carried in its URL and signed so that only this server
    can make one: the answer the sign-up got (offer, status, waitlist position, whether a mail
    went out), never an id. A sign-up kept as a claim reads exactly like any other."""
    payload = json.dumps([receipt.offer_id, receipt.status, receipt.waitlist_position,
                          receipt.mailed, secrets.token_hex(4)], separators=(",", ":"))
    text = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{text}.{_ref_signature(text)}"


@dataclass(frozen=True)
class Confirmation:
    offer_id: int
    status: str
    waitlist_position: int | None
    mailed: bool


def read_confirmation_ref(ref: str) -> Confirmation | None:
    """The answer behind a thank-you page's reference, or None when it is not a valid one."""
    text, _, signature = ref.partition(".")
    if not (text.isascii() and signature.isascii() and 0 < len(text) <= 200):
        return None
    if not hmac.compare_digest(signature.encode(), _ref_signature(text).encode()):
        return None
    try:
        offer_id, status, position, mailed, _nonce = json.loads(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        return None
    return Confirmation(offer_id=offer_id, status=status, waitlist_position=position,
                        mailed=bool(mailed))


def _ref_signature(text: str) -> str:
    key = get_settings().SECRET_KEY.encode()
    return hmac.new(key, f"signup|{text}".encode(), hashlib.sha256).hexdigest()[:24]
