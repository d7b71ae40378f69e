"""The actor base class: typed dispatch, event-failure containment, timers as delayed messages.

Pykka stops an actor whose ``on_receive`` raises for a told message, and whatever is still in its
mailbox is lost. Here an :class:`~actors.messages.Event` handler that raises is logged and handed
to :meth:`Actor.on_event_error` instead, so one bad message never costs the ones behind it.
:class:`~actors.messages.Command` handlers raise into the asking caller as usual.
"""
from __future__ import annotations

import logging
from typing import Callable

import backoff
import gevent
import pykka

from actors.messages import Command

log = logging.getLogger(__name__)


def handles(*message_types: type) -> Callable:
    """Mark a method as the handler of ``message_types``."""
    def mark(fn):
        fn._handles = message_types
        return fn
    return mark


def expo_delays(factor: float, cap: float):
    """``backoff.expo`` delays in seconds: factor, 2×factor, 4×factor … capped at ``cap``.

    backoff's generators yield None first (primed by its decorators); this one is primed.
    """
    delays = backoff.expo(base=2, factor=factor, max_value=cap)
    next(delays)
    return delays


class Actor(pykka.ThreadingActor):
    """Dispatches each message to the method marked ``@handles(type(message))``."""

    use_daemon_thread = True
    _dispatch: dict[type, Callable] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        table: dict[type, Callable] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                for message_type in getattr(attr, "_handles", ()):
                    table[message_type] = attr
        cls._dispatch = table

    def __init__(self) -> None:
        super().__init__()
        self._timers: set[gevent.Greenlet] = set()

    def on_receive(self, message):
        handler = self._dispatch.get(type(message))
        if handler is None:
            log.warning("%s: no handler for %r", self, message)
            return None
        if isinstance(message, Command):
            return handler(self, message)
        try:
            return handler(self, message)
        except Exception as exc:  # noqa: BLE001 - contained on purpose, see module docstring
            log.exception("%s failed on %s", self, type(message).__name__)
            self.on_event_error(message, exc)
            return None

    def on_event_error(self, message, exc: Exception) -> None:
        """Recover from a failed event (default: nothing beyond the log line)."""

    def tell_later(self, delay: float, message) -> gevent.Greenlet:
        """Deliver ``message`` to this actor after ``delay`` seconds (a timer, not a sleep)."""
        ref = self.actor_ref

        def fire():
            self._timers.discard(timer)
            if ref.is_alive():
                ref.tell(message)

        timer = gevent.spawn_later(max(0.0, delay), fire)
        self._timers.add(timer)
        return timer

    def spawn(self, fn: Callable, *args) -> gevent.Greenlet:
        """Run blocking I/O off the mailbox; ``fn`` tells the result back to the actor."""
        return gevent.spawn(fn, *args)

    def on_stop(self) -> None:
        for timer in list(self._timers):
            timer.kill(block=False)
        self._timers.clear()
