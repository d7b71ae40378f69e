"""A client of the simulator's control API (tests, demos, ``scripts/bench_selenium``).

Plain ``urllib`` (cooperative under gevent's patching). Every method raises
:class:`ControlError` with the HTTP status on a 4xx/5xx answer.
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class SimulatorControl:
    """``SimulatorControl("http://127.0.0.1:8100/")``."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout

    def _request(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ControlError(exc.code, exc.read().decode(errors="replace")) from None

    def scan(self, qr: str, number: str | None = None) -> dict:
        return self._request("POST", "/control/scan", {"qr": qr, "number": number})

    def waiting_qrs(self) -> list[dict]:
        return self._request("GET", "/control/qr")

    def rotate_qr(self) -> int:
        return self._request("POST", "/control/qr/rotate", {})["rotated"]

    def incoming(self, number: str, sender: str, body: str = "", name: str | None = None,
                 media: tuple[str, bytes, str | None] | None = None, live: bool = True,
                 msg_id: str | None = None) -> str:
        """``media`` is ``(mimetype, bytes, filename)``. Returns the message id."""
        payload = {"from": sender, "body": body, "name": name, "live": live, "id": msg_id}
        if media is not None:
            payload["media"] = {"mimetype": media[0], "data": base64.b64encode(media[1]).decode(),
                                "filename": media[2]}
        return self._request("POST", f"/control/phones/{number}/incoming", payload)["id"]

    def sent(self, number: str) -> list[dict]:
        return self._request("GET", f"/control/phones/{number}/sent")

    def ack(self, number: str, msg_id: str, ack: int) -> None:
        self._request("POST", f"/control/phones/{number}/ack", {"id": msg_id, "ack": ack})

    def faults(self, number: str, **faults) -> dict:
        """``ghost``, ``profilePic`` (ok|error|hang), ``sends`` (ok|reject|hang), ``acks``
        (auto|none), ``ackDelay``."""
        return self._request("POST", f"/control/phones/{number}/faults", faults)

    def remote_logout(self, number: str) -> int:
        return self._request("POST", f"/control/phones/{number}/logout", {})["devices"]

    def reload(self, number: str) -> int:
        return self._request("POST", f"/control/phones/{number}/reload", {})["devices"]

    def phone(self, number: str) -> dict:
        return self._request("GET", f"/control/phones/{number}")

    def reset(self) -> None:
        self._request("POST", "/control/reset", {})
