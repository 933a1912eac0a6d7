import httpx, os, time
from pathlib import Path

def live_members(pgid):
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append((stat.parent.name, fields[0]))
    return out

def test_probe(live_server_factory):
    a = live_server_factory(workers=2)
    b = live_server_factory(database_url=a.database_url)
    for s in (a, b):
        assert httpx.get(s.url + "/healthz").json()["database"] == "ok"
    pgid = a.process.pid
    print("before", live_members(pgid))
    a.kill()
    time.sleep(0.5)
    assert live_members(pgid) == []
    a.restart()
    assert httpx.get(a.url + "/healthz").status_code == 200
    pgid = a.process.pid
    a.stop()
    assert not a.running and live_members(pgid) == []
