"""Cross-organisation access: an admin belongs to one organisation, like staff, and acts in
another only through an explicit grant (`OrganisationAccessGrant`) for one organisation, with a
reason, for at most MAX_GRANT_HOURS, revocable at any time.

Who gives it: the operator on the command line (`wijkwerf grant-access`), or staff and admins
of the organisation itself (/beheer/toegang), never someone who reaches that organisation
through a grant. Who ends it: the operator (`wijkwerf revoke-access`), the organisation's own
staff, or the admin who holds it. The grant, its end and every use are in the organisation's
audit log; while it is live the admin's principal carries it (`Principal.grants`), and the
scoped queries take `Principal.organisation_ids`."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field
from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import Organisation, OrganisationAccessGrant, User
from app.models.base import utcnow
from app.models.enums import Role
from app.services import audit
from app.services.auth import Principal
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.validation import CleanInput

MAX_GRANT_HOURS = 8
LIST_LIMIT = 100
OPERATOR = "operator"


class GrantCreate(CleanInput):
    email: str = Field(max_length=254)
    hours: int = Field(ge=1, le=MAX_GRANT_HOURS)
    reason: str = Field(max_length=500)


@dataclass(frozen=True)
class GrantView:
    grant: OrganisationAccessGrant
    admin_email: str
    organisation_name: str

    @property
    def live(self) -> bool:
        return is_live(self.grant, utcnow())


def is_live(grant: OrganisationAccessGrant, now: datetime) -> bool:
    return grant.revoked_at is None and grant.expires_at > now


def grant_access(
    session: Session,
    data: GrantCreate,
    *,
    organisation_id: int,
    granted_by: Principal | None,
    ip: str = "",
) -> OrganisationAccessGrant:
    """Let an admin of another organisation act in this one for `data.hours` hours.
    `granted_by` is staff or an admin of this organisation itself; None is the operator."""
    if granted_by is not None and not (granted_by.is_staff
                                       and granted_by.organisation_id == organisation_id):
        raise Forbidden(N_("Alleen je eigen organisatie kan toegang tot haar gegevens geven."))
    reason = " ".join(data.reason.split())
    if not reason:
        raise Invalid(N_("Zeg waarom deze toegang nodig is."), field="reason")
    admin = session.exec(
        select(User).where(User.email == data.email.strip().lower())
    ).first()
    if admin is None or admin.role != Role.admin or not admin.is_active:
        raise Invalid(N_("Geen actieve platformbeheerder met dit e-mailadres."), field="email")
    if admin.organisation_id == organisation_id:
        raise Invalid(N_("Deze beheerder hoort al bij deze organisatie."), field="email")
    assert admin.id is not None
    now = utcnow()
    grant = OrganisationAccessGrant(
        user_id=admin.id, organisation_id=organisation_id, reason=reason,
        granted_by_user_id=granted_by.user_id if granted_by else None,
        granted_by=granted_by.email if granted_by else OPERATOR,
        created_at=now, expires_at=now + timedelta(hours=data.hours))
    session.add(grant)
    session.flush()
    audit.record(session, granted_by, action="access_grant.create", object_type="access_grant",
                 object_id=grant.id, organisation_id=organisation_id, ip=ip,
                 operator="" if granted_by else OPERATOR)
    return grant


def revoke_grant(session: Session, principal: Principal, grant_id: int, *,
                 ip: str = "") -> OrganisationAccessGrant:
    """End a grant now: staff or an admin of its organisation (their own), or the admin who
    holds it. Anyone else: NotFound."""
    reachable: list[ColumnElement[bool]] = [
        col(OrganisationAccessGrant.user_id) == principal.user_id]
    if principal.is_staff and principal.organisation_id is not None:
        reachable.append(
            col(OrganisationAccessGrant.organisation_id) == principal.organisation_id)
    grant = session.exec(
        select(OrganisationAccessGrant).where(
            OrganisationAccessGrant.id == grant_id, or_(*reachable))
    ).first()
    if grant is None:
        raise NotFound(N_("Dit toegangsrecht bestaat niet."))
    if not is_live(grant, utcnow()):
        raise Conflict(N_("Dit toegangsrecht is al beëindigd."))
    _end(session, grant, principal, ip=ip)
    return grant


def revoke_grants_of(session: Session, *, email: str, organisation_name: str | None = None
                     ) -> int:
    """The operator ends every live grant of an admin (to one organisation, if named);
    answers how many."""
    admin = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if admin is None:
        raise NotFound(N_("Geen gebruiker met dit e-mailadres."), field="email")
    statement = select(OrganisationAccessGrant).where(
        OrganisationAccessGrant.user_id == admin.id,
        col(OrganisationAccessGrant.revoked_at).is_(None),
        OrganisationAccessGrant.expires_at > utcnow())
    if organisation_name is not None:
        statement = statement.where(OrganisationAccessGrant.organisation_id
                                    == organisation_by_name(session, organisation_name).id)
    grants = session.exec(statement).all()
    for grant in grants:
        _end(session, grant, None)
    return len(grants)


def _end(session: Session, grant: OrganisationAccessGrant, by: Principal | None, *,
         ip: str = "") -> None:
    grant.revoked_at = utcnow()
    grant.revoked_by = by.email if by else OPERATOR
    session.add(grant)
    audit.record(session, by, action="access_grant.revoke", object_type="access_grant",
                 object_id=grant.id, organisation_id=grant.organisation_id, ip=ip,
                 operator="" if by else OPERATOR)
    session.flush()


def organisation_by_name(session: Session, name: str) -> Organisation:
    organisation = session.exec(
        select(Organisation).where(Organisation.name == name.strip())
    ).first()
    if organisation is None:
        raise NotFound(N_("Geen organisatie met deze naam."), field="organisation")
    return organisation


def _views(session: Session, statement) -> list[GrantView]:  # type: ignore[no-untyped-def]
    rows = session.exec(
        statement.join(User, col(User.id) == OrganisationAccessGrant.user_id)
        .join(Organisation, col(Organisation.id) == OrganisationAccessGrant.organisation_id)
        .order_by(col(OrganisationAccessGrant.created_at).desc(),
                  col(OrganisationAccessGrant.id).desc())
        .limit(LIST_LIMIT)
    ).all()
    return [GrantView(grant, email, name) for grant, email, name in rows]


def grants_on_own_organisation(session: Session, principal: Principal) -> list[GrantView]:
    """The grants on the caller's own organisation (never on one reached through a grant),
    newest first."""
    if not principal.is_staff or principal.organisation_id is None:
        return []
    return _views(session, select(OrganisationAccessGrant, User.email, Organisation.name).where(
        OrganisationAccessGrant.organisation_id == principal.organisation_id))


def grants_held(session: Session, principal: Principal) -> list[GrantView]:
    """The grants the caller holds on other organisations, newest first."""
    if principal.role != Role.admin:
        return []
    return _views(session, select(OrganisationAccessGrant, User.email, Organisation.name).where(
        OrganisationAccessGrant.user_id == principal.user_id))
