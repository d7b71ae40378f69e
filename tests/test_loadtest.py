"""The load test's small variant: a few hundred messages told into the session actors, a few
WebSocket clients in another process, replies; asserts correctness (stored exactly once, seen
exactly once by every client of the tenant, replies sent exactly once), never timing."""
import importlib.util
import os

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts",
                      "loadtest.py")


@pytest.fixture(scope="module")
def loadtest():
    spec = importlib.util.spec_from_file_location("tt_loadtest", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(90)
def test_small_load_is_stored_once_and_reaches_every_client(loadtest, database_url, redis_url,
                                                           tmp_path):
    opts = loadtest.Options(
        db="postgres" if database_url.startswith("postgres") else "sqlite",
        queue="redis" if redis_url else "embedded",
        database_url=database_url, redis_url=redis_url or None,
        tenants=2, connections=2, contacts=15, messages=400, clients=6, replies=60,
        duplicates=0.1, window=100, timeout=20, baseline=True, baseline_rows=100,
        baseline_tells=5000, baseline_frames=20, progress=False, workdir=str(tmp_path))
    result = loadtest.run(opts)
    assert result["checks"]["stored_exactly_once"], result["storage"]
    assert result["checks"]["one_ticket_per_contact"], result["storage"]
    assert result["checks"]["seen_by_every_client"], result["delivery"]
    assert result["checks"]["replies_sent_exactly_once"], result["replies"]
    assert result["checks"]["no_duplicate_events"], result["inbound"]
    assert result["checks"]["no_errors_logged"], result["errors"]
    assert result["ok"]
    assert result["inbound"]["replays_injected"] > 0  # idempotency was exercised
    assert result["delivery"]["deliveries"] == 400 * 3  # 6 clients over 2 tenants: 3 each
    assert result["baseline"]["broadcast"]["missing"] == 0
    assert "inbound stored/s" in loadtest.table(result)


def test_message_plan_covers_every_contact_round_robin(loadtest):
    plan = loadtest.Plan(tenants=2, connections=3, contacts=4)
    seen = {plan.locate(seq) for seq in range(plan.total_contacts)}
    assert len(seen) == 24
    assert all(plan.tenant_of(s) == plan.locate(s)[0] for s in range(100))


def test_histogram_percentiles(loadtest):
    h = loadtest.Histogram()
    for ms in range(1, 101):
        h.add(ms / 1000)
    summary = h.summary()
    assert summary["count"] == 100 and summary["max"] == 100.0
    assert 49 <= summary["p50"] <= 51 and 98 <= summary["p99"] <= 100


def test_client_accounting_counts_duplicates_and_missing_deliveries(loadtest):
    import json
    import time

    plan = loadtest.Plan(tenants=1, connections=1, contacts=2)
    stats = loadtest.ClientStats(plan, messages=4)
    conn = loadtest.WsConn(0, group=0, messages=4)

    def frame(seq):
        return json.dumps({"type": "event", "event": "message.created",
                           "data": {"body": f"lt {seq} {time.time():.6f}"}}).encode()

    for seq in (0, 1, 1, 3):  # 1 twice, 2 never
        stats.frame(conn, 1, frame(seq), time.time())
    assert conn.count == 3 and stats.delivered == 3 and stats.duplicates == 1
    assert [seq for seq in range(4) if not conn.seen[seq]] == [2]
