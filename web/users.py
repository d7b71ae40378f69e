"""Users of the caller's tenant (Izing's ``/users``): the dashboard's transfer picker and header.

- ``GET /users?searchParam=&pageNumber=`` → ``{users: [{id, name, email, profile, tenantId}],
  count, hasMore}``, ordered by name, 100 per page; only the caller's tenant.
- ``GET /users/me`` → the caller with ``tenant: {id, name}`` (the header shows both);
  401 ERR_SESSION_EXPIRED when the user no longer exists.
- ``POST /users`` ``{name, email, password, profile?: "user"|"admin"}`` (admin) → 201 with the
  user; 409 ERR_EMAIL_TAKEN; 400 ERR_INVALID_EMAIL / ERR_INVALID_PASSWORD (6 characters to 72
  bytes, bcrypt's limit).
"""
from __future__ import annotations

from typing import Literal

import pydantic
from flask import Blueprint, jsonify

from storage import db, tenants
from storage.models import Tenant, User
from storage.serialize import user_json
from web.auth import login_required
from web.common import Body, caller, has_more, json_body, page_number, query_text
from web.openapi import accepts
from web.errors import ApiError

bp = Blueprint("users", __name__, url_prefix="/users")
PAGE_SIZE = 100


@bp.get("")
@login_required
def list_():
    """The tenant's users, by name: ``{users, count, hasMore}`` (100 per page)."""
    page = page_number()
    query = User.select().where(User.tenant == caller().tenant_id)
    search = query_text("searchParam")
    if search:
        query = query.where(User.name.contains(search) | User.email.contains(search))
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


class UserCreate(Body):
    name: str = pydantic.Field(min_length=1, max_length=255)
    email: str = pydantic.Field(min_length=3, max_length=255)
    password: str = pydantic.Field(min_length=6, max_length=72)
    profile: Literal["user", "admin"] = "user"


@bp.post("")
@accepts(UserCreate)
@login_required(admin=True)
def create():
    """An attendant (or another admin) of the caller's tenant."""
    body = json_body(UserCreate)
    with db.unit_of_work():
        user = tenants.create_user(caller().tenant_id, body.name, body.email, body.password,
                                   body.profile)
    return jsonify(user_json(user)), 201
