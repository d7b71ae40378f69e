"""The simulated WhatsApp's control API (only with ``TT_WHATSAPP_CLIENT=sim``; admin of the
connection's tenant; another tenant's connection is a 404).

- ``POST /sim/whatsapp/<id>/incoming`` ``{from, name?, body, id?, type?, media?: {mimetype, data
  (base64), filename}}`` → 202 ``{id}``: a customer's message arrives on that connection.
- ``GET /sim/whatsapp/<id>/sent`` → ``[{id, to, body, media?}]`` in order.
- ``POST /sim/whatsapp/<id>/ack`` ``{id, ack}`` → 202: delivery (2), read (3), played (4).
- ``POST /sim/whatsapp/<id>/faults`` ``{failSends?, ghostDisconnect?, profilePic?, logout?,
  hangSends?}``.
- ``POST /sim/whatsapp/<id>/scan``: the phone scans the QR on screen.
"""
from __future__ import annotations

import binascii
import re
from typing import Literal

import pydantic
from flask import Blueprint, jsonify

from storage import db, tickets
from web.auth import login_required
from web.common import Body, caller, json_body, runtime
from web.openapi import accepts
from web.errors import ApiError

bp = Blueprint("sim", __name__, url_prefix="/sim/whatsapp")


class SimMedia(Body):
    mimetype: str = pydantic.Field(min_length=3, max_length=128)
    data: str
    filename: str | None = None


class Incoming(Body):
    from_: str = pydantic.Field(alias="from", min_length=5, max_length=32)
    name: str | None = None
    body: str = ""
    id: str | None = pydantic.Field(default=None, max_length=128)
    type: str | None = None
    media: SimMedia | None = None
    quotedMsgId: str | None = None

    @pydantic.field_validator("from_")
    @classmethod
    def digits(cls, value: str) -> str:
        if not re.fullmatch(r"\+?\d{5,20}", value):
            raise ValueError("from must be a phone number (digits)")
        return value.lstrip("+")


class Ack(Body):
    id: str
    ack: int = pydantic.Field(ge=-1, le=4)


class Faults(Body):
    failSends: int | None = pydantic.Field(default=None, ge=0, le=1000)
    ghostDisconnect: bool | None = None
    profilePic: Literal["ok", "error", "hang"] | None = None
    logout: bool = False
    hangSends: bool | None = None


def _phone_network(whatsapp_id: int):
    with db.unit_of_work():
        tickets.get_whatsapp(caller().tenant_id, whatsapp_id)
    return runtime().network


@bp.post("/<int:whatsapp_id>/incoming")
@accepts(Incoming)
@login_required(admin=True)
def incoming(whatsapp_id: int):
    body = json_body(Incoming)
    network = _phone_network(whatsapp_id)
    if not body.body and body.media is None:
        raise ApiError(400, "ERR_VALIDATION", "a message needs a body or media")
    if body.media is not None:
        limit = runtime().settings.max_upload_mb * 1024 * 1024 * 4 // 3 + 4
        if len(body.media.data) > limit:
            raise ApiError(413, "ERR_FILE_TOO_LARGE", "media is larger than TT_MAX_UPLOAD_MB")
    try:
        wa_id = network.incoming(whatsapp_id, body.from_, body.body, body.name, body.id,
                                 body.type, body.media.model_dump() if body.media else None,
                                 body.quotedMsgId)
    except (binascii.Error, ValueError):
        raise ApiError(400, "ERR_VALIDATION", "media.data is not valid base64") from None
    return jsonify({"id": wa_id}), 202


@bp.get("/<int:whatsapp_id>/sent")
@login_required(admin=True)
def sent(whatsapp_id: int):
    return jsonify(_phone_network(whatsapp_id).sent(whatsapp_id))


@bp.post("/<int:whatsapp_id>/ack")
@accepts(Ack)
@login_required(admin=True)
def ack(whatsapp_id: int):
    body = json_body(Ack)
    if not _phone_network(whatsapp_id).ack(whatsapp_id, body.id, body.ack):
        raise ApiError(404, "ERR_NO_MESSAGE_FOUND", "no message with this id was sent")
    return jsonify({"id": body.id, "ack": body.ack}), 202


@bp.post("/<int:whatsapp_id>/faults")
@accepts(Faults)
@login_required(admin=True)
def faults(whatsapp_id: int):
    body = json_body(Faults)
    state = _phone_network(whatsapp_id).set_faults(
        whatsapp_id, body.failSends, body.ghostDisconnect, body.profilePic, body.logout,
        body.hangSends)
    return jsonify(state)


@bp.post("/<int:whatsapp_id>/scan")
@login_required(admin=True)
def scan(whatsapp_id: int):
    if not _phone_network(whatsapp_id).scan(whatsapp_id):
        raise ApiError(409, "ERR_NO_QRCODE", "no QR code is waiting to be scanned")
    return jsonify({"ok": True}), 202
