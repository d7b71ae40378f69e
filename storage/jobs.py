"""The ``SendMessages`` job queue (seed: Redis DB 3; here also an embedded one).

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
from typing import Callable


@dataclass(frozen=True)
class SendJob:
    message_id: str
    whatsapp_id: int
    tenant_id: int


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

    def close(self) -> None:
        self._consumers.clear()
