"""Connections (Izing's ``/whatsapp``) and their sessions (``/whatsappsession``), tenant-scoped.

- ``GET /whatsapp`` → list; ``POST /whatsapp`` ``{name, isDefault?}`` (admin) → 201;
  ``GET /whatsapp/<id>`` → with ``status`` and ``qrcode``.
- ``POST /whatsappsession/<id>`` starts the session; ``PUT`` asks for a new QR (drops the saved
  login); ``DELETE`` logs out. Each answers the connection; 404 ERR_NO_WAPP_FOUND otherwise.
- ``GET /whatsapp/<id>/qrcode.png`` → the waiting QR code as a PNG (rendered here with the
  ``qrcode`` library, ``Cache-Control: no-store``); 404 ERR_NO_QRCODE when no QR is waiting.
"""
from __future__ import annotations

import functools
import io

import pydantic
from flask import Blueprint, jsonify

from actors.messages import LogoutSession, RequestNewQr, StartSession
from storage import db, tenants, tickets
from storage.models import Whatsapp
from storage.serialize import whatsapp_json
from web.auth import login_required
from web.common import Body, caller, json_body, runtime
from web.openapi import accepts
from web.errors import ApiError

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
@accepts(WhatsappCreate)
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


@bp.get("/whatsapp/<int:whatsapp_id>/qrcode.png")
@login_required
def qrcode_png(whatsapp_id: int):
    """The waiting QR code as a PNG image; 404 ERR_NO_QRCODE when none waits."""
    with db.unit_of_work():
        row = tickets.get_whatsapp(caller().tenant_id, whatsapp_id)
    if not row.qrcode:
        raise ApiError(404, "ERR_NO_QRCODE", "no QR code is waiting to be scanned")
    return _qr_png(row.qrcode), 200, {"Content-Type": "image/png",
                                      "Cache-Control": "no-store"}


@functools.lru_cache(maxsize=32)
def _qr_png(text: str) -> bytes:
    """``text`` as a PNG QR code (8 px modules, 2-module border); ~20 ms, hence the cache."""
    import qrcode
    from qrcode.image.pure import PyPNGImage

    buffer = io.BytesIO()
    qrcode.make(text, image_factory=PyPNGImage, box_size=8, border=2).save(buffer)
    return buffer.getvalue()


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
@login_required(admin=True)
def new_qr(whatsapp_id: int):
    return _session_command(whatsapp_id, RequestNewQr())


@bp.delete("/whatsappsession/<int:whatsapp_id>")
@login_required(admin=True)
def logout(whatsapp_id: int):
    return _session_command(whatsapp_id, LogoutSession())
