"""Screenshots of the main pages for docs/screenshots/ (a fresh demo database, a real server,
Debian's Chromium). Run: .venv/bin/python scripts/screenshots.py"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PORT = int(os.environ.get("SCREENSHOT_PORT", "8123"))
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "wijkwerf-demo-2026"


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="wijkwerf-shots-"))
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp}/demo.db", MAIL_URL=f"file://{tmp}/mail",
               BASE_URL=BASE, WIJKWERF_ENV="dev")
    wijkwerf = str(ROOT / ".venv" / "bin" / "wijkwerf")
    subprocess.run([wijkwerf, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([wijkwerf, "seed-demo"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([wijkwerf, "serve", "--port", str(PORT)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{BASE}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        group_id, batch_id = prepare(env)
        shoot(group_id, batch_id)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


def prepare(env: dict[str, str]) -> tuple[int, int]:
    """A locked group of facade sign-ups assigned to the facade contractor, through the API."""
    api = httpx.Client(base_url=f"{BASE}/api/v1", timeout=30)
    token = api.post("/auth/token", json={"email": "energiehuis@wijkwerf.demo",
                                          "password": PASSWORD}).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    offers = api.get("/campaigns/westerkwartier/offers").json()
    facade = next(o for o in offers if o["measure"] == "facade_insulation")
    suggestion = api.post("/campaigns/westerkwartier/groups/suggest",
                          json={"by": ["life_phase"], "min_size": 5, "max_size": 12,
                                "offer_id": facade["id"]}).json()
    first = suggestion["groups"][0]
    group = api.post("/campaigns/westerkwartier/groups",
                     json={"name": first["name"], "kind": "framework", "offer_id": facade["id"],
                           "measure": "facade_insulation",
                           "household_ids": first["household_ids"]}).json()
    api.patch(f"/groups/{group['id']}", json={"locked": True})
    batch = api.post(f"/groups/{group['id']}/batches",
                     json={"contractor_id": facade["contractor"]["id"],
                           "offer_id": facade["id"]}).json()
    return group["id"], batch["id"]


def login(page: Page, email: str) -> None:
    page.goto(f"{BASE}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shot(page: Page, path: str, name: str, *, full: bool = True) -> None:
    page.goto(f"{BASE}{path}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print(f"docs/screenshots/{name}.png  {path}")


def shoot(group_id: int, batch_id: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"])
        desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE")
        page = desktop.new_page()
        shot(page, "/", "01-home")
        shot(page, "/wijken/westerkwartier", "02-wijk")
        offer_page = "/wijken/westerkwartier/aanbod/1"
        shot(page, offer_page, "03-offer-signup")
        shot(page, "/wijken/westerkwartier/klimaattafel", "04-klimaattafel")
        phone = browser.new_context(viewport={"width": 375, "height": 812}, locale="nl-BE",
                                    is_mobile=True, device_scale_factor=2)
        shot(phone.new_page(), offer_page, "05-offer-phone", full=False)
        login(page, "energiehuis@wijkwerf.demo")
        shot(page, "/beheer/wijken/westerkwartier/dashboard", "06-dashboard")
        shot(page, "/beheer/wijken/westerkwartier/huishoudens?street=Duinenstraat",
             "07-households")
        shot(page, "/beheer/wijken/westerkwartier/groepen", "08-groups")
        staff_english = browser.new_context(viewport={"width": 1280, "height": 900})
        english = staff_english.new_page()
        shot(english, "/wijken/westerkwartier?lang=en", "09-wijk-english")
        contractor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(contractor, "gevel@wijkwerf.demo")
        shot(contractor, f"/aannemer/batches/{batch_id}", "10-contractor-batch")
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
