"""The simulated phone network keeps what it received and its saved logins across restarts."""
from actors.whatsapp.simulated import PhoneNetwork


def _events():
    got = []
    return got, got.append


def test_sent_log_and_pairing_survive_a_restart(tmp_path):
    path = str(tmp_path / "sim.jsonl")
    network = PhoneNetwork(pair_delay=-1, state_path=path)
    events, sink = _events()
    client = network.client(7, sink)
    client.start()
    assert network.scan(7)
    client.send("5511900000000", "persisted")
    network.close()

    again = PhoneNetwork(pair_delay=-1, state_path=path)
    assert [item["body"] for item in again.sent(7)] == ["persisted"]
    assert again.phone(7).paired
    events, sink = _events()
    again.client(7, sink).start()  # the saved login: ready without a QR
    assert [type(e).__name__ for e in events] == ["ClientState", "ClientReady"]
    again.close()


def test_a_torn_last_line_is_ignored(tmp_path):
    path = tmp_path / "sim.jsonl"
    path.write_text('{"t": "sent", "w": 1, "item": {"id": "a", "to": "1", "body": "ok"}}\n{"t": "se')
    network = PhoneNetwork(state_path=str(path))
    assert [item["id"] for item in network.sent(1)] == ["a"]
    network.close()
