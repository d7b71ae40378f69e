"""A real ``tiktickets serve`` in a subprocess, restartable on the same database and port.

For the dashboard's restart test: the page must survive the server going away and coming back.
The simulated phone lives inside the server process, so after a restart the test starts the
session again through the API and injects customers' messages through ``/sim``.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import gevent

SECRET = "dashboard-restart-test-secret-key-long-enough"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.binary = str(Path(sys.executable).parent / "tiktickets")
        self.env = dict(os.environ, TT_DATABASE_URL=database_url, TT_HOST="127.0.0.1",
                        TT_PORT=str(self.port), TT_SECRET_KEY=SECRET,
                        TT_PUBLIC_DIR=str(tmp_path / "public"), TT_SIM_PAIR_DELAY="0",
                        TT_SEND_RATE="0", TT_WATCHDOG_INTERVAL="3600", TT_LOG_LEVEL="WARNING",
                        TT_SIM_STATE=str(tmp_path / "sim-network.jsonl"))
        self.env.pop("TT_REDIS_URL", None)
        self.log_path = tmp_path / "server.log"
        self.process: subprocess.Popen | None = None
        self.token: str | None = None
        self.whatsapp_id: int | None = None

    def setup(self) -> dict:
        """Create the demo tenant, start the server, log in, connect. Returns the login."""
        demo = subprocess.run([self.binary, "demo"], env=self.env, capture_output=True,
                              text=True, timeout=60, check=True)
        created = json.loads(demo.stdout.strip().splitlines()[-1])
        self.whatsapp_id = created["whatsappId"]
        self.start()
        status, body = self.request("POST", "/auth/login", {"email": created["email"],
                                                            "password": created["password"]})
        assert status == 200, body
        self.token = body["token"]
        self.start_session()
        return {"email": created["email"], "password": created["password"]}

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not answer /health")
            gevent.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def start_session(self, timeout: float = 15.0) -> None:
        status, body = self.request("POST", f"/whatsappsession/{self.whatsapp_id}")
        assert status == 200, body
        deadline = time.monotonic() + timeout
        while self.request("GET", f"/whatsapp/{self.whatsapp_id}")[1]["status"] != "CONNECTED":
            if time.monotonic() > deadline:
                raise AssertionError("the session did not connect")
            gevent.sleep(0.05)

    def incoming(self, number: str, body: str, name: str | None = None) -> None:
        payload = {"from": number, "body": body, "name": name or "Cliente"}
        status, answer = self.request("POST", f"/sim/whatsapp/{self.whatsapp_id}/incoming",
                                      payload)
        assert status == 202, answer
