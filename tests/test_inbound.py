"""Inbound flow (seed §Entrada): find-or-create ticket, idempotent storage, events after commit."""
import base64

import gevent

from helpers import wait_for
from storage import db
from storage.models import Message, Ticket


def _ticket_of(ctx, number):
    """The contact's active ticket once its first message is stored: the ticket row commits
    first (``ticket.created``), the message a moment later (``message.created``)."""
    tickets = [t for t in ctx.tickets("pending", "open")
               if t["contact"]["number"] == number and t["lastMessageAt"]]
    return tickets[0] if tickets else None


def _message_count(ctx):
    with db.unit_of_work():
        return Message.select().where(Message.tenant == ctx.tenant_id).count()


def test_first_message_creates_pending_ticket_with_contact(tenant):
    tenant.incoming("5511988887777", "Olá", name="Maria")
    ticket = wait_for(lambda: _ticket_of(tenant, "5511988887777"))
    assert ticket["status"] == "pending"
    assert ticket["unreadMessages"] == 1
    assert ticket["lastMessage"] == "Olá"
    assert ticket["contact"]["name"] == "Maria"
    assert ticket["whatsappId"] == tenant.whatsapp_id


def test_second_message_reuses_the_ticket(tenant):
    tenant.incoming("5511900000001", "one")
    first = wait_for(lambda: _ticket_of(tenant, "5511900000001"))
    tenant.incoming("5511900000001", "two")
    wait_for(lambda: len(tenant.messages(first["id"])) == 2)
    tickets = tenant.tickets("pending", "open", "closed")
    assert [t["id"] for t in tickets] == [first["id"]]
    assert _ticket_of(tenant, "5511900000001")["unreadMessages"] == 2


def test_closed_ticket_is_not_reused(tenant):
    tenant.incoming("5511900000002", "before")
    first = wait_for(lambda: _ticket_of(tenant, "5511900000002"))
    assert tenant.api("PUT", f"/tickets/{first['id']}", {"status": "closed"}).status_code == 200
    tenant.incoming("5511900000002", "after")
    second = wait_for(lambda: _ticket_of(tenant, "5511900000002"))
    assert second["id"] != first["id"]
    assert second["status"] == "pending"
    assert [m["body"] for m in tenant.messages(second["id"])] == ["after"]
    assert [m["body"] for m in tenant.messages(first["id"])] == ["before"]


def test_same_whatsapp_id_twice_is_stored_once(tenant):
    tenant.incoming("5511900000003", "hi", id="WA-DUPLICATE-1")
    tenant.incoming("5511900000003", "hi", id="WA-DUPLICATE-1")
    ticket = wait_for(lambda: _ticket_of(tenant, "5511900000003"))
    gevent.sleep(0.2)
    assert len(tenant.messages(ticket["id"])) == 1
    assert _ticket_of(tenant, "5511900000003")["unreadMessages"] == 1


def test_twenty_concurrent_first_messages_make_one_ticket(tenant):
    jobs = [gevent.spawn(tenant.incoming, "5511900000004", f"m{i}") for i in range(20)]
    gevent.joinall(jobs, raise_error=True)
    wait_for(lambda: _message_count(tenant) == 20)
    with db.unit_of_work():
        tickets = list(Ticket.select().where(Ticket.tenant == tenant.tenant_id))
    assert len(tickets) == 1
    assert tickets[0].unread_messages == 20
    assert sorted(m["body"] for m in tenant.messages(tickets[0].id)) == sorted(
        f"m{i}" for i in range(20))


def test_messages_of_one_contact_keep_arrival_order(tenant):
    for i in range(30):
        tenant.incoming("5511900000005", f"n{i:02d}")
    wait_for(lambda: _message_count(tenant) == 30)
    ticket = _ticket_of(tenant, "5511900000005")
    assert [m["body"] for m in tenant.messages(ticket["id"])] == [f"n{i:02d}" for i in range(30)]


def test_incoming_media_is_saved_under_the_tenant_folder(tenant, settings):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    tenant.incoming("5511900000006", "", media={"mimetype": "image/png", "filename": "photo.png",
                                                "data": base64.b64encode(png).decode()})
    ticket = wait_for(lambda: _ticket_of(tenant, "5511900000006"))
    message = wait_for(lambda: tenant.messages(ticket["id"]))[0]
    assert message["mediaType"] == "image"
    assert message["mediaUrl"].startswith(f"/public/{tenant.tenant_id}/")
    assert ticket["lastMessage"] == "[image]"
    served = tenant.api("GET", message["mediaUrl"])
    assert served.status_code == 200
    assert served.data == png


def test_media_then_text_keeps_order(tenant):
    data = base64.b64encode(b"%PDF-1.4 fake").decode()
    tenant.incoming("5511900000007", "doc", media={"mimetype": "application/pdf",
                                                   "filename": "a.pdf", "data": data})
    tenant.incoming("5511900000007", "after the document")
    wait_for(lambda: _message_count(tenant) == 2)
    ticket = _ticket_of(tenant, "5511900000007")
    bodies = [(m["body"], m["mediaType"]) for m in tenant.messages(ticket["id"])]
    assert bodies == [("doc", "document"), ("after the document", None)]
