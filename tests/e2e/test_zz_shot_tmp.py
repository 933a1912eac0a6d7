from playwright.sync_api import Page
def test_shot(page: Page, shared_seeded_server):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{shared_seeded_server.url}/wijken/westerkwartier/aanbod/1")
    page.screenshot(path="/tmp/ww/offer375.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{shared_seeded_server.url}/wijken/westerkwartier")
    page.screenshot(path="/tmp/ww/wijk.png", full_page=True)
