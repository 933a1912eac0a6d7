"""The vocabulary of DESIGN.md as string enums; stored as text with CHECK constraints."""

from enum import StrEnum

from sqlalchemy import CheckConstraint


class Measure(StrEnum):
    facade_insulation = "facade_insulation"
    window_frames = "window_frames"
    roof_insulation = "roof_insulation"
    cavity_wall_insulation = "cavity_wall_insulation"
    floor_insulation = "floor_insulation"
    heat_pump = "heat_pump"
    solar_pv = "solar_pv"
    solar_water_heater = "solar_water_heater"
    ventilation = "ventilation"
    facade_garden = "facade_garden"
    depaving = "depaving"
    rainwater_tank = "rainwater_tank"


class Unit(StrEnum):
    m2 = "m2"
    piece = "piece"
    kwp = "kwp"
    dwelling = "dwelling"


class CampaignStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class PartnerKind(StrEnum):
    energiehuis = "energiehuis"
    ocmw = "ocmw"
    woonmaatschappij = "woonmaatschappij"
    intercommunale = "intercommunale"
    opbouwwerk = "opbouwwerk"
    wijk_esco = "wijk_esco"
    energiegemeenschap = "energiegemeenschap"
    municipality = "municipality"
    other = "other"


class DwellingType(StrEnum):
    row_house = "row_house"
    semi_detached = "semi_detached"
    detached = "detached"
    apartment = "apartment"


class Tenure(StrEnum):
    owner_occupier = "owner_occupier"
    landlord = "landlord"
    private_tenant = "private_tenant"
    social_tenant = "social_tenant"
    co_owner_vme = "co_owner_vme"


class LifePhase(StrEnum):
    starter = "starter"
    young_family = "young_family"
    family_teenagers = "family_teenagers"
    single = "single"
    couple = "couple"
    senior = "senior"


class BudgetBand(StrEnum):
    lt_5k = "lt_5k"
    b5k_15k = "5k_15k"
    b15k_30k = "15k_30k"
    gt_30k = "gt_30k"
    unknown = "unknown"


class Profile(StrEnum):
    can_and_will = "can_and_will"
    can_but_wont = "can_but_wont"
    cannot_but_will = "cannot_but_will"
    cannot_and_wont = "cannot_and_wont"


class SupportProfile(StrEnum):
    """Who a support path is for: the four kan/wil profiles, and landlords with their tenants."""

    can_and_will = "can_and_will"
    can_but_wont = "can_but_wont"
    cannot_but_will = "cannot_but_will"
    cannot_and_wont = "cannot_and_wont"
    landlord_tenant = "landlord_tenant"


class SupportStepKind(StrEnum):
    premium = "premium"
    loan = "loan"
    coach = "coach"
    ocmw = "ocmw"
    ambassador = "ambassador"
    landlord = "landlord"
    social_housing = "social_housing"
    other = "other"


class IncomeCategory(StrEnum):
    """Mijn VerbouwPremie categories from 2025: cat. 1 is the highest income, cat. 4 the lowest."""

    cat1 = "cat1"
    cat2 = "cat2"
    cat3 = "cat3"
    cat4 = "cat4"


class ParticipationStatus(StrEnum):
    registered = "registered"
    waitlisted = "waitlisted"
    assigned = "assigned"
    visit_planned = "visit_planned"
    measured = "measured"
    offered = "offered"
    accepted = "accepted"
    declined = "declined"
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class Horizon(StrEnum):
    within_1y = "1y"
    within_5y = "5y"
    no = "no"


class GroupKind(StrEnum):
    framework = "framework"
    quotes = "quotes"


class QuoteStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    declined = "declined"


class QuoteRequestStatus(StrEnum):
    open = "open"
    awarded = "awarded"
    cancelled = "cancelled"


class PremiumKind(StrEnum):
    per_unit = "per_unit"
    percentage = "percentage"


class Role(StrEnum):
    admin = "admin"
    staff = "staff"
    contractor = "contractor"
    resident = "resident"


class HouseholdSource(StrEnum):
    online = "online"
    paper = "paper"


class MailStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


def enum_check(column: str, enum: type[StrEnum], *, nullable: bool = False) -> CheckConstraint:
    """A CHECK constraint that keeps `column` inside the enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    condition = f"{column} IN ({values})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=f"{column}_enum")
