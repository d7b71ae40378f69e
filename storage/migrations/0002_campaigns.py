"""Campaigns: ``campaign``, ``campaign_contact``, ticketless campaign messages, opt-outs.

Frozen copies of the models as they were when this migration was written (the tables created
here in full; the ones they point at only as far as a foreign key needs).

- ``message.ticket_id`` becomes nullable: a campaign send is a message row in the same
  ``SendMessages`` queue, but it opens no ticket (the customer's reply does, through the inbound
  path).
- ``contact.opted_out_at``: set when the contact answers a campaign's opt-out keyword; future
  campaign sends skip the contact.
- ``campaign_contact.message_id`` is unique: one message row per recipient, ever — the database
  holds "nobody is sent twice" across pause, resume and restarts.

SQLite cannot drop NOT NULL in place: peewee rebuilds ``message`` (copy, drop, rename, re-index).
With foreign keys on, dropping the old table would run ``quoted_message_id``'s ``ON DELETE SET
NULL`` against the copy, so foreign keys are off for the rebuild (a pragma that only changes
outside a transaction, hence ``atomic = False`` and an explicit transaction below) and checked
afterwards.
"""
import datetime

from peewee import (CharField, DateTimeField, FloatField, ForeignKeyField, IntegerField, Model,
                    SmallIntegerField, SqliteDatabase, TextField)

atomic = False


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Tenant(Base):
        pass

    class Whatsapp(Base):
        pass

    class Contact(Base):
        pass

    class Message(Base):
        id = CharField(primary_key=True, max_length=36)

    class Campaign(Base):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        whatsapp = ForeignKeyField(Whatsapp, on_delete="CASCADE")
        name = CharField(max_length=255)
        status = CharField(max_length=16, default="draft")
        message1 = TextField()
        message2 = TextField(null=True)
        message3 = TextField(null=True)
        media_type = CharField(max_length=32, null=True)
        media_path = CharField(max_length=512, null=True)
        media_name = CharField(max_length=255, null=True)
        start_at = DateTimeField(null=True)
        delay = FloatField(default=20.0)
        jitter = FloatField(default=10.0)
        window_start = CharField(max_length=5, null=True)
        window_end = CharField(max_length=5, null=True)
        daily_cap = IntegerField(null=True)
        opt_out_keyword = CharField(max_length=64, null=True)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class CampaignContact(Base):
        campaign = ForeignKeyField(Campaign, on_delete="CASCADE")
        contact = ForeignKeyField(Contact, on_delete="CASCADE")
        name = CharField(max_length=255, default="")
        status = CharField(max_length=16, default="pending")
        variant = SmallIntegerField(null=True)
        message = ForeignKeyField(Message, null=True, unique=True, on_delete="SET NULL")
        queued_at = DateTimeField(null=True)
        replied_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("campaign", "contact"), True),)

    Campaign.add_index(Campaign.index(Campaign.tenant, Campaign.status,
                                      name="campaign_tenant_status"))
    Campaign.add_index(Campaign.index(Campaign.status, Campaign.whatsapp,
                                      name="campaign_status_whatsapp"))
    CampaignContact.add_index(CampaignContact.index(
        CampaignContact.campaign, CampaignContact.status, CampaignContact.id,
        name="campaign_contact_campaign_status"))
    CampaignContact.add_index(CampaignContact.index(CampaignContact.contact,
                                                    name="campaign_contact_contact"))

    sqlite = isinstance(db, SqliteDatabase)
    if sqlite:
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            migrator.drop_not_null("message", "ticket_id").run()
            migrator.add_column("contact", "opted_out_at", DateTimeField(null=True)).run()
            db.create_tables([Campaign, CampaignContact])
            if sqlite:
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")
