"""Users of the caller's tenant (Izing's ``/users``): the dashboard's transfer picker and header.

- ``GET /users?searchParam=&pageNumber=`` → ``{users: [{id, name, email, profile, tenantId}],
  count, hasMore}``, ordered by name, 100 per page; only the caller's tenant.
- ``GET /users/me`` → the caller with ``tenant: {id, name}`` (the header shows both);
  401 ERR_SESSION_EXPIRED when the user no longer exists.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from storage import db
from storage.models import Tenant, User
from storage.serialize import user_json
from web.auth import login_required
from web.common import caller, has_more, page_number
from web.errors import ApiError

bp = Blueprint("users", __name__, url_prefix="/users")
PAGE_SIZE = 100


@bp.get("")
@login_required
def list_():
    """The tenant's users, by name: ``{users, count, hasMore}`` (100 per page)."""
    page = page_number()
    query = User.select().where(User.tenant == caller().tenant_id)
    search = (request.args.get("searchParam") or "").strip()
    if search:
        query = query.where(User.name ** f"%{search}%" | User.email ** f"%{search}%")
    with db.unit_of_work():
        count = query.count()
        rows = [user_json(u) for u in query.order_by(User.name, User.id).paginate(page, PAGE_SIZE)]
    return jsonify({"users": rows, "count": count, "hasMore": has_more(count, page, PAGE_SIZE)})


@bp.get("/me")
@login_required
def me():
    """The caller with ``tenant: {id, name}``."""
    me = caller()
    with db.unit_of_work():
        row = (User.select(User, Tenant).join(Tenant)
               .where(User.id == me.id, User.tenant == me.tenant_id).first())
    if row is None:
        raise ApiError(401, "ERR_SESSION_EXPIRED", "user no longer exists")
    return jsonify(dict(user_json(row), tenant={"id": row.tenant.id, "name": row.tenant.name}))
