"""The composition root: starts actors in dependency order, finds them by key, restarts the dead,
stops them all in reverse. Nothing else holds global state.

Order: rooms (on demand) ← sessions ← senders ← tickets (on demand) ← campaign actors (one per
connection, on demand; at start, one for each connection with a running campaign, which resumes
it from the database). ``stop()`` reverses it.
Lookups are dicts by key (Pykka's ``ActorRegistry`` scans a list: 0.5 ms a lookup at 10k actors).
A ref found dead is replaced by a fresh actor on the next lookup.
"""
from __future__ import annotations

import datetime
import logging
import os
import time
from dataclasses import dataclass

import gevent
import gevent.lock
import gevent.monkey
import pykka

from actors import events
from actors.campaign import CampaignActor, hold_closed_windows
from actors.campaign_schedule import Clock
from actors.messages import (CampaignMessageChanged, CampaignZoneChanged, CustomerMessage, Drain,
                             JobArrived, Media)
from actors.metrics import Metrics
from actors.room import TenantRoomActor
from actors.sender import SenderActor
from actors.session import SessionActor
from actors.ticket import TicketActor
from actors.whatsapp.client import DISCONNECTED
from storage import campaigns, db, messages
from storage.jobs import EmbeddedJobQueue, SendJob
from storage.models import Whatsapp, utcnow
from storage.serialize import message_json

log = logging.getLogger(__name__)


class NotPatched(RuntimeError):
    """gevent's monkey patching is missing: actors would run on OS threads and block the hub."""


def require_gevent_patching() -> None:
    """Fail loudly unless ``gevent.monkey.patch_all()`` ran before anything else was imported."""
    missing = [m for m in ("socket", "threading", "time", "select", "ssl")
               if not gevent.monkey.is_module_patched(m)]
    if missing:
        raise NotPatched("gevent.monkey.patch_all() must run first in every entry point; "
                         f"unpatched: {', '.join(missing)}")
    import peewee
    from gevent.local import local as greenlet_local

    if not issubclass(peewee._ConnectionLocal, greenlet_local):
        raise NotPatched("peewee was imported before gevent.monkey.patch_all(): its connection "
                         "state is shared by every greenlet. Patch first in the entry point.")


@dataclass(frozen=True)
class SystemConfig:
    """What the actors need to know (seconds unless named otherwise)."""

    public_dir: str = "public"
    send_rate: float = 20.0            # messages per minute per connection; 0 = no throttle
    send_jitter: float = 0.5           # extra random wait, as a fraction of the interval
    send_retries: int = 3
    send_retry_delay: float = 2.0      # first retry delay; doubles (backoff.expo)
    send_timeout: float = 30.0
    watchdog_interval: float = 45.0
    verify_timeout: float = 10.0
    reconnect_base: float = 2.0
    reconnect_cap: float = 120.0
    soft_reconnects: int = 2           # attempts before a hard (browser) restart
    ticket_idle_seconds: float = 300.0
    replay_size: int = 2000
    sweep_interval: float = 30.0


class ActorSystem:
    """Holds every actor ref by key. ``client_factory(whatsapp_id, on_event)`` makes clients;
    ``clock`` (``now()``, ``call_later()``) paces the campaigns (tests pass a manual one)."""

    def __init__(self, config: SystemConfig, client_factory, job_queue=None,
                 clock=None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.client_factory = client_factory
        self.queue = job_queue or EmbeddedJobQueue()
        self.rooms: dict[int, object] = {}
        self.sessions: dict[int, object] = {}
        self.senders: dict[int, object] = {}
        self.tickets: dict[int, object] = {}
        self.campaigners: dict[int, object] = {}
        self.stopping = False
        self._lock = gevent.lock.RLock()
        self._sweeper: gevent.Greenlet | None = None
        self.metrics = Metrics(self)
        self.started = False

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> "ActorSystem":
        """Start a session and a sender per connection, then the recovery sweep."""
        require_gevent_patching()
        hold_closed_windows(self.clock)  # before a sender could send a held campaign's row
        with db.unit_of_work():
            rows = list(Whatsapp.select(Whatsapp.id, Whatsapp.tenant, Whatsapp.status)
                        .where(Whatsapp.is_deleted == False).tuples())  # noqa: E712
        for whatsapp_id, tenant_id, status in rows:
            self.start_connection(whatsapp_id, tenant_id, resume=status != DISCONNECTED)
        with db.unit_of_work():
            running = campaigns.running_connections()
        for whatsapp_id, tenant_id in running:
            self.campaigner(whatsapp_id, tenant_id)
        self.started = True
        self._sweeper = gevent.spawn(self._sweep_forever)
        return self

    def stop(self) -> None:
        """Stop every actor, in reverse dependency order. Senders first finish the send in
        flight (up to 5 s) so that a graceful restart does not send anything twice."""
        self.stopping = True  # from here on, lookups never start an actor again
        if self._sweeper is not None:
            self._sweeper.kill()
        deadline = time.monotonic() + 5.0
        for sender in list(self.senders.values()):
            if time.monotonic() > deadline:
                break
            try:
                while sender.is_alive() and not sender.ask(Drain(), timeout=1):
                    if time.monotonic() > deadline:
                        break
                    gevent.sleep(0.05)
            except Exception:  # noqa: BLE001
                pass
        for table in (self.campaigners, self.tickets, self.senders, self.sessions, self.rooms):
            for ref in list(table.values()):
                try:
                    ref.stop(block=True, timeout=5)
                except Exception:  # noqa: BLE001 - already dead
                    pass
            table.clear()
        self.queue.close()
        self.started = False

    def start_connection(self, whatsapp_id: int, tenant_id: int, resume: bool = False) -> None:
        """Start the connection's session and sender (idempotent); ``resume`` starts its client."""
        self.session(whatsapp_id, tenant_id, resume)
        self.sender(whatsapp_id)
        self.queue.consume(whatsapp_id, lambda job: self.sender(job.whatsapp_id).tell(
            JobArrived(job)))

    # --- the directory ------------------------------------------------------------------------

    def _get(self, table: dict, key, start):
        ref = table.get(key)
        if ref is not None and ref.is_alive():
            return ref
        if self.stopping:
            raise pykka.ActorDeadError(f"the actor system is stopping: no new actor for {key}")
        with self._lock:
            ref = table.get(key)
            if ref is None or not ref.is_alive():
                ref = table[key] = start()
        return ref

    def room(self, tenant_id: int):
        return self._get(self.rooms, tenant_id,
                         lambda: TenantRoomActor.start(tenant_id, self.config.replay_size))

    def session(self, whatsapp_id: int, tenant_id: int | None = None, resume: bool = False):
        def start():
            tenant, status = tenant_id, None
            if tenant is None:
                with db.unit_of_work():
                    tenant, status = (Whatsapp.select(Whatsapp.tenant, Whatsapp.status)
                                      .where(Whatsapp.id == whatsapp_id).tuples().get())
            return SessionActor.start(self, whatsapp_id, tenant,
                                      resume or (status not in (None, DISCONNECTED)))
        return self._get(self.sessions, whatsapp_id, start)

    def sender(self, whatsapp_id: int):
        return self._get(self.senders, whatsapp_id, lambda: SenderActor.start(self, whatsapp_id))

    def ticket(self, ticket_id: int):
        return self._get(self.tickets, ticket_id, lambda: TicketActor.start(self, ticket_id))

    def campaigner(self, whatsapp_id: int, tenant_id: int | None = None):
        """The connection's :class:`CampaignActor` (it resumes its running campaigns)."""
        def start():
            tenant = tenant_id
            if tenant is None:
                with db.unit_of_work():
                    tenant = (Whatsapp.select(Whatsapp.tenant)
                              .where(Whatsapp.id == whatsapp_id).scalar())
            return CampaignActor.start(self, whatsapp_id, tenant, self.clock)
        return self._get(self.campaigners, whatsapp_id, start)

    def forget_ticket(self, ticket_id: int, ref) -> None:
        if self.tickets.get(ticket_id) is ref:
            del self.tickets[ticket_id]

    def live_actors(self) -> dict[str, int]:
        return {"rooms": len(self.rooms), "sessions": len(self.sessions),
                "senders": len(self.senders), "tickets": len(self.tickets)}

    # --- services the actors share ------------------------------------------------------------

    def make_client(self, whatsapp_id: int, on_event):
        return self.client_factory(whatsapp_id, on_event)

    def enqueue(self, job: SendJob) -> None:
        self.queue.put(job)

    def ack_job(self, job: SendJob) -> None:
        self.queue.ack(job)

    def apply_ack(self, tenant_id: int, whatsapp_id: int, wa_id: str, ack: int) -> bool:
        """Store a later ack from WhatsApp and emit ``message.ack`` to the message's ticket; a
        campaign message's ack also moves its recipient (the campaign emits
        ``campaign.updated``). False: no such message yet."""
        with db.unit_of_work():
            found, row = messages.apply_ack(whatsapp_id, wa_id, ack)
        if row is not None and row.send_type == "campaign":
            self.campaign_message_changed(row)
        if row is not None and row.ticket_id is not None:  # a campaign send joins the reply's
            events.publish(self, tenant_id, "message.ack", message_json(row), row.ticket_id)
        return found

    def campaign_message_changed(self, row) -> None:
        """A campaign message row changed (sent, failed, ack): its campaign actor follows it.
        Ignored while stopping: the row holds it, and the resumed campaign settles from rows."""
        if not self.stopping:
            self.campaigner(row.whatsapp_id, row.tenant_id).tell(CampaignMessageChanged(row.id))

    def zone_changed(self, tenant_id: int) -> None:
        """The tenant's ``timezone`` setting changed: its running campaigns pace again now."""
        for ref in list(self.campaigners.values()):
            ref.tell(CampaignZoneChanged(tenant_id))

    def customer_message(self, whatsapp_id: int, tenant_id: int, contact_id: int,
                         body: str) -> None:
        """A customer wrote to this connection: maybe a campaign reply or an opt-out."""
        if not self.stopping:
            self.campaigner(whatsapp_id, tenant_id).tell(CustomerMessage(contact_id, body))

    def load_media(self, media_path: str, media_name: str | None) -> Media:
        import mimetypes

        path = os.path.join(self.config.public_dir, media_path)
        with open(path, "rb") as fh:
            data = fh.read()
        mimetype = mimetypes.guess_type(media_name or path)[0] or "application/octet-stream"
        return Media(mimetype, media_name or os.path.basename(path), data)

    # --- recovery sweep -----------------------------------------------------------------------

    def sweep(self, grace: float = 0.0) -> int:
        """Re-enqueue outbound rows still ``pending`` with no live job. Returns how many."""
        older_than = utcnow() - datetime.timedelta(seconds=grace) if grace else None
        with db.unit_of_work():
            rows = messages.pending_outbound(older_than, limit=10_000)
        count = 0
        for message_id, whatsapp_id, tenant_id in rows:
            if not self.queue.outstanding(message_id):
                if whatsapp_id not in self.senders:
                    self.start_connection(whatsapp_id, tenant_id)
                self.enqueue(SendJob(message_id, whatsapp_id, tenant_id))
                count += 1
        return count

    def _sweep_forever(self) -> None:
        while True:
            try:
                found = self.sweep()
                if found:
                    log.info("recovery sweep re-enqueued %d pending messages", found)
            except Exception as exc:  # noqa: BLE001 - the database may be down; try again later
                log.warning("recovery sweep failed: %s", exc)
            gevent.sleep(self.config.sweep_interval)
