"""Languages: Dutch by default, English complete, nl-BE formatting."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app import i18n

LOCALE = Path(__file__).resolve().parent.parent / "app" / "locale"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")


def _catalog(locale: str) -> list:  # type: ignore[type-arg]
    with (LOCALE / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return [message for message in read_po(handle) if message.id]


def test_every_text_has_an_english_translation_with_the_same_placeholders() -> None:
    missing, broken = [], []
    for message in _catalog("en"):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            missing.append(ids[0])
            continue
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings[-1:]:
            if sorted(PLACEHOLDER.findall(string)) != expected:
                broken.append(ids[0])
    assert not missing, f"{len(missing)} texts without English, e.g. {missing[:5]}"
    assert not broken, f"placeholders differ: {broken[:5]}"


def test_dutch_catalog_holds_every_english_entry() -> None:
    assert {m.id for m in _catalog("nl_BE")} == {m.id for m in _catalog("en")}


def test_money_and_dates_are_formatted_for_flanders() -> None:
    token = i18n.current_language.set("nl")
    try:
        assert i18n.format_money(123456) == "€\xa01.234,56"
        assert i18n.format_day(date(2026, 3, 1)) == "1 maart 2026"
        # 21:59 UTC in summer is 23:59 in Brussels.
        assert "23:59" in i18n.format_instant(datetime(2026, 6, 30, 21, 59, tzinfo=UTC))
    finally:
        i18n.current_language.reset(token)


def test_pages_are_dutch_by_default_and_english_on_request(client: TestClient) -> None:
    dutch = client.get("/")
    assert 'lang="nl-BE"' in dutch.text and "Samen renoveren in je wijk" in dutch.text
    english = client.get("/?lang=en")
    assert 'lang="en"' in english.text and "Samen renoveren in je wijk" not in english.text
    # The choice sticks through a cookie, and Accept-Language is honoured without one.
    assert 'lang="en"' in client.get("/").text
    client.cookies.clear()
    assert 'lang="en"' in client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
