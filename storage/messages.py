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
_UNDO_INSERT = "DELETE FROM message WHERE id = ?"
# The outbound path (store → send → sent → acks) is written by hand for the same reason.
_INSERT_OUTBOUND = """
INSERT INTO message (id, tenant_id, ticket_id, whatsapp_id, contact_id, user_id, from_me, body,
                     ack, status, media_type, media_path, media_name, quoted_message_id,
                     send_type, attempts, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'pending', ?, ?, ?, ?, ?, 0, ?, ?)"""
_TOUCH_TICKET = "UPDATE ticket SET last_message = ?, last_message_at = ?, updated_at = ? WHERE id = ?"
_MARK_SENT = """
UPDATE message SET status = 'sent', wa_message_id = ?, ack = ?, attempts = attempts + 1,
       error = NULL, updated_at = ?
 WHERE id = ? AND status <> 'sent'
RETURNING *"""
_RAISE_ACK = """
UPDATE message SET ack = ?, updated_at = ?
 WHERE whatsapp_id = ? AND wa_message_id = ? AND ack < ?
RETURNING *"""
_SEND_INSTRUCTIONS = """
SELECT m.status, m.from_me, c.number, m.body, m.media_path, m.media_name, q.wa_message_id
  FROM message m JOIN contact c ON c.id = m.contact_id
  LEFT JOIN message q ON q.id = m.quoted_message_id
 WHERE m.id = ?"""


def store_inbound(ticket_id: int, tenant_id: int, whatsapp_id: int, contact_id: int, *,
                  wa_message_id: str, body: str, from_me: bool, timestamp: int | None,
                  media_type: str | None = None, media_path: str | None = None,
                  media_name: str | None = None, quoted_wa_id: str | None = None,
                  send_type: str = "chat", ack: int = 0) -> StoredInbound | None | bool:
    """Store one message that WhatsApp delivered, exactly once, and bump its ticket: the insert
    (ignored when (tenant, whatsapp, wa_message_id) exists), then the ticket update (refused when
    the ticket is closed, which takes the insert back). Group-committed with the other ticket
    actors' messages of the same moment (:class:`storage.db.GroupCommit`).

    Returns the stored message; ``None`` for a replay of a stored WhatsApp id; ``False`` when the
    ticket is closed (the caller finds or creates another). ``timestamp``: Unix seconds.
    """
    now = utcnow()
    message_id = str(uuid.uuid4())
    status = "sent" if from_me else "received"
    last = preview(body, media_type)
    database = db.database

    def write():
        quoted_id = None
        if quoted_wa_id:
            row = database.execute_sql(db.sql(_QUOTED), (tenant_id, whatsapp_id,
                                                       quoted_wa_id)).fetchone()
            quoted_id = row[0] if row else None
        inserted = database.execute_sql(db.sql(_INSERT_MESSAGE), (
            message_id, tenant_id, ticket_id, whatsapp_id, contact_id, wa_message_id,
            from_me, body, ack, status, media_type, media_path, media_name, quoted_id,
            send_type, timestamp, db.ts(now), db.ts(now)))
        if inserted.rowcount == 0:
            return None
        bumped = database.execute_sql(db.sql(_BUMP_TICKET), (
            last, db.ts(now), db.ts(now), 0 if from_me else 1, ticket_id)).fetchone()
        if bumped is None:  # closed meanwhile: take the message back
            database.execute_sql(db.sql(_UNDO_INSERT), (message_id,))
            return False
        return quoted_id, bumped

    outcome = db.group.run(write)
    if not outcome:
        return outcome
    quoted_id, bumped = outcome
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

    ``quoted_message_id`` must be a message of the same ticket, else NotFound. Returns the row as
    stored (built in memory: nothing is read back).
    """
    now = utcnow()
    message_id = str(uuid.uuid4())
    with db.write():
        if quoted_message_id and not Message.select().where(
                Message.id == quoted_message_id, Message.ticket == ticket.id).exists():
            raise NotFound("quoted message not found", "ERR_NO_QUOTED_MESSAGE")
        db.database.execute_sql(db.sql(_INSERT_OUTBOUND), (
            message_id, ticket.tenant_id, ticket.id, ticket.whatsapp_id, ticket.contact_id,
            user_id, True, body, media_type, media_path, media_name, quoted_message_id,
            send_type, db.ts(now), db.ts(now)))
        db.database.execute_sql(db.sql(_TOUCH_TICKET), (
            preview(body, media_type), db.ts(now), db.ts(now), ticket.id))
    return Message(id=message_id, tenant=ticket.tenant_id, ticket=ticket.id,
                   whatsapp=ticket.whatsapp_id, contact=ticket.contact_id, user=user_id,
                   from_me=True, body=body, ack=0, status="pending", media_type=media_type,
                   media_path=media_path, media_name=media_name,
                   quoted_message=quoted_message_id, send_type=send_type, attempts=0,
                   created_at=now, updated_at=now)


def send_instructions(message_id: str) -> tuple | None:
    """``(status, from_me, number, body, media_path, media_name, quoted_wa_id)`` of a message,
    or None: what the sender needs to hand a job to the session."""
    return db.database.execute_sql(db.sql(_SEND_INSTRUCTIONS), (message_id,)).fetchone()


def get_message(message_id: str) -> Message | None:
    return Message.get_or_none(Message.id == message_id)


def mark_sent(message_id: str, wa_message_id: str, ack: int) -> Message | None:
    """Record a successful send; returns the row, or None if it was already ``sent``."""
    with db.write():
        rows = list(Message.raw(db.sql(_MARK_SENT), wa_message_id, max(ack, 0), db.ts(utcnow()),
                                message_id))
    return rows[0] if rows else None


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
        rows = list(Message.raw(db.sql(_RAISE_ACK), ack, db.ts(utcnow()), whatsapp_id,
                                wa_message_id, ack))
        if rows:
            return True, rows[0]
        found = Message.select().where(Message.whatsapp == whatsapp_id,
                                       Message.wa_message_id == wa_message_id).exists()
        return found, None


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
