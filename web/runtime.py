"""Boot and shut down everything below the web: database, migrations, the WhatsApp client factory
(the simulated phone network with ``TT_WHATSAPP_CLIENT=sim``, Chromium + selenium with
``selenium``) and the actor system. The server, the CLI and the tests all boot through here.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from actors.system import ActorSystem, SystemConfig, require_gevent_patching
from actors.whatsapp.simulated import PhoneNetwork
from storage import db
from storage.jobs import EmbeddedJobQueue, RedisJobQueue
from storage.migrate import migrate
from web.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    system: ActorSystem
    network: PhoneNetwork | None


def system_config(settings: Settings) -> SystemConfig:
    return SystemConfig(
        public_dir=os.path.abspath(settings.public_dir),
        send_rate=settings.send_rate,
        send_retries=settings.send_retries,
        send_retry_delay=settings.send_retry_delay,
        watchdog_interval=settings.watchdog_interval,
        ticket_idle_seconds=settings.ticket_idle,
        replay_size=settings.ws_replay,
    )


def connect_database(settings: Settings) -> None:
    db.connect(settings.database_url)
    applied = migrate()
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))


def client_factory(settings: Settings):
    """``(network or None, factory(whatsapp_id, on_event))`` for ``TT_WHATSAPP_CLIENT``.
    ValueError for an unknown client."""
    if settings.whatsapp_client == "sim":
        network = PhoneNetwork(pair_delay=settings.sim_pair_delay,
                               state_path=settings.sim_state_path(),
                               qr_interval=settings.sim_qr_interval)
        return network, network.client
    if settings.whatsapp_client == "selenium":
        from actors.whatsapp.selenium_client import BrowserOptions, SeleniumClientFactory

        return None, SeleniumClientFactory(BrowserOptions(
            url=settings.whatsapp_web_url, profiles_dir=settings.whatsapp_profiles_dir,
            chromium=settings.chromium_path, chromedriver=settings.chromedriver_path))
    raise ValueError(f"TT_WHATSAPP_CLIENT={settings.whatsapp_client!r}: use 'sim' or 'selenium'")


def boot(settings: Settings, config: SystemConfig | None = None) -> Runtime:
    """Connect and migrate the database, then start the actors. Requires gevent patching."""
    require_gevent_patching()
    connect_database(settings)
    network, factory = client_factory(settings)
    queue = (RedisJobQueue(settings.redis_url, settings.redis_consumer_ttl) if settings.redis_url
             else EmbeddedJobQueue())
    system = ActorSystem(config or system_config(settings), factory, queue)
    system.start()
    return Runtime(settings, system, network)


def shutdown(runtime: Runtime) -> None:
    runtime.system.stop()
    if runtime.network is not None:
        runtime.network.close()
    pool = db.database.obj
    if hasattr(pool, "close_idle"):
        pool.close_idle()  # close_all() could block on a connection another greenlet still uses
