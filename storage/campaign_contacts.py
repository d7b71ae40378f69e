"""A campaign's recipients: the upload, and each recipient's progress through the send queue.

Recipient states (``campaign_contact.status``): ``pending`` → ``queued`` (its message row is
``pending`` in ``SendMessages``) → ``sent`` → ``delivered`` → ``read`` → ``replied``; or
``failed``, ``cancelled``, ``opted_out``. Progress only moves up :data:`RANK` and follows the
message row, which is the source of truth: :func:`follow` derives the recipient's state from
the row's status and ack, so a late, repeated or out-of-order notification changes nothing.

Nobody is sent twice: a recipient has at most one message row (unique ``message_id``);
:func:`hand_off` creates it once, or re-arms the same row after a pause revoked it — and only
if the revoked row never left (``UPDATE … WHERE status = 'cancelled'``).
"""
from __future__ import annotations

import datetime
import re
import unicodedata

from storage import db
from storage.errors import Conflict, NotFound
from storage.models import Campaign, Contact, Message, new_uuid, utcnow
from storage.models import CampaignContact as Recipient
from storage.serialize import iso

MIN_DIGITS, MAX_DIGITS = 10, 15   # E.164 with the country code
MAX_ROWS = 50_000                  # per upload
CHUNK = 500                        # rows per statement
PAGE_SIZE = 100
RANK = {"pending": 0, "cancelled": 0, "queued": 1, "failed": 2, "sent": 3, "delivered": 4,
        "read": 5, "replied": 6}
_NUMBER = re.compile(r"\+?[\d\s().\-]+")


def locked(query):
    """``SELECT … FOR UPDATE`` on PostgreSQL; SQLite needs none (one writer holds the lock)."""
    return query if db.is_sqlite() else query.for_update()


# --- the upload ---------------------------------------------------------------------------------

class BadNumber(ValueError):
    """A number a campaign cannot send to: ``code`` for programs, the message for people."""

    def __init__(self, code: str, message: str, **params) -> None:
        super().__init__(message)
        self.code, self.params = code, params


def normalise_number(raw) -> str:
    """The digits of a phone number with its country code (``+55 (11) 99999-0001`` →
    ``5511999990001``). Raises :class:`BadNumber` (``ERR_EMPTY_NUMBER``,
    ``ERR_NOT_A_NUMBER``, ``ERR_NUMBER_LENGTH`` with ``min``/``max``/``got``)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise BadNumber("ERR_EMPTY_NUMBER", "empty number")
    if not _NUMBER.fullmatch(text):
        raise BadNumber("ERR_NOT_A_NUMBER", "not a phone number")
    digits = re.sub(r"\D", "", text)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise BadNumber("ERR_NUMBER_LENGTH",
                        f"a number needs {MIN_DIGITS} to {MAX_DIGITS} digits with the country "
                        f"code (got {len(digits)})", min=MIN_DIGITS, max=MAX_DIGITS,
                        got=len(digits))
    return digits


def add(tenant_id: int, campaign_id: int, rows: list[tuple[int, object, str | None]]) -> dict:
    """Add recipients from ``(row, number, name)`` tuples (``row``: 1-based line or position).

    Bad numbers are reported, never fatal. Contacts are found or created by (tenant, number);
    a number already in the campaign (or twice in the upload) is a duplicate. Returns
    ``{received, added, duplicates, rejected: [{row, value, code, error, …}]}`` (``code`` from
    :func:`normalise_number`; ``ERR_NUMBER_LENGTH`` adds ``min``, ``max``, ``got``). Raises
    NotFound, or
    Conflict ``ERR_CAMPAIGN_STATE`` for a finished or cancelled campaign.
    """
    if len(rows) > MAX_ROWS:
        raise Conflict(f"at most {MAX_ROWS} rows per upload", "ERR_TOO_MANY_ROWS")
    rejected, names, duplicates = [], {}, 0
    for row, raw, name in rows:
        try:
            number = normalise_number(raw)
        except BadNumber as exc:
            rejected.append({"row": row, "value": "" if raw is None else str(raw)[:64],
                             "code": exc.code, "error": str(exc), **exc.params})
            continue
        if number in names:
            duplicates += 1
        else:
            names[number] = (name or "").strip()[:255]
    with db.write():
        campaign = locked(Campaign.select().where(Campaign.id == campaign_id,
                                                  Campaign.tenant == tenant_id)).first()
        if campaign is None:
            raise NotFound("campaign not found", "ERR_NO_CAMPAIGN_FOUND")
        if campaign.status not in ("draft", "running", "paused"):
            raise Conflict(f"cannot add contacts to a {campaign.status} campaign",
                           "ERR_CAMPAIGN_STATE")
        contacts = _find_or_create_contacts(tenant_id, names)
        present = _already_in(campaign_id, [cid for cid, _ in contacts.values()])
        now = utcnow()
        new = [{"campaign": campaign_id, "contact": cid,
                "name": names[number] or (known if known != number else ""),
                "status": "pending", "created_at": now, "updated_at": now}
               for number, (cid, known) in contacts.items() if cid not in present]
        for start in range(0, len(new), CHUNK):
            Recipient.insert_many(new[start:start + CHUNK]).execute()
    return {"received": len(rows), "added": len(new),
            "duplicates": duplicates + len(names) - len(new), "rejected": rejected}


def _find_or_create_contacts(tenant_id: int, names: dict[str, str]) -> dict[str, tuple]:
    """``{number: (contact_id, contact name)}``, inserting the missing contacts."""
    numbers = list(names)
    found: dict[str, tuple] = {}

    def lookup(chunk):
        for cid, number, name in (Contact.select(Contact.id, Contact.number, Contact.name)
                                  .where(Contact.tenant == tenant_id, Contact.number.in_(chunk))
                                  .tuples()):
            found[number] = (cid, name)

    now = utcnow()
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start:start + CHUNK]
        lookup(chunk)
        missing = [n for n in chunk if n not in found]
        if missing:
            Contact.insert_many([{"tenant": tenant_id, "number": n, "name": names[n] or n,
                                  "created_at": now, "updated_at": now} for n in missing]
                                ).on_conflict_ignore().execute()
            lookup(missing)
    return found


def _already_in(campaign_id: int, contact_ids: list[int]) -> set[int]:
    present: set[int] = set()
    for start in range(0, len(contact_ids), CHUNK):
        present.update(cid for (cid,) in Recipient.select(Recipient.contact).where(
            Recipient.campaign == campaign_id,
            Recipient.contact.in_(contact_ids[start:start + CHUNK])).tuples())
    return present


def page(campaign_id: int, status: str | None = None, page_number: int = 1,
         page_size: int = PAGE_SIZE) -> tuple[list[Recipient], int]:
    """A page of recipients (contact joined), in upload order. Returns ``(rows, count)``."""
    query = (Recipient.select(Recipient, Contact).join(Contact)
             .where(Recipient.campaign == campaign_id))
    if status:
        query = query.where(Recipient.status == status)
    return list(query.order_by(Recipient.id).paginate(page_number, page_size)), query.count()


def recipient_json(row: Recipient) -> dict:
    return {"id": row.id, "contactId": row.contact_id, "number": row.contact.number,
            "name": row.name, "status": row.status, "variant": row.variant,
            "messageId": row.message_id, "queuedAt": iso(row.queued_at),
            "repliedAt": iso(row.replied_at), "updatedAt": iso(row.updated_at)}


# --- progress: the CampaignActor's transactions ---------------------------------------------------

def next_pending(campaign_id: int) -> tuple[int, int, str, bool] | None:
    """The first recipient still ``pending`` (upload order): ``(recipient id, contact id,
    name, opted out)``."""
    row = (Recipient.select(Recipient.id, Recipient.contact, Recipient.name,
                            Contact.opted_out_at).join(Contact)
           .where(Recipient.campaign == campaign_id, Recipient.status == "pending")
           .order_by(Recipient.id).tuples().first())
    return None if row is None else (row[0], row[1], row[2], row[3] is not None)


# Written by hand like the inbound path's: peewee builds a 22-column INSERT slowly (~1 ms).
_INSERT_MESSAGE = """
INSERT INTO message (id, tenant_id, ticket_id, whatsapp_id, contact_id, from_me, body, ack, status,
                     media_type, media_path, media_name, send_type, attempts, created_at,
                     updated_at)
VALUES (?, ?, NULL, ?, ?, ?, ?, 0, 'pending', ?, ?, ?, 'campaign', 0, ?, ?)"""


def has_pending(campaign_id: int) -> bool:
    return Recipient.select().where(Recipient.campaign == campaign_id,
                                    Recipient.status == "pending").exists()


def hand_off(campaign: Campaign, recipient_id: int, body: str, variant: int,
             now: datetime.datetime) -> str | None:
    """Commit the recipient's message row as ``pending`` (ticketless, ``send_type`` campaign)
    and the recipient as ``queued``; the caller then enqueues the ``SendMessages`` job.

    Returns the message id, or None when there is nothing to send: the recipient is no longer
    pending, or its revoked row had already left (it is then followed to ``sent``/``failed``).
    """
    with db.write():
        recipient = (Recipient.select(Recipient.id, Recipient.status, Recipient.message,
                                      Recipient.contact)
                     .where(Recipient.id == recipient_id).first())
        if recipient is None or recipient.status != "pending":
            return None
        stamp = utcnow()
        current = (Message.select(Message.status).where(Message.id == recipient.message_id)
                   .scalar() if recipient.message_id else None)
        if current in ("sent", "failed"):  # the revoked send had already left
            _follow(recipient.message_id)
            return None
        if current is not None:  # re-arm the revoked row (or take a pending one as handed)
            (Message.update(status="pending", body=body, ack=0, attempts=0, error=None,
                            updated_at=stamp)
             .where(Message.id == recipient.message_id, Message.status == "cancelled")
             .execute())
            message_id = recipient.message_id
        else:
            message_id = new_uuid()
            when = db.ts(stamp)
            db.database.execute_sql(db.sql(_INSERT_MESSAGE), (
                message_id, campaign.tenant_id, campaign.whatsapp_id, recipient.contact_id,
                True, body, campaign.media_type, campaign.media_path, campaign.media_name,
                when, when))
        (Recipient.update(status="queued", message=message_id, variant=variant, queued_at=now,
                          updated_at=stamp).where(Recipient.id == recipient_id).execute())
        return message_id


def mark(recipient_id: int, status: str) -> None:
    """Settle a pending recipient without sending (``opted_out``)."""
    with db.write():
        (Recipient.update(status=status, updated_at=utcnow())
         .where(Recipient.id == recipient_id, Recipient.status == "pending").execute())


def revoke(campaign_id: int, status_after: str, now: datetime.datetime) -> None:
    """Pause/cancel, inside the caller's write: revoke every queued send that has not left
    (message ``pending`` → ``cancelled``) and set those recipients to ``status_after``; with
    ``cancelled``, every pending recipient too. A send that is already on the wire is recorded
    ``sent`` by the sender anyway, and :func:`follow` then moves its recipient to ``sent``."""
    stamp = utcnow()
    queued = list(Recipient.select(Recipient.id, Recipient.message)
                  .where(Recipient.campaign == campaign_id, Recipient.status == "queued")
                  .tuples())
    for recipient_id, message_id in queued:
        revoked = (Message.update(status="cancelled", updated_at=stamp)
                   .where(Message.id == message_id, Message.status == "pending").execute())
        if revoked:
            (Recipient.update(status=status_after, updated_at=stamp)
             .where(Recipient.id == recipient_id).execute())
        else:
            _follow(message_id)
    if status_after == "cancelled":
        (Recipient.update(status="cancelled", updated_at=stamp)
         .where(Recipient.campaign == campaign_id, Recipient.status == "pending").execute())


def hold(campaign_id: int, now: datetime.datetime) -> None:
    """Take the campaign's queued sends that have not left back to ``pending`` (their rows
    ``cancelled``, re-armed by :func:`hand_off` later): a resumed campaign outside its window."""
    with db.write():
        revoke(campaign_id, "pending", now)


def follow(message_id: str) -> tuple[int, str] | None:
    """Move the message's recipient to the state its row shows (``sent`` by status; ack 2
    ``delivered``; ack ≥ 3 ``read``; ``failed``); never backwards. Returns ``(campaign id,
    message status)``, or None when the message belongs to no recipient."""
    with db.write():
        return _follow(message_id)


def _follow(message_id: str) -> tuple[int, str] | None:
    row = (Recipient.select(Recipient.id, Recipient.campaign, Recipient.status,
                            Recipient.replied_at, Message.status, Message.ack)
           .join(Message).where(Recipient.message == message_id).tuples().first())
    if row is None:
        return None
    recipient_id, campaign_id, current, replied_at, message_status, ack = row
    target = None
    if message_status == "sent":
        # a reply that came in while the send's outcome was being recorded counts once sent
        target = ("replied" if replied_at is not None else
                  "read" if ack >= 3 else "delivered" if ack == 2 else "sent")
    elif message_status == "failed":
        target = "failed"
    if target and current in RANK and RANK[target] > RANK[current]:
        (Recipient.update(status=target, updated_at=utcnow())
         .where(Recipient.id == recipient_id).execute())
    return campaign_id, message_status


def in_flight(campaign_id: int) -> tuple[list[str], bool]:
    """At start or resume: settle the queued recipients whose row already has an outcome.
    Returns the message ids still ``pending`` (the recovery sweep re-enqueues those rows) and
    whether any outcome was settled here, unseen by the campaign until now."""
    with db.write():
        rows = list(Recipient.select(Recipient.message, Message.status).join(Message)
                    .where(Recipient.campaign == campaign_id, Recipient.status == "queued")
                    .tuples())
        for message_id, status in rows:
            if status != "pending":
                _follow(message_id)
    pending = [message_id for message_id, status in rows if status == "pending"]
    return pending, len(pending) < len(rows)


def last_queued_at(campaign_id: int) -> datetime.datetime | None:
    return (Recipient.select(Recipient.queued_at).where(Recipient.campaign == campaign_id)
            .order_by(Recipient.queued_at.desc(nulls="LAST")).scalar())


def handed_between(whatsapp_id: int, start: datetime.datetime, end: datetime.datetime) -> int:
    """Campaign sends this connection handed to the queue in ``[start, end)`` (UTC), over all
    its campaigns — what the daily cap counts. Revoked, never-sent ones do not count."""
    return (Recipient.select().join(Campaign)
            .where(Campaign.whatsapp == whatsapp_id, Recipient.queued_at >= start,
                   Recipient.queued_at < end,
                   Recipient.status.not_in(("pending", "cancelled")))
            .count())


def reached(whatsapp_id: int) -> set[int]:
    """Contact ids that this connection's campaigns sent to (or are sending to): the only
    contacts whose inbound messages can be campaign replies or opt-outs."""
    return {cid for (cid,) in Recipient.select(Recipient.contact).join(Campaign)
            .where(Campaign.whatsapp == whatsapp_id,
                   Recipient.status.in_(("queued", "sent", "delivered", "read", "replied")))
            .distinct().tuples()}


def record_reply(whatsapp_id: int, contact_id: int, body: str,
                 now: datetime.datetime) -> set[int]:
    """A customer wrote to this connection: their sent/delivered/read recipients become
    ``replied``. A ``queued`` one whose send is still being recorded (WhatsApp may deliver and
    the customer answer before the sender stores the outcome) keeps the reply's time and
    becomes ``replied`` when :func:`follow` sees it sent. A body equal to one of those
    campaigns' opt-out keywords (case, accents, spaces and punctuation ignored) opts the
    contact out of every future campaign send (its pending recipients become ``opted_out``).
    Returns the ids of the campaigns that changed."""
    with db.write():
        rows = list(Recipient.select(Recipient.id, Recipient.campaign, Recipient.status,
                                     Recipient.message, Campaign.opt_out_keyword).join(Campaign)
                    .where(Recipient.contact == contact_id, Campaign.whatsapp == whatsapp_id,
                           Recipient.status.in_(("queued", "sent", "delivered", "read",
                                                 "replied")))
                    .tuples())
        changed = set()
        stamp = utcnow()
        for recipient_id, campaign_id, status, message_id, _ in rows:
            if status == "replied":
                continue
            (Recipient.update(replied_at=now, updated_at=stamp)
             .where(Recipient.id == recipient_id).execute())
            if status == "queued":
                _follow(message_id)  # replied if its row says sent; else when it does
            else:
                (Recipient.update(status="replied")
                 .where(Recipient.id == recipient_id).execute())
            changed.add(campaign_id)
        said = _fold(body)
        if said and any(keyword and _fold(keyword) == said for *_, keyword in rows):
            Contact.update(opted_out_at=now).where(Contact.id == contact_id).execute()
            skipped = list(Recipient.select(Recipient.id, Recipient.campaign)
                           .where(Recipient.contact == contact_id,
                                  Recipient.status == "pending").tuples())
            if skipped:
                (Recipient.update(status="opted_out", updated_at=stamp)
                 .where(Recipient.id.in_([rid for rid, _ in skipped])).execute())
                changed.update(cid for _, cid in skipped)
    return changed


def _fold(text: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    letters = "".join(c for c in decomposed if c.isalnum())
    return letters.casefold()


def is_echo(tenant_id: int, whatsapp_id: int, number: str, wa_id: str) -> bool:
    """True when a ``from_me`` message WhatsApp reports is our own campaign send: its id is a
    campaign row's, or it raced ahead of the sender's record while the contact's campaign row
    is still ``pending``."""
    own = (Message.select(Message.send_type)
           .where(Message.tenant == tenant_id, Message.whatsapp == whatsapp_id,
                  Message.wa_message_id == wa_id).scalar())
    if own is not None:
        return own == "campaign"
    return (Message.select().join(Contact, on=(Message.contact == Contact.id))
            .where(Message.whatsapp == whatsapp_id, Message.send_type == "campaign",
                   Message.status == "pending", Message.from_me == True,  # noqa: E712
                   Contact.tenant == tenant_id, Contact.number == number)
            .exists())
