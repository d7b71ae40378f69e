"""Migrations on a database that already holds rows: what an upgrade keeps (SQLite, where the
campaign table is rebuilt; PostgreSQL's sequences need no change)."""
import datetime

from peewee import SqliteDatabase
from playhouse.migrations import Runner

from storage.migrate import MIGRATIONS_DIR
from storage.models import Campaign, CampaignContact, Contact, Tenant, Whatsapp


def test_the_campaign_rebuild_keeps_rows_indexes_and_cascades(tmp_path):
    database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
    runner = Runner(database, directory=MIGRATIONS_DIR)
    runner.up(target="0004_campaign_waiting")
    models = [Tenant, Whatsapp, Contact, Campaign, CampaignContact]
    with database.bind_ctx(models):
        tenant = Tenant.create(name="Loja")
        whatsapp = Whatsapp.create(tenant=tenant, name="Number 1")
        contact = Contact.create(tenant=tenant, name="Ana", number="5511999990001")
        first = Campaign.create(tenant=tenant, whatsapp=whatsapp, name="a", message1="x")
        newest = Campaign.create(tenant=tenant, whatsapp=whatsapp, name="b", message1="y",
                                 waiting_for="window",
                                 next_send_at=datetime.datetime(2030, 1, 7, 11, 0))
        CampaignContact.create(campaign=newest, contact=contact, name="Ana")
        indexes_before = sorted(i.name for i in database.get_indexes("campaign"))

        assert runner.up(target="0005_campaign_ids_not_reused") == \
            ["0005_campaign_ids_not_reused"]

        kept = Campaign.get_by_id(newest.id)
        assert (kept.name, kept.waiting_for, kept.next_send_at) == \
            ("b", "window", datetime.datetime(2030, 1, 7, 11, 0))
        assert sorted(i.name for i in database.get_indexes("campaign")) == indexes_before
        assert CampaignContact.select().where(CampaignContact.campaign == newest.id).count() == 1
        kept.delete_instance()
        assert CampaignContact.select().count() == 0  # the foreign key still cascades
        again = Campaign.create(tenant=tenant, whatsapp=whatsapp, name="c", message1="z")
        assert again.id > newest.id > first.id
        assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    database.close()


def test_a_window_whose_ends_are_equal_becomes_no_window(tmp_path):
    database = SqliteDatabase(str(tmp_path / "old.db"), pragmas={"foreign_keys": 1})
    runner = Runner(database, directory=MIGRATIONS_DIR)
    runner.up(target="0005_campaign_ids_not_reused")
    with database.bind_ctx([Tenant, Whatsapp, Campaign]):
        tenant = Tenant.create(name="Loja")
        whatsapp = Whatsapp.create(tenant=tenant, name="Number 1")
        empty = Campaign.create(tenant=tenant, whatsapp=whatsapp, name="a", message1="x",
                                window_start="10:00", window_end="10:00")
        real = Campaign.create(tenant=tenant, whatsapp=whatsapp, name="b", message1="y",
                               window_start="22:00", window_end="06:00")

        assert runner.up() == ["0006_no_empty_windows"]

        windows = {c.id: (c.window_start, c.window_end) for c in Campaign.select()}
        assert windows == {empty.id: (None, None), real.id: ("22:00", "06:00")}
    database.close()
