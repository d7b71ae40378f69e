"""A deleted campaign's id is never given to a new campaign (SQLite only).

Campaigns are the one row the API deletes. SQLite's ``INTEGER PRIMARY KEY`` hands out
``max(id) + 1``, so deleting the newest campaign and creating another reused its id: a dashboard
that had seen ``campaign.deleted`` for that id ignored the new campaign's events (a stale
screen), and a link to the old campaign opened the new one. ``AUTOINCREMENT`` keeps the highest
id ever used in ``sqlite_sequence``. PostgreSQL's sequences never reuse ids: nothing to do there.

SQLite cannot change a primary key in place, so the table is rebuilt the way SQLite documents
("Making Other Kinds Of Table Schema Changes"): foreign keys off (a pragma that only changes
outside a transaction, hence ``atomic = False``), the new table from the old one's own DDL with
``AUTOINCREMENT`` added, rows copied with their ids, old table dropped, new one renamed, its
indexes re-created, foreign keys checked before the commit.
"""
import re

from peewee import SqliteDatabase

atomic = False

_KEY = re.compile(r'"id"\s+INTEGER\s+NOT\s+NULL\s+PRIMARY\s+KEY', re.IGNORECASE)


def up(migrator, db):
    if not isinstance(db, SqliteDatabase):
        return
    table_sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                               "AND name = 'campaign'").fetchone()[0]
    if "AUTOINCREMENT" in table_sql.upper():
        return
    new_sql, replaced = _KEY.subn('"id" INTEGER PRIMARY KEY AUTOINCREMENT', table_sql, count=1)
    if not replaced:
        raise RuntimeError(f"unexpected campaign table definition: {table_sql}")
    new_sql = new_sql.replace('"campaign"', '"campaign__new"', 1)
    indexes = [row[0] for row in db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'campaign' "
        "AND sql IS NOT NULL").fetchall()]
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            db.execute_sql(new_sql)
            db.execute_sql('INSERT INTO "campaign__new" SELECT * FROM "campaign"')
            db.execute_sql('DROP TABLE "campaign"')
            db.execute_sql('ALTER TABLE "campaign__new" RENAME TO "campaign"')
            for index_sql in indexes:
                db.execute_sql(index_sql)
            broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")
