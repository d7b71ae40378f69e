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
import json
import re
import unicodedata

import gevent
import phonenumbers
from peewee import fn

from storage import db
from storage.errors import Conflict, DomainError, NotFound
from storage.models import Campaign, Contact, Message, new_uuid, utcnow
from storage.models import CampaignContact as Recipient
from storage.serialize import iso

MIN_DIGITS, MAX_DIGITS = 10, 15   # E.164 with the country code
MAX_ROWS = 50_000                  # per upload
CHUNK = 1000                       # rows per upload transaction; the hub runs between two
PAGE_SIZE = 100
RANK = {"pending": 0, "cancelled": 0, "queued": 1, "failed": 2, "sent": 3, "delivered": 4,
        "read": 5, "replied": 6}
# After NFKC (full-width digits and signs become ASCII) and typographic dashes made "-": ASCII
# digits and the usual separators only. An Arabic-Indic or other non-ASCII digit is refused.
_NUMBER = re.compile(r"\+?[0-9\s().\-]+", re.ASCII)
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
_NOT_DIGITS = re.compile(r"[^0-9]")
_SPREADSHEET_DECIMAL = re.compile(r"\+?[0-9]+\.0+", re.ASCII)  # 5511999990001.0


def locked(query):
    """``SELECT … FOR UPDATE`` on PostgreSQL; SQLite needs none (one writer holds the lock)."""
    return query if db.is_sqlite() else query.for_update()


# --- the upload ---------------------------------------------------------------------------------

class BadNumber(ValueError):
    """A number a campaign cannot send to: ``code`` for programs, the message for people."""

    def __init__(self, code: str, message: str, **params) -> None:
        super().__init__(message)
        self.code, self.params = code, params


class TooManyRows(DomainError):
    """An upload longer than :data:`MAX_ROWS` (413): nothing of it is added."""

    code = "ERR_TOO_MANY_ROWS"
    status = 413

    def __init__(self) -> None:
        super().__init__(f"at most {MAX_ROWS} rows per upload; split the list")


def normalise_number(raw) -> str:
    """The ASCII digits of a phone number with its country code (``+55 (11) 99999-0001`` →
    ``5511999990001``). ``raw`` is a string or a non-negative integer (anything else — a
    boolean, a float, a list — is not a number); full-width digits and signs count as their
    ASCII forms (NFKC), typographic dashes as ``-``; a spreadsheet's ``5511999990001.0`` is
    ``5511999990001``; the international prefix ``00`` is dropped. The number must be valid for
    its country code by Google's libphonenumber (``phonenumbers``) — which catches a national
    number without its country code, like ``(11) 99999-0001``. Raises :class:`BadNumber`
    (``ERR_EMPTY_NUMBER``, ``ERR_NOT_A_NUMBER``, ``ERR_NUMBER_LENGTH`` with
    ``min``/``max``/``got``, ``ERR_INVALID_NUMBER``)."""
    if raw is None:
        raise BadNumber("ERR_EMPTY_NUMBER", "empty number")
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or (
            isinstance(raw, int) and raw < 0):
        raise BadNumber("ERR_NOT_A_NUMBER", "not a phone number")
    text = str(raw)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = text.strip()
    if not text:
        raise BadNumber("ERR_EMPTY_NUMBER", "empty number")
    if _SPREADSHEET_DECIMAL.fullmatch(text):
        text = text.split(".", 1)[0]
    if not _NUMBER.fullmatch(text):
        raise BadNumber("ERR_NOT_A_NUMBER", "not a phone number")
    digits = _NOT_DIGITS.sub("", text)
    if digits.startswith("00"):
        digits = digits[2:]
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise BadNumber("ERR_NUMBER_LENGTH",
                        f"a number needs {MIN_DIGITS} to {MAX_DIGITS} digits with the country "
                        f"code (got {len(digits)})", min=MIN_DIGITS, max=MAX_DIGITS,
                        got=len(digits))
    if not _valid_international(digits):
        raise BadNumber("ERR_INVALID_NUMBER", "not a valid number for its country code (is "
                        "the country code missing? 55 for Brazil)")
    return digits


def _shown(raw) -> str:
    """A rejected value as its author wrote it: text as is, JSON values as JSON (``true``,
    not Python's ``True``), at most 64 characters."""
    if raw is None:
        return ""
    return (raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False))[:64]


def _valid_international(digits: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse("+" + digits))
    except phonenumbers.NumberParseException:
        return False


def add(tenant_id: int, campaign_id: int, rows: list[tuple[int, object, str | None]]) -> dict:
    """Add recipients from ``(row, number, name)`` tuples (``row``: 1-based line or position;
    ``number`` as :func:`normalise_number` takes it; ``name`` already cleaned by the caller —
    it is trimmed and cut to 255 characters here).

    Bad numbers are reported, never fatal. Contacts are found or created by (tenant, number);
    a number already in the campaign (or twice in the upload) is a duplicate. Returns
    ``{received, added, duplicates, rejected: [{row, value, code, error, …}]}`` (``code`` from
    :func:`normalise_number`; ``ERR_NUMBER_LENGTH`` adds ``min``, ``max``, ``got``). Raises
    :class:`TooManyRows` past :data:`MAX_ROWS` rows (before adding anything), NotFound, or
    Conflict ``ERR_CAMPAIGN_STATE`` for a finished or cancelled campaign.

    The work goes in chunks of :data:`CHUNK` rows, each its own short write transaction, with a
    yield to the gevent hub between two: a 50,000-row list must not stall every tenant's
    requests, sends and sockets for seconds (and on SQLite a write transaction holds the
    process-wide writer lock). So an upload is not atomic: if it stops half-way (a crash, the
    database gone, the campaign cancelled or deleted meanwhile — every chunk checks its state
    again), the chunks before stay added, and uploading the same list again reports those rows
    as duplicates and adds the rest.
    """
    if len(rows) > MAX_ROWS:
        raise TooManyRows()
    _addable(tenant_id, campaign_id, lock=False)  # a 404/409 before any work
    rejected, seen, added, duplicates = [], set(), 0, 0
    for start in range(0, len(rows), CHUNK):
        names: dict[str, str] = {}  # this chunk's numbers new to the upload, in upload order
        for row, raw, name in rows[start:start + CHUNK]:
            try:
                number = normalise_number(raw)
            except BadNumber as exc:
                rejected.append({"row": row, "value": _shown(raw),
                                 "code": exc.code, "error": str(exc), **exc.params})
                continue
            if number in seen:
                duplicates += 1
            else:
                seen.add(number)
                names[number] = (name or "").strip()[:255]
        if names:
            try:
                with db.write():
                    _addable(tenant_id, campaign_id, lock=True)
                    contacts = _find_or_create_contacts(tenant_id, names)
                    inserted = _insert_recipients(campaign_id, names, contacts)
            except Conflict as exc:  # the campaign ended meanwhile: say what stays added
                if not added:
                    raise
                raise Conflict(f"{exc}; {added} rows were added before that", exc.code) from None
            added += inserted
            duplicates += len(names) - inserted
        breathe()
    return {"received": len(rows), "added": added, "duplicates": duplicates,
            "rejected": rejected}


def breathe() -> None:
    """Between two chunks of a long upload: let the hub serve every other greenlet, socket and
    timer that is ready. ``gevent.sleep(0)`` is not enough — it only switches to greenlets that
    are already runnable, and a timer or a socket can starve behind a loop of them (measured: a
    10 ms ticker waited out a whole 1.4 s upload); a 1 ms sleep makes the loop poll."""
    gevent.sleep(0.001)


def _addable(tenant_id: int, campaign_id: int, *, lock: bool) -> None:
    """Raise NotFound / Conflict unless the campaign takes recipients (draft, running,
    paused). ``lock``: inside a write, hold the campaign row (PostgreSQL) so that a cancel
    cannot commit between this check and the chunk's inserts."""
    query = Campaign.select(Campaign.status).where(Campaign.id == campaign_id,
                                                   Campaign.tenant == tenant_id)
    with db.unit_of_work():
        status = (locked(query) if lock else query).scalar()
    if status is None:
        raise NotFound("campaign not found", "ERR_NO_CAMPAIGN_FOUND")
    if status not in ("draft", "running", "paused"):
        raise Conflict(f"cannot add contacts to a {status} campaign", "ERR_CAMPAIGN_STATE")


# Written by hand: peewee took ~80 % of a large upload's time building insert_many statements.
# ``{}`` is one "(…)" group per row; the unique (tenant, number) and (campaign, contact) indexes
# make a row that is already there (or that a concurrent upload just added) a no-op.
_SELECT_CONTACTS = "SELECT id, number, name FROM contact WHERE tenant_id = ? AND number IN ({})"
_INSERT_CONTACTS = """
INSERT INTO contact (tenant_id, number, name, email, is_group, created_at, updated_at)
VALUES {} ON CONFLICT DO NOTHING RETURNING id, number, name"""
_CONTACT_ROW = "(?, ?, ?, '', FALSE, ?, ?)"
_INSERT_RECIPIENTS = """
INSERT INTO campaign_contact (campaign_id, contact_id, name, status, created_at, updated_at)
VALUES {} ON CONFLICT DO NOTHING"""
_RECIPIENT_ROW = "(?, ?, ?, 'pending', ?, ?)"


def _find_or_create_contacts(tenant_id: int, names: dict[str, str]) -> dict[str, tuple]:
    """``{number: (contact_id, contact name)}`` for at most :data:`CHUNK` numbers, inserting
    the missing contacts (named after the upload, else after their number). Inside a write."""
    found: dict[str, tuple] = {}

    def lookup(numbers: list[str]) -> None:
        query = db.sql(_SELECT_CONTACTS.format(", ".join(["?"] * len(numbers))))
        for cid, number, name in db.database.execute_sql(query, (tenant_id, *numbers)):
            found[number] = (cid, name)

    lookup(list(names))
    # sorted: two uploads that share numbers take their index entries in the same order, so
    # on PostgreSQL one waits for the other instead of both deadlocking
    missing = sorted(number for number in names if number not in found)
    if missing:
        now = db.ts(utcnow())
        params = []
        for number in missing:
            params += (tenant_id, number, names[number] or number, now, now)
        query = db.sql(_INSERT_CONTACTS.format(", ".join([_CONTACT_ROW] * len(missing))))
        for cid, number, name in db.database.execute_sql(query, params).fetchall():
            found[number] = (cid, name)
        raced = [number for number in missing if number not in found]
        if raced:  # created by someone else between the lookup and the insert
            lookup(raced)
    return found


def _insert_recipients(campaign_id: int, names: dict[str, str],
                       contacts: dict[str, tuple]) -> int:
    """Insert the recipients that the campaign does not have yet; returns how many. The
    recipient's name is the upload's, else the contact's (unless that is just its number)."""
    now = db.ts(utcnow())
    params = []
    for number, name in names.items():
        cid, known = contacts[number]
        params += (campaign_id, cid, name or (known if known != number else ""), now, now)
    query = db.sql(_INSERT_RECIPIENTS.format(", ".join([_RECIPIENT_ROW] * len(names))))
    return db.database.execute_sql(query, params).rowcount


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
    pending, its contact has opted out meanwhile (checked as the recipient is claimed, so a
    reply committed by another connection's actor wins), or its revoked row had already left
    (it is then followed to ``sent``/``failed``).
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
        # claim the recipient first: a reply that opted the contact out (or any change) since
        # the read above wins, and nothing is written for it (PostgreSQL re-checks the row)
        opted_out = Contact.select(Contact.id).where(Contact.id == recipient.contact_id,
                                                     Contact.opted_out_at.is_null(False))
        claimed = (Recipient.update(status="queued", variant=variant, queued_at=now,
                                    updated_at=stamp)
                   .where(Recipient.id == recipient_id, Recipient.status == "pending",
                          ~fn.EXISTS(opted_out))
                   .execute())
        if not claimed:
            return None
        if current is not None:  # re-arm the revoked row (or take a pending one as handed)
            (Message.update(status="pending", body=body, media_type=campaign.media_type,
                            media_path=campaign.media_path, media_name=campaign.media_name,
                            ack=0, attempts=0, error=None, updated_at=stamp)
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
        if message_id != recipient.message_id:
            Recipient.update(message=message_id).where(Recipient.id == recipient_id).execute()
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
    """When the campaign last handed a recipient to the queue (the campaign clock's UTC)."""
    return (Recipient.select(Recipient.queued_at).where(Recipient.campaign == campaign_id)
            .order_by(Recipient.queued_at.desc(nulls="LAST")).scalar())


def last_outcome_at(campaign_id: int) -> datetime.datetime | None:
    """When the campaign's latest send got its outcome: the last change of its ``sent`` or
    ``failed`` message rows (UTC; a later ack moves it later, which only lengthens a gap)."""
    return (Message.select(fn.MAX(Message.updated_at))
            .join(Recipient, on=(Recipient.message == Message.id))
            .where(Recipient.campaign == campaign_id, Message.status.in_(("sent", "failed")))
            .scalar())


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
        said = fold(body)
        if said and any(keyword and fold(keyword) == said for *_, keyword in rows):
            Contact.update(opted_out_at=now).where(Contact.id == contact_id).execute()
            skipped = list(Recipient.select(Recipient.id, Recipient.campaign)
                           .where(Recipient.contact == contact_id,
                                  Recipient.status == "pending").tuples())
            if skipped:
                (Recipient.update(status="opted_out", updated_at=stamp)
                 .where(Recipient.id.in_([rid for rid, _ in skipped])).execute())
                changed.update(cid for _, cid in skipped)
    return changed


def fold(text: str | None) -> str:
    """What an opt-out keyword and a reply are compared as: letters and digits only, accents
    dropped, case folded (``" Sáir! "`` → ``"sair"``)."""
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
