"""Outages of the real services: with Redis down a reply is still stored and is sent once Redis is
back; with PostgreSQL down requests get a 503 JSON error, actors survive, and the service recovers
by itself. Each outage is a real one: the app talks through a TCP proxy that the test cuts."""
import dataclasses
import os
from urllib.parse import urlparse

import pytest

from helpers import wait_for
from proxy import CuttableProxy
from web import create_app
from web.runtime import boot, shutdown

PG_URL = os.environ.get("TT_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TT_TEST_REDIS_URL", "")


def _through(proxy_url: str, proxy: CuttableProxy) -> str:
    parsed = urlparse(proxy_url)
    return parsed._replace(netloc=parsed.netloc.replace(
        f"{parsed.hostname}:{parsed.port or ''}".rstrip(":"),
        f"127.0.0.1:{proxy.port}")).geturl()


@pytest.fixture
def proxied(request, settings):
    """A runtime whose PostgreSQL or Redis connection runs through a cuttable proxy."""
    kind = request.param
    url = PG_URL if kind == "postgres" else REDIS_URL
    if not url.startswith("postgres" if kind == "postgres" else "redis"):
        pytest.skip(f"runs in the PostgreSQL + Redis suite (TT_TEST_*_URL for {kind} not set)")
    parsed = urlparse(url)
    proxy = CuttableProxy(parsed.hostname or "127.0.0.1", parsed.port or
                          (5432 if kind == "postgres" else 6379))
    through = _through(url, proxy)
    changed = ({"database_url": through} if kind == "postgres" else {"redis_url": through})
    runtime = boot(settings.replace(**changed))
    runtime.system.config = dataclasses.replace(runtime.system.config, sweep_interval=0.5)
    runtime.system._sweeper.kill()
    runtime.system._sweeper = __import__("gevent").spawn(runtime.system._sweep_forever)
    yield runtime, create_app(runtime).test_client(), proxy
    proxy.restore()
    shutdown(runtime)
    proxy.close()


def _tenant(runtime, client):
    from storage import db, tenants

    with db.unit_of_work():
        tenant, _ = tenants.create_tenant("Outage", "outage@t.test", "secret123")
        whatsapp = tenants.create_whatsapp(tenant.id, "n")
    runtime.system.start_connection(whatsapp.id, tenant.id)
    token = client.post("/auth/login", json={"email": "outage@t.test",
                                             "password": "secret123"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.post(f"/whatsappsession/{whatsapp.id}", headers=headers)
    wait_for(lambda: client.get(f"/whatsapp/{whatsapp.id}", headers=headers)
             .get_json()["status"] == "CONNECTED")
    return whatsapp.id, headers


@pytest.mark.parametrize("proxied", ["redis"], indirect=True)
def test_reply_is_stored_while_redis_is_down_and_sent_when_it_returns(proxied):
    runtime, client, proxy = proxied
    whatsapp_id, headers = _tenant(runtime, client)
    client.post(f"/sim/whatsapp/{whatsapp_id}/incoming", headers=headers,
                json={"from": "5511988880000", "body": "hi"})
    ticket = wait_for(lambda: client.get("/tickets?status=pending", headers=headers)
                      .get_json()["tickets"])[0]
    proxy.cut()
    response = client.post(f"/messages/{ticket['id']}", headers=headers, json={"body": "later"})
    assert response.status_code == 201
    assert response.get_json()["status"] == "pending"
    health = client.get("/health")
    assert health.status_code == 503
    assert health.get_json()["queue"]["status"] != "ok"
    proxy.restore()
    wait_for(lambda: [s["body"] for s in client.get(f"/sim/whatsapp/{whatsapp_id}/sent",
                                                    headers=headers).get_json()] == ["later"],
             timeout=15, message="the reply sent after Redis came back")
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("proxied", ["postgres"], indirect=True)
def test_postgres_down_gives_503_and_the_service_recovers_by_itself(proxied):
    runtime, client, proxy = proxied
    whatsapp_id, headers = _tenant(runtime, client)
    proxy.cut()
    for path in ("/tickets?status=pending", "/contacts", "/messages/1"):
        response = client.get(path, headers=headers)
        assert response.status_code == 503, (path, response.data[:200])
        assert response.get_json()["error"] == "ERR_DB_UNAVAILABLE"
    health = client.get("/health")
    assert health.status_code == 503 and health.get_json()["database"] != "ok"
    # a customer writes during the outage: accepted by WhatsApp, stored once the database is back
    assert client.post(f"/sim/whatsapp/{whatsapp_id}/incoming", headers=headers,
                       json={"from": "5511988880001", "body": "during"}).status_code in (202, 503)
    runtime.network.incoming(whatsapp_id, "5511988880001", "during outage")
    proxy.restore()
    tickets = wait_for(lambda: (r := client.get("/tickets?status=pending", headers=headers))
                       .status_code == 200 and r.get_json()["tickets"], timeout=20,
                       message="inbound stored after the database returned")
    messages = wait_for(lambda: client.get(f"/messages/{tickets[0]['id']}", headers=headers)
                        .get_json()["messages"], timeout=10)
    assert "during outage" in [m["body"] for m in messages]
    assert all(ref.is_alive() for ref in runtime.system.sessions.values())
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("proxied", ["redis"], indirect=True)
def test_login_works_while_redis_is_down_without_the_failed_login_brake(proxied):
    runtime, client, proxy = proxied
    _tenant(runtime, client)
    proxy.cut()
    wrong = client.post("/auth/login", json={"email": "outage@t.test", "password": "nope1234"})
    assert wrong.status_code == 401
    right = client.post("/auth/login", json={"email": "outage@t.test", "password": "secret123"})
    assert right.status_code == 200 and right.get_json()["token"]
