"""One contract, two WhatsApp clients: every test runs on the in-process simulated client (``sim``)
and on headless Chromium + bridge.js against the WhatsApp Web simulator page (``selenium``),
through the real app, actors and database: pairing and QR rotation, inbound text and media,
replies and acks, the watchdog's ghost detection + progressive reconnect + SyncUnread, page
reload, browser crash, remote and user logout, new QR."""
import dataclasses
import time

import gevent
import pytest
import websocket

from actors.messages import ClientMessage, ClientReady
from helpers import WsClient, wait_for
from storage import db
from storage.models import Message, Whatsapp
from wa_backends import BrowserPhone, Recorder, SimPhone, simulator  # noqa: F401 - a fixture

INTERVAL = 1.0   # watchdog interval (s), ±25 % jitter
VERIFY = 0.5     # verify_real_connection timeout (s)
PNG = bytes.fromhex("89504e470d0a1a0a") + b"tiktickets contract image"


@pytest.fixture(params=["sim", "selenium"])
def backend(request):
    return request.param


@pytest.fixture
def settings(settings, backend, tmp_path, request):
    settings = settings.replace(watchdog_interval=INTERVAL)
    if backend == "selenium":
        _sim, url, control = request.getfixturevalue("simulator")
        control.reset()
        settings = settings.replace(whatsapp_client="selenium", whatsapp_web_url=url,
                                    whatsapp_profiles_dir=str(tmp_path / "profiles"))
    return settings


@pytest.fixture
def runtime(runtime, backend):
    system = runtime.system
    system.config = dataclasses.replace(system.config, reconnect_base=0.05, reconnect_cap=0.5,
                                        verify_timeout=VERIFY)
    if backend == "selenium":
        factory = system.client_factory
        factory.options = dataclasses.replace(factory.options, poll_interval=0.05)
    system.client_factory = Recorder(system.client_factory)
    return runtime


@pytest.fixture
def recorder(runtime) -> Recorder:
    return runtime.system.client_factory


@pytest.fixture
def phone(runtime, backend, recorder, request):
    if backend == "sim":
        return SimPhone(runtime, recorder)
    return BrowserPhone(request.getfixturevalue("simulator")[2], recorder)


def _row(ctx) -> dict:
    return ctx.api("GET", f"/whatsapp/{ctx.whatsapp_id}").get_json()


def _connect(ctx, phone) -> None:
    assert ctx.api("POST", f"/whatsappsession/{ctx.whatsapp_id}").status_code == 200
    qr = wait_for(lambda: _row(ctx)["qrcode"], timeout=15, message="a QR code")
    phone.scan(ctx, qr)
    wait_for(lambda: _row(ctx)["status"] == "CONNECTED", timeout=15, message="CONNECTED")


@pytest.fixture
def connected(make_tenant, phone):
    ctx = make_tenant(start=False)
    _connect(ctx, phone)
    return ctx


def _stored(ctx) -> list[str]:
    with db.unit_of_work():
        return sorted(m.body for m in Message.select().where(
            Message.tenant == ctx.tenant_id, Message.from_me == False))  # noqa: E712


def _status(ctx) -> str:
    with db.unit_of_work():
        return Whatsapp.get_by_id(ctx.whatsapp_id).status


def _drain(ws, seconds: float) -> list[dict]:
    """Every frame that arrives within ``seconds`` (then the socket is quiet)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            ws.next_frame(timeout=left)
        except websocket.WebSocketTimeoutException:
            break
    return ws.frames


def _statuses(ws) -> list[str]:
    return [f["data"]["status"] for f in ws.frames if f.get("event") == "session.updated"]


def _subscribed(live_server, ctx) -> WsClient:
    ws = WsClient(live_server, ctx.token)
    ws.subscribe("tenant")
    return ws


def test_pairing_by_qr_connects_and_qr_rotation_reaches_only_that_tenant(make_tenant, phone,
                                                                         live_server):
    alice, bob = make_tenant(start=False), make_tenant(start=False)
    ws_alice, ws_bob = _subscribed(live_server, alice), _subscribed(live_server, bob)
    alice.api("POST", f"/whatsappsession/{alice.whatsapp_id}")
    first = ws_alice.wait_event("session.updated", lambda d: d["status"] == "qrcode",
                                timeout=15)["data"]["qrcode"]
    phone.rotate_qr(alice)
    second = ws_alice.wait_event("session.updated", lambda d: d["status"] == "qrcode"
                                 and d["qrcode"] != first, timeout=5)["data"]["qrcode"]
    phone.scan(alice, second)
    ws_alice.wait_event("session.updated", lambda d: d["status"] == "CONNECTED", timeout=10)
    statuses = _statuses(ws_alice)
    order = [statuses.index(s) for s in ("OPENING", "qrcode", "PAIRING", "CONNECTED")]
    assert order == sorted(order), statuses
    assert [f for f in _drain(ws_bob, 0.5) if f["type"] == "event"] == []
    ws_alice.close()
    ws_bob.close()


def test_incoming_text_and_image_become_a_ticket_with_the_media_saved(connected, phone):
    phone.incoming(connected, "5511988880001", "Olá, tudo bem?")
    phone.incoming(connected, "5511988880001", "a photo", media=("image/png", PNG, "photo.png"))
    ticket = wait_for(lambda: connected.tickets("pending"), timeout=10)[0]
    messages = wait_for(lambda: len(m := connected.messages(ticket["id"])) == 2 and m,
                        timeout=10, message="two messages")
    assert len(connected.tickets("pending")) == 1
    image = next(m for m in messages if m["body"] == "a photo")
    assert image["mediaType"] == "image" and image["mediaUrl"]
    served = connected.api("GET", image["mediaUrl"])
    assert served.status_code == 200 and served.data == PNG


def test_a_reply_is_sent_and_its_acks_advance_to_read(connected, phone):
    phone.incoming(connected, "5511988880002", "preciso de ajuda")
    ticket = wait_for(lambda: connected.tickets("pending"), timeout=10)[0]
    created = connected.api("POST", f"/messages/{ticket['id']}", {"body": "Oi! Como ajudo?"})
    assert created.status_code == 201
    sent = wait_for(lambda: phone.sent(connected), timeout=10, message="the reply sent")[0]
    assert (sent["to"], sent["body"]) == ("5511988880002", "Oi! Como ajudo?")

    def ack():
        row = next(m for m in connected.messages(ticket["id"]) if m["id"] == created.json["id"])
        return row["status"], row["ack"], row["messageId"]

    wait_for(lambda: ack() == ("sent", 1, sent["id"]), timeout=10, message="server ack 1")
    phone.ack(connected, sent["id"], 2)
    wait_for(lambda: ack()[1] == 2, timeout=5, message="delivered")
    phone.ack(connected, sent["id"], 3)
    wait_for(lambda: ack()[1] == 3, timeout=5, message="read")


def test_ghost_disconnect_is_repaired_without_a_new_qr_and_missed_messages_sync_once(
        connected, phone, live_server):
    ws = _subscribed(live_server, connected)
    phone.ghost(connected)
    started = time.monotonic()
    for i in range(5):  # they arrive while the session only claims to be connected
        phone.incoming(connected, "5511966660000", f"ghost {i}")
    gevent.sleep(0.05)
    assert _stored(connected) == []
    ws.wait_event("session.updated", lambda d: d["status"] == "RECONNECTING",
                  timeout=INTERVAL * 1.25 + VERIFY + 2)
    assert time.monotonic() - started <= INTERVAL * 1.25 + VERIFY + 1.0  # one interval
    ws.wait_event("session.updated", lambda d: d["status"] == "CONNECTED", timeout=15)
    wait_for(lambda: len(_stored(connected)) == 5, timeout=10, message="5 synced messages")
    frames = _drain(ws, INTERVAL * 2.5)  # more ticks, more syncs: still exactly once
    assert _stored(connected) == [f"ghost {i}" for i in range(5)]
    assert len([f for f in frames if f.get("event") == "message.created"]) == 5
    assert "qrcode" not in _statuses(ws)
    ws.close()


def test_a_page_reload_reinjects_the_bridge_without_duplicated_events(connected, phone,
                                                                      recorder):
    readies = len(recorder.of_type(connected.whatsapp_id, ClientReady))
    phone.reload(connected)
    wait_for(lambda: len(recorder.of_type(connected.whatsapp_id, ClientReady)) > readies,
             timeout=10, message="ready after the reload")
    wa_id = phone.incoming(connected, "5511955550000", "after the reload")
    wait_for(lambda: "after the reload" in _stored(connected), timeout=10)
    gevent.sleep(0.5)
    live = [e.message.wa_id for e in recorder.of_type(connected.whatsapp_id, ClientMessage)]
    assert live.count(wa_id) == 1
    wait_for(lambda: _status(connected) == "CONNECTED", timeout=5)


def test_a_killed_browser_is_restarted_on_the_same_profile_without_a_new_qr(connected, phone,
                                                                           live_server):
    ws = _subscribed(live_server, connected)
    phone.crash(connected)
    ws.wait_event("session.updated", lambda d: d["status"] == "RECONNECTING"
                  and d.get("tier") == "hard", timeout=10)
    ws.wait_event("session.updated", lambda d: d["status"] == "CONNECTED", timeout=30)
    assert "qrcode" not in _statuses(ws)
    phone.incoming(connected, "5511944440000", "after the crash")
    wait_for(lambda: "after the crash" in _stored(connected), timeout=10)
    ws.close()


def test_a_remote_logout_ends_in_qrcode_and_is_not_reconnected(connected, phone, live_server):
    ws = _subscribed(live_server, connected)
    phone.remote_logout(connected)
    ws.wait_event("session.updated", lambda d: d["status"] == "qrcode" and d["qrcode"],
                  timeout=10)
    _drain(ws, INTERVAL * 3)
    statuses = _statuses(ws)
    assert "LOGOUT" in statuses and "RECONNECTING" not in statuses, statuses
    assert _status(connected) == "qrcode"
    ws.close()


def test_a_user_logout_is_never_repaired(connected, recorder):
    response = connected.api("DELETE", f"/whatsappsession/{connected.whatsapp_id}")
    assert response.get_json()["status"] == "DISCONNECTED"
    gevent.sleep(INTERVAL * 3)
    assert _status(connected) == "DISCONNECTED"
    client = recorder.clients[connected.whatsapp_id]
    assert getattr(client, "browser_pid", lambda: None)() is None  # Chromium is closed


def test_a_new_qr_request_drops_the_login_and_pairs_again(connected, phone):
    assert connected.api("PUT", f"/whatsappsession/{connected.whatsapp_id}").status_code == 200
    qr = wait_for(lambda: (row := _row(connected))["status"] == "qrcode" and row["qrcode"],
                  timeout=15, message="a new QR code")
    phone.scan(connected, qr)
    wait_for(lambda: _row(connected)["status"] == "CONNECTED", timeout=15)
