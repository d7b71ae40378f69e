"""The simulator's server side: WhatsApp's servers and the phones, for the simulator page.

A **device** is one browser page (one WhatsApp Web tab). It starts unpaired with a QR string that
rotates every ``qr_interval`` s; a phone **scans** it (``scan(qr, number)``) and the device gets a
login token, which the page keeps in IndexedDB (so in the browser profile). A **phone** (our
number) holds the chats' unread messages, what we sent, and the faults:

- ``ghost``: the page's connection is dead but nothing says so — its state stays CONNECTED,
  nothing is delivered (messages still land in the unread chats), sends and the profile picture
  hang. A new connection (page reload) ends it, as it does on WhatsApp.
- ``profile_pic``: ok (200, no picture) | error (500) | hang.
- ``sends``: ok | reject (the server refuses) | hang.
- ``acks``: auto (server ack 1 after ``ack_delay`` s) | none (never).

Events for a page are numbered per device; the page long-polls ``events_after(device, n)``.
Every wait is bounded by ``hang_seconds``. No I/O here: :mod:`web.wa_simulator` serves it.
"""
from __future__ import annotations

import base64
import collections
import itertools
import secrets
import time
import uuid
from dataclasses import dataclass, field

import gevent
import gevent.event


class SimError(Exception):
    """A request the simulator refuses: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Device:
    id: str
    qr: str | None = None
    number: str | None = None
    token: str | None = None
    ghost: bool = False
    events: list = field(default_factory=list)  # [(n, event dict)]
    n: int = 0
    wake: gevent.event.Event = field(default_factory=gevent.event.Event)
    seen: float = field(default_factory=time.monotonic)


@dataclass
class Phone:
    number: str
    profile_pic: str = "ok"
    sends: str = "ok"
    acks: str = "auto"
    ack_delay: float | None = None
    unread: dict = field(default_factory=dict)   # customer number → deque of message dicts
    sent: list = field(default_factory=list)


class WhatsAppSimulator:
    """All devices and phones of one simulator server (thread-safe under gevent: no yields
    inside a mutation)."""

    def __init__(self, qr_interval: float = 20.0, ack_delay: float = 0.05,
                 hang_seconds: float = 30.0, unread_limit: int = 200) -> None:
        self.qr_interval = qr_interval
        self.ack_delay = ack_delay
        self.hang_seconds = hang_seconds
        self.unread_limit = unread_limit
        self.devices: dict[str, Device] = {}
        self.phones: dict[str, Phone] = {}
        self.media: dict[str, tuple[str, bytes]] = {}  # message id → (mimetype, bytes)
        self._ids = itertools.count(1)
        self._rotator = gevent.spawn(self._rotate_forever)

    def close(self) -> None:
        self._rotator.kill(block=False)

    def reset(self) -> None:
        """Forget every device, phone and medium (tests); faults go back to defaults."""
        for device in self.devices.values():
            device.wake.set()
        self.devices.clear()
        self.phones.clear()
        self.media.clear()

    def phone(self, number: str) -> Phone:
        if number not in self.phones:
            self.phones[number] = Phone(number)
        return self.phones[number]

    # --- the page's side -------------------------------------------------------------------

    def hello(self, token: str | None) -> dict:
        """A page connects. With a valid token: ``{paired, device, number, since, chats}`` (a new
        connection: not ghost); otherwise a new unpaired device ``{paired: False, device, qr}``."""
        device = self._by_token(token) if token else None
        if device is not None:
            device.ghost = False
            device.events.clear()
            device.seen = time.monotonic()
            return {"paired": True, "device": device.id, "number": device.number,
                    "pushname": f"Sim {device.number}", "since": device.n,
                    "chats": self._chats(device.number)}
        self._forget_idle()
        device = Device(id=uuid.uuid4().hex[:12], qr=self._new_qr())
        self.devices[device.id] = device
        return {"paired": False, "device": device.id, "qr": device.qr, "since": 0}

    def events_after(self, device_id: str, after: int, timeout: float) -> list[dict]:
        """The device's events numbered after ``after`` (forgetting earlier ones), waiting up
        to ``timeout`` s for one. A ghost device gets nothing. SimError 404: unknown device."""
        device = self._device(device_id)
        device.seen = time.monotonic()
        device.events = [(n, e) for n, e in device.events if n > after]
        if not self._deliverable(device):
            device.wake.clear()
            device.wake.wait(min(timeout, self.hang_seconds))
        if self.devices.get(device_id) is not device:
            return []
        return self._deliverable(device)

    def _deliverable(self, device: Device) -> list[dict]:
        events = [dict(e, n=n) for n, e in device.events]
        return [e for e in events if e.pop("force", False)] if device.ghost else events

    def logout(self, device_id: str) -> None:
        """The page logged out (our user's request): the token is revoked."""
        device = self.devices.get(device_id)
        if device is not None:
            device.token, device.number = None, None

    def send(self, device_id: str, msg_id: str, to: str, body: str, media: dict | None,
             quoted_id: str | None) -> dict:
        """Our message leaves. ``{id}``; SimError 502 (rejected) or a hang per the faults."""
        device = self._paired(device_id)
        phone = self.phone(device.number)
        if device.ghost or phone.sends == "hang":
            gevent.sleep(self.hang_seconds)
            raise SimError(504, "send timed out")
        if phone.sends == "reject":
            raise SimError(502, "the server rejected the message")
        item = {"id": msg_id, "to": to, "body": body}
        if media:
            item["media"] = {"mimetype": media.get("mimetype"), "filename": media.get("filename"),
                             "size": len(base64.b64decode(media.get("data") or ""))}
        if quoted_id:
            item["quotedMsgId"] = quoted_id
        phone.sent.append(item)
        if phone.acks == "auto":
            delay = self.ack_delay if phone.ack_delay is None else phone.ack_delay
            gevent.spawn_later(delay, self._publish_to_phone, phone.number,
                               {"kind": "ack", "id": msg_id, "ack": 1})
        return {"id": msg_id}

    def profile_pic(self, device_id: str) -> dict:
        """Our own picture: ``{eurl: None}`` (no picture: healthy), SimError 500, or a hang."""
        device = self._paired(device_id)
        mode = "hang" if device.ghost else self.phone(device.number).profile_pic
        if mode == "hang":
            gevent.sleep(self.hang_seconds)
            raise SimError(504, "profile picture timed out")
        if mode == "error":
            raise SimError(500, "profile picture failed")
        return {"eurl": None}

    def media_of(self, msg_id: str) -> tuple[str, bytes]:
        if msg_id not in self.media:
            raise SimError(404, "media no longer available")
        return self.media[msg_id]

    # --- the control API's side (tests and demos) --------------------------------------------

    def scan(self, qr: str, number: str | None = None) -> dict:
        """The phone ``number`` scans ``qr``. ``{device, number}``; SimError 409: no such QR."""
        device = next((d for d in self.devices.values() if d.qr == qr and d.token is None), None)
        if device is None:
            raise SimError(409, "no page shows this QR code (expired or already scanned)")
        number = number or f"5511{next(self._ids):09d}"
        device.qr, device.number, device.token = None, number, secrets.token_urlsafe(16)
        self.phone(number)
        self._publish(device, {"kind": "paired", "token": device.token, "number": number})
        return {"device": device.id, "number": number}

    def rotate_qr(self) -> int:
        """Every waiting QR is replaced now. Returns how many."""
        waiting = [d for d in self.devices.values() if d.token is None and d.qr]
        for device in waiting:
            device.qr = self._new_qr()
            self._publish(device, {"kind": "qr", "qr": device.qr})
        return len(waiting)

    def incoming(self, number: str, sender: str, body: str = "", name: str | None = None,
                 msg_id: str | None = None, type: str | None = None, media: dict | None = None,
                 quoted_id: str | None = None, live: bool = True) -> str:
        """A customer's message reaches ``number``; it stays unread in the chat. ``live=False``
        only adds it to the unread backlog. ``media`` is ``{mimetype, data (base64), filename?}``
        (ValueError on bad base64). Returns the message id."""
        msg_id = msg_id or f"false_{sender}@c.us_{uuid.uuid4().hex[:20].upper()}"
        message = {"id": msg_id, "from": sender, "name": name, "body": body,
                   "type": type or "chat", "t": int(time.time()), "quotedId": quoted_id}
        if media:
            data = base64.b64decode(media["data"], validate=True)
            self.media[msg_id] = (media["mimetype"], data)
            major = media["mimetype"].split("/", 1)[0]
            message.update(type=type or (major if major in ("image", "video", "audio")
                                         else "document"),
                           mimetype=media["mimetype"], filename=media.get("filename"),
                           directPath=f"/api/media/{msg_id}")
        phone = self.phone(number)
        chat = phone.unread.setdefault(sender, collections.deque(maxlen=self.unread_limit))
        chat.append(message)
        if live:
            self._publish_to_phone(number, {"kind": "message", "message": message})
        return msg_id

    def ack(self, number: str, msg_id: str, ack: int) -> bool:
        """The recipient's phone reports delivery (2), read (3), played (4). False: unknown id."""
        if not any(item["id"] == msg_id for item in self.phone(number).sent):
            return False
        self._publish_to_phone(number, {"kind": "ack", "id": msg_id, "ack": ack})
        return True

    def set_faults(self, number: str, ghost: bool | None = None, profile_pic: str | None = None,
                   sends: str | None = None, acks: str | None = None,
                   ack_delay: float | None = None) -> dict:
        phone = self.phone(number)
        if ghost is not None:
            for device in self._devices_of(number):
                device.ghost = ghost
                device.wake.set()
        if profile_pic is not None:
            phone.profile_pic = profile_pic
        if sends is not None:
            phone.sends = sends
        if acks is not None:
            phone.acks = acks
        if ack_delay is not None:
            phone.ack_delay = ack_delay
        return self.phone_state(number)

    def remote_logout(self, number: str) -> int:
        """The phone unlinks its devices: each page is told, its token revoked. Returns how many."""
        devices = self._devices_of(number)
        for device in devices:
            device.token, device.number, device.ghost = None, None, False
            self._publish(device, {"kind": "logout"})
        return len(devices)

    def reload(self, number: str) -> int:
        """The phone's pages reload themselves (a WhatsApp Web update, a navigation)."""
        devices = self._devices_of(number)
        for device in devices:
            self._publish(device, {"kind": "reload", "force": True}, even_ghost=True)
        return len(devices)

    def phone_state(self, number: str) -> dict:
        phone = self.phone(number)
        devices = self._devices_of(number)
        return {"number": number, "devices": [d.id for d in devices],
                "ghost": any(d.ghost for d in devices), "profilePic": phone.profile_pic,
                "sends": phone.sends, "acks": phone.acks,
                "unread": {k: len(v) for k, v in phone.unread.items()}, "sent": len(phone.sent)}

    def waiting_qrs(self) -> list[dict]:
        return [{"device": d.id, "qr": d.qr} for d in self.devices.values()
                if d.token is None and d.qr]

    # --- internals --------------------------------------------------------------------------

    def _new_qr(self) -> str:
        return f"2@{secrets.token_urlsafe(24)},{secrets.token_urlsafe(12)},sim"

    def _device(self, device_id: str) -> Device:
        device = self.devices.get(device_id)
        if device is None:
            raise SimError(404, "unknown device")
        return device

    def _paired(self, device_id: str) -> Device:
        device = self._device(device_id)
        if device.token is None:
            raise SimError(401, "not logged in")
        return device

    def _by_token(self, token: str) -> Device | None:
        return next((d for d in self.devices.values() if d.token == token), None)

    def _devices_of(self, number: str) -> list[Device]:
        return [d for d in self.devices.values() if d.number == number and d.token]

    def _chats(self, number: str) -> list[dict]:
        return [{"id": sender, "unreadCount": len(messages), "msgs": list(messages)}
                for sender, messages in self.phone(number).unread.items()]

    def _publish(self, device: Device, event: dict, even_ghost: bool = False) -> None:
        if device.ghost and not even_ghost:
            return  # a dead connection: the event is lost, as on a real dead socket
        device.n += 1
        device.events.append((device.n, event))
        del device.events[:-1000]
        device.wake.set()

    def _publish_to_phone(self, number: str, event: dict) -> None:
        for device in self._devices_of(number):
            self._publish(device, event)

    def _forget_idle(self, idle: float = 300.0) -> None:
        now = time.monotonic()
        for device_id in [d.id for d in self.devices.values()
                          if d.token is None and now - d.seen > idle]:
            del self.devices[device_id]

    def _rotate_forever(self) -> None:
        while True:
            gevent.sleep(self.qr_interval)
            self.rotate_qr()
