"""Messages of a ticket (Izing's ``/messages/<ticketId>``), tenant-scoped.

- ``GET /messages/<ticketId>?pageNumber=`` → ``{messages, count, hasMore, ticket}``; page 1 holds
  the newest messages, each page in chronological order.
- ``POST /messages/<ticketId>`` JSON ``{body, quotedMsgId?}`` or multipart with files in
  ``medias`` (and an optional ``body`` caption) → 201 with the stored message(s) (``status:
  "pending"``, ``ack: 0``); the send happens later through the ``SendMessages`` queue. A multipart
  post answers the first message, and all of them in ``messages``. Over ``TT_MAX_UPLOAD_MB``:
  413 ERR_FILE_TOO_LARGE; an empty file: 400 ERR_EMPTY_FILE (nothing is stored).
- ``POST /messages/<ticketId>/<messageId>/retry`` re-enqueues a ``failed`` outbound message → 200
  with it (``pending``, ack 0); 404 ERR_NO_MESSAGE_FOUND when it is not a failed message of that
  ticket; 409 ERR_TICKET_CLOSED.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from actors.messages import RetryMessage, SendMessage
from storage import db, media, messages, tickets
from storage.serialize import message_json, ticket_json
from web.auth import login_required
from web.common import Body, caller, has_more, json_body, page_number, runtime
from web.openapi import accepts
from web.errors import ApiError

bp = Blueprint("messages", __name__, url_prefix="/messages")

ASK_TIMEOUT = 10.0
MAX_BODY = 65_536


class MessageCreate(Body):
    body: str
    quotedMsgId: str | None = None


@bp.get("/<int:ticket_id>")
@login_required
def list_(ticket_id: int):
    tenant_id = caller().tenant_id
    page = page_number()
    with db.unit_of_work():
        ticket = tickets.get_ticket(tenant_id, ticket_id)
        rows, count = messages.list_messages(tenant_id, ticket_id, page)
        return jsonify({"messages": [message_json(m) for m in rows], "count": count,
                        "hasMore": has_more(count, page, messages.PAGE_SIZE),
                        "ticket": ticket_json(ticket, ticket.contact)})


@bp.post("/<int:ticket_id>")
@accepts(MessageCreate)
@login_required
def create(ticket_id: int):
    me = caller()
    with db.unit_of_work():
        ticket = tickets.get_ticket(me.tenant_id, ticket_id)
    if ticket.status == "closed":
        raise ApiError(409, "ERR_TICKET_CLOSED", "reopen the ticket before replying")
    ref = runtime().system.ticket(ticket_id)
    if request.mimetype == "multipart/form-data":
        files = [f for f in request.files.getlist("medias") if f and f.filename]
        if not files:
            raise ApiError(400, "ERR_VALIDATION", "multipart posts need files in 'medias'")
        caption = (request.form.get("body") or "").strip()[:MAX_BODY]
        contents = [upload.read() for upload in files]
        if not all(contents):  # WhatsApp would deliver an empty, unopenable document
            raise ApiError(400, "ERR_EMPTY_FILE", "an uploaded file is empty")
        stored = []
        for index, (upload, data) in enumerate(zip(files, contents)):
            path = media.save(runtime().settings.public_dir, me.tenant_id, data,
                              upload.filename, upload.mimetype)
            stored.append(ref.ask(SendMessage(
                body=caption if index == 0 else "", user_id=me.id, media_path=path,
                media_type=media.media_type_of(upload.mimetype),
                media_name=upload.filename[:255],
                quoted_msg_id=request.form.get("quotedMsgId") or None), timeout=ASK_TIMEOUT))
        return jsonify(dict(stored[0], messages=stored)), 201
    body = json_body(MessageCreate)
    if not body.body:
        raise ApiError(400, "ERR_VALIDATION", "body must not be empty")
    if len(body.body) > MAX_BODY:
        raise ApiError(400, "ERR_VALIDATION", f"body is longer than {MAX_BODY} characters")
    data = ref.ask(SendMessage(body=body.body, user_id=me.id, quoted_msg_id=body.quotedMsgId),
                   timeout=ASK_TIMEOUT)
    return jsonify(data), 201


@bp.post("/<int:ticket_id>/<message_id>/retry")
@login_required
def retry(ticket_id: int, message_id: str):
    """Put a ``failed`` outbound message back in the send queue → the message, ``pending``."""
    me = caller()
    with db.unit_of_work():
        ticket = tickets.get_ticket(me.tenant_id, ticket_id)
    if ticket.status == "closed":
        raise ApiError(409, "ERR_TICKET_CLOSED", "reopen the ticket before retrying")
    data = runtime().system.ticket(ticket_id).ask(RetryMessage(me.tenant_id, message_id),
                                                  timeout=ASK_TIMEOUT)
    return jsonify(data)
