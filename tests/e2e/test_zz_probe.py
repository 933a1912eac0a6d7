import pytest
from tests.support.axe import axe_check
def test_probe(page, shared_seeded_server):
    page.goto(shared_seeded_server.url + "/login")
    page.evaluate("document.querySelector('main, body').insertAdjacentHTML('beforeend', '<img src=\"/static/app.css\"><input id=nolabel>')")
    with pytest.raises(AssertionError) as info:
        axe_check(page)
    print(info.value)
