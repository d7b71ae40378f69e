"""SessionActor: one per connection; the only code that touches the WhatsApp client.

Flows that start here:
- **inbound** (seed §Entrada): client event → normalised :class:`WaMessage` → contact upsert →
  FindOrCreateTicket → the ticket's :class:`~actors.ticket.TicketActor` stores it;
- **state machine** (``Whatsapp.status``, each change emitted as ``session.updated``):
  DISCONNECTED → OPENING → qrcode → PAIRING → CONNECTED, plus TIMEOUT / CONFLICT (WhatsApp Web
  states the watchdog repairs), LOGOUT (the phone unlinked us; a QR follows, never reconnected in a
  loop) and RECONNECTING (the reconnect loop runs: ``retries`` and ``tier`` soft|hard say where);
- **watchdog** (seed §Watchdog): a tick every ``watchdog_interval`` s (±25 % jitter) reads the
  client's state and, when it claims CONNECTED, makes a real round trip
  (``verify_real_connection``); a failure whose state still reads CONNECTED ``PROBE_SETTLE`` s
  later is a *false connection* and starts the reconnect loop (a logout never does) —
  one per session, delays from ``backoff.expo`` with jitter, capped, soft then hard;
- **SyncUnread** (seed job table): after every ready, the unread messages go through inbound again
  (storage is idempotent, replays are harmless);
- **sending**: :class:`SendRequest` from the sender is executed off the mailbox and answered with a
  :class:`SendResult`.

Long client calls always run in a spawned greenlet that tells the result back.
"""
from __future__ import annotations

import collections
import logging
import random
import time

import gevent
import pykka

from actors import events
from actors.base import Actor, expo_delays, handles
from actors.messages import (ClientAck, ClientDisconnected, ClientLoggedOut, ClientMessage,
                             ClientQr, ClientReady, ClientState, InboundMessage, InboundRetry,
                             LogoutSession, Media, MediaDownloaded, ReconnectDue, ReconnectResult, Reroute,
                             RequestNewQr, SendRequest, SendResult, SentRecorded, StartSession,
                             UnreadFetched, WaMessage, WatchdogResult, WatchdogTick)
from actors.whatsapp.client import (CONNECTED, DISCONNECTED, LOGOUT, QRCODE, RECONNECTING,
                                    NotConnected, NotPaired)
from storage import campaign_contacts, db, tickets
from storage.models import Whatsapp, utcnow
from storage.serialize import iso, ticket_json, whatsapp_json

log = logging.getLogger(__name__)

EARLY_ACK_TTL = 60.0  # seconds an ack may wait for the sender to record its message id
PROBE_SETTLE = 1.0    # seconds a failed probe waits before the state is read again (a logout
                      # reaches the page by its own push, which can trail the probe's 401)


class SessionActor(Actor):
    def __init__(self, system, whatsapp_id: int, tenant_id: int, resume: bool = False) -> None:
        super().__init__()
        self.resume = resume
        self.system = system
        self.config = system.config
        self.whatsapp_id = whatsapp_id
        self.tenant_id = tenant_id
        self.client = None
        self.status = DISCONNECTED
        self.wanted = False          # the user started it and did not log out
        self.reconnecting = False    # one reconnect loop per session
        self.checking = False
        self.reconnect_delays = None
        self.contacts: dict[str, tuple[int, int]] = {}  # number → (contact id, ticket id)
        self.media_waiting: dict[str, collections.deque] = {}
        self.early_acks: dict[str, tuple[int, float]] = {}

    def __str__(self) -> str:
        return f"<SessionActor whatsapp={self.whatsapp_id}>"

    # --- lifecycle ------------------------------------------------------------------------------

    def on_start(self) -> None:
        self.client = self.system.make_client(self.whatsapp_id, self.actor_ref.tell)
        self._schedule_tick()
        if self.resume:  # it was running when the process stopped: open it again
            self.wanted = True
            self._set_status("OPENING")
            self._start_client()

    def on_stop(self) -> None:
        super().on_stop()
        if self.client is not None:
            self.client.stop()

    @handles(StartSession)
    def start_session(self, msg: StartSession) -> dict:
        self.wanted = True
        if self.status in (CONNECTED, "OPENING") and not self.reconnecting:
            return self._row_json()
        self._set_status("OPENING")
        self._start_client()
        return self._row_json()

    def _start_client(self) -> None:
        def run():
            try:
                self.client.start()
            except Exception as exc:  # noqa: BLE001 - reported like any disconnect
                log.warning("%s: client did not start: %s", self, exc)
                self.actor_ref.tell(ClientDisconnected(f"start failed: {exc}"))
        self.spawn(run)

    @handles(LogoutSession)
    def logout(self, msg: LogoutSession) -> dict:
        """The user logged out: the saved login goes, and nothing "repairs" it."""
        self.wanted = False
        self.reconnecting = False
        self._off_mailbox(self.client.logout)
        self._set_status(DISCONNECTED, qrcode=None)
        return self._row_json()

    @handles(RequestNewQr)
    def new_qr(self, msg: RequestNewQr) -> dict:
        self.wanted = True
        self.reconnecting = False
        self._set_status("OPENING", qrcode=None)
        self._off_mailbox(self.client.new_qr, report=True)
        return self._row_json()

    # --- what the client reports ------------------------------------------------------------

    @handles(ClientState)
    def on_client_state(self, msg: ClientState) -> None:
        """OPENING, PAIRING, TIMEOUT, CONFLICT … (CONNECTED and qrcode come with ready and QR
        events). While the reconnect loop runs, RECONNECTING stays the status."""
        if self.reconnecting:
            return
        if msg.state not in (CONNECTED, QRCODE) and msg.state != self.status:
            self._set_status(msg.state)

    @handles(ClientQr)
    def on_qr(self, msg: ClientQr) -> None:
        self._set_status(QRCODE, qrcode=msg.qr)

    @handles(ClientReady)
    def on_ready(self, msg: ClientReady) -> None:
        self.reconnecting = False
        self.reconnect_delays = None
        self.wanted = True
        self._set_status(CONNECTED, qrcode=None, number=msg.number, retries=0)
        self.spawn(self._fetch_unread)

    @handles(ClientDisconnected)
    def on_disconnected(self, msg: ClientDisconnected) -> None:
        if self.reconnecting:
            return  # the running loop handles it (RECONNECTING stays visible)
        self._set_status(DISCONNECTED)
        if self.wanted:
            self._begin_reconnect(msg.reason or "disconnected")

    @handles(ClientLoggedOut)
    def on_logged_out(self, msg: ClientLoggedOut) -> None:
        """A remote logout is final: the phone must scan a new QR; never reconnected in a loop."""
        self.reconnecting = False
        self._set_status(LOGOUT, qrcode=None)

    @handles(ClientMessage)
    def on_message(self, msg: ClientMessage) -> None:
        self._inbound(clean(msg.message))

    @handles(InboundRetry)
    def on_inbound_retry(self, msg: InboundRetry) -> None:
        self._inbound(msg.message, msg.attempt)

    @handles(ClientAck)
    def on_ack(self, msg: ClientAck) -> None:
        if not self.system.apply_ack(self.tenant_id, self.whatsapp_id, msg.wa_id, msg.ack):
            self._stash_ack(msg.wa_id, msg.ack)

    @handles(SentRecorded)
    def on_sent_recorded(self, msg: SentRecorded) -> None:
        early = self.early_acks.pop(msg.wa_id, None)
        if early is not None:
            self.system.apply_ack(self.tenant_id, self.whatsapp_id, msg.wa_id, early[0])

    def _stash_ack(self, wa_id: str, ack: int) -> None:
        """An ack that overtook the sender's record of the id; applied at :class:`SentRecorded`."""
        now = time.monotonic()
        if len(self.early_acks) > 1000:
            self.early_acks = {k: v for k, v in self.early_acks.items()
                               if now - v[1] < EARLY_ACK_TTL}
        previous = self.early_acks.get(wa_id, (0, now))[0]
        self.early_acks[wa_id] = (max(previous, ack), now)

    # --- inbound ----------------------------------------------------------------------------

    def _inbound(self, message: WaMessage, attempt: int = 0) -> None:
        """Route one message to its ticket, keeping each contact's messages in arrival order even
        when an earlier one waits for its media download."""
        waiting = self.media_waiting.get(message.number)
        if waiting is not None and attempt == 0:
            waiting.append(message)
            return
        if message.media is not None and message.media.data is None:
            self.media_waiting.setdefault(message.number, collections.deque())
            self.spawn(self._download, message)
            return
        try:
            self._route(message)
        except Exception as exc:  # noqa: BLE001 - classified below
            if not db.is_transient(exc):
                log.error("inbound %s from %s cannot be stored (%r): %.200r", message.wa_id,
                          message.number, exc, message.body)
                return
            delay = min(30.0, 0.5 * 2 ** attempt) * random.uniform(0.8, 1.2)
            log.warning("inbound %s not stored (%s); retry %d in %.1fs", message.wa_id, exc,
                        attempt + 1, delay)
            self.tell_later(delay, InboundRetry(message, attempt + 1))

    def _route(self, message: WaMessage) -> None:
        """FindOrCreateTicket, then hand the message to the ticket's actor. The (contact, ticket)
        of a number is remembered: a ticket closed meanwhile answers :class:`Reroute`.

        Campaigns: the echo of our own campaign send (``from_me``) is dropped — a campaign opens
        no ticket; a customer's message also goes to the campaign actor (reply, opt-out)."""
        if message.from_me:
            with db.unit_of_work():
                if campaign_contacts.is_echo(self.tenant_id, self.whatsapp_id, message.number,
                                             message.wa_id):
                    return
        known = self.contacts.get(message.number)
        if known is None:
            with db.write():
                contact_id = tickets.upsert_contact(self.tenant_id, message.number, message.name,
                                                    message.is_group)
                ticket_id, created = tickets.find_or_create_ticket(
                    self.tenant_id, self.whatsapp_id, contact_id, message.is_group)
            if len(self.contacts) > 50_000:
                self.contacts.clear()
            self.contacts[message.number] = (contact_id, ticket_id)
            if created:
                with db.unit_of_work():
                    ticket = tickets.load_ticket(ticket_id)
                events.publish(self.system, self.tenant_id, "ticket.created", ticket_json(ticket))
        else:
            contact_id, ticket_id = known
        self.system.ticket(ticket_id).tell(InboundMessage(
            self.tenant_id, self.whatsapp_id, ticket_id, message))
        if not message.from_me:
            self.system.customer_message(self.whatsapp_id, self.tenant_id, contact_id,
                                         message.body)

    @handles(Reroute)
    def on_reroute(self, msg: Reroute) -> None:
        known = self.contacts.get(msg.message.number)
        if known is not None and known[1] == msg.closed_ticket_id:
            del self.contacts[msg.message.number]
        self._inbound(msg.message)

    def _download(self, message: WaMessage) -> None:
        try:
            media = self.client.download_media(message)
            done = _with_media(message, media)
        except Exception as exc:  # noqa: BLE001 - stored without the file, with a note
            log.warning("media of %s not downloaded: %s", message.wa_id, exc)
            done = _with_media(message, None)
        self.actor_ref.tell(MediaDownloaded(done))

    @handles(MediaDownloaded)
    def on_media(self, msg: MediaDownloaded) -> None:
        queue = self.media_waiting.pop(msg.message.number, collections.deque())
        self._inbound(msg.message)
        for later in queue:
            self._inbound(later)

    # --- SyncUnread ---------------------------------------------------------------------------

    def _fetch_unread(self) -> None:
        try:
            messages = tuple(self.client.get_unread())
            self.actor_ref.tell(UnreadFetched(messages))
        except Exception as exc:  # noqa: BLE001
            self.actor_ref.tell(UnreadFetched((), str(exc)))

    @handles(UnreadFetched)
    def on_unread(self, msg: UnreadFetched) -> None:
        if msg.error:
            log.warning("%s: SyncUnread failed: %s", self, msg.error)
            return
        for message in msg.messages:
            self._inbound(clean(message))

    # --- sending ------------------------------------------------------------------------------

    @handles(SendRequest)
    def on_send(self, msg: SendRequest) -> None:
        self.spawn(self._send, msg)

    def _send(self, msg: SendRequest) -> None:
        media = None
        try:
            if msg.media_path:
                media = self.system.load_media(msg.media_path, msg.media_name)
            receipt = self.client.send(msg.to, msg.body, media, msg.quoted_wa_id,
                                       timeout=self.config.send_timeout)
            result = SendResult(msg.job, True, receipt.wa_id, receipt.ack)
        except NotConnected as exc:
            result = SendResult(msg.job, False, error=str(exc), not_connected=True)
        except Exception as exc:  # noqa: BLE001 - any failure is an attempt that failed
            result = SendResult(msg.job, False, error=str(exc) or type(exc).__name__)
        try:
            msg.reply_to.tell(result)
        except pykka.ActorDeadError:  # the sender stopped (shutdown): the row stays pending
            log.info("%s: result of %s not recorded: sender stopped", self, msg.job.message_id)

    # --- watchdog and progressive reconnect ----------------------------------------------------

    def _schedule_tick(self) -> None:
        interval = self.config.watchdog_interval
        self.tell_later(interval * random.uniform(0.75, 1.25), WatchdogTick())

    @handles(WatchdogTick)
    def on_tick(self, msg: WatchdogTick) -> None:
        self._schedule_tick()
        if not self.wanted or self.reconnecting or self.checking:
            return
        self.checking = True
        self.spawn(self._check)

    def _check(self) -> None:
        state, healthy, reason = "UNKNOWN", False, ""
        try:
            state = self.client.state()
            if state == CONNECTED:
                timeout = self.config.verify_timeout
                healthy = bool(gevent.with_timeout(timeout + 1, self.client.verify_real_connection,
                                                   timeout, timeout_value=False))
                reason = "" if healthy else "profile picture round trip failed"
                if not healthy:  # a remote logout's push can trail the server's 401 on the probe
                    gevent.sleep(PROBE_SETTLE)
                    state = self.client.state()
            if state != CONNECTED:
                healthy = state in (QRCODE, "OPENING", "PAIRING")
                reason = f"state {state}"
        except Exception as exc:  # noqa: BLE001
            reason = str(exc)
        self.actor_ref.tell(WatchdogResult(healthy, state, reason))

    @handles(WatchdogResult)
    def on_check(self, msg: WatchdogResult) -> None:
        self.checking = False
        if msg.healthy or not self.wanted or QRCODE in (msg.state, self.status) \
                or self.status == LOGOUT:
            return  # a logout is never repaired by reconnecting: only a new QR scan helps
        kind = "false connection" if msg.state == CONNECTED else "disconnected"
        log.warning("%s: %s (%s): reconnecting", self, kind, msg.reason)
        self._begin_reconnect(msg.reason)

    def _begin_reconnect(self, reason: str) -> None:
        if self.reconnecting:
            return
        self.reconnecting = True
        self.system.metrics.reconnects.inc()
        self.reconnect_delays = expo_delays(self.config.reconnect_base, self.config.reconnect_cap)
        self.actor_ref.tell(ReconnectDue(1))

    @handles(ReconnectDue)
    def on_reconnect_due(self, msg: ReconnectDue) -> None:
        """One attempt: the first ``soft_reconnects`` re-inject/reload the page (soft), the rest
        restart the browser on the same profile (hard). The saved login is never deleted here."""
        if not self.reconnecting:
            return
        tier = "hard" if msg.attempt > self.config.soft_reconnects else "soft"
        self._set_status(RECONNECTING, tier=tier, retries=msg.attempt)
        self.spawn(self._reconnect, msg.attempt, tier == "hard")

    def _reconnect(self, attempt: int, hard: bool) -> None:
        try:
            self.client.reconnect(hard=hard)
            result = ReconnectResult(attempt, True)
        except NotPaired as exc:
            result = ReconnectResult(attempt, False, str(exc), not_paired=True)
        except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt
            result = ReconnectResult(attempt, False, str(exc) or type(exc).__name__)
        self.actor_ref.tell(result)

    @handles(ReconnectResult)
    def on_reconnect_result(self, msg: ReconnectResult) -> None:
        if not self.reconnecting:
            return  # the client's ClientReady (told before this) ended the loop
        if msg.not_paired:  # the login is gone: only a QR scan helps, never a loop
            self.reconnecting = False
            if self.status != QRCODE:
                self._set_status(DISCONNECTED)
            return
        error = msg.error if not msg.ok else "reconnected, but WhatsApp never said ready"
        delay = next(self.reconnect_delays) * random.uniform(0.8, 1.2)
        log.warning("%s: reconnect %d failed (%s); next in %.1fs", self, msg.attempt, error,
                    delay)
        self.tell_later(delay, ReconnectDue(msg.attempt + 1))

    # --- status -----------------------------------------------------------------------------

    def _off_mailbox(self, call, report: bool = False) -> None:
        """Run a client call (browser I/O) in a greenlet. A failure is logged and, with
        ``report``, told back as a :class:`ClientDisconnected`."""
        def run():
            try:
                call()
            except Exception as exc:  # noqa: BLE001
                log.warning("%s: %s failed: %s", self, getattr(call, "__name__", call), exc)
                if report:
                    self.actor_ref.tell(ClientDisconnected(f"{exc}"))
        self.spawn(run)

    def _set_status(self, status: str, tier: str | None = None, **fields) -> None:
        """Persist the connection's status (and qrcode/number/retries), then emit it (with
        ``tier``, soft|hard, while reconnecting: event only, not a column)."""
        self.status = status
        now = utcnow()
        values = {"status": status, "updated_at": now}
        values.update(fields)
        try:
            with db.write():
                Whatsapp.update(**values).where(Whatsapp.id == self.whatsapp_id).execute()
        except Exception as exc:  # noqa: BLE001 - the status is still emitted; the row catches up
            log.warning("%s: status %s not saved: %s", self, status, exc)
        data = {"id": self.whatsapp_id, "status": status, "updatedAt": iso(now)}
        data.update({_camel(k): v for k, v in fields.items()})
        if tier is not None:
            data["tier"] = tier
        events.publish(self.system, self.tenant_id, "session.updated", data)

    def _row_json(self) -> dict:
        with db.unit_of_work():
            return whatsapp_json(Whatsapp.get_by_id(self.whatsapp_id))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _with_media(message: WaMessage, media: Media | None) -> WaMessage:
    from dataclasses import replace

    return replace(message, media=media)


def clean(message: WaMessage) -> WaMessage:
    """What the database can hold, whatever a client reports: no NUL characters (PostgreSQL
    refuses them), names and ids within their columns. Idempotency is kept: the same message is
    always cleaned the same way."""
    from dataclasses import replace

    name = (message.name or "").replace("\x00", "")[:255] or None
    media = message.media
    if media is not None and media.filename:
        media = Media(media.mimetype[:128], media.filename.replace("\x00", "")[:255], media.data)
    return replace(message, body=message.body.replace("\x00", ""), name=name, media=media,
                   wa_id=message.wa_id[:128], number=message.number[:64],
                   quoted_wa_id=(message.quoted_wa_id or "")[:128] or None)
