"""Boot and shut down everything below the web: database, migrations, the simulated phone
network (sim mode) and the actor system. The server, the CLI and the tests all boot through here.
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


def boot(settings: Settings, config: SystemConfig | None = None) -> Runtime:
    """Connect and migrate the database, then start the actors. Requires gevent patching."""
    require_gevent_patching()
    connect_database(settings)
    if settings.whatsapp_client != "sim":
        raise ValueError(f"TT_WHATSAPP_CLIENT={settings.whatsapp_client!r}: only 'sim' is "
                         "available in this version")
    network = PhoneNetwork(pair_delay=settings.sim_pair_delay,
                           state_path=settings.sim_state_path())
    queue = (RedisJobQueue(settings.redis_url, settings.redis_consumer_ttl) if settings.redis_url
             else EmbeddedJobQueue())
    system = ActorSystem(config or system_config(settings), network.client, queue)
    system.start()
    return Runtime(settings, system, network)


def shutdown(runtime: Runtime) -> None:
    runtime.system.stop()
    if runtime.network is not None:
        runtime.network.close()
    db.database.close_all() if hasattr(db.database.obj, "close_all") else None
