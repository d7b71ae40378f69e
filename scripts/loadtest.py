"""Load test: drive the session actors' mailboxes, measure storage, fan-out and replies.

Boots the real service in this process (database, migrations, actors, simulated WhatsApp, the Flask
app on gevent's WSGIServer bound to 127.0.0.1), creates ``--tenants`` × ``--connections`` ×
``--contacts``, and tells ``--messages`` customer messages straight into the session actors'
mailboxes (``ClientMessage``: what a live WhatsApp client reports), at ``--rate`` per second or as
fast as the service stores them. ``--clients`` real WebSocket dashboard clients run in a separate
process (a gevent pool, so measuring steals no CPU from the server), spread round-robin over the
tenants and subscribed to room ``tenant``; each message body carries its injection time
(``time.time()``, one clock on one machine), so every client measures injection → arrival.
``--replies`` then sends outbound messages (throttle off) and measures enqueue → sent.

Checks, each failing the run (exit 1, loudly): every message stored exactly once (database),
one ticket per contact, every message seen exactly once by every client of its tenant, every reply
sent exactly once and recorded ``sent``, no error logged.

``--baseline`` adds, in the same run: the raw single-row insert rate of the same message rows into
the same database, raw Pykka ``tell()`` throughput (an actor that counts), and a raw WebSocket
broadcast (a bare flask-sock endpoint on a plain WSGIServer) to the same number of clients. The
table prints each figure beside its baseline with the ratio.

    scripts/loadtest --baseline                                   # SQLite, embedded queue
    scripts/loadtest --baseline --db postgres --queue redis       # PostgreSQL + Redis
    scripts/loadtest --clients 200 --tenants 10 --rate 500 --json out.json
    scripts/loadtest --profile profile.txt ...                    # py-spy (pip install py-spy)

PostgreSQL: ``--db postgres`` uses (and creates, and empties) the database ``loadtest`` on
127.0.0.1:5432; Redis: ``--queue redis`` uses ``redis://127.0.0.1:6379/5`` (flushed first).
``--database-url`` / ``--redis-url`` point elsewhere (never emptied).
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import base64  # noqa: E402
import collections  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from array import array  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import gevent  # noqa: E402
import gevent.pool  # noqa: E402

SCRIPT = os.path.abspath(__file__)
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/loadtest"
REDIS_DEFAULT = "redis://127.0.0.1:6379/5"

# An inbound message's body is "lt <seq> <injected at, Unix seconds>"; it appears as
# ``"body": "lt …"`` only in its ``message.created`` event (the ticket's copy is "lastMessage").
BODY_RE = re.compile(rb'"body":\s*"lt (\d+) (\d+\.\d+)')
BODY_RE_STR = re.compile(r'"body":\s*"lt (\d+) (\d+\.\d+)')
REPLY_RE = re.compile(r"^rp (\d+) (\d+\.\d+)")


# --- shared by both processes ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Plan:
    """Where message ``seq`` goes: round-robin over every (tenant, connection, contact)."""

    tenants: int
    connections: int
    contacts: int

    @property
    def total_contacts(self) -> int:
        return self.tenants * self.connections * self.contacts

    def locate(self, seq: int) -> tuple[int, int, int]:
        flat = seq % self.total_contacts
        per_tenant = self.connections * self.contacts
        return flat // per_tenant, (flat // self.contacts) % self.connections, flat % self.contacts

    def tenant_of(self, seq: int) -> int:
        return (seq % self.total_contacts) // (self.connections * self.contacts)


class Histogram:
    """Latencies (seconds) in 0.1 ms bins, sparse; exact max. ``summary()`` in milliseconds."""

    BIN = 1e-4

    def __init__(self) -> None:
        self.bins: collections.Counter = collections.Counter()
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.bins[int(seconds / self.BIN)] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, p: float) -> float:
        if not self.count:
            return 0.0
        rank, seen = p / 100.0 * self.count, 0
        for key in sorted(self.bins):
            seen += self.bins[key]
            if seen >= rank:
                return (key + 1) * self.BIN
        return self.max

    def summary(self) -> dict:
        """``{count, mean, p50, p95, p99, max}``, times in ms (None when empty)."""
        if not self.count:
            return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
        ms = lambda s: round(s * 1000, 2)  # noqa: E731
        return {"count": self.count, "mean": ms(self.total / self.count),
                "p50": ms(min(self.percentile(50), self.max)),
                "p95": ms(min(self.percentile(95), self.max)),
                "p99": ms(min(self.percentile(99), self.max)), "max": ms(self.max)}


def raise_open_files_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (65,536 at most); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy() -> float:
    """CPU-seconds every core of the machine spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet_machine(limit: float, busy_below: float = 25.0) -> float:
    """On a shared machine: wait (at most ``limit`` s) until the other processes leave the CPUs
    nearly idle (< ``busy_below`` % of one core over 2 s). Returns the seconds waited."""
    began = time.time()
    while time.time() - began < limit:
        start, busy0 = time.time(), machine_busy()
        time.sleep(2)
        if 100 * (machine_busy() - busy0) / (time.time() - start) < busy_below:
            break
    return round(time.time() - began, 1)


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- the client process: a gevent pool of lean WebSocket clients -----------------------------------

class WsConn:
    """One dashboard client: hand-made RFC 6455 framing on a gevent socket (websocket-client costs
    several times more CPU per frame, which would show up as latency with thousands of clients)."""

    def __init__(self, index: int, group: int, messages: int) -> None:
        self.index, self.group = index, group
        self.seen = bytearray(messages)
        self.count = 0
        self.sock = None
        self.buf = bytearray()
        self.fragment = b""
        self.fragment_op = 0
        self.closing = False
        self.closed = False

    def open(self, host: str, port: int, path: str, token: str | None, timeout: float) -> None:
        sock = self.sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk or len(head) > 65536:
                raise ConnectionError("closed during the WebSocket handshake")
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise ConnectionError(f"handshake refused: {status.decode(errors='replace')}")
        self.buf += rest
        if token is not None:
            self.send_text(json.dumps({"type": "auth", "token": token}))
            self._await("ready")
            self.send_text(json.dumps({"type": "subscribe", "room": "tenant"}))
        self._await("subscribed")
        sock.settimeout(None)

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytearray([0x81])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        else:
            header.append(0x80 | 126)
            header += len(payload).to_bytes(2, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def _await(self, kind: str) -> None:
        """Read frames until one of type ``kind`` (during setup: JSON-decodes every frame)."""
        while True:
            for opcode, payload in self._frames():
                if opcode != 1:
                    continue
                frame = json.loads(payload)
                if frame.get("type") == "error":
                    raise ConnectionError(f"server refused: {frame}")
                if frame.get("type") == kind:
                    return
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed while waiting for {kind!r}")
            self.buf += chunk

    def _frames(self):
        """Complete frames in the buffer as ``(opcode, payload)``; consumes them."""
        buf, pos, size, out = self.buf, 0, len(self.buf), []
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            mask = None
            if b1 & 0x80:
                mask = bytes(buf[pos + head:pos + head + 4])
                head += 4
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head:pos + head + length])
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            pos += head + length
            opcode, fin = b0 & 0x0F, b0 & 0x80
            if opcode == 0:
                self.fragment += payload
                if not fin:
                    continue
                opcode, payload, self.fragment = self.fragment_op, self.fragment, b""
            elif not fin:
                self.fragment_op, self.fragment = opcode, payload
                continue
            out.append((opcode, payload))
        if pos:
            del buf[:pos]
        return out

    def run(self, stats: "ClientStats") -> None:
        """Read until the socket closes; every ``lt`` body is a delivery."""
        try:
            for opcode, payload in self._frames():  # frames that came with the setup replies
                stats.frame(self, opcode, payload, time.time())
            while True:
                data = self.sock.recv(262144)
                if not data:
                    break
                now = time.time()
                self.buf += data
                for opcode, payload in self._frames():
                    if opcode == 8:
                        return
                    if opcode == 9:
                        self._pong(payload)
                        continue
                    stats.frame(self, opcode, payload, now)
        except OSError:
            pass
        finally:
            self.closed = True
            if not self.closing:
                stats.dropped += 1

    def _pong(self, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload[:125]))
        self.sock.sendall(bytes([0x8A, 0x80 | len(masked)]) + mask + masked)

    def close(self) -> None:
        self.closing = True
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass


class ClientStats:
    """Deliveries seen by every client of the pool (one process, one thread: no locks)."""

    def __init__(self, plan: Plan, messages: int, measure_from: int = 0) -> None:
        self.plan, self.messages, self.measure_from = plan, messages, measure_from
        self.seen_by = array("I", bytes(4 * messages))
        self.last_arrival = array("d", bytes(8 * messages))
        self.injected_at = array("d", bytes(8 * messages))
        self.reset()
        self.dropped = 0

    def reset(self) -> None:
        self.latency = Histogram()     # deliveries of measured messages (seq ≥ measure_from)
        self.delivered = 0             # every delivery
        self.frames = 0                # frames since the first measured delivery
        self.duplicates = self.wrong_group = self.unexpected = 0
        self.first_arrival = self.last_arrival_any = 0.0

    def frame(self, conn: WsConn, opcode: int, payload: bytes, now: float) -> None:
        if self.first_arrival:
            self.frames += 1
            self.last_arrival_any = now
        for match in BODY_RE.finditer(payload):
            seq, injected = int(match.group(1)), float(match.group(2))
            if seq >= self.messages:
                self.unexpected += 1
                continue
            if conn.seen[seq]:
                self.duplicates += 1
                continue
            conn.seen[seq] = 1
            conn.count += 1
            if self.plan.tenant_of(seq) != conn.group:
                self.wrong_group += 1
            self.delivered += 1
            if seq >= self.measure_from:
                if not self.first_arrival:
                    self.first_arrival = self.last_arrival_any = now
                    self.frames = 1
                self.latency.add(now - injected)
            self.seen_by[seq] += 1
            self.injected_at[seq] = injected
            if now > self.last_arrival[seq]:
                self.last_arrival[seq] = now


class ClientPool:
    """The client process's state: connections, their reader greenlets, the statistics."""

    def __init__(self, cmd: dict) -> None:
        self.plan = Plan(**cmd["plan"])
        self.messages = cmd["messages"]
        self.stats = ClientStats(self.plan, self.messages, cmd.get("measure_from", 0))
        self.conns = [WsConn(i, c["group"], self.messages) for i, c in enumerate(cmd["clients"])]
        self.tokens = [c.get("token") for c in cmd["clients"]]
        self.readers = gevent.pool.Group()
        self.collected_upto = 0

    def connect(self, cmd: dict) -> dict:
        host, port, path = cmd["host"], cmd["port"], cmd["path"]
        errors: list[str] = []
        started = time.time()
        deadline = started + cmd.get("timeout", 120)

        def one(conn: WsConn) -> None:
            for attempt in range(3):
                try:
                    conn.open(host, port, path, self.tokens[conn.index], timeout=10)
                    self.readers.spawn(conn.run, self.stats)
                    return
                except (OSError, ValueError) as exc:
                    conn.close()
                    conn.closing = False
                    if attempt == 2 or time.time() > deadline:
                        errors.append(f"client {conn.index}: {exc}")
                        conn.closed = True
                        return
                    gevent.sleep(0.2 * (attempt + 1))

        pool = gevent.pool.Pool(cmd.get("concurrency", 100))
        for conn in self.conns:
            pool.spawn(one, conn)
        pool.join(timeout=max(1.0, deadline - time.time()))
        pool.kill()
        connected = sum(1 for c in self.conns if not c.closed)
        return {"connected": connected, "failed": len(self.conns) - connected,
                "cpu_seconds": round(cpu_seconds(), 3),
                "errors": errors[:5], "seconds": round(time.time() - started, 3)}

    def collect(self, cmd: dict) -> dict:
        """Wait until every client saw every message before ``upto`` of its group (or the
        timeout); report what arrived since the last collect."""
        upto, start = cmd["upto"], self.collected_upto
        members = collections.Counter(c.group for c in self.conns)
        expect_total = collections.Counter(self.plan.tenant_of(s) for s in range(upto))
        deadline = time.time() + cmd.get("timeout", 60)

        def pending() -> list[WsConn]:
            return [c for c in self.conns if c.count < expect_total[c.group]]

        waiting = pending()
        while waiting and time.time() < deadline:
            if all(c.closed for c in waiting):
                break
            gevent.sleep(0.05)
            waiting = pending()
        missing = sum(expect_total[c.group] - c.count for c in waiting)
        everyone = Histogram()
        complete = 0
        for seq in range(max(start, self.stats.measure_from), upto):
            wanted = members[self.plan.tenant_of(seq)]
            if wanted and self.stats.seen_by[seq] == wanted:
                complete += 1
                everyone.add(self.stats.last_arrival[seq] - self.stats.injected_at[seq])
        stats = self.stats
        report = {
            "clients": len(self.conns), "dropped": stats.dropped,
            "complete_clients": len(self.conns) - len(waiting), "missing_deliveries": missing,
            "duplicates": stats.duplicates, "wrong_tenant": stats.wrong_group,
            "unexpected": stats.unexpected, "frames": stats.frames,
            "deliveries": stats.delivered, "latency_ms": stats.latency.summary(),
            "all_clients_latency_ms": everyone.summary(), "messages_complete": complete,
            "first_arrival": stats.first_arrival, "last_arrival": stats.last_arrival_any,
            "cpu_seconds": round(cpu_seconds(), 3),
        }
        stats.reset()
        self.collected_upto = upto
        return report

    def close(self) -> dict:
        for conn in self.conns:
            conn.close()
        self.readers.join(timeout=5)
        self.readers.kill()
        return {"closed": len(self.conns)}


def client_main() -> int:
    """``loadtest.py --_clients``: JSON commands on stdin, one JSON answer per line on stdout."""
    from gevent.fileobject import FileObjectPosix

    raise_open_files_limit()
    stdin = FileObjectPosix(sys.stdin.fileno(), "rb", close=False)
    pool: ClientPool | None = None
    while True:
        line = stdin.readline()
        if not line:
            break
        cmd = json.loads(line)
        kind = cmd["cmd"]
        try:
            if kind == "connect":
                if pool is not None:
                    pool.close()
                pool = ClientPool(cmd)
                answer = pool.connect(cmd)
            elif kind == "collect":
                answer = pool.collect(cmd)
            elif kind == "close":
                answer = pool.close() if pool is not None else {}
                pool = None
            elif kind == "exit":
                break
            else:
                answer = {"error": f"unknown command {kind!r}"}
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the run
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    if pool is not None:
        pool.close()
    return 0


class ClientProcess:
    """The parent's handle on the client process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, SCRIPT, "--_clients"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def call(self, cmd: dict, timeout: float) -> dict:
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        with gevent.Timeout(timeout, TimeoutError(f"client process: no answer to {cmd['cmd']!r} "
                                                  f"within {timeout:.0f}s")):
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"client process exited (code {self.proc.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"client process: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "exit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - it is stopped below
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


# --- the server side --------------------------------------------------------------------------------

class Probe:
    """A room subscriber inside the server: notes when each message's event leaves the room
    (after its commit). Costs one regex search per event frame, in the room actor."""

    is_admin = False  # what an attendant's socket gets

    def __init__(self, messages: int, first_messages: int) -> None:
        self.published_at = array("d", bytes(8 * messages))
        self.first_messages = first_messages  # seq below this: a contact's first (new ticket)
        self.latency = Histogram()
        self.latency_new_ticket = Histogram()
        self.latency_known_ticket = Histogram()
        self.by_second: dict[int, list] = {}
        self.count = 0
        self.duplicates = 0
        self.frame_bytes = 0
        self.first = self.last = 0.0

    def restart(self) -> None:
        """Start the timed phase: fresh latencies and first/last (counts stay cumulative)."""
        self.latency = Histogram()
        self.latency_new_ticket = Histogram()
        self.latency_known_ticket = Histogram()
        self.first = self.last = 0.0
        self.by_second = {}

    def offer(self, frame: str) -> bool:
        match = BODY_RE_STR.search(frame)
        if match is None:
            return True
        seq, injected, now = int(match.group(1)), float(match.group(2)), time.time()
        if seq >= len(self.published_at):
            return True
        if self.published_at[seq]:
            self.duplicates += 1
            return True
        self.published_at[seq] = now
        self.latency.add(now - injected)
        second = self.by_second.setdefault(int(now), [0, 0, 0.0])  # count, > 50 ms, max
        second[0] += 1
        second[1] += now - injected > 0.05
        second[2] = max(second[2], now - injected)
        (self.latency_new_ticket if seq < self.first_messages
         else self.latency_known_ticket).add(now - injected)
        self.count += 1
        self.frame_bytes += len(frame)
        self.first = self.first or now
        self.last = now
        return True

    def drop(self) -> None:
        raise RuntimeError("the probe never falls behind")


class ErrorLog(logging.Handler):
    """Counts WARNING+ records (and dropped WebSocket clients) while the service runs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: collections.Counter = collections.Counter()
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING and "dropped" not in record.getMessage():
            return
        self.counts[f"{record.levelname} {record.name}"] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{record.levelname} {record.name}: {record.getMessage()[:300]}")


class TimedSent(list):
    """Stands in for a simulated phone's ``sent`` list: notes when each reply left."""

    def __init__(self, existing, board: dict) -> None:
        super().__init__(existing)
        self.board = board

    def append(self, item) -> None:
        now = time.time()
        match = REPLY_RE.match(item.get("body") or "")
        if match:
            seq = int(match.group(1))
            if seq in self.board:
                self.board.setdefault("_dups", []).append(seq)
            else:
                self.board[seq] = now
        super().append(item)


class TellCounter:
    """Counts every Pykka ``tell()`` of the process while active (≈0.2 µs a tell)."""

    def __enter__(self) -> "TellCounter":
        import pykka

        self.count = 0
        self.original = original = pykka.ActorRef.tell

        def counting_tell(ref, message):
            self.count += 1
            return original(ref, message)

        pykka.ActorRef.tell = counting_tell
        return self

    def __exit__(self, *exc) -> None:
        import pykka

        pykka.ActorRef.tell = self.original


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal, a line every 5 s otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def show(self, label: str, done: int, total: int, extra: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not self.tty and now - self.last < 5 and done < total:
            return
        self.last = now
        width = 28
        filled = int(width * done / total) if total else width
        line = (f"{label:<9} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} "
                f"{extra}")
        if self.tty:
            sys.stderr.write("\r" + line[:150].ljust(150))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


@dataclasses.dataclass
class Options:
    db: str = "sqlite"
    queue: str = "embedded"
    database_url: str | None = None
    redis_url: str | None = None
    tenants: int = 4
    connections: int = 1
    contacts: int = 50
    messages: int = 5000
    rate: float = 0.0
    clients: int = 0
    replies: int = 0
    warmup: bool = False
    duplicates: float = 0.0
    body_bytes: int = 64
    window: int = 500
    max_backlog: int = 20000
    timeout: float = 120.0
    baseline: bool = False
    baseline_rows: int = 3000
    baseline_tells: int = 200_000
    baseline_frames: int = 200
    ws_outbox: int | None = None
    profile: str | None = None
    json_path: str | None = None
    progress: bool = True
    workdir: str | None = None
    seed: int = 7
    quiet_wait: float = 0.0


class LoadTest:
    """One run: the service, the world it serves, the phases, the checks."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.plan = Plan(opts.tenants, opts.connections, opts.contacts)
        if opts.warmup and opts.messages <= self.plan.total_contacts:
            raise ValueError(f"--warmup sends one message to each of the {self.plan.total_contacts}"
                             " contacts first: --messages must be larger")
        self.run_id = uuid.uuid4().hex[:8]
        self.bar = ProgressBar(opts.progress)
        self.errors = ErrorLog()
        self.rng = random.Random(opts.seed)
        self.result: dict = {"config": dataclasses.asdict(opts), "checks": {}, "baseline": {}}
        self.runtime = self.server = self.clients = self.profiler = None
        self.peak_actors: collections.Counter = collections.Counter()
        self.peak_rss = 0.0
        self.cpu_by_second: list[list] = []  # [time, this process %, whole machine %]
        self.sampling = False

    # --- setup -------------------------------------------------------------------------------

    def resolve_urls(self) -> tuple[str, str]:
        opts = self.opts
        url = opts.database_url
        if url is None and opts.db == "postgres":
            url = PG_DEFAULT
            _reset_postgres(url)
        elif url is None:
            url = f"sqlite:///{os.path.join(self.workdir, 'loadtest.db')}"
        redis_url = ""
        if opts.queue == "redis":
            redis_url = opts.redis_url or REDIS_DEFAULT
            if opts.redis_url is None:
                import redis

                redis.Redis.from_url(redis_url, socket_timeout=5).flushdb()
        return url, redis_url

    def boot(self) -> None:
        from web import create_app
        from web.runtime import boot
        from web.settings import Settings

        opts = self.opts
        self.workdir = opts.workdir or tempfile.mkdtemp(prefix="tt-loadtest-")
        url, redis_url = self.resolve_urls()
        self.result["database_url"] = url
        self.result["redis_url"] = redis_url or None
        extra = {} if opts.ws_outbox is None else {"ws_outbox": opts.ws_outbox}
        if "sim_state" in {f.name for f in dataclasses.fields(Settings)}:
            extra["sim_state"] = os.path.join(self.workdir, "sim-network.jsonl")
        settings = Settings(database_url=url, redis_url=redis_url,
                            secret_key=base64.b64encode(os.urandom(32)).decode(),
                            public_dir=os.path.join(self.workdir, "public"), send_rate=0,
                            sim_pair_delay=0, watchdog_interval=3600, ws_heartbeat=30, **extra)
        logging.getLogger().addHandler(self.errors)
        if logging.getLogger().level > logging.INFO or logging.getLogger().level == 0:
            logging.getLogger().setLevel(logging.INFO)
        self.runtime = boot(settings)
        queue_kind = type(self.runtime.system.queue).__name__
        self.result["queue_class"] = queue_kind
        if opts.queue == "redis" and "redis" not in queue_kind.lower():
            raise SystemExit(
                f"--queue redis: web/runtime.py booted a {queue_kind} although TT_REDIS_URL "
                f"({redis_url}) was set: Redis queue support is not in this version of the "
                "service yet. Run with --queue embedded.")
        self.app = create_app(self.runtime)
        from web.server import Server  # the production server (TCP_NODELAY)

        self.server = Server(("127.0.0.1", 0), self.app, log=None,
                             error_log=logging.getLogger("loadtest.wsgi"), backlog=4096)
        self.server.start()

    def build_world(self) -> None:
        """Tenants (an admin each), connections (started, CONNECTED), tokens, probes."""
        from actors.messages import StartSession, Subscribe
        from actors.whatsapp.client import CONNECTED
        from storage import db, tenants
        from storage.models import Whatsapp
        from web.auth import issue_tokens

        system = self.runtime.system
        self.tenant_ids, self.user_ids, self.tokens = [], [], []
        self.whatsapp_ids: list[list[int]] = []
        for t in range(self.plan.tenants):
            with db.unit_of_work():
                tenant, user = tenants.create_tenant(
                    f"Load {t}", f"load{t}-{self.run_id}@loadtest.invalid", "loadtest")
                whatsapps = [tenants.create_whatsapp(tenant.id, f"Load {t}.{c}").id
                             for c in range(self.plan.connections)]
            self.tenant_ids.append(tenant.id)
            self.user_ids.append(user.id)
            self.whatsapp_ids.append(whatsapps)
            with self.app.app_context():
                self.tokens.append(issue_tokens(user)["token"])
            for wid in whatsapps:
                system.start_connection(wid, tenant.id)
                system.session(wid).ask(StartSession(), timeout=10)
        all_ids = [w for ws in self.whatsapp_ids for w in ws]
        deadline = time.monotonic() + 30 + len(all_ids) * 0.1
        while True:
            with db.unit_of_work():
                up = (Whatsapp.select().where(Whatsapp.id.in_(all_ids),
                                              Whatsapp.status == CONNECTED).count())
            if up == len(all_ids):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {up}/{len(all_ids)} sessions CONNECTED in time")
            gevent.sleep(0.05)
        self.sessions = [[system.session(w) for w in ws] for ws in self.whatsapp_ids]
        self.probe = Probe(self.opts.messages, self.plan.total_contacts)
        for tenant_id in self.tenant_ids:
            system.room(tenant_id).ask(Subscribe(self.probe, "tenant"), timeout=10)

    def connect_clients(self) -> None:
        opts = self.opts
        self.clients = ClientProcess()
        spec = [{"group": i % self.plan.tenants, "token": self.tokens[i % self.plan.tenants]}
                for i in range(opts.clients)]
        self.bar.show("clients", 0, opts.clients, "connecting…")
        answer = self.clients.call({
            "cmd": "connect", "host": "127.0.0.1", "port": self.server.server_port,
            "path": "/ws", "clients": spec, "plan": dataclasses.asdict(self.plan),
            "messages": opts.messages, "timeout": 60 + opts.clients * 0.05,
            "measure_from": self.plan.total_contacts if opts.warmup else 0}, timeout=
            90 + opts.clients * 0.1)
        self.bar.show("clients", answer["connected"], opts.clients, f"in {answer['seconds']}s")
        self.bar.end()
        self.result["clients_connect"] = answer
        if answer["failed"]:
            raise RuntimeError(f"{answer['failed']} WebSocket clients could not connect: "
                               f"{answer['errors']}")

    # --- sampling ------------------------------------------------------------------------------

    def sample_once(self) -> None:
        for kind, count in self.runtime.system.live_actors().items():
            self.peak_actors[kind] = max(self.peak_actors[kind], count)
        self.peak_rss = max(self.peak_rss, rss_mib())

    def sample_forever(self) -> None:
        """Peak live actors and RSS every 0.25 s; every second, this process's CPU and the whole
        machine's (a shared machine: a latency spike while others take the CPUs is noise)."""
        ticks = 0
        last = (time.time(), cpu_seconds(), machine_busy())
        while self.sampling:
            self.sample_once()
            gevent.sleep(0.25)
            ticks += 1
            if ticks % 4 == 0:
                now = (time.time(), cpu_seconds(), machine_busy())
                wall = now[0] - last[0]
                self.cpu_by_second.append([round(now[0], 1),
                                           round(100 * (now[1] - last[1]) / wall),
                                           round(100 * (now[2] - last[2]) / wall)])
                last = now

    # --- phases ------------------------------------------------------------------------------

    def inbound(self) -> dict:
        """Tell ``--messages`` ClientMessage events into the session actors; wait until every one
        is stored (its event left the room)."""
        from actors.messages import ClientMessage, WaMessage

        opts, plan, probe = self.opts, self.plan, self.probe
        pad = " " + "x" * max(0, opts.body_bytes - 30) if opts.body_bytes > 30 else ""
        recent: collections.deque = collections.deque(maxlen=1000)
        replays = 0
        total = opts.messages

        def inject(seq: int) -> None:
            nonlocal replays
            t, c, k = plan.locate(seq)
            number = f"55{t:03d}{c:03d}{k:06d}"
            now = time.time()
            message = WaMessage(wa_id=f"false_{number}@c.us_LT{self.run_id}{seq:010d}",
                                number=number, body=f"lt {seq} {now:.6f}{pad}",
                                name=f"Customer {k}", timestamp=int(now))
            ref = self.sessions[t][c]
            ref.tell(ClientMessage(message))
            recent.append((ref, message))
            if opts.duplicates and self.rng.random() < opts.duplicates:
                old_ref, old = recent[self.rng.randrange(len(recent))]
                old_ref.tell(ClientMessage(old))  # a replay: must be stored once, emitted once
                replays += 1

        def pump(seq: int, end: int, rate: float, started: float, label: str):
            """Inject ``seq`` … ``end - 1`` at ``rate``/s (0: keep ``--window`` unstored)."""
            while seq < end:
                if rate > 0:
                    due = min(end, seq_base + int((time.time() - started) * rate) + 1)
                    while seq < due:
                        inject(seq)
                        seq += 1
                    backlog = seq - probe.count
                    if backlog > opts.max_backlog:
                        return seq, (f"backlog of {backlog} unstored messages at {rate:g}/s: "
                                     "the service cannot keep this rate")
                    next_due = started + (seq - seq_base) / rate
                    gevent.sleep(max(0.0, min(0.01, next_due - time.time())))
                else:
                    room = opts.window - (seq - probe.count)
                    if room <= 0:
                        gevent.sleep(0.001)
                    else:
                        for _ in range(min(room, 50, end - seq)):
                            inject(seq)
                            seq += 1
                        gevent.sleep(0)
                self._progress(label, probe.count, total, started)
            return seq, None

        def drain(seq: int, started: float, label: str) -> None:
            deadline = time.time() + opts.timeout
            while probe.count < seq and time.time() < deadline:
                gevent.sleep(0.01)
                self._progress(label, probe.count, total, started)
            self._progress(label, probe.count, total, started, force=True)
            self.bar.end()

        warmup = {}
        seq_base = 0
        if opts.warmup:  # every contact's first message: FindOrCreateTicket makes the tickets
            began = time.time()
            seq_base, _ = pump(0, plan.total_contacts, 0, began, "warm-up")
            drain(seq_base, began, "warm-up")
            took = (probe.last or time.time()) - began
            warmup = {"messages": seq_base, "seconds": round(took, 3),
                      "tickets_created_per_s": round(seq_base / took, 1) if took > 0 else 0.0,
                      "server_latency_ms": probe.latency.summary()}
            probe.restart()
        if opts.profile:  # the timed phase only
            self.profiler = self.start_profiler()
        started, cpu0 = time.time(), cpu_seconds()
        with TellCounter() as tells:
            seq, overloaded = pump(seq_base, total, opts.rate, started, "inbound")
            injected_at = time.time()
            drain(seq, started, "inbound")
        elapsed = (probe.last or time.time()) - started
        measured = probe.count - seq_base
        steady_from = max(self.plan.total_contacts, seq_base + (total - seq_base) // 5)
        steady = [t for t in probe.published_at[steady_from:seq] if t]
        steady_rate = None
        if len(steady) > 100 and max(steady) > min(steady):
            steady_rate = round(len(steady) / (max(steady) - min(steady)), 1)
        return {"injected": seq, "replays_injected": replays, "stored_events": probe.count,
                "measured_from": seq_base, "warmup": warmup or None,
                "duplicate_events": probe.duplicates, "seconds": round(elapsed, 3),
                "injection_seconds": round(injected_at - started, 3),
                "stored_per_s": round(measured / elapsed, 1) if elapsed > 0 else 0.0,
                "offered_rate": opts.rate or None,
                "steady_stored_per_s": steady_rate,
                "actor_tells": tells.count,
                "tells_per_message": round(tells.count / measured, 2) if measured else None,
                "tells_per_s": round(tells.count / elapsed, 1) if elapsed > 0 else 0.0,
                "server_latency_ms": probe.latency.summary(),
                "server_latency_new_ticket_ms": probe.latency_new_ticket.summary(),
                "server_latency_known_ticket_ms": probe.latency_known_ticket.summary(),
                "overloaded": overloaded, "started": started,
                "server_by_second": [[round(k - started), v[0], v[1], round(v[2] * 1000, 1)]
                                     for k, v in sorted(probe.by_second.items())],
                "server_cpu_percent": round(100 * (cpu_seconds() - cpu0) / max(elapsed, 1e-9), 1),
                "stored_per_cpu_s": round(measured / (cpu_seconds() - cpu0), 1),
                "event_frame_bytes": round(probe.frame_bytes / probe.count) if probe.count else 0}

    def _progress(self, label: str, done: int, total: int, started: float,
                  force: bool = False) -> None:
        if not self.opts.progress:
            return
        now = time.time()
        if not force and now - getattr(self, "_last_draw", 0) < 0.2:
            return
        self._last_draw = now
        rate = done / (now - started) if now > started else 0.0
        actors = self.runtime.system.live_actors()
        self.bar.show(label, done, total, f"{rate:,.0f}/s  tickets {actors.get('tickets', 0):,}  "
                                          f"rss {rss_mib():,.0f} MiB")

    def deliveries(self, inbound: dict) -> dict:
        self.bar.show("clients", 0, 1, "waiting for every client…")
        answer = self.clients.call({"cmd": "collect", "upto": inbound["injected"],
                                    "timeout": self.opts.timeout},
                                   timeout=self.opts.timeout + 60)
        self.bar.end()
        span = answer["last_arrival"] - inbound["started"]
        answer["frames_per_s"] = round(answer["frames"] / span, 1) if span > 0 else 0.0
        answer["measured_from"] = inbound["measured_from"]
        return answer

    def replies(self) -> dict:
        """Outbound with the throttle off: ``--replies`` messages over the tickets, as fast as
        the service takes them (a window of asks in flight); enqueue → sent per message."""
        from actors.messages import SendMessage
        from storage import db
        from storage.models import Ticket

        opts, system, network = self.opts, self.runtime.system, self.runtime.network
        with db.unit_of_work():
            tickets = list(Ticket.select(Ticket.id, Ticket.tenant)
                           .where(Ticket.tenant.in_(self.tenant_ids)).order_by(Ticket.id).tuples())
        if not tickets:
            return {"error": "no tickets to reply to"}
        user_of = dict(zip(self.tenant_ids, self.user_ids))
        sent_at: dict = {}
        for ws in self.whatsapp_ids:
            for wid in ws:
                phone = network.phone(wid)
                phone.sent = TimedSent(phone.sent, sent_at)
        enqueued_at: dict[str, float] = {}
        original_enqueue = system.enqueue

        def timed_enqueue(job):
            enqueued_at.setdefault(job.message_id, time.time())
            original_enqueue(job)

        system.enqueue = timed_enqueue
        started, cpu0 = time.time(), cpu_seconds()
        pending: collections.deque = collections.deque()
        ids: dict[int, str] = {}
        requested_at: dict[int, float] = {}
        errors = 0
        total = opts.replies

        def settle_one() -> None:
            nonlocal errors
            seq, future = pending.popleft()
            try:
                ids[seq] = future.get(timeout=30)["id"]
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors += 1
                if errors <= 3:
                    logging.getLogger("loadtest").warning("reply %d failed: %s", seq, exc)

        try:
            for seq in range(total):
                ticket_id, tenant_id = tickets[seq % len(tickets)]
                requested_at[seq] = now = time.time()
                body = f"rp {seq} {now:.6f}"
                future = system.ticket(ticket_id).ask(
                    SendMessage(body=body, user_id=user_of[tenant_id]), block=False)
                pending.append((seq, future))
                while len(pending) >= opts.window:
                    settle_one()
                if seq % 20 == 0:
                    gevent.sleep(0)
                    self._progress("replies", len(sent_at) - ("_dups" in sent_at), total, started)
            while pending:
                settle_one()
            deadline = time.time() + opts.timeout
            while len(sent_at) - ("_dups" in sent_at) < total - errors and time.time() < deadline:
                gevent.sleep(0.01)
                self._progress("replies", len(sent_at) - ("_dups" in sent_at), total, started)
        finally:
            system.enqueue = original_enqueue
        self._progress("replies", len(sent_at) - ("_dups" in sent_at), total, started, force=True)
        self.bar.end()
        duplicates = len(sent_at.pop("_dups", []))
        end = max(sent_at.values()) if sent_at else time.time()
        elapsed = end - started
        enqueue_to_sent, request_to_sent = Histogram(), Histogram()
        by_id = {v: k for k, v in ids.items()}
        for message_id, at in enqueued_at.items():
            seq = by_id.get(message_id)
            if seq is not None and seq in sent_at:
                enqueue_to_sent.add(sent_at[seq] - at)
        statuses = self._reply_statuses()
        deadline = time.time() + min(30.0, opts.timeout)
        while statuses.get("sent", 0) < len(sent_at) and time.time() < deadline:
            gevent.sleep(0.05)  # the row is marked sent just after the phone took the message
            statuses = self._reply_statuses()
        for seq, at in sent_at.items():
            if seq in requested_at:
                request_to_sent.add(at - requested_at[seq])
        return {"requested": total, "sent": len(sent_at), "duplicate_sends": duplicates,
                "ask_errors": errors, "seconds": round(elapsed, 3),
                "sent_per_s": round(len(sent_at) / elapsed, 1) if elapsed > 0 else 0.0,
                "enqueue_to_sent_ms": enqueue_to_sent.summary(),
                "request_to_sent_ms": request_to_sent.summary(),
                "server_cpu_percent": round(100 * (cpu_seconds() - cpu0) / max(elapsed, 1e-9), 1),
                "db_statuses": dict(statuses)}

    def _reply_statuses(self) -> collections.Counter:
        from storage import db
        from storage.models import Message

        with db.unit_of_work():
            return collections.Counter(
                s for (s,) in Message.select(Message.status)
                .where(Message.tenant.in_(self.tenant_ids), Message.from_me == True,  # noqa: E712
                       Message.body.startswith("rp ")).tuples())

    # --- checks ------------------------------------------------------------------------------

    def check_storage(self, injected: int) -> dict:
        """Every injected message stored exactly once (by WhatsApp id and by body), and one
        ticket per contact that wrote."""
        from storage import db
        from storage.models import Message, Ticket

        with db.unit_of_work():
            rows = list(Message.select(Message.wa_message_id, Message.body)
                        .where(Message.tenant.in_(self.tenant_ids),
                               Message.from_me == False).tuples())  # noqa: E712
            tickets = Ticket.select().where(Ticket.tenant.in_(self.tenant_ids)).count()
        marker = f"LT{self.run_id}"
        by_id = collections.Counter(int(wa.rsplit(marker, 1)[1]) for wa, _ in rows
                                    if wa and marker in wa)
        by_body = collections.Counter(int(body.split(" ", 2)[1]) for _, body in rows
                                      if body and body.startswith("lt "))
        missing = sum(1 for seq in range(injected) if by_id[seq] == 0)
        duplicated = sum(n - 1 for n in by_id.values() if n > 1)
        duplicated += sum(n - 1 for n in by_body.values() if n > 1)
        unexpected = sum(1 for seq in by_id if seq >= injected) + len(rows) - sum(by_id.values())
        want_tickets = min(self.plan.total_contacts, injected)
        return {"rows": len(rows), "expected": injected, "missing": missing,
                "duplicated": duplicated, "unexpected": unexpected, "tickets": tickets,
                "expected_tickets": want_tickets,
                "exactly_once": missing == 0 and duplicated == 0 and unexpected == 0
                and len(rows) == injected,
                "one_ticket_per_contact": tickets == want_tickets}

    # --- baselines ---------------------------------------------------------------------------

    def baseline_insert(self, count: int) -> dict:
        """The persistence ceiling: one INSERT of an inbound message row (the same columns and
        values as the inbound path's) per committed transaction, through the same pool and
        writer lock, into the same database."""
        from storage import db, tenants, tickets
        from storage.models import utcnow

        with db.unit_of_work():
            tenant, _ = tenants.create_tenant("Baseline", f"base-{self.run_id}@loadtest.invalid",
                                              "loadtest")
            whatsapp = tenants.create_whatsapp(tenant.id, "Baseline")
            with db.write():
                contact_id = tickets.upsert_contact(tenant.id, "5599000000001", "Baseline")
                ticket_id, _ = tickets.find_or_create_ticket(tenant.id, whatsapp.id, contact_id)
        sql = ("INSERT INTO message (id, tenant_id, ticket_id, whatsapp_id, contact_id, "
               "wa_message_id, from_me, body, ack, status, media_type, media_path, media_name, "
               "quoted_message_id, send_type, attempts, timestamp, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) "
               "ON CONFLICT DO NOTHING")
        sqlite = db.is_sqlite()
        if not sqlite:
            sql = sql.replace("?", "%s")
        pad = " " + "x" * max(0, self.opts.body_bytes - 30) if self.opts.body_bytes > 30 else ""
        started, cpu0 = time.perf_counter(), cpu_seconds()
        for i in range(count):
            now = utcnow()
            stamp = now.isoformat(" ") if sqlite else now
            with db.write():
                db.database.execute_sql(sql, (
                    str(uuid.uuid4()), tenant.id, ticket_id, whatsapp.id, contact_id,
                    f"false_5599000000001@c.us_BASE{self.run_id}{i:010d}", False,
                    f"lt {i} {time.time():.6f}{pad}", 0, "received", None, None, None, None,
                    "chat", int(time.time()), stamp, stamp))
            if i % 200 == 0:
                self.bar.show("raw insert", i, count)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
        self.bar.show("raw insert", count, count)
        self.bar.end()
        return {"rows": count, "seconds": round(elapsed, 3), "per_s": round(count / elapsed, 1),
                "per_cpu_s": round(count / cpu, 1) if cpu > 0 else None}

    def baseline_tell(self, count: int) -> dict:
        """Raw Pykka: ``count`` tell()s to one actor that counts them, on this process's hub."""
        import pykka

        class Counter(pykka.ThreadingActor):
            use_daemon_thread = True

            def __init__(self) -> None:
                super().__init__()
                self.count = 0

            def on_receive(self, message):
                if message == "count?":
                    return self.count
                self.count += 1
                return None

        ref = Counter.start()
        started = time.perf_counter()
        for i in range(count):
            ref.tell(i)
        counted = ref.ask("count?", timeout=300)
        elapsed = time.perf_counter() - started
        ref.stop()
        return {"tells": count, "counted": counted, "seconds": round(elapsed, 3),
                "per_s": round(count / elapsed, 1)}

    def baseline_broadcast(self, clients: int, frame_bytes: int, frames: int) -> dict:
        """A bare flask-sock endpoint on a plain gevent WSGIServer: ``frames`` frames sent to every
        client back to back (throughput), then ``frames // 4`` paced ones (latency to all)."""
        from flask import Flask
        from flask_sock import Sock
        from gevent.pywsgi import WSGIServer

        app = Flask("loadtest-bare")
        app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": None}
        sock = Sock(app)
        members: list = []

        @sock.route("/bare")
        def bare(ws):
            members.append(ws)
            ws.send('{"type": "subscribed"}')
            try:
                while True:
                    ws.receive()
            except Exception:  # noqa: BLE001 - the client went away
                pass
            finally:
                members.remove(ws)

        server = WSGIServer(("127.0.0.1", 0), app, log=None, error_log=None, backlog=4096)
        server.start()
        paced = max(10, frames // 4)
        filler = max(0, frame_bytes - 120)

        def frame(seq: int) -> str:
            return json.dumps({"type": "event", "id": seq, "room": "tenant",
                               "event": "message.created",
                               "data": {"body": f"lt {seq} {time.time():.6f}",
                                        "pad": "x" * filler}})

        try:
            answer = self.clients.call({
                "cmd": "connect", "host": "127.0.0.1", "port": server.server_port,
                "path": "/bare", "clients": [{"group": 0}] * clients,
                "plan": {"tenants": 1, "connections": 1, "contacts": 1},
                "messages": frames + paced, "timeout": 60 + clients * 0.05},
                timeout=90 + clients * 0.1)
            if answer["failed"]:
                return {"error": f"{answer['failed']} clients could not connect"}
            started = time.time()
            for seq in range(frames):
                text = frame(seq)
                for ws in list(members):
                    ws.send(text)
                gevent.sleep(0)
                self.bar.show("broadcast", seq + 1, frames + paced)
            burst = self.clients.call({"cmd": "collect", "upto": frames, "timeout": 120},
                                      timeout=180)
            span = burst["last_arrival"] - started
            gap = 0.02
            for seq in range(frames, frames + paced):
                begun = time.time()
                text = frame(seq)
                for ws in list(members):
                    ws.send(text)
                took = time.time() - begun
                gap = max(gap, 3 * took)
                gevent.sleep(gap)
                self.bar.show("broadcast", seq + 1, frames + paced)
            self.bar.end()
            spaced = self.clients.call({"cmd": "collect", "upto": frames + paced,
                                        "timeout": 120}, timeout=180)
            self.clients.call({"cmd": "close"}, timeout=60)
        finally:
            server.stop(timeout=2)
        return {"clients": clients, "frames": frames, "frame_bytes": len(frame(0)),
                "frames_per_s": round(burst["deliveries"] / span, 1) if span > 0 else 0.0,
                "burst_latency_ms": burst["latency_ms"],
                "paced_frames": paced, "paced_interval_ms": round(gap * 1000, 1),
                "latency_ms": spaced["latency_ms"],
                "all_clients_latency_ms": spaced["all_clients_latency_ms"],
                "missing": burst["missing_deliveries"] + spaced["missing_deliveries"]}

    # --- the run -----------------------------------------------------------------------------

    def execute(self) -> dict:
        opts, result = self.opts, self.result
        if opts.quiet_wait:
            result["quiet_wait_seconds"] = wait_for_quiet_machine(opts.quiet_wait)
        result["revision"] = git_revision()
        result["machine"] = {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                             "python": sys.version.split()[0],
                             "open_files_limit": raise_open_files_limit()}
        self.boot()
        self.build_world()
        if opts.clients:
            self.connect_clients()
        self.sampling = True
        sampler = gevent.spawn(self.sample_forever)
        try:
            inbound = result["inbound"] = self.inbound()
            if opts.clients:
                result["delivery"] = self.deliveries(inbound)
            if opts.replies:
                result["replies"] = self.replies()
        finally:
            if self.profiler is not None:
                self.stop_profiler(self.profiler)
            self.sampling = False
            sampler.join(timeout=2)
            self.sample_once()
        result["storage"] = self.check_storage(inbound["injected"])
        result["peak_rss_mib"] = round(max(self.peak_rss, resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024), 1)
        result["live_actors_peak"] = dict(self.peak_actors)
        result["cpu_by_second"] = self.cpu_by_second
        samples = self.cpu_by_second
        client_pct = 0.0
        if result.get("delivery") and samples:
            span = samples[-1][0] - samples[0][0] + 1
            client_pct = 100 * (result["delivery"]["cpu_seconds"]
                                - result["clients_connect"]["cpu_seconds"]) / max(span, 1)
        result["machine"]["client_process_cpu_percent"] = round(client_pct)
        result["machine"]["other_processes_cpu_percent"] = (
            max(0, round(sum(m - p for _, p, m in samples) / len(samples) - client_pct))
            if samples else None)
        result["live_actors_end"] = self.runtime.system.live_actors()
        if opts.clients:
            self.clients.call({"cmd": "close"}, timeout=60)
        if opts.baseline:
            base = result["baseline"]
            base["insert"] = self.baseline_insert(min(opts.baseline_rows, max(opts.messages,
                                                                             100)))
            base["tell"] = self.baseline_tell(opts.baseline_tells)
            if opts.clients:
                base["broadcast"] = self.baseline_broadcast(
                    opts.clients, inbound["event_frame_bytes"] or 1000, opts.baseline_frames)
        result["errors"] = {"counts": dict(self.errors.counts), "samples": self.errors.samples}
        result["machine"]["loadavg_end"] = os.getloadavg()
        result["checks"] = self.checks()
        result["ok"] = all(v is not False for v in result["checks"].values())
        return result

    def checks(self) -> dict:
        r = self.result
        checks = {"stored_exactly_once": r["storage"]["exactly_once"],
                  "one_ticket_per_contact": r["storage"]["one_ticket_per_contact"],
                  "no_duplicate_events": r["inbound"]["duplicate_events"] == 0,
                  "rate_sustained": r["inbound"]["overloaded"] is None,
                  "no_errors_logged": not r["errors"]["counts"],
                  "seen_by_every_client": None, "replies_sent_exactly_once": None}
        delivery = r.get("delivery")
        if delivery is not None:
            checks["seen_by_every_client"] = (
                delivery["missing_deliveries"] == 0 and delivery["duplicates"] == 0
                and delivery["wrong_tenant"] == 0 and delivery["dropped"] == 0
                and delivery["complete_clients"] == delivery["clients"])
        replies = r.get("replies")
        if replies is not None:
            checks["replies_sent_exactly_once"] = (
                replies.get("sent") == replies.get("requested")
                and replies.get("duplicate_sends") == 0 and replies.get("ask_errors") == 0
                and replies.get("db_statuses") == {"sent": replies.get("requested")})
        return checks

    # --- profiling ---------------------------------------------------------------------------

    def start_profiler(self):
        exe = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
        if not os.path.exists(exe):
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        path = self.opts.profile
        fmt = {".txt": "raw", ".json": "speedscope"}.get(os.path.splitext(path)[1], "flamegraph")
        proc = subprocess.Popen([exe, "record", "--pid", str(os.getpid()), "--rate", "200",
                                 "--nonblocking", "--format", fmt, "--output", path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        gevent.sleep(1.0)  # py-spy attaches
        return proc

    def stop_profiler(self, proc) -> None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if self.opts.profile.endswith(".txt") and os.path.exists(self.opts.profile):
            self.result["profile"] = profile_summary(self.opts.profile)

    def cleanup(self) -> None:
        from web.runtime import shutdown

        if self.clients is not None:
            self.clients.close()
        if self.server is not None:
            self.server.stop(timeout=2)
        if self.runtime is not None:
            shutdown(self.runtime)
        logging.getLogger().removeHandler(self.errors)
        if self.opts.workdir is None and getattr(self, "workdir", None):
            shutil.rmtree(self.workdir, ignore_errors=True)


def git_revision() -> str | None:
    """The tree measured: ``git describe --always --dirty`` (None outside a checkout)."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, timeout=10,
                             capture_output=True, text=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _reset_postgres(url: str) -> None:
    """Create the load test's own database if missing, and empty it (never the tests' one)."""
    import psycopg2
    from urllib.parse import urlparse

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if name == "test":
        raise SystemExit("refusing to empty the database 'test' (the test suites own it)")
    params = dict(user=parsed.username or "postgres", password=parsed.password,
                  host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432, connect_timeout=5)
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    conn = psycopg2.connect(dbname=name, **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    conn.close()


def profile_summary(path: str, top: int = 25) -> dict:
    """From py-spy's collapsed stacks: the functions with the most samples on top of the stack
    (self) and anywhere in it (inclusive), as shares of all samples."""
    own: collections.Counter = collections.Counter()
    anywhere: collections.Counter = collections.Counter()
    total = 0
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [_short_frame(f) for f in stack.split(";")]
            own[frames[-1]] += n
            for f in set(frames):
                anywhere[f] += n
    share = lambda n: round(100.0 * n / total, 1) if total else 0.0  # noqa: E731
    return {"samples": total,
            "self": [(f, share(n)) for f, n in own.most_common(top)],
            "inclusive": [(f, share(n)) for f, n in anywhere.most_common(top * 2)]}


def _short_frame(frame: str) -> str:
    """``func (path/to/file.py:12)`` → ``func (file.py)``: lines differ, functions do not."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    return f"{match.group(1)} ({os.path.basename(match.group(2))})"


# --- the report ----------------------------------------------------------------------------------

def _num(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _ratio(value, base) -> str:
    if value is None or not base:
        return ""
    return f"{value / base:.2f}×"


def table(result: dict) -> str:
    """The summary: each figure beside its same-run baseline, with the ratio."""
    cfg, inbound = result["config"], result["inbound"]
    base = result.get("baseline", {})
    insert = base.get("insert", {}).get("per_s")
    tell = base.get("tell", {}).get("per_s")
    bcast = base.get("broadcast", {})
    rows: list[tuple[str, str, str, str]] = []
    rate = cfg["rate"] and f"{cfg['rate']:,.0f}/s" or "as fast as possible"
    stored = inbound["stored_per_s"]
    rows.append(("inbound stored/s", _num(stored), f"raw insert {_num(insert)}/s",
                 _ratio(stored, insert)))
    per_cpu, insert_cpu = inbound.get("stored_per_cpu_s"), base.get("insert", {}).get("per_cpu_s")
    rows.append(("  per CPU-second of this process", _num(per_cpu),
                 f"raw insert {_num(insert_cpu)}/CPU-s", _ratio(per_cpu, insert_cpu)))
    tells = inbound.get("tells_per_s")
    rows.append((f"actor tell()s/s ({inbound.get('tells_per_message')} per message)",
                 _num(tells), f"raw tell() {_num(tell)}/s", _ratio(tells, tell)))
    if inbound.get("warmup"):
        warm = inbound["warmup"]
        rows.append(("warm-up: new tickets/s (1st message each)",
                     _num(warm["tickets_created_per_s"]), f"raw insert {_num(insert)}/s",
                     _ratio(warm["tickets_created_per_s"], insert)))
    steady = inbound.get("steady_stored_per_s")
    if steady:
        rows.append(("  steady (tickets exist) stored/s", _num(steady),
                     f"raw insert {_num(insert)}/s", _ratio(steady, insert)))
    for label, key in (("", "server_latency_ms"),
                       (", new ticket", "server_latency_new_ticket_ms"),
                       (", known ticket", "server_latency_known_ticket_ms")):
        server = inbound[key]
        if server["count"]:
            rows.append((f"inject → stored+published{label} p50/p99/max ms",
                         f"{_num(server['p50'], 1)} / {_num(server['p99'], 1)} / "
                         f"{_num(server['max'], 1)}", "", ""))
    delivery = result.get("delivery")
    if delivery:
        rows.append(("WS frames delivered/s", _num(delivery["frames_per_s"]),
                     f"raw broadcast {_num(bcast.get('frames_per_s'))}/s",
                     _ratio(delivery["frames_per_s"], bcast.get("frames_per_s"))))
        lat, blat = delivery["latency_ms"], bcast.get("latency_ms", {})
        for p in ("p50", "p95", "p99", "max"):
            rows.append((f"end-to-end latency {p} ms (each client)", _num(lat[p], 1),
                         f"raw broadcast {_num(blat.get(p), 1)}", _ratio(lat[p], blat.get(p))))
        every, bevery = delivery["all_clients_latency_ms"], bcast.get(
            "all_clients_latency_ms", {})
        rows.append(("message reaches all its clients p99 ms", _num(every["p99"], 1),
                     f"raw broadcast {_num(bevery.get('p99'), 1)}",
                     _ratio(every["p99"], bevery.get("p99"))))
    replies = result.get("replies")
    if replies:
        rows.append(("outbound sent/s", _num(replies.get("sent_per_s")),
                     f"raw insert {_num(insert)}/s", _ratio(replies.get("sent_per_s"), insert)))
        e2s = replies.get("enqueue_to_sent_ms", {})
        rows.append(("outbound enqueue → sent p50/p99/max ms",
                     f"{_num(e2s.get('p50'), 1)} / {_num(e2s.get('p99'), 1)} / "
                     f"{_num(e2s.get('max'), 1)}", "", ""))
    rows.append(("peak RSS MiB", _num(result["peak_rss_mib"]), "", ""))
    actors = result["live_actors_peak"]
    rows.append(("live actors (peak)", ", ".join(f"{k} {v:,}" for k, v in actors.items()),
                 "", ""))
    rows.append(("server CPU during inbound", f"{inbound['server_cpu_percent']:.0f} %", "", ""))
    machine = result["machine"]
    if machine.get("other_processes_cpu_percent") is not None:
        rows.append(("CPU: client process / rest of machine",
                     f"{machine['client_process_cpu_percent']} % / "
                     f"{machine['other_processes_cpu_percent']} %", "", ""))
    errors = result["errors"]["counts"]
    rows.append(("errors logged", str(sum(errors.values())), "", ""))
    for name, value in result["checks"].items():
        rows.append((name.replace("_", " "),
                     "n/a" if value is None else ("yes" if value else "NO  <-- FAILED"), "", ""))
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    head = (f"TikTickets load test: {result.get('queue_class')}, "
            f"{result['database_url'].split(':', 1)[0]}, "
            f"{cfg['tenants']} tenants × {cfg['connections']} connections × {cfg['contacts']} "
            f"contacts, {inbound['injected']:,} messages ({rate}"
            f"{', after a warm-up' if cfg.get('warmup') else ''}), {cfg['clients']} clients, "
            f"{cfg['replies']} replies; {result['machine']['cpus']} CPUs, tree "
            f"{result.get('revision')}, load "
            f"{result['machine']['loadavg_start'][0]:.2f} → "
            f"{result['machine']['loadavg_end'][0]:.2f}")
    lines = [head, ""]
    titles = ("figure", "value", "baseline (same run)", "ratio")
    width = [max(w, len(t)) for w, t in zip(width, titles)]
    fmt = "  ".join(f"{{:{'<' if i in (0, 2) else '>'}{w}}}" for i, w in enumerate(width))
    lines.append(fmt.format(*titles))
    lines.append("  ".join("-" * w for w in width))
    for row in rows:
        lines.append(fmt.format(*row))
    if result["errors"]["samples"]:
        lines.append("")
        lines.append("first errors logged:")
        lines.extend(f"  {s}" for s in result["errors"]["samples"])
    if "profile" in result:
        lines.append("")
        lines.append(f"profile ({result['profile']['samples']:,} samples), self time:")
        lines.extend(f"  {share:5.1f} %  {name}" for name, share in result["profile"]["self"][:15])
    return "\n".join(lines)


def run(opts: Options) -> dict:
    """One load test; returns the result dict (``result["ok"]`` says whether every check held)."""
    test = LoadTest(opts)
    try:
        return test.execute()
    finally:
        test.cleanup()


def parse_args(argv: list[str]) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="scripts/loadtest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres"), default=d.db,
                   help="sqlite: a fresh file in a temporary folder; postgres: " + PG_DEFAULT)
    p.add_argument("--queue", choices=("embedded", "redis"), default=d.queue,
                   help="redis: " + REDIS_DEFAULT)
    p.add_argument("--database-url", help="another database (migrated, never emptied)")
    p.add_argument("--redis-url", help="another Redis (never flushed)")
    p.add_argument("--tenants", type=int, default=d.tenants)
    p.add_argument("--connections", type=int, default=d.connections,
                   help="WhatsApp connections (session actors) per tenant")
    p.add_argument("--contacts", type=int, default=d.contacts,
                   help="customers per connection; each one's first message opens a ticket")
    p.add_argument("--messages", type=int, default=d.messages, help="inbound messages in total")
    p.add_argument("--rate", type=float, default=d.rate,
                   help="messages per second (0: as fast as stored, --window in flight)")
    p.add_argument("--clients", type=int, default=d.clients,
                   help="WebSocket dashboard clients (another process), round-robin over tenants")
    p.add_argument("--replies", type=int, default=d.replies,
                   help="outbound replies after the inbound phase (throttle off)")
    p.add_argument("--warmup", action="store_true",
                   help="first one message per contact (creating every ticket) as fast as "
                        "possible, untimed; then the timed phase on existing tickets")
    p.add_argument("--duplicates", type=float, default=d.duplicates,
                   help="fraction of extra replays of recent messages (idempotency under load)")
    p.add_argument("--body-bytes", type=int, default=d.body_bytes,
                   help="length of each message body (the marker and timestamp, then padding)")
    p.add_argument("--window", type=int, default=d.window,
                   help="messages (or replies) in flight when running as fast as possible")
    p.add_argument("--max-backlog", type=int, default=d.max_backlog,
                   help="with --rate: give up when this many messages wait unstored")
    p.add_argument("--timeout", type=float, default=d.timeout,
                   help="seconds to wait for storage / deliveries / sends after injecting")
    p.add_argument("--baseline", action="store_true",
                   help="raw insert, raw tell(), raw WebSocket broadcast in the same run")
    p.add_argument("--baseline-rows", type=int, default=d.baseline_rows,
                   help="raw inserts (at most --messages)")
    p.add_argument("--baseline-tells", type=int, default=d.baseline_tells)
    p.add_argument("--baseline-frames", type=int, default=d.baseline_frames,
                   help="frames broadcast back to back (then a quarter as many, paced)")
    p.add_argument("--ws-outbox", type=int, help="TT_WS_OUTBOX for this run (default 1000)")
    p.add_argument("--profile", metavar="FILE",
                   help="py-spy the server during the load: .txt (collapsed stacks + summary), "
                        ".json (speedscope) or .svg (flame graph)")
    p.add_argument("--json", dest="json_path", metavar="FILE", help="write every figure here")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar on stderr")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--quiet-wait", type=float, default=d.quiet_wait, metavar="SECONDS",
                   help="on a shared machine, first wait (at most this long) for idle CPUs")
    args = p.parse_args(argv)
    for name in ("tenants", "connections", "contacts", "messages"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    contacts = args.tenants * args.connections * args.contacts
    if args.warmup and args.messages <= contacts:
        p.error(f"--warmup first sends one message to each of the {contacts} contacts: "
                "--messages must be larger")
    return Options(**vars(args))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_clients"]:
        return client_main()
    opts = parse_args(argv)
    from storage import tenants

    tenants.BCRYPT_ROUNDS = 4  # load-test admins log in with tokens made here, never a password
    result = run(opts)
    print(table(result))
    if opts.json_path:
        with open(opts.json_path, "w") as fh:
            json.dump(result, fh, indent=2, default=str)
    if not result["ok"]:
        failed = [k for k, v in result["checks"].items() if v is False]
        print(f"\nLOAD TEST FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
