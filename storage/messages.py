"""Message transactions: idempotent inbound storage, outbound lifecycle, acks, paging.

Outbound lifecycle (seed §Saída): ``pending`` (ack 0) → ``sent`` (ack from WhatsApp, then 1..4 by
events) or, after the retries, ``failed`` (ack -1). The row is the source of truth for the queue:
:func:`pending_outbound` is what a recovery sweep re-enqueues.
"""
from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from storage import db
from storage.errors import NotFound
from storage.models import ACK_ERROR, Message, Ticket, utcnow

PAGE_SIZE = 50


@dataclass(frozen=True)
class StoredInbound:
    """A stored inbound message and the ticket's counters right after it (from ``RETURNING``)."""

    message: Message
    status: str
    unread_messages: int
    user_id: int | None
    queue_id: int | None


class _Undo(Exception):
    """Raised inside a write to roll it back (the message was a duplicate)."""


def preview(body: str, media_type: str | None) -> str:
    """The ticket list's ``lastMessage``: the text, or the media kind for a bare attachment."""
    return (body or (f"[{media_type}]" if media_type else ""))[:255]


def exists(tenant_id: int, whatsapp_id: int, wa_message_id: str) -> bool:
    return Message.select().where(Message.tenant == tenant_id, Message.whatsapp == whatsapp_id,
                                  Message.wa_message_id == wa_message_id).exists()


# The inbound path is the hottest code in the service: its statements are written once, by hand,
# because building them with peewee's query builder took ~60 % of the time per message.
_BUMP_TICKET = """
UPDATE ticket SET last_message = ?, last_message_at = ?, updated_at = ?,
       unread_messages = unread_messages + ?
 WHERE id = ? AND status <> 'closed'
RETURNING status, unread_messages, user_id, queue_id"""
_INSERT_MESSAGE = """
INSERT INTO message (id, tenant_id, ticket_id, whatsapp_id, contact_id, wa_message_id, from_me,
                     body, ack, status, media_type, media_path, media_name, quoted_message_id,
                     send_type, attempts, timestamp, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
ON CONFLICT DO NOTHING"""
_QUOTED = "SELECT id FROM message WHERE tenant_id = ? AND whatsapp_id = ? AND wa_message_id = ?"


def _sql(text: str) -> str:
    return text if db.is_sqlite() else text.replace("?", "%s")


def _ts(value: datetime.datetime):
    """A timestamp parameter: SQLite gets peewee's text format, PostgreSQL the datetime."""
    return value.isoformat(" ") if db.is_sqlite() else value


def store_inbound(ticket_id: int, tenant_id: int, whatsapp_id: int, contact_id: int, *,
                  wa_message_id: str, body: str, from_me: bool, timestamp: int | None,
                  media_type: str | None = None, media_path: str | None = None,
                  media_name: str | None = None, quoted_wa_id: str | None = None,
                  send_type: str = "chat", ack: int = 0) -> StoredInbound | None | bool:
    """Store one message that WhatsApp delivered, exactly once, and bump its ticket — one
    transaction: the ticket update (refused when the ticket is closed), then the insert (ignored
    when (tenant, whatsapp, wa_message_id) exists, which rolls the update back).

    Returns the stored message; ``None`` for a replay of a stored WhatsApp id; ``False`` when the
    ticket is closed (the caller finds or creates another). ``timestamp``: Unix seconds.
    """
    now = utcnow()
    message_id = str(uuid.uuid4())
    status = "sent" if from_me else "received"
    last = preview(body, media_type)
    database = db.database
    try:
        with db.write():
            quoted_id = None
            if quoted_wa_id:
                row = database.execute_sql(_sql(_QUOTED), (tenant_id, whatsapp_id,
                                                           quoted_wa_id)).fetchone()
                quoted_id = row[0] if row else None
            bumped = database.execute_sql(_sql(_BUMP_TICKET), (
                last, _ts(now), _ts(now), 0 if from_me else 1, ticket_id)).fetchone()
            if bumped is None:
                return False
            inserted = database.execute_sql(_sql(_INSERT_MESSAGE), (
                message_id, tenant_id, ticket_id, whatsapp_id, contact_id, wa_message_id,
                from_me, body, ack, status, media_type, media_path, media_name, quoted_id,
                send_type, timestamp, _ts(now), _ts(now)))
            if inserted.rowcount == 0:
                raise _Undo()
    except _Undo:
        return None
    message = Message(id=message_id, tenant=tenant_id, ticket=ticket_id, whatsapp=whatsapp_id,
                      contact=contact_id, wa_message_id=wa_message_id, from_me=from_me, body=body,
                      ack=ack, status=status, media_type=media_type, media_path=media_path,
                      media_name=media_name, quoted_message=quoted_id, send_type=send_type,
                      attempts=0, timestamp=timestamp, created_at=now, updated_at=now)
    return StoredInbound(message, *bumped)


def store_outbound(ticket: Ticket, *, body: str, user_id: int | None, send_type: str = "chat",
                   media_type: str | None = None, media_path: str | None = None,
                   media_name: str | None = None, quoted_message_id: str | None = None) -> Message:
    """Store a message to send as ``pending``, ack 0, and bump the ticket. Commits before return.

    ``quoted_message_id`` must be a message of the same ticket, else NotFound.
    """
    with db.write():
        if quoted_message_id and not Message.select().where(
                Message.id == quoted_message_id, Message.ticket == ticket.id).exists():
            raise NotFound("quoted message not found", "ERR_NO_QUOTED_MESSAGE")
        now = utcnow()
        message = Message.create(
            tenant=ticket.tenant_id, ticket=ticket.id, whatsapp=ticket.whatsapp_id,
            contact=ticket.contact_id, user=user_id, from_me=True, body=body, ack=0,
            status="pending", media_type=media_type, media_path=media_path,
            media_name=media_name, quoted_message=quoted_message_id, send_type=send_type,
            created_at=now, updated_at=now)
        Ticket.update(last_message=preview(body, media_type), last_message_at=now,
                      updated_at=now).where(Ticket.id == ticket.id).execute()
    return message


def get_message(message_id: str) -> Message | None:
    return Message.get_or_none(Message.id == message_id)


def mark_sent(message_id: str, wa_message_id: str, ack: int) -> Message | None:
    """Record a successful send; returns the row, or None if it was already final."""
    with db.write():
        message = Message.get_or_none(Message.id == message_id)
        if message is None or message.status == "sent":
            return None
        message.status = "sent"
        message.wa_message_id = wa_message_id
        message.ack = max(ack, 0)
        message.attempts += 1
        message.error = None
        message.updated_at = utcnow()
        message.save()
        return message


def mark_attempt_failed(message_id: str, error: str, final: bool) -> Message | None:
    """Count a failed attempt; ``final`` makes it ``failed`` with ack -1. None if already final."""
    with db.write():
        message = Message.get_or_none(Message.id == message_id)
        if message is None or message.status != "pending":
            return None
        message.attempts += 1
        message.error = error[:500]
        if final:
            message.status = "failed"
            message.ack = ACK_ERROR
        message.updated_at = utcnow()
        message.save()
        return message


def apply_ack(whatsapp_id: int, wa_message_id: str, ack: int) -> tuple[bool, Message | None]:
    """Raise a sent message's ack (acks only move forward).

    Returns ``(found, row)``: ``found`` False when no message has this WhatsApp id yet (the ack
    overtook the sender's record); ``row`` None when the ack did not change anything.
    """
    with db.write():
        message = Message.get_or_none(Message.whatsapp == whatsapp_id,
                                      Message.wa_message_id == wa_message_id)
        if message is None:
            return False, None
        if ack <= message.ack:
            return True, None
        message.ack = ack
        message.updated_at = utcnow()
        message.save(only=[Message.ack, Message.updated_at])
        return True, message


def retry_failed(tenant_id: int, message_id: str) -> Message:
    """Put a failed outbound message back to ``pending`` (attempts reset). NotFound otherwise."""
    with db.write():
        message = Message.get_or_none(Message.id == message_id, Message.tenant == tenant_id,
                                      Message.from_me == True, Message.status == "failed")  # noqa: E712
        if message is None:
            raise NotFound("failed message not found", "ERR_NO_MESSAGE_FOUND")
        message.status, message.ack, message.attempts, message.error = "pending", 0, 0, None
        message.updated_at = utcnow()
        message.save()
        return message


def pending_outbound(older_than: datetime.datetime | None = None, limit: int = 1000) -> list[tuple]:
    """``(message_id, whatsapp_id, tenant_id)`` of outbound messages still ``pending``, oldest first."""
    query = (Message.select(Message.id, Message.whatsapp, Message.tenant)
             .where(Message.status == "pending", Message.from_me == True))  # noqa: E712
    if older_than is not None:
        query = query.where(Message.updated_at < older_than)
    return list(query.order_by(Message.created_at).limit(limit).tuples())


def list_messages(tenant_id: int, ticket_id: int, page: int = 1,
                  page_size: int = PAGE_SIZE) -> tuple[list[Message], int]:
    """A page of the ticket's messages: page 1 is the newest; each page in chronological order."""
    query = Message.select().where(Message.ticket == ticket_id, Message.tenant == tenant_id)
    count = query.count()
    rows = list(query.order_by(Message.created_at.desc(), Message.id.desc())
                .paginate(page, page_size))
    rows.reverse()
    return rows, count
