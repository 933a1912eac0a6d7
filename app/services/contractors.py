"""Contractors (aannemers) of an organisation: creating them with a checked Belgian VAT
number, email and phone, and listing them scoped to the organisations the caller acts for.

Each organisation registers its own contractors: the same company (VAT number) may be a
contractor of several organisations, once in each, so a duplicate VAT number is a conflict only
within the caller's own organisation and says nothing about another's."""

from pydantic import Field
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.i18n import N_
from app.models import Contractor
from app.services import audit
from app.services.auth import Principal
from app.services.errors import Conflict, Invalid, NotFound
from app.services.validation import (
    CleanInput,
    belgian_vat_number,
    email_address,
    phone_number,
)


class ContractorCreate(CleanInput):
    name: str = Field(max_length=200)
    vat_number: str = Field(max_length=40)
    email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=40)


def _scoped(principal: Principal) -> SelectOfScalar[Contractor]:
    return select(Contractor).where(
        col(Contractor.organisation_id).in_(principal.organisation_ids))


def list_contractors(session: Session, principal: Principal) -> list[Contractor]:
    """The contractors of the organisations the caller acts for, by name."""
    found = list(session.exec(_scoped(principal).order_by(col(Contractor.name))).all())
    audit.record_grant_use(session, principal, (c.organisation_id for c in found),
                           object_type="contractor")
    return found


def get_contractor(session: Session, principal: Principal, contractor_id: int) -> Contractor:
    contractor = session.exec(
        _scoped(principal).where(Contractor.id == contractor_id)
    ).first()
    if contractor is None:
        raise NotFound(N_("Deze aannemer bestaat niet."), field="contractor_id")
    audit.record_grant_use(session, principal, [contractor.organisation_id],
                           object_type="contractor", object_id=contractor.id)
    return contractor


def contractor_of_organisation(
    session: Session, organisation_id: int, contractor_id: int
) -> Contractor:
    """A contractor that belongs to the given organisation (an offer's campaign's)."""
    contractor = session.exec(
        select(Contractor).where(Contractor.id == contractor_id,
                                 Contractor.organisation_id == organisation_id)
    ).first()
    if contractor is None:
        raise Invalid(N_("Kies een aannemer van je eigen organisatie."), field="contractor_id")
    return contractor


def create_contractor(session: Session, principal: Principal, data: ContractorCreate) -> Contractor:
    """A new contractor of the caller's organisation; each VAT number once per organisation."""
    if principal.organisation_id is None:
        raise Invalid(N_("Je account hoort bij geen organisatie."))
    name = " ".join(data.name.split())
    if not name:
        raise Invalid(N_("Geef de naam van de aannemer."), field="name")
    vat = belgian_vat_number(data.vat_number)
    email = email_address(data.email)
    phone = phone_number(data.phone) if data.phone and data.phone.strip() else None
    duplicate = session.exec(
        select(Contractor.id).where(Contractor.organisation_id == principal.organisation_id,
                                    Contractor.vat_number == vat)
    ).first()
    if duplicate is not None:
        raise Conflict(N_("Er bestaat al een aannemer met dit btw-nummer."), field="vat_number")
    contractor = Contractor(organisation_id=principal.organisation_id, name=name,
                            vat_number=vat, email=email, phone=phone)
    session.add(contractor)
    session.flush()
    return contractor
