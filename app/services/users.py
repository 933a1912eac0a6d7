"""Staff, admin and contractor accounts."""

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from app.i18n import N_
from app.models import Contractor, Organisation, User
from app.models.enums import Role
from app.security import hash_password
from app.services import auth
from app.services.errors import Conflict, Invalid, NotFound

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


def get_or_create_organisation(session: Session, name: str) -> Organisation:
    organisation = session.exec(select(Organisation).where(Organisation.name == name)).first()
    if organisation is None:
        organisation = Organisation(name=name)
        session.add(organisation)
        session.flush()
    return organisation


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    organisation_name: str | None = None,
    contractor_id: int | None = None,
) -> User:
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"Ongeldig e-mailadres: {exc}", field="email") from exc
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn.",
            field="password",
        )
    if role not in (Role.admin, Role.staff, Role.contractor):
        raise Invalid("Onbekende rol.", field="role")
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict("Er bestaat al een gebruiker met dit e-mailadres.", field="email")
    user = User(email=email, password_hash=hash_password(password), role=role)
    if role == Role.contractor:
        if contractor_id is None or session.get(Contractor, contractor_id) is None:
            raise NotFound("Geen aannemer met dit id.", field="contractor_id")
        user.contractor_id = contractor_id
    else:
        if not organisation_name:
            raise Invalid("Medewerkers horen bij een organisatie: geef --organisation.",
                          field="organisation")
        user.organisation_id = get_or_create_organisation(session, organisation_name).id
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, user_id: int, *, current_password: str,
                    new_password: str, ip: str) -> None:
    """Set a new password after checking the current one (under the log-in limits); every
    session and bearer token of the user ends, so whoever knew the old password is out."""
    user = session.get(User, user_id)
    assert user is not None
    if not MIN_PASSWORD_LENGTH <= len(new_password) <= MAX_PASSWORD_LENGTH:
        raise Invalid(N_("Kies een wachtwoord van minstens 10 en hoogstens 1024 tekens."),
                      field="new_password")
    auth.confirm_password(session, user, password=current_password, ip=ip,
                          field="current_password")
    user.password_hash = hash_password(new_password)
    session.add(user)
    auth.end_user_sessions(session, user_id)


def deactivate_user(session: Session, email: str) -> User:
    """Close an account: it can no longer log in, and its sessions and tokens end now."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound("Geen gebruiker met dit e-mailadres.", field="email")
    user.is_active = False
    session.add(user)
    assert user.id is not None
    auth.end_user_sessions(session, user.id)
    return user
