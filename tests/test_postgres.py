"""PostgreSQL is cooperative under gevent (psycogreen): a slow query parks only its greenlet."""
import os
import time

import gevent
import pytest

from storage import db

pytestmark = pytest.mark.skipif(
    not os.environ.get("TT_TEST_DATABASE_URL", "").startswith("postgres"),
    reason="runs in the PostgreSQL + Redis suite")


def test_ten_slow_queries_run_concurrently_while_a_ticker_ticks(runtime):
    ticks = []

    def ticker():
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.05)

    def slow_query():
        with db.unit_of_work():
            db.database.execute_sql("SELECT pg_sleep(0.5)")

    clock = gevent.spawn(ticker)
    started = time.monotonic()
    gevent.joinall([gevent.spawn(slow_query) for _ in range(10)], raise_error=True)
    elapsed = time.monotonic() - started
    clock.kill()
    assert elapsed < 2.0, f"10 × pg_sleep(0.5) took {elapsed:.2f}s: queries blocked the hub"
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) >= 8 and max(gaps) < 0.3, f"the ticker stalled: max gap {max(gaps):.2f}s"


def test_pool_is_bounded_and_waits_instead_of_failing(runtime):
    pool = db.database.obj
    assert pool._max_connections == 20

    def hold():
        with db.unit_of_work():
            db.database.execute_sql("SELECT pg_sleep(0.3)")

    started = time.monotonic()
    gevent.joinall([gevent.spawn(hold) for _ in range(30)], raise_error=True)
    assert time.monotonic() - started >= 0.55  # 30 on 20 connections: two rounds
    assert len(pool._in_use) == 0
