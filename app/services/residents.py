"""The resident's account without a password: magic links, what /mijn shows, editing their
details, withdrawing, exporting all their data and erasing themselves.

Every query here is scoped to the caller's household (`principal.household_id`) in the query.
A magic-link mail goes to every (non-erased) household with that address, one mail per
household: a resident who signed up in two wijken gets one link per wijk, each naming its wijk.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, delete, func, or_, update
from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import (
    Batch,
    Campaign,
    Contractor,
    Group,
    GroupMember,
    Household,
    HouseholdClaim,
    Interest,
    InterestSubmission,
    MagicLinkToken,
    Offer,
    OutboxMail,
    Participation,
    ParticipationEvent,
)
from app.models.base import utcnow
from app.models.enums import ParticipationStatus as S
from app.security import hit_rate_limit, rate_limited, token_hash
from app.services import audit, mail, signups
from app.services.auth import Principal, end_household_sessions, start_session
from app.services.errors import Conflict, Invalid, NotFound, RateLimited, Unauthorized
from app.services.households import HOUSEHOLD_FIELDS, clean_household
from app.services.interests import MEASURE_LABELS
from app.services.mail import queue_mail
from app.services.signups import is_true
from app.services.status_flow import FUNNEL, HOLDS_A_PLACE, STATUS_LABELS, Actor, change_status
from app.services.validation import email_address, parse_int

LINK_REQUESTS_PER_EMAIL = 5
LINK_REQUEST_WINDOW_SECONDS = 60 * 60
# A resident in many wijken gets a link for the most recent ones only (mail flooding).
MAX_LINKS_PER_REQUEST = 3
FAILED_TOKEN_USES_PER_ADDRESS = 10
FAILED_TOKEN_WINDOW_SECONDS = 15 * 60
ERASE_REASON = "gewist op vraag van bewoner"
# A resident may step out up to their personal offer; after accepting it, staff handle it.
RESIDENT_CAN_WITHDRAW = frozenset({S.registered, S.waitlisted, S.assigned, S.visit_planned,
                                   S.measured, S.offered, S.declined})
# Fields blanked on erasure; what stays (postcode, dwelling type, tenure, life phase, budget band,
# profile, source, dates) cannot identify a person once the address is gone, and keeps counts.
PERSONAL_FIELDS: dict[str, Any] = {
    "name": "", "email": None, "phone": None, "street": "", "house_number": "", "box": "",
    "city": "", "address_key": None, "build_year": None, "income_category": None,
    "energy_kwh_year": None, "energy_cost_cents_year": None,
    "share_contact_with_contractor": False,
}
# Waiting for readers to finish before the WAL can be truncated, at most this long.
CHECKPOINT_BUSY_MS = 5000

EXTRA_FIELDS = ("share_contact_with_contractor", "energy_kwh_year", "energy_cost_cents_year")
MAX_KWH_YEAR = 200_000
MAX_COST_CENTS_YEAR = 10_000_000


class DetailsInvalid(Invalid):
    """One or more fields of the details form are wrong; `errors` has a message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, field=first_field)
        self.errors = errors


# --- magic links ------------------------------------------------------------------------------


def request_magic_link(session: Session, *, email: str) -> int:
    """Queue a log-in link to every household with this address; answers how many were queued.

    Callers must answer the same whatever this returns (known or not, rate limited or not).
    """
    normalised = email_address(email)
    if hit_rate_limit(session, f"magic-link:email:{normalised}",
                      limit=LINK_REQUESTS_PER_EMAIL, window_seconds=LINK_REQUEST_WINDOW_SECONDS):
        return 0
    rows = session.exec(
        select(Household.id, Campaign.name)
        .join(Campaign, col(Campaign.id) == Household.campaign_id)
        .where(func.lower(Household.email) == normalised, col(Household.erased_at).is_(None))
        .order_by(col(Household.created_at).desc(), col(Household.id).desc())
        .limit(MAX_LINKS_PER_REQUEST)
    ).all()
    for household_id, campaign_name in rows:
        queue_mail(session, "magic_link", household_id=household_id,
                   context={"campaign_name": campaign_name})
    return len(rows)


def magic_link_is_usable(session: Session, token: str) -> bool:
    """Whether the link would log in now (read only: the confirm page must not consume it)."""
    if not token or len(token) > 200:
        return False
    found = session.exec(
        select(MagicLinkToken.id)
        .join(Household, col(Household.id) == MagicLinkToken.household_id)
        .where(
            MagicLinkToken.token_hash == token_hash(token),
            col(MagicLinkToken.used_at).is_(None),
            MagicLinkToken.expires_at > utcnow(),
            col(Household.erased_at).is_(None),
        )
    ).first()
    return found is not None


def consume_magic_link(session: Session, token: str) -> Household | None:
    """Mark the token used, exactly once even under concurrency; its household, or None."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    now = utcnow()
    result = session.exec(  # type: ignore[call-overload]
        update(MagicLinkToken)
        .where(
            MagicLinkToken.token_hash == digest,  # type: ignore[arg-type]
            col(MagicLinkToken.used_at).is_(None),
            MagicLinkToken.expires_at > now,  # type: ignore[arg-type]
        )
        .values(used_at=now)
    )
    if result.rowcount != 1:
        return None
    household = session.exec(
        select(Household)
        .join(MagicLinkToken, col(MagicLinkToken.household_id) == Household.id)
        .where(MagicLinkToken.token_hash == digest)
    ).first()
    if household is None or household.erased_at is not None:
        return None
    return household


def log_in_with_magic_link(session: Session, *, token: str, ip: str, kind: str) -> str:
    """Exchange a magic-link token for a new session ("web" cookie or "api" bearer token).

    Failed uses are counted per client address and survive the error (committed here).
    """
    fail_key = f"magic-link:fail:{ip}"
    if rate_limited(session, fail_key, limit=FAILED_TOKEN_USES_PER_ADDRESS,
                    window_seconds=FAILED_TOKEN_WINDOW_SECONDS):
        raise RateLimited(N_("Te veel ongeldige aanmeldlinks. Probeer het over 15 minuten "
                             "opnieuw."))
    household = consume_magic_link(session, token)
    if household is None:
        hit_rate_limit(session, fail_key, limit=0, window_seconds=FAILED_TOKEN_WINDOW_SECONDS)
        session.commit()
        raise Unauthorized(N_("Deze aanmeldlink is al gebruikt, verlopen of ongeldig. "
                              "Vraag een nieuwe link aan."), field="token")
    return start_session(session, kind=kind, household=household)


# --- what /mijn shows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    status: str
    label: str
    state: str  # done, current, todo


@dataclass(frozen=True)
class SignupView:
    participation: Participation
    title: str
    campaign: Campaign
    offer: Offer | None
    waitlist_position: int | None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[S(self.participation.status)]

    @property
    def can_withdraw(self) -> bool:
        return self.participation.status in RESIDENT_CAN_WITHDRAW

    @property
    def steps(self) -> list[Step]:
        """The status flow as a step indicator; empty for a cancelled or declined sign-up."""
        status = S(self.participation.status)
        if status in (S.cancelled, S.declined):
            return []
        current = FUNNEL.index(S.registered if status == S.waitlisted else status)
        return [
            Step(step.value, STATUS_LABELS[step],
                 "done" if index < current else "current" if index == current else "todo")
            for index, step in enumerate(FUNNEL)
        ]


@dataclass(frozen=True)
class ResidentOverview:
    household: Household
    campaign: Campaign
    signups: list[SignupView]
    interests: list[Interest] = field(default_factory=list)
    interests_submitted_at: datetime | None = None


def get_household(session: Session, principal: Principal) -> Household:
    """The caller's own household (never another's)."""
    household = session.exec(
        select(Household).where(
            Household.id == principal.household_id, col(Household.erased_at).is_(None)
        )
    ).first()
    if household is None:
        raise NotFound(N_("Je gegevens zijn niet (meer) gevonden."))
    return household


def list_signups(session: Session, principal: Principal) -> list[SignupView]:
    rows = session.exec(
        select(Participation, Offer)
        .join(Offer, col(Offer.id) == Participation.offer_id, isouter=True)
        .where(Participation.household_id == principal.household_id)
        .order_by(col(Participation.created_at), col(Participation.id))
    ).all()
    campaign_id = session.exec(
        select(Household.campaign_id).where(Household.id == principal.household_id)
    ).one()
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    positions = signups.waitlist_positions(session, principal.household_id)  # type: ignore[arg-type]
    views = []
    for participation, offer in rows:
        title = offer.title if offer else MEASURE_LABELS.get(participation.measure or "", "")
        views.append(SignupView(participation, title, campaign, offer,
                                positions.get(participation.id)))  # type: ignore[arg-type]
    return views


def own_interests(session: Session, principal: Principal) -> list[tuple[InterestSubmission,
                                                                         Interest]]:
    """Every klimaattafel answer linked to the caller's household, newest submission first."""
    return list(
        session.exec(
            select(InterestSubmission, Interest)
            .join(Interest, col(Interest.submission_id) == InterestSubmission.id)
            .where(InterestSubmission.household_id == principal.household_id)
            .order_by(col(InterestSubmission.created_at).desc(), col(InterestSubmission.id).desc(),
                      col(Interest.id))
        ).all()
    )


def overview(session: Session, principal: Principal) -> ResidentOverview:
    household = get_household(session, principal)
    campaign = session.get(Campaign, household.campaign_id)
    assert campaign is not None
    answers = own_interests(session, principal)
    latest = answers[0][0] if answers else None
    return ResidentOverview(
        household=household,
        campaign=campaign,
        signups=list_signups(session, principal),
        interests=[interest for submission, interest in answers if submission is latest],
        interests_submitted_at=latest.created_at if latest else None,
    )


# --- editing details ----------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _whole_number(value: Any, *, name: str, high: int, message: str) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, str):
        number = parse_int(re.sub(r"[\s.]", "", value), maximum=high)
        if number is None:
            raise Invalid(message, field=name)
        value = number
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise Invalid(message, field=name)
    return value


def euros_to_cents(raw: Any, *, name: str) -> int | None:
    """`1.234,56`, `1234,56`, `1234.5` or `€ 900` to cents; blank is None."""
    message = N_("Geef een bedrag in euro, bijvoorbeeld 1450 of 1.450,50.")
    if _blank(raw):
        return None
    text = str(raw).replace("€", "").replace(" ", "").strip()
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise Invalid(message, field=name) from exc
    if not amount.is_finite() or amount < 0 or amount * 100 > MAX_COST_CENTS_YEAR:
        raise Invalid(message, field=name)
    return int((amount * 100).quantize(Decimal(1)))


def _clean_extra_fields(changes: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The editable fields that are not part of the sign-up's household form."""
    cleaned: dict[str, Any] = {}
    checks = {
        "energy_kwh_year": (MAX_KWH_YEAR,
                            N_("Geef een verbruik in kWh per jaar, bijvoorbeeld 3500.")),
        "energy_cost_cents_year": (MAX_COST_CENTS_YEAR,
                                   N_("Geef een bedrag in eurocent per jaar, bijvoorbeeld "
                                      "145000.")),
    }
    for name, (high, message) in checks.items():
        if name in changes:
            try:
                cleaned[name] = _whole_number(changes[name], name=name, high=high,
                                              message=message)
            except Invalid as exc:
                errors[name] = exc.message
    if "share_contact_with_contractor" in changes:
        cleaned["share_contact_with_contractor"] = is_true(changes["share_contact_with_contractor"])
    return cleaned


def update_details(session: Session, principal: Principal, changes: dict[str, Any]) -> Household:
    """Change the caller's own details (the sign-up's household rules, plus the energy bill and
    the consent to share contact details); DetailsInvalid names every wrong field at once.

    Fields absent from `changes` stay as they are; the address must stay inside the wijk and
    must not be another household's.
    """
    household = get_household(session, principal)
    campaign = session.get(Campaign, household.campaign_id)
    assert campaign is not None
    unknown = set(changes) - set(HOUSEHOLD_FIELDS) - set(EXTRA_FIELDS)
    if unknown:
        raise Invalid(N_("Dit veld kan je hier niet aanpassen."), field=sorted(unknown)[0])
    errors: dict[str, str] = {}
    extra = _clean_extra_fields(changes, errors)
    household_changed = bool(set(changes) & set(HOUSEHOLD_FIELDS))
    data = None
    if household_changed:
        merged = {name: getattr(household, name) for name in HOUSEHOLD_FIELDS}
        merged |= {name: value for name, value in changes.items() if name in HOUSEHOLD_FIELDS}
        data, household_errors = clean_household(merged, campaign)
        errors = household_errors | errors
    if errors:
        raise DetailsInvalid(errors)
    if data is not None:
        if data.address_key != household.address_key:
            taken = session.exec(
                select(Household.id).where(
                    Household.campaign_id == household.campaign_id,
                    Household.address_key == data.address_key,
                    Household.id != household.id,
                )
            ).first()
            if taken is not None:
                raise Conflict(N_("Voor dit adres is in deze wijk al iemand ingeschreven."),
                               field="street")
            household.address_key = data.address_key
        for name in HOUSEHOLD_FIELDS:
            setattr(household, name, getattr(data, name))
    for name, value in extra.items():
        setattr(household, name, value)
    household.updated_at = utcnow()
    session.add(household)
    audit.record(session, principal, action="household.update_self", object_type="household",
                 object_id=household.id, household_id=household.id,
                 organisation_id=campaign.organisation_id)
    session.flush()
    return household


def update_energy_bill(
    session: Session, principal: Principal, *, kwh_year: Any, euros_year: Any
) -> Household:
    """The yearly use (kWh) and bill (in euro, as typed in the form) of the caller's household."""
    try:
        cents = euros_to_cents(euros_year, name="energy_cost_euros_year")
    except Invalid as exc:
        errors = {"energy_cost_euros_year": exc.message}
        _clean_extra_fields({"energy_kwh_year": kwh_year}, errors)
        raise DetailsInvalid(errors) from exc
    return update_details(session, principal, {"energy_kwh_year": kwh_year,
                                               "energy_cost_cents_year": cents})


# --- withdrawing --------------------------------------------------------------------------------


def get_own_participation(session: Session, principal: Principal,
                          participation_id: int) -> SignupView:
    """One of the caller's sign-ups; another household's answers NotFound."""
    for view in list_signups(session, principal):
        if view.participation.id == participation_id:
            return view
    raise NotFound(N_("Deze inschrijving bestaat niet."))


def withdraw_participation(session: Session, principal: Principal,
                           participation_id: int) -> Participation:
    """The resident steps out of one of their sign-ups; a freed place goes to the waitlist."""
    participation = session.exec(
        select(Participation).where(
            Participation.id == participation_id,
            Participation.household_id == principal.household_id,
        )
    ).first()
    if participation is None:
        raise NotFound(N_("Deze inschrijving bestaat niet."))
    if participation.status not in RESIDENT_CAN_WITHDRAW:
        raise Conflict(N_("Deze inschrijving kan je niet meer zelf intrekken. Neem contact op "
                          "met het energiehuis."))
    signups.withdraw(session, participation, Actor("resident"))
    organisation_id = session.exec(
        select(Campaign.organisation_id)
        .join(Household, col(Household.campaign_id) == Campaign.id)
        .where(Household.id == principal.household_id)
    ).one()
    audit.record(session, principal, action="participation.withdraw", object_type="participation",
                 object_id=participation.id, household_id=principal.household_id,
                 organisation_id=organisation_id)
    session.flush()
    return participation


# --- export and erasure -------------------------------------------------------------------------


def _as_json(model: Any, *, exclude: set[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude=exclude)
    return data


def export_data(session: Session, principal: Principal) -> dict[str, Any]:
    """Everything stored about the caller's household, as JSON-ready data."""
    household = get_household(session, principal)
    campaign = session.get(Campaign, household.campaign_id)
    assert campaign is not None
    participations = []
    for view in list_signups(session, principal):
        events = session.exec(
            select(ParticipationEvent)
            .where(ParticipationEvent.participation_id == view.participation.id)
            .order_by(col(ParticipationEvent.created_at), col(ParticipationEvent.id))
        ).all()
        participations.append(
            _as_json(view.participation)
            | {"offer_title": view.title, "waitlist_position": view.waitlist_position,
               "history": [_as_json(event, exclude={"participation_id"}) for event in events]}
        )
    submissions: dict[int, dict[str, Any]] = {}
    for submission, interest in own_interests(session, principal):
        entry = submissions.setdefault(
            submission.id,  # type: ignore[arg-type]
            _as_json(submission) | {"answers": []},
        )
        entry["answers"].append({"measure": interest.measure, "horizon": interest.horizon})
    groups = session.exec(
        select(Group.id, Group.name, GroupMember.added_at)
        .join(GroupMember, col(GroupMember.group_id) == Group.id)
        .where(GroupMember.household_id == principal.household_id)
    ).all()
    mails = session.exec(
        select(OutboxMail.purpose, OutboxMail.status, OutboxMail.created_at, OutboxMail.sent_at)
        .where(OutboxMail.household_id == principal.household_id)
        .order_by(col(OutboxMail.id))
    ).all()
    audit.record(session, principal, action="household.export_self", object_type="household",
                 object_id=household.id, household_id=household.id,
                 organisation_id=campaign.organisation_id)
    return {
        "exported_at": utcnow().isoformat(),
        "campaign": {"slug": campaign.slug, "name": campaign.name,
                     "municipality": campaign.municipality},
        "household": _as_json(household),
        "consents": {
            "privacy_consent_version": household.privacy_consent_version,
            "privacy_consented_at": household.privacy_consented_at.isoformat()
            if household.privacy_consented_at else None,
            "share_contact_with_contractor": household.share_contact_with_contractor,
        },
        "participations": participations,
        "interests": list(submissions.values()),
        "groups": [{"id": group_id, "name": name, "added_at": added_at.isoformat()}
                   for group_id, name, added_at in groups],
        "mails": [{"purpose": purpose, "status": status, "created_at": created.isoformat(),
                   "sent_at": sent.isoformat() if sent else None}
                  for purpose, status, created, sent in mails],
    }


def checkpoint_wal(engine: Engine) -> None:
    """Copy the WAL into the database file and truncate it, so erased values leave no copy."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.fetchall()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
    finally:
        raw.close()


def erase_household(session: Session, principal: Principal) -> None:
    """Erase the caller: personal fields blanked (counts kept), sign-ups cancelled (freed places
    go to the waitlist), sessions ended, links and queued mails deleted, and the contractor of
    any batch they were in told by mail, without personal data. Commits, then on SQLite
    checkpoints the WAL so no copy of the old values stays in it.
    """
    household = get_household(session, principal)
    assert household.id is not None
    campaign = session.get(Campaign, household.campaign_id)
    assert campaign is not None
    email = household.email
    resident = Actor("resident")
    for participation in session.exec(
        select(Participation).where(Participation.household_id == household.id)
    ).all():
        if participation.status in (S.cancelled, S.completed):
            continue
        held_a_place = participation.status in HOLDS_A_PLACE
        change_status(session, participation, S.cancelled, actor=resident, note=ERASE_REASON)
        session.flush()
        if held_a_place and participation.offer_id is not None:
            signups.promote_from_waitlist(session, participation.offer_id)
    # Free-text notes (from staff or contractors) may describe the person; statuses stay.
    participation_ids = select(Participation.id).where(Participation.household_id == household.id)
    session.exec(  # type: ignore[call-overload]
        update(ParticipationEvent)
        .where(col(ParticipationEvent.participation_id).in_(participation_ids))
        .where(ParticipationEvent.note != ERASE_REASON)  # type: ignore[arg-type]
        .values(note="")
    )
    session.exec(  # type: ignore[call-overload]
        update(InterestSubmission)
        .where(InterestSubmission.household_id == household.id)  # type: ignore[arg-type]
        .values(street="")
    )
    # Sign-ups typed at its address by others: they hold the address and the others' words.
    session.exec(  # type: ignore[call-overload]
        delete(HouseholdClaim).where(HouseholdClaim.household_id == household.id)  # type: ignore[arg-type]
    )
    session.exec(  # type: ignore[call-overload]
        delete(MagicLinkToken).where(MagicLinkToken.household_id == household.id)  # type: ignore[arg-type]
    )
    mails_about_them = col(OutboxMail.household_id) == household.id
    if email:
        mails_about_them = or_(mails_about_them,
                               func.lower(OutboxMail.recipient) == email.lower())
    session.exec(delete(OutboxMail).where(mails_about_them))  # type: ignore[call-overload]
    end_household_sessions(session, household.id)
    batches = session.exec(
        select(Batch.id, Contractor.email, Offer.title)
        .join(GroupMember, col(GroupMember.group_id) == Batch.group_id)
        .join(Contractor, col(Contractor.id) == Batch.contractor_id)
        .join(Offer, col(Offer.id) == Batch.offer_id, isouter=True)
        .where(GroupMember.household_id == household.id)
    ).all()
    for batch_id, contractor_email, offer_title in batches:
        queue_mail(session, "erased_batch_notice", recipient=contractor_email, context={
            "batch_id": batch_id, "household_id": household.id, "offer_title": offer_title,
            "campaign_name": campaign.name,
        })
    for name, blank in PERSONAL_FIELDS.items():
        setattr(household, name, blank)
    household.erased_at = household.updated_at = utcnow()
    session.add(household)
    audit.record(session, principal, action="household.erase", object_type="household",
                 object_id=household.id, household_id=household.id,
                 organisation_id=campaign.organisation_id)
    session.commit()
    bind = session.get_bind()
    # Bound to an engine, the commit above is final; bound to a caller's connection (a
    # transaction owned elsewhere) there is nothing durable to checkpoint yet.
    if bind.dialect.name == "sqlite" and isinstance(bind, Engine):
        checkpoint_wal(bind)
    mail.erase_mail_files(household.id)
