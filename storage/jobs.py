"""The ``SendMessages`` job queue (seed: Redis DB 3, :class:`RedisJobQueue`; without Redis,
:class:`EmbeddedJobQueue`).

A job names one outbound message row; the row is the source of truth. Jobs are routed to the
consumer of the connection that owns the session (``whatsapp_id``). Delivery is at-least-once:
a consumer calls :meth:`ack` once the row holds the outcome, and a job whose row is no longer
``pending`` is acknowledged without sending again.

:class:`EmbeddedJobQueue` keeps jobs in memory and is made durable by the database: at start-up
and periodically the recovery sweep re-enqueues every ``pending`` row that has no live job
(:meth:`outstanding` tells which have one).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass
import logging
import os
import socket
import uuid
from typing import Callable

import gevent
import gevent.event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendJob:
    message_id: str
    whatsapp_id: int
    tenant_id: int
    entry_id: str | None = None  # the Redis stream entry that carried it (None when embedded)


Deliver = Callable[[SendJob], None]


class EmbeddedJobQueue:
    """In-process queue: ``put`` hands the job to the connection's consumer (or holds it until one
    subscribes). Never blocks; never raises for a missing consumer."""

    def __init__(self) -> None:
        self._consumers: dict[int, Deliver] = {}
        self._waiting: dict[int, collections.deque[SendJob]] = collections.defaultdict(
            collections.deque)
        self._live: set[str] = set()

    def put(self, job: SendJob) -> None:
        if job.message_id in self._live:
            return
        self._live.add(job.message_id)
        deliver = self._consumers.get(job.whatsapp_id)
        if deliver is None:
            self._waiting[job.whatsapp_id].append(job)
        else:
            deliver(job)

    def consume(self, whatsapp_id: int, deliver: Deliver) -> None:
        """Route the connection's jobs to ``deliver`` (a non-blocking callable, e.g. a ``tell``)."""
        self._consumers[whatsapp_id] = deliver
        waiting = self._waiting.pop(whatsapp_id, ())
        for job in waiting:
            deliver(job)

    def stop_consuming(self, whatsapp_id: int) -> None:
        self._consumers.pop(whatsapp_id, None)

    def ack(self, job: SendJob) -> None:
        self._live.discard(job.message_id)

    def outstanding(self, message_id: str) -> bool:
        """True while a job for this message is queued or being worked on."""
        return message_id in self._live

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self._consumers.clear()


# Adds the job only when no live job exists for the message: the membership test, the set
# update and the stream append happen atomically, so a crash can never leave a message marked
# live with no entry to carry it.
_PUT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('XADD', KEYS[2], '*', 'message_id', ARGV[1], 'whatsapp_id', ARGV[2],
                    'tenant_id', ARGV[3])
end
return false
"""


class RedisJobQueue:
    """``SendMessages`` on Redis streams: at-least-once, routed per connection, crash-safe.

    - one stream per connection, ``tt:jobs:<whatsappId>``, read through the consumer group
      ``senders``; the set ``tt:jobs:live`` holds the message ids that have a job;
    - a job stays in the group's pending list until :meth:`ack` (after the row holds the
      outcome); retries wait inside the sender, the entry still pending;
    - every consumer (one per process) refreshes ``tt:consumer:<name>`` (TTL ``heartbeat_ttl``
      seconds); the pending entries of a consumer whose key expired — a dead process — are
      claimed and delivered again;
    - at most ``max_outstanding`` jobs per connection are delivered and not yet acked
      (backpressure: a throttled number does not pull its whole stream into memory).

    Redis being down never raises out of :meth:`put`: the row stays ``pending`` and the
    recovery sweep enqueues it once Redis answers again.
    """

    GROUP = "senders"
    LIVE = "tt:jobs:live"

    def __init__(self, url: str, heartbeat_ttl: float = 15.0, max_outstanding: int = 100) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                                          socket_connect_timeout=3, health_check_interval=30)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.heartbeat_ttl = heartbeat_ttl
        self.max_outstanding = max_outstanding
        self._put = self.redis.register_script(_PUT)
        self._consumers: dict[int, Deliver] = {}
        self._outstanding: dict[int, int] = collections.defaultdict(int)
        self._groups: set[int] = set()
        self._reader: gevent.Greenlet | None = None
        self._keeper: gevent.Greenlet | None = None
        self._wake = gevent.event.Event()

    @staticmethod
    def stream(whatsapp_id: int) -> str:
        return f"tt:jobs:{whatsapp_id}"

    def put(self, job: SendJob) -> bool:
        """Enqueue unless a live job exists. False when Redis is unreachable (logged)."""
        try:
            self._put(keys=[self.LIVE, self.stream(job.whatsapp_id)],
                      args=[job.message_id, job.whatsapp_id, job.tenant_id])
            return True
        except Exception as exc:  # noqa: BLE001 - redis.RedisError and socket errors alike
            log.warning("job for %s not enqueued (Redis: %s); the sweep will retry",
                        job.message_id, exc)
            return False

    def consume(self, whatsapp_id: int, deliver: Deliver) -> None:
        self._consumers[whatsapp_id] = deliver
        self._wake.set()
        if self._reader is None:
            self._reader = gevent.spawn(self._read_forever)
            self._keeper = gevent.spawn(self._keep_forever)

    def stop_consuming(self, whatsapp_id: int) -> None:
        self._consumers.pop(whatsapp_id, None)

    def ack(self, job: SendJob) -> None:
        if job.entry_id is not None:
            self._outstanding[job.whatsapp_id] = max(0, self._outstanding[job.whatsapp_id] - 1)
            self._wake.set()
        try:
            with self.redis.pipeline() as pipe:
                if job.entry_id is not None:
                    pipe.xack(self.stream(job.whatsapp_id), self.GROUP, job.entry_id)
                    pipe.xdel(self.stream(job.whatsapp_id), job.entry_id)
                pipe.srem(self.LIVE, job.message_id)
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the entry is delivered again; the row decides
            log.warning("ack of %s failed (Redis: %s)", job.message_id, exc)

    def outstanding(self, message_id: str) -> bool:
        try:
            return bool(self.redis.sismember(self.LIVE, message_id))
        except Exception:  # noqa: BLE001 - unknown: do not enqueue twice while Redis is down
            return True

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        for greenlet in (self._reader, self._keeper):
            if greenlet is not None:
                greenlet.kill(block=True, timeout=2)
        self._consumers.clear()
        try:
            self.redis.delete(f"tt:consumer:{self.name}")
        except Exception:  # noqa: BLE001
            pass
        self.redis.close()

    # --- the reader and the keeper --------------------------------------------------------------

    def _ensure_group(self, whatsapp_id: int) -> None:
        if whatsapp_id in self._groups:
            return
        import redis

        try:
            self.redis.xgroup_create(self.stream(whatsapp_id), self.GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(whatsapp_id)

    def _job(self, entry_id: str, fields: dict) -> SendJob:
        return SendJob(fields["message_id"], int(fields["whatsapp_id"]), int(fields["tenant_id"]),
                       entry_id)

    def _deliver(self, whatsapp_id: int, entry_id: str, fields: dict) -> None:
        deliver = self._consumers.get(whatsapp_id)
        if deliver is None or not fields:
            return
        self._outstanding[whatsapp_id] += 1
        deliver(self._job(entry_id, fields))

    def _read_forever(self) -> None:
        failures = 0
        while True:
            try:
                streams = {}
                for whatsapp_id in list(self._consumers):
                    if self._outstanding[whatsapp_id] < self.max_outstanding:
                        self._ensure_group(whatsapp_id)
                        streams[self.stream(whatsapp_id)] = ">"
                if not streams:
                    self._wake.clear()
                    self._wake.wait(1.0)
                    continue
                replies = self.redis.xreadgroup(self.GROUP, self.name, streams, count=100,
                                                block=1000)
                failures = 0
                for stream, entries in replies or ():
                    whatsapp_id = int(stream.rsplit(":", 1)[1])
                    for entry_id, fields in entries:
                        self._deliver(whatsapp_id, entry_id, fields)
            except Exception as exc:  # noqa: BLE001 - Redis down: wait and try again
                failures += 1
                self._groups.clear()
                delay = min(10.0, 0.2 * 2 ** failures)
                log.warning("job reader: Redis error (%s); retrying in %.1fs", exc, delay)
                gevent.sleep(delay)

    def _keep_forever(self) -> None:
        while True:
            try:
                self.redis.set(f"tt:consumer:{self.name}", "1", ex=max(1, int(self.heartbeat_ttl)))
                self.claim_from_dead_consumers()
            except Exception as exc:  # noqa: BLE001
                log.warning("job keeper: Redis error (%s)", exc)
            gevent.sleep(self.heartbeat_ttl / 3)

    def claim_from_dead_consumers(self) -> int:
        """Take over the pending entries of consumers whose heartbeat expired. Returns how many."""
        claimed = 0
        for whatsapp_id in list(self._consumers):
            stream = self.stream(whatsapp_id)
            self._ensure_group(whatsapp_id)
            summary = self.redis.xpending(stream, self.GROUP)
            for consumer in summary.get("consumers") or ():
                name = consumer["name"]
                if name == self.name or self.redis.exists(f"tt:consumer:{name}"):
                    continue
                pending = self.redis.xpending_range(stream, self.GROUP, "-", "+", 1000, name)
                ids = [p["message_id"] for p in pending]
                if not ids:
                    continue
                for entry_id, fields in self.redis.xclaim(stream, self.GROUP, self.name, 0, ids):
                    if fields:
                        self._deliver(whatsapp_id, entry_id, fields)
                        claimed += 1
                    else:  # the entry was deleted: drop it from the pending list
                        self.redis.xack(stream, self.GROUP, entry_id)
                self.redis.xgroup_delconsumer(stream, self.GROUP, name)
        if claimed:
            log.info("claimed %d jobs from dead consumers", claimed)
        return claimed
