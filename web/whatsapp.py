"""Connections (Izing's ``/whatsapp``) and their sessions (``/whatsappsession``), tenant-scoped.

- ``GET /whatsapp`` → list; ``POST /whatsapp`` ``{name, isDefault?}`` (admin) → 201;
  ``GET /whatsapp/<id>`` → with ``status`` and ``qrcode``.
- ``POST /whatsappsession/<id>`` starts the session; ``PUT`` asks for a new QR (drops the saved
  login); ``DELETE`` logs out. Each answers the connection; 404 ERR_NO_WAPP_FOUND otherwise.
"""
from __future__ import annotations

import pydantic
from flask import Blueprint, jsonify

from actors.messages import LogoutSession, RequestNewQr, StartSession
from storage import db, tenants, tickets
from storage.models import Whatsapp
from storage.serialize import whatsapp_json
from web.auth import login_required
from web.common import Body, caller, json_body, runtime

bp = Blueprint("whatsapp", __name__)

ASK_TIMEOUT = 15.0


class WhatsappCreate(Body):
    name: str = pydantic.Field(min_length=1, max_length=255)
    isDefault: bool = False


@bp.get("/whatsapp")
@login_required
def list_():
    with db.unit_of_work():
        rows = (Whatsapp.select().where(Whatsapp.tenant == caller().tenant_id,
                                        Whatsapp.is_deleted == False)  # noqa: E712
                .order_by(Whatsapp.id))
        return jsonify([whatsapp_json(w) for w in rows])


@bp.post("/whatsapp")
@login_required(admin=True)
def create():
    body = json_body(WhatsappCreate)
    with db.unit_of_work():
        row = tenants.create_whatsapp(caller().tenant_id, body.name, body.isDefault)
    runtime().system.start_connection(row.id, row.tenant_id)
    return jsonify(whatsapp_json(row)), 201


@bp.get("/whatsapp/<int:whatsapp_id>")
@login_required
def show(whatsapp_id: int):
    with db.unit_of_work():
        return jsonify(whatsapp_json(tickets.get_whatsapp(caller().tenant_id, whatsapp_id)))


def _session_command(whatsapp_id: int, command):
    with db.unit_of_work():
        row = tickets.get_whatsapp(caller().tenant_id, whatsapp_id)
    system = runtime().system
    system.start_connection(row.id, row.tenant_id)
    return jsonify(system.session(row.id).ask(command, timeout=ASK_TIMEOUT))


@bp.post("/whatsappsession/<int:whatsapp_id>")
@login_required
def start_session(whatsapp_id: int):
    return _session_command(whatsapp_id, StartSession())


@bp.put("/whatsappsession/<int:whatsapp_id>")
@login_required
def new_qr(whatsapp_id: int):
    return _session_command(whatsapp_id, RequestNewQr())


@bp.delete("/whatsappsession/<int:whatsapp_id>")
@login_required
def logout(whatsapp_id: int):
    return _session_command(whatsapp_id, LogoutSession())
