"""Tickets (Izing's ``/tickets``). Every query is scoped to the caller's tenant.

- ``GET /tickets?status=pending&status=open&pageNumber=&searchParam=&showAll=`` →
  ``{tickets, count, hasMore}``; non-admins see their own tickets and unassigned pending ones
  unless ``showAll=true``; admins see everything unless ``showAll=false`` (the "mine" filter).
  ``searchParam`` matches the contact's name or number or the text of a message.
- ``GET /tickets/<id>`` → the ticket; 404 ERR_NO_TICKET_FOUND (also for another tenant's).
- ``PUT /tickets/<id>`` ``{status?, userId?, queueId?}``: accept (``open``; ``userId`` defaults
  to the caller), transfer, close, reopen. 409 ERR_OTHER_OPEN_TICKET on a reopen that would make a
  second active ticket for the contact.
- ``POST /tickets/<id>/read``: the conversation was opened; unread to 0.
"""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, jsonify, request

from actors.messages import MarkRead, UpdateTicket
from storage import db, tickets
from storage.serialize import ticket_json
from web.auth import login_required
from web.common import Body, Id, query_text, caller, has_more, json_body, page_number, runtime
from web.openapi import accepts
from web.errors import ApiError

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

ASK_TIMEOUT = 10.0


class TicketUpdate(Body):
    status: Literal["pending", "open", "closed"] | None = None
    userId: Id | None = None
    queueId: Id | None = None


@bp.get("")
@login_required
def list_():
    statuses = request.args.getlist("status")
    bad = [s for s in statuses if s not in ("pending", "open", "closed")]
    if bad:
        raise ApiError(400, "ERR_VALIDATION", f"unknown status {bad[0]!r}")
    me = caller()
    show_all = request.args.get("showAll", "true" if me.is_admin else "false").lower() == "true"
    page = page_number()
    with db.unit_of_work():
        rows, count = tickets.list_tickets(
            me.tenant_id, statuses, page, user_id=None if show_all else me.id,
            search=query_text("searchParam"))
        data = [ticket_json(t, t.contact) for t in rows]
    return jsonify({"tickets": data, "count": count,
                    "hasMore": has_more(count, page, tickets.PAGE_SIZE)})


@bp.get("/<int:ticket_id>")
@login_required
def show(ticket_id: int):
    with db.unit_of_work():
        ticket = tickets.get_ticket(caller().tenant_id, ticket_id)
        return jsonify(ticket_json(ticket, ticket.contact))


@bp.put("/<int:ticket_id>")
@accepts(TicketUpdate)
@login_required
def update(ticket_id: int):
    body = json_body(TicketUpdate)
    me = caller()
    given = set(body.model_fields_set)
    fields = set()
    user_id = body.userId
    if "userId" in given:
        fields.add("user_id")
    elif body.status == "open":
        fields.add("user_id")  # accepting assigns the ticket to whoever accepts it
        user_id = me.id
    if "queueId" in given:
        fields.add("queue_id")
    with db.unit_of_work():
        tickets.get_ticket(me.tenant_id, ticket_id)  # 404 before any actor starts
    data = runtime().system.ticket(ticket_id).ask(
        UpdateTicket(me.tenant_id, body.status, user_id, body.queueId, frozenset(fields)),
        timeout=ASK_TIMEOUT)
    return jsonify(data)


@bp.post("/<int:ticket_id>/read")
@login_required
def read(ticket_id: int):
    """The attendant opened the conversation: its unread counter goes to 0 (Izing's
    SetTicketMessagesAsRead) and a ``ticket.updated`` tells the other screens. Returns the ticket;
    404 ERR_NO_TICKET_FOUND."""
    me = caller()
    with db.unit_of_work():
        tickets.get_ticket(me.tenant_id, ticket_id)
    data = runtime().system.ticket(ticket_id).ask(MarkRead(me.tenant_id), timeout=ASK_TIMEOUT)
    return jsonify(data)
