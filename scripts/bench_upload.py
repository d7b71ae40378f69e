"""A campaign's contact upload through the real app, and how the rest of the server fares meanwhile.

Boots the real runtime in-process (actors, database, queue, simulated WhatsApp) behind gevent's
WSGI server on 127.0.0.1, logs in as a tenant administrator, creates a draft campaign and uploads
a ``--rows`` CSV (default 50,000 lines ``55117NNNNNNNN;Nome N``) with ``POST
/campaigns/<id>/contacts``, over HTTP. While the upload runs, a poller calls ``GET /health`` on
its own keep-alive connection every ``--poll`` seconds (default 0.01) and records each latency:
a request that waits for the upload shows the freeze every other tenant would see. Then it
uploads the same file again (every row a duplicate: the lookup path). Last, in the same run and
database, the raw floor: the same contacts and recipients inserted with one ``executemany`` per
table in one transaction, no app, no HTTP.

Prints, per upload: seconds, rows/s, the report's counts, and the ``/health`` latencies during
the upload (p50 / p99 / max, in ms, with the number of polls).

    scripts/bench_upload [--rows 50000] [--poll 0.01] [--database-url URL] [--redis-url URL]
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from storage import db, tenants  # noqa: E402
from storage.models import utcnow  # noqa: E402
from web import create_app  # noqa: E402
from web.runtime import boot, shutdown  # noqa: E402
from web.settings import Settings  # noqa: E402

BOUNDARY = "tt-bench-upload-boundary"


def listener() -> socket.socket:
    """127.0.0.1 on a free port, with ``TCP_NODELAY`` (inherited by accepted sockets): without it
    Nagle's algorithm and the client's delayed ACK add ~40 ms to every keep-alive response, which
    would hide the latency this benchmark is about."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None) -> tuple[int, dict]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def csv_body(rows: int, base: int) -> bytes:
    lines = "".join(f"{base + n};Nome {n}\n" for n in range(rows)).encode()
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"lista.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode() + lines + \
        f"\r\n--{BOUNDARY}--\r\n".encode()


class HealthPoller:
    """``GET /health`` due every ``interval`` seconds, on its own connection. ``latencies`` (s)
    has one entry per due moment: from that moment until a response completed. A moment that
    passes while the server is stalled counts as a request that arrived then and waited for the
    stall to end (no coordinated omission: a stall is not hidden by the poller being stalled
    too)."""

    def __init__(self, port: int, interval: float) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.interval, self.latencies, self.running = interval, [], True
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        due = time.perf_counter()
        while self.running:
            wait = due - time.perf_counter()
            if wait > 0:
                gevent.sleep(wait)
            status, _ = call(self.conn, "GET", "/health")
            done = time.perf_counter()
            assert status == 200, status
            while due <= done:
                self.latencies.append(done - due)
                due += self.interval

    def stop(self) -> list[float]:
        self.running = False
        self.greenlet.join(timeout=130)
        self.conn.close()
        return self.latencies


def quiet(port: int, poll: float, seconds: float = 1.0) -> dict:
    """The poller alone for ``seconds``: the machine's own latency, to read the others by."""
    poller = HealthPoller(port, poll)
    gevent.sleep(seconds)
    return {"latencies": sorted(poller.stop())}


def upload(port: int, token: str, campaign_id: int, body: bytes, poll: float) -> dict:
    """One upload with the poller running; the figures of that run."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    poller = HealthPoller(port, poll)
    gevent.sleep(0.1)  # a few quiet polls first
    start = time.perf_counter()
    status, report = call(conn, "POST", f"/campaigns/{campaign_id}/contacts", body, {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    seconds = time.perf_counter() - start
    latencies = sorted(poller.stop())
    conn.close()
    assert status == 200, (status, report)
    return {"seconds": seconds, "report": report, "latencies": latencies}


def raw_floor(tenant_id: int, campaign_id: int, rows: int, base: int) -> float:
    """The same rows, one statement per table in one transaction, for another tenant: no app,
    no HTTP, no lookups, no yielding. SQLite: ``executemany``; PostgreSQL: ``execute_values``
    (1,000 rows a statement; its ``executemany`` is one round trip per row). Seconds."""
    now = db.ts(utcnow())
    contacts = [(tenant_id, f"Nome {n}", str(base + n), "", False, now, now) for n in range(rows)]
    insert_contacts = ("INSERT INTO contact (tenant_id, name, number, email, is_group, "
                       "created_at, updated_at) VALUES ")
    insert_recipients = ("INSERT INTO campaign_contact (campaign_id, contact_id, name, status, "
                         "created_at, updated_at) VALUES ")
    start = time.perf_counter()
    with db.write():
        cursor = db.database.cursor()
        many = cursor.executemany if db.is_sqlite() else None
        if many is None:
            from psycopg2.extras import execute_values

            def many(sql, values):
                execute_values(cursor, sql.split(" VALUES ")[0] + " VALUES %s", values,
                               page_size=1000)
        many(db.sql(insert_contacts + "(?, ?, ?, ?, ?, ?, ?)"), contacts)
        cursor.execute(db.sql("SELECT id, name FROM contact WHERE tenant_id = ?"), (tenant_id,))
        recipients = [(campaign_id, cid, name, "pending", now, now)
                      for cid, name in cursor.fetchall()]
        many(db.sql(insert_recipients + "(?, ?, ?, ?, ?, ?)"), recipients)
    return time.perf_counter() - start


def ms(latencies: list[float], q: float) -> float:
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000


def latency_line(label: str, lat: list[float]) -> str:
    return (f"{label:<24}p50 {ms(lat, 0.5):6.1f} ms  p99 {ms(lat, 0.99):7.1f} ms  "
            f"max {lat[-1] * 1000:7.1f} ms  ({len(lat)} polls due)")


def show(label: str, rows: int, run: dict) -> None:
    report = run["report"]
    print(f"{label:<24}{run['seconds']:7.2f} s  {rows / run['seconds']:9,.0f} rows/s   "
          f"added {report['added']:,} duplicates {report['duplicates']:,} "
          f"rejected {len(report['rejected']):,}")
    print(latency_line("  GET /health meanwhile", run["latencies"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--poll", type=float, default=0.01, help="seconds between polls")
    parser.add_argument("--database-url", default=None,
                        help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="tt-bench-upload-")
    url = args.database_url or f"sqlite:///{workdir}/bench.db"
    settings = Settings(database_url=url, redis_url=args.redis_url, secret_key="bench-" * 8,
                        public_dir=f"{workdir}/public", send_rate=0, sim_pair_delay=0,
                        watchdog_interval=3600, sim_state=f"{workdir}/sim.jsonl")
    runtime = boot(settings)
    server = WSGIServer(listener(), create_app(runtime), log=None)
    server.start()
    port = server.server_port
    email = f"bench-{uuid.uuid4().hex[:8]}@x.test"
    with db.unit_of_work():
        tenant, _ = tenants.create_tenant("Bench", email, "benchpw1")
        whatsapp = tenants.create_whatsapp(tenant.id, "bench")
        other, _ = tenants.create_tenant("Raw", f"raw-{email}", "benchpw1")
        other_whatsapp = tenants.create_whatsapp(other.id, "raw")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    _, login = call(conn, "POST", "/auth/login",
                    json.dumps({"email": email, "password": "benchpw1"}).encode(),
                    {"Content-Type": "application/json"})
    token = login["token"]
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, campaign = call(conn, "POST", "/campaigns", json.dumps(
        {"name": "bench", "whatsappId": whatsapp.id, "message1": "Oi {{name}}"}).encode(), auth)
    assert status == 201, campaign
    with db.unit_of_work():
        from storage import campaigns

        raw_campaign = campaigns.create_campaign(other.id, whatsapp=other_whatsapp.id,
                                                 name="raw", message1="Oi")
    conn.close()

    base = 5511970000000  # valid Brazilian mobile numbers (the upload checks them)
    body = csv_body(args.rows, base)
    idle = quiet(port, args.poll)
    first = upload(port, token, campaign["id"], body, args.poll)
    again = upload(port, token, campaign["id"], body, args.poll)
    raw_seconds = raw_floor(other.id, raw_campaign.id, args.rows, base)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server.stop(timeout=1)
    shutdown(runtime)

    print(f"backend                 {url.split(':', 1)[0]}"
          f"{' + redis' if args.redis_url else ' + embedded queue'}; {args.rows:,} CSV rows "
          f"({len(body) / 1e6:.1f} MB), /health polled every {args.poll * 1000:g} ms")
    print(latency_line("GET /health, no upload", idle["latencies"]))
    show("upload (new contacts)", args.rows, first)
    show("upload again (all dups)", args.rows, again)
    print(f"{'raw insert floor':<24}{raw_seconds:7.2f} s  {args.rows / raw_seconds:9,.0f}"
          f" rows/s   (contacts + recipients, one transaction, no app)")
    print(f"upload / raw            {first['seconds'] / raw_seconds:.1f}x")
    print(f"peak RSS                {rss_mb:,.0f} MiB")
    ok = (first["report"]["added"] == args.rows and again["report"]["duplicates"] == args.rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
