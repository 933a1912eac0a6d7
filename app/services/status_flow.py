"""The participation status flow of DESIGN.md, in one place: allowed transitions and the
recorded history (who, when, why) of every change."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from app.i18n import N_
from app.models import Participation, ParticipationEvent
from app.models.base import utcnow
from app.models.enums import ParticipationStatus as S
from app.services.errors import Conflict, Invalid

TRANSITIONS: dict[S, frozenset[S]] = {
    S.registered: frozenset({S.waitlisted, S.assigned, S.cancelled}),
    S.waitlisted: frozenset({S.registered, S.cancelled}),
    S.assigned: frozenset({S.visit_planned, S.cancelled}),
    S.visit_planned: frozenset({S.measured, S.cancelled}),
    S.measured: frozenset({S.offered, S.cancelled}),
    S.offered: frozenset({S.accepted, S.declined, S.cancelled}),
    S.accepted: frozenset({S.scheduled, S.cancelled}),
    S.declined: frozenset({S.cancelled}),
    S.scheduled: frozenset({S.in_progress, S.cancelled}),
    S.in_progress: frozenset({S.completed, S.cancelled}),
    S.completed: frozenset(),
    S.cancelled: frozenset(),
}
# Statuses that hold a place on an offer (count towards capacity and the price tier).
HOLDS_A_PLACE = frozenset(set(S) - {S.waitlisted, S.cancelled, S.declined})
# The order of the funnel, for progress indicators.
FUNNEL = [S.registered, S.assigned, S.visit_planned, S.measured, S.offered, S.accepted,
          S.scheduled, S.in_progress, S.completed]
# Steps a contractor may set; the others belong to the resident, staff or the system.
CONTRACTOR_STEPS = frozenset({S.visit_planned, S.measured, S.offered, S.scheduled, S.in_progress,
                              S.completed, S.cancelled})

STATUS_LABELS: dict[S, str] = {
    S.registered: N_("Ingeschreven"),
    S.waitlisted: N_("Op de wachtlijst"),
    S.assigned: N_("Toegewezen aan aannemer"),
    S.visit_planned: N_("Plaatsbezoek gepland"),
    S.measured: N_("Opgemeten"),
    S.offered: N_("Persoonlijke offerte ontvangen"),
    S.accepted: N_("Offerte aanvaard"),
    S.declined: N_("Offerte geweigerd"),
    S.scheduled: N_("Werken ingepland"),
    S.in_progress: N_("Werken bezig"),
    S.completed: N_("Werken klaar"),
    S.cancelled: N_("Geannuleerd"),
}


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the history."""

    kind: str  # resident, staff, contractor, system
    user_id: int | None = None


SYSTEM = Actor("system")


def can_transition(current: str, target: str) -> bool:
    return S(target) in TRANSITIONS[S(current)]


def next_steps(current: str, *, contractor: bool = False) -> list[S]:
    """The statuses a participation can move to from `current`, in funnel order; a contractor
    gets only its own steps."""
    allowed = TRANSITIONS[S(current)]
    if contractor:
        allowed = allowed & CONTRACTOR_STEPS
    return [status for status in S if status in allowed]


def check_transition(current: str, target: str, *, note: str = "") -> S:
    """The target status, or Invalid/Conflict saying why the move is refused (nothing changes)."""
    try:
        target_status = S(target)
    except ValueError as exc:
        raise Invalid(N_("Onbekende status."), field="status") from exc
    current_status = S(current)
    if target_status not in TRANSITIONS[current_status]:
        if not TRANSITIONS[current_status]:
            raise Conflict(N_("Deze deelname is afgesloten; de status kan niet meer veranderen."))
        raise Conflict(
            N_("Van deze status kan de deelname niet naar de gevraagde status."),
            field="status",
        )
    if target_status == S.cancelled and not note.strip():
        raise Invalid(N_("Geef een reden voor de annulering."), field="note")
    return target_status


def record_initial_status(session: Session, participation: Participation, actor: Actor,
                          note: str = "") -> None:
    session.add(ParticipationEvent(
        participation_id=participation.id,  # type: ignore[arg-type]
        from_status=None, to_status=participation.status, note=note,
        actor_kind=actor.kind, actor_user_id=actor.user_id,
    ))


def change_status(
    session: Session,
    participation: Participation,
    target: str,
    *,
    actor: Actor,
    note: str = "",
    occurred_on: date | None = None,
) -> Participation:
    """Move a participation on; a refused transition raises Conflict saying why."""
    current = S(participation.status)
    target_status = check_transition(current, target, note=note)
    participation.status = target_status
    participation.status_changed_at = utcnow()
    if target_status == S.cancelled:
        participation.cancel_reason = note.strip()[:500]
    session.add(participation)
    session.add(ParticipationEvent(
        participation_id=participation.id,  # type: ignore[arg-type]
        from_status=current, to_status=target_status, note=note.strip()[:2000],
        occurred_on=occurred_on, actor_kind=actor.kind, actor_user_id=actor.user_id,
    ))
    return participation
