"""Contacts (Izing's ``/contacts``), tenant-scoped.

- ``GET /contacts?searchParam=&pageNumber=`` → ``{contacts, count, hasMore}``.
- ``POST /contacts`` ``{name, number, email?}`` → 201; 409 ERR_DUPLICATED_CONTACT.
- ``GET /contacts/<id>`` → the contact; 404 ERR_NO_CONTACT_FOUND (also for another tenant's).
"""
from __future__ import annotations

import re

import peewee as pw
import pydantic
from flask import Blueprint, jsonify

from storage import db
from storage.models import Contact
from storage.serialize import contact_json
from web.auth import login_required
from web.common import Body, query_text, caller, has_more, json_body, page_number
from web.openapi import accepts
from web.errors import ApiError

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
PAGE_SIZE = 40


class ContactCreate(Body):
    name: str = pydantic.Field(min_length=1, max_length=255)
    number: str = pydantic.Field(min_length=5, max_length=64)
    email: str = pydantic.Field(default="", max_length=255)

    @pydantic.field_validator("number")
    @classmethod
    def digits(cls, value: str) -> str:
        digits = re.sub(r"\D", "", value)
        if not 5 <= len(digits) <= 20:
            raise ValueError("number must have 5 to 20 digits")
        return digits


@bp.get("")
@login_required
def list_():
    tenant_id = caller().tenant_id
    page = page_number()
    query = Contact.select().where(Contact.tenant == tenant_id)
    search = query_text("searchParam")
    if search:
        query = query.where(Contact.name.contains(search) | Contact.number.contains(search))
    with db.unit_of_work():
        count = query.count()
        rows = [contact_json(c) for c in query.order_by(Contact.name).paginate(page, PAGE_SIZE)]
    return jsonify({"contacts": rows, "count": count, "hasMore": has_more(count, page, PAGE_SIZE)})


@bp.post("")
@accepts(ContactCreate)
@login_required
def create():
    body = json_body(ContactCreate)
    try:
        with db.write():
            contact = Contact.create(tenant=caller().tenant_id, name=body.name,
                                     number=body.number, email=body.email)
    except pw.IntegrityError:
        raise ApiError(409, "ERR_DUPLICATED_CONTACT", "a contact with this number exists") from None
    return jsonify(contact_json(contact)), 201


@bp.get("/<int:contact_id>")
@login_required
def show(contact_id: int):
    with db.unit_of_work():
        contact = Contact.get_or_none(Contact.id == contact_id,
                                      Contact.tenant == caller().tenant_id)
    if contact is None:
        raise ApiError(404, "ERR_NO_CONTACT_FOUND", "contact not found")
    return jsonify(contact_json(contact))
