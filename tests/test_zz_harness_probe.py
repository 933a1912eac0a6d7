import httpx
from tests.support.server import _live_group_members

def test_probe_workers(live_server_factory):
    a = live_server_factory(workers=2)
    b = live_server_factory(database_url=a.database_url)
    assert httpx.get(b.url + "/healthz").status_code == 200
    pgid = a.process.pid
    assert len(_live_group_members(pgid)) >= 3
    a.kill()
    assert _live_group_members(pgid) == []
    a.restart()
    assert httpx.get(a.url + "/healthz").status_code == 200
