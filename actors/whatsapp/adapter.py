"""The one table of WhatsApp-Web-specific names the selenium client and ``bridge.js`` depend on.

When WhatsApp Web renames a module or a selector, this file (and only this file) changes. The names
are those whatsapp-web.js uses (``src/util/Injected/Store.js``, ``src/Client.js``) for WhatsApp Web
2.3000+, where the page exposes its modules through ``window.require(name)``. The local simulator
(:mod:`web.wa_simulator`) implements the same names, so the bridge runs unchanged against both.
"""
from __future__ import annotations

from actors.whatsapp.client import CONNECTED, CONFLICT, OPENING, PAIRING, QRCODE, TIMEOUT

WHATSAPP_WEB_URL = "https://web.whatsapp.com/"

# A normal desktop Chrome; ``{version}`` is the running browser's (headless says "HeadlessChrome").
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/{version} Safari/537.36")

# Handed to bridge.js as its only argument (JSON). Keys are the bridge's; values are WhatsApp's.
PAGE = {
    "modules": {
        "collections": "WAWebCollections",            # .Msg, .Chat (Backbone-like collections)
        "socket": "WAWebSocketModel",                 # .Socket: .state, on('change:state'), logout()
        "conn": "WAWebConnModel",                     # .Conn: .wid {user, _serialized}, .pushname
        "profilePic": "WAWebContactProfilePicThumbBridge",  # requestProfilePicFromServer(wid)
        "sendMsg": "WAWebSendMsgChatAction",          # addAndSendMsgToChat(chat, msg) → [msgP, sendP]
        "findChat": "WAWebFindChatAction",            # findOrCreateLatestChat(wid) → {chat}
        "widFactory": "WAWebWidFactory",              # createWid("5511…@c.us")
        "download": "WAWebDownloadManager",           # .downloadManager.downloadAndMaybeDecrypt(…)
        "loadMsgs": "WAWebChatLoadMessages",          # loadEarlierMsgs(chat) → msgs
    },
    "selectors": {
        "qr": "div[data-ref]",                        # the QR string is its data-ref attribute
        "qrRetry": "div[data-ref] > span > button",   # "click to reload QR code"
    },
    "qrAttribute": "data-ref",
    "userServer": "c.us",
    # Socket states of a live (or recovering) session; after having been CONNECTED, a logged-out
    # state means the phone unlinked us, and any other state is a disconnect (whatsapp-web.js).
    "acceptedStates": ["CONNECTED", "OPENING", "PAIRING", "TIMEOUT", "CONFLICT"],
    "loggedOutStates": ["UNPAIRED", "UNPAIRED_IDLE"],
    # Rejections of requestProfilePicFromServer that mean "no picture", not "no connection".
    "noPictureErrors": ["ServerStatusCodeError"],
}

# WhatsApp Web's Socket.state → the session's status names (others pass through unchanged).
STATE_MAP = {
    "CONNECTED": CONNECTED,
    "OPENING": OPENING,
    "PAIRING": PAIRING,
    "TIMEOUT": TIMEOUT,
    "CONFLICT": CONFLICT,
    "UNPAIRED": QRCODE,
    "UNPAIRED_IDLE": QRCODE,
}


def session_state(wa_state: str | None) -> str:
    """Map a ``Socket.state`` (or None before the page's modules load) to a session status."""
    if not wa_state:
        return OPENING
    return STATE_MAP.get(wa_state, wa_state)
