"""Hostile input found by a fresh user's probing: each gets a clear 4xx (or a refusal frame),
never a 500, a traceback or a silent gap."""
import datetime
import io
import json
import random
import socket
from unittest import mock

import jwt
import pykka
import pytest
import websocket

from helpers import WsClient, wait_for


def test_json_nested_too_deep_is_a_400(client):
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post("/auth/login", data=deep, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "ERR_INVALID_JSON"


def test_ids_past_64_bits_are_404_or_400(tenant):
    assert tenant.api("GET", "/tickets/99999999999999999999").status_code == 404
    assert tenant.api("GET", "/tickets/9223372036854775808").status_code == 404
    tenant.incoming("5511900002222", "hi")
    ticket = tenant.pending_ticket()
    response = tenant.api("PUT", f"/tickets/{ticket['id']}", {"userId": 99999999999999999999})
    assert response.status_code == 400


def test_ids_past_64_bits_are_404_for_every_method(tenant):
    huge = 1180591620717411303424
    for method, path, body in [("GET", f"/campaigns/{huge}", None),
                               ("PUT", f"/campaigns/{huge}", {"name": "x"}),
                               ("DELETE", f"/campaigns/{huge}", None),
                               ("POST", f"/campaigns/{huge}/start", None),
                               ("PUT", f"/tickets/{huge}", {"status": "open"})]:
        response = tenant.api(method, path, body)
        assert response.status_code == 404, (method, path, response.get_json())


def test_double_slash_is_a_json_404(tenant):
    response = tenant.api("GET", "/tickets//1")
    assert response.status_code == 404 and response.is_json


def test_nul_characters_are_refused_in_bodies(tenant):
    for path, body in [("/auth/login", {"email": "a\u0000b", "password": "x"}),
                       ("/contacts", {"name": "a\u0000b", "number": "5511900003333"})]:
        response = tenant.api("POST", path, body)
        assert response.status_code == 400, path
        assert response.get_json()["error"] == "ERR_VALIDATION"


def test_nul_byte_in_a_media_path_is_a_404(tenant):
    assert tenant.api("GET", f"/public/{tenant.tenant_id}/a%00b").status_code == 404


def test_search_wildcards_match_literally(tenant):
    tenant.incoming("5511900004444", "plain")
    wait_for(lambda: tenant.tickets("pending"))
    assert tenant.api("GET", "/tickets?searchParam=%25").get_json()["tickets"] == []
    assert tenant.api("GET", "/contacts?searchParam=_").get_json()["contacts"] == []


def test_inbound_with_a_nul_character_is_stored_without_it(tenant, runtime):
    runtime.network.incoming(tenant.whatsapp_id, "5511900005555", "a\u0000b", name="N" * 400)
    ticket = tenant.pending_ticket()
    assert wait_for(lambda: tenant.messages(ticket["id"]))[0]["body"] == "ab"
    assert len(ticket["contact"]["name"]) == 255


def test_overlong_password_is_refused_quietly(tenant, caplog):
    response = tenant.client.post("/auth/login", json={"email": tenant.email,
                                                       "password": "x" * 100})
    assert response.status_code == 401
    assert "Traceback" not in caplog.text


def test_plain_users_cannot_log_out_the_tenants_whatsapp(tenant):
    tenant.api("POST", "/users", {"name": "Agent", "email": "agent9@t.test",
                                  "password": "secret123"})
    token = tenant.client.post("/auth/login", json={"email": "agent9@t.test",
                                                    "password": "secret123"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/whatsappsession/{tenant.whatsapp_id}"
    assert tenant.client.delete(path, headers=headers).status_code == 403
    assert tenant.client.put(path, headers=headers).status_code == 403


def test_socket_auth_frame_nested_too_deep_gets_an_error_frame(live_server):
    ws = WsClient(live_server)
    ws.ws.send("[" * 20_000 + "]" * 20_000)  # deeper than the decoder goes, under the size cap
    assert ws.next_frame()["error"] == "ERR_SESSION_EXPIRED"


def test_socket_frame_over_the_limit_closes_the_socket(live_server):
    ws = websocket.create_connection(f"ws://{live_server}/ws", timeout=5)
    ws.send(json.dumps({"type": "auth", "token": "a" * 200_000}))
    closed = False
    try:
        while True:
            frame = ws.recv()
            if not frame:
                closed = True
                break
    except (websocket.WebSocketException, OSError):
        closed = True
    assert closed


def test_socket_last_event_id_as_a_string_still_replays(tenant, live_server):
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    tenant.incoming("5511900006666", "first")
    last = ws.wait_event("message.created")["id"]
    ws.close()
    tenant.incoming("5511900006666", "missed")
    wait_for(lambda: len(tenant.messages(tenant.tickets("pending")[0]["id"])) == 2)
    back = WsClient(live_server, tenant.token)
    back.subscribe("tenant", last_event_id=str(last))
    assert back.wait_event("message.created")["data"]["body"] == "missed"
    back.close()
    odd = WsClient(live_server, tenant.token)
    odd.send({"type": "subscribe", "room": "tenant", "last_event_id": "yesterday"})
    odd.wait_frame(lambda f: f["type"] == "subscribed")
    assert odd.next_frame()["type"] == "resync"
    odd.close()


def test_socket_room_names_must_match_exactly(tenant, live_server):
    tenant.incoming("5511900007777", "hi")
    ticket = tenant.pending_ticket()
    ws = WsClient(live_server, tenant.token)
    assert ws.subscribe(f"ticket:{ticket['id']}\n")["type"] == "error"
    assert ws.subscribe("ticket:\u0661")["type"] == "error"
    ws.close()


def test_socket_closes_when_the_access_token_expires(tenant, live_server, settings):
    token = jwt.encode({"sub": str(tenant.user_id), "tenantId": tenant.tenant_id,
                        "profile": "admin", "type": "access", "tv": 0,
                        "exp": datetime.datetime.now(datetime.timezone.utc)
                        + datetime.timedelta(seconds=2)}, settings.secret_key, algorithm="HS256")
    ws = WsClient(live_server, token)
    ws.subscribe("tenant")
    expired = ws.wait_frame(lambda f: f["type"] == "error", timeout=6)
    assert expired["error"] == "ERR_SESSION_EXPIRED"
    ws.close()


@pytest.mark.parametrize("data", [
    random.Random(7).randbytes(5000),                                     # noise
    b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"\x00" * 40,             # an .xlsx (ZIP)
    "5511970000001;Ana\n".encode("utf-16-le"),                          # UTF-16, no BOM
    bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 40])   # a PNG
def test_a_campaign_csv_that_is_not_text_is_a_400(tenant, data):
    campaign = tenant.api("POST", "/campaigns", {"name": "C", "whatsappId": tenant.whatsapp_id,
                                                 "message1": "hi"}).get_json()
    response = tenant.api("POST", f"/campaigns/{campaign['id']}/contacts",
                          data={"file": (io.BytesIO(data), "x.csv")},
                          content_type="multipart/form-data")
    assert (response.status_code, response.get_json()["error"]) == (400, "ERR_INVALID_CSV")


def _raw(live_server: str, request: bytes) -> tuple[int, dict]:
    """Send ``request`` bytes as they are; the status and the JSON body of the answer."""
    host, port = live_server.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except ConnectionResetError:  # the server closes with request bytes left unread
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GARBAGE\r\n\r\n", 400, "ERR_BAD_REQUEST"),
    (b"GET /health HTTP/7.0\r\nHost: x\r\n\r\n", 400, "ERR_BAD_REQUEST"),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "ERR_REQUEST_TOO_LONG")])
def test_a_request_the_server_cannot_parse_gets_a_json_error(live_server, request_bytes, status,
                                                              code):
    assert _raw(live_server, request_bytes) == (status, {"error": code, "message": mock.ANY})


@pytest.mark.parametrize("raised, status, code", [
    (pykka.Timeout("ask timed out"), 503, "ERR_TIMEOUT"),
    (pykka.ActorDeadError("actor stopped"), 503, "ERR_SHUTTING_DOWN")])
def test_an_actor_that_cannot_answer_is_a_503_not_a_500(app, raised, status, code):
    @app.get("/test-only/actor")
    def actor_route():
        raise raised

    response = app.test_client().get("/test-only/actor")
    assert (response.status_code, response.get_json()["error"]) == (status, code)
