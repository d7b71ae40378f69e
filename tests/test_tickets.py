"""Ticket actions (Izing's PUT /tickets/<id>): accept, transfer, close, reopen; list and paging."""
from helpers import WsClient, wait_for
from storage import db, tenants
from storage.models import Queue


def _ticket(ctx, number="5511977770000"):
    ctx.incoming(number, "hi")
    return wait_for(lambda: [t for t in ctx.tickets("pending", "open")
                             if t["contact"]["number"] == number and t["lastMessageAt"]])[0]


def test_accept_opens_the_ticket_for_the_caller_and_clears_unread(tenant, live_server):
    ticket = _ticket(tenant)
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    response = tenant.api("PUT", f"/tickets/{ticket['id']}", {"status": "open"})
    assert response.status_code == 200
    accepted = response.get_json()
    assert (accepted["status"], accepted["userId"], accepted["unreadMessages"]) == \
        ("open", tenant.user_id, 0)
    event = ws.wait_event("ticket.updated", lambda d: d["id"] == ticket["id"])
    assert event["data"]["status"] == "open"
    ws.close()


def test_transfer_to_another_user_and_queue(tenant):
    ticket = _ticket(tenant)
    with db.unit_of_work():
        agent = tenants.create_user(tenant.tenant_id, "Agent", "agent@x.test", "secret123")
        queue = Queue.create(tenant=tenant.tenant_id, queue="Vendas")
    response = tenant.api("PUT", f"/tickets/{ticket['id']}",
                          {"status": "open", "userId": agent.id, "queueId": queue.id})
    body = response.get_json()
    assert (body["userId"], body["queueId"]) == (agent.id, queue.id)


def test_transfer_to_another_tenants_user_is_a_404(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    ticket = _ticket(alice)
    response = alice.api("PUT", f"/tickets/{ticket['id']}", {"userId": bob.user_id})
    assert response.status_code == 404
    assert response.get_json()["error"] == "ERR_NO_USER_FOUND"


def test_reopen_a_closed_ticket(tenant):
    ticket = _ticket(tenant)
    tenant.api("PUT", f"/tickets/{ticket['id']}", {"status": "closed"})
    closed = tenant.api("GET", f"/tickets/{ticket['id']}").get_json()
    assert closed["status"] == "closed" and closed["closedAt"]
    reopened = tenant.api("PUT", f"/tickets/{ticket['id']}", {"status": "open"}).get_json()
    assert reopened["status"] == "open" and reopened["closedAt"] is None


def test_reopen_refused_while_the_contact_has_another_active_ticket(tenant):
    first = _ticket(tenant)
    tenant.api("PUT", f"/tickets/{first['id']}", {"status": "closed"})
    second = _ticket(tenant)
    assert second["id"] != first["id"]
    response = tenant.api("PUT", f"/tickets/{first['id']}", {"status": "open"})
    assert response.status_code == 409
    assert response.get_json()["error"] == "ERR_OTHER_OPEN_TICKET"


def test_list_filters_by_status_and_pages(tenant):
    for i in range(45):
        tenant.incoming(f"55119777{i:05d}", f"m{i}")
    wait_for(lambda: tenant.api("GET", "/tickets?status=pending").get_json()["count"] == 45,
             timeout=10)
    page1 = tenant.api("GET", "/tickets?status=pending&pageNumber=1").get_json()
    page2 = tenant.api("GET", "/tickets?status=pending&pageNumber=2").get_json()
    assert (len(page1["tickets"]), page1["hasMore"]) == (40, True)
    assert (len(page2["tickets"]), page2["hasMore"]) == (5, False)
    assert tenant.api("GET", "/tickets?status=open").get_json()["count"] == 0
    found = tenant.api("GET", "/tickets?searchParam=5511977700044").get_json()
    assert [t["contact"]["number"] for t in found["tickets"]] == ["5511977700044"]


def test_non_admin_sees_own_and_unassigned_pending_tickets(tenant):
    mine = _ticket(tenant, "5511977771111")
    theirs = _ticket(tenant, "5511977772222")
    with db.unit_of_work():
        agent = tenants.create_user(tenant.tenant_id, "Agent", "agent2@x.test", "secret123")
    login = tenant.client.post("/auth/login", json={"email": "agent2@x.test",
                                                     "password": "secret123"}).get_json()
    headers = {"Authorization": f"Bearer {login['token']}"}
    tenant.api("PUT", f"/tickets/{mine['id']}", {"status": "open", "userId": agent.id})
    tenant.api("PUT", f"/tickets/{theirs['id']}", {"status": "open"})
    seen = tenant.client.get("/tickets?status=open", headers=headers).get_json()
    assert [t["id"] for t in seen["tickets"]] == [mine["id"]]
    everything = tenant.client.get("/tickets?status=open&showAll=true", headers=headers)
    assert {t["id"] for t in everything.get_json()["tickets"]} == {mine["id"], theirs["id"]}


def test_messages_page_newest_first_each_page_chronological(tenant):
    ticket = _ticket(tenant)
    for i in range(59):
        tenant.incoming("5511977770000", f"p{i:02d}")
    wait_for(lambda: tenant.api("GET", f"/messages/{ticket['id']}").get_json()["count"] == 60,
             timeout=10)
    page1 = tenant.api("GET", f"/messages/{ticket['id']}?pageNumber=1").get_json()
    page2 = tenant.api("GET", f"/messages/{ticket['id']}?pageNumber=2").get_json()
    assert page1["hasMore"] and not page2["hasMore"]
    assert [m["body"] for m in page1["messages"]] == [f"p{i:02d}" for i in range(9, 59)]
    assert [m["body"] for m in page2["messages"]] == ["hi"] + [f"p{i:02d}" for i in range(9)]
    assert page1["ticket"]["id"] == ticket["id"]


def test_opening_a_conversation_clears_its_unread_counter(tenant, live_server):
    ticket = _ticket(tenant)
    tenant.incoming("5511977770000", "second")
    wait_for(lambda: tenant.api("GET", f"/tickets/{ticket['id']}").get_json()["unreadMessages"]
             == 2)
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    response = tenant.api("POST", f"/tickets/{ticket['id']}/read")
    assert response.status_code == 200 and response.get_json()["unreadMessages"] == 0
    event = ws.wait_event("ticket.updated", lambda d: d["id"] == ticket["id"])
    assert event["data"]["unreadMessages"] == 0
    assert tenant.api("GET", f"/tickets/{ticket['id']}").get_json()["status"] == "pending"
    ws.close()


def test_reading_another_tenants_ticket_is_a_404(make_tenant):
    alice, bob = make_tenant(), make_tenant()
    ticket = _ticket(alice)
    assert bob.api("POST", f"/tickets/{ticket['id']}/read").status_code == 404
    assert alice.api("GET", f"/tickets/{ticket['id']}").get_json()["unreadMessages"] == 1
