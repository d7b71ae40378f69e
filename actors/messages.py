"""What actors tell (and ask) each other: small frozen dataclasses named for what happened.

Two families:
- :class:`Command` — asked (``ref.ask(cmd, timeout=…)``), only downward (web → actor, sender →
  session); an exception in the handler is raised in the caller.
- :class:`Event` — told; an exception in the handler is the receiving actor's to recover (log,
  retry later), it never stops the actor or drops the rest of its mailbox.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage.jobs import SendJob


class Command:
    """Asked; the handler's return value (or exception) goes back to the caller."""


class Event:
    """Told; fire and forget."""


# --- WhatsApp client → SessionActor (one per thing the client reports) -----------------------

@dataclass(frozen=True)
class Media:
    """An attachment. ``data`` is None until downloaded (see ``WhatsAppClient.download_media``)."""

    mimetype: str
    filename: str | None = None
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class WaMessage:
    """A WhatsApp message normalised by the client (whatsapp-web.js ``Message`` fields).

    ``wa_id`` is WhatsApp's message id (``msg.id._serialized``); ``number`` the customer's number
    (digits, no ``@c.us``); ``timestamp`` Unix seconds; ``type`` chat|image|video|audio|ptt|document.
    """

    wa_id: str
    number: str
    body: str
    type: str = "chat"
    name: str | None = None
    timestamp: int | None = None
    from_me: bool = False
    is_group: bool = False
    quoted_wa_id: str | None = None
    media: Media | None = None


@dataclass(frozen=True)
class ClientQr(Event):
    qr: str


@dataclass(frozen=True)
class ClientState(Event):
    """A state change reported by the client (OPENING, PAIRING, TIMEOUT, CONFLICT, …)."""

    state: str


@dataclass(frozen=True)
class ClientReady(Event):
    number: str | None = None


@dataclass(frozen=True)
class ClientMessage(Event):
    message: WaMessage
    sync: bool = False  # True when it came from SyncUnread rather than live


@dataclass(frozen=True)
class ClientAck(Event):
    wa_id: str
    ack: int


@dataclass(frozen=True)
class ClientDisconnected(Event):
    reason: str = ""


@dataclass(frozen=True)
class ClientLoggedOut(Event):
    reason: str = ""


# --- SessionActor's own timers and hand-offs -----------------------------------------------------

@dataclass(frozen=True)
class StartSession(Command):
    pass


@dataclass(frozen=True)
class LogoutSession(Command):
    pass


@dataclass(frozen=True)
class RequestNewQr(Command):
    pass


@dataclass(frozen=True)
class WatchdogTick(Event):
    pass


@dataclass(frozen=True)
class WatchdogResult(Event):
    healthy: bool
    state: str
    reason: str = ""


@dataclass(frozen=True)
class ReconnectDue(Event):
    attempt: int


@dataclass(frozen=True)
class ReconnectResult(Event):
    attempt: int
    ok: bool
    error: str = ""
    not_paired: bool = False  # the saved login is gone (a QR shows): the loop stops


@dataclass(frozen=True)
class MediaDownloaded(Event):
    message: WaMessage  # with ``media.data`` filled, or ``media`` None when the download failed


@dataclass(frozen=True)
class UnreadFetched(Event):
    messages: tuple[WaMessage, ...]
    error: str = ""


@dataclass(frozen=True)
class InboundRetry(Event):
    message: WaMessage
    attempt: int


# --- Outbound: SenderActor ⇄ SessionActor ------------------------------------------------------

@dataclass(frozen=True)
class JobArrived(Event):
    job: SendJob


@dataclass(frozen=True)
class SendDue(Event):
    pass


@dataclass(frozen=True)
class RetryDue(Event):
    job: SendJob


@dataclass(frozen=True)
class Drain(Command):
    """System → sender at shutdown: start nothing new; answers True once no send is in flight."""


@dataclass(frozen=True)
class SendOverdue(Event):
    """Check whether the session answered the send in flight; past twice ``send_timeout`` it
    crashed or hung (the client enforces ``send_timeout`` itself): count a failed attempt."""


@dataclass(frozen=True)
class SendRequest(Event):
    """Sender → session: send this now and tell ``reply_to`` a :class:`SendResult`."""

    job: SendJob
    to: str
    body: str
    media_path: str | None
    media_name: str | None
    quoted_wa_id: str | None
    reply_to: Any


@dataclass(frozen=True)
class SendResult(Event):
    job: SendJob
    ok: bool
    wa_id: str | None = None
    ack: int = 0
    error: str = ""
    not_connected: bool = False  # the session was not ready: not an attempt, try again later


@dataclass(frozen=True)
class SentRecorded(Event):
    """Sender → session: the row now holds ``wa_id`` (acks that raced ahead can be applied)."""

    wa_id: str


# --- TicketActor -----------------------------------------------------------------------------

@dataclass(frozen=True)
class InboundMessage(Event):
    tenant_id: int
    whatsapp_id: int
    ticket_id: int
    message: WaMessage
    send_type: str = "chat"


@dataclass(frozen=True)
class Reroute(Event):
    """Ticket → session: the ticket was closed under this message; find or create another."""

    message: WaMessage
    closed_ticket_id: int


@dataclass(frozen=True)
class SendMessage(Command):
    """Web → ticket: store an outbound message and enqueue it. Returns the message JSON."""

    body: str
    user_id: int | None
    media_path: str | None = None
    media_type: str | None = None
    media_name: str | None = None
    quoted_msg_id: str | None = None
    send_type: str = "chat"


@dataclass(frozen=True)
class UpdateTicket(Command):
    """Web → ticket: accept / transfer / close / reopen. Returns the ticket JSON."""

    tenant_id: int
    status: str | None = None
    user_id: int | None = None
    queue_id: int | None = None
    fields: frozenset = frozenset()


@dataclass(frozen=True)
class RetryMessage(Command):
    """Web → ticket: put a ``failed`` outbound message of the ticket back in the queue.
    Returns the message JSON (``pending``, ack 0); raises NotFound ERR_NO_MESSAGE_FOUND."""

    tenant_id: int
    message_id: str


@dataclass(frozen=True)
class MarkRead(Command):
    """Web → ticket: the attendant opened the conversation (Izing's SetTicketMessagesAsRead):
    unread counter to 0. Returns the ticket JSON."""

    tenant_id: int


@dataclass(frozen=True)
class IdleCheck(Event):
    pass


# --- TenantRoomActor -------------------------------------------------------------------------

@dataclass(frozen=True)
class Publish(Event):
    """Emit ``event`` with ``data`` to ``rooms`` ("tenant", "ticket:<id>"). Sent after commit.
    ``admins_only``: only subscribers whose ``is_admin`` is true get it (campaigns)."""

    event: str
    data: dict
    rooms: tuple[str, ...] = ("tenant",)
    admins_only: bool = False


@dataclass(frozen=True)
class Subscribe(Command):
    """Add ``subscriber`` to ``room``; replay events after ``last_event_id`` or send resync."""

    subscriber: Any
    room: str
    last_event_id: int | None = None


@dataclass(frozen=True)
class Unsubscribe(Event):
    subscriber: Any
    room: str | None = None  # None: every room


# --- CampaignActor (one per connection that runs campaigns) ----------------------------------

@dataclass(frozen=True)
class CampaignControl(Command):
    """Web → campaign actor: ``action`` is start | pause | resume | cancel. Returns the campaign
    JSON; raises NotFound / Conflict ``ERR_CAMPAIGN_STATE`` (see ``storage.campaigns``)."""

    tenant_id: int
    campaign_id: int
    action: str


@dataclass(frozen=True)
class CampaignWake(Event):
    """The campaign's next moment came (its gap, start time, window or new day): try to send."""

    campaign_id: int


@dataclass(frozen=True)
class CampaignMessageChanged(Event):
    """Sender / ack path → campaign actor: a campaign message row changed (sent, failed, ack)."""

    message_id: str


@dataclass(frozen=True)
class CustomerMessage(Event):
    """Session → campaign actor: a customer wrote to this connection (a reply, maybe opt-out)."""

    contact_id: int
    body: str


@dataclass(frozen=True)
class CampaignFlush(Event):
    """Emit ``campaign.updated`` for the campaigns that changed since the last flush."""


@dataclass(frozen=True)
class CampaignZoneChanged(Event):
    """The tenant's time zone setting changed: look at every running campaign again now (a
    campaign asleep until its window opens may be inside the window in the new zone)."""

    tenant_id: int


@dataclass(frozen=True)
class CampaignCheck(Event):
    """Wall-clock safety net: re-read sends still in flight (a lost notification must not stall
    a campaign)."""
