"""CampaignActor: ``CampaignProcess`` — one per connection that runs campaigns.

It paces its connection's running campaigns into the same ``SendMessages`` queue as every chat
reply, so each campaign send also waits for the connection's throttle in the
:class:`~actors.sender.SenderActor`. Per campaign:

- **one send in flight.** The next recipient is handed to the queue only after the previous
  send has an outcome (``sent``/``failed``), plus the campaign's gap — ``delay + uniform(0,
  jitter)`` seconds — counted from that outcome. So the gap holds on the wire even when the
  throttle or retries slow a send down, a disconnected number does not pile up jobs, and pause
  has at most one queued send to revoke;
- **only inside the window and under the cap.** Outside the daily window (tenant's zone) it
  sleeps until the window opens; at the connection's daily cap, until the local midnight. A
  send still queued when the window has closed (a disconnected number) is taken back at the
  next :class:`CampaignCheck` and goes when the window opens again. A send waiting for its
  connection to connect is said on the campaign too (``waitingFor`` ``connection``);
- **hand-off = one transaction** (:func:`storage.campaign_contacts.hand_off`): the message row
  (``pending``, no ticket, ``send_type`` campaign) and the recipient (``queued``) commit
  together, then the job is enqueued; the recovery sweep covers a crash in between. The row is
  the queue's source of truth, exactly as for chat messages;
- **progress follows the rows.** The sender and the ack path tell
  :class:`CampaignMessageChanged`; the recipient moves to sent / delivered / read / failed.
  Customer messages (:class:`CustomerMessage`) mark ``replied`` and check the opt-out keyword;
- **restart.** Before any sender starts, :func:`hold_closed_windows` takes the queued sends
  of campaigns whose window closed while the process was down back to ``pending``. On start
  the actor loads its running campaigns from the database, settles queued recipients
  whose row already has an outcome (the gap then counts from that moment, as for an outcome
  seen live), waits for the ones still ``pending`` (re-enqueued by the
  sweep) and goes on with the next ``pending`` recipient.

Time comes from the injected ``clock`` (``now()``, ``call_later()``): every business moment —
start time, gap, window opening, next cap day — is a :class:`CampaignWake` that the clock
delivers, one armed timer per campaign, so tests move a manual clock and never sleep. Two
wall-clock timers are not business time: :class:`CampaignCheck` every ``CHECK_INTERVAL`` s while
a send is in flight (a lost notification must not stall a campaign) and the coalescing of
events — at most one ``campaign.updated`` per campaign every ``FLUSH_INTERVAL`` s.
"""
from __future__ import annotations

import datetime
import logging
import random
import time
from dataclasses import dataclass, field

from actors import events
from actors import campaign_schedule as schedule
from actors.base import Actor, handles
from actors.messages import (CampaignCheck, CampaignControl, CampaignFlush,
                             CampaignMessageChanged, CampaignWake, CampaignZoneChanged,
                             CustomerMessage)
from storage import campaign_contacts as recipients
from storage import campaigns, db, tickets
from storage.jobs import SendJob
from storage.models import Campaign, Whatsapp
from storage.serialize import message_json, ticket_json

log = logging.getLogger(__name__)

CHECK_INTERVAL = 30.0  # wall-clock seconds between two reads of sends still in flight
FLUSH_INTERVAL = 0.25  # wall-clock seconds between two campaign.updated of one campaign
SKIPS_PER_TURN = 200   # recipients settled without sending before yielding the mailbox
ZONE_TTL = 60.0        # wall-clock seconds a read of the tenant's time zone is trusted


def hold_closed_windows(clock) -> int:
    """At process start, before any sender: a running campaign whose daily window is closed
    now takes its queued sends that have not left back to ``pending`` (rows ``cancelled``,
    re-armed when the window opens), so the recovery sweep and the queue's redelivery send
    nothing outside the window. Returns how many campaigns were held."""
    with db.unit_of_work():
        running = campaigns.running_with_window()
        held = 0
        for campaign in running:
            zone = campaigns.tenant_timezone(campaign.tenant_id)
            if schedule.window_wait(clock.now(), zone, campaign.window_start,
                                    campaign.window_end) is not None:
                recipients.hold(campaign.id, clock.now())
                held += 1
    return held


@dataclass
class Run:
    """A running campaign's pacing state (its row is the snapshot taken at start/resume)."""

    campaign: Campaign
    in_flight: set[str] = field(default_factory=set)
    next_at: datetime.datetime | None = None
    timer: object | None = None
    waiting: tuple | None = None  # (reason, until) as last written to the row; None: unknown


class CampaignActor(Actor):
    def __init__(self, system, whatsapp_id: int, tenant_id: int, clock,
                 rng: random.Random | None = None) -> None:
        super().__init__()
        self.system = system
        self.whatsapp_id = whatsapp_id
        self.tenant_id = tenant_id
        self.clock = clock
        self.rng = rng or random.Random()
        self.runs: dict[int, Run] = {}
        self.reached: set[int] = set()
        self.tz = None
        self.zone_read_at = float("-inf")
        self.day: tuple[datetime.datetime, datetime.datetime] | None = None
        self.handed_today = 0
        self.dirty: set[int] = set()
        self.flush_armed = False
        self.check_armed = False

    def __str__(self) -> str:
        return f"<CampaignActor whatsapp={self.whatsapp_id}>"

    def on_start(self) -> None:
        self._read_zone()
        with db.unit_of_work():
            self.reached = recipients.reached(self.whatsapp_id)
            running = campaigns.running_on(self.whatsapp_id)
        for campaign in running:
            self._begin(campaign)
            log.info("%s: resumed campaign %s", self, campaign.id)

    def on_stop(self) -> None:
        for run in self.runs.values():
            self._cancel_timer(run)
        super().on_stop()

    # --- control ------------------------------------------------------------------------------

    @handles(CampaignControl)
    def on_control(self, msg: CampaignControl) -> dict:
        """start | pause | resume | cancel → the campaign's JSON. The state change and its
        revocations commit first; the pacing then follows the committed state at once (pause
        and cancel stop it before anything else can fail). Raises what
        :func:`storage.campaigns.transition` raises (NotFound, Conflict); a failure after the
        commit leaves the periodic check to take the pacing up from the rows."""
        with db.unit_of_work():
            campaign = campaigns.transition(msg.tenant_id, msg.campaign_id, msg.action,
                                            self.clock.now(), self.whatsapp_id)
        run = self.runs.pop(campaign.id, None)
        if run is not None:
            self._cancel_timer(run)
        self.day = None  # pause/cancel revoked a counted send: recount the cap day from rows
        try:
            if campaign.status == "running":
                self._begin(campaign)
            with db.unit_of_work():
                data = campaigns.campaign_json(campaign)
        except Exception:
            self._arm_check()
            raise
        events.publish(self.system, campaign.tenant_id, "campaign.updated", data,
                       admins_only=True)
        return data

    def _begin(self, campaign: Campaign) -> None:
        with db.unit_of_work():
            in_flight, settled = recipients.in_flight(campaign.id)
            handed = recipients.last_queued_at(campaign.id)
            outcome = recipients.last_outcome_at(campaign.id)
        now = self.clock.now()
        gap = datetime.timedelta(seconds=schedule.gap(campaign.delay, campaign.jitter, self.rng))
        if settled:  # an outcome first seen now: the gap counts from here, as for any outcome
            next_at = now + gap
        else:  # the gap after the last outcome, and never less than the delay after a hand-off
            candidates = [handed + datetime.timedelta(seconds=campaign.delay) if handed else None,
                          outcome + gap if outcome else None]
            next_at = max((t for t in candidates if t is not None), default=None)
        run = self.runs[campaign.id] = Run(campaign, set(in_flight), next_at)
        self._pump(run)

    @handles(CampaignZoneChanged)
    def on_zone_changed(self, msg: CampaignZoneChanged) -> None:
        """Pace every running campaign again in the new zone (its armed wake is replaced)."""
        if msg.tenant_id == self.tenant_id:
            self._read_zone(force=True)
            for run in list(self.runs.values()):
                if run.campaign.id in self.runs:
                    self._pump(run)

    @handles(CampaignWake)
    def on_wake(self, msg: CampaignWake) -> None:
        run = self.runs.get(msg.campaign_id)
        if run is not None:
            run.timer = None
            self._pump(run)

    # --- pacing -------------------------------------------------------------------------------

    def _pump(self, run: Run) -> None:
        """Hand the next recipient to the queue if the campaign may send now; otherwise arm a
        wake for the moment it may."""
        campaign = run.campaign
        self._read_zone()
        for _ in range(SKIPS_PER_TURN):
            now = self.clock.now()
            if run.in_flight and not self._settle_in_flight(run, now) \
                    and not self._hold_after_window(run, now):
                self._say_if_disconnected(run)
                self._arm_check()  # the outcome normally comes first (CampaignMessageChanged)
                return
            if not self._anyone_left(run, now):
                return
            due = max(t for t in (run.next_at, campaign.start_at, now) if t is not None)
            if now < due:
                self._wait(run, due, "startAt" if due == campaign.start_at else None)
                return
            opens = schedule.window_wait(now, self.tz, campaign.window_start, campaign.window_end)
            if opens is not None:
                self._wait(run, opens, "window")
                return
            if campaign.daily_cap and self._handed_today(now) >= campaign.daily_cap:
                self._wait(run, self.day[1], "dailyCap")
                return
            self._say_waiting(run, None, None)
            if not self._hand_off_next(run, now) or run.in_flight:
                return
        self._wake(run, self.clock.now())  # many skips in a row: let the mailbox breathe

    def _read_zone(self, force: bool = False) -> None:
        """The tenant's time zone, read again at most every ``ZONE_TTL`` wall-clock seconds
        (a change made through another process), and at once on :class:`CampaignZoneChanged`."""
        if not force and time.monotonic() - self.zone_read_at < ZONE_TTL:
            return
        with db.unit_of_work():
            zone = campaigns.tenant_timezone(self.tenant_id)
        self.zone_read_at = time.monotonic()
        if zone != self.tz:
            self.tz, self.day = zone, None

    def _settle_in_flight(self, run: Run, now: datetime.datetime) -> bool:
        """Drop sends that have an outcome (the safety net behind CampaignMessageChanged).
        True when nothing is in flight any more."""
        with db.unit_of_work():
            for message_id in list(run.in_flight):
                if campaigns.message_status(message_id) != "pending":
                    recipients.follow(message_id)
                    self._outcome(run, message_id, now)
        return not run.in_flight

    def _hold_after_window(self, run: Run, now: datetime.datetime) -> bool:
        """The window closed with a send still queued (a disconnected or throttled number): at
        the next check (every ``CHECK_INTERVAL`` s while a send is in flight) the send is taken
        back — its row ``cancelled``, the recipient ``pending``, re-armed when the window opens
        — so it does not leave long after the window. True when it was."""
        campaign = run.campaign
        if schedule.window_wait(now, self.tz, campaign.window_start,
                                campaign.window_end) is None:
            return False
        with db.unit_of_work():
            recipients.hold(campaign.id, now)
        run.in_flight.clear()
        self.day = None  # a counted send went back: recount the cap day from the rows
        self._changed(campaign.id)
        log.info("%s: campaign %s: window closed with a send queued; held", self, campaign.id)
        return True

    def _anyone_left(self, run: Run, now: datetime.datetime) -> bool:
        """False once no recipient is pending: the campaign is then finished at once (not after
        one more gap), or — with a send still unsettled — looked at again later."""
        campaign_id = run.campaign.id
        with db.unit_of_work():
            if recipients.has_pending(campaign_id):
                return True
            finished = campaigns.finish_if_done(campaign_id, now)
        if finished:
            self._cancel_timer(self.runs.pop(campaign_id))
            log.info("%s: campaign %s finished", self, campaign_id)
        else:
            self._arm_check()
        self._changed(campaign_id)
        return False

    def _hand_off_next(self, run: Run, now: datetime.datetime) -> bool:
        """Hand off (or settle) one recipient. False when there was no one left after all."""
        campaign = run.campaign
        with db.unit_of_work():
            found = recipients.next_pending(campaign.id)
            if found is None:
                self._arm_check()
                return False
            recipient_id, contact_id, name, opted_out = found
            if opted_out:
                recipients.mark(recipient_id, "opted_out")
                self._changed(campaign.id)
                return True
            variant, template = schedule.pick_variant(
                [campaign.message1, campaign.message2, campaign.message3], self.rng)
            body = schedule.render(template, name, schedule.greeting(now, self.tz))
            if not body.strip() and not campaign.media_path:
                # "{{name}}" alone and no name: WhatsApp would get an empty message
                log.warning("%s: campaign %s: empty message for recipient %s; not sent",
                            self, campaign.id, recipient_id)
                recipients.mark(recipient_id, "failed")
                self._changed(campaign.id)
                return True
            message_id = recipients.hand_off(campaign, recipient_id, body, variant, now)
        self._changed(campaign.id)
        if message_id is not None:
            self.system.enqueue(SendJob(message_id, self.whatsapp_id, campaign.tenant_id))
            run.in_flight.add(message_id)
            self.reached.add(contact_id)
            self.handed_today += 1
            self._say_if_disconnected(run)
        return True

    def _say_if_disconnected(self, run: Run) -> None:
        """A send queued on a connection that is not CONNECTED waits for it: say so on the
        campaign (``connection``), cleared when the campaign sends again."""
        with db.unit_of_work():
            status = (Whatsapp.select(Whatsapp.status)
                      .where(Whatsapp.id == self.whatsapp_id).scalar())
        if status != "CONNECTED":
            self._say_waiting(run, "connection", None)

    def _handed_today(self, now: datetime.datetime) -> int:
        if self.day is None or not self.day[0] <= now < self.day[1]:
            self.day = schedule.day_bounds(now, self.tz)
            with db.unit_of_work():
                self.handed_today = recipients.handed_between(self.whatsapp_id, *self.day)
        return self.handed_today

    def _outcome(self, run: Run, message_id: str, now: datetime.datetime) -> None:
        run.in_flight.discard(message_id)
        gap = schedule.gap(run.campaign.delay, run.campaign.jitter, self.rng)
        run.next_at = now + datetime.timedelta(seconds=gap)

    def _wait(self, run: Run, at: datetime.datetime, reason: str | None) -> None:
        """Sleep until ``at``; a long wait (``reason``: window, dailyCap, startAt) is written to
        the campaign row, so every screen can say why a running campaign is not sending. A gap
        between two sends is not a reason (``None``)."""
        self._wake(run, at)
        self._say_waiting(run, reason, at if reason else None)

    def _say_waiting(self, run: Run, reason: str | None, until) -> None:
        if run.waiting == (reason, until):
            return  # the common case, once per send: nothing to write
        run.waiting = (reason, until)
        with db.unit_of_work():
            campaigns.set_waiting(run.campaign.id, reason, until)
        self._changed(run.campaign.id)

    def _wake(self, run: Run, at: datetime.datetime) -> None:
        """One timer per campaign: (re)arm it for ``at`` on the injected clock."""
        self._cancel_timer(run)
        ref, campaign_id = self.actor_ref, run.campaign.id

        def fire():
            if ref.is_alive():
                ref.tell(CampaignWake(campaign_id))

        run.timer = self.clock.call_later((at - self.clock.now()).total_seconds(), fire)

    def _arm_check(self) -> None:
        if not self.check_armed:
            self.check_armed = True
            self.tell_later(CHECK_INTERVAL, CampaignCheck())

    @handles(CampaignCheck)
    def on_check(self, msg: CampaignCheck) -> None:
        """Follow the rows: pace a running campaign this actor has no run for (a control that
        failed after its commit), drop a run whose campaign is no longer running, and pump
        every campaign that has no timer armed (it waits on a send or on a finish)."""
        self.check_armed = False
        with db.unit_of_work():
            running = {campaign.id: campaign for campaign in campaigns.running_on(self.whatsapp_id)}
        for campaign_id in set(self.runs) - set(running):
            self._cancel_timer(self.runs.pop(campaign_id))
        for campaign_id, campaign in running.items():
            if campaign_id not in self.runs:
                self._begin(campaign)
        for run in list(self.runs.values()):
            if run.timer is None:
                self._pump(run)

    @staticmethod
    def _cancel_timer(run: Run) -> None:
        if run.timer is not None:
            run.timer.cancel()
            run.timer = None

    # --- progress -----------------------------------------------------------------------------

    @handles(CampaignMessageChanged)
    def on_message_changed(self, msg: CampaignMessageChanged) -> None:
        with db.unit_of_work():
            followed = recipients.follow(msg.message_id)
        if followed is None:
            return
        campaign_id, status = followed
        self._changed(campaign_id)
        run = self.runs.get(campaign_id)
        if run is not None and msg.message_id in run.in_flight and status != "pending":
            if status == "sent":
                self._show_in_open_ticket(msg.message_id)
            self._outcome(run, msg.message_id, self.clock.now())
            self._pump(run)

    def _show_in_open_ticket(self, message_id: str) -> None:
        """A contact already in conversation sees the campaign message in that WhatsApp chat:
        so does the attendant — the message joins the open or pending ticket, live."""
        with db.unit_of_work():
            attached = tickets.attach_to_active_ticket(message_id)
        if attached is not None:
            message, ticket = attached
            events.publish(self.system, message.tenant_id, "message.created",
                           dict(message_json(message), ticket=ticket_json(ticket, ticket.contact)),
                           ticket.id)

    @handles(CustomerMessage)
    def on_customer_message(self, msg: CustomerMessage) -> None:
        if msg.contact_id not in self.reached:
            return  # not a campaign audience: the common case costs a set lookup
        with db.unit_of_work():
            changed = recipients.record_reply(self.whatsapp_id, msg.contact_id, msg.body,
                                              self.clock.now())
        for campaign_id in changed:
            self._changed(campaign_id)

    def on_event_error(self, message, exc: Exception) -> None:
        """The database failed mid-way (a wake, an outcome, a flush): the rows hold the truth,
        so look again after ``CHECK_INTERVAL`` instead of leaving a campaign without a timer,
        and flush again what was not announced."""
        self._arm_check()
        self._arm_flush()

    def _changed(self, campaign_id: int) -> None:
        self.dirty.add(campaign_id)
        self._arm_flush()

    def _arm_flush(self) -> None:
        if self.dirty and not self.flush_armed:
            self.flush_armed = True
            self.tell_later(FLUSH_INTERVAL, CampaignFlush())

    @handles(CampaignFlush)
    def on_flush(self, msg: CampaignFlush) -> None:
        """``campaign.updated`` with the fresh counters, after the commits it describes."""
        self.flush_armed = False
        dirty = set(self.dirty)
        with db.unit_of_work():
            rows = list(Campaign.select().where(Campaign.id.in_(list(dirty))))
            counts = campaigns.counters([row.id for row in rows])
        self.dirty -= dirty  # only once read: a failed read keeps them for the next flush
        for row in rows:
            events.publish(self.system, row.tenant_id, "campaign.updated",
                           campaigns.campaign_json(row, counts[row.id]), admins_only=True)
