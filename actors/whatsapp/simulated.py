"""The simulated WhatsApp: an in-process phone network and a client that talks to it.

The embedded default, the tests' client and the load tests' client. :class:`PhoneNetwork` plays
WhatsApp's servers and the customers' phones for every connection of the process:

- customers' messages arrive with :meth:`PhoneNetwork.incoming`; they reach a live, healthy client
  at once and always stay in the chat's unread list (what SyncUnread reads after a reconnect);
- what we send is recorded in order (:meth:`PhoneNetwork.sent`), acked 1 (server) shortly after,
  and 2/3/4 when a test or demo calls :meth:`PhoneNetwork.ack`;
- faults (:meth:`PhoneNetwork.set_faults`): ``fail_sends`` N next sends fail; ``hang_sends``
  blocks sends past any timeout until cleared; ``ghost`` keeps the
  state CONNECTED while nothing flows and the profile picture fails (a false connection);
  ``profile_pic`` ok|error|hang; ``logout`` logs the phone out remotely; ``acks`` auto|none
  (the server ack 1 comes, or never does);
- the "browser": :meth:`PhoneNetwork.reload` reloads the page (OPENING, then ready again),
  :meth:`PhoneNetwork.crash` kills it (every call fails until a hard reconnect); a QR is replaced
  every ``qr_interval`` s (:meth:`PhoneNetwork.rotate_qr`: now).

Same behaviours as the selenium client against the WhatsApp Web simulator page: one contract
suite runs over both (``tests/test_whatsapp_contract.py``).
"""
from __future__ import annotations

import base64
import collections
import itertools
import json
import os
import time
import uuid
from dataclasses import dataclass, field

import gevent

from actors.messages import (ClientAck, ClientDisconnected, ClientLoggedOut, ClientMessage,
                             ClientQr, ClientReady, ClientState, Media, WaMessage)
from actors.whatsapp.client import (CONNECTED, DISCONNECTED, OPENING, PAIRING, QRCODE,
                                    ClientError, NotConnected, NotPaired, SendReceipt,
                                    WhatsAppClient)


@dataclass
class Phone:
    """One connection's side of the network."""

    whatsapp_id: int
    number: str
    paired: bool = False
    fail_sends: int = 0
    hang_sends: bool = False
    acks: str = "auto"
    ghost: bool = False
    profile_pic: str = "ok"
    sent: list[dict] = field(default_factory=list)
    unread: dict[str, collections.deque] = field(default_factory=dict)
    client: "SimulatedClient | None" = None


class PhoneNetwork:
    """Every simulated phone of the process, keyed by connection id.

    ``pair_delay`` (seconds) is how long a QR waits before the simulated phone scans it by itself
    (a negative value: only :meth:`scan` pairs). ``ack_delay`` (seconds) is the server ack's delay.
    ``qr_interval`` (seconds) is how long a QR lives before a new one replaces it (<= 0: never).
    """

    def __init__(self, pair_delay: float = 2.0, ack_delay: float = 0.05,
                 unread_limit: int = 200, state_path: str | None = None,
                 qr_interval: float = 20.0) -> None:
        self.pair_delay = pair_delay
        self.ack_delay = ack_delay
        self.qr_interval = qr_interval
        self.unread_limit = unread_limit
        self._phones: dict[int, Phone] = {}
        self._ids = itertools.count(1)
        self._state = None
        if state_path:
            self._load(state_path)
            self._state = open(state_path, "a", encoding="utf-8")
            if self._state.tell() > 0:
                self._state.write("\n")  # end a line a kill -9 may have torn

    # --- what survives a restart: the sent log and the saved logins (a JSON-lines file) ------

    def _load(self, path: str) -> None:
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            return
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line torn by a kill -9
                phone = self.phone(record["w"])
                if record["t"] == "sent":
                    phone.sent.append(record["item"])
                elif record["t"] == "paired":
                    phone.paired = record["v"]

    def _record(self, kind: str, whatsapp_id: int, **fields) -> None:
        if self._state is not None:
            self._state.write(json.dumps({"t": kind, "w": whatsapp_id, **fields}) + "\n")
            self._state.flush()  # in the OS before send() returns: survives kill -9

    def record_sent(self, phone: Phone, item: dict) -> None:
        phone.sent.append(item)
        self._record("sent", phone.whatsapp_id, item=item)

    def set_paired(self, phone: Phone, paired: bool) -> None:
        if phone.paired != paired:
            phone.paired = paired
            self._record("paired", phone.whatsapp_id, v=paired)

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    def phone(self, whatsapp_id: int) -> Phone:
        phone = self._phones.get(whatsapp_id)
        if phone is None:
            phone = self._phones[whatsapp_id] = Phone(whatsapp_id, f"55119{whatsapp_id:08d}")
        return phone

    def client(self, whatsapp_id: int, on_event) -> "SimulatedClient":
        return SimulatedClient(self, whatsapp_id, on_event)

    # --- the customers' side -----------------------------------------------------------------

    def incoming(self, whatsapp_id: int, number: str, body: str = "", name: str | None = None,
                 wa_id: str | None = None, type: str | None = None,
                 media: dict | None = None, quoted_wa_id: str | None = None,
                 live: bool = True) -> str:
        """A customer's message reaches our number. Returns its WhatsApp id.

        ``media`` is ``{mimetype, data (base64), filename?}``. Raises ValueError on bad base64.
        ``live=False`` only adds it to the chat's unread backlog (what SyncUnread reads).
        """
        attachment = None
        if media:
            data = base64.b64decode(media["data"], validate=True)
            attachment = Media(media["mimetype"], media.get("filename"), data)
        message = WaMessage(
            wa_id=wa_id or f"false_{number}@c.us_{uuid.uuid4().hex[:20].upper()}",
            number=number, body=body, name=name, timestamp=int(time.time()),
            type=type or (_type_of(attachment.mimetype) if attachment else "chat"),
            quoted_wa_id=quoted_wa_id, media=attachment)
        phone = self.phone(whatsapp_id)
        chat = phone.unread.setdefault(number, collections.deque(maxlen=self.unread_limit))
        chat.append(message)
        client = phone.client
        if live and client is not None and client.live():
            client.on_event(ClientMessage(_without_data(message)))
        return message.wa_id

    def sent(self, whatsapp_id: int) -> list[dict]:
        """What the network received from this connection, in order: ``[{id, to, body, media?}]``."""
        return list(self.phone(whatsapp_id).sent)

    def ack(self, whatsapp_id: int, wa_id: str, ack: int) -> bool:
        """The recipient's phone reports delivery (2), read (3) or played (4). False: unknown id."""
        phone = self.phone(whatsapp_id)
        if not any(item["id"] == wa_id for item in phone.sent):
            return False
        if phone.client is not None and phone.client.live():
            phone.client.on_event(ClientAck(wa_id, ack))
        return True

    def scan(self, whatsapp_id: int) -> bool:
        """The phone scans the QR on screen. False when no QR is waiting."""
        phone = self.phone(whatsapp_id)
        if phone.client is None or phone.client._state != QRCODE:
            return False
        phone.client._paired()
        return True

    def rotate_qr(self, whatsapp_id: int) -> bool:
        """A new QR replaces the one on screen now. False when no QR is waiting."""
        phone = self.phone(whatsapp_id)
        if phone.client is None or phone.client._state != QRCODE:
            return False
        phone.client._show_qr()
        return True

    def reload(self, whatsapp_id: int) -> bool:
        """The page reloads by itself: OPENING, then ready again (or a QR). False: no page."""
        phone = self.phone(whatsapp_id)
        if phone.client is None or phone.client._crashed:
            return False
        phone.client._reload()
        return True

    def crash(self, whatsapp_id: int) -> bool:
        """The browser dies: every call fails until a hard reconnect. False: no browser."""
        phone = self.phone(whatsapp_id)
        if phone.client is None:
            return False
        phone.client._crash()
        return True

    def set_faults(self, whatsapp_id: int, fail_sends: int | None = None,
                   ghost: bool | None = None, profile_pic: str | None = None,
                   logout: bool = False, hang_sends: bool | None = None,
                   acks: str | None = None) -> dict:
        phone = self.phone(whatsapp_id)
        if acks is not None:
            phone.acks = acks
        if fail_sends is not None:
            phone.fail_sends = fail_sends
        if hang_sends is not None:
            phone.hang_sends = hang_sends
        if ghost is not None:
            phone.ghost = ghost
        if profile_pic is not None:
            phone.profile_pic = profile_pic
        if logout:
            self.set_paired(phone, False)
            if phone.client is not None:
                phone.client._remote_logout()
        return {"failSends": phone.fail_sends, "ghostDisconnect": phone.ghost,
                "profilePic": phone.profile_pic, "paired": phone.paired,
                "hangSends": phone.hang_sends, "acks": phone.acks}


class SimulatedClient(WhatsAppClient):
    """A WhatsApp Web session against :class:`PhoneNetwork`; same contract as the browser one."""

    def __init__(self, network: PhoneNetwork, whatsapp_id: int, on_event) -> None:
        super().__init__(whatsapp_id, on_event)
        self.network = network
        self.phone = network.phone(whatsapp_id)
        self._state = DISCONNECTED
        self._pairing: gevent.Greenlet | None = None
        self._rotating: gevent.Greenlet | None = None
        self._crashed = False

    def live(self) -> bool:
        return self._state == CONNECTED and not self.phone.ghost and not self._crashed

    def _alive(self) -> None:
        if self._crashed:
            raise ClientError("browser: not connected to DevTools (the browser is gone)")

    def start(self) -> None:
        self.phone.client = self
        self._crashed = False
        self._set_state(OPENING)
        if self.phone.paired:
            self._ready()
        else:
            self._show_qr()

    def _set_state(self, state: str) -> None:
        self._state = state
        self.on_event(ClientState(state))

    def _show_qr(self) -> None:
        self._state = QRCODE
        qr = f"2@{uuid.uuid4().hex},{self.phone.number},sim"
        self.on_event(ClientQr(qr))
        self._kill_timers()
        if self.network.pair_delay >= 0:
            self._pairing = gevent.spawn_later(self.network.pair_delay, self._paired)
        if self.network.qr_interval > 0:
            self._rotating = gevent.spawn_later(self.network.qr_interval, self._rotate)

    def _rotate(self) -> None:
        if self._state == QRCODE and not self._crashed:
            self._rotating = None  # _show_qr must not kill the greenlet it runs in
            self._show_qr()

    def _kill_timers(self) -> None:
        for timer in (self._pairing, self._rotating):
            if timer is not None and timer is not gevent.getcurrent():
                timer.kill(block=False)
        self._pairing = self._rotating = None

    def _paired(self) -> None:
        if self._state == QRCODE:
            self._kill_timers()
            self.network.set_paired(self.phone, True)
            self._set_state(PAIRING)
            self._ready()

    def _reload(self) -> None:
        self.phone.ghost = False
        self._set_state(OPENING)
        self._ready() if self.phone.paired else self._show_qr()

    def _crash(self) -> None:
        self._kill_timers()
        self._crashed = True
        self._state = DISCONNECTED
        self.on_event(ClientDisconnected("browser: not connected to DevTools"))

    def _ready(self) -> None:
        self._state = CONNECTED
        self.on_event(ClientReady(self.phone.number))

    def _remote_logout(self) -> None:
        self.phone.ghost = False
        self.on_event(ClientLoggedOut("remote logout"))
        self._show_qr()

    def state(self) -> str:
        self._alive()
        return self._state

    def verify_real_connection(self, timeout: float) -> bool:
        if self._state != CONNECTED or self._crashed or not self.phone.paired:
            return False  # an unpaired phone: the server refuses the revoked device (401)
        mode = "error" if self.phone.ghost else self.phone.profile_pic
        if mode == "hang":
            gevent.sleep(timeout)
            return False
        return mode == "ok"

    def send(self, to, body, media=None, quoted_wa_id=None, timeout=30.0) -> SendReceipt:
        self._alive()
        if self._state != CONNECTED:
            raise NotConnected(f"session is {self._state}")
        if self.phone.ghost:
            gevent.sleep(min(timeout, 1.0))
            raise ClientError("send timed out")
        if self.phone.hang_sends:  # a client stuck past its own timeout: only the sender notices
            while self.phone.hang_sends:
                gevent.sleep(0.05)
        if self.phone.fail_sends > 0:
            self.phone.fail_sends -= 1
            raise ClientError("simulated send failure")
        wa_id = f"true_{to}@c.us_{uuid.uuid4().hex[:20].upper()}"
        item = {"id": wa_id, "to": to, "body": body}
        if media is not None:
            item["media"] = {"mimetype": media.mimetype, "filename": media.filename,
                             "size": len(media.data or b"")}
        if quoted_wa_id:
            item["quotedMsgId"] = quoted_wa_id
        self.network.record_sent(self.phone, item)
        if self.phone.acks == "auto":
            gevent.spawn_later(self.network.ack_delay, self._server_ack, wa_id)
        return SendReceipt(wa_id, 0)

    def _server_ack(self, wa_id: str) -> None:
        if self.live():
            self.on_event(ClientAck(wa_id, 1))

    def get_unread(self, limit_per_chat: int = 100) -> list[WaMessage]:
        self._alive()
        if not self.live():
            raise NotConnected(f"session is {self._state}")
        messages = []
        for chat in self.phone.unread.values():
            messages.extend(_without_data(m) for m in list(chat)[-limit_per_chat:])
        return messages

    def download_media(self, message: WaMessage) -> Media:
        for chat in self.phone.unread.values():
            for stored in chat:
                if stored.wa_id == message.wa_id and stored.media is not None:
                    return stored.media
        raise ClientError("media no longer available")

    def reconnect(self, hard: bool = False) -> None:
        if self._crashed and not hard:
            raise ClientError("the browser is gone (a restart is needed)")
        self._crashed = False
        if not self.phone.paired:
            self.phone.client = self
            self._show_qr()
            raise NotPaired("not paired: the page shows a QR code")
        self.phone.ghost = False
        self.phone.client = self
        self._set_state(OPENING)
        self._ready()

    def logout(self) -> None:
        self.network.set_paired(self.phone, False)
        self._state = DISCONNECTED
        self._kill_timers()

    def new_qr(self) -> None:
        self.network.set_paired(self.phone, False)
        self.phone.client = self
        self._show_qr()

    def stop(self) -> None:
        self._kill_timers()
        self._state = DISCONNECTED
        if self.phone.client is self:
            self.phone.client = None


def _type_of(mimetype: str) -> str:
    major = mimetype.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "document"


def _without_data(message: WaMessage) -> WaMessage:
    """What a client event carries: the media's description; bytes come from ``download_media``."""
    if message.media is None:
        return message
    from dataclasses import replace

    return replace(message, media=Media(message.media.mimetype, message.media.filename))
