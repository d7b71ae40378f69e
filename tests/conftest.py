"""Fixtures: a real app on a real database with real actors and the simulated WhatsApp.

``TT_TEST_DATABASE_URL`` picks the database (default: a fresh SQLite file per test); with a
``postgresql://`` URL each test gets an empty ``public`` schema.
"""
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402

from storage import db, tenants  # noqa: E402
from web import create_app  # noqa: E402
from web.runtime import boot, shutdown  # noqa: E402
from web.server import Server  # noqa: E402
from web.settings import Settings  # noqa: E402
from helpers import wait_for  # noqa: E402


def _reset_postgres(url: str) -> None:
    import psycopg2
    from urllib.parse import urlparse

    parsed = urlparse(url)
    conn = psycopg2.connect(dbname=parsed.path.lstrip("/"), user=parsed.username or "postgres",
                            password=parsed.password, host=parsed.hostname or "127.0.0.1",
                            port=parsed.port or 5432)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    conn.close()


tenants.BCRYPT_ROUNDS = 4  # the cheapest valid cost: tests log in a lot


@pytest.fixture
def database_url(tmp_path):
    url = os.environ.get("TT_TEST_DATABASE_URL")
    if url and url.startswith("postgres"):
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'tiktickets.db'}"


@pytest.fixture
def redis_url():
    """``TT_TEST_REDIS_URL`` (flushed for each test), or "" for the embedded queue."""
    url = os.environ.get("TT_TEST_REDIS_URL", "")
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def settings(tmp_path, database_url, redis_url) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        public_dir=str(tmp_path / "public"),
        send_rate=0,
        send_retry_delay=0.05,
        watchdog_interval=3600,
        sim_pair_delay=0,
        sim_state=str(tmp_path / "sim-network.jsonl"),
        ws_heartbeat=5,
    )


@pytest.fixture
def runtime(settings):
    rt = boot(settings)
    yield rt
    shutdown(rt)


@pytest.fixture
def app(runtime):
    return create_app(runtime)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class TenantCtx:
    """A tenant with an admin, a started simulated connection and an API helper."""

    client: object
    runtime: object
    tenant_id: int
    user_id: int
    whatsapp_id: int
    token: str
    email: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, method: str, path: str, json_body=None, **kwargs):
        return self.client.open(path, method=method, json=json_body, headers=self.headers,
                                **kwargs)

    def incoming(self, number: str, body: str = "hello", **extra):
        payload = {"from": number, "body": body, **extra}
        response = self.api("POST", f"/sim/whatsapp/{self.whatsapp_id}/incoming", payload)
        assert response.status_code == 202, response.get_json()
        return response.get_json()["id"]

    def sent(self) -> list:
        return self.api("GET", f"/sim/whatsapp/{self.whatsapp_id}/sent").get_json()

    def tickets(self, *statuses: str) -> list:
        query = "&".join(f"status={s}" for s in statuses)
        return self.api("GET", f"/tickets?{query}").get_json()["tickets"]

    def pending_ticket(self) -> dict:
        """The first pending ticket once its message is stored (the ticket row commits first,
        its first message a moment later)."""
        return wait_for(lambda: [t for t in self.tickets("pending") if t["lastMessageAt"]],
                        message="a pending ticket with its message")[0]

    def messages(self, ticket_id: int) -> list:
        return self.api("GET", f"/messages/{ticket_id}").get_json()["messages"]


@pytest.fixture
def make_tenant(client, runtime):
    counter = iter(range(1, 1000))

    def make(name: str | None = None, start: bool = True) -> TenantCtx:
        n = next(counter)
        email = f"admin{n}@tenant{n}.test"
        with db.unit_of_work():
            tenant, user = tenants.create_tenant(name or f"Tenant {n}", email, "secret123")
            whatsapp = tenants.create_whatsapp(tenant.id, f"Number {n}")
        runtime.system.start_connection(whatsapp.id, tenant.id)
        login = client.post("/auth/login", json={"email": email, "password": "secret123"})
        assert login.status_code == 200, login.get_json()
        ctx = TenantCtx(client, runtime, tenant.id, user.id, whatsapp.id,
                        login.get_json()["token"], email)
        if start:
            assert ctx.api("POST", f"/whatsappsession/{whatsapp.id}").status_code == 200
            wait_for(lambda: ctx.api("GET", f"/whatsapp/{whatsapp.id}")
                     .get_json()["status"] == "CONNECTED", message="session CONNECTED")
        return ctx

    return make


@pytest.fixture
def tenant(make_tenant) -> TenantCtx:
    return make_tenant()


@pytest.fixture
def live_server(app):
    """The app on the production server (:class:`web.server.Server`) on 127.0.0.1."""
    server = Server(("127.0.0.1", 0), app, log=None)
    server.start()
    yield f"127.0.0.1:{server.server_port}"
    server.stop(timeout=1)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium, one per test module (each costs ~200 MB and a second)."""
    from dashboard_screen import CHROMEDRIVER, start_browser, stop_browser

    if not os.path.exists(CHROMEDRIVER):
        message = "Debian's chromium-driver is missing (scripts/test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    driver, profile = start_browser()
    yield driver
    stop_browser(driver, profile)


@pytest.fixture
def screen(browser, live_server):
    """The first browser window, on this test's server at http://127.0.0.1:<port>; fails the
    test on an uncaught JavaScript error."""
    from dashboard_screen import Screen, reset_windows, script_errors

    yield Screen(browser, f"http://{live_server}")
    errors = script_errors(browser)
    reset_windows(browser)
    assert not errors, f"uncaught JavaScript errors: {errors}"
