"""SessionActor: QR and status events, watchdog false-connection detection, progressive
reconnect, SyncUnread after every ready, logout never "repaired"."""
import dataclasses

import gevent
import pytest

from helpers import WsClient, wait_for
from storage import db
from storage.models import Message, Whatsapp

INTERVAL = 0.3


@pytest.fixture
def settings(settings):
    return settings.replace(watchdog_interval=INTERVAL)


@pytest.fixture
def runtime(runtime):
    runtime.system.config = dataclasses.replace(runtime.system.config, reconnect_base=0.05,
                                                reconnect_cap=0.2, verify_timeout=0.2)
    return runtime


def _status(ctx):
    with db.unit_of_work():
        return Whatsapp.get_by_id(ctx.whatsapp_id).status


def _faults(ctx, **faults):
    response = ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", faults)
    assert response.status_code == 200
    return response.get_json()


def _stored(ctx):
    with db.unit_of_work():
        return sorted(m.body for m in Message.select().where(Message.tenant == ctx.tenant_id))


def _statuses(ws):
    return [f["data"]["status"] for f in ws.frames if f.get("event") == "session.updated"]


def test_ghost_disconnect_is_detected_and_repaired_without_a_new_qr(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    _faults(tenant, ghostDisconnect=True)
    for i in range(5):  # these arrive while the session only claims to be connected
        tenant.incoming("5511966660000", f"ghost {i}")
    ws.wait_event("session.updated", lambda d: d["status"] == "RECONNECTING",
                  timeout=INTERVAL * 1.25 + 1)
    ws.wait_event("session.updated", lambda d: d["status"] == "CONNECTED", timeout=3)
    wait_for(lambda: len(_stored(tenant)) == 5)
    ws.wait_event("message.created", timeout=3)
    gevent.sleep(INTERVAL * 3)  # more ticks, more syncs: still exactly once
    assert _stored(tenant) == [f"ghost {i}" for i in range(5)]
    assert "qrcode" not in _statuses(ws)
    # none was stored while the session only claimed to be connected: the sync after the
    # reconnect stored them (checked by event order, not by a timer)
    names = [(f.get("event"), (f.get("data") or {}).get("status")) for f in ws.frames]
    assert names.index(("session.updated", "RECONNECTING")) < min(
        i for i, (event, _) in enumerate(names) if event == "message.created")
    ws.close()


def test_failing_profile_picture_is_a_false_connection(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    _faults(tenant, profilePic="error")
    ws.wait_event("session.updated", lambda d: d["status"] == "RECONNECTING", timeout=3)
    _faults(tenant, profilePic="ok")
    ws.wait_event("session.updated", lambda d: d["status"] == "CONNECTED", timeout=3)
    ws.close()


def test_hanging_profile_picture_times_out_and_reconnects(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    _faults(tenant, profilePic="hang")
    ws.wait_event("session.updated", lambda d: d["status"] == "RECONNECTING", timeout=3)
    _faults(tenant, profilePic="ok")
    ws.wait_event("session.updated", lambda d: d["status"] == "CONNECTED", timeout=3)
    ws.close()


def test_healthy_session_is_left_alone(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    gevent.sleep(INTERVAL * 4)
    assert _statuses(ws) == []
    assert _status(tenant) == "CONNECTED"
    ws.close()


def test_remote_logout_ends_in_qrcode_and_is_not_reconnected(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    tenant.runtime.network.pair_delay = -1  # nobody scans the new QR
    _faults(tenant, logout=True)
    ws.wait_event("session.updated", lambda d: d["status"] == "qrcode" and d["qrcode"])
    gevent.sleep(INTERVAL * 4)
    assert "RECONNECTING" not in _statuses(ws)
    assert _status(tenant) == "qrcode"
    ws.close()


def test_a_probe_refused_just_before_the_logout_push_does_not_reconnect(tenant, live_server):
    """WhatsApp's server revokes the device at once; the page hears of it by its own push, which
    can come after the watchdog's probe was already refused (seen with the browser client)."""
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    tenant.runtime.network.pair_delay = -1
    phone = tenant.runtime.network.phone(tenant.whatsapp_id)
    tenant.runtime.network.set_paired(phone, False)   # the server side of a remote logout
    gevent.sleep(INTERVAL * 1.25 + 0.2)                # a probe has been refused by now
    phone.client._remote_logout()                      # ... and the page's push arrives
    ws.wait_event("session.updated", lambda d: d["status"] == "qrcode" and d["qrcode"])
    gevent.sleep(INTERVAL * 4)
    assert "RECONNECTING" not in _statuses(ws)
    assert _status(tenant) == "qrcode"
    ws.close()


def test_user_logout_is_never_repaired(tenant):
    response = tenant.api("DELETE", f"/whatsappsession/{tenant.whatsapp_id}")
    assert response.get_json()["status"] == "DISCONNECTED"
    gevent.sleep(INTERVAL * 4)
    assert _status(tenant) == "DISCONNECTED"


def test_qr_reaches_only_that_tenants_socket_and_scanning_connects(make_tenant, runtime,
                                                                   live_server):
    runtime.network.pair_delay = -1
    alice, bob = make_tenant(start=False), make_tenant(start=False)
    ws_alice, ws_bob = WsClient(live_server, alice.token), WsClient(live_server, bob.token)
    ws_alice.subscribe("tenant")
    ws_bob.subscribe("tenant")
    alice.api("POST", f"/whatsappsession/{alice.whatsapp_id}")
    qr = ws_alice.wait_event("session.updated", lambda d: d["status"] == "qrcode")
    assert qr["data"]["qrcode"].startswith("2@")
    assert alice.api("GET", f"/whatsapp/{alice.whatsapp_id}").get_json()["qrcode"] == \
        qr["data"]["qrcode"]
    assert alice.api("POST", f"/sim/whatsapp/{alice.whatsapp_id}/scan").status_code == 202
    ws_alice.wait_event("session.updated", lambda d: d["status"] == "CONNECTED")
    gevent.sleep(0.1)
    assert [f for f in ws_bob.frames if f["type"] == "event"] == []
    ws_alice.close()
    ws_bob.close()


def test_new_qr_request_drops_the_login_and_shows_a_qr(tenant, runtime):
    runtime.network.pair_delay = -1
    response = tenant.api("PUT", f"/whatsappsession/{tenant.whatsapp_id}")
    assert response.status_code == 200
    wait_for(lambda: _status(tenant) == "qrcode")
    assert tenant.api("GET", f"/whatsapp/{tenant.whatsapp_id}").get_json()["qrcode"]


def test_messages_that_arrived_before_start_are_synced_once(make_tenant, runtime, live_server):
    ctx = make_tenant(start=False)
    ws = WsClient(live_server, ctx.token)
    ws.subscribe("tenant")
    for i in range(3):
        runtime.network.incoming(ctx.whatsapp_id, "5511966660001", f"offline {i}")
    ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}")
    wait_for(lambda: len(_stored(ctx)) == 3)
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/faults", {"ghostDisconnect": True})
    ws.wait_event("session.updated", lambda d: d["status"] == "RECONNECTING", timeout=3)
    ws.wait_event("session.updated", lambda d: d["status"] == "CONNECTED", timeout=3)
    gevent.sleep(0.2)  # the second SyncUnread (after the reconnect) has run by now
    assert _stored(ctx) == ["offline 0", "offline 1", "offline 2"]
    ws.close()


def test_sends_wait_while_the_session_is_not_connected(make_tenant, runtime):
    ctx = make_tenant()
    ctx.incoming("5511966660002", "hi")
    ticket = ctx.pending_ticket()
    runtime.network.pair_delay = -1
    ctx.api("DELETE", f"/whatsappsession/{ctx.whatsapp_id}")
    created = ctx.api("POST", f"/messages/{ticket['id']}", {"body": "queued"}).get_json()
    gevent.sleep(0.3)
    row = next(m for m in ctx.messages(ticket["id"]) if m["id"] == created["id"])
    assert (row["status"], row["attempts"]) == ("pending", 0)  # waiting is not a failed attempt
    ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}")
    ctx.api("POST", f"/sim/whatsapp/{ctx.whatsapp_id}/scan")
    wait_for(lambda: [s["body"] for s in ctx.sent()] == ["queued"], timeout=5)
