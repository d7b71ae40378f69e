"""Queues (departments, Izing's ``/queue``) of the caller's tenant: the transfer picker's list.

- ``GET /queue`` → ``[{id, queue, isActive, tenantId, createdAt}]`` ordered by name.
- ``POST /queue`` ``{queue, isActive?}`` (admin) → 201 with the queue; 400 ERR_VALIDATION.
"""
from __future__ import annotations

import pydantic
from flask import Blueprint, jsonify

from storage import db
from storage.models import Queue
from storage.serialize import iso
from web.auth import login_required
from web.common import Body, caller, json_body
from web.openapi import accepts

bp = Blueprint("queues", __name__, url_prefix="/queue")


class QueueCreate(Body):
    queue: str = pydantic.Field(min_length=1, max_length=255)
    isActive: bool = True


def queue_json(queue: Queue) -> dict:
    return {"id": queue.id, "queue": queue.queue, "isActive": queue.is_active,
            "tenantId": queue.tenant_id, "createdAt": iso(queue.created_at)}


@bp.get("")
@login_required
def list_():
    """The tenant's queues, by name."""
    with db.unit_of_work():
        rows = (Queue.select().where(Queue.tenant == caller().tenant_id)
                .order_by(Queue.queue, Queue.id))
        return jsonify([queue_json(q) for q in rows])


@bp.post("")
@accepts(QueueCreate)
@login_required(admin=True)
def create():
    """Create a queue (admin) → 201 with it."""
    body = json_body(QueueCreate)
    with db.write():
        row = Queue.create(tenant=caller().tenant_id, queue=body.queue, is_active=body.isActive)
    return jsonify(queue_json(row)), 201
