"""Claims: the identity rule of DESIGN.md (round 2). An address counts a household but never
opens it.

A sign-up at the address of a household that already exists, from someone who has not proved
control of that household (a resident logged in by its magic link, or staff taking it on
paper), is kept as a claim. It adds nothing to the household: no contact field, no consent, no
sign-up in its name. It holds the place its answer gave (registered or waitlisted), so the
answer and the public counters are those of any sign-up, and the stranger cannot tell that the
address was known. The household is told by its own channel: a mail to its stored email with a
link to confirm ("that is someone of our household") or refuse. A household without email is on
the staff's queue of claims, to be called. Confirmed, the claim becomes the household's sign-up
in the place it held; refused, withdrawn or expired (after CLAIM_DAYS), it frees its place.

Whoever signed up gets the same mail as any sign-up; its link opens their own claim, showing
only what they typed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.config import get_settings
from app.i18n import N_
from app.models import (
    Campaign,
    ClaimToken,
    Household,
    HouseholdClaim,
    Offer,
    Participation,
    ParticipationEvent,
)
from app.models.base import utcnow
from app.models.enums import ParticipationStatus as S
from app.security import new_token, token_hash
from app.services import audit
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from app.services.households import HouseholdData, fill_in_blanks
from app.services.mail import queue_mail
from app.services.validation import parse_int

# A claim nobody decided on stops holding its place after this many days.
CLAIM_DAYS = 14
NOTICE_LINK_DAYS = CLAIM_DAYS
MAX_NOTE = 500
PAGE_SIZE = 50

MSG_DECIDED = N_("Over deze inschrijving is al beslist.")
MSG_EXPIRED = N_("Deze inschrijving is verlopen: niemand bevestigde ze binnen 14 dagen.")
MSG_NOT_FOUND = N_("Deze inschrijving bestaat niet.")


def cutoff(now: datetime | None = None) -> datetime:
    """Pending claims made before this instant have expired."""
    return (now or utcnow()) - timedelta(days=CLAIM_DAYS)


def is_open(claim: HouseholdClaim, now: datetime | None = None) -> bool:
    return claim.status == "pending" and claim.created_at >= cutoff(now)


def held_places(session: Session, offer_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per offer: places held by open claims, (registered, waitlisted)."""
    counts: dict[int, tuple[int, int]] = {}
    if not offer_ids:
        return counts
    rows = session.exec(
        select(HouseholdClaim.offer_id, HouseholdClaim.held_status, func.count())
        .where(col(HouseholdClaim.offer_id).in_(offer_ids), HouseholdClaim.status == "pending",
               HouseholdClaim.created_at >= cutoff())
        .group_by(col(HouseholdClaim.offer_id), col(HouseholdClaim.held_status))
    ).all()
    for offer_id, held_status, count in rows:
        registered, waitlisted = counts.get(offer_id, (0, 0))
        if held_status == S.registered:
            registered += count
        else:
            waitlisted += count
        counts[offer_id] = (registered, waitlisted)
    return counts


def open_claim(
    session: Session, *, household: Household, offer: Offer, campaign: Campaign,
    data: HouseholdData, quantity: float | None, share_contact_with_contractor: bool,
    held_status: str, waitlist_position: int | None, already_signed_up: bool, source: str,
    locale: str, now: datetime,
) -> HouseholdClaim:
    """Store a claim in the caller's transaction (the offer is locked) and queue its mails: the
    household's notice (when it has an email) and the signer's usual confirmation."""
    assert campaign.id is not None and household.id is not None and offer.id is not None
    claim = HouseholdClaim(
        campaign_id=campaign.id, household_id=household.id, offer_id=offer.id,
        held_status=held_status, details=_details(data), quantity=quantity,
        share_contact_with_contractor=share_contact_with_contractor,
        privacy_consent_version=get_settings().PRIVACY_NOTICE_VERSION, source=source,
        locale=locale, already_signed_up=already_signed_up, created_at=now,
    )
    session.add(claim)
    session.flush()
    if household.email:
        mail = queue_mail(session, "claim_notice", household_id=household.id, context={
            "claim_id": claim.id, "campaign_name": campaign.name, "offer_title": offer.title,
            "claimant_name": data.name, "already_signed_up": already_signed_up,
        })
        mail.locale = locale
    if data.email:
        # Word for word the mail of any sign-up; its link opens this claim only.
        mail = queue_mail(session, "signup_confirmation", recipient=data.email, context={
            "claim_id": claim.id, "claimant_name": data.name,
            "campaign_name": campaign.name, "campaign_slug": campaign.slug,
            "offer_id": offer.id, "offer_title": offer.title,
            "status": held_status, "waitlist_position": waitlist_position,
        })
        mail.locale = locale
    return claim


def _details(data: HouseholdData) -> dict[str, Any]:
    return {name: value for name, value in vars(data).items() if value not in (None, "")}


def new_claim_link(claim_id: int, purpose: str) -> tuple[str, dict[str, Any]]:
    """A link about a claim and its token row (only the hash is stored)."""
    settings = get_settings()
    token = new_token()
    now = utcnow()
    lifetime = (timedelta(days=NOTICE_LINK_DAYS) if purpose == "notice"
                else timedelta(minutes=settings.MAGIC_LINK_MINUTES))
    row = {"token_hash": token_hash(token), "claim_id": claim_id, "purpose": purpose,
           "created_at": now, "expires_at": now + lifetime}
    base = settings.BASE_URL.rstrip("/")
    url = f"{base}/adres-bevestigen/{token}" if purpose == "notice" else f"{base}/r/{token}"
    return url, row


# --- links: the household's notice and the signer's receipt -------------------------------------


def claim_for_token(session: Session, token: str, purpose: str) -> HouseholdClaim | None:
    """The claim a link is about, while the link is unused and valid (reads only)."""
    if not token or len(token) > 200:
        return None
    return session.exec(
        select(HouseholdClaim)
        .join(ClaimToken, col(ClaimToken.claim_id) == HouseholdClaim.id)
        .where(ClaimToken.token_hash == token_hash(token), ClaimToken.purpose == purpose,
               col(ClaimToken.used_at).is_(None), ClaimToken.expires_at > utcnow())
    ).first()


def use_token(session: Session, token: str, purpose: str) -> HouseholdClaim | None:
    """Mark the link used, exactly once under concurrency; its claim, or None."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    now = utcnow()
    result = session.exec(  # type: ignore[call-overload]
        update(ClaimToken)
        .where(ClaimToken.token_hash == digest, ClaimToken.purpose == purpose,  # type: ignore[arg-type]
               col(ClaimToken.used_at).is_(None), ClaimToken.expires_at > now)  # type: ignore[arg-type]
        .values(used_at=now)
    )
    if result.rowcount != 1:
        return None
    return session.exec(
        select(HouseholdClaim)
        .join(ClaimToken, col(ClaimToken.claim_id) == HouseholdClaim.id)
        .where(ClaimToken.token_hash == digest)
    ).first()


def decide_by_household(session: Session, *, token: str, confirm: bool) -> HouseholdClaim:
    """The household answers from the link in its mail: confirm or refuse. The link works once."""
    claim = use_token(session, token, "notice")
    if claim is None:
        raise NotFound(N_("Deze link is al gebruikt, verlopen of ongeldig."))
    return _decide(session, None, claim, confirm=confirm, via="household", note="")


def offer_title(session: Session, claim: HouseholdClaim) -> str:
    offer = session.get(Offer, claim.offer_id)
    return offer.title if offer else ""


# --- staff: the queue and their decision ---------------------------------------------------------


def page_number(text: str | None) -> int:
    """A page number from the query string; anything else is the first page."""
    return parse_int(text, minimum=1, maximum=999_999) or 1


@dataclass(frozen=True)
class ClaimItem:
    claim: HouseholdClaim
    campaign: Campaign
    offer_title: str
    household: Household

    @property
    def expired(self) -> bool:
        return not is_open(self.claim)

    @property
    def needs_call(self) -> bool:
        """Nobody but staff can check it: the household has no email."""
        return not self.household.email

    @property
    def reason(self) -> str:
        if self.claim.already_signed_up:
            return N_("Dit adres was al ingeschreven voor dit aanbod.")
        if self.needs_call:
            return N_("Bekend adres zonder e-mailadres: bel het huishouden om na te gaan of "
                      "iemand van het gezin zich inschreef.")
        return N_("Bekend adres: het huishouden kreeg een mail om te bevestigen.")

    def as_json(self) -> dict[str, Any]:
        details = self.claim.details
        return {
            "id": self.claim.id, "campaign": self.campaign.slug, "offer_id": self.claim.offer_id,
            "offer_title": self.offer_title, "household_id": self.claim.household_id,
            "status": "expired" if self.expired and self.claim.status == "pending"
            else self.claim.status,
            "held_status": self.claim.held_status, "reason": self.reason,
            "needs_call": self.needs_call, "already_signed_up": self.claim.already_signed_up,
            "household": {"name": self.household.name, "phone": self.household.phone,
                          "has_email": bool(self.household.email),
                          "street": self.household.street,
                          "house_number": self.household.house_number,
                          "box": self.household.box, "postcode": self.household.postcode},
            "claimant": {"name": details.get("name", ""), "email": details.get("email"),
                         "phone": details.get("phone")},
            "created_at": self.claim.created_at.isoformat(),
        }


def _scoped(principal: Principal) -> Any:
    return (select(HouseholdClaim, Campaign, Offer.title, Household)
            .join(Campaign, col(Campaign.id) == HouseholdClaim.campaign_id)
            .join(Offer, col(Offer.id) == HouseholdClaim.offer_id)
            .join(Household, col(Household.id) == HouseholdClaim.household_id)
            .where(col(Campaign.organisation_id).in_(principal.organisation_ids)))


def pending_claims(session: Session, principal: Principal, *, campaign_slug: str | None = None,
                   page: int = 1) -> tuple[list[ClaimItem], int]:
    """The caller's organisation's undecided claims, oldest first (one page), and their count.
    Those that only staff can check (no email) come first."""
    statement = _scoped(principal).where(HouseholdClaim.status == "pending")
    counted = (select(func.count()).select_from(HouseholdClaim)
               .join(Campaign, col(Campaign.id) == HouseholdClaim.campaign_id)
               .where(col(Campaign.organisation_id).in_(principal.organisation_ids),
                      HouseholdClaim.status == "pending"))
    if campaign_slug is not None:
        statement = statement.where(Campaign.slug == campaign_slug)
        counted = counted.where(Campaign.slug == campaign_slug)
    rows = session.exec(
        statement.order_by(col(Household.email).is_not(None), col(HouseholdClaim.created_at),
                           col(HouseholdClaim.id))
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    total = session.exec(counted).one()
    return [ClaimItem(claim, campaign, title, household)
            for claim, campaign, title, household in rows], int(total)


def decide_by_staff(session: Session, principal: Principal, claim_id: int, *, decision: str,
                    note: str = "") -> HouseholdClaim:
    """Staff checked the claim (by phone, or in person): `decision` is "confirm" or "reject".
    Another organisation's claim is NotFound."""
    if decision not in ("confirm", "reject"):
        raise Invalid(N_("Kies bevestigen of weigeren."), field="decision")
    confirm = decision == "confirm"
    row = session.exec(_scoped(principal).where(HouseholdClaim.id == claim_id)).first()
    if row is None:
        raise NotFound(MSG_NOT_FOUND)
    claim = row[0]
    return _decide(session, principal, claim, confirm=confirm, via="staff",
                   note=" ".join(note.split())[:MAX_NOTE])


# --- the decision --------------------------------------------------------------------------------


def _decide(session: Session, principal: Principal | None, claim: HouseholdClaim, *,
            confirm: bool, via: str, note: str) -> HouseholdClaim:
    """Turn a pending claim into the household's sign-up in the place it held, or let it go."""
    from app.services import signups  # signups imports this module

    offer = signups.lock_offer(session, claim.offer_id)
    session.refresh(claim)
    if claim.status != "pending":
        raise Conflict(MSG_DECIDED)
    if confirm and not is_open(claim):
        raise Conflict(MSG_EXPIRED)
    now = utcnow()
    user_id = principal.user_id if principal else None
    household = session.get(Household, claim.household_id)
    assert household is not None and household.id is not None and claim.id is not None
    held_a_place = claim.held_status == S.registered and is_open(claim, now)
    claim.decided_at, claim.decided_by_user_id, claim.decided_via = now, user_id, via
    claim.decision_note = note
    existing = session.exec(
        select(Participation.id).where(Participation.household_id == household.id,
                                       Participation.offer_id == claim.offer_id)
    ).first()
    if confirm and existing is None and household.erased_at is None:
        claim.status = "confirmed"
        fill_in_blanks(household, HouseholdData(**_household_fields(claim.details)),
                       consented_at=now,
                       consent_version=claim.privacy_consent_version or "",
                       share_contact_with_contractor=claim.share_contact_with_contractor)
        session.add(household)
        # Its place in line is the moment it signed up.
        participation = Participation(
            household_id=household.id, offer_id=offer.id, measure=offer.measure,
            quantity=claim.quantity, status=claim.held_status, created_at=claim.created_at,
            status_changed_at=claim.created_at)
        session.add(participation)
        session.flush()
        assert participation.id is not None
        claim.participation_id = participation.id
        session.add(ParticipationEvent(
            participation_id=participation.id, from_status=None, to_status=claim.held_status,
            note="Inschrijving aan een bekend adres, bevestigd "
                 + ("door het huishouden" if via == "household" else "door het energiehuis"),
            actor_kind="staff" if via == "staff" else "resident", actor_user_id=user_id,
            created_at=now))
        if household.email:
            campaign = session.get(Campaign, claim.campaign_id)
            assert campaign is not None
            queue_mail(session, "signup_confirmation", household_id=household.id, context={
                "campaign_name": campaign.name, "campaign_slug": campaign.slug,
                "offer_id": offer.id, "offer_title": offer.title,
                "status": participation.status,
                "waitlist_position": signups.waitlist_position(session, participation),
            })
    elif confirm:
        claim.status = "confirmed"  # the address was signed up already: nothing to add
    else:
        claim.status = "rejected"
    claim.details = {}
    session.add(claim)
    session.flush()
    if held_a_place and claim.participation_id is None:
        signups.promote_from_waitlist(session, claim.offer_id)
    campaign = session.get(Campaign, claim.campaign_id)
    assert campaign is not None
    audit.record(session, principal, action=f"claim.{claim.status}", object_type="claim",
                 object_id=claim.id, household_id=household.id,
                 organisation_id=campaign.organisation_id)
    return claim


def _household_fields(details: dict[str, Any]) -> dict[str, Any]:
    names = HouseholdData.__dataclass_fields__
    values = {name: details.get(name) for name in names}
    for name in ("name", "street", "house_number", "box", "postcode", "city"):
        values[name] = values[name] or ""
    return values
