"""Input rules shared by forms and the API: Belgian VAT numbers, phone numbers, emails."""

import re
from datetime import datetime
from typing import Annotated, Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, Field, field_validator

from app.i18n import N_
from app.services.errors import Invalid

# The largest number a PostgreSQL `integer` column holds, ids included: a larger id cannot
# exist and a larger count or amount cannot be stored (the database would refuse it: a 500).
MAX_DB_INT = 2**31 - 1
# An id in the input: refused (422 naming the field) when no row could have it.
DbId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
MSG_BAD_CHARACTER = N_("Dit veld bevat een ongeldig teken.")
# NUL cannot be stored in PostgreSQL text; a lone surrogate (JSON "\ud800") cannot be encoded
# for either database; U+FFFD is what invalid UTF-8 in a form became. None is ever typed.
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff\ufffd]")


def has_bad_character(value: Any) -> bool:
    """Whether text (or a list or dict of it) holds a character that cannot be stored."""
    if isinstance(value, str):
        return _BAD_CHARACTER.search(value) is not None
    if isinstance(value, list | tuple | set):
        return any(has_bad_character(item) for item in value)
    if isinstance(value, dict):
        return any(has_bad_character(key) or has_bad_character(item)
                   for key, item in value.items())
    return False


class CleanInput(BaseModel):
    """Base of the input models: no text field may hold a character that cannot be stored
    (422 on that field, where the database driver would otherwise fail: a 500)."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if has_bad_character(value):
            raise ValueError(MSG_BAD_CHARACTER)
        return value


# Moments (sign-up windows, deadlines) lie in these years; year 1 or 9999 would also overflow
# the conversion to UTC.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999
MSG_YEAR = N_("Geef een datum tussen 2000 en 2999.")


def instant_in_range(value: datetime | None) -> datetime | None:
    """For a field validator: a moment in a plausible year, else ValueError for that field."""
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(MSG_YEAR)
    return value


_VAT_RE = re.compile(r"^BE[01]\d{9}$")


def normalise_vat_number(raw: str) -> str:
    return re.sub(r"[\s.\-]", "", raw or "").upper()


def is_valid_belgian_vat(raw: str) -> bool:
    """BE + 10 digits (KBO number), whose last two digits are 97 - (first eight mod 97)."""
    vat = normalise_vat_number(raw)
    if not _VAT_RE.match(vat):
        return False
    digits = vat[2:]
    return 97 - int(digits[:8]) % 97 == int(digits[8:])


def belgian_vat_number(raw: str, *, field: str = "vat_number") -> str:
    vat = normalise_vat_number(raw)
    if not is_valid_belgian_vat(vat):
        raise Invalid(
            "Geef een geldig Belgisch btw-nummer: BE gevolgd door 10 cijfers "
            "(bijvoorbeeld BE0123456749).",
            field=field,
        )
    return vat


def email_address(raw: str, *, field: str = "email") -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid("Dit e-mailadres klopt niet (bijvoorbeeld: naam@voorbeeld.be).",
                      field=field) from exc


def phone_number(raw: str, *, field: str = "phone") -> str:
    """A phone number, Belgian by default, normalised to E.164 (+32...)."""
    try:
        parsed = phonenumbers.parse(raw.strip(), "BE")
    except phonenumbers.NumberParseException as exc:
        raise Invalid("Dit telefoonnummer klopt niet (bijvoorbeeld: 0470 12 34 56).",
                      field=field) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid("Dit telefoonnummer klopt niet (bijvoorbeeld: 0470 12 34 56).", field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def make_vat_number(seed: int) -> str:
    """A valid Belgian VAT number built from any integer (for demo data and tests)."""
    first_eight = f"{seed % 10**7:08d}"
    return f"BE{first_eight}{97 - int(first_eight) % 97:02d}"
