"""Inbound and outbound throughput, beside the raw single-row insert rate of the same database.

Boots the real runtime in-process (actors, database, simulated WhatsApp), injects customer
messages into the phone network (they enter through the session actor's mailbox exactly as live
WhatsApp events do), and waits until every one is stored. Then it stores ``--replies`` outbound
messages the way ``POST /messages`` does and waits until the simulated phone received them all
(through the embedded or the Redis ``SendMessages`` queue). Last, in the same run and the same
database, it measures the raw ceiling: one INSERT of an equivalent message row per transaction.

    scripts/bench_inbound --messages 5000 --contacts 200 [--database-url URL] [--redis-url URL]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gevent  # noqa: E402

from actors.messages import SendMessage, StartSession  # noqa: E402
from storage import db, tenants  # noqa: E402
from storage.models import Message, Ticket, utcnow  # noqa: E402
from web.runtime import boot, shutdown  # noqa: E402
from web.settings import Settings  # noqa: E402


def stored_count(tenant_id: int) -> int:
    with db.unit_of_work():
        return Message.select().where(Message.tenant == tenant_id).count()


def raw_insert_rate(ticket: Ticket, count: int) -> float:
    """The persistence ceiling: one hand-written INSERT of a message row per committed
    transaction, through the same connection pool and writer lock, no query builder."""
    sql = ("INSERT INTO message (id, tenant_id, ticket_id, whatsapp_id, contact_id, "
           "wa_message_id, from_me, body, ack, status, send_type, attempts, created_at, "
           "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'received', 'chat', 0, ?, ?)")
    if not db.is_sqlite():
        sql = sql.replace("?", "%s")
    start = time.perf_counter()
    for _ in range(count):
        now = utcnow()
        stamp = now.isoformat(" ") if db.is_sqlite() else now
        with db.write():
            db.database.execute_sql(sql, (str(uuid.uuid4()), ticket.tenant_id, ticket.id,
                                          ticket.whatsapp_id, ticket.contact_id, uuid.uuid4().hex,
                                          False, "raw", stamp, stamp))
    return count / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--database-url", default=None,
                        help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--redis-url", default="",
                        help="use the Redis SendMessages queue (e.g. redis://127.0.0.1:6379/5; "
                             "the DB is flushed); default: the embedded queue")
    parser.add_argument("--replies", type=int, default=2000,
                        help="outbound messages to send after the inbound run (throttle off)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="tt-bench-")
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    settings = Settings(database_url=url, redis_url=args.redis_url, secret_key="bench",
                        public_dir=f"{workdir}/public", sim_state=f"{workdir}/sim.jsonl",
                        send_rate=0, sim_pair_delay=0, watchdog_interval=3600)
    runtime = boot(settings)
    with db.unit_of_work():
        tenant, _ = tenants.create_tenant("Bench", f"bench-{uuid.uuid4().hex[:8]}@x.test", "benchpw")
        whatsapp = tenants.create_whatsapp(tenant.id, "bench")
    runtime.system.start_connection(whatsapp.id, tenant.id)
    runtime.system.session(whatsapp.id).ask(StartSession(), timeout=5)
    gevent.sleep(0.2)
    network = runtime.network
    numbers = [f"55119{n:08d}" for n in range(args.contacts)]

    start = time.perf_counter()
    for i in range(args.messages):
        network.incoming(whatsapp.id, numbers[i % len(numbers)], f"message {i}")
        if i % 100 == 99:
            gevent.sleep(0)  # let the actors run, as a live client would
    injected = time.perf_counter() - start
    while stored_count(tenant.id) < args.messages:
        gevent.sleep(0.01)
    elapsed = time.perf_counter() - start
    inbound_rate = args.messages / elapsed

    outbound_rate = 0.0
    if args.replies:
        with db.unit_of_work():
            ticket_ids = [t.id for t in Ticket.select(Ticket.id).where(Ticket.tenant == tenant.id)]
        def attendant(ticket_id: int, count: int) -> None:  # POST /messages, minus HTTP
            for i in range(count):
                runtime.system.ticket(ticket_id).ask(SendMessage(body=f"reply {i}", user_id=None),
                                                     timeout=30)

        start = time.perf_counter()
        per_ticket, extra = divmod(args.replies, len(ticket_ids))
        gevent.joinall([gevent.spawn(attendant, tid, per_ticket + (n < extra))
                        for n, tid in enumerate(ticket_ids)], raise_error=True)
        while len(network.sent(whatsapp.id)) < args.replies:
            gevent.sleep(0.01)
        outbound_rate = args.replies / (time.perf_counter() - start)

    with db.unit_of_work():
        ticket = Ticket.select().where(Ticket.tenant == tenant.id).first()
        raw_rate = raw_insert_rate(ticket, min(args.messages, 3000))
    with db.unit_of_work():
        tickets_made = Ticket.select().where(Ticket.tenant == tenant.id).count()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shutdown(runtime)

    backend = url.split(":", 1)[0]
    print(f"backend                 {backend}")
    print(f"messages injected       {args.messages} from {args.contacts} contacts "
          f"(injection took {injected:.2f}s)")
    print(f"tickets created         {tickets_made} (expected {min(args.contacts, args.messages)})")
    print(f"inbound stored/s        {inbound_rate:,.0f}")
    print(f"raw single-row insert/s {raw_rate:,.0f}  (baseline, same database, same run)")
    print(f"ratio inbound/raw       {inbound_rate / raw_rate:.2f}")
    if args.replies:
        queue = "redis" if args.redis_url else "embedded"
        print(f"outbound sent/s         {outbound_rate:,.0f}  ({args.replies} replies, {queue} "
              f"queue, throttle off, one connection; stored pending → sent)")
        print(f"ratio outbound/raw      {outbound_rate / raw_rate:.2f}")
    print(f"peak RSS                {rss_mb:,.0f} MiB")
    ok = tickets_made == min(args.contacts, args.messages)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
