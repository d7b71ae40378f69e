"""Campaigns (``/campaigns``): admin only, tenant-scoped (another tenant's campaign is a 404
``ERR_NO_CAMPAIGN_FOUND``). The sending itself is :class:`~actors.campaign.CampaignActor`'s.

- ``GET /campaigns?pageNumber=`` → ``{campaigns, count, hasMore}``; ``GET /campaigns/<id>`` →
  the campaign with ``counters`` (total, pending, queued, sent, delivered, read, replied,
  failed, cancelled, optedOut — each recipient once, in its current state).
- ``POST /campaigns`` ``{name, whatsappId, message1, message2?, message3?, startAt?, delay?,
  jitter?, windowStart?, windowEnd?, dailyCap?, optOutKeyword?}`` → 201 (a ``draft``). Seconds
  for ``delay`` (default 20) and ``jitter`` (default 10; each gap is ``delay + uniform(0,
  jitter)``); ``startAt`` ISO-8601 (no offset: UTC); ``"HH:MM"`` windows in the tenant's zone
  (setting ``timezone``, default America/Sao_Paulo); ``dailyCap``: campaign sends per local day
  on the connection, over all its campaigns. ``{{name}}`` and ``{{greeting}}`` are filled per
  recipient. ``PUT /campaigns/<id>`` (same fields, any subset) and ``DELETE`` only while not
  running (409 ``ERR_CAMPAIGN_STATE``); the connection can change only in a draft.
- ``POST /campaigns/<id>/media`` multipart file ``media`` (sent with every message, the text as
  caption); ``DELETE /campaigns/<id>/media``.
- ``POST /campaigns/<id>/contacts`` JSON ``{contacts: [{number, name?} | "number", …]}`` or a
  multipart CSV in ``file`` (``,``/``;``/tab; an optional header naming ``number``/``numero``/
  ``telefone`` and ``name``/``nome`` columns, else number first, name second) → ``{received,
  added, duplicates, rejected: [{row, value, code, error}]}``: a bad row is reported, never
  fatal (``code``: ``ERR_EMPTY_NUMBER``, ``ERR_NOT_A_NUMBER``, ``ERR_NUMBER_LENGTH`` with
  ``min``/``max``/``got``).
  ``GET /campaigns/<id>/contacts?status=&pageNumber=`` → ``{contacts, count, hasMore}``.
- ``POST /campaigns/<id>/start | pause | resume | cancel`` → the campaign; 409
  ``ERR_CAMPAIGN_STATE`` when the state does not allow it, ``ERR_CAMPAIGN_EMPTY`` to start a
  campaign without recipients.

Every change reaches the tenant's administrators' sockets: ``campaign.updated`` (the campaign
with its counters) after create, edit, media, contacts and each state change, and
``campaign.deleted`` ``{id}`` after a delete.
"""
from __future__ import annotations

import csv
import datetime
import io
from typing import Annotated

import pydantic
from flask import Blueprint, jsonify, request

from actors import events
from actors.messages import CampaignControl
from storage import campaign_contacts as recipients
from storage import campaigns, db, media, tickets
from web.auth import login_required
from web.common import Id, Body, caller, has_more, json_body, page_number, runtime
from web.errors import ApiError
from web.openapi import accepts

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

ASK_TIMEOUT = 10.0
MAX_TEXT = 4096
HHMM = Annotated[str, pydantic.StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
NUMBER_HEADERS = {"number", "numero", "número", "phone", "telefone", "celular", "whatsapp"}
NAME_HEADERS = {"name", "nome"}
COLUMNS = {"name": "name", "whatsappId": "whatsapp", "message1": "message1",
           "message2": "message2", "message3": "message3", "startAt": "start_at",
           "delay": "delay", "jitter": "jitter", "windowStart": "window_start",
           "windowEnd": "window_end", "dailyCap": "daily_cap", "optOutKeyword": "opt_out_keyword"}


class CampaignBody(Body):
    name: str = pydantic.Field(min_length=1, max_length=255)
    whatsappId: Id
    message1: str = pydantic.Field(min_length=1, max_length=MAX_TEXT)
    message2: str | None = pydantic.Field(default=None, max_length=MAX_TEXT)
    message3: str | None = pydantic.Field(default=None, max_length=MAX_TEXT)
    startAt: datetime.datetime | None = None
    delay: float = pydantic.Field(default=20.0, ge=0, le=86_400)
    jitter: float = pydantic.Field(default=10.0, ge=0, le=86_400)
    windowStart: HHMM | None = None
    windowEnd: HHMM | None = None
    dailyCap: int | None = pydantic.Field(default=None, ge=1, le=1_000_000)
    optOutKeyword: str | None = pydantic.Field(default=None, max_length=64)

    @pydantic.field_validator("message2", "message3", "optOutKeyword", "windowStart",
                              "windowEnd", mode="before")
    @classmethod
    def blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

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
        return self

    def columns(self) -> dict:
        return {column: getattr(self, key) for key, column in COLUMNS.items()}


class Recipient(Body):
    number: str | int | None = None
    name: str | None = pydantic.Field(default=None, max_length=255)


class RecipientList(Body):
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
@accepts(CampaignBody)
@login_required(admin=True)
def update(campaign_id: int):
    """Edit a draft or paused campaign: any subset of the create fields, validated together
    with the current ones."""
    current = _json(_campaign(campaign_id))
    given = request.get_json(silent=True)
    if not isinstance(given, dict):
        raise ApiError(400, "ERR_INVALID_JSON", "the body must be a JSON object")
    body = CampaignBody.model_validate({**{k: current[k] for k in COLUMNS}, **given})
    if body.whatsappId != current["whatsappId"]:
        if current["status"] != "draft":
            raise ApiError(409, "ERR_CAMPAIGN_STATE", "only a draft can change its connection")
        _check_connection(body.whatsappId)
    with db.unit_of_work():
        campaign = campaigns.update_campaign(caller().tenant_id, campaign_id, **body.columns())
    return jsonify(_announce("campaign.updated", _json(campaign)))


@bp.delete("/<int:campaign_id>")
@login_required(admin=True)
def delete(campaign_id: int):
    """Delete a campaign that is not running (its sent messages stay)."""
    with db.unit_of_work():
        campaigns.delete_campaign(caller().tenant_id, campaign_id)
    _announce("campaign.deleted", {"id": campaign_id})
    return jsonify({"id": campaign_id, "deleted": True})


@bp.post("/<int:campaign_id>/media")
@login_required(admin=True)
def set_media(campaign_id: int):
    """Attach a file (multipart ``media``) sent with every message of the campaign."""
    upload = request.files.get("media")
    if upload is None or not upload.filename:
        raise ApiError(400, "ERR_VALIDATION", "send the file as multipart field 'media'")
    campaign = _campaign(campaign_id)
    if campaign.status not in campaigns.EDITABLE:
        raise ApiError(409, "ERR_CAMPAIGN_STATE", f"cannot edit a {campaign.status} campaign")
    path = media.save(runtime().settings.public_dir, campaign.tenant_id, upload.read(),
                      upload.filename, upload.mimetype)
    with db.unit_of_work():
        campaign = campaigns.update_campaign(
            caller().tenant_id, campaign_id, media_path=path, media_name=upload.filename,
            media_type=media.media_type_of(upload.mimetype))
    return jsonify(_announce("campaign.updated", _json(campaign)))


@bp.delete("/<int:campaign_id>/media")
@login_required(admin=True)
def drop_media(campaign_id: int):
    """Remove the campaign's attachment."""
    with db.unit_of_work():
        campaign = campaigns.update_campaign(caller().tenant_id, campaign_id, media_path=None,
                                             media_name=None, media_type=None)
    return jsonify(_announce("campaign.updated", _json(campaign)))


@bp.post("/<int:campaign_id>/contacts")
@accepts(RecipientList)
@login_required(admin=True)
def add_contacts(campaign_id: int):
    """Add recipients (JSON list or CSV upload); bad rows are reported, not fatal."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "ERR_VALIDATION", "send the CSV as multipart field 'file'")
        rows = csv_rows(upload.read())
    else:
        items = json_body(RecipientList).contacts
        rows = [(n, *((item.number, item.name) if isinstance(item, Recipient) else (item, None)))
                for n, item in enumerate(items, 1)]
    with db.unit_of_work():
        report = recipients.add(caller().tenant_id, campaign_id, rows)
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


def csv_rows(data: bytes) -> list[tuple[int, str, str | None]]:
    """``(line, number, name)`` per non-blank CSV record. UTF-8 (with or without BOM), else
    Latin-1 (Excel's export); the delimiter is sniffed among ``,`` ``;`` tab."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # old Excel exports end lines in CR
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    number_col, name_col, rows = 0, 1, []
    records = []
    try:
        for cells in reader:
            records.append((reader.line_num, cells))
    except csv.Error as exc:
        raise ApiError(400, "ERR_INVALID_CSV", f"unreadable CSV near line {reader.line_num}: "
                                                f"{exc}") from None
    for line, cells in records:
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        lowered = [cell.lower() for cell in cells]
        if not rows and line == 1 and NUMBER_HEADERS.intersection(lowered):
            number_col = next(i for i, c in enumerate(lowered) if c in NUMBER_HEADERS)
            name_col = next((i for i, c in enumerate(lowered) if c in NAME_HEADERS), None)
            continue
        number = cells[number_col] if number_col < len(cells) else ""
        name = cells[name_col] if name_col is not None and name_col < len(cells) else None
        rows.append((line, number, name))
    return rows
