"""Media files: ``GET /public/<tenantId>/<file>``, only for users of that tenant (else 404)."""
from __future__ import annotations

from flask import Blueprint, send_file

from storage import media
from web.auth import login_required
from web.common import caller, runtime
from web.errors import ApiError

bp = Blueprint("public", __name__)


@bp.get("/public/<int:tenant_id>/<path:filename>")
@login_required
def serve(tenant_id: int, filename: str):
    path = None
    if tenant_id == caller().tenant_id:
        path = media.resolve(runtime().settings.public_dir, tenant_id, filename)
    if path is None:
        raise ApiError(404, "ERR_NOT_FOUND", "file not found")
    return send_file(path, conditional=True, max_age=3600)
