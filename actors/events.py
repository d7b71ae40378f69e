"""Events for clients: one helper that every actor uses to emit, after the commit it describes.

Event names (DESIGN "Real-time protocol"): ``ticket.created``, ``ticket.updated``,
``message.created``, ``message.updated``, ``message.ack``, ``session.updated``,
``campaign.updated``, ``campaign.deleted`` (these two to administrators only). ``data`` is the camelCase JSON of the row (``storage.serialize``).
``message.created`` carries the ticket as it is after that message (``data.ticket``: last
message, unread counter); no separate ``ticket.updated`` follows it — one frame per message,
half the fan-out.
"""
from __future__ import annotations

from actors.messages import Publish

EVENT_NAMES = frozenset({"ticket.created", "ticket.updated", "message.created",
                         "message.updated", "message.ack", "session.updated",
                         "campaign.updated", "campaign.deleted", "setting.updated"})


def publish(system, tenant_id: int, event: str, data: dict, ticket_id: int | None = None,
            admins_only: bool = False) -> None:
    """Tell the tenant's room actor; a ticket's events also go to room ``ticket:<id>``.
    ``admins_only`` events (``campaign.*``: the REST side is admin-only too) reach only the
    tenant's administrators."""
    assert event in EVENT_NAMES, event
    rooms = ("tenant",) if ticket_id is None else ("tenant", f"ticket:{ticket_id}")
    system.room(tenant_id).tell(Publish(event, data, rooms, admins_only))
    system.metrics.events.inc()
