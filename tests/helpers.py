"""Test helpers (imported by tests; ``conftest.py`` has already patched gevent)."""
import json
import time

import gevent


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02, message: str = ""):
    """Poll ``predicate`` (yielding to other greenlets) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{message or getattr(predicate, '__name__', 'condition')}")
        gevent.sleep(interval)


class WsClient:
    """A WebSocket dashboard client (websocket-client, cooperative under gevent)."""

    def __init__(self, address: str, token: str | None = None):
        import websocket

        self.ws = websocket.create_connection(f"ws://{address}/ws", timeout=5)
        self.frames: list[dict] = []
        if token is not None:
            self.send({"type": "auth", "token": token})
            ready = self.next_frame()
            assert ready["type"] == "ready", ready

    def send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))

    def next_frame(self, timeout: float = 5.0) -> dict:
        self.ws.settimeout(timeout)
        frame = json.loads(self.ws.recv())
        self.frames.append(frame)
        return frame

    def subscribe(self, room: str = "tenant", last_event_id: int | None = None) -> dict:
        frame = {"type": "subscribe", "room": room}
        if last_event_id is not None:
            frame["last_event_id"] = last_event_id
        self.send(frame)
        return self.wait_frame(lambda f: f["type"] in ("subscribed", "error"))

    def wait_frame(self, predicate, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching frame arrived")
            frame = self.next_frame(remaining)
            if predicate(frame):
                return frame

    def wait_event(self, name: str, predicate=lambda data: True, timeout: float = 5.0) -> dict:
        return self.wait_frame(lambda f: f["type"] == "event" and f["event"] == name
                               and predicate(f["data"]), timeout)

    def close(self) -> None:
        self.ws.close()
