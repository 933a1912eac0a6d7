"""Households as residents describe them: the input rules (with Dutch messages per field),
address normalisation, and find-or-create by address within a campaign."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.i18n import N_
from app.models import Campaign, Household
from app.models.base import utcnow
from app.models.enums import BudgetBand, DwellingType, LifePhase, Profile, Tenure
from app.services import postcodes
from app.services.campaigns import address_in_campaign
from app.services.errors import Invalid
from app.services.validation import character_problem, email_address, parse_int, phone_number

EARLIEST_BUILD_YEAR = 1500
# Field names, in form order; the API's `household` object and the HTML form use them alike.
HOUSEHOLD_FIELDS = ("name", "email", "phone", "street", "house_number", "box", "postcode", "city",
                    "dwelling_type", "build_year", "tenure", "life_phase", "budget_band", "profile")
CHOICE_FIELDS: dict[str, type[StrEnum]] = {
    "dwelling_type": DwellingType,
    "tenure": Tenure,
    "life_phase": LifePhase,
    "budget_band": BudgetBand,
    "profile": Profile,
}
MAX_LENGTHS = {"name": 200, "street": 200, "house_number": 20, "box": 20, "city": 120}

MSG_NAME = N_("Vul je naam in.")
MSG_CONTACT = N_("Vul een e-mailadres of een telefoonnummer in, zodat we je kunnen bereiken.")
MSG_STREET = N_("Vul je straat in.")
MSG_HOUSE_NUMBER = N_("Vul je huisnummer in (bijvoorbeeld 12 of 12A).")
MSG_POSTCODE = N_("Vul een Belgische postcode van 4 cijfers in (bijvoorbeeld 8400).")
MSG_POSTCODE_OUTSIDE = N_("Deze postcode hoort niet bij deze wijk. Kijk in de beschrijving van "
                          "de wijk welke buurten meedoen.")
MSG_STREET_OUTSIDE = N_("Deze straat hoort niet bij deze wijk. Kijk na hoe je straat geschreven "
                        "is, of vraag het energiehuis of je adres meedoet.")
MSG_CHOICE = N_("Kies een van de mogelijkheden.")
MSG_BUILD_YEAR = N_("Geef een bouwjaar als jaartal, bijvoorbeeld 1965.")
MSG_TOO_LONG = N_("Dit is te lang.")


@dataclass
class HouseholdData:
    """A household's details after validation (what gets stored)."""

    name: str
    email: str | None
    phone: str | None
    street: str
    house_number: str
    box: str
    postcode: str
    city: str
    dwelling_type: str | None = None
    build_year: int | None = None
    tenure: str | None = None
    life_phase: str | None = None
    budget_band: str | None = None
    profile: str | None = None

    @property
    def address_key(self) -> str:
        return address_key(self.street, self.house_number, self.box, self.postcode)


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else " ".join(str(value).split())


def address_key(street: str, house_number: str, box: str, postcode: str) -> str:
    """One household per address: case, spacing and `bus 3` vs `3` do not make a new one."""
    street_part = " ".join(street.split()).lower()
    number_part = "".join(house_number.split()).lower()
    box_part = "".join(re.sub(r"^(bus|bte|box|b)\.?\s*", "", box.strip().lower()).split())
    return "|".join((street_part, number_part, box_part, postcodes.normalise_postcode(postcode)))


def clean_household(
    raw: Mapping[str, Any], campaign: Campaign, *, contact_required: bool = True
) -> tuple[HouseholdData | None, dict[str, str]]:
    """Validate a household as typed (form strings or API values).

    Returns the cleaned data, or None with a Dutch message per failing field name. With
    `contact_required=False` a missing email-and-phone is not reported (live validation of one
    field at a time, before the resident reached the other).
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {name: _text(raw, name) for name in HOUSEHOLD_FIELDS}
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            errors[name] = MSG_TOO_LONG
    for name, value in values.items():
        # Not storable, or invisible / direction-changing (a name staff read must be the name
        # typed): refused on that field, never silently changed.
        problem = character_problem(value)
        if problem is not None:
            errors[name] = problem
    if not values["name"]:
        errors["name"] = MSG_NAME

    for name, check in (("email", email_address), ("phone", phone_number)):
        if values[name]:
            try:
                values[name] = check(values[name], field=name)
            except Invalid as exc:
                errors[name] = exc.message
        else:
            values[name] = None
    if contact_required and not values["email"] and not values["phone"] and (
        "email" not in errors and "phone" not in errors
    ):
        errors["email"] = MSG_CONTACT

    if not values["street"]:
        errors.setdefault("street", MSG_STREET)
    if not values["house_number"] or not re.search(r"\d", values["house_number"]):
        errors.setdefault("house_number", MSG_HOUSE_NUMBER)
    values["postcode"] = postcodes.normalise_postcode(values["postcode"])
    if not postcodes.is_belgian_postcode(values["postcode"]):
        errors["postcode"] = MSG_POSTCODE
    elif "street" not in errors:
        inside, failing = address_in_campaign(
            campaign, postcode=values["postcode"], street=values["street"]
        )
        if not inside:
            errors[failing] = MSG_POSTCODE_OUTSIDE if failing == "postcode" else MSG_STREET_OUTSIDE
    elif values["postcode"] not in campaign.postcodes:
        errors["postcode"] = MSG_POSTCODE_OUTSIDE
    values["city"] = (postcodes.municipality_for(values["postcode"]) or values["city"]
                      or campaign.municipality)

    for name, enum in CHOICE_FIELDS.items():
        if not values[name]:
            values[name] = None
        elif values[name] not in {member.value for member in enum}:
            errors[name] = MSG_CHOICE

    values["build_year"] = _build_year(values["build_year"], errors)
    if errors:
        return None, errors
    return HouseholdData(**values), {}


def _build_year(text: str, errors: dict[str, str]) -> int | None:
    if not text:
        return None
    year = parse_int(text)
    if year is None or not EARLIEST_BUILD_YEAR <= year <= utcnow().year + 3:
        errors["build_year"] = MSG_BUILD_YEAR
        return None
    return year


def fill_in_blanks(household: Household, data: HouseholdData, *, consented_at: datetime,
                   consent_version: str, share_contact_with_contractor: bool) -> None:
    """A new sign-up at a known address: only blanks get filled in, so that typing a
    neighbour's address cannot redirect their mail; the consent given now is recorded."""
    for field in fields(data):
        new_value = getattr(data, field.name)
        if new_value not in (None, "") and getattr(household, field.name) in (None, ""):
            setattr(household, field.name, new_value)
    household.updated_at = consented_at
    household.privacy_consent_version = consent_version
    household.privacy_consented_at = consented_at
    household.share_contact_with_contractor = (
        household.share_contact_with_contractor or share_contact_with_contractor
    )
