"""The selenium client's own guarantees, on one Chromium shared by the module (paired once with
the WhatsApp Web simulator): the event log is drained from a known sequence number and never
consumed by reading, a second injection is a no-op, browser calls are cooperative and bounded,
faults of the page (rejected or hanging sends, missing acks) surface as errors, the unread
backlog and its media are readable, and the browser looks like a normal desktop Chrome."""
import time

import gevent
import pytest

from actors.messages import ClientAck, ClientMessage, ClientQr, ClientReady
from actors.whatsapp.client import ClientError
from actors.whatsapp.selenium_client import _DRAIN, BrowserOptions, SeleniumClient
from helpers import wait_for
from wa_backends import simulator  # noqa: F401 - a fixture

NUMBER = "5531900000001"


class Client:
    def __init__(self, client: SeleniumClient, events: list, control) -> None:
        self.client, self.events, self.control = client, events, control

    def of_type(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture(scope="module")
def paired(simulator, tmp_path_factory):  # noqa: F811 - the fixture imported above
    _sim, url, control = simulator
    control.reset()
    events: list = []
    options = BrowserOptions(url=url, profiles_dir=str(tmp_path_factory.mktemp("profiles")),
                             poll_interval=0.05)
    client = SeleniumClient(1, events.append, options)
    client.start()
    qr = wait_for(lambda: [e for e in events if isinstance(e, ClientQr)], timeout=15)[-1].qr
    control.scan(qr, NUMBER)
    wait_for(lambda: any(isinstance(e, ClientReady) for e in events), timeout=15)
    yield Client(client, events, control)
    client.stop()


def test_draining_twice_from_the_same_sequence_number_returns_the_same_entries(paired):
    client = paired.client
    client._stop_poller()
    try:
        msg_id = paired.control.incoming(NUMBER, "5531977770001", "drain me")

        def drain():
            return client._command(lambda d: d.execute_script(_DRAIN, client._epoch,
                                                              client._seq, 500))
        first = wait_for(lambda: (batch := drain())["entries"] and batch, timeout=5)
        assert drain()["entries"] == first["entries"]  # reading consumed nothing
        assert any(e["type"] == "message" and e["data"]["id"] == msg_id
                   for e in first["entries"])
    finally:
        client._start_poller()
    wait_for(lambda: [e for e in paired.of_type(ClientMessage) if e.message.wa_id == msg_id])
    gevent.sleep(0.3)
    assert len([e for e in paired.of_type(ClientMessage) if e.message.wa_id == msg_id]) == 1


def test_a_second_injection_into_the_same_page_is_a_no_op(paired):
    first_epoch = paired.client._epoch
    result = paired.client._command(lambda d: d.execute_script(
        "return window.__ttBridge.epoch"))
    paired.client._inject()
    paired.client._inject()
    assert paired.client._command(lambda d: d.execute_script(
        "return window.__ttBridge.epoch")) == result == first_epoch
    msg_id = paired.control.incoming(NUMBER, "5531977770002", "once")
    wait_for(lambda: [e for e in paired.of_type(ClientMessage) if e.message.wa_id == msg_id])
    gevent.sleep(0.3)
    assert len([e for e in paired.of_type(ClientMessage) if e.message.wa_id == msg_id]) == 1


def test_a_browser_command_in_flight_lets_other_greenlets_run(paired):
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(1000)])
    started = time.monotonic()
    paired.client._command(lambda d: d.execute_async_script(
        "var done = arguments[arguments.length - 1]; setTimeout(done, 1000);"), timeout=5)
    ticker.kill()
    assert time.monotonic() - started >= 1.0
    assert len(ticks) >= 50  # the hub kept running while chromedriver waited


def test_a_hanging_browser_command_times_out(paired):
    client = paired.client
    client._command(lambda d: d.set_script_timeout(1))
    started = time.monotonic()
    with pytest.raises(ClientError, match="timed out"):
        client._command(lambda d: d.execute_async_script("/* never answers */"), timeout=0.5)
    assert time.monotonic() - started < 0.9
    wait_for(lambda: client.state() == "CONNECTED", timeout=5)  # chromedriver gave it up


def test_a_rejected_send_raises_client_error(paired):
    paired.control.faults(NUMBER, sends="reject")
    try:
        with pytest.raises(ClientError, match="send failed"):
            paired.client.send("5531977770003", "no", timeout=5)
    finally:
        paired.control.faults(NUMBER, sends="ok")


def test_a_hanging_send_times_out(paired):
    paired.control.faults(NUMBER, sends="hang")
    started = time.monotonic()
    try:
        with pytest.raises(ClientError, match="timed out"):
            paired.client.send("5531977770004", "stuck", timeout=0.5)
    finally:
        paired.control.faults(NUMBER, sends="ok")
    assert time.monotonic() - started < 1.5


def test_missing_acks_never_advance_a_sent_message(paired):
    paired.control.faults(NUMBER, acks="none")
    try:
        receipt = paired.client.send("5531977770005", "quiet", timeout=5)
        gevent.sleep(0.5)
    finally:
        paired.control.faults(NUMBER, acks="auto")
    assert receipt.ack == 0
    assert not [e for e in paired.of_type(ClientAck) if e.wa_id == receipt.wa_id]


def test_the_unread_backlog_is_read_with_its_media(paired):
    image = bytes.fromhex("89504e470d0a1a0a") + b"backlog"
    msg_id = paired.control.incoming(NUMBER, "5531977770006", "offline photo", live=False,
                                     media=("image/png", image, "p.png"))
    paired.client.reconnect()  # a reload loads the chats, as WhatsApp Web does at start
    unread = {m.wa_id: m for m in paired.client.get_unread()}
    assert unread[msg_id].media.mimetype == "image/png" and unread[msg_id].body == "offline photo"
    assert paired.client.download_media(unread[msg_id]).data == image


def test_the_browser_presents_a_normal_desktop_user_agent(paired):
    agent = paired.client._command(lambda d: d.execute_script("return navigator.userAgent"))
    assert "Headless" not in agent and "Chrome/" in agent and "X11; Linux" in agent
