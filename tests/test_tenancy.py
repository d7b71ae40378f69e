"""Every query is scoped to the caller's tenant: another tenant's objects are 404, rooms refused."""
import base64

from helpers import WsClient, wait_for


def _ticket_with_media(ctx):
    data = base64.b64encode(b"secret-bytes").decode()
    ctx.incoming("5511922220000", "private", media={"mimetype": "image/jpeg", "filename": "x.jpg",
                                                    "data": data})
    ticket = ctx.pending_ticket()
    message = wait_for(lambda: ctx.messages(ticket["id"]))[0]
    return ticket, message


def test_other_tenants_ticket_is_not_found(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    ticket, _ = _ticket_with_media(alice)
    for method, path, body in [("GET", f"/tickets/{ticket['id']}", None),
                               ("PUT", f"/tickets/{ticket['id']}", {"status": "open"}),
                               ("GET", f"/messages/{ticket['id']}", None),
                               ("POST", f"/messages/{ticket['id']}", {"body": "x"})]:
        response = bob.api(method, path, body)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"] == "ERR_NO_TICKET_FOUND"
    assert bob.tickets("pending", "open", "closed") == []
    assert alice.tickets("pending")[0]["status"] == "pending"  # bob's PUT changed nothing


def test_other_tenants_media_is_not_served(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    _, message = _ticket_with_media(alice)
    assert alice.api("GET", message["mediaUrl"]).status_code == 200
    response = bob.api("GET", message["mediaUrl"])
    assert response.status_code == 404
    assert response.get_json()["error"] == "ERR_NOT_FOUND"
    name = message["mediaUrl"].rsplit("/", 1)[1]
    assert bob.api("GET", f"/public/{bob.tenant_id}/{name}").status_code == 404
    assert alice.client.get(message["mediaUrl"]).status_code == 401  # no token at all


def test_other_tenants_contact_and_connection_are_not_found(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    contact = alice.api("POST", "/contacts", {"name": "Zé", "number": "5511933330000"}).get_json()
    assert bob.api("GET", f"/contacts/{contact['id']}").status_code == 404
    assert bob.api("GET", "/contacts").get_json()["contacts"] == []
    assert bob.api("GET", f"/whatsapp/{alice.whatsapp_id}").status_code == 404
    assert bob.api("POST", f"/whatsappsession/{alice.whatsapp_id}").status_code == 404
    assert bob.api("DELETE", f"/whatsappsession/{alice.whatsapp_id}").status_code == 404
    assert bob.api("GET", f"/sim/whatsapp/{alice.whatsapp_id}/sent").status_code == 404
    assert [w["id"] for w in bob.api("GET", "/whatsapp").get_json()] == [bob.whatsapp_id]


def test_other_tenants_ticket_room_is_refused(make_tenant, live_server):
    alice, bob = make_tenant(), make_tenant()
    ticket, _ = _ticket_with_media(alice)
    ws = WsClient(live_server, bob.token)
    refused = ws.subscribe(f"ticket:{ticket['id']}")
    assert refused["type"] == "error" and refused["error"] == "ERR_FORBIDDEN_ROOM"
    for room in ("tenant:1", f"tenant:{alice.tenant_id}", "ticket:abc", "everything"):
        assert ws.subscribe(room)["error"] == "ERR_FORBIDDEN_ROOM"
    ws.close()


def test_tenant_room_carries_only_that_tenants_events(make_tenant, live_server):
    alice, bob = make_tenant(), make_tenant()
    ws_bob = WsClient(live_server, bob.token)
    ws_bob.subscribe("tenant")
    alice.incoming("5511922220001", "for alice only")
    wait_for(lambda: alice.tickets("pending"))
    bob.incoming("5511922220002", "for bob")
    event = ws_bob.wait_event("message.created")
    assert event["data"]["body"] == "for bob"
    assert all(f.get("data", {}).get("tenantId", bob.tenant_id) == bob.tenant_id
               for f in ws_bob.frames if f["type"] == "event")
    ws_bob.close()
