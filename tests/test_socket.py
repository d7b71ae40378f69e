"""WebSocket /ws: auth frame, rooms, numbered events, resume by last event id, resync, drops."""
import json
import socket
import time

import gevent
import websocket

from actors.messages import Publish
from helpers import WsClient, wait_for


def test_first_frame_must_authenticate(tenant, live_server):
    ws = WsClient(live_server)
    ws.send({"type": "subscribe", "room": "tenant"})
    frame = ws.next_frame()
    assert frame["type"] == "error" and frame["error"] == "ERR_SESSION_EXPIRED"
    ws.close()


def test_bad_token_is_refused(live_server):
    ws = WsClient(live_server)
    ws.send({"type": "auth", "token": "forged"})
    assert ws.next_frame()["error"] == "ERR_SESSION_EXPIRED"
    ws.close()


def test_incoming_message_reaches_tenant_subscriber_within_a_second(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    started = time.monotonic()
    tenant.incoming("5511955550000", "live!")
    created = ws.wait_event("message.created", timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert created["data"]["body"] == "live!"
    assert created["data"]["ticket"]["status"] == "pending"
    assert created["room"] == "tenant"
    ws.close()


def test_a_message_event_carries_its_ticket_and_no_ticket_update_follows(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    tenant.incoming("5511955550009", "one")
    tenant.incoming("5511955550009", "two")
    second = ws.wait_event("message.created", lambda d: d["body"] == "two")
    assert second["data"]["ticket"]["unreadMessages"] == 2
    assert second["data"]["ticket"]["lastMessage"] == "two"
    assert [f["event"] for f in ws.frames if f["type"] == "event"] == [
        "ticket.created", "message.created", "message.created"]
    ws.close()


def test_ticket_created_comes_before_its_first_message(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    tenant.incoming("5511955550001", "first")
    ws.wait_event("message.created")
    names = [f["event"] for f in ws.frames if f["type"] == "event"
             and f["event"] in ("ticket.created", "message.created")]
    assert names == ["ticket.created", "message.created"]
    ws.close()


def test_event_ids_increase(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    for i in range(5):
        tenant.incoming("5511955550002", f"m{i}")
    wait_for(lambda: len([f for f in ws.frames if f.get("event") == "message.created"]) == 5
             or ws.next_frame(), timeout=5)
    ids = [f["id"] for f in ws.frames if f["type"] == "event"]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    ws.close()


def _events_until(ws, name, count):
    got = []
    while len(got) < count:
        frame = ws.next_frame()
        if frame["type"] == "event" and frame["event"] == name:
            got.append(frame)
    return got


def test_reconnect_with_last_event_id_receives_exactly_the_missed_events(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    tenant.incoming("5511955550003", "seen")
    last_seen = ws.wait_event("message.created")["id"]
    ws.close()

    for i in range(3):  # while the dashboard is away
        tenant.incoming("5511955550003", f"missed {i}")
    ticket_id = tenant.pending_ticket()["id"]
    wait_for(lambda: len(tenant.messages(ticket_id)) == 4)
    gevent.sleep(0.1)

    back = WsClient(live_server, tenant.token)
    subscribed = back.subscribe("tenant", last_event_id=last_seen)
    assert subscribed["type"] == "subscribed"
    missed = []
    while not missed or missed[-1]["id"] < subscribed["lastEventId"]:
        frame = back.next_frame()
        if frame["type"] == "event":
            missed.append(frame)
    ids = [f["id"] for f in missed]
    assert ids == list(range(last_seen + 1, subscribed["lastEventId"] + 1))
    bodies = [f["data"]["body"] for f in missed if f["event"] == "message.created"]
    assert bodies == ["missed 0", "missed 1", "missed 2"]
    tenant.incoming("5511955550003", "live again")
    assert back.wait_event("message.created")["data"]["body"] == "live again"
    back.close()


def test_a_gap_older_than_the_buffer_asks_for_resync(tenant, live_server, runtime):
    ws = WsClient(live_server, tenant.token)
    subscribed = ws.subscribe("tenant")
    room = runtime.system.room(tenant.tenant_id)
    for i in range(runtime.settings.ws_replay + 5):
        room.tell(Publish("ticket.updated", {"n": i}))
    ws.close()
    gevent.sleep(0.2)
    back = WsClient(live_server, tenant.token)
    back.subscribe("tenant", last_event_id=subscribed["lastEventId"])
    assert back.next_frame()["type"] == "resync"
    back.close()


def test_an_id_from_before_a_restart_asks_for_resync(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant", last_event_id=12345)
    assert ws.next_frame()["type"] == "resync"
    ws.close()


def test_ticket_room_gets_only_that_tickets_events(tenant, live_server):
    tenant.incoming("5511955550004", "a")
    tenant.incoming("5511955550005", "b")
    wait_for(lambda: len(tenant.tickets("pending")) == 2)
    first = next(t for t in tenant.tickets("pending") if t["contact"]["number"] == "5511955550004")
    ws = WsClient(live_server, tenant.token)
    ws.subscribe(f"ticket:{first['id']}")
    tenant.incoming("5511955550005", "other ticket")
    tenant.incoming("5511955550004", "this ticket")
    event = ws.wait_event("message.created")
    assert event["data"]["body"] == "this ticket"
    assert event["room"] == f"ticket:{first['id']}" or event["room"] == "tenant"
    ws.close()


def test_subscribed_to_both_rooms_gets_each_event_once(tenant, live_server):
    tenant.incoming("5511955550006", "a")
    ticket = tenant.pending_ticket()
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    ws.subscribe(f"ticket:{ticket['id']}")
    tenant.incoming("5511955550006", "once")
    ws.wait_event("message.created", lambda d: d["body"] == "once")
    tenant.incoming("5511955550006", "marker")
    ws.wait_event("message.created", lambda d: d["body"] == "marker")
    created = [f for f in ws.frames if f.get("event") == "message.created"
               and f["data"]["body"] == "once"]
    assert len(created) == 1
    ws.close()


def test_ping_gets_pong_and_idle_socket_gets_heartbeats(tenant, live_server, runtime):
    ws = WsClient(live_server, tenant.token)
    ws.send({"type": "ping"})
    assert ws.next_frame()["type"] == "pong"
    assert ws.next_frame(timeout=runtime.settings.ws_heartbeat + 2)["type"] == "heartbeat"
    ws.close()


def test_garbage_frame_gets_an_error_and_the_socket_lives(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.ws.send("not json at all")
    assert ws.next_frame()["error"] == "ERR_INVALID_JSON"
    ws.send({"type": "dance"})
    assert ws.next_frame()["error"] == "ERR_UNKNOWN_FRAME"
    assert ws.subscribe("tenant")["type"] == "subscribed"
    ws.close()


def test_slow_client_is_dropped_without_stalling_the_room(tenant, live_server, runtime):
    slow = websocket.create_connection(f"ws://{live_server}/ws", timeout=5)
    slow.send(json.dumps({"type": "auth", "token": tenant.token}))
    slow.recv()
    slow.send(json.dumps({"type": "subscribe", "room": "tenant"}))
    slow.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
    fast = WsClient(live_server, tenant.token)
    fast.subscribe("tenant")
    room = runtime.system.room(tenant.tenant_id)
    payload = {"blob": "x" * 4000}
    total = runtime.settings.ws_outbox * 3

    def read_fast():
        got = 0
        while got < total:
            frame = fast.next_frame(timeout=10)
            if frame.get("event") == "ticket.updated":
                got += 1
        return got

    reader = gevent.spawn(read_fast)
    for i in range(total):  # the slow client never reads
        room.tell(Publish("ticket.updated", dict(payload, n=i)))
        if i % 20 == 0:
            gevent.sleep(0.001)
    assert reader.get(timeout=20) == total
    wait_for(lambda: room.proxy().subscriber_count().get() == 1, timeout=5,
             message="slow client dropped")
    fast.close()
    slow.close()


def test_a_client_that_reads_late_gets_every_frame_whole(tenant, live_server, runtime):
    """The server's socket accepts only part of a frame when the client's window is full; the
    rest must follow, never be dropped (a cut frame corrupts every frame after it)."""
    late = websocket.create_connection(
        f"ws://{live_server}/ws", timeout=10,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    late.send(json.dumps({"type": "auth", "token": tenant.token}))
    late.recv()
    late.send(json.dumps({"type": "subscribe", "room": "tenant"}))
    late.recv()
    room = runtime.system.room(tenant.tenant_id)
    total = 60
    for i in range(total):  # ~3 MB while the client does not read: the server's sends fill up
        room.tell(Publish("ticket.updated", {"blob": "é" * 8_000, "n": i}))
    gevent.sleep(0.3)
    seen = []
    while len(seen) < total:
        frame = json.loads(late.recv())
        if frame.get("event") == "ticket.updated":
            seen.append(frame["data"]["n"])
    assert seen == list(range(total))
    late.close()
