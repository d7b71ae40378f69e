"""Initial schema: tenants, users, queues, connections, contacts, tickets, messages, settings.

Frozen copies of the models as they were when this migration was written (never import the
application's models here). The two invariants live in indexes:
- ``ticket_one_active``: one open-or-pending ticket per (tenant, whatsapp, contact) (partial);
- ``message_tenant_whatsapp_wa_id``: one message per (tenant, whatsapp, WhatsApp message id).
"""
import datetime

from peewee import (BigIntegerField, BooleanField, CharField, DateTimeField, ForeignKeyField,
                    IntegerField, Model, SQL, TextField)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Tenant(Base):
        name = CharField(max_length=255)
        status = CharField(max_length=16, default="active")
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class User(Base):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        name = CharField(max_length=255)
        email = CharField(max_length=255, unique=True)
        password_hash = CharField(max_length=255)
        profile = CharField(max_length=16, default="user")
        token_version = IntegerField(default=0)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class Queue(Base):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        queue = CharField(max_length=255)
        is_active = BooleanField(default=True)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class UserQueue(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        queue = ForeignKeyField(Queue, on_delete="CASCADE")

        class Meta:
            indexes = ((("user", "queue"), True),)

    class Whatsapp(Base):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        name = CharField(max_length=255)
        status = CharField(max_length=32, default="DISCONNECTED")
        qrcode = TextField(null=True)
        number = CharField(max_length=64, null=True)
        retries = IntegerField(default=0)
        is_default = BooleanField(default=False)
        is_deleted = BooleanField(default=False)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class Contact(Base):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        name = CharField(max_length=255)
        number = CharField(max_length=64)
        email = CharField(max_length=255, default="")
        profile_pic_url = TextField(null=True)
        is_group = BooleanField(default=False)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("tenant", "number"), True),)

    class Ticket(Base):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        contact = ForeignKeyField(Contact, on_delete="CASCADE")
        whatsapp = ForeignKeyField(Whatsapp, on_delete="CASCADE")
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        queue = ForeignKeyField(Queue, null=True, on_delete="SET NULL")
        status = CharField(max_length=16, default="pending")
        unread_messages = IntegerField(default=0)
        last_message = TextField(default="")
        last_message_at = DateTimeField(null=True)
        is_group = BooleanField(default=False)
        closed_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class Message(Base):
        id = CharField(primary_key=True, max_length=36)
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        whatsapp = ForeignKeyField(Whatsapp, on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        wa_message_id = CharField(max_length=128, null=True)
        from_me = BooleanField(default=False)
        body = TextField(default="")
        ack = IntegerField(default=0)
        status = CharField(max_length=16, default="pending")
        media_type = CharField(max_length=32, null=True)
        media_path = CharField(max_length=512, null=True)
        media_name = CharField(max_length=255, null=True)
        quoted_message = ForeignKeyField("self", null=True, on_delete="SET NULL",
                                         column_name="quoted_message_id")
        send_type = CharField(max_length=16, default="chat")
        schedule_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        error = TextField(null=True)
        timestamp = BigIntegerField(null=True)
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

    class Setting(Base):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        key = CharField(max_length=64)
        value = TextField(default="")
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("tenant", "key"), True),)

    Ticket.add_index(
        Ticket.index(Ticket.tenant, Ticket.whatsapp, Ticket.contact, unique=True,
                     name="ticket_one_active")
        .where(SQL("status IN ('open', 'pending')")))
    Ticket.add_index(Ticket.index(Ticket.tenant, Ticket.status, Ticket.last_message_at,
                                  name="ticket_tenant_status_last"))
    Message.add_index(Message.index(Message.tenant, Message.whatsapp, Message.wa_message_id,
                                    unique=True, name="message_tenant_whatsapp_wa_id"))
    Message.add_index(Message.index(Message.ticket, Message.created_at,
                                    name="message_ticket_created"))
    Message.add_index(Message.index(Message.status, Message.from_me,
                                    name="message_status_from_me"))
    db.create_tables([Tenant, User, Queue, UserQueue, Whatsapp, Contact, Ticket, Message, Setting])
