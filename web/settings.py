"""Configuration: every ``TT_*`` environment variable, read once into one frozen object.

Only entry points call :func:`from_env`; everything below receives values as arguments.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return default if raw in (None, "") else float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return default if raw in (None, "") else int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None


def check(settings: "Settings") -> "Settings":
    """Refuse values the service cannot run with. Raises ValueError naming the variable."""
    import logging

    problems = []
    if not settings.database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        problems.append("TT_DATABASE_URL must be sqlite:///… or postgresql://…")
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://")):
        problems.append("TT_REDIS_URL must be redis://…")
    if settings.whatsapp_client not in ("sim", "selenium"):
        problems.append("TT_WHATSAPP_CLIENT must be sim or selenium")
    if not 1 <= settings.max_upload_mb <= 1024:
        problems.append("TT_MAX_UPLOAD_MB must be between 1 and 1024")
    if not 0 <= settings.port <= 65535:
        problems.append("TT_PORT must be a TCP port")
    if settings.send_rate < 0 or settings.send_retries < 0 or settings.send_retry_delay < 0:
        problems.append("TT_SEND_RATE, TT_SEND_RETRIES and TT_SEND_RETRY_DELAY must be ≥ 0")
    if settings.watchdog_interval <= 0 or settings.ws_heartbeat <= 0:
        problems.append("TT_WATCHDOG_INTERVAL and TT_WS_HEARTBEAT must be > 0")
    if settings.ws_outbox < 1 or settings.ws_replay < 1:
        problems.append("TT_WS_OUTBOX and TT_WS_REPLAY must be ≥ 1")
    try:
        import limits

        limits.parse_many(settings.login_rate)
    except ValueError:
        problems.append("TT_LOGIN_RATE must be like 5/minute;20/hour")
    if not isinstance(logging.getLevelName(settings.log_level.upper()), int):
        problems.append("TT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    if problems:
        raise ValueError("; ".join(problems))
    return settings


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///data/tiktickets.db"
    redis_url: str = ""
    redis_consumer_ttl: float = 15.0
    secret_key: str = field(default="", repr=False)
    public_dir: str = "public"
    whatsapp_client: str = "sim"
    watchdog_interval: float = 45.0
    send_rate: float = 20.0
    send_retries: int = 3
    send_retry_delay: float = 2.0
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: int = 16
    access_token_minutes: int = 15
    login_rate: str = "5/minute;20/hour"
    refresh_token_days: int = 7
    ws_outbox: int = 1000
    ws_heartbeat: float = 25.0
    ws_replay: int = 2000
    ticket_idle: float = 300.0
    sim_pair_delay: float = 2.0
    sim_qr_interval: float = 20.0
    whatsapp_web_url: str = "https://web.whatsapp.com/"
    whatsapp_profiles_dir: str = "data/wa-profiles"
    chromium_path: str = "/usr/bin/chromium"
    chromedriver_path: str = "/usr/bin/chromedriver"
    sim_state: str = ""  # "" → beside the SQLite file, or data/sim-network.jsonl
    log_level: str = "INFO"

    def sim_state_path(self) -> str:
        """Where the simulated WhatsApp keeps its sent log and saved logins across restarts."""
        if self.sim_state:
            return self.sim_state
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            return self.database_url[len("sqlite:///"):].rsplit(".", 1)[0] + ".sim.jsonl"
        return os.path.join("data", "sim-network.jsonl")

    def replace(self, **changes) -> "Settings":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def from_env() -> Settings:
    """Read the ``TT_*`` variables (README "Configuration" lists each with its default).

    Without ``TT_SECRET_KEY`` a random key is made per process: tokens then die with it.
    Raises ValueError (naming the variable) for a value the service cannot run with.
    """
    d = Settings()
    return check(Settings(
        database_url=os.environ.get("TT_DATABASE_URL") or d.database_url,
        redis_url=os.environ.get("TT_REDIS_URL", d.redis_url),
        redis_consumer_ttl=_float("TT_REDIS_CONSUMER_TTL", d.redis_consumer_ttl),
        secret_key=os.environ.get("TT_SECRET_KEY") or secrets.token_urlsafe(32),
        public_dir=os.environ.get("TT_PUBLIC_DIR") or d.public_dir,
        whatsapp_client=os.environ.get("TT_WHATSAPP_CLIENT") or d.whatsapp_client,
        watchdog_interval=_float("TT_WATCHDOG_INTERVAL", d.watchdog_interval),
        send_rate=_float("TT_SEND_RATE", d.send_rate),
        send_retries=_int("TT_SEND_RETRIES", d.send_retries),
        send_retry_delay=_float("TT_SEND_RETRY_DELAY", d.send_retry_delay),
        host=os.environ.get("TT_HOST") or d.host,
        port=_int("TT_PORT", d.port),
        max_upload_mb=_int("TT_MAX_UPLOAD_MB", d.max_upload_mb),
        access_token_minutes=_int("TT_ACCESS_TOKEN_MINUTES", d.access_token_minutes),
        login_rate=os.environ.get("TT_LOGIN_RATE") or d.login_rate,
        refresh_token_days=_int("TT_REFRESH_TOKEN_DAYS", d.refresh_token_days),
        ws_outbox=_int("TT_WS_OUTBOX", d.ws_outbox),
        ws_heartbeat=_float("TT_WS_HEARTBEAT", d.ws_heartbeat),
        ws_replay=_int("TT_WS_REPLAY", d.ws_replay),
        ticket_idle=_float("TT_TICKET_IDLE", d.ticket_idle),
        sim_pair_delay=_float("TT_SIM_PAIR_DELAY", d.sim_pair_delay),
        sim_qr_interval=_float("TT_SIM_QR_INTERVAL", d.sim_qr_interval),
        whatsapp_web_url=os.environ.get("TT_WHATSAPP_WEB_URL") or d.whatsapp_web_url,
        whatsapp_profiles_dir=(os.environ.get("TT_WHATSAPP_PROFILES_DIR")
                               or d.whatsapp_profiles_dir),
        chromium_path=os.environ.get("TT_CHROMIUM") or d.chromium_path,
        chromedriver_path=os.environ.get("TT_CHROMEDRIVER") or d.chromedriver_path,
        sim_state=os.environ.get("TT_SIM_STATE", d.sim_state),
        log_level=(os.environ.get("TT_LOG_LEVEL") or d.log_level).upper(),
    ))
