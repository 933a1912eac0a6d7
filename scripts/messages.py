"""Extract every user-visible text and update the catalogs.

Dutch is the source language: the nl_BE catalog maps each text to itself, the English catalog
keeps its translations and gains empty entries for new texts (tests/test_i18n.py fails while
any is empty). Run with `make messages`.
"""

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "app" / "locale"
POT = LOCALE / "messages.pot"


def extract() -> Catalog:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "N_", "--no-location", "--sort-output", "--omit-header", "-o", str(POT), "app"],
        cwd=ROOT, check=True, capture_output=True,
    )
    with POT.open("rb") as handle:
        return read_po(handle)


def update(template: Catalog, locale: str, *, identity: bool) -> int:
    path = LOCALE / locale / "LC_MESSAGES" / "messages.po"
    existing: dict[object, object] = {}
    if path.exists():
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id:
                    existing[message.id] = message.string
    catalog = Catalog(locale=locale, project="Wijkwerf", fuzzy=False)
    missing = 0
    for message in template:
        if not message.id:
            continue
        string = message.id if identity else existing.get(message.id, "")
        if not string or (isinstance(string, tuple) and not all(string)):
            missing += 1
        catalog.add(message.id, string=string, flags=(), context=message.context)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True)
    return missing


def main() -> int:
    template = extract()
    update(template, "nl_BE", identity=True)
    missing = update(template, "en", identity=False)
    print(f"{len(template)} texts; English translations missing: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
