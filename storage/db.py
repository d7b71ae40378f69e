"""The one database handle, bound once at start-up.

Models carry no connection: they all point at :data:`database`, a ``peewee.DatabaseProxy``
that :func:`connect` initialises from a URL (``TT_DATABASE_URL``):

- ``sqlite:///data/tiktickets.db`` (the embedded default) opens a pooled SQLite database in WAL
  mode. SQLite allows one writer; under gevent a second writer that finds the file locked spins
  in C and freezes the hub, so every write transaction goes through :func:`write`, which holds
  one gevent lock for the duration (never yield inside it).
- ``postgresql://user@host:port/db`` opens a pooled PostgreSQL database; psycopg2 is made
  cooperative with psycogreen so a query parks only its own greenlet.

Connections are scoped to a unit of work (:func:`unit_of_work`), never held per actor: 10,000
ticket actors must not hold 10,000 connections.
"""
from __future__ import annotations

import contextlib
import os
from urllib.parse import urlparse, parse_qs

import gevent.lock
import peewee
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

database = peewee.DatabaseProxy()

_write_lock = gevent.lock.RLock()
_is_sqlite = False


class DatabaseUnavailable(Exception):
    """The database cannot be reached (connection refused, pool exhausted, server gone)."""


def connect(url: str, *, max_connections: int = 20, timeout: float = 10.0) -> peewee.Database:
    """Open the database named by ``url`` and bind :data:`database` to it.

    ``url`` is ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
    ``sqlite:///:memory:`` or ``postgresql://user[:pw]@host[:port]/dbname``. ``timeout`` is the
    pool wait in seconds. Returns the real database object. Raises ``ValueError`` for any
    other scheme.
    """
    global _is_sqlite
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        db = PooledSqliteDatabase(
            path or ":memory:",
            max_connections=max_connections,
            stale_timeout=300,
            timeout=timeout,
            pragmas={
                "journal_mode": "wal",
                "synchronous": "normal",
                "foreign_keys": 1,
                "busy_timeout": 5000,
                "cache_size": -16000,
            },
            check_same_thread=False,
        )
        _is_sqlite = True
    elif parsed.scheme in ("postgres", "postgresql"):
        import psycogreen.gevent

        psycogreen.gevent.patch_psycopg()
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        db = PooledPostgresqlDatabase(
            parsed.path.lstrip("/"),
            user=parsed.username,
            password=parsed.password,
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            max_connections=int(options.pop("max_connections", max_connections)),
            stale_timeout=300,
            timeout=timeout,
            connect_timeout=5,
            **options,
        )
        _is_sqlite = False
    else:
        raise ValueError(f"unsupported database URL scheme: {parsed.scheme!r}")
    database.initialize(db)
    return db


def is_transient(exc: BaseException) -> bool:
    """True for failures that go away by themselves (database down, locked, connection lost):
    worth retrying. False for the ones a retry repeats (bad data, a bug)."""
    return isinstance(exc, (DatabaseUnavailable, peewee.OperationalError, peewee.InterfaceError))


def is_sqlite() -> bool:
    """True when the bound database is SQLite (one writer at a time)."""
    return _is_sqlite


def sql(text: str) -> str:
    """A hand-written statement written with ``?`` placeholders, in the driver's style."""
    return text if _is_sqlite else text.replace("?", "%s")


def ts(value):
    """A timestamp parameter for a hand-written statement: SQLite gets peewee's text format
    (what ``DateTimeField`` stores), PostgreSQL the ``datetime`` itself."""
    return value.isoformat(" ") if _is_sqlite and value is not None else value


@contextlib.contextmanager
def unit_of_work():
    """Borrow a pooled connection for the block and give it back afterwards.

    Nested use is cheap: an inner block reuses the outer block's connection.
    Raises :class:`DatabaseUnavailable` when no connection can be opened.
    """
    if not database.is_closed():
        yield
        return
    try:
        database.connect()
    except (peewee.OperationalError, peewee.InterfaceError, ValueError) as exc:
        raise DatabaseUnavailable(str(exc)) from exc
    try:
        yield
    finally:
        database.close()


class GroupCommit:
    """Group commit: write functions submitted by many greenlets in the same moment run in one
    transaction, and each caller gets its own function's result after that commit.

    Under load the commit (a quarter of the inbound path's CPU on SQLite, a round trip and a WAL
    flush on PostgreSQL) is paid once per batch instead of once per message; alone, a call costs
    one greenlet switch more than :func:`write`. A function must not roll back on its own: if any
    raises, the batch is rolled back and each function runs again in its own transaction, so only
    the failing one fails. At most ``max_batch`` functions share a transaction.
    """

    def __init__(self, max_batch: int = 200) -> None:
        import collections

        import gevent.event

        self.max_batch = max_batch
        self._pending: collections.deque = collections.deque()
        self._wake = gevent.event.Event()
        self._writer = None

    def run(self, fn):
        """``fn()`` inside a shared write transaction; returns its result after the commit."""
        import gevent
        import gevent.event

        result = gevent.event.AsyncResult()
        self._pending.append((fn, result))
        if self._writer is None or self._writer.dead:
            self._writer = gevent.spawn(self._write_forever)
        self._wake.set()
        return result.get()

    def _write_forever(self) -> None:
        import gevent

        while True:
            self._wake.wait()
            self._wake.clear()
            gevent.sleep(0)  # let every greenlet that is ready this moment submit its write
            while self._pending:
                batch = [self._pending.popleft()
                         for _ in range(min(self.max_batch, len(self._pending)))]
                self._commit(batch)

    @staticmethod
    def _commit(batch) -> None:
        try:
            with write():
                values = [fn() for fn, _ in batch]
        except Exception:  # noqa: BLE001 - find the culprit: each alone
            for fn, result in batch:
                try:
                    with write():
                        value = fn()
                except Exception as exc:  # noqa: BLE001 - handed to that caller
                    result.set_exception(exc)
                else:
                    result.set(value)
            return
        for (_, result), value in zip(batch, values):
            result.set(value)


group = GroupCommit()


@contextlib.contextmanager
def write():
    """One write transaction: a pooled connection, the SQLite writer lock, ``atomic()``.

    On SQLite the lock serialises writers inside this process (readers are not blocked: WAL).
    Nothing inside the block may yield to the gevent hub (no network I/O, no ``sleep``).
    """
    with unit_of_work():
        if _is_sqlite:
            with _write_lock, database.atomic():
                yield
        else:
            with database.atomic():
                yield
