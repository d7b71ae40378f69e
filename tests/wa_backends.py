"""The two WhatsApp backends the contract suite runs over, behind one "phone" interface.

- ``sim``: the in-process :class:`~actors.whatsapp.simulated.PhoneNetwork` (runtime.network);
- ``selenium``: headless Chromium + ``bridge.js`` against the WhatsApp Web simulator page
  (:mod:`web.wa_simulator`), served in this process on 127.0.0.1 and driven by its control API.

Both phones take the test's connection (a ``TenantCtx``) and do what a customer, the phone or
the browser would do. ``Recorder`` wraps the client factory to keep every client made and every
event it reported (to count events, not rows: storage hides duplicates).
"""
from __future__ import annotations

import collections
import os
import signal

import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"


def require_chromium() -> None:
    """Skip loudly without Chromium; under CI=true that is a failure (never skipped silently)."""
    if os.path.exists(CHROMEDRIVER) and os.path.exists("/usr/bin/chromium"):
        return
    message = "Chromium/chromedriver missing (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def simulator():
    """``(sim, url, control)``: one simulator server per test module."""
    require_chromium()
    from web.wa_simulator import serve
    from web.wa_simulator.control import SimulatorControl

    server, sim, url = serve(qr_interval=30.0, hang_seconds=10.0)
    yield sim, url, SimulatorControl(url)
    server.stop(timeout=1)
    sim.close()


class Recorder:
    """Wraps a client factory: ``clients[whatsapp_id]`` and ``events[whatsapp_id]``."""

    def __init__(self, factory) -> None:
        self.factory = factory
        self.clients: dict[int, object] = {}
        self.events: dict[int, list] = collections.defaultdict(list)

    def __call__(self, whatsapp_id: int, on_event):
        def record(event):
            self.events[whatsapp_id].append(event)
            on_event(event)
        client = self.factory(whatsapp_id, record)
        self.clients[whatsapp_id] = client
        return client

    def of_type(self, whatsapp_id: int, kind: type) -> list:
        return [e for e in self.events[whatsapp_id] if isinstance(e, kind)]


class SimPhone:
    """The in-process phone network."""

    name = "sim"

    def __init__(self, runtime, recorder: Recorder) -> None:
        self.network = runtime.network
        self.recorder = recorder
        self.network.pair_delay = -1  # tests scan explicitly

    def number(self, ctx) -> str:
        return self.network.phone(ctx.whatsapp_id).number

    def scan(self, ctx, qr: str) -> None:
        assert self.network.scan(ctx.whatsapp_id)

    def rotate_qr(self, ctx) -> None:
        assert self.network.rotate_qr(ctx.whatsapp_id)

    def incoming(self, ctx, sender: str, body: str = "", media=None, live: bool = True) -> str:
        payload = None
        if media is not None:
            import base64
            payload = {"mimetype": media[0], "data": base64.b64encode(media[1]).decode(),
                       "filename": media[2]}
        return self.network.incoming(ctx.whatsapp_id, sender, body, media=payload, live=live)

    def sent(self, ctx) -> list[dict]:
        return self.network.sent(ctx.whatsapp_id)

    def ack(self, ctx, msg_id: str, ack: int) -> None:
        assert self.network.ack(ctx.whatsapp_id, msg_id, ack)

    def ghost(self, ctx, on: bool = True) -> None:
        self.network.set_faults(ctx.whatsapp_id, ghost=on)

    def remote_logout(self, ctx) -> None:
        self.network.set_faults(ctx.whatsapp_id, logout=True)

    def reload(self, ctx) -> None:
        assert self.network.reload(ctx.whatsapp_id)

    def crash(self, ctx) -> None:
        assert self.network.crash(ctx.whatsapp_id)


class BrowserPhone:
    """The WhatsApp Web simulator's phones, through its control API; crashes kill Chromium."""

    name = "selenium"

    def __init__(self, control, recorder: Recorder) -> None:
        self.control = control
        self.recorder = recorder

    def number(self, ctx) -> str:
        return f"5521{ctx.tenant_id:04d}{ctx.whatsapp_id:05d}"

    def scan(self, ctx, qr: str) -> None:
        self.control.scan(qr, self.number(ctx))

    def rotate_qr(self, ctx) -> None:
        assert self.control.rotate_qr() >= 1

    def incoming(self, ctx, sender: str, body: str = "", media=None, live: bool = True) -> str:
        return self.control.incoming(self.number(ctx), sender, body, media=media, live=live)

    def sent(self, ctx) -> list[dict]:
        return self.control.sent(self.number(ctx))

    def ack(self, ctx, msg_id: str, ack: int) -> None:
        self.control.ack(self.number(ctx), msg_id, ack)

    def ghost(self, ctx, on: bool = True) -> None:
        self.control.faults(self.number(ctx), ghost=on)

    def remote_logout(self, ctx) -> None:
        assert self.control.remote_logout(self.number(ctx)) == 1

    def reload(self, ctx) -> None:
        assert self.control.reload(self.number(ctx)) == 1

    def crash(self, ctx) -> None:
        pid = self.recorder.clients[ctx.whatsapp_id].browser_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
