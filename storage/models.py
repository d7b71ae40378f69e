"""Peewee models: the helpdesk's rows, named after Izing's (snake_case here, camelCase in JSON).

Every row that belongs to a company carries ``tenant``; every query that answers a caller filters
on it. Times are naive UTC ``datetime`` values. The schema itself is created and changed only by
the numbered files in ``storage/migrations/`` (which hold frozen copies of these models); these
classes describe the current shape for queries.

Invariants held by the database (see ``migrations/0001_initial.py``):
- one ``open`` or ``pending`` ticket per (tenant, whatsapp, contact): partial unique index;
- one message per (tenant, whatsapp, wa_message_id): unique index (NULLs, i.e. outbound messages
  not sent yet, do not collide).
"""
from __future__ import annotations

import datetime
import uuid

import peewee as pw

from storage.db import database

TICKET_STATUSES = ("pending", "open", "closed")
# ``cancelled``: a campaign send revoked by pause or cancel before it left (never sent).
MESSAGE_STATUSES = ("pending", "sent", "received", "failed", "cancelled")
SEND_TYPES = ("chat", "campaign", "bot", "api", "sync", "schedule")
PROFILES = ("admin", "user")
# WhatsApp Web's ack values (whatsapp-web.js MessageAck).
ACK_ERROR, ACK_PENDING, ACK_SERVER, ACK_DEVICE, ACK_READ, ACK_PLAYED = -1, 0, 1, 2, 3, 4


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def new_uuid() -> str:
    return str(uuid.uuid4())


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Tenant(BaseModel):
    name = pw.CharField(max_length=255)
    status = pw.CharField(max_length=16, default="active")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class User(BaseModel):
    tenant = pw.ForeignKeyField(Tenant, backref="users", on_delete="CASCADE")
    name = pw.CharField(max_length=255)
    email = pw.CharField(max_length=255, unique=True)
    password_hash = pw.CharField(max_length=255)
    profile = pw.CharField(max_length=16, default="user")
    token_version = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class Queue(BaseModel):
    """A department (Izing: ``Queue.queue`` is its name)."""

    tenant = pw.ForeignKeyField(Tenant, backref="queues", on_delete="CASCADE")
    queue = pw.CharField(max_length=255)
    is_active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class UserQueue(BaseModel):
    user = pw.ForeignKeyField(User, backref="user_queues", on_delete="CASCADE")
    queue = pw.ForeignKeyField(Queue, backref="user_queues", on_delete="CASCADE")

    class Meta:
        indexes = ((("user", "queue"), True),)


class Whatsapp(BaseModel):
    """A connection: one WhatsApp number driven as one WhatsApp Web session."""

    tenant = pw.ForeignKeyField(Tenant, backref="whatsapps", on_delete="CASCADE")
    name = pw.CharField(max_length=255)
    status = pw.CharField(max_length=32, default="DISCONNECTED")
    qrcode = pw.TextField(null=True)
    number = pw.CharField(max_length=64, null=True)
    retries = pw.IntegerField(default=0)
    is_default = pw.BooleanField(default=False)
    is_deleted = pw.BooleanField(default=False)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class Contact(BaseModel):
    tenant = pw.ForeignKeyField(Tenant, backref="contacts", on_delete="CASCADE")
    name = pw.CharField(max_length=255)
    number = pw.CharField(max_length=64)
    email = pw.CharField(max_length=255, default="")
    profile_pic_url = pw.TextField(null=True)
    is_group = pw.BooleanField(default=False)
    opted_out_at = pw.DateTimeField(null=True)  # sent a campaign's opt-out keyword (0002)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "number"), True),)


class Ticket(BaseModel):
    tenant = pw.ForeignKeyField(Tenant, backref="tickets", on_delete="CASCADE")
    contact = pw.ForeignKeyField(Contact, backref="tickets", on_delete="CASCADE")
    whatsapp = pw.ForeignKeyField(Whatsapp, backref="tickets", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, null=True, backref="tickets", on_delete="SET NULL")
    queue = pw.ForeignKeyField(Queue, null=True, backref="tickets", on_delete="SET NULL")
    status = pw.CharField(max_length=16, default="pending")
    unread_messages = pw.IntegerField(default=0)
    last_message = pw.TextField(default="")
    last_message_at = pw.DateTimeField(null=True)
    is_group = pw.BooleanField(default=False)
    closed_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class Message(BaseModel):
    id = pw.CharField(primary_key=True, max_length=36, default=new_uuid)
    tenant = pw.ForeignKeyField(Tenant, backref="messages", on_delete="CASCADE")
    # NULL for a campaign send: it opens no ticket (migration 0002); the customer's reply does.
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="messages", on_delete="CASCADE")
    whatsapp = pw.ForeignKeyField(Whatsapp, backref="messages", on_delete="CASCADE")
    contact = pw.ForeignKeyField(Contact, null=True, backref="messages", on_delete="SET NULL")
    user = pw.ForeignKeyField(User, null=True, backref="messages", on_delete="SET NULL")
    wa_message_id = pw.CharField(max_length=128, null=True)
    from_me = pw.BooleanField(default=False)
    body = pw.TextField(default="")
    ack = pw.IntegerField(default=0)
    status = pw.CharField(max_length=16, default="pending")
    media_type = pw.CharField(max_length=32, null=True)
    media_path = pw.CharField(max_length=512, null=True)
    media_name = pw.CharField(max_length=255, null=True)
    quoted_message = pw.ForeignKeyField(
        "self", null=True, backref="quotes", on_delete="SET NULL", column_name="quoted_message_id"
    )
    send_type = pw.CharField(max_length=16, default="chat")
    schedule_at = pw.DateTimeField(null=True)
    attempts = pw.IntegerField(default=0)
    error = pw.TextField(null=True)
    timestamp = pw.BigIntegerField(null=True)  # WhatsApp's message time, Unix seconds
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


class Setting(BaseModel):
    tenant = pw.ForeignKeyField(Tenant, backref="settings", on_delete="CASCADE")
    key = pw.CharField(max_length=64)
    value = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "key"), True),)


class Campaign(BaseModel):
    """A bulk send on one connection (``CampaignProcess``; migration 0002).

    ``status``: draft → running ⇄ paused → finished | cancelled. ``message2``/``message3`` are
    optional variants; ``start_at`` is UTC (None: as soon as started); ``delay`` and ``jitter``
    are seconds (each gap is ``delay + uniform(0, jitter)``); ``window_start``/``window_end`` are
    ``"HH:MM"`` in the tenant's time zone; ``daily_cap`` counts this connection's campaign sends
    per local day, over all its campaigns. Campaigns are the one row the API deletes, so their
    ids are never reused (SQLite ``AUTOINCREMENT``, migration 0005).
    """

    tenant = pw.ForeignKeyField(Tenant, backref="campaigns", on_delete="CASCADE")
    whatsapp = pw.ForeignKeyField(Whatsapp, backref="campaigns", on_delete="CASCADE")
    name = pw.CharField(max_length=255)
    status = pw.CharField(max_length=16, default="draft")
    message1 = pw.TextField()
    message2 = pw.TextField(null=True)
    message3 = pw.TextField(null=True)
    media_type = pw.CharField(max_length=32, null=True)
    media_path = pw.CharField(max_length=512, null=True)
    media_name = pw.CharField(max_length=255, null=True)
    start_at = pw.DateTimeField(null=True)
    delay = pw.FloatField(default=20.0)
    jitter = pw.FloatField(default=10.0)
    window_start = pw.CharField(max_length=5, null=True)
    window_end = pw.CharField(max_length=5, null=True)
    daily_cap = pw.IntegerField(null=True)
    opt_out_keyword = pw.CharField(max_length=64, null=True)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    waiting_for = pw.CharField(max_length=16, null=True)  # window | dailyCap | startAt (0004)
    next_send_at = pw.DateTimeField(null=True)            # UTC: when that wait ends


class CampaignContact(BaseModel):
    """One recipient of a campaign and its progress (migration 0002).

    ``status``: pending → queued (its message row is in the ``SendMessages`` queue) → sent →
    delivered → read → replied; or failed, cancelled, opted_out. A contact has at most one
    ``message`` row ever: a send revoked by pause is re-armed on resume, never duplicated.
    """

    campaign = pw.ForeignKeyField(Campaign, backref="contacts", on_delete="CASCADE")
    contact = pw.ForeignKeyField(Contact, backref="campaign_contacts", on_delete="CASCADE")
    name = pw.CharField(max_length=255, default="")
    status = pw.CharField(max_length=16, default="pending")
    variant = pw.SmallIntegerField(null=True)
    message = pw.ForeignKeyField(Message, null=True, unique=True, on_delete="SET NULL")
    queued_at = pw.DateTimeField(null=True)
    replied_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("campaign", "contact"), True),)


ALL_MODELS = [Tenant, User, Queue, UserQueue, Whatsapp, Contact, Ticket, Message, Setting,
              Campaign, CampaignContact]
