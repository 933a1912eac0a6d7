"""Staff, admin and contractor accounts."""

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from app.models import Contractor, Organisation, User
from app.models.enums import Role
from app.security import hash_password
from app.services.errors import Conflict, Invalid, NotFound

MIN_PASSWORD_LENGTH = 10


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
