"""The audit log: who viewed or changed which resident's data, and every refused access.
Lines name objects by id, never by their personal data."""

from sqlmodel import Session

from app.models import AuditEvent
from app.services.auth import Principal


def record(
    session: Session,
    principal: Principal | None,
    *,
    action: str,
    object_type: str,
    object_id: int | None = None,
    household_id: int | None = None,
    organisation_id: int | None = None,
    ip: str = "",
    outcome: str = "ok",
) -> None:
    session.add(AuditEvent(
        organisation_id=organisation_id if organisation_id is not None
        else (principal.organisation_id if principal else None),
        actor_user_id=principal.user_id if principal else None,
        actor_kind=principal.role.value if principal else "anonymous",
        actor_label=principal.email if principal else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        household_id=household_id,
        ip=ip,
        outcome=outcome,
    ))
