"""Many logged-in requests at once must all be answered: on SQLite no request may keep the
write lock while it waits for a thread (that deadlocked until the 30 s busy timeout)."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from app.services.demo import DEMO_LOGINS


def test_sixty_four_concurrent_staff_requests_are_all_answered(seeded_server: Any) -> None:
    _role, email, password = DEMO_LOGINS[1]
    token = httpx.post(f"{seeded_server.url}/api/v1/auth/token",
                       json={"email": email, "password": password}, timeout=30).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    url = f"{seeded_server.url}/api/v1/campaigns/westerkwartier/households?page_size=20"

    def fetch(_: int) -> int:
        return httpx.get(url, headers=headers, timeout=20).status_code

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(fetch, range(128)))

    assert statuses == [200] * 128
    assert httpx.get(f"{seeded_server.url}/healthz", timeout=5).json()["database"] == "ok"
