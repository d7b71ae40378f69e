"""SenderActor: one per connection; the outbound flow's worker (seed §Saída, job ``SendMessages``).

It takes the connection's jobs from the queue, paces them (``send_rate`` messages per minute per
number with random jitter, 0 disables the throttle), asks its :class:`SessionActor` to send one at
a time, and records the outcome on the row: ``sent`` with WhatsApp's id and ack, or — after
``send_retries`` retries with ``backoff.expo`` delays, scheduled as messages to itself — ``failed``
with ack -1. A job whose row is no longer ``pending`` is acknowledged without sending (at-least-
once delivery from the queue never becomes a duplicate send here; a campaign send revoked by
pause or cancel is such a row). Every change is an event; a campaign send has no ticket and
reports to its campaign actor instead (``campaign.updated``).
"""
from __future__ import annotations

import collections
import logging
import random
import time


from actors import events
from actors.base import Actor, expo_delays, handles
from actors.messages import (Drain, JobArrived, RetryDue, SendDue, SendOverdue, SendRequest,
                             SendResult, SentRecorded)
from storage import db, messages
from storage.jobs import SendJob
from storage.models import Message
from storage.serialize import message_json

log = logging.getLogger(__name__)


class SenderActor(Actor):
    def __init__(self, system, whatsapp_id: int) -> None:
        super().__init__()
        self.system = system
        self.config = system.config
        self.whatsapp_id = whatsapp_id
        self.jobs: collections.deque[SendJob] = collections.deque()
        self.in_flight: SendJob | None = None
        self.next_send_at = 0.0
        self.wake_scheduled = False
        self.in_flight_since = 0.0
        self.overdue_armed = False
        self.draining = False
        self.delays: dict[str, object] = {}

    def __str__(self) -> str:
        return f"<SenderActor whatsapp={self.whatsapp_id}>"

    @handles(JobArrived)
    def on_job(self, msg: JobArrived) -> None:
        self.jobs.append(msg.job)
        self._pump()

    @handles(RetryDue)
    def on_retry_due(self, msg: RetryDue) -> None:
        self.jobs.appendleft(msg.job)
        self._pump()

    @handles(SendDue)
    def on_due(self, msg: SendDue) -> None:
        self.wake_scheduled = False
        self._pump()

    def _interval(self) -> float:
        rate = self.config.send_rate
        if rate <= 0:
            return 0.0
        base = 60.0 / rate
        return base * random.uniform(1.0, 1.0 + self.config.send_jitter)

    @handles(Drain)
    def on_drain(self, msg: Drain) -> bool:
        self.draining = True
        return self.in_flight is None

    def _pump(self) -> None:
        """Start the next send if nothing is in flight and the throttle allows it."""
        while self.in_flight is None and self.jobs and not self.draining:
            wait = self.next_send_at - time.monotonic()
            if wait > 0:
                if not self.wake_scheduled:
                    self.wake_scheduled = True
                    self.tell_later(wait, SendDue())
                return
            job = self.jobs.popleft()
            request = self._request_for(job)
            if request is None:
                self.system.ack_job(job)
                continue
            self.in_flight = job
            self.next_send_at = time.monotonic() + self._interval()
            self.system.session(self.whatsapp_id).tell(request)
            self.in_flight_since = time.monotonic()
            if not self.overdue_armed:  # one timer per sender, not one per send
                self.overdue_armed = True
                self.tell_later(self.config.send_timeout * 2, SendOverdue())

    def _request_for(self, job: SendJob) -> SendRequest | None:
        """The session's instructions for ``job``, or None when the row is no longer pending."""
        with db.unit_of_work():
            row = messages.send_instructions(job.message_id)
        if row is None:
            return None
        status, from_me, number, body, media_path, media_name, quoted = row
        if status != "pending" or not from_me:
            return None
        return SendRequest(job, number, body, media_path, media_name, quoted, self.actor_ref)

    @handles(SendOverdue)
    def on_overdue(self, msg: SendOverdue) -> None:
        self.overdue_armed = False
        if self.in_flight is None:
            return
        waited = time.monotonic() - self.in_flight_since
        limit = self.config.send_timeout * 2
        if waited >= limit:
            self.on_result(SendResult(self.in_flight, False, error="the session did not answer"))
        else:
            self.overdue_armed = True
            self.tell_later(limit - waited, SendOverdue())

    @handles(SendResult)
    def on_result(self, msg: SendResult) -> None:
        if self.in_flight is not msg.job:
            return  # a late answer to a send already counted as overdue
        self.in_flight = None
        try:
            self._record(msg)
        finally:
            self._pump()

    def _record(self, msg: SendResult) -> None:
        job = msg.job
        if msg.ok:
            with db.unit_of_work():
                row = messages.mark_sent(job.message_id, msg.wa_id, msg.ack)
            self.delays.pop(job.message_id, None)
            self.system.ack_job(job)
            self.system.session(self.whatsapp_id).tell(SentRecorded(msg.wa_id))
            self.system.metrics.outbound_sent.inc()
            if row is not None:
                self._changed(row)
            return
        if msg.not_connected:
            log.info("%s: session not ready (%s); job %s waits", self, msg.error, job.message_id)
            self.tell_later(self.config.send_retry_delay, RetryDue(job))
            return
        with db.unit_of_work():
            attempts = Message.select(Message.attempts).where(
                Message.id == job.message_id).scalar() or 0
            final = attempts + 1 > self.config.send_retries
            row = messages.mark_attempt_failed(job.message_id, msg.error, final)
        self.system.metrics.send_attempts_failed.inc()
        if row is not None:
            self._changed(row)
            if final:
                self.system.metrics.outbound_failed.inc()
        if final or row is None:
            self.delays.pop(job.message_id, None)
            self.system.ack_job(job)
            log.warning("%s: message %s failed after %d attempts: %s", self, job.message_id,
                        attempts + 1, msg.error)
            return
        delays = self.delays.get(job.message_id)
        if delays is None:
            delays = self.delays[job.message_id] = expo_delays(self.config.send_retry_delay, 300)
        delay = next(delays) * random.uniform(0.75, 1.25)
        log.info("%s: attempt %d of %s failed (%s); retry in %.2fs", self, attempts + 1,
                 job.message_id, msg.error, delay)
        self.tell_later(delay, RetryDue(job))

    def _changed(self, row: Message) -> None:
        """Tell who follows the row: a ticket's message is a ``message.updated`` event; a
        campaign send (no ticket) moves its recipient through the campaign actor instead."""
        if row.send_type != "campaign":
            events.publish(self.system, row.tenant_id, "message.updated", message_json(row),
                           row.ticket_id)
        elif row.status != "pending":
            self.system.campaign_message_changed(row)

    def on_event_error(self, message, exc: Exception) -> None:
        """The database failed while recording: the row stays pending; the sweep re-enqueues it."""
        if isinstance(message, SendResult):
            self.system.ack_job(message.job)
