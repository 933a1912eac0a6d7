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


MSG_INVISIBLE_CHARACTER = N_("Dit veld bevat een onzichtbaar teken of een teken dat de "
                             "leesrichting verandert. Typ het opnieuw in plaats van het te "
                             "plakken.")
# Characters that show nothing, or turn the text around them, so that what staff read on a page
# or in a CSV is not what was typed ("Jan\u202eJanssens" shows as "JansnessnaJ", "Jan\u200bJ" looks
# like "JanJ" but matches no search): every Unicode format character (category Cf, Unicode 14:
# soft hyphen, Arabic number signs and letter mark, zero-width space / joiners / direction marks
# U+200B-U+200F, embeddings and overrides U+202A-U+202E, word joiner and invisible operators,
# isolates U+2066-U+2069, byte order mark, interlinear annotations, tag characters), and the
# other blanks that pass for a letter: combining grapheme joiner, line and paragraph separators,
# Hangul fillers. Refused in every text field, with MSG_INVISIBLE_CHARACTER.
_INVISIBLE_CHARACTER = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")


def _any_text(value: Any, test: Any) -> bool:
    if isinstance(value, str):
        return bool(test(value))
    if isinstance(value, list | tuple | set):
        return any(_any_text(item, test) for item in value)
    if isinstance(value, dict):
        return any(_any_text(key, test) or _any_text(item, test) for key, item in value.items())
    return False


def has_bad_character(value: Any) -> bool:
    """Whether text (or a list or dict of it) holds a character that cannot be stored."""
    return _any_text(value, _BAD_CHARACTER.search)


def has_invisible_character(value: Any) -> bool:
    """Whether text (or a list or dict of it) holds an invisible or direction-changing
    character (see _INVISIBLE_CHARACTER)."""
    return _any_text(value, _INVISIBLE_CHARACTER.search)


def without_invisible_characters(text: str) -> str:
    """Text with the invisible and direction-changing characters taken out: for output that
    must never carry them (CSV cells), whatever was stored before they were refused."""
    return _INVISIBLE_CHARACTER.sub("", text)


def character_problem(value: Any) -> str | None:
    """The message for a text field that may not be stored as typed, or None when it may."""
    if has_bad_character(value):
        return MSG_BAD_CHARACTER
    if has_invisible_character(value):
        return MSG_INVISIBLE_CHARACTER
    return None


class CleanInput(BaseModel):
    """Base of the input models: no text field may hold a character that cannot be stored
    (422 on that field, where the database driver would otherwise fail: a 500), nor an
    invisible or direction-changing one (422 on that field)."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = character_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


_ASCII_DIGITS = re.compile("[0-9]+")


def parse_int(text: str | None, *, minimum: int = 0, maximum: int = MAX_DB_INT) -> int | None:
    """The one way a page reads a whole number from a form or query value.

    Only ASCII digits count, with optional whitespace around them: no sign, exponent,
    separator or other script ("-1", "+1", "1e3", "1_000", "1.000", "\u00b2", "\u0661\u0662"
    are all None; Python's own `int()` and `str.isdigit()` take some of those). The number must
    lie within `minimum` ..= `maximum`, by default 0 to the largest integer the database holds
    (so that no value can overflow a column or an id lookup: a 500). Anything else is None.

    What a caller does with None, the same on every page:
    - a form value: the form comes back with status 422 and a message next to that field;
    - a query value (a page number, a filter, `?bewerk=`): ignored, the page is shown as if
      it were absent (page 1, no filter, nothing being edited).
    """
    if text is None:
        return None
    digits = text.strip()
    if not _ASCII_DIGITS.fullmatch(digits):
        return None
    if len(digits.lstrip("0")) > len(str(max(abs(minimum), abs(maximum)))):
        return None  # far too large: not even worth converting
    value = int(digits)
    return value if minimum <= value <= maximum else None


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
