"""Apply the numbered migrations in ``storage/migrations/`` (peewee's ``playhouse.migrations``)."""
from __future__ import annotations

import os

from playhouse.migrations import Runner

from storage.db import database

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


def migrate() -> list[str]:
    """Apply every pending migration to the bound database; returns the names applied."""
    runner = Runner(database.obj, directory=MIGRATIONS_DIR)
    with database.connection_context():
        return runner.up() or []
