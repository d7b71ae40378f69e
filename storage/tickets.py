"""Ticket and contact queries and transactions (FindOrCreateTicket, accept/transfer/close/reopen).

Every function that answers a caller takes ``tenant_id`` and filters on it: another tenant's ticket
raises :class:`~storage.errors.NotFound`, exactly like a missing one.
"""
from __future__ import annotations

import datetime

import peewee as pw

from storage import db
from storage.errors import Conflict, Invalid, NotFound
from storage.models import Contact, Message, Queue, Ticket, User, Whatsapp, utcnow

PAGE_SIZE = 40  # Izing's ticket page size


def upsert_contact(tenant_id: int, number: str, name: str | None = None,
                   is_group: bool = False) -> int:
    """The id of the tenant's contact with ``number``, creating it if new. Call inside a write."""
    found = (Contact.select(Contact.id).where(Contact.tenant == tenant_id, Contact.number == number)
             .tuples().first())
    if found:
        return found[0]
    try:
        with db.database.atomic():
            return Contact.insert(tenant=tenant_id, number=number, name=name or number,
                                  is_group=is_group).execute()
    except pw.IntegrityError:  # another process created it first
        return (Contact.select(Contact.id)
                .where(Contact.tenant == tenant_id, Contact.number == number).tuples().get()[0])


def active_ticket_id(tenant_id: int, whatsapp_id: int, contact_id: int) -> int | None:
    row = (Ticket.select(Ticket.id)
           .where(Ticket.tenant == tenant_id, Ticket.whatsapp == whatsapp_id,
                  Ticket.contact == contact_id, Ticket.status.in_(("open", "pending")))
           .tuples().first())
    return row[0] if row else None


def find_or_create_ticket(tenant_id: int, whatsapp_id: int, contact_id: int,
                          is_group: bool = False) -> tuple[int, bool]:
    """FindOrCreateTicket: the open-or-pending ticket of (tenant, connection, contact) or a new
    ``pending`` one; closed tickets are never reused. Returns ``(ticket_id, created)``.

    Race-free across processes: the partial unique index ``ticket_one_active`` rejects a second
    active ticket, and the loser reads the winner's row. Call inside :func:`storage.db.write`.
    """
    found = active_ticket_id(tenant_id, whatsapp_id, contact_id)
    if found:
        return found, False
    now = utcnow()
    try:
        with db.database.atomic():  # a savepoint: PostgreSQL aborts the outer block otherwise
            ticket_id = Ticket.insert(tenant=tenant_id, whatsapp=whatsapp_id, contact=contact_id,
                                      status="pending", is_group=is_group, created_at=now,
                                      updated_at=now).execute()
            _attach_campaign_messages(ticket_id, whatsapp_id, contact_id, now)
            return ticket_id, True
    except pw.IntegrityError:
        found = active_ticket_id(tenant_id, whatsapp_id, contact_id)
        if found is None:
            raise
        return found, False


CAMPAIGN_CONTEXT = datetime.timedelta(days=7)  # how far back a campaign send joins the reply


def _attach_campaign_messages(ticket_id: int, whatsapp_id: int, contact_id: int,
                              now: datetime.datetime) -> None:
    """The campaign messages sent to the contact on this connection in the last
    :data:`CAMPAIGN_CONTEXT` join the ticket that the contact's answer opens: the attendant
    sees what is being answered (a campaign send itself opens no ticket). Uses the partial
    index of migration 0003; ``pending``/``cancelled`` sends stay out."""
    (Message.update(ticket=ticket_id)
     .where(Message.contact == contact_id, Message.whatsapp == whatsapp_id,
            Message.ticket.is_null(), Message.created_at > now - CAMPAIGN_CONTEXT,
            Message.send_type == "campaign", Message.status == "sent")
     .execute())


# Once per campaign send, so written by hand (peewee's two queries cost ~30 % of a send).
_ACTIVE_TICKET_OF_MESSAGE = """
SELECT t.id FROM message m
  JOIN ticket t ON t.tenant_id = m.tenant_id AND t.whatsapp_id = m.whatsapp_id
               AND t.contact_id = m.contact_id AND t.status IN ('open', 'pending')
 WHERE m.id = ? AND m.ticket_id IS NULL"""


def attach_to_active_ticket(message_id: str) -> tuple[Message, Ticket] | None:
    """A ticketless message (a campaign send) joins the open or pending ticket of its contact
    on its connection, when there is one. Returns ``(message, ticket with contact)`` or None.
    The ticket row itself is not touched (its :class:`~actors.ticket.TicketActor` owns it)."""
    found = db.database.execute_sql(db.sql(_ACTIVE_TICKET_OF_MESSAGE), (message_id,)).fetchone()
    if found is None:  # the common case: one indexed read, no write transaction
        return None
    message = Message.get_by_id(message_id)
    ticket = Ticket.select(Ticket, Contact).join(Contact).where(Ticket.id == found[0]).first()
    with db.write():
        attached = (Message.update(ticket=ticket.id)
                    .where(Message.id == message_id, Message.ticket.is_null()).execute())
    if not attached:
        return None
    message.ticket = ticket.id
    return message, ticket


def get_ticket(tenant_id: int, ticket_id: int) -> Ticket:
    """The tenant's ticket with its contact joined. Raises NotFound (also for another tenant's)."""
    ticket = (Ticket.select(Ticket, Contact).join(Contact)
              .where(Ticket.id == ticket_id, Ticket.tenant == tenant_id).first())
    if ticket is None:
        raise NotFound("ticket not found", "ERR_NO_TICKET_FOUND")
    return ticket


def load_ticket(ticket_id: int) -> Ticket | None:
    """Unscoped read for the actor that owns the ticket (it learnt the id from a scoped path)."""
    return Ticket.select(Ticket, Contact).join(Contact).where(Ticket.id == ticket_id).first()


def list_tickets(tenant_id: int, statuses: list[str], page: int = 1, user_id: int | None = None,
                 search: str | None = None, page_size: int = PAGE_SIZE) -> tuple[list[Ticket], int]:
    """A page of the tenant's tickets, most recent activity first. Returns ``(tickets, count)``.

    ``statuses`` filters (empty: all); ``user_id`` keeps that user's tickets plus unassigned
    pending ones (Izing's "mine"); ``search`` matches contact name or number, or the text of
    one of the ticket's messages.
    """
    query = Ticket.select(Ticket, Contact).join(Contact).where(Ticket.tenant == tenant_id)
    if statuses:
        query = query.where(Ticket.status.in_(statuses))
    if user_id is not None:
        query = query.where((Ticket.user == user_id) | (Ticket.user.is_null()
                                                        & (Ticket.status == "pending")))
    if search:
        in_messages = Message.select(Message.id).where(Message.ticket == Ticket.id,
                                                        Message.body.contains(search))
        query = query.where(Contact.name.contains(search) | Contact.number.contains(search)
                            | pw.fn.EXISTS(in_messages))
    count = query.count()
    rows = list(query.order_by(Ticket.last_message_at.desc(nulls="LAST"), Ticket.id.desc())
                .paginate(page, page_size))
    return rows, count


def update_ticket(tenant_id: int, ticket_id: int, status: str | None = None,
                  user_id: int | None = None, queue_id: int | None = None,
                  fields: set[str] = frozenset()) -> Ticket:
    """Accept (pending→open with a user), transfer (user/queue), close, reopen. One transaction.

    ``fields`` names which of ``user_id``/``queue_id`` were given (None there means "unassign").
    Raises NotFound (ticket, user or queue of another tenant), Invalid (unknown status),
    Conflict ``ERR_OTHER_OPEN_TICKET`` when reopening while the contact has another active ticket.
    """
    if status is not None and status not in ("pending", "open", "closed"):
        raise Invalid(f"unknown status {status!r}", "ERR_INVALID_STATUS")
    with db.write():
        ticket = get_ticket(tenant_id, ticket_id)
        now = utcnow()
        if "user_id" in fields:
            if user_id is not None and not User.select().where(
                    User.id == user_id, User.tenant == tenant_id).exists():
                raise NotFound("user not found", "ERR_NO_USER_FOUND")
            ticket.user = user_id
        if "queue_id" in fields:
            if queue_id is not None and not Queue.select().where(
                    Queue.id == queue_id, Queue.tenant == tenant_id).exists():
                raise NotFound("queue not found", "ERR_NO_QUEUE_FOUND")
            ticket.queue = queue_id
        if status is not None and status != ticket.status:
            if ticket.status == "closed":
                other = active_ticket_id(tenant_id, ticket.whatsapp_id, ticket.contact_id)
                if other is not None:
                    raise Conflict("the contact already has an open or pending ticket",
                                   "ERR_OTHER_OPEN_TICKET")
            ticket.status = status
            ticket.closed_at = now if status == "closed" else None
            if status in ("open", "closed"):
                ticket.unread_messages = 0
        ticket.updated_at = now
        ticket.save()
    return ticket


def mark_read(tenant_id: int, ticket_id: int) -> tuple[Ticket, bool]:
    """Set the ticket's unread counter to 0; ``(ticket, changed)``. NotFound for another
    tenant's ticket."""
    with db.write():
        ticket = get_ticket(tenant_id, ticket_id)
        changed = ticket.unread_messages != 0
        if changed:
            ticket.unread_messages = 0
            ticket.save(only=[Ticket.unread_messages])
    return ticket, changed


def get_whatsapp(tenant_id: int, whatsapp_id: int) -> Whatsapp:
    found = Whatsapp.get_or_none(Whatsapp.id == whatsapp_id, Whatsapp.tenant == tenant_id,
                                 Whatsapp.is_deleted == False)  # noqa: E712
    if found is None:
        raise NotFound("connection not found", "ERR_NO_WAPP_FOUND")
    return found
