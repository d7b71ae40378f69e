"""TicketActor: one per open or pending ticket, started on demand, stopped when idle.

It owns the ticket's row and its message order: every inbound and outbound message of the ticket
is stored here, one after the other (seed §Entrada "Persistência", §Saída "Queue Injection"), and
accept / transfer / close / reopen happen here too, so they never interleave with a message.
"""
from __future__ import annotations

import logging
import os
import random

from actors import events
from actors.base import Actor, handles
from actors.messages import (IdleCheck, InboundMessage, MarkRead, Reroute, RetryMessage,
                             SendMessage, UpdateTicket)
from storage import db, media, messages, tickets
from storage.errors import NotFound
from storage.jobs import SendJob
from storage.serialize import message_json, ticket_json

log = logging.getLogger(__name__)


class TicketActor(Actor):
    def __init__(self, system, ticket_id: int) -> None:
        super().__init__()
        self.system = system
        self.ticket_id = ticket_id
        self.row = None
        self.busy = True

    def __str__(self) -> str:
        return f"<TicketActor ticket={self.ticket_id}>"

    def on_start(self) -> None:
        self._schedule_idle_check()

    def _schedule_idle_check(self) -> None:
        idle = self.system.config.ticket_idle_seconds
        self.tell_later(idle * random.uniform(1.0, 1.2), IdleCheck())

    @handles(IdleCheck)
    def on_idle_check(self, msg: IdleCheck) -> None:
        if self.busy:
            self.busy = False
            self._schedule_idle_check()
        else:
            self.system.forget_ticket(self.ticket_id, self.actor_ref)
            self.stop()

    # --- inbound ------------------------------------------------------------------------------

    def _ticket(self):
        """The ticket row with its contact, loaded once; counters are refreshed by each write."""
        if self.row is None:
            with db.unit_of_work():
                self.row = tickets.load_ticket(self.ticket_id)
        return self.row

    @handles(InboundMessage)
    def on_inbound(self, msg: InboundMessage) -> None:
        """Store one WhatsApp message exactly once; save its media under public/<tenantId>/."""
        self.busy = True
        wa = msg.message
        ticket = self._ticket()
        media_path = media_type = media_name = None
        if wa.media is not None:
            media_type = media.media_type_of(wa.media.mimetype)
            if wa.media.data is not None:
                with db.unit_of_work():
                    if messages.exists(msg.tenant_id, msg.whatsapp_id, wa.wa_id):
                        return  # a replay: do not write the file again
                media_name = wa.media.filename
                media_path = media.save(self.system.config.public_dir, msg.tenant_id,
                                        wa.media.data, wa.media.filename, wa.media.mimetype)
        stored = messages.store_inbound(
            self.ticket_id, msg.tenant_id, msg.whatsapp_id, ticket.contact_id,
            wa_message_id=wa.wa_id, body=wa.body, from_me=wa.from_me, timestamp=wa.timestamp,
            media_type=media_type, media_path=media_path, media_name=media_name,
            quoted_wa_id=wa.quoted_wa_id, send_type=msg.send_type)
        if not stored:
            if stored is None:
                self.system.metrics.inbound_replayed.inc()
            if media_path:
                _remove(self.system.config.public_dir, media_path)
            if stored is False:  # the ticket was closed meanwhile: find or create a new one
                self.row = None
                self.system.session(msg.whatsapp_id).tell(Reroute(wa, self.ticket_id))
            return
        self.system.metrics.inbound_stored.inc()
        message = stored.message
        ticket.status, ticket.unread_messages = stored.status, stored.unread_messages
        ticket.user_id, ticket.queue_id = stored.user_id, stored.queue_id
        ticket.last_message = messages.preview(message.body, message.media_type)
        ticket.last_message_at = ticket.updated_at = message.created_at
        ticket_data = ticket_json(ticket, ticket.contact)
        events.publish(self.system, msg.tenant_id, "message.created",
                       dict(message_json(message), ticket=ticket_data), self.ticket_id)

    def on_event_error(self, message, exc: Exception) -> None:
        """A message that could not be stored because the database is down is tried again, never
        dropped; one that can never be stored (bad data) is logged, not retried forever."""
        if isinstance(message, InboundMessage):
            if db.is_transient(exc):
                self.tell_later(random.uniform(1.0, 3.0), message)
            else:
                log.error("inbound %s cannot be stored: %r", message.message.wa_id, exc)

    # --- outbound -----------------------------------------------------------------------------

    @handles(SendMessage)
    def on_send(self, msg: SendMessage) -> dict:
        """Store as pending (ack 0), commit, enqueue ``SendMessages``; returns the message JSON."""
        self.busy = True
        ticket = self._ticket()
        with db.unit_of_work():
            message = messages.store_outbound(
                ticket, body=msg.body, user_id=msg.user_id, send_type=msg.send_type,
                media_type=msg.media_type, media_path=msg.media_path, media_name=msg.media_name,
                quoted_message_id=msg.quoted_msg_id)
        ticket.last_message = messages.preview(message.body, message.media_type)
        ticket.last_message_at = ticket.updated_at = message.created_at
        self.system.enqueue(SendJob(message.id, ticket.whatsapp_id, ticket.tenant_id))
        data = message_json(message)
        ticket_data = ticket_json(ticket, ticket.contact)
        events.publish(self.system, ticket.tenant_id, "message.created",
                       dict(data, ticket=ticket_data), self.ticket_id)
        return data

    # --- accept / transfer / close / reopen ------------------------------------------------------

    @handles(MarkRead)
    def on_read(self, msg: MarkRead) -> dict:
        """Unread to 0; ``ticket.updated`` only when it changed (opening twice says nothing)."""
        self.busy = True
        with db.unit_of_work():
            ticket, changed = tickets.mark_read(msg.tenant_id, self.ticket_id)
        self.row = ticket
        data = ticket_json(ticket, ticket.contact)
        if changed:
            events.publish(self.system, ticket.tenant_id, "ticket.updated", data, self.ticket_id)
        return data

    @handles(UpdateTicket)
    def on_update(self, msg: UpdateTicket) -> dict:
        self.busy = True
        with db.unit_of_work():
            ticket = self.row = tickets.update_ticket(
                msg.tenant_id, self.ticket_id, msg.status, msg.user_id, msg.queue_id, msg.fields)
        data = ticket_json(ticket)
        events.publish(self.system, ticket.tenant_id, "ticket.updated", data, self.ticket_id)
        return data

    @handles(RetryMessage)
    def on_retry(self, msg: RetryMessage) -> dict:
        """Re-enqueue a failed outbound message of this ticket (``pending``, ack 0, attempts 0)."""
        self.busy = True
        with db.unit_of_work():
            found = messages.get_message(msg.message_id)
            if found is None or found.ticket_id != self.ticket_id:
                raise NotFound("failed message not found", "ERR_NO_MESSAGE_FOUND")
            message = messages.retry_failed(msg.tenant_id, msg.message_id)
        self.system.enqueue(SendJob(message.id, message.whatsapp_id, message.tenant_id))
        data = message_json(message)
        events.publish(self.system, message.tenant_id, "message.updated", data, self.ticket_id)
        return data


def _remove(public_dir: str, media_path: str) -> None:
    try:
        os.remove(os.path.join(public_dir, media_path))
    except OSError:
        pass
