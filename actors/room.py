"""TenantRoomActor: one per tenant; numbers its events, keeps a replay buffer, fans out.

The contract is Zulip's event queue: every event gets an id that increases per tenant; a client
that reconnects sends the last id it saw and gets every later event from the buffer, or an explicit
``{"type": "resync"}`` when the gap is older than the buffer — never a silent gap.

Ids start at the room's birth time in milliseconds × 1000, so ids stay increasing across process
restarts and an id from before a restart is always "too old" (resync), never mistaken for a new one.

Subscribers are plain objects handed down by the web layer (:class:`Subscriber`): ``offer(frame)``
puts an encoded frame into a bounded outbox without blocking and returns False when it is full;
the room then calls ``drop()`` and forgets that client — a slow client never stalls the room.
"""
from __future__ import annotations

import collections
import json
import time
from typing import Protocol

from actors.base import Actor, handles
from actors.messages import Publish, Subscribe, Unsubscribe


class Subscriber(Protocol):
    is_admin: bool  # receives ``admins_only`` events

    def offer(self, frame: str) -> bool: ...

    def drop(self) -> None: ...


class TenantRoomActor(Actor):
    def __init__(self, tenant_id: int, replay_size: int = 2000) -> None:
        super().__init__()
        self.tenant_id = tenant_id
        self.base_id = int(time.time() * 1000) * 1000
        self.last_id = self.base_id
        self.buffer: collections.deque = collections.deque(maxlen=replay_size)
        self.rooms: dict[str, set] = collections.defaultdict(set)
        self.member_of: dict[object, set[str]] = collections.defaultdict(set)

    def __str__(self) -> str:
        return f"<TenantRoomActor tenant={self.tenant_id}>"

    @handles(Publish)
    def on_publish(self, msg: Publish) -> None:
        self.last_id += 1
        frame = json.dumps({"type": "event", "id": self.last_id, "room": msg.rooms[0],
                            "event": msg.event, "data": msg.data}, default=str)
        self.buffer.append((self.last_id, msg.rooms, frame, msg.admins_only))
        targets = set()
        for room in msg.rooms:
            targets.update(self.rooms.get(room, ()))
        for subscriber in targets:
            if msg.admins_only and not subscriber.is_admin:
                continue
            if not subscriber.offer(frame):
                self._drop(subscriber)

    @handles(Subscribe)
    def on_subscribe(self, msg: Subscribe) -> dict:
        """Join ``msg.room``; replays what the client missed. Returns ``{"room", "lastEventId",
        "resync"}``. The caller has already checked that the user may see the room."""
        subscriber = msg.subscriber
        already = set(self.member_of.get(subscriber, ()))
        self.rooms[msg.room].add(subscriber)
        self.member_of[subscriber].add(msg.room)
        resync = False
        replay = []
        if msg.last_event_id is not None and msg.last_event_id != self.last_id:
            first_kept = self.buffer[0][0] if self.buffer else self.last_id + 1
            if msg.last_event_id < first_kept - 1 or msg.last_event_id > self.last_id:
                resync = True
            else:
                replay = [frame for event_id, rooms, frame, admins_only in self.buffer
                          if event_id > msg.last_event_id and msg.room in rooms
                          and not already.intersection(rooms)
                          and (subscriber.is_admin or not admins_only)]
        frames = [json.dumps({"type": "subscribed", "room": msg.room,
                              "lastEventId": self.last_id})]
        if resync:
            frames.append(json.dumps({"type": "resync", "room": msg.room,
                                      "lastEventId": self.last_id}))
        for frame in frames + replay:
            if not subscriber.offer(frame):
                self._drop(subscriber)
                break
        return {"room": msg.room, "lastEventId": self.last_id, "resync": resync}

    @handles(Unsubscribe)
    def on_unsubscribe(self, msg: Unsubscribe) -> None:
        rooms = [msg.room] if msg.room else list(self.member_of.get(msg.subscriber, ()))
        for room in rooms:
            members = self.rooms.get(room)
            if members is not None:
                members.discard(msg.subscriber)
                if not members:
                    del self.rooms[room]
            self.member_of.get(msg.subscriber, set()).discard(room)
        if not self.member_of.get(msg.subscriber):
            self.member_of.pop(msg.subscriber, None)

    def _drop(self, subscriber) -> None:
        self.on_unsubscribe(Unsubscribe(subscriber))
        subscriber.drop()

    def subscriber_count(self) -> int:
        return len(self.member_of)
