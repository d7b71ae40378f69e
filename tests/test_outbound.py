"""Outbound flow (seed §Saída): pending row → SendMessages queue → sent / retried / failed."""
import dataclasses
import io
import time

import gevent

from helpers import WsClient, wait_for
from storage import db, messages, tickets
from storage.jobs import SendJob
from storage.models import Message


def _open_ticket(ctx, number="5511911110000"):
    ctx.incoming(number, "hi")
    return wait_for(lambda: [t for t in ctx.tickets("pending") if t["lastMessageAt"]])[0]


def _message(ctx, ticket_id, message_id):
    return next(m for m in ctx.messages(ticket_id) if m["id"] == message_id)


def test_reply_is_stored_pending_then_sent(tenant):
    ticket = _open_ticket(tenant)
    response = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "Bom dia!"})
    assert response.status_code == 201
    created = response.get_json()
    assert (created["status"], created["ack"], created["fromMe"]) == ("pending", 0, True)
    sent = wait_for(lambda: tenant.sent())
    assert sent[0]["body"] == "Bom dia!"
    assert sent[0]["to"] == "5511911110000"
    row = wait_for(lambda: _message(tenant, ticket["id"], created["id"])["ack"] == 1
                   and _message(tenant, ticket["id"], created["id"]))
    assert row["status"] == "sent"
    assert row["messageId"] == sent[0]["id"]
    assert row["attempts"] == 1


def test_status_and_acks_reach_the_socket(tenant, live_server):
    ticket = _open_ticket(tenant)
    ws = WsClient(live_server, tenant.token)
    ws.subscribe(f"ticket:{ticket['id']}")
    created = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "acks"}).get_json()
    ws.wait_event("message.created", lambda d: d["id"] == created["id"])
    ws.wait_event("message.updated", lambda d: d["id"] == created["id"] and d["status"] == "sent")
    ws.wait_event("message.ack", lambda d: d["id"] == created["id"] and d["ack"] == 1)
    wa_id = wait_for(lambda: tenant.sent())[0]["id"]
    for ack in (2, 3):
        assert tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/ack",
                          {"id": wa_id, "ack": ack}).status_code == 202
        ws.wait_event("message.ack", lambda d, a=ack: d["id"] == created["id"] and d["ack"] == a)
    assert _message(tenant, ticket["id"], created["id"])["ack"] == 3
    ws.close()


def test_two_failures_then_sent_on_the_third_attempt(tenant):
    ticket = _open_ticket(tenant)
    tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/faults", {"failSends": 2})
    created = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "third time"}).get_json()
    row = wait_for(lambda: (m := _message(tenant, ticket["id"], created["id"]))["status"] == "sent"
                   and m)
    assert row["attempts"] == 3
    assert [s["body"] for s in tenant.sent()] == ["third time"]


def test_five_failures_end_failed_after_three_retries(tenant, live_server):
    ticket = _open_ticket(tenant)
    ws = WsClient(live_server, tenant.token)
    ws.subscribe("tenant")
    tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/faults", {"failSends": 5})
    created = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "never"}).get_json()
    failed = ws.wait_event("message.updated",
                           lambda d: d["id"] == created["id"] and d["status"] == "failed")
    assert failed["data"]["ack"] == -1
    assert failed["data"]["attempts"] == 4  # the first try and 3 retries
    updates = [f for f in ws.frames if f.get("event") == "message.updated"]
    assert [u["data"]["attempts"] for u in updates] == [1, 2, 3, 4]
    assert tenant.sent() == []
    ws.close()


def test_quoted_reply_carries_the_quoted_whatsapp_id(tenant):
    wa_id = tenant.incoming("5511911110001", "question?")
    ticket = tenant.pending_ticket()
    quoted = wait_for(lambda: tenant.messages(ticket["id"]))[0]
    response = tenant.api("POST", f"/messages/{ticket['id']}",
                          {"body": "answer", "quotedMsgId": quoted["id"]})
    assert response.get_json()["quotedMsgId"] == quoted["id"]
    assert wait_for(lambda: tenant.sent())[0]["quotedMsgId"] == wa_id


def test_uploaded_media_is_sent_and_stored_in_the_tenant_folder(tenant):
    ticket = _open_ticket(tenant)
    response = tenant.api("POST", f"/messages/{ticket['id']}",
                          data={"medias": (io.BytesIO(b"GIF89a-bytes"), "pic.gif"),
                                "body": "see this"}, content_type="multipart/form-data")
    assert response.status_code == 201
    created = response.get_json()
    assert created["mediaType"] == "image"
    assert created["mediaUrl"].startswith(f"/public/{tenant.tenant_id}/")
    sent = wait_for(lambda: tenant.sent())[0]
    assert sent["media"]["size"] == len(b"GIF89a-bytes")
    assert sent["body"] == "see this"


def test_throttle_spaces_sends_of_one_number(make_tenant, runtime):
    runtime.system.config = dataclasses.replace(runtime.system.config, send_rate=600,
                                                send_jitter=0.0)
    ctx = make_tenant()  # its sender reads the new config
    ticket = _open_ticket(ctx)
    for i in range(4):
        ctx.api("POST", f"/messages/{ticket['id']}", {"body": f"t{i}"})
    start = time.monotonic()
    wait_for(lambda: len(ctx.sent()) == 4, timeout=5)
    elapsed = time.monotonic() - start
    # 600/min = one send per 0.1 s: four sends need at least 0.3 s
    assert elapsed >= 0.25, elapsed
    assert [s["body"] for s in ctx.sent()] == ["t0", "t1", "t2", "t3"]


def test_pending_row_without_a_job_is_sent_by_the_recovery_sweep(tenant, runtime):
    ticket = _open_ticket(tenant)
    with db.unit_of_work():
        row = messages.store_outbound(tickets.load_ticket(ticket["id"]), body="orphan",
                                      user_id=tenant.user_id)
    gevent.sleep(0.1)
    assert tenant.sent() == []  # stored, never enqueued: as if the process died right here
    assert runtime.system.sweep() == 1
    wait_for(lambda: [s["body"] for s in tenant.sent()] == ["orphan"])

    def status():  # WhatsApp has it first; the sender records it a moment later
        with db.unit_of_work():
            return Message.get_by_id(row.id).status
    wait_for(lambda: status() == "sent")


def test_a_job_for_an_already_sent_message_sends_nothing(tenant, runtime):
    ticket = _open_ticket(tenant)
    created = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "once"}).get_json()
    wait_for(lambda: _message(tenant, ticket["id"], created["id"])["status"] == "sent")
    runtime.system.enqueue(SendJob(created["id"], tenant.whatsapp_id, tenant.tenant_id))
    gevent.sleep(0.2)
    assert [s["body"] for s in tenant.sent()] == ["once"]


def test_reply_to_a_closed_ticket_is_refused(tenant):
    ticket = _open_ticket(tenant)
    tenant.api("PUT", f"/tickets/{ticket['id']}", {"status": "closed"})
    response = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "late"})
    assert response.status_code == 409
    assert response.get_json()["error"] == "ERR_TICKET_CLOSED"


def test_a_send_the_session_never_answers_counts_as_a_failed_attempt(tenant, runtime):
    runtime.system.config = dataclasses.replace(runtime.system.config, send_timeout=0.1)
    runtime.system.sender(tenant.whatsapp_id).stop()  # its replacement reads the new config
    ticket = _open_ticket(tenant)
    tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/faults", {"hangSends": True})
    created = tenant.api("POST", f"/messages/{ticket['id']}", {"body": "stuck"}).get_json()
    row = wait_for(lambda: (m := _message(tenant, ticket["id"], created["id"]))["attempts"] >= 1
                   and m, timeout=5)
    assert row["status"] == "pending" and row["error"] == "the session did not answer"
    tenant.api("POST", f"/sim/whatsapp/{tenant.whatsapp_id}/faults", {"hangSends": False})
    wait_for(lambda: _message(tenant, ticket["id"], created["id"])["status"] == "sent")
