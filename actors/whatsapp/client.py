"""The WhatsApp client interface the :class:`~actors.session.SessionActor` drives.

Shapes follow whatsapp-web.js. Every method may block on I/O (a browser, a socket): the session
calls them from a spawned greenlet, never from its mailbox, and each takes or enforces a timeout.
The client reports what happens by calling ``on_event`` with the ``Client*`` events of
:mod:`actors.messages` (``ClientQr``, ``ClientReady``, ``ClientMessage``, ``ClientAck``,
``ClientDisconnected``, ``ClientLoggedOut``, ``ClientState``).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable

from actors.messages import Media, WaMessage

# WhatsApp Web's WAState values, plus the states of the session before the page is up.
CONNECTED = "CONNECTED"
OPENING = "OPENING"
PAIRING = "PAIRING"
QRCODE = "qrcode"  # Izing's status name while a QR waits to be scanned
TIMEOUT = "TIMEOUT"
CONFLICT = "CONFLICT"
UNPAIRED = "UNPAIRED"
DISCONNECTED = "DISCONNECTED"
LOGOUT = "LOGOUT"              # the phone unlinked us; a QR follows
RECONNECTING = "RECONNECTING"  # the session's progressive reconnect loop is running


class ClientError(Exception):
    """A call to WhatsApp failed (the message says why)."""


class NotConnected(ClientError):
    """The client is not in a state to do this (not paired, reconnecting, logged out)."""


class NotPaired(NotConnected):
    """The saved login is gone: only scanning a new QR helps (never retried in a loop)."""


@dataclass(frozen=True)
class SendReceipt:
    """What ``sendMessage`` returned: WhatsApp's id for the new message and its first ack."""

    wa_id: str
    ack: int = 0


EventSink = Callable[[object], None]


class WhatsAppClient(abc.ABC):
    """One WhatsApp number's client. ``on_event`` must not block (it is usually a ``tell``)."""

    def __init__(self, whatsapp_id: int, on_event: EventSink) -> None:
        self.whatsapp_id = whatsapp_id
        self.on_event = on_event

    @abc.abstractmethod
    def start(self) -> None:
        """Open the session: restore the saved login (→ ready) or show a QR (→ ClientQr)."""

    @abc.abstractmethod
    def state(self) -> str:
        """The state the client claims (``WAState``), e.g. CONNECTED — possibly a lie."""

    @abc.abstractmethod
    def verify_real_connection(self, timeout: float) -> bool:
        """A real round trip (our own profile picture). False on error or after ``timeout`` s.

        "No picture" is healthy (seed §Watchdog: falha ao buscar foto de perfil = falsa conexão).
        """

    @abc.abstractmethod
    def send(self, to: str, body: str, media: Media | None = None,
             quoted_wa_id: str | None = None, timeout: float = 30.0) -> SendReceipt:
        """Send to ``to`` (digits). Raises NotConnected or ClientError."""

    @abc.abstractmethod
    def get_unread(self, limit_per_chat: int = 100) -> list[WaMessage]:
        """SyncUnread: the last ``unreadCount`` messages of every chat with unread messages."""

    @abc.abstractmethod
    def download_media(self, message: WaMessage) -> Media:
        """The message's attachment with ``data`` filled. Raises ClientError."""

    @abc.abstractmethod
    def reconnect(self, hard: bool = False) -> None:
        """Soft: re-inject/reload the page. Hard: restart the browser on the same profile.
        Returns once CONNECTED again (``ClientReady`` was reported). Never deletes the saved
        login. Raises NotPaired when a QR shows instead, ClientError when it did not come back."""

    @abc.abstractmethod
    def logout(self) -> None:
        """Log out and delete the saved login (only on the user's request)."""

    @abc.abstractmethod
    def new_qr(self) -> None:
        """Drop the saved login and show a fresh QR (the user asked for a new QR)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Close the client, keeping the saved login."""
