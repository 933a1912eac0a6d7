"""Languages: Dutch (nl-BE) is the source language and the default; English is a catalog.

Message ids are the Dutch texts themselves, so a page is complete in Dutch by construction and
the English catalog translates them. The locale of the current request lives in a context
variable that the Jinja `_()` and the Python `gettext` both read.
"""

import io
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = {"nl": "nl_BE", "en": "en"}
DEFAULT_LANGUAGE = "nl"
BRUSSELS = ZoneInfo("Europe/Brussels")

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


@lru_cache
def translations(language: str) -> Translations:
    """The catalog, compiled from its .po file in memory (no build step, never stale)."""
    po_path = LOCALE_DIR / SUPPORTED[language] / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return Translations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=SUPPORTED[language])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def pick_language(query_lang: str | None, cookie_lang: str | None, accept: str | None) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in SUPPORTED:
            return candidate
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in SUPPORTED:
            return tag
    return DEFAULT_LANGUAGE


def babel_locale() -> str:
    return "nl_BE" if current_language.get() == "nl" else "en_IE"


def format_money(cents: int | None) -> str:
    """The one money formatter: integer cents to `€ 1.234,56` (nl-BE) or `€1,234.56` (en)."""
    if cents is None:
        return "–"
    return format_currency(cents / 100, "EUR", locale=babel_locale())


def format_number(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" if digits == 0 else "#,##0." + "#" * digits
    return format_decimal(value, format=pattern, locale=babel_locale())


def format_pct(value: float) -> str:
    return format_percent(value, locale=babel_locale())


def format_day(value: date | None, style: str = "long") -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(BRUSSELS).date()
    return babel_format_date(value, format=style, locale=babel_locale())


def format_instant(value: datetime | None, style: str = "medium") -> str:
    """An instant, stored in UTC, shown in Europe/Brussels."""
    if value is None:
        return "–"
    return babel_format_datetime(value, format=style, tzinfo=BRUSSELS, locale=babel_locale())
