"""Input rules shared by forms and the API: Belgian VAT numbers, phone numbers, emails."""

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from app.services.errors import Invalid

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
