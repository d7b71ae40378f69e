"""Campaigns (``/campaigns``): admin only, tenant-scoped (another tenant's campaign is a 404
``ERR_NO_CAMPAIGN_FOUND``). The sending itself is :class:`~actors.campaign.CampaignActor`'s.

- ``GET /campaigns?pageNumber=`` → ``{campaigns, count, hasMore}``; ``GET /campaigns/<id>`` →
  the campaign with ``waitingFor`` (``window`` | ``dailyCap`` | ``startAt`` | ``connection``
  (its send waits for the connection to connect) | null: why a running campaign is not
  sending) and ``nextSendAt``, and ``counters`` (total, pending, queued, sent, delivered,
  read, replied, failed, cancelled, optedOut — each recipient once, in its current state).
- ``POST /campaigns`` ``{name, whatsappId, message1, message2?, message3?, startAt?, delay?,
  jitter?, windowStart?, windowEnd?, dailyCap?, optOutKeyword?}`` → 201 (a ``draft``). Seconds
  for ``delay`` (default 20) and ``jitter`` (default 10; each gap is ``delay + uniform(0,
  jitter)``); ``startAt`` an ISO-8601 string (no offset: UTC; a number is refused);
  ``"HH:MM"`` windows in the tenant's zone (setting ``timezone``, default
  America/Sao_Paulo; ``windowEnd`` before ``windowStart`` crosses midnight, equal ends are
  refused); ``dailyCap``: campaign sends per local day on the connection, over all
  its campaigns; ``optOutKeyword`` needs a letter or digit (replies are compared ignoring case,
  accents, spaces and punctuation). ``whatsappId``, ``delay``, ``jitter`` and ``dailyCap`` are
  JSON numbers (not strings, not booleans). ``{{name}}`` and ``{{greeting}}`` are filled per
  recipient. ``PUT /campaigns/<id>`` (same fields, any subset, plus ``updatedAt`` as read: a
  campaign changed since is 409 ``ERR_CAMPAIGN_CHANGED``) and ``DELETE`` only while not
  running (409 ``ERR_CAMPAIGN_STATE``); the connection can change only in a draft. A body that
  is not a JSON object (or nests too deep) is 400 ``ERR_INVALID_JSON``.
- ``POST /campaigns/<id>/media`` multipart file ``media`` (sent with every message, the text as
  caption; an empty file is 400 ``ERR_EMPTY_FILE``); ``mediaName`` is the file's name without
  control characters, trimmed, at most 255 characters (keeping its extension);
  ``DELETE /campaigns/<id>/media``.
- ``POST /campaigns/<id>/contacts`` JSON ``{contacts: [{number, name?} | "number" | number,
  …]}`` or a multipart CSV in ``file`` → ``{received, added, duplicates, rejected: [{row,
  value, code, error}]}``: a bad row is reported, never fatal (``code``: ``ERR_EMPTY_NUMBER``
  — also for ``null``; ``ERR_NOT_A_NUMBER`` — also for a boolean, a float, a list or an object
  where the number goes, and for non-ASCII digits other than full-width ones, which count as
  ASCII; ``ERR_NUMBER_LENGTH`` with ``min``/``max``/``got``; ``ERR_INVALID_NUMBER`` for a
  number libphonenumber does not know for its country code, like one without it;
  ``ERR_INVALID_NAME`` for a JSON name that is not a string). Names lose control characters (NUL included), are trimmed and
  cut to 255 characters. At most 50,000 rows (413 ``ERR_TOO_MANY_ROWS``, nothing added). The
  rows are added in chunks (see :func:`storage.campaign_contacts.add`): an upload cut short
  leaves its first rows added, and sending the list again reports them as duplicates.
  CSV: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252, else Latin-1; blank
  lines are skipped; the delimiter is ``;``, tab or ``,`` (the first of those found on every
  line, so ``5511999990001;Silva, Ana`` splits at the ``;``); the first non-blank line is a
  header when a cell names the number column (case, accents, spaces, ``_`` and ``-``
  ignored: ``number``, ``numero``, ``telefone``, ``celular``, ``phone number``, ``numero de
  telefone``, ``telefone celular``, ``mobile``, ``whatsapp``, …; the name column: ``name``,
  ``nome``, ``nome completo``, ``full name``, …), else the number is first and the name
  second. 400 ``ERR_INVALID_CSV`` when the file cannot be read as CSV.
  ``GET /campaigns/<id>/contacts?status=&pageNumber=`` → ``{contacts, count, hasMore}``.
- ``POST /campaigns/<id>/start | pause | resume | cancel`` → the campaign; 409
  ``ERR_CAMPAIGN_STATE`` when the state does not allow it, ``ERR_CAMPAIGN_EMPTY`` to start a
  campaign without recipients.

Every change reaches the tenant's administrators' sockets: ``campaign.updated`` (the campaign
with its counters) after create, edit, media, contacts and each state change, and
``campaign.deleted`` ``{id}`` after a delete.
"""
from __future__ import annotations

import codecs
import csv
import datetime
import io
import os
import re
import unicodedata
from typing import Annotated

import pydantic
from flask import Blueprint, jsonify, request

from actors import events
from actors.messages import CampaignControl
from storage import campaign_contacts as recipients
from storage import campaigns, db, media, tickets
from web.auth import login_required
from web.common import (Body, caller, clean_text, has_more, json_body, json_object,
                        page_number, runtime)
from web.errors import ApiError
from web.openapi import accepts

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

ASK_TIMEOUT = 10.0
MAX_TEXT = 4096
MAX_NAME = 255
HHMM = Annotated[str, pydantic.StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
# JSON numbers only: a boolean or a string is a 400, not 1 / 0 / a parsed string.
StrictId = Annotated[int, pydantic.Field(ge=1, le=2**63 - 1, strict=True)]
Seconds = Annotated[float, pydantic.Field(ge=0, le=86_400, strict=True)]
# CSV header cells, as _header() folds them (lower case, no accents, words split by a space).
NUMBER_HEADERS = {
    "number", "phone", "phone number", "mobile", "mobile number", "mobile phone", "cell",
    "cell phone", "cellphone", "whatsapp", "whatsapp number", "numero", "numero de telefone",
    "numero do telefone", "numero de celular", "numero do celular", "numero do whatsapp",
    "telefone", "telefone celular", "celular", "fone", "tel"}
NAME_HEADERS = {"name", "full name", "contact name", "nome", "nome completo", "nome do contato",
                "cliente"}
DELIMITERS = ("\t", ";", ",")  # preferred in this order when a line holds several
CSV_BATCH = 5000  # CSV lines (JSON items) read between two pauses for the rest of the server
COLUMNS = {"name": "name", "whatsappId": "whatsapp", "message1": "message1",
           "message2": "message2", "message3": "message3", "startAt": "start_at",
           "delay": "delay", "jitter": "jitter", "windowStart": "window_start",
           "windowEnd": "window_end", "dailyCap": "daily_cap", "optOutKeyword": "opt_out_keyword"}


class CampaignBody(Body):
    """A campaign's fields. Unknown keys are refused (400 naming them), unlike other bodies: a
    misspelt ``dailycap`` or ``window_start`` would otherwise be dropped silently, and the
    campaign would go out without the cap or window its author meant to set."""

    model_config = pydantic.ConfigDict(extra="forbid")  # merged with Body's

    name: str = pydantic.Field(min_length=1, max_length=255)
    whatsappId: StrictId
    message1: str = pydantic.Field(min_length=1, max_length=MAX_TEXT)
    message2: str | None = pydantic.Field(default=None, max_length=MAX_TEXT)
    message3: str | None = pydantic.Field(default=None, max_length=MAX_TEXT)
    startAt: datetime.datetime | None = None
    delay: Seconds = 20.0
    jitter: Seconds = 10.0
    windowStart: HHMM | None = None
    windowEnd: HHMM | None = None
    dailyCap: int | None = pydantic.Field(default=None, ge=1, le=1_000_000, strict=True)
    optOutKeyword: str | None = pydantic.Field(default=None, max_length=64)

    @pydantic.field_validator("message2", "message3", "optOutKeyword", "windowStart",
                              "windowEnd", mode="before")
    @classmethod
    def blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @pydantic.field_validator("startAt", mode="before")
    @classmethod
    def iso_8601(cls, value):
        """Only an ISO-8601 date *and time* string (pydantic alone would take 12345 as a Unix
        time; a bare date would mean midnight UTC, which nobody means)."""
        if value is None:
            return None
        if not isinstance(value, str) or "T" not in value.upper().strip() and " " not in \
                value.strip():
            raise ValueError("startAt must be an ISO-8601 date-time string")
        try:
            return datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("startAt must be an ISO-8601 date-time string") from None

    @pydantic.field_validator("optOutKeyword")
    @classmethod
    def matchable(cls, value: str | None):
        # the rule replies are matched by: "!!!" folds to nothing and could never match
        if value is not None and not recipients.fold(value):
            raise ValueError("optOutKeyword needs a letter or a digit (replies are compared "
                             "ignoring case, accents, spaces and punctuation)")
        return value

    @pydantic.field_validator("startAt")
    @classmethod
    def utc(cls, value: datetime.datetime | None):
        if value is not None and value.tzinfo is not None:
            try:
                value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            except OverflowError:
                raise ValueError("startAt is out of range") from None
        return value

    @pydantic.model_validator(mode="after")
    def whole_window(self):
        if (self.windowStart is None) != (self.windowEnd is None):
            raise ValueError("windowStart and windowEnd go together")
        if self.windowStart is not None and self.windowStart == self.windowEnd:
            raise ValueError("windowStart and windowEnd must differ (no window: leave both out)")
        return self

    def columns(self) -> dict:
        return {column: getattr(self, key) for key, column in COLUMNS.items()}


class CampaignEdit(CampaignBody):
    """``PUT``: any subset of the fields, and ``updatedAt`` — the campaign's ``updatedAt`` as the
    editor read it. When given, a campaign changed since then is 409 ``ERR_CAMPAIGN_CHANGED``
    (nobody's edit is overwritten unseen)."""

    updatedAt: str | None = None


class Recipient(Body):
    number: str | int | None = None
    name: str | None = pydantic.Field(default=None, max_length=MAX_NAME)


class RecipientList(Body):
    """The documented shape (``/openapi.json``). :func:`add_contacts` reads the list item by
    item instead, so that one bad item is a rejected row, not a 400 for the whole list."""

    contacts: list[Recipient | str | int] = pydantic.Field(max_length=recipients.MAX_ROWS)


def _campaign(campaign_id: int):
    with db.unit_of_work():
        return campaigns.get_campaign(caller().tenant_id, campaign_id)


def _json(campaign) -> dict:
    with db.unit_of_work():
        return campaigns.campaign_json(campaign)


def _announce(event: str, data: dict) -> dict:
    """Tell the tenant's administrators (``campaign.updated`` / ``campaign.deleted``); returns
    ``data`` for the answer."""
    events.publish(runtime().system, caller().tenant_id, event, data, admins_only=True)
    return data


def _check_connection(whatsapp_id: int) -> None:
    with db.unit_of_work():
        tickets.get_whatsapp(caller().tenant_id, whatsapp_id)


@bp.get("")
@login_required(admin=True)
def list_():
    """The tenant's campaigns, newest first, with their counters."""
    page = page_number()
    with db.unit_of_work():
        rows, count = campaigns.list_campaigns(caller().tenant_id, page)
        counts = campaigns.counters([row.id for row in rows])
        data = [campaigns.campaign_json(row, counts[row.id]) for row in rows]
    return jsonify({"campaigns": data, "count": count,
                    "hasMore": has_more(count, page, campaigns.PAGE_SIZE)})


@bp.post("")
@accepts(CampaignBody)
@login_required(admin=True)
def create():
    """Create a draft campaign."""
    body = json_body(CampaignBody)
    _check_connection(body.whatsappId)
    with db.unit_of_work():
        campaign = campaigns.create_campaign(caller().tenant_id, **body.columns())
    return jsonify(_announce("campaign.updated", _json(campaign))), 201


@bp.get("/<int:campaign_id>")
@login_required(admin=True)
def show(campaign_id: int):
    """The campaign with its counters."""
    return jsonify(_json(_campaign(campaign_id)))


@bp.put("/<int:campaign_id>")
@accepts(CampaignEdit)
@login_required(admin=True)
def update(campaign_id: int):
    """Edit a draft or paused campaign: any subset of the create fields, validated together
    with the current ones (see :class:`CampaignEdit` for ``updatedAt``)."""
    current = _json(_campaign(campaign_id))
    given = {key: value for key, value in json_object().items()  # read-only keys may come back
             if key in CampaignEdit.model_fields or key not in current}
    body = CampaignEdit.model_validate({**{k: current[k] for k in COLUMNS}, **given})
    if body.whatsappId != current["whatsappId"]:  # the state rule is checked under the lock
        _check_connection(body.whatsappId)
    with db.unit_of_work():
        campaign = campaigns.update_campaign(caller().tenant_id, campaign_id,
                                             expected_version=body.updatedAt, **body.columns())
    return jsonify(_announce("campaign.updated", _json(campaign)))


@bp.delete("/<int:campaign_id>")
@login_required(admin=True)
def delete(campaign_id: int):
    """Delete a campaign that is not running (its sent messages stay, with their media)."""
    with db.unit_of_work():
        unused = campaigns.delete_campaign(caller().tenant_id, campaign_id)
    media.discard(runtime().settings.public_dir, unused)
    _announce("campaign.deleted", {"id": campaign_id})
    return jsonify({"id": campaign_id, "deleted": True})


@bp.post("/<int:campaign_id>/media")
@login_required(admin=True)
def set_media(campaign_id: int):
    """Attach a file (multipart ``media``) sent with every message of the campaign."""
    upload = request.files.get("media")
    name = _media_name(upload.filename if upload is not None else None)
    if upload is None or not name:
        raise ApiError(400, "ERR_VALIDATION", "send the file as multipart field 'media'")
    campaign = _campaign(campaign_id)
    if campaign.status not in campaigns.EDITABLE:
        raise ApiError(409, "ERR_CAMPAIGN_STATE", f"cannot edit a {campaign.status} campaign")
    data = upload.read()
    if not data:
        raise ApiError(400, "ERR_EMPTY_FILE", "the file is empty")
    public_dir = runtime().settings.public_dir
    path = media.save(public_dir, campaign.tenant_id, data, name, upload.mimetype)
    try:
        with db.unit_of_work():
            campaign, unused = campaigns.set_media(caller().tenant_id, campaign_id, path, name,
                                                   media.media_type_of(upload.mimetype))
    except Exception:  # started or deleted meanwhile: the new file has no owner
        media.discard(public_dir, path)
        raise
    media.discard(public_dir, unused)
    return jsonify(_announce("campaign.updated", _json(campaign)))


def _media_name(filename: str | None) -> str:
    """The name the file is shown and sent under (WhatsApp's document name): its last path
    component (a browser may send ``C:\\fakepath\\x.pdf``; a client ``../../x.pdf``), cleaned
    like every name, cut to 255 characters keeping a short extension."""
    name = clean_text((filename or "").replace("\\", "/").rsplit("/", 1)[-1], 10 * MAX_NAME)
    if len(name) <= MAX_NAME:
        return name
    stem, ext = os.path.splitext(name)
    if not 1 < len(ext) <= 16:
        return name[:MAX_NAME].rstrip()
    return stem[:MAX_NAME - len(ext)].rstrip() + ext


@bp.delete("/<int:campaign_id>/media")
@login_required(admin=True)
def drop_media(campaign_id: int):
    """Remove the campaign's attachment (the file too, unless a sent message shows it)."""
    with db.unit_of_work():
        campaign, unused = campaigns.set_media(caller().tenant_id, campaign_id, None, None, None)
    media.discard(runtime().settings.public_dir, unused)
    return jsonify(_announce("campaign.updated", _json(campaign)))


@bp.post("/<int:campaign_id>/contacts")
@accepts(RecipientList)
@login_required(admin=True)
def add_contacts(campaign_id: int):
    """Add recipients (JSON list or CSV upload); bad rows are reported, not fatal."""
    refused: list[dict] = []
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "ERR_VALIDATION", "send the CSV as multipart field 'file'")
        rows = csv_rows(upload.read())
    else:
        rows, refused = json_rows(json_object().get("contacts"))
    with db.unit_of_work():
        report = recipients.add(caller().tenant_id, campaign_id, rows)
    if refused:
        report["received"] += len(refused)
        report["rejected"] = sorted(report["rejected"] + refused, key=lambda r: r["row"])
    if report["added"]:
        _announce("campaign.updated", _json(_campaign(campaign_id)))
    return jsonify(report)


@bp.get("/<int:campaign_id>/contacts")
@login_required(admin=True)
def list_contacts(campaign_id: int):
    """A page of the campaign's recipients and their progress."""
    campaign = _campaign(campaign_id)
    status = request.args.get("status") or None
    if status is not None and status not in recipients.RANK and status != "opted_out":
        raise ApiError(400, "ERR_VALIDATION", f"unknown status {status!r}")
    page = page_number()
    with db.unit_of_work():
        rows, count = recipients.page(campaign.id, status, page)
        data = [recipients.recipient_json(row) for row in rows]
    return jsonify({"contacts": data, "count": count,
                    "hasMore": has_more(count, page, recipients.PAGE_SIZE)})


@bp.post("/<int:campaign_id>/start")
@login_required(admin=True)
def start(campaign_id: int):
    """Start a draft: it sends from ``startAt`` (or now), paced, inside its window."""
    return _control(campaign_id, "start")


@bp.post("/<int:campaign_id>/pause")
@login_required(admin=True)
def pause(campaign_id: int):
    """Pause: no new send from now on; a queued one that has not left is revoked."""
    return _control(campaign_id, "pause")


@bp.post("/<int:campaign_id>/resume")
@login_required(admin=True)
def resume(campaign_id: int):
    """Resume a paused campaign where it stopped."""
    return _control(campaign_id, "resume")


@bp.post("/<int:campaign_id>/cancel")
@login_required(admin=True)
def cancel(campaign_id: int):
    """Cancel: every recipient not sent yet is ``cancelled``, queued sends revoked."""
    return _control(campaign_id, "cancel")


def _control(campaign_id: int, action: str):
    campaign = _campaign(campaign_id)
    ref = runtime().system.campaigner(campaign.whatsapp_id, campaign.tenant_id)
    return jsonify(ref.ask(CampaignControl(campaign.tenant_id, campaign.id, action),
                           timeout=ASK_TIMEOUT))


def json_rows(items) -> tuple[list[tuple[int, object, str | None]], list[dict]]:
    """``(position, number, name)`` per item of a JSON ``contacts`` list (an object
    ``{number, name?}``, else the item itself is the number: the storage layer reports a wrong
    type there as ``ERR_NOT_A_NUMBER``), and the items refused here (a name that is not a
    string: ``ERR_INVALID_NAME``). 400 when ``contacts`` is not a list, 413 past the limit."""
    if not isinstance(items, list):
        raise ApiError(400, "ERR_VALIDATION", "contacts must be a list",
                       [{"field": "contacts", "message": "Input should be a valid list"}])
    if len(items) > recipients.MAX_ROWS:
        raise recipients.TooManyRows()
    rows, refused = [], []
    for position, item in enumerate(items, 1):
        if position % CSV_BATCH == 0:
            recipients.breathe()
        number, name = (item.get("number"), item.get("name")) if isinstance(item, dict) else (
            item, None)
        if name is not None and not isinstance(name, str):
            refused.append({"row": position, "value": "" if number is None else str(number)[:64],
                            "code": "ERR_INVALID_NAME", "error": "the name must be a string"})
            continue
        rows.append((position, number, clean_text(name, MAX_NAME) if name else None))
    return rows, refused


def csv_rows(data: bytes) -> list[tuple[int, str, str | None]]:
    """``(line, number, name)`` per non-blank CSV record after the optional header (the
    contract is in the module docstring). 400 ``ERR_INVALID_CSV``, 413 past the row limit."""
    text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")  # old Mac Excel: CR
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    number_col, name_col, header_seen, rows = 0, 1, False, []
    try:
        for cells in reader:
            if reader.line_num % CSV_BATCH == 0:
                recipients.breathe()  # a long file must not stall the other requests
            if not any(cell.strip() for cell in cells):
                continue
            if not header_seen:  # the first non-blank record: a header?
                header_seen = True
                names = [_header(cell) for cell in cells]
                if NUMBER_HEADERS.intersection(names):
                    number_col = next(i for i, c in enumerate(names) if c in NUMBER_HEADERS)
                    name_col = next((i for i, c in enumerate(names) if c in NAME_HEADERS), None)
                    continue
            if len(rows) == recipients.MAX_ROWS:
                raise recipients.TooManyRows()
            number = cells[number_col].strip() if number_col < len(cells) else ""
            name = cells[name_col] if name_col is not None and name_col < len(cells) else None
            rows.append((reader.line_num, number, clean_text(name, MAX_NAME) if name else None))
    except csv.Error as exc:
        raise ApiError(400, "ERR_INVALID_CSV", f"unreadable CSV near line {reader.line_num}: "
                                                f"{exc}") from None
    return rows


def _decode(data: bytes) -> str:
    """UTF-16 with its BOM (Excel's "Unicode text"); else, without a UTF-8 BOM, UTF-8, then
    Windows-1252 (Excel's Brazilian/Western export), then Latin-1 (any byte). A file that is
    not text — a spreadsheet (``.xlsx`` is a ZIP), an image, UTF-16 without its BOM — is 400
    ``ERR_INVALID_CSV``, rather than rows of garbage each rejected."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    text = None
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    text = data.decode("latin-1") if text is None else text
    if data.startswith(_BINARY_SIGNATURES) or _looks_binary(text[:BINARY_SAMPLE]):
        raise ApiError(400, "ERR_INVALID_CSV", "the file is not a CSV text file (a spreadsheet "
                       "or an image?): save it as CSV")
    return text


BINARY_SAMPLE = 8192  # characters looked at
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BINARY_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"%PDF-", b"GIF8",
                      b"\xff\xd8\xff")  # .xlsx/.ods, .xls, PNG, PDF, GIF, JPEG


def _looks_binary(sample: str) -> bool:
    """More control characters (NUL included; tab and line ends are text) than a text file
    has by accident: above 8 and above 5 % of the sample."""
    return len(_CONTROL.findall(sample)) > max(8, len(sample) / 20)


_QUOTED = re.compile(r'"[^"\n]*"')


def _delimiter(text: str, sample: int = 50) -> str:
    """The first of :data:`DELIMITERS` found (outside quotes) on every one of the first
    ``sample`` lines that hold any; else the most frequent one; ``,`` for one column."""
    head = text[:sample * 1024].split("\n", sample)[:sample]
    lines = [_QUOTED.sub("", line) for line in head]
    lines = [line for line in lines if any(d in line for d in DELIMITERS)]
    if not lines:
        return ","
    for delimiter in DELIMITERS:
        if all(delimiter in line for line in lines):
            return delimiter
    return max(DELIMITERS, key=lambda d: sum(d in line for line in lines))


def _header(cell: str) -> str:
    """A header cell folded for matching: "Número de_Telefone " → "numero de telefone"."""
    decomposed = unicodedata.normalize("NFKD", cell.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.split(r"[^0-9a-z]+", plain)).strip()
