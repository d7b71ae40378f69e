"""Real server processes on PostgreSQL + Redis: kill -9 in the middle of sending loses nothing,
and two processes sharing the database never split a conversation over two tickets."""
import json
import os
import signal
import socket
import subprocess
import sys

import gevent
import pytest
import requests

from helpers import wait_for

PG_URL = os.environ.get("TT_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TT_TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(not (PG_URL.startswith("postgres") and REDIS_URL),
                                reason="runs in the PostgreSQL + Redis suite")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m web.cli serve`` in its own process, on the test's PostgreSQL and Redis."""

    def __init__(self, tmp_path, name: str, **env) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / f"{name}.log", "ab")
        self.env = dict(os.environ, TT_DATABASE_URL=PG_URL, TT_REDIS_URL=REDIS_URL,
                        TT_SECRET_KEY="process-test-secret-key-0123456789",
                        TT_PORT=str(self.port), TT_PUBLIC_DIR=str(tmp_path / "public"),
                        TT_SIM_STATE=str(tmp_path / f"{name}.sim.jsonl"), TT_SIM_PAIR_DELAY="0",
                        TT_SEND_RATE="0", TT_REDIS_CONSUMER_TTL="2", TT_LOG_LEVEL="WARNING")
        self.env.update(env)
        self.proc = None

    def cli(self, *args) -> dict:
        out = subprocess.run([sys.executable, "-m", "web.cli", *args], env=self.env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def start(self) -> "Server":
        self.proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=self.env,
                                     cwd=ROOT, stdout=self.log, stderr=self.log)
        wait_for(self._up, timeout=30, message=f"server on {self.port}")
        return self

    def _up(self) -> bool:
        try:
            return requests.get(self.base + "/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def login(self, email: str) -> dict:
        token = requests.post(self.base + "/auth/login", json={"email": email,
                                                               "password": "secret123"},
                              timeout=10).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    def get(self, path, headers):
        return requests.get(self.base + path, headers=headers, timeout=10).json()

    def post(self, path, headers, body=None):
        return requests.post(self.base + path, headers=headers, json=body, timeout=10)


@pytest.fixture
def servers(tmp_path, settings):  # settings: a clean database and Redis DB for this test
    started = []

    def make(name, **env):
        server = Server(tmp_path, name, **env)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def _connect(server, headers) -> int:
    whatsapp = server.post("/whatsapp", headers, {"name": "main"}).json()
    server.post(f"/whatsappsession/{whatsapp['id']}", headers)
    wait_for(lambda: server.get(f"/whatsapp/{whatsapp['id']}", headers)["status"] == "CONNECTED",
             timeout=10)
    return whatsapp["id"]


@pytest.mark.timeout(240)
def test_kill_9_while_sending_loses_no_message(servers):
    first = servers("crash", TT_SEND_RATE="3000")  # ~50/s: the kill lands mid-stream
    first.cli("create-tenant", "--name", "Crash", "--admin-email", "crash@t.test",
              "--admin-password", "secret123")
    first.start()
    headers = first.login("crash@t.test")
    whatsapp_id = _connect(first, headers)
    for n in range(5):
        first.post(f"/sim/whatsapp/{whatsapp_id}/incoming", headers,
                   {"from": f"551198000000{n}", "body": "hi"})
    tickets = wait_for(lambda: len(t := first.get("/tickets?status=pending", headers)
                                   ["tickets"]) == 5 and t, timeout=10)
    bodies = [f"crash-{i:03d}" for i in range(300)]
    for i, body in enumerate(bodies):
        response = first.post(f"/messages/{tickets[i % 5]['id']}", headers, {"body": body})
        assert response.status_code == 201
    sent_before = wait_for(lambda: len(s := first.get(f"/sim/whatsapp/{whatsapp_id}/sent",
                                                      headers)) >= 60 and s, timeout=30)
    first.kill()
    assert len(sent_before) < 300, "everything was sent before the kill: nothing was tested"

    second = Server.__new__(Server)
    second.__dict__.update(first.__dict__)
    second.log = open(first.log.name, "ab")
    second.start()
    headers = second.login("crash@t.test")

    def all_sent():
        statuses = [m["status"] for t in tickets
                    for m in second.get(f"/messages/{t['id']}?pageNumber=1", headers)["messages"]
                    + second.get(f"/messages/{t['id']}?pageNumber=2", headers)["messages"]
                    if m["fromMe"]]
        return len(statuses) == 300 and all(s == "sent" for s in statuses)

    wait_for(all_sent, timeout=120, interval=0.5, message="all 300 messages sent")
    log = [item["body"] for item in second.get(f"/sim/whatsapp/{whatsapp_id}/sent", headers)]
    assert set(log) == set(bodies)
    duplicates = len(log) - len(set(log))
    print(f"sent before the kill: {len(sent_before)}; after the restart: {len(log)} entries, "
          f"{duplicates} duplicates")
    # one connection sends one message at a time: at most one was in flight at the kill
    assert duplicates <= 1, f"{duplicates} duplicates"
    second.stop()


@pytest.mark.timeout(120)
def test_two_processes_never_split_a_first_conversation(servers):
    a = servers("a")
    a.cli("create-tenant", "--name", "Two", "--admin-email", "two@t.test",
          "--admin-password", "secret123")
    a.start()
    b = servers("b").start()
    headers_a, headers_b = a.login("two@t.test"), b.login("two@t.test")
    whatsapp_id = _connect(a, headers_a)
    b.post(f"/whatsappsession/{whatsapp_id}", headers_b)
    wait_for(lambda: b.get(f"/whatsapp/{whatsapp_id}", headers_b)["status"] == "CONNECTED")

    def send(server, headers, i):
        response = server.post(f"/sim/whatsapp/{whatsapp_id}/incoming", headers,
                               {"from": "5511987654321", "body": f"first-{i}"})
        assert response.status_code == 202

    jobs = [gevent.spawn(send, a if i % 2 else b, headers_a if i % 2 else headers_b, i)
            for i in range(20)]
    gevent.joinall(jobs, raise_error=True)
    tickets = wait_for(lambda: (t := a.get("/tickets?status=pending", headers_a)["tickets"])
                       and t[0]["unreadMessages"] == 20 and t, timeout=20)
    assert len(tickets) == 1
    messages = a.get(f"/messages/{tickets[0]['id']}", headers_a)["messages"]
    assert sorted(m["body"] for m in messages) == sorted(f"first-{i}" for i in range(20))
