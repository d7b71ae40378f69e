"""Tenant settings (Izing's ``/settings``): what a tenant's administrator tunes.

- ``GET /settings`` → ``[{key, value}]``: every known setting, stored or default (any user of
  the tenant; the dashboard reads them).
- ``PUT /settings/<key>`` ``{value}`` (admin) → ``{key, value}``, and the event
  ``setting.updated`` ``{key, value}`` to the tenant's room (Izing emits its settings change
  too), so open dashboards follow. 404 ``ERR_NO_SETTING_FOUND`` for an unknown key; 400
  ``ERR_INVALID_TIMEZONE`` / ``ERR_VALIDATION`` for a bad value.

Known keys (:data:`storage.tenants.SETTINGS`): ``timezone`` — an IANA name, default
``America/Sao_Paulo``; the campaigns' daily window and daily cap are counted in it, and the
running campaigns pace again at once in the new zone.
"""
from __future__ import annotations

import pydantic
from flask import Blueprint, jsonify

from actors import events
from storage import db, tenants
from web.auth import login_required
from web.common import Body, caller, json_body, runtime
from web.openapi import accepts

bp = Blueprint("tenant_settings", __name__, url_prefix="/settings")


class SettingBody(Body):
    value: str = pydantic.Field(max_length=255)


@bp.get("")
@login_required
def list_():
    """The caller's tenant settings, known keys only."""
    with db.unit_of_work():
        values = tenants.settings(caller().tenant_id)
    return jsonify([{"key": key, "value": value} for key, value in values.items()])


@bp.put("/<key>")
@accepts(SettingBody)
@login_required(admin=True)
def update(key: str):
    """Change one setting of the caller's tenant (admin)."""
    body = json_body(SettingBody)
    with db.write():
        value = tenants.put_setting(caller().tenant_id, key, body.value)
    if key == "timezone":
        runtime().system.zone_changed(caller().tenant_id)
    events.publish(runtime().system, caller().tenant_id, "setting.updated",
                   {"key": key, "value": value})
    return jsonify({"key": key, "value": value})
