"""The small API additions the dashboard needs: users, queues, retry of a failed message, the QR
PNG, admins' "mine" filter, search by message text, and the static files."""
import io

import png

from storage import db, tenants
from helpers import WsClient, wait_for


def _ticket(tenant, number="5511966660000", body="hi"):
    tenant.incoming(number, body)
    return wait_for(lambda: [t for t in tenant.tickets("pending", "open")
                             if t["contact"]["number"] == number])[0]


def _agent(tenant, email):
    with db.unit_of_work():
        user = tenants.create_user(tenant.tenant_id, "Agent", email, "secret123")
    login = tenant.client.post("/auth/login", json={"email": email, "password": "secret123"})
    return user, {"Authorization": f"Bearer {login.get_json()['token']}"}


def test_users_lists_only_the_callers_tenant(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    _agent(alice, "agent@alice.test")
    body = alice.api("GET", "/users").get_json()
    assert body["count"] == 2 and not body["hasMore"]
    assert {u["email"] for u in body["users"]} == {alice.email, "agent@alice.test"}
    assert bob.email not in {u["email"] for u in body["users"]}
    assert "passwordHash" not in body["users"][0] and "password_hash" not in body["users"][0]


def test_users_me_names_the_tenant(make_tenant):
    alice = make_tenant("Padaria Alice")
    me = alice.api("GET", "/users/me").get_json()
    assert (me["id"], me["tenant"]) == (alice.user_id, {"id": alice.tenant_id,
                                                        "name": "Padaria Alice"})


def test_queues_are_created_by_admins_and_listed_per_tenant(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    created = alice.api("POST", "/queue", {"queue": "Vendas"})
    assert created.status_code == 201 and created.get_json()["queue"] == "Vendas"
    assert [q["queue"] for q in alice.api("GET", "/queue").get_json()] == ["Vendas"]
    assert bob.api("GET", "/queue").get_json() == []
    _, agent = _agent(alice, "agent2@alice.test")
    refused = alice.client.post("/queue", json={"queue": "X"}, headers=agent)
    assert refused.status_code == 403


def test_retry_re_enqueues_a_failed_message_until_it_is_sent(tenant, live_server):
    ticket = _ticket(tenant)
    tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/faults", {"failSends": 4})
    message = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "again"}).get_json()
    wait_for(lambda: _message(tenant, ticket, message["id"])["status"] == "failed",
             message="failed after the retries")
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    retried = tenant.api("POST", f"/messages/{ticket['id']}/{message['id']}/retry")
    assert retried.status_code == 200
    assert (retried.get_json()["status"], retried.get_json()["ack"]) == ("pending", 0)
    ws.wait_event("message.updated", lambda d: d["id"] == message["id"]
                  and d["status"] == "pending")
    ws.wait_event("message.updated", lambda d: d["id"] == message["id"] and d["status"] == "sent")
    assert [s["body"] for s in tenant.sent()] == ["again"]
    ws.close()


def _message(tenant, ticket, message_id):
    return next(m for m in tenant.messages(ticket["id"]) if m["id"] == message_id)


def test_retry_refuses_a_message_that_did_not_fail_and_another_tenants(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    ticket = _ticket(alice)
    inbound = alice.messages(ticket["id"])[0]
    response = alice.api("POST", f"/messages/{ticket['id']}/{inbound['id']}/retry")
    assert (response.status_code, response.get_json()["error"]) == (404, "ERR_NO_MESSAGE_FOUND")
    response = bob.api("POST", f"/messages/{ticket['id']}/{inbound['id']}/retry")
    assert (response.status_code, response.get_json()["error"]) == (404, "ERR_NO_TICKET_FOUND")


def test_qrcode_png_renders_the_waiting_qr(make_tenant, runtime):
    runtime.network.pair_delay = -1  # nobody scans: the QR keeps waiting
    alice, bob = make_tenant(start=False), make_tenant(start=False)
    none = alice.api("GET", f"/whatsapp/{alice.whatsapp_id}/qrcode.png")
    assert (none.status_code, none.get_json()["error"]) == (404, "ERR_NO_QRCODE")
    alice.api("POST", f"/whatsappsession/{alice.whatsapp_id}")
    wait_for(lambda: alice.api("GET", f"/whatsapp/{alice.whatsapp_id}").get_json()["qrcode"])
    response = alice.api("GET", f"/whatsapp/{alice.whatsapp_id}/qrcode.png")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    width, height, _, _ = png.Reader(file=io.BytesIO(response.data)).read()
    assert width == height and width >= 200
    assert bob.api("GET", f"/whatsapp/{alice.whatsapp_id}/qrcode.png").status_code == 404


def test_admin_can_ask_for_only_their_tickets(tenant):
    mine, theirs = _ticket(tenant, "5511966661111"), _ticket(tenant, "5511966662222")
    agent, _ = _agent(tenant, "agent3@x.test")
    tenant.api("PUT", f"/tickets/{mine['id']}", {"status": "open"})
    tenant.api("PUT", f"/tickets/{theirs['id']}", {"status": "open", "userId": agent.id})
    everything = tenant.api("GET", "/tickets?status=open").get_json()["tickets"]
    assert {t["id"] for t in everything} == {mine["id"], theirs["id"]}
    only_mine = tenant.api("GET", "/tickets?status=open&showAll=false").get_json()["tickets"]
    assert [t["id"] for t in only_mine] == [mine["id"]]


def test_search_matches_message_text(tenant):
    wanted = _ticket(tenant, "5511966663333", "my invoice number is 4711")
    _ticket(tenant, "5511966664444", "hello")
    found = tenant.api("GET", "/tickets?searchParam=invoice").get_json()["tickets"]
    assert [t["id"] for t in found] == [wanted["id"]]


def test_root_redirects_to_the_dashboard_and_modules_are_javascript(client):
    root = client.get("/")
    assert root.status_code == 302 and root.headers["Location"].endswith("/static/index.html")
    assert client.get("/static/index.html").status_code == 200
    module = client.get("/static/js/main.js")
    assert module.status_code == 200 and "javascript" in module.headers["Content-Type"]
