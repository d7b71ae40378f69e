"""Rows → camelCase JSON dicts shaped like Izing's API (the REST answers and the socket events).

Times are ISO-8601 UTC strings with microseconds ending in ``Z`` (``createdAt``; the database
orders messages to the microsecond, so clients can too) except ``lastMessageAt``, which Izing sends
as Unix milliseconds.
"""
from __future__ import annotations

import datetime

from storage.models import Contact, Message, Ticket, User, Whatsapp


def iso(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def millis(value: datetime.datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def contact_json(contact: Contact) -> dict:
    return {
        "id": contact.id,
        "name": contact.name,
        "number": contact.number,
        "email": contact.email,
        "profilePicUrl": contact.profile_pic_url,
        "isGroup": contact.is_group,
        "tenantId": contact.tenant_id,
        "createdAt": iso(contact.created_at),
    }


def ticket_json(ticket: Ticket, contact: Contact | None = None) -> dict:
    """``contact`` defaults to ``ticket.contact`` (one more query unless it was joined)."""
    contact = contact or ticket.contact
    return {
        "id": ticket.id,
        "status": ticket.status,
        "unreadMessages": ticket.unread_messages,
        "lastMessage": ticket.last_message,
        "lastMessageAt": millis(ticket.last_message_at),
        "whatsappId": ticket.whatsapp_id,
        "userId": ticket.user_id,
        "queueId": ticket.queue_id,
        "contactId": ticket.contact_id,
        "tenantId": ticket.tenant_id,
        "isGroup": ticket.is_group,
        "contact": {"id": contact.id, "name": contact.name, "number": contact.number,
                    "profilePicUrl": contact.profile_pic_url},
        "createdAt": iso(ticket.created_at),
        "updatedAt": iso(ticket.updated_at),
        "closedAt": iso(ticket.closed_at),
    }


def media_url(message: Message) -> str | None:
    """``/public/<tenantId>/<file>``: served only to users of that tenant."""
    return f"/public/{message.media_path}" if message.media_path else None


def message_json(message: Message) -> dict:
    return {
        "id": message.id,
        "ticketId": message.ticket_id,
        "contactId": message.contact_id,
        "whatsappId": message.whatsapp_id,
        "tenantId": message.tenant_id,
        "userId": message.user_id,
        "messageId": message.wa_message_id,
        "body": message.body,
        "fromMe": message.from_me,
        "ack": message.ack,
        "status": message.status,
        "mediaUrl": media_url(message),
        "mediaType": message.media_type,
        "mediaName": message.media_name,
        "quotedMsgId": message.quoted_message_id,
        "sendType": message.send_type,
        "attempts": message.attempts,
        "error": message.error,
        "timestamp": message.timestamp,
        "createdAt": iso(message.created_at),
        "updatedAt": iso(message.updated_at),
    }


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "profile": user.profile,
        "tenantId": user.tenant_id,
    }


def whatsapp_json(whatsapp: Whatsapp) -> dict:
    return {
        "id": whatsapp.id,
        "name": whatsapp.name,
        "status": whatsapp.status,
        "qrcode": whatsapp.qrcode,
        "number": whatsapp.number,
        "retries": whatsapp.retries,
        "isDefault": whatsapp.is_default,
        "tenantId": whatsapp.tenant_id,
        "createdAt": iso(whatsapp.created_at),
        "updatedAt": iso(whatsapp.updated_at),
    }
